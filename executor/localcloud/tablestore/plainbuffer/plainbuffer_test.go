package plainbuffer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"reflect"
	"testing"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"
	tunnelprotocol "github.com/aliyun/aliyun-tablestore-go-sdk/tunnel/protocol"
)

func sdkPK() *tablestore.PrimaryKey {
	pk := new(tablestore.PrimaryKey)
	pk.AddPrimaryKeyColumn("id", int64(-42))
	pk.AddPrimaryKeyColumn("name", "ünïcode")
	pk.AddPrimaryKeyColumn("raw", []byte{0, 1, 2, 0xff})
	return pk
}

func wantPK() []Cell {
	return []Cell{
		{Name: "id", Value: Int(-42)},
		{Name: "name", Value: String("ünïcode")},
		{Name: "raw", Value: Blob([]byte{0, 1, 2, 0xff})},
	}
}

func decodeOne(t *testing.T, buf []byte) Row {
	t.Helper()
	row, err := DecodeRow(buf)
	if err != nil {
		t.Fatalf("decode SDK buffer % x: %v", buf, err)
	}
	return row
}

func assertRow(t *testing.T, got, want Row) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decoded row mismatch\n got: %+v\nwant: %+v", got, want)
	}
}

// The SDK's own encoder (reached through its exported Serialize/Build
// methods) produces the buffers a client sends; we must decode them, with
// their checksums, and re-encode them byte for byte.
func TestDecodeSDKBuffers(t *testing.T) {
	put := &tablestore.PutRowChange{TableName: "t", PrimaryKey: sdkPK()}
	put.AddColumn("i", int64(7))
	put.AddColumn("d", 3.25)
	put.AddColumn("b", true)
	put.AddColumn("s", "hello")
	put.AddColumn("bin", []byte("xyz"))
	put.AddColumnWithTimestamp("ts", "v", 1700000000123)

	upd := &tablestore.UpdateRowChange{TableName: "t", PrimaryKey: sdkPK()}
	upd.PutColumn("p", "x")
	upd.PutColumnWithTimestamp("pt", int64(5), 1234)
	upd.DeleteColumn("all")
	upd.DeleteColumnWithTimestamp("one", 99)
	upd.IncrementColumn("n", -3)

	del := &tablestore.DeleteRowChange{TableName: "t", PrimaryKey: sdkPK()}

	autoPK := new(tablestore.PrimaryKey)
	autoPK.AddPrimaryKeyColumn("a", "k")
	autoPK.AddPrimaryKeyColumnWithAutoIncrement("seq")
	boundPK := new(tablestore.PrimaryKey)
	boundPK.AddPrimaryKeyColumnWithMinValue("a")
	boundPK.AddPrimaryKeyColumnWithMaxValue("b")

	cases := []struct {
		name string
		buf  []byte
		want Row
	}{
		{"put", put.Serialize(), Row{PrimaryKey: wantPK(), Cells: []Cell{
			{Name: "i", Value: Int(7)},
			{Name: "d", Value: Double(3.25)},
			{Name: "b", Value: Bool(true)},
			{Name: "s", Value: String("hello")},
			{Name: "bin", Value: Blob([]byte("xyz"))},
			{Name: "ts", Value: String("v"), HasTimestamp: true, Timestamp: 1700000000123},
		}}},
		{"update", upd.Serialize(), Row{PrimaryKey: wantPK(), Cells: []Cell{
			{Name: "p", Value: String("x")},
			{Name: "pt", Value: Int(5), HasTimestamp: true, Timestamp: 1234},
			{Name: "all", Op: OpDeleteAllVersions},
			{Name: "one", Op: OpDeleteOneVersion, HasTimestamp: true, Timestamp: 99},
			{Name: "n", Value: Int(-3), Op: OpIncrement},
		}}},
		{"delete", del.Serialize(), Row{PrimaryKey: wantPK(), Deleted: true}},
		{"get pk", sdkPK().Build(false), Row{PrimaryKey: wantPK()}},
		{"auto increment pk", autoPK.Build(false), Row{PrimaryKey: []Cell{
			{Name: "a", Value: String("k")},
			{Name: "seq", Value: &Value{Type: TypeAutoIncrement}},
		}}},
		{"range bounds", boundPK.Build(false), Row{PrimaryKey: []Cell{
			{Name: "a", Value: InfMin()},
			{Name: "b", Value: InfMax()},
		}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			row := decodeOne(t, tc.buf)
			assertRow(t, row, tc.want)
			if again := EncodeRow(&row); !bytes.Equal(again, tc.buf) {
				t.Fatalf("re-encoding differs from the SDK's bytes\n sdk: % x\n ours: % x", tc.buf, again)
			}
		})
	}
}

// What we encode must be readable by the SDK's exported tunnel reader,
// including the sequence-info extension.
func TestEncodeReadBySDKTunnelReader(t *testing.T) {
	rows := []Row{
		{
			PrimaryKey: []Cell{{Name: "pk", Value: String("a")}, {Name: "n", Value: Int(math.MinInt64)}},
			Cells: []Cell{
				{Name: "c1", Value: Double(-0.5), HasTimestamp: true, Timestamp: 1000},
				{Name: "c2", Op: OpDeleteOneVersion, HasTimestamp: true, Timestamp: 2000},
				{Name: "c3", Op: OpDeleteAllVersions},
				{Name: "c4", Value: Bool(false), HasTimestamp: true, Timestamp: 3},
			},
			Extension: &SequenceInfo{Epoch: 3, Timestamp: 1700000000000123, RowIndex: 7},
		},
		{
			PrimaryKey: []Cell{{Name: "pk", Value: Blob([]byte{9})}, {Name: "n", Value: Int(1)}},
			Deleted:    true,
			Extension:  &SequenceInfo{Epoch: 1, Timestamp: 5, RowIndex: 0},
		},
	}
	buf := EncodeRows(rows)
	got, err := tunnelprotocol.ReadRowsWithHeader(bytes.NewReader(buf))
	if err != nil {
		t.Fatalf("SDK tunnel reader: %v", err)
	}
	if len(got) != 2 {
		t.Fatalf("SDK read %d rows, want 2", len(got))
	}
	r0 := got[0]
	if string(r0.PrimaryKey[0].CellName) != "pk" || r0.PrimaryKey[0].CellValue.Value.(string) != "a" ||
		r0.PrimaryKey[1].CellValue.Value.(int64) != math.MinInt64 {
		t.Errorf("pk read back wrong: %+v %+v", r0.PrimaryKey[0].CellValue, r0.PrimaryKey[1].CellValue)
	}
	if len(r0.Cells) != 4 || r0.Cells[0].CellValue.Value.(float64) != -0.5 || r0.Cells[0].CellTimestamp != 1000 {
		t.Errorf("cell 0 read back wrong: %+v", r0.Cells)
	}
	if r0.Cells[1].CellType != byte(OpDeleteOneVersion) || r0.Cells[1].CellTimestamp != 2000 || r0.Cells[1].CellValue != nil {
		t.Errorf("delete-one cell read back wrong: %+v", r0.Cells[1])
	}
	if r0.Cells[2].CellType != byte(OpDeleteAllVersions) {
		t.Errorf("delete-all cell read back wrong: %+v", r0.Cells[2])
	}
	if r0.Extension == nil || r0.Extension.Epoch != 3 || r0.Extension.Timestamp != 1700000000000123 || r0.Extension.RowIndex != 7 {
		t.Errorf("extension read back wrong: %+v", r0.Extension)
	}
	if !got[1].HasDeleteMarker || got[1].Extension == nil || got[1].PrimaryKey[0].CellValue.Value.([]byte)[0] != 9 {
		t.Errorf("row 1 read back wrong: %+v", got[1])
	}
	// And our decoder reads it back identically.
	back, err := DecodeRows(buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, rows) {
		t.Fatalf("round trip mismatch\n got: %+v\nwant: %+v", back, rows)
	}
}

func TestChecksumMismatchDetected(t *testing.T) {
	put := &tablestore.PutRowChange{TableName: "t", PrimaryKey: sdkPK()}
	put.AddColumn("s", "hello")
	buf := put.Serialize()
	// Flip one byte of the string payload "hello": the cell checksum must catch it.
	i := bytes.Index(buf, []byte("hello"))
	corrupt := bytes.Clone(buf)
	corrupt[i] ^= 0x20
	if _, err := DecodeRows(corrupt); !errors.Is(err, ErrChecksum) {
		t.Fatalf("corrupted payload: got %v, want ErrChecksum", err)
	}
	// Flip the row checksum itself.
	corrupt = bytes.Clone(buf)
	corrupt[len(corrupt)-1] ^= 1
	if _, err := DecodeRows(corrupt); !errors.Is(err, ErrChecksum) {
		t.Fatalf("corrupted row checksum: got %v, want ErrChecksum", err)
	}
}

func TestMalformedInputs(t *testing.T) {
	good := sdkPK().Build(true)
	for _, tc := range []struct {
		name string
		buf  []byte
	}{
		{"short header", []byte{0x75, 0}},
		{"bad header", []byte{1, 2, 3, 4}},
		{"no row checksum", good[:len(good)-2]},
		{"truncated", good[:len(good)/2]},
		{"huge name length", append(AppendHeader(nil), tagRowPK, tagCell, tagCellName, 0xff, 0xff, 0xff, 0x7f)},
		{"unknown value type", append(AppendHeader(nil), tagRowPK, tagCell, tagCellName, 1, 0, 0, 0, 'a', tagCellValue, 1, 0, 0, 0, 0x55)},
		{"trailing garbage", append(bytes.Clone(good), 0x42)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if rows, err := DecodeRows(tc.buf); err == nil {
				t.Fatalf("decoded malformed input into %+v", rows)
			}
		})
	}
	if rows, err := DecodeRows(nil); err != nil || rows != nil {
		t.Fatalf("empty input: %v %v", rows, err)
	}
	if rows, err := DecodeRows(AppendHeader(nil)); err != nil || len(rows) != 0 {
		t.Fatalf("bare header: %v %v", rows, err)
	}
}

// The Node.js SDK sends buffers sized by an estimate that over-counts some
// cells, zero-filled to the estimate: the rows decode and the zero tail is
// ignored; anything else after the rows is still an error.
func TestZeroPaddingAfterRows(t *testing.T) {
	good := sdkPK().Build(true)
	for _, pad := range []int{1, 2, 9, 64} {
		row, err := DecodeRow(append(bytes.Clone(good), make([]byte, pad)...))
		if err != nil {
			t.Fatalf("%d zero bytes of padding: %v", pad, err)
		}
		assertRow(t, row, Row{PrimaryKey: wantPK(), Deleted: true}) // Build(true) adds the delete marker
	}
	two := EncodeRows([]Row{{PrimaryKey: wantPK()}, {PrimaryKey: wantPK(), Deleted: true}})
	if rows, err := DecodeRows(append(two, 0, 0, 0)); err != nil || len(rows) != 2 {
		t.Fatalf("two rows with padding: %d rows, %v", len(rows), err)
	}
	if _, err := DecodeRows(append(bytes.Clone(good), 0, 0, 0x42)); err == nil {
		t.Fatal("padding followed by a non-zero byte decoded")
	}
	if _, err := DecodeRows(append(AppendHeader(nil), 0, 0)); err != nil {
		t.Fatalf("a header with padding only: %v", err)
	}
}

// FuzzDecodeRows checks that arbitrary input never panics, and that whatever
// decodes re-encodes to something that decodes to the same rows.
func FuzzDecodeRows(f *testing.F) {
	put := &tablestore.PutRowChange{TableName: "t", PrimaryKey: sdkPK()}
	put.AddColumn("d", 1.5)
	put.AddColumnWithTimestamp("s", "v", 77)
	upd := &tablestore.UpdateRowChange{TableName: "t", PrimaryKey: sdkPK()}
	upd.DeleteColumnWithTimestamp("one", 99)
	upd.IncrementColumn("n", 1)
	f.Add(put.Serialize())
	f.Add(upd.Serialize())
	f.Add(sdkPK().Build(true))
	f.Add(EncodeRows([]Row{{PrimaryKey: []Cell{{Name: "a", Value: Int(1)}}, Extension: &SequenceInfo{1, 2, 3}}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := DecodeRows(data)
		if err != nil {
			return
		}
		again, err := DecodeRows(EncodeRows(rows))
		if err != nil {
			t.Fatalf("re-encoded rows do not decode: %v", err)
		}
		if len(again) != len(rows) {
			t.Fatalf("round trip changed row count %d -> %d", len(rows), len(again))
		}
	})
}

type walkedCell struct {
	name string
	ts   int64
}

// putShaped is WalkPutRow's contract stated on the decoded row.
func putShaped(r *Row) bool {
	if len(r.PrimaryKey) == 0 || r.Deleted || r.Extension != nil {
		return false
	}
	for _, c := range r.PrimaryKey {
		if c.Value == nil || c.Op != OpPut || c.HasTimestamp {
			return false
		}
	}
	for _, c := range r.Cells {
		if c.Value == nil || c.Op != OpPut || !c.HasTimestamp {
			return false
		}
	}
	return true
}

// WalkPutRow must agree with the decoder on every row shape AppendRow can
// write, report the attribute cells as the decoder sees them, and turn down
// every truncation of a valid row without panicking.
func TestWalkPutRowAgreesWithDecoder(t *testing.T) {
	ts := func(c Cell, v int64) Cell { c.HasTimestamp, c.Timestamp = true, v; return c }
	pk := wantPK()
	put := []Cell{
		ts(Cell{Name: "a", Value: Int(1)}, 1700000000000),
		ts(Cell{Name: "a", Value: Int(2)}, 1690000000000),
		ts(Cell{Name: "b", Value: String("")}, 5),
		ts(Cell{Name: "c", Value: Double(math.Inf(-1))}, -1),
		ts(Cell{Name: "d", Value: Bool(true)}, 7),
		ts(Cell{Name: "e", Value: Blob(bytes.Repeat([]byte{0xff}, 300))}, 8),
	}
	rows := map[string]Row{
		"key only":                {PrimaryKey: pk},
		"put cells":               {PrimaryKey: pk, Cells: put},
		"cell without timestamp":  {PrimaryKey: pk, Cells: []Cell{{Name: "a", Value: Int(1)}}},
		"cell without value":      {PrimaryKey: pk, Cells: []Cell{ts(Cell{Name: "a", Op: OpDeleteOneVersion}, 3)}},
		"cell with a type":        {PrimaryKey: pk, Cells: []Cell{ts(Cell{Name: "a", Value: Int(1), Op: OpIncrement}, 3)}},
		"key with timestamp":      {PrimaryKey: []Cell{ts(Cell{Name: "id", Value: Int(1)}, 3)}, Cells: put},
		"delete marker":           {PrimaryKey: pk, Deleted: true},
		"extension":               {PrimaryKey: pk, Cells: put, Extension: &SequenceInfo{Epoch: 1, Timestamp: 2, RowIndex: 3}},
		"no primary key":          {Cells: put},
		"infinite key, put cells": {PrimaryKey: []Cell{{Name: "id", Value: InfMax()}}, Cells: put[:1]},
	}
	for name, row := range rows {
		t.Run(name, func(t *testing.T) {
			buf := EncodeRow(&row)
			decoded := decodeOne(t, buf)
			var walked []walkedCell
			got := WalkPutRow(buf, func(name []byte, ts int64) bool {
				walked = append(walked, walkedCell{string(name), ts})
				return true
			})
			if want := putShaped(&decoded); got != want {
				t.Fatalf("WalkPutRow = %v, decoder says %v for %+v", got, want, decoded)
			}
			if got {
				var want []walkedCell
				for _, c := range decoded.Cells {
					want = append(want, walkedCell{c.Name, c.Timestamp})
				}
				if !reflect.DeepEqual(walked, want) {
					t.Fatalf("walked cells %+v, want %+v", walked, want)
				}
			}
			for n := range len(buf) {
				if WalkPutRow(buf[:n], func([]byte, int64) bool { return true }) {
					t.Fatalf("a %d-byte prefix of a %d-byte row walked as a row", n, len(buf))
				}
			}
			if WalkPutRow(append(bytes.Clone(buf), 0), func([]byte, int64) bool { return true }) {
				t.Fatal("a row with a trailing byte walked as a row")
			}
		})
	}
	// fn ends the walk.
	buf := EncodeRow(&Row{PrimaryKey: pk, Cells: put})
	calls := 0
	if WalkPutRow(buf, func([]byte, int64) bool { calls++; return calls < 2 }) || calls != 2 {
		t.Fatalf("a walk stopped by fn: want false after 2 calls, got %d calls", calls)
	}
}

// streamRecordShaped is AppendStreamRecord's contract stated on the decoded
// row: a primary key of valued cells alone; puts with a timestamp,
// delete-one-version cells with one, delete-all-versions cells without one;
// no extension.
func streamRecordShaped(r *Row) bool {
	if len(r.PrimaryKey) == 0 || r.Extension != nil {
		return false
	}
	for _, c := range r.PrimaryKey {
		if c.Value == nil || c.Op != OpPut || c.HasTimestamp {
			return false
		}
	}
	for _, c := range r.Cells {
		switch {
		case c.Value != nil && c.Op == OpPut && c.HasTimestamp:
		case c.Value == nil && c.Op == OpDeleteOneVersion && c.HasTimestamp:
		case c.Value == nil && c.Op == OpDeleteAllVersions && !c.HasTimestamp:
		default:
			return false
		}
	}
	return true
}

// AppendStreamRecord must give, for every row it accepts, the bytes AppendRow
// writes for the same row with the extension set, accept exactly the rows of
// its contract, report the row's shape, leave dst alone when it refuses, and
// turn down every truncation of a valid row without panicking.
func TestAppendStreamRecordIsAppendRowWithTheExtension(t *testing.T) {
	ts := func(c Cell, v int64) Cell { c.HasTimestamp, c.Timestamp = true, v; return c }
	pk := wantPK()
	put := []Cell{
		ts(Cell{Name: "a", Value: Int(-1)}, 1700000000000),
		ts(Cell{Name: "b", Value: String("")}, 5),
		ts(Cell{Name: "c", Value: Double(math.Inf(-1))}, -1),
		ts(Cell{Name: "d", Value: Bool(false)}, 7),
		ts(Cell{Name: "e", Value: Blob(bytes.Repeat([]byte{0xfe}, 300))}, 8),
	}
	deleteOne := ts(Cell{Name: "f", Op: OpDeleteOneVersion}, 1690000000000)
	deleteAll := Cell{Name: "g", Op: OpDeleteAllVersions}
	rows := map[string]Row{
		"key only":                      {PrimaryKey: pk},
		"put":                           {PrimaryKey: pk, Cells: put},
		"update":                        {PrimaryKey: put[:1], Cells: []Cell{put[0], deleteOne, deleteAll, put[4]}},
		"delete":                        {PrimaryKey: pk, Deleted: true},
		"delete marker and cells":       {PrimaryKey: pk, Cells: put[:2], Deleted: true},
		"put without timestamp":         {PrimaryKey: pk, Cells: []Cell{{Name: "a", Value: Int(1)}}},
		"increment":                     {PrimaryKey: pk, Cells: []Cell{ts(Cell{Name: "a", Value: Int(1), Op: OpIncrement}, 3)}},
		"delete one without timestamp":  {PrimaryKey: pk, Cells: []Cell{{Name: "a", Op: OpDeleteOneVersion}}},
		"delete one with a value":       {PrimaryKey: pk, Cells: []Cell{ts(Cell{Name: "a", Value: Int(1), Op: OpDeleteOneVersion}, 3)}},
		"delete all with a timestamp":   {PrimaryKey: pk, Cells: []Cell{ts(deleteAll, 3)}},
		"delete all with a value":       {PrimaryKey: pk, Cells: []Cell{{Name: "a", Value: Int(1), Op: OpDeleteAllVersions}}},
		"key with timestamp":            {PrimaryKey: []Cell{ts(Cell{Name: "id", Value: Int(1)}, 3)}, Cells: put},
		"key with a type":               {PrimaryKey: []Cell{{Name: "id", Value: Int(1), Op: OpDeleteAllVersions}}},
		"key without value":             {PrimaryKey: []Cell{{Name: "id"}}},
		"extension already":             {PrimaryKey: pk, Cells: put, Extension: &SequenceInfo{Epoch: 1, Timestamp: 2, RowIndex: 3}},
		"no primary key":                {Cells: put},
		"infinite key, put and deletes": {PrimaryKey: []Cell{{Name: "id", Value: InfMax()}}, Cells: []Cell{deleteAll, deleteOne}},
	}
	seqs := []*SequenceInfo{{Epoch: 0, Timestamp: 0, RowIndex: 0}, {Epoch: 3, Timestamp: 1700000000123456, RowIndex: math.MaxInt32}, {Epoch: -1, Timestamp: -5, RowIndex: -7}}
	accepted := 0
	for name, row := range rows {
		t.Run(name, func(t *testing.T) {
			buf := EncodeRow(&row)
			decoded := decodeOne(t, buf)
			for _, seq := range seqs {
				prefix := []byte("dst")
				got, shape, ok := AppendStreamRecord(prefix, buf, seq)
				if want := streamRecordShaped(&decoded); ok != want {
					t.Fatalf("AppendStreamRecord accepted = %v, the contract says %v for %+v", ok, want, decoded)
				}
				if !ok {
					if string(got) != "dst" {
						t.Fatalf("refused, yet dst became %q", got)
					}
					continue
				}
				accepted++
				if len(got)-3-len(buf) != ExtensionSize {
					t.Fatalf("the record is %d bytes longer than the row, ExtensionSize is %d", len(got)-3-len(buf), ExtensionSize)
				}
				withSeq := decoded
				withSeq.Extension = seq
				if want := append([]byte("dst"), EncodeRow(&withSeq)...); !bytes.Equal(got, want) {
					t.Fatalf("record\n%x\nwant AppendRow's\n%x", got, want)
				}
				if shape.Deleted != decoded.Deleted || shape.Cells != len(decoded.Cells) {
					t.Fatalf("shape %+v, the row has delete marker %v and %d cells", shape, decoded.Deleted, len(decoded.Cells))
				}
				again := decodeOne(t, got[3:])
				if again.Extension == nil || *again.Extension != *seq {
					t.Fatalf("the record's extension decodes as %+v, want %+v", again.Extension, seq)
				}
			}
			for n := range len(buf) {
				if _, _, ok := AppendStreamRecord(nil, buf[:n], seqs[1]); ok {
					t.Fatalf("a %d-byte prefix of a %d-byte row was accepted", n, len(buf))
				}
			}
			if _, _, ok := AppendStreamRecord(nil, append(bytes.Clone(buf), 0), seqs[1]); ok {
				t.Fatal("a row with a trailing byte was accepted")
			}
		})
	}
	if accepted == 0 {
		t.Fatal("no row was accepted: the test checks nothing")
	}
}

// The row checksum AppendRow writes and the decoder checks is folded from the
// cells' checksums in one pass; it must stay RowChecksum of the row, for
// every row of a buffer (the fold starts again at each row), with and
// without a delete marker, and a wrong one must still be caught.
func TestRowChecksumFoldedFromTheCells(t *testing.T) {
	ts := func(c Cell, v int64) Cell { c.HasTimestamp, c.Timestamp = true, v; return c }
	rows := []Row{
		{PrimaryKey: wantPK(), Cells: []Cell{ts(Cell{Name: "a", Value: Int(1)}, 5), {Name: "b", Op: OpDeleteAllVersions}}},
		{PrimaryKey: wantPK(), Deleted: true},
		{PrimaryKey: []Cell{{Name: "id", Value: String("k")}}, Cells: []Cell{ts(Cell{Name: "z", Value: Blob(bytes.Repeat([]byte{9}, 77))}, 1)},
			Extension: &SequenceInfo{Epoch: 1, Timestamp: 2, RowIndex: 3}},
	}
	var ends []int
	buf := AppendHeader(nil)
	for i := range rows {
		buf = AppendRow(buf, &rows[i])
		if got, want := buf[len(buf)-1], RowChecksum(&rows[i]); got != want {
			t.Fatalf("row %d: AppendRow wrote checksum 0x%02x, RowChecksum is 0x%02x", i, got, want)
		}
		ends = append(ends, len(buf))
	}
	got, err := DecodeRows(buf)
	if err != nil || len(got) != len(rows) {
		t.Fatalf("decoded %d rows (%v), want %d", len(got), err, len(rows))
	}
	for i, end := range ends {
		corrupt := bytes.Clone(buf)
		corrupt[end-1] ^= 0x10
		if _, err := DecodeRows(corrupt); !errors.Is(err, ErrChecksum) {
			t.Fatalf("row %d's checksum flipped: got %v, want ErrChecksum", i, err)
		}
	}
	// The SDK's own delete row (a delete marker) decodes.
	del := &tablestore.DeleteRowChange{TableName: "t", PrimaryKey: sdkPK()}
	if r, err := DecodeRows(del.Serialize()); err != nil || len(r) != 1 || !r[0].Deleted {
		t.Fatalf("the SDK's delete row: %+v, %v", r, err)
	}
}

// crcBytes folds eight bytes at a time; it must equal the byte-at-a-time
// CRC8 for every length, starting state and content.
func TestCRCBytesIsTheBytewiseCRC(t *testing.T) {
	bytewise := func(crc byte, bs []byte) byte {
		for _, b := range bs {
			crc = crcTable[crc^b]
		}
		return crc
	}
	data := make([]byte, 300)
	for i := range data {
		data[i] = byte(i*151 + i*i*7 + 13)
	}
	for n := 0; n <= len(data); n++ {
		for _, start := range []byte{0, 1, 0x5a, 0xff} {
			if got, want := crcBytes(start, data[:n]), bytewise(start, data[:n]); got != want {
				t.Fatalf("crcBytes(0x%02x, %d bytes) = 0x%02x, bytewise 0x%02x", start, n, got, want)
			}
		}
	}
	for i := range 1000 {
		v := uint64(i)*0x9E3779B97F4A7C15 ^ uint64(i)<<61
		start := byte(i * 31)
		if got, want := crcUint64(start, v), bytewise(start, binary.LittleEndian.AppendUint64(nil, v)); got != want {
			t.Fatalf("crcUint64(0x%02x, %#x) = 0x%02x, bytewise 0x%02x", start, v, got, want)
		}
		if got, want := crcUint32(start, uint32(v)), bytewise(start, binary.LittleEndian.AppendUint32(nil, uint32(v))); got != want {
			t.Fatalf("crcUint32(0x%02x, %#x) = 0x%02x, bytewise 0x%02x", start, uint32(v), got, want)
		}
	}
	// The table itself is CRC-8 with polynomial 0x07: "123456789" checks to 0xF4.
	if got := crcBytes(0, []byte("123456789")); got != 0xF4 {
		t.Fatalf("CRC-8 check value 0x%02x, want 0xF4", got)
	}
}
