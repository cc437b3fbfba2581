package tunnel

import (
	"bytes"
	"testing"

	sdktunnel "github.com/aliyun/aliyun-tablestore-go-sdk/tunnel"
	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel/protocol"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/plainbuffer"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/storage"
)

// decodedRecord is how stream records were built before they were served
// from the stored bytes, and the reference they must still equal: the change
// decoded, its cells put in a record's shape, encoded with the extension.
func decodedRecord(t *testing.T, c storage.Change, seq *plainbuffer.SequenceInfo) []byte {
	t.Helper()
	row := plainbuffer.Row{PrimaryKey: c.PrimaryKey, Extension: seq}
	if c.Type == storage.ChangeDelete {
		row.Deleted = true
	} else {
		row.Cells = recordCells(c.Cells, c.TimeMicros)
	}
	return plainbuffer.EncodeRow(&row)
}

// Every stream record the service sends, for puts, updates (puts, increments,
// delete-one-version, delete-all-versions) and deletes, is byte for byte the
// record encoded from the decoded change, and every change was served from
// its stored bytes (none needed decoding).
func TestStreamRecordsAreTheEncodedChanges(t *testing.T) {
	e := newEnv(t, Config{}, 2)
	e.createTable("s")
	id := e.createTunnel("s", "s", sdktunnel.TunnelTypeStream)
	e.putRows("s", 0, 450) // batches of 200 rows: equal commit times
	e.write("s", op{kind: ChangeUpdate, id: 5, n: 1, deleteV: true}, op{kind: ChangeDelete, id: 6},
		op{kind: ChangeUpdate, id: 7, n: 2, value: "x"}, op{kind: ChangePut, id: 1000, value: "new", n: 9})
	key := func(id int64) []plainbuffer.Cell { return []plainbuffer.Cell{{Name: "id", Value: plainbuffer.Int(id)}} }
	if _, err := e.storage.Write(testInstance, []storage.Mutation{
		{Table: "s", Type: storage.ChangeUpdate, PrimaryKey: key(8), Cells: []plainbuffer.Cell{
			{Name: "n", Op: plainbuffer.OpIncrement, Value: plainbuffer.Int(5)},
			{Name: "v", Op: plainbuffer.OpDeleteOneVersion, HasTimestamp: true, Timestamp: 1},
			{Name: "w", Value: plainbuffer.Blob(bytes.Repeat([]byte{7}, 5000)), HasTimestamp: true, Timestamp: 1700000000000}}},
		{Table: "s", Type: storage.ChangePut, PrimaryKey: key(9)},
		{Table: "s", Type: storage.ChangeDelete, PrimaryKey: key(12345)},
	}); err != nil {
		t.Fatal(err)
	}

	e.svc.mu.Lock()
	tun := e.svc.tunnels[id]
	e.svc.mu.Unlock()
	records, kinds := 0, map[protocol.ActionType]int{}
	for _, ch := range tun.Channels {
		target := readTarget{instance: testInstance, table: "s", partition: ch.Partition, epoch: ch.Epoch,
			maxRecords: 7, maxBytes: DefaultMaxBytesPerRead}
		var served []*protocol.Record
		var seqs []*sdktunnel.SequenceInfo
		for _, p := range readAll(t, func(tok string) (*protocol.ReadRecordsResponse, *apiError) {
			resp, e := e.svc.readStream(target, tok)
			if e == nil {
				served = append(served, resp.Records...)
			}
			return resp, e
		}, ch.Checkpoint) {
			for _, rec := range p.records {
				seqs = append(seqs, decodeRecord(t, rec).SequenceInfo)
			}
		}
		changes, _, err := e.storage.ReadChanges(testInstance, "s", ch.Partition, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(served) != len(changes) {
			t.Fatalf("partition %s: %d records for %d changes", ch.Partition, len(served), len(changes))
		}
		stored, _, err := e.storage.ReadChangeRecords(testInstance, "s", ch.Partition, 0, 0)
		if err != nil || len(stored) != len(changes) {
			t.Fatalf("partition %s: %d stored records for %d changes (%v)", ch.Partition, len(stored), len(changes), err)
		}
		for i, c := range changes {
			if _, _, ok := plainbuffer.AppendStreamRecord(nil, stored[i].Row, &plainbuffer.SequenceInfo{}); !ok {
				t.Fatalf("partition %s change %d (%s): its stored row is not in a record's shape", ch.Partition, c.Seq, c.Type)
			}
			si := seqs[i]
			want := decodedRecord(t, c, &plainbuffer.SequenceInfo{Epoch: si.Epoch, Timestamp: si.Timestamp, RowIndex: si.RowIndex})
			if !bytes.Equal(served[i].Record, want) {
				t.Fatalf("partition %s change %d (%s): record\n%x\nwant\n%x", ch.Partition, c.Seq, c.Type, served[i].Record, want)
			}
			kinds[served[i].GetActionType()]++
			records++
		}
	}
	if records != 450+4+3 {
		t.Fatalf("%d records, want %d", records, 450+4+3)
	}
	if kinds[protocol.ActionType_PUT_ROW] != 452 || kinds[protocol.ActionType_UPDATE_ROW] != 3 || kinds[protocol.ActionType_DELETE_ROW] != 2 {
		t.Fatalf("action types %v", kinds)
	}
}

// A change whose stored row is not in a record's shape (which the storage
// never writes) is decoded, put in shape and encoded, as before: the same
// record as the decoded change gives.
func TestEncodeChangeFallsBackToDecoding(t *testing.T) {
	pk := []plainbuffer.Cell{{Name: "id", Value: plainbuffer.Int(3)}}
	seq := &plainbuffer.SequenceInfo{Epoch: 2, Timestamp: 1700000000000001, RowIndex: 4}
	cases := map[string]struct {
		kind ChangeKind
		row  plainbuffer.Row
	}{
		"put without timestamp": {ChangePut, plainbuffer.Row{PrimaryKey: pk, Cells: []plainbuffer.Cell{{Name: "a", Value: plainbuffer.Int(1)}}}},
		"increment":             {ChangeUpdate, plainbuffer.Row{PrimaryKey: pk, Cells: []plainbuffer.Cell{{Name: "a", Op: plainbuffer.OpIncrement, Value: plainbuffer.Int(1)}}}},
		"delete all with a timestamp": {ChangeUpdate, plainbuffer.Row{PrimaryKey: pk, Cells: []plainbuffer.Cell{
			{Name: "a", Op: plainbuffer.OpDeleteAllVersions, HasTimestamp: true, Timestamp: 9}}}},
		"delete with cells":        {ChangeDelete, plainbuffer.Row{PrimaryKey: pk, Cells: []plainbuffer.Cell{{Name: "a", Value: plainbuffer.Int(1), HasTimestamp: true, Timestamp: 1}}, Deleted: true}},
		"delete without marker":    {ChangeDelete, plainbuffer.Row{PrimaryKey: pk}},
		"put with a delete marker": {ChangePut, plainbuffer.Row{PrimaryKey: pk, Cells: []plainbuffer.Cell{{Name: "a", Value: plainbuffer.Int(1), HasTimestamp: true, Timestamp: 1}}, Deleted: true}},
		"in shape":                 {ChangePut, plainbuffer.Row{PrimaryKey: pk, Cells: []plainbuffer.Cell{{Name: "a", Value: plainbuffer.Int(1), HasTimestamp: true, Timestamp: 1}}}},
	}
	types := map[ChangeKind]storage.ChangeType{ChangePut: storage.ChangePut, ChangeUpdate: storage.ChangeUpdate, ChangeDelete: storage.ChangeDelete}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var arena recordArena
			c := Change{Seq: 1, TimeMicros: 1700000000123456, Kind: tc.kind, Row: plainbuffer.EncodeRow(&tc.row)}
			got, _, err := encodeChange(&arena, &c, seq)
			if err != nil {
				t.Fatal(err)
			}
			want := decodedRecord(t, storage.Change{TimeMicros: c.TimeMicros, Type: types[tc.kind], PrimaryKey: pk, Cells: tc.row.Cells}, seq)
			if !bytes.Equal(got, want) {
				t.Fatalf("record\n%x\nwant\n%x", got, want)
			}
		})
	}
	var arena recordArena
	if _, _, err := encodeChange(&arena, &Change{Kind: ChangePut, Row: []byte{0x75, 0, 0, 0, 1}}, seq); err == nil {
		t.Fatal("a corrupt stored row gave no error")
	}
}
