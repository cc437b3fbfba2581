package tunnelrecord

import (
	"fmt"
	"testing"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/plainbuffer"
)

// benchBatch is one read of the bench's full-sync table (executor/bench):
// base records of an integer key and 8 attributes, 3 strings, 2 integers,
// a double, a boolean and a 128-byte binary.
func benchBatch(records int) []byte {
	blob := make([]byte, 128)
	out := make([]envelope, records)
	for i := range out {
		row := plainbuffer.Row{
			PrimaryKey: []plainbuffer.Cell{{Name: "id", Value: plainbuffer.Int(int64(i) * 7919)}},
			Cells: []plainbuffer.Cell{
				{Name: "name", Value: plainbuffer.String(fmt.Sprintf("user-%08d", i)), HasTimestamp: true, Timestamp: 1700000000000},
				{Name: "city", Value: plainbuffer.String("Hangzhou"), HasTimestamp: true, Timestamp: 1700000000000},
				{Name: "note", Value: plainbuffer.String("a note of about thirty bytes.."), HasTimestamp: true, Timestamp: 1700000000000},
				{Name: "amount", Value: plainbuffer.Int(int64(i) * 31), HasTimestamp: true, Timestamp: 1700000000000},
				{Name: "event_ms", Value: plainbuffer.Int(1700000000000 + int64(i)), HasTimestamp: true, Timestamp: 1700000000000},
				{Name: "score", Value: plainbuffer.Double(float64(i) / 3), HasTimestamp: true, Timestamp: 1700000000000},
				{Name: "active", Value: plainbuffer.Bool(i%2 == 0), HasTimestamp: true, Timestamp: 1700000000000},
				{Name: "payload", Value: plainbuffer.Blob(blob), HasTimestamp: true, Timestamp: 1700000000000},
			},
		}
		out[i] = envelope{action: 1, body: plainbuffer.EncodeRow(&row)}
	}
	return batchOf(out...)
}

// BenchmarkDecode compares Decode with the SDK's decoder of the same bytes
// (the baseline a processor gets by default), per row: compare the ns/op
// and allocs/op of the two sub-benchmarks.
func BenchmarkDecode(b *testing.B) {
	const rows = 1000
	batch := benchBatch(rows)
	b.Run("sdk", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := sdkDecode(batch); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
	})
	b.Run("tunnelrecord", func(b *testing.B) {
		b.ReportAllocs()
		d := NewDecoder()
		for b.Loop() {
			if _, err := d.Decode(batch); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
	})
}
