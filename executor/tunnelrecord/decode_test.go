package tunnelrecord

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/plainbuffer"
)

// envelope is one record as the SDK frames it in binary mode.
type envelope struct {
	action int32 // protocol.ActionType: 1 put, 2 update, 3 delete
	body   []byte
}

// batchOf frames records the way tunnel/util.go's writeHeaderInfo and
// serializeBinaryRecord do.
func batchOf(records ...envelope) []byte {
	b := []byte{tagVersion}
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = append(b, tagRecordCount)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(records)))
	for _, r := range records {
		b = append(b, tagActionType)
		b = binary.LittleEndian.AppendUint32(b, uint32(r.action))
		b = append(b, tagRecordLength)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(r.body)))
		b = append(b, tagRecord)
		b = append(b, r.body...)
	}
	return b
}

// sdkDecode is the SDK's own decoding of a binary batch: what Decode must
// equal.
func sdkDecode(batch []byte) ([]*tunnel.Record, error) {
	return tunnel.UnSerializeBatchBinaryRecordFromBytes(batch)
}

func describe(recs []*tunnel.Record) string {
	var b strings.Builder
	for i, r := range recs {
		if r == nil {
			fmt.Fprintf(&b, "%d: nil\n", i)
			continue
		}
		fmt.Fprintf(&b, "%d: type=%v ts=%d seq=%+v pk=", i, r.Type, r.Timestamp, r.SequenceInfo)
		if r.PrimaryKey != nil {
			for _, k := range r.PrimaryKey.PrimaryKeys {
				fmt.Fprintf(&b, "[%s=%#v]", k.ColumnName, k.Value)
			}
		}
		b.WriteString(" cols=")
		for _, c := range r.Columns {
			fmt.Fprintf(&b, "[%s %v %#v @%d]", *c.Name, c.Type, c.Value, *c.Timestamp)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func requireSameAsSDK(t *testing.T, batch []byte) []*tunnel.Record {
	t.Helper()
	want, wantErr := sdkDecode(batch)
	got, err := NewDecoder().Decode(batch)
	if wantErr != nil {
		if err == nil {
			t.Fatalf("the SDK fails with %v; Decode returned %d records and no error", wantErr, len(got))
		}
		return nil
	}
	if err != nil {
		t.Fatalf("Decode: %v (the SDK decoded %d records)", err, len(want))
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Decode differs from the SDK:\n got:\n%s want:\n%s", describe(got), describe(want))
	}
	return got
}

func randomValue(r *rand.Rand) *plainbuffer.Value {
	switch r.IntN(6) {
	case 0:
		return plainbuffer.Int(r.Int64() - math.MaxInt64/2)
	case 1:
		return plainbuffer.Int(int64(r.IntN(300))) // small numbers box without allocating
	case 2:
		return plainbuffer.Double(r.NormFloat64() * 1e6)
	case 3:
		return plainbuffer.Bool(r.IntN(2) == 0)
	case 4:
		return plainbuffer.String(strings.Repeat("ü", r.IntN(5)) + fmt.Sprint(r.IntN(1000)))
	default:
		b := make([]byte, r.IntN(40))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		return plainbuffer.Blob(b)
	}
}

// randomRow makes a row of the shapes the service sends: put rows, update
// rows with delete cells, delete rows; with or without an extension.
func randomRow(r *rand.Rand, stream bool) (plainbuffer.Row, int32) {
	var row plainbuffer.Row
	row.PrimaryKey = []plainbuffer.Cell{{Name: "pk0", Value: plainbuffer.Int(r.Int64())}}
	if r.IntN(2) == 0 {
		row.PrimaryKey = append(row.PrimaryKey, plainbuffer.Cell{Name: "pk1", Value: plainbuffer.String(fmt.Sprint("k", r.IntN(50)))})
	}
	if r.IntN(4) == 0 {
		row.PrimaryKey = append(row.PrimaryKey, plainbuffer.Cell{Name: "pk2", Value: plainbuffer.Blob([]byte{byte(r.IntN(256))})})
	}
	action := int32(1 + r.IntN(3))
	switch action {
	case 3:
		row.Deleted = true
	default:
		for range r.IntN(9) {
			c := plainbuffer.Cell{Name: fmt.Sprintf("c%d", r.IntN(12)), HasTimestamp: r.IntN(5) != 0, Timestamp: r.Int64N(1 << 42)}
			// An update's cells are puts, deletes of all versions or
			// deletes of one version, a quarter of them each delete kind.
			switch op := r.IntN(4); {
			case action == 2 && op == 0:
				c.Op = plainbuffer.OpDeleteAllVersions
				c.HasTimestamp = false
			case action == 2 && op == 1:
				c.Op = plainbuffer.OpDeleteOneVersion
				c.HasTimestamp = true
			default:
				c.Value = randomValue(r)
			}
			row.Cells = append(row.Cells, c)
		}
	}
	if stream {
		row.Extension = &plainbuffer.SequenceInfo{Epoch: int32(r.IntN(4)), Timestamp: r.Int64N(1 << 52), RowIndex: int32(r.IntN(1000))}
	}
	return row, action
}

func randomBatch(r *rand.Rand, n int) []byte {
	stream := r.IntN(2) == 0
	records := make([]envelope, n)
	for i := range records {
		row, action := randomRow(r, stream)
		records[i] = envelope{action: action, body: plainbuffer.EncodeRow(&row)}
	}
	return batchOf(records...)
}

func TestDecodeEqualsTheSDKOnRecordsOfEveryShape(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 4))
	total := 0
	for range 300 {
		n := r.IntN(40)
		total += len(requireSameAsSDK(t, randomBatch(r, n)))
	}
	if total < 3000 {
		t.Fatalf("compared only %d records", total)
	}
}

func TestDecodeKeepsTheSDKsQuirks(t *testing.T) {
	row := plainbuffer.Row{
		PrimaryKey: []plainbuffer.Cell{{Name: "id", Value: plainbuffer.Int(1)}},
		Cells: []plainbuffer.Cell{
			{Name: "a", Value: plainbuffer.String("x")},      // no timestamp
			{Name: "b", Op: plainbuffer.OpDeleteAllVersions}, // no value
			{Name: "c", Value: plainbuffer.Blob([]byte{}), HasTimestamp: true, Timestamp: 5},
		},
		Extension: &plainbuffer.SequenceInfo{Epoch: 3, Timestamp: 1700000000000000, RowIndex: 9},
	}
	got := requireSameAsSDK(t, batchOf(envelope{action: 2, body: plainbuffer.EncodeRow(&row)}))
	rec := got[0]
	if rec.SequenceInfo == nil || rec.SequenceInfo.Epoch != 0 || rec.SequenceInfo.RowIndex != 9 || rec.Timestamp != 1700000000000000 {
		t.Fatalf("sequence info %+v, timestamp %d: the SDK keeps the timestamp and row index, not the epoch", rec.SequenceInfo, rec.Timestamp)
	}
	if rec.Columns[0].Timestamp == nil || *rec.Columns[0].Timestamp != 0 {
		t.Fatalf("a cell without a timestamp has Timestamp %v; the SDK points to 0", rec.Columns[0].Timestamp)
	}
	if rec.Columns[1].Type != tunnel.RCT_DeleteAllVersions || rec.Columns[1].Value != nil {
		t.Fatalf("delete cell decoded as %+v", rec.Columns[1])
	}
	if b, ok := rec.Columns[2].Value.([]byte); !ok || b == nil || len(b) != 0 {
		t.Fatalf("an empty binary is %#v; the SDK gives an empty, non-nil slice", rec.Columns[2].Value)
	}
	base := plainbuffer.Row{PrimaryKey: row.PrimaryKey}
	got = requireSameAsSDK(t, batchOf(envelope{action: 1, body: plainbuffer.EncodeRow(&base)}))
	if got[0].SequenceInfo != nil || got[0].Columns != nil {
		t.Fatalf("a base record without cells: %s", describe(got))
	}
}

// TestDecodeHandsUnusualRecordsToTheSDK covers the records the fast path
// does not take: they must still come out as the SDK decodes them, or fail
// where it fails.
func TestDecodeHandsUnusualRecordsToTheSDK(t *testing.T) {
	pk := []plainbuffer.Cell{{Name: "id", Value: plainbuffer.Int(7)}}
	twoRows := plainbuffer.EncodeRows([]plainbuffer.Row{{PrimaryKey: pk}, {PrimaryKey: pk, Cells: []plainbuffer.Cell{{Name: "v", Value: plainbuffer.Int(1)}}}})
	// A value type the SDK does not name (0x6, the protocol's null): it
	// decodes to a nil value.
	nullValue := plainbuffer.EncodeRow(&plainbuffer.Row{PrimaryKey: pk, Cells: []plainbuffer.Cell{{Name: "v", Value: plainbuffer.Int(1)}}})
	i := strings.Index(string(nullValue), "v\x05") + 2 + 4 // tag, length
	nullValue[i] = 0x6
	noPKValue := plainbuffer.EncodeRow(&plainbuffer.Row{PrimaryKey: []plainbuffer.Cell{{Name: "id"}}})
	noChecksum := plainbuffer.EncodeRow(&plainbuffer.Row{PrimaryKey: pk})
	noChecksum = noChecksum[:len(noChecksum)-2]
	badHeader := plainbuffer.EncodeRow(&plainbuffer.Row{PrimaryKey: pk})
	badHeader[0] = 0x76

	for name, c := range map[string]struct {
		body    []byte
		wantErr bool
	}{
		"two rows in one record":           {twoRows, false},
		"a value of unnamed type":          {nullValue, false},
		"a primary key cell without value": {noPKValue, true},
		"no row checksum":                  {noChecksum, true},
		"a bad PlainBuffer header":         {badHeader, true},
	} {
		t.Run(name, func(t *testing.T) {
			batch := batchOf(envelope{action: 1, body: plainbuffer.EncodeRow(&plainbuffer.Row{PrimaryKey: pk})}, envelope{action: 1, body: c.body})
			got, err := NewDecoder().Decode(batch)
			if c.wantErr {
				if err == nil {
					t.Fatalf("Decode returned %s and no error", describe(got))
				}
				return
			}
			requireSameAsSDK(t, batch)
		})
	}
}

// TestDecodeRefusesMalformedBatches: where the SDK's decoder swallows a
// panic and returns no records and no error, a batch would vanish; Decode
// says it could not read it.
func TestDecodeRefusesMalformedBatches(t *testing.T) {
	good := batchOf(envelope{action: 1, body: plainbuffer.EncodeRow(&plainbuffer.Row{PrimaryKey: []plainbuffer.Cell{{Name: "id", Value: plainbuffer.Int(7)}}})})
	for name, batch := range map[string][]byte{
		"empty":             {},
		"cut in the header": good[:3],
		"cut in a record":   good[:len(good)-3],
		"version 1":         append([]byte{tagVersion, 1, 0, 0, 0}, good[5:]...),
		"action type 9":     append(append([]byte{}, good[:11]...), append([]byte{9, 0, 0, 0}, good[15:]...)...),
		"negative count":    append(append([]byte{}, good[:6]...), append([]byte{0xff, 0xff, 0xff, 0xff}, good[10:]...)...),
	} {
		t.Run(name, func(t *testing.T) {
			if recs, err := NewDecoder().Decode(batch); err == nil {
				t.Fatalf("Decode returned %d records and no error", len(recs))
			}
		})
	}
}

func TestDecoderInternsColumnNamesAndCopiesThem(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	d := NewDecoder()
	first, err := d.Decode(randomBatch(r, 50))
	if err != nil {
		t.Fatal(err)
	}
	second, err := d.Decode(randomBatch(r, 50))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]*string{}
	keys := map[string]bool{}
	for _, rec := range append(first, second...) {
		for _, k := range rec.PrimaryKey.PrimaryKeys {
			keys[k.ColumnName] = true
		}
		for _, c := range rec.Columns {
			if p, ok := names[*c.Name]; ok && p != c.Name {
				t.Fatalf("column %q has two strings", *c.Name)
			}
			names[*c.Name] = c.Name
		}
	}
	if len(names) == 0 {
		t.Fatal("no columns decoded")
	}
	for k := range keys {
		if _, ok := names[k]; !ok {
			names[k] = nil
		}
	}
	if len(d.names) != len(names) {
		t.Fatalf("the decoder interned %d names for %d distinct key and column names", len(d.names), len(names))
	}
}

func FuzzDecodeMatchesTheSDK(f *testing.F) {
	r := rand.New(rand.NewPCG(9, 9))
	for range 8 {
		f.Add(randomBatch(r, 1+r.IntN(4)))
	}
	f.Fuzz(func(t *testing.T, batch []byte) {
		got, err := NewDecoder().Decode(batch)
		want, wantErr := sdkDecode(batch)
		switch {
		case wantErr != nil:
			if err == nil {
				t.Fatalf("the SDK fails with %v; Decode returned %d records", wantErr, len(got))
			}
		case err == nil && !reflect.DeepEqual(got, want):
			t.Fatalf("Decode differs from the SDK:\n got:\n%s want:\n%s", describe(got), describe(want))
		case err != nil && len(want) > 0:
			// Decode may refuse what the SDK reads as no records at all
			// (a negative count, a swallowed panic), never records.
			t.Fatalf("Decode: %v; the SDK decoded %d records", err, len(want))
		}
	})
}
