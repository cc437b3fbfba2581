package pipeline

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/plainbuffer"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/storage"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"

	"github.com/tablestore-delivery/terraform-provider-tablestore/internal/testsupport"
)

// benchRows is the table size of the full-sync benchmark:
// DELIVERY_BENCH_ROWS, default 200,000 (the closing note's figure uses
// 1,000,000).
func benchRows() int {
	if v, err := strconv.Atoi(os.Getenv("DELIVERY_BENCH_ROWS")); err == nil && v > 0 {
		return v
	}
	return 200_000
}

// fillTable writes n rows straight into the local storage (the benchmark
// measures reading and delivering, not the write path).
func fillTable(b testing.TB, c *cloud, table string, n int) {
	b.Helper()
	st := c.ots.Storage()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	per := (n + 7) / 8
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(from, to int) {
			defer wg.Done()
			for start := from; start < to; start += 500 {
				muts := make([]storage.Mutation, 0, 500)
				for id := start; id < min(start+500, to); id++ {
					muts = append(muts, storage.Mutation{Table: table, Type: storage.ChangePut,
						PrimaryKey: []plainbuffer.Cell{{Name: "id", Value: plainbuffer.Int(int64(id))}},
						Cells: []plainbuffer.Cell{
							{Name: "name", Value: plainbuffer.String("name-" + strconv.Itoa(id))},
							{Name: "price", Value: plainbuffer.Double(float64(id) / 3)},
							{Name: "ok", Value: plainbuffer.Bool(id%2 == 0)},
						}})
				}
				res, err := st.Write(stackInstance, muts)
				if err == nil {
					for _, r := range res {
						if r.Err != nil {
							err = r.Err
							break
						}
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}(w*per, min((w+1)*per, n))
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
}

// rawTunnelRead consumes a BaseData tunnel of the table with the SDK's
// SimpleProcessFactory doing nothing with the records: the baseline.
func rawTunnelRead(b testing.TB, c *cloud, table, name string, want int) time.Duration {
	b.Helper()
	tc := tunnel.NewTunnelClient(c.otsURL, stackInstance, stackKeyID, stackSecret)
	resp, err := tc.CreateTunnel(&tunnel.CreateTunnelRequest{TableName: table, TunnelName: name, Type: tunnel.TunnelTypeBaseData})
	if err != nil {
		b.Fatal(err)
	}
	var got atomic.Int64
	done := make(chan struct{})
	var once sync.Once
	start := time.Now()
	// Like the SDK's daemon: a worker whose heartbeat fails (a loaded
	// machine) is replaced; the checkpoints make the new one resume.
	stop := make(chan struct{})
	var current sync.Mutex
	var worker tunnel.TunnelWorker
	go func() {
		for {
			w, err := tc.NewTunnelWorker(resp.TunnelId, &tunnel.TunnelWorkerConfig{
				HeartbeatInterval: 500 * time.Millisecond, HeartbeatTimeout: 60 * time.Second,
				LogConfig: &quietZapConfig, LogWriteSyncer: zapcore.AddSync(discard{}),
				ProcessorFactory: &tunnel.SimpleProcessFactory{
					Logger: zap.NewNop(), CpInterval: time.Second,
					ProcessFunc: func(_ *tunnel.ChannelContext, records []*tunnel.Record) error {
						if got.Add(int64(len(records))) >= int64(want) {
							once.Do(func() { close(done) })
						}
						return nil
					},
				},
			})
			if err != nil {
				b.Error(err)
				return
			}
			current.Lock()
			worker = w
			current.Unlock()
			_ = w.ConnectAndWorking()
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Minute):
		b.Fatalf("raw read got %d of %d records", got.Load(), want)
	}
	elapsed := time.Since(start)
	close(stop)
	current.Lock()
	worker.Shutdown()
	current.Unlock()
	return elapsed
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkFullSync delivers a 4-shard table with a full sync and reports
// rows/s, against a raw tunnel read of the same table in the same run.
//
//	DELIVERY_BENCH_ROWS=1000000 go test ./executor/pipeline -run '^$' -bench FullSync -benchtime 1x
func BenchmarkFullSync(b *testing.B) {
	n := benchRows()
	dir := b.TempDir()
	c := startCloud(b, filepath.Join(dir, "cloud"))
	defer c.close()
	ex := startExecutor(b, filepath.Join(dir, "exec"), c, func(cfg *Config) { cfg.StatusInterval = 100 * time.Millisecond })
	defer ex.close()
	ex.putRole()
	c.createBucket("lake")
	c.createTable("bench")
	fillTable(b, c, "bench", n)
	b.ResetTimer()
	var pipelineTime, rawTime time.Duration
	for i := 0; i < b.N; i++ {
		rawTime += rawTunnelRead(b, c, "bench", fmt.Sprintf("raw%d", i), n)
		name := fmt.Sprintf("full-%d", i)
		start := time.Now()
		ex.createTask(task.Spec{Name: name, Table: "bench", Bucket: "lake", Prefix: "bench/" + name,
			SyncMode: task.SyncFull, Columns: e2eColumns[:4], FlushIntervalSeconds: 120})
		for {
			st := ex.status("bench", name)
			if st.Phase == task.PhaseFinished && st.RowsDelivered == int64(n) {
				break
			}
			if time.Since(start) > 20*time.Minute {
				b.Fatalf("full sync not finished: %+v", st)
			}
			time.Sleep(20 * time.Millisecond)
		}
		pipelineTime += time.Since(start)
	}
	b.StopTimer()
	pipelineRate := float64(n*b.N) / pipelineTime.Seconds()
	rawRate := float64(n*b.N) / rawTime.Seconds()
	b.ReportMetric(pipelineRate, "rows/s")
	b.ReportMetric(rawRate, "raw-tunnel-rows/s")
	b.ReportMetric(pipelineRate/rawRate, "ratio-vs-raw-tunnel")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkWriteToVisibleLatency writes rows at a steady rate (200 rows/s
// by default, DELIVERY_LATENCY_SECONDS long, default 20) into a
// differential task with a 5 s flush interval, notes when each row's object
// becomes listable in OSS, and reports the P50/P99 delay from write to
// visibility and P99 as a ratio of the flush interval.
//
//	DELIVERY_LATENCY_SECONDS=60 go test ./executor/pipeline -run '^$' -bench WriteToVisible -benchtime 1x
func BenchmarkWriteToVisibleLatency(b *testing.B) {
	seconds := 20
	if v, err := strconv.Atoi(os.Getenv("DELIVERY_LATENCY_SECONDS")); err == nil && v > 0 {
		seconds = v
	}
	const rate = 200 // rows per second, in 10 batches of 20
	const flush = 5 * time.Second
	dir := b.TempDir()
	c := startCloud(b, filepath.Join(dir, "cloud"))
	defer c.close()
	ex := startExecutor(b, filepath.Join(dir, "exec"), c, nil)
	defer ex.close()
	ex.putRole()
	c.createBucket("lake")
	c.createTable("lat")
	var all []float64
	for i := 0; i < b.N; i++ {
		name := fmt.Sprintf("lat-%d", i)
		ex.createTask(task.Spec{Name: name, Table: "lat", Bucket: "lake", Prefix: name + "/$HH",
			SyncMode: task.SyncDifferential, Columns: e2eColumns[:2], FlushIntervalSeconds: int(flush / time.Second)})
		// Measure the steady state: from when the stream is being read.
		testsupport.WaitFor(b, time.Minute, "incremental phase", func() string {
			if st := ex.status("lat", name); st.Phase != task.PhaseIncr {
				return string(st.Phase)
			}
			return ""
		})
		written := map[int64]time.Time{}
		var mu sync.Mutex
		stop := make(chan struct{})
		go func() {
			tick := time.NewTicker(time.Second / 10)
			defer tick.Stop()
			next := int64(i) * 1_000_000
			end := time.Now().Add(time.Duration(seconds) * time.Second)
			for time.Now().Before(end) {
				<-tick.C
				ids := idRange(next, next+rate/10)
				next += rate / 10
				at := time.Now()
				c.putRows("lat", ids, func(id int64) map[string]any { return map[string]any{"name": "x"} })
				mu.Lock()
				for _, id := range ids {
					written[id] = at
				}
				mu.Unlock()
			}
			close(stop)
		}()
		seen := map[string]bool{}
		visible := map[int64]time.Time{}
		poll := func() {
			objs := c.objects("lake", name+"/")
			now := time.Now()
			for key, data := range objs {
				if seen[key] {
					continue
				}
				seen[key] = true
				_, rows := readParquet(b, data)
				for _, r := range rows {
					visible[r[0].(int64)] = now
				}
			}
		}
		finished := false
		for !finished {
			select {
			case <-stop:
				finished = true
			case <-time.After(100 * time.Millisecond):
			}
			poll()
		}
		deadline := time.Now().Add(3 * flush)
		for {
			poll()
			mu.Lock()
			done := len(visible) >= len(written)
			mu.Unlock()
			if done || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		mu.Lock()
		for id, at := range written {
			v, ok := visible[id]
			if !ok {
				b.Fatalf("row %d never became visible", id)
			}
			all = append(all, v.Sub(at).Seconds())
		}
		mu.Unlock()
	}
	sort.Float64s(all)
	p := func(q float64) float64 { return all[min(len(all)-1, int(q*float64(len(all))))] }
	b.ReportMetric(p(0.5), "p50-s")
	b.ReportMetric(p(0.99), "p99-s")
	b.ReportMetric(p(0.99)/flush.Seconds(), "p99/flush-interval")
	b.ReportMetric(0, "ns/op")
}
