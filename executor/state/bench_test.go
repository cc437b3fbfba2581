package state

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// BenchmarkUpdateStatus measures the pipelines' status report (read, decode,
// change, encode, durable write of the task) against a same-run baseline of
// a durable write of the same bytes without decoding, and reports the ratio:
// the registry's overhead over the store's fsync cost.
func BenchmarkUpdateStatus(b *testing.B) {
	ctx := context.Background()
	reg, store := openRegistry(b, b.TempDir(), KeyFromPassphrase("bench"))
	defer store.Close()
	tk := sampleTask("orders", "bench")
	tk.Status.ResolvedColumns = make([]task.Column, 20)
	for i := range tk.Status.ResolvedColumns {
		tk.Status.ResolvedColumns[i] = task.Column{Source: "c", Name: "c", Type: task.TypeUTF8}
	}
	if err := reg.CreateTask(ctx, tk); err != nil {
		b.Fatal(err)
	}
	blob, _ := json.Marshal(tk)
	start := time.Now()
	for i := 0; i < b.N; i++ {
		err := store.Batch(func(tx *bolt.Tx) error {
			bk, err := tx.CreateBucketIfNotExists([]byte("bench/raw"))
			if err != nil {
				return err
			}
			return bk.Put([]byte("k"), blob)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	baseline := time.Since(start)
	b.ResetTimer()
	start = time.Now()
	for i := 0; i < b.N; i++ {
		if err := reg.UpdateStatus(ctx, "orders", "bench", func(s *task.Status) { s.RowsDelivered++ }); err != nil {
			b.Fatal(err)
		}
	}
	subject := time.Since(start)
	b.ReportMetric(float64(baseline.Nanoseconds())/float64(b.N), "baseline-ns/op")
	b.ReportMetric(float64(subject)/float64(baseline), "ratio-vs-raw-write")
}
