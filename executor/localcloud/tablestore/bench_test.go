package tablestore

import (
	"fmt"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"
	bolt "go.etcd.io/bbolt"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/kv"
	pb "github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/plainbuffer"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/storage"
	"github.com/tablestore-delivery/terraform-provider-tablestore/internal/testsupport"
)

// The benchmarks measure rows per second through the SDK over HTTP and, in
// the same run, a baseline: a plain in-process loop writing (or reading) the
// same number of rows of the same size straight into the same bbolt store,
// with the same transaction shape (one fsynced transaction per row for
// PutRow, one per batch for BatchWriteRow). They report both rates and
// sdk/baseline as "ratio" (1.0 = no protocol overhead).

type benchEnv struct {
	kv     *kv.Store
	srv    *Server
	http   *httptest.Server
	client *tablestore.TableStoreClient
}

func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	store, err := kv.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	srv, err := New(Config{Credentials: map[string]string{testKeyID: testSecret}, Store: store, Logger: testsupport.QuietLogger("")})
	if err != nil {
		b.Fatal(err)
	}
	e := &benchEnv{kv: store, srv: srv, http: httptest.NewServer(srv)}
	e.client = tablestore.NewClient(e.http.URL, "local", testKeyID, testSecret)
	b.Cleanup(func() { e.http.Close(); store.Close() })
	meta := &tablestore.TableMeta{TableName: "bench"}
	meta.AddPrimaryKeyColumn("id", tablestore.PrimaryKeyType_STRING)
	meta.AddPrimaryKeyColumn("n", tablestore.PrimaryKeyType_INTEGER)
	if _, err := e.client.CreateTable(&tablestore.CreateTableRequest{TableMeta: meta, TableOption: &tablestore.TableOption{TimeToAlive: -1, MaxVersion: 1}, ReservedThroughput: &tablestore.ReservedThroughput{}}); err != nil {
		b.Fatal(err)
	}
	return e
}

func benchPut(i int) *tablestore.PutRowChange {
	ch := &tablestore.PutRowChange{TableName: "bench", PrimaryKey: pk(fmt.Sprintf("user%08d", i), int64(i))}
	ch.AddColumn("name", "some moderately long string value")
	ch.AddColumn("amount", float64(i)*1.5)
	ch.AddColumn("count", int64(i))
	ch.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
	return ch
}

// baselineRecord is a stored row of the same shape as benchPut's.
func baselineRecord(i int) (key, val []byte) {
	row := pb.Row{
		PrimaryKey: []pb.Cell{{Name: "id", Value: pb.String(fmt.Sprintf("user%08d", i))}, {Name: "n", Value: pb.Int(int64(i))}},
		Cells: []pb.Cell{
			{Name: "amount", Value: pb.Double(float64(i) * 1.5), HasTimestamp: true, Timestamp: 1},
			{Name: "count", Value: pb.Int(int64(i)), HasTimestamp: true, Timestamp: 1},
			{Name: "name", Value: pb.String("some moderately long string value"), HasTimestamp: true, Timestamp: 1},
		},
	}
	return storage.EncodeKey(row.PrimaryKey), pb.EncodeRow(&row)
}

// baselineWrite writes n rows in transactions of perTx rows, with
// `workers` concurrent writers using Batch (as the server does) when > 1.
func baselineWrite(b *testing.B, store *kv.Store, base, n, perTx, workers int) time.Duration {
	b.Helper()
	var next atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				first := int(next.Add(int64(perTx))) - perTx
				if first >= n {
					return
				}
				fn := func(tx *bolt.Tx) error {
					bk, err := kv.Bucket(tx, "bench-baseline", "rows")
					if err != nil {
						return err
					}
					for i := first; i < min(first+perTx, n); i++ {
						k, v := baselineRecord(base + i)
						if err := bk.Put(k, v); err != nil {
							return err
						}
					}
					return nil
				}
				var err error
				if workers > 1 {
					err = store.Batch(fn)
				} else {
					err = store.Update(fn)
				}
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

func report(b *testing.B, rows int, sdk, baseline time.Duration) {
	sdkRate := float64(rows) / sdk.Seconds()
	baseRate := float64(rows) / baseline.Seconds()
	b.ReportMetric(sdkRate, "rows/s")
	b.ReportMetric(baseRate, "baseline-rows/s")
	b.ReportMetric(sdkRate/baseRate, "ratio")
}

// alternate runs the SDK work and the baseline over the same index ranges
// in alternating chunks, so that load from other processes on a shared
// machine affects both sides alike.
func alternate(n, chunk int, sdk, baseline func(from, to int)) (sdkDur, baseDur time.Duration) {
	for from := 0; from < n; from += chunk {
		to := min(from+chunk, n)
		start := time.Now()
		sdk(from, to)
		sdkDur += time.Since(start)
		start = time.Now()
		baseline(from, to)
		baseDur += time.Since(start)
	}
	return sdkDur, baseDur
}

// inParallel runs fn(i) for every i in [from, to) on `workers` goroutines.
func inParallel(from, to, workers int, fn func(i int)) {
	var next atomic.Int64
	next.Store(int64(from))
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= to {
					return
				}
				fn(i)
			}
		})
	}
	wg.Wait()
}

func (e *benchEnv) putRow(b *testing.B, i int) {
	if _, err := e.client.PutRow(&tablestore.PutRowRequest{PutRowChange: benchPut(i)}); err != nil {
		b.Error(err)
	}
}

// BenchmarkPutRow: sequential PutRow calls, one row each (one fsync each).
// Baseline: one Update transaction per row.
func BenchmarkPutRow(b *testing.B) {
	e := newBenchEnv(b)
	b.ResetTimer()
	sdk, base := alternate(b.N, 50,
		func(from, to int) {
			for i := from; i < to; i++ {
				e.putRow(b, i)
			}
		},
		func(from, to int) { baselineWrite(b, e.kv, from, to-from, 1, 1) })
	b.StopTimer()
	report(b, b.N, sdk, base)
}

// BenchmarkPutRowParallel: 8 concurrent clients; the server group-commits
// their writes. Baseline: 8 goroutines writing one row per kv Batch call.
func BenchmarkPutRowParallel(b *testing.B) {
	e := newBenchEnv(b)
	const workers = 8
	b.ResetTimer()
	sdk, base := alternate(b.N, 200,
		func(from, to int) { inParallel(from, to, workers, func(i int) { e.putRow(b, i) }) },
		func(from, to int) { baselineWrite(b, e.kv, from, to-from, 1, workers) })
	b.StopTimer()
	report(b, b.N, sdk, base)
}

// BenchmarkBatchWriteRow: requests of 200 rows (the protocol's maximum).
// Baseline: one Update transaction per 200 rows.
func BenchmarkBatchWriteRow(b *testing.B) {
	e := newBenchEnv(b)
	const perBatch = 200
	b.ResetTimer()
	sdk, base := alternate(b.N, 5,
		func(from, to int) {
			for i := from; i < to; i++ {
				req := &tablestore.BatchWriteRowRequest{}
				for j := range perBatch {
					req.AddRowChange(benchPut(i*perBatch + j))
				}
				resp, err := e.client.BatchWriteRow(req)
				if err != nil {
					b.Fatal(err)
				}
				for _, r := range resp.TableToRowsResult["bench"] {
					if !r.IsSucceed {
						b.Fatal(r.Error)
					}
				}
			}
		},
		func(from, to int) { baselineWrite(b, e.kv, from*perBatch, (to-from)*perBatch, perBatch, 1) })
	b.StopTimer()
	report(b, b.N*perBatch, sdk, base)
}

// BenchmarkGetRange: full scans of a 20,000-row table through the SDK,
// paging with next_start_primary_key; baseline: cursor over every shard's
// rows in one read transaction.
func BenchmarkGetRange(b *testing.B) {
	e := newBenchEnv(b)
	const total = 20000
	for first := 0; first < total; first += 500 {
		var muts []storage.Mutation
		for i := first; i < first+500; i++ {
			muts = append(muts, storage.Mutation{Table: "bench", Type: storage.ChangePut,
				PrimaryKey: []pb.Cell{{Name: "id", Value: pb.String(fmt.Sprintf("user%08d", i))}, {Name: "n", Value: pb.Int(int64(i))}},
				Cells: []pb.Cell{
					{Name: "amount", Value: pb.Double(float64(i) * 1.5)},
					{Name: "count", Value: pb.Int(int64(i))},
					{Name: "name", Value: pb.String("some moderately long string value")},
				}})
		}
		if _, err := e.srv.Storage().Write("local", muts); err != nil {
			b.Fatal(err)
		}
	}
	lo, hi := infPK(true), infPK(false)
	sdkScan := func() int {
		read := 0
		q := &tablestore.RangeRowQueryCriteria{TableName: "bench", StartPrimaryKey: lo, EndPrimaryKey: hi, MaxVersion: 1}
		for {
			resp, err := e.client.GetRange(&tablestore.GetRangeRequest{RangeRowQueryCriteria: q})
			if err != nil {
				b.Fatal(err)
			}
			read += len(resp.Rows)
			if resp.NextStartPrimaryKey == nil {
				return read
			}
			q.StartPrimaryKey = resp.NextStartPrimaryKey
		}
	}
	baselineScan := func() int {
		seen, bytesRead := 0, 0
		err := e.kv.View(func(tx *bolt.Tx) error {
			tb := tx.Bucket([]byte("ots/tables")).Bucket([]byte("local")).Bucket([]byte("bench"))
			return tb.ForEachBucket(func(name []byte) error {
				rows := tb.Bucket(name).Bucket([]byte("rows"))
				if rows == nil {
					return nil
				}
				c := rows.Cursor()
				for k, v := c.First(); k != nil; k, v = c.Next() {
					bytesRead += len(v)
					seen++
				}
				return nil
			})
		})
		if err != nil || bytesRead == 0 {
			b.Fatal(err, bytesRead)
		}
		return seen
	}
	// The storage API in-process (decoding and projecting rows, no HTTP,
	// protobuf or SDK): separates storage cost from protocol cost.
	storageScan := func() int {
		read := 0
		req := storage.RangeRequest{Table: "bench",
			Start: []pb.Cell{{Name: "id", Value: pb.InfMin()}, {Name: "n", Value: pb.InfMin()}},
			End:   []pb.Cell{{Name: "id", Value: pb.InfMax()}, {Name: "n", Value: pb.InfMax()}}, ReadOptions: storage.ReadOptions{MaxVersions: 1}}
		for {
			rr, err := e.srv.Storage().GetRange("local", req)
			if err != nil {
				b.Fatal(err)
			}
			read += len(rr.Rows)
			if rr.NextStart == nil {
				return read
			}
			req.Start = rr.NextStart
		}
	}
	b.ResetTimer()
	var sdk, base, stor time.Duration
	for range b.N {
		for _, step := range []struct {
			scan func() int
			dur  *time.Duration
		}{{sdkScan, &sdk}, {baselineScan, &base}, {storageScan, &stor}} {
			start := time.Now()
			if n := step.scan(); n != total {
				b.Fatalf("a scan returned %d rows, want %d", n, total)
			}
			*step.dur += time.Since(start)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(total*b.N)/stor.Seconds(), "storage-rows/s")
	report(b, total*b.N, sdk, base)
}
