package reliability

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"

	"github.com/tablestore-delivery/terraform-provider-tablestore/internal/testsupport"
)

// latencies records API call durations by operation.
type latencies struct {
	mu  sync.Mutex
	ops map[string][]time.Duration
}

func (l *latencies) time(op string, call func() error) error {
	start := time.Now()
	err := call()
	d := time.Since(start)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ops == nil {
		l.ops = map[string][]time.Duration{}
	}
	l.ops[op] = append(l.ops[op], d)
	return err
}

// percentile is the nearest-rank percentile p (0-100) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sorted := append([]time.Duration(nil), ds...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	rank := int(p/100*float64(len(sorted))+0.999999) - 1
	return sorted[max(0, min(rank, len(sorted)-1))]
}

func (l *latencies) report(t *testing.T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var all []time.Duration
	names := make([]string, 0, len(l.ops))
	for op := range l.ops {
		names = append(names, op)
	}
	sort.Strings(names)
	for _, op := range names {
		ds := l.ops[op]
		all = append(all, ds...)
		t.Logf("API %-12s %5d calls  p50 %8s  p99 %8s  max %8s", op, len(ds),
			percentile(ds, 50).Round(time.Microsecond), percentile(ds, 99).Round(time.Microsecond), percentile(ds, 100).Round(time.Microsecond))
	}
	t.Logf("API all          %5d calls  p50 %8s  p99 %8s", len(all), percentile(all, 50).Round(time.Microsecond), percentile(all, 99).Round(time.Microsecond))
}

func TestPercentile(t *testing.T) {
	ds := make([]time.Duration, 100)
	for i := range ds {
		ds[i] = time.Duration(100-i) * time.Millisecond
	}
	if got := percentile(ds, 99); got != 99*time.Millisecond {
		t.Errorf("p99 of 1..100 ms = %s", got)
	}
	if got := percentile(ds, 50); got != 50*time.Millisecond {
		t.Errorf("p50 of 1..100 ms = %s", got)
	}
	if got := percentile(ds[:1], 99); got != 100*time.Millisecond {
		t.Errorf("p99 of one = %s", got)
	}
}

// TestManyTasksUnderWrites runs one task per table on one executor while
// every table keeps receiving rows, polls the API throughout, and checks
// that each table's rows all arrive exactly once. It reports the API's
// latency percentiles.
func TestManyTasksUnderWrites(t *testing.T) {
	if !long() {
		// The long run reports the latency without other tests competing.
		t.Parallel()
	}
	tables := pick(8, 50)
	rowsPerRound := int64(pick(100, 200))
	rounds := int64(pick(10, 15))
	s := startStack(t, stackOptions{})
	s.createBucket("lake")
	s.putRole()
	var lat latencies
	ctx := context.Background()
	want := make([][]row, tables)
	for i := range tables {
		name := fmt.Sprintf("t%02d", i)
		s.createTable(name)
		want[i] = s.putRows(name, 0, rowsPerRound, 0)
	}
	for i := range tables {
		name := fmt.Sprintf("t%02d", i)
		err := lat.time("create task", func() error {
			_, err := s.api0.CreateTask(ctx, task.Spec{Name: name + "-lake", Table: name, Bucket: "lake", Prefix: name,
				SyncMode: task.SyncDifferential, Columns: columns, FlushIntervalSeconds: 1, TargetObjectSizeMB: 1})
			return err
		})
		if err != nil {
			t.Fatalf("create task for %s: %v", name, err)
		}
	}

	// Readers poll the API while the writer adds rows to every table.
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for r := range 2 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("t%02d", (i*7+r)%tables)
				_ = lat.time("get task", func() error { _, err := s.api0.GetTask(ctx, name, name+"-lake"); return err })
				if i%10 == 0 {
					_ = lat.time("list tasks", func() error { _, err := s.api0.ListTasks(ctx, ""); return err })
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	for round := int64(1); round <= rounds; round++ {
		for i := range tables {
			name := fmt.Sprintf("t%02d", i)
			want[i] = append(want[i], s.putRows(name, round*rowsPerRound, (round+1)*rowsPerRound, round)...)
		}
	}
	perTable := (rounds + 1) * rowsPerRound
	testsupport.WaitFor(t, pick(2*time.Minute, 10*time.Minute), "every task to deliver its rows", func() string {
		var behind []string
		for i := range tables {
			name := fmt.Sprintf("t%02d", i)
			var st task.Status
			_ = lat.time("get task", func() error {
				got, err := s.api0.GetTask(ctx, name, name+"-lake")
				if err == nil {
					st = got.Status
				}
				return err
			})
			if st.RowsDelivered < perTable {
				behind = append(behind, fmt.Sprintf("%s %d/%d %s", name, st.RowsDelivered, perTable, st.ErrorCode))
			}
		}
		if len(behind) > 0 {
			return fmt.Sprintf("%d tasks behind: %v", len(behind), behind[:min(len(behind), 5)])
		}
		return ""
	})
	close(stop)
	readers.Wait()

	checked := 0
	for i := range tables {
		name := fmt.Sprintf("t%02d", i)
		got := deliveredRows(t, s.objects("lake", name+"/"))
		checkExactlyOnce(t, name, want[i], got)
		checked += len(want[i])
	}
	t.Logf("%d tasks over %d tables: %d rows checked", tables, tables, checked)
	lat.report(t)
}
