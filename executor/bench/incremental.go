package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"
	"github.com/parquet-go/parquet-go"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/bulkload"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// pollInterval is how often the latency scenario lists the task's objects:
// a row's measured delay overstates the true one by at most this much.
const pollInterval = 100 * time.Millisecond

// incremental writes rows at a steady rate into an empty table delivered by
// a differential task, and measures each row's delay from the moment its
// BatchWriteRow was sent to the moment an object holding it is listed in OSS.
// Then it looks for the highest rate the executor sustains on the same task
// (ramp).
func (r *runner) incremental(ctx context.Context) error {
	ex := r.exec
	rate, flush := r.sizes.IncrementalRate, r.sizes.IncrementalFlush
	total := int(float64(rate) * r.sizes.IncrementalDuration.Seconds())
	inc := &r.report.Incremental
	inc.RateRowsPerSec, inc.FlushIntervalSeconds, inc.Rows = float64(rate), flush.Seconds(), total

	spec := taskSpec("latency", latencyTable, ex.roleARN, flush, 64)
	start := time.Now()
	if _, err := ex.api.CreateTask(ctx, spec); err != nil {
		return fmt.Errorf("bench: create task: %w", err)
	}
	var leftInit time.Duration
	if _, err := ex.waitTask(ctx, latencyTable, spec.Name, 20*time.Millisecond, 2*time.Minute, func(s task.Status) bool {
		if leftInit == 0 && s.Phase != task.PhaseInit {
			leftInit = time.Since(start)
		}
		return s.Phase == task.PhaseIncr
	}); err != nil {
		return err
	}
	r.report.InitSecondsEmptyTable = leftInit.Seconds()

	r.progress("incremental: %d rows/s for %s into %q, flush interval %s", rate, r.sizes.IncrementalDuration, latencyTable, flush)
	lt := &latencyTask{r: r, spec: spec, flush: flush, seen: map[string]bool{}}
	tr, err := lt.trial(ctx, rate, total)
	if err != nil {
		return err
	}
	inc.AchievedRowsPerSec, inc.RowsMissing = tr.achieved, tr.missing
	inc.P50Seconds, inc.P99Seconds, inc.MaxSeconds = tr.p50, tr.p99, tr.max
	inc.Objects = len(lt.seen)
	inc.ObjectAgeP50Seconds, _, inc.ObjectAgeMaxSeconds = percentiles(tr.objectAges)
	for _, age := range tr.objectAges {
		if age > flush.Seconds()+1 {
			inc.ObjectsOlderThanFlushPlus1s++
		}
	}
	return r.ramp(ctx, lt, tr)
}

// latencyTask is the latency scenario's task: trials write consecutive row
// ranges into its table and watch its objects.
type latencyTask struct {
	r     *runner
	spec  task.Spec
	flush time.Duration
	seen  map[string]bool // objects already read
	next  int             // the first row index of the next trial
}

// trialResult is one steady-rate trial.
type trialResult struct {
	rate, rows    int
	achieved      float64
	p50, p99, max float64
	missing       int
	// drained: every row of the trial became visible before the deadline.
	drained bool
	// objectAges: per object, from its oldest row's write to its listing —
	// the flush interval plus the read and upload delays of the executor.
	objectAges []float64
}

// sustained reports whether the executor kept up with the trial: every row
// visible, P99 within flush + 1 s, and the writer at its rate (within 5%).
func (t trialResult) sustained(flush time.Duration) bool {
	return t.rows > 0 && t.missing == 0 && t.p99 <= flush.Seconds()+1 && t.achieved >= 0.95*float64(t.rate)
}

// trial writes total rows at rate rows/s and measures each row's delay until
// an object holding it is listed.
func (lt *latencyTask) trial(ctx context.Context, rate, total int) (trialResult, error) {
	r, from := lt.r, lt.next
	lt.next += total
	tr := trialResult{rate: rate, rows: total}
	written := make([]time.Time, total)
	visible := make([]time.Time, total)
	writeErr := make(chan error, 1)
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		achieved, err := r.cloud.writeSteadily(ctx, lt.spec.Table, from, total, rate, written)
		tr.achieved = achieved
		writeErr <- err
	}()

	var pollErr error
	poll := func() {
		objs, err := r.cloud.listObjects(bucketName, lt.spec.Name+"/")
		listedAt := time.Now()
		if err != nil {
			pollErr = err
			return
		}
		for _, o := range objs {
			if lt.seen[o.key] {
				continue
			}
			lt.seen[o.key] = true
			ids, err := r.cloud.objectRowIDs(bucketName, o.key)
			if err != nil {
				pollErr = err
				return
			}
			var oldest time.Time
			for _, id := range ids {
				i := parseRowID(id) - from
				if i < 0 || i >= total {
					continue
				}
				if visible[i].IsZero() {
					visible[i] = listedAt
				}
				if w := written[i]; !w.IsZero() && (oldest.IsZero() || w.Before(oldest)) {
					oldest = w
				}
			}
			if !oldest.IsZero() {
				tr.objectAges = append(tr.objectAges, listedAt.Sub(oldest).Seconds())
			}
		}
	}
	for waiting := true; waiting && pollErr == nil; {
		select {
		case <-writerDone:
			waiting = false
		case <-time.After(pollInterval):
		}
		poll()
	}
	if err := <-writeErr; err != nil {
		return tr, err
	}
	deadline := time.Now().Add(3*lt.flush + 30*time.Second)
	for pollErr == nil && countVisible(visible) < total && time.Now().Before(deadline) {
		time.Sleep(pollInterval)
		poll()
	}
	if pollErr != nil {
		return tr, pollErr
	}
	delays := make([]float64, 0, total)
	for i := range total {
		if visible[i].IsZero() {
			tr.missing++
			// A row never seen counts as the whole wait, so it still pushes P99.
			delays = append(delays, time.Since(written[i]).Seconds())
			continue
		}
		delays = append(delays, visible[i].Sub(written[i]).Seconds())
	}
	tr.drained = tr.missing == 0
	tr.p50, tr.p99, tr.max = percentiles(delays)
	return tr, nil
}

func countVisible(visible []time.Time) int {
	n := 0
	for _, t := range visible {
		if !t.IsZero() {
			n++
		}
	}
	return n
}

// percentiles returns the nearest-rank P50 and P99 and the maximum.
func percentiles(values []float64) (p50, p99, maxValue float64) {
	if len(values) == 0 {
		return 0, 0, 0
	}
	sorted := append([]float64(nil), values...)
	sort.Float64s(sorted)
	rank := func(q float64) float64 {
		i := int(math.Ceil(q*float64(len(sorted)))) - 1
		return sorted[max(0, min(i, len(sorted)-1))]
	}
	return rank(0.50), rank(0.99), sorted[len(sorted)-1]
}

// writeSteadily writes rows from..from+total-1 at rate rows/s in batches on a fixed
// schedule (batches run concurrently, so one slow call does not delay the
// next), noting in written[i] when row from+i's batch was sent. It returns the
// achieved rate.
func (c *cloudProcess) writeSteadily(ctx context.Context, table string, from, total, rate int, written []time.Time) (float64, error) {
	batch := min(loadBatchRows, max(1, rate/10))
	interval := time.Duration(float64(time.Second) * float64(batch) / float64(rate))
	sem := make(chan struct{}, 16)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	start := time.Now()
	var lastSent time.Time
	for k, lo := 0, 0; lo < total; k, lo = k+1, lo+batch {
		if wait := time.Until(start.Add(time.Duration(k) * interval)); wait > 0 {
			select {
			case <-ctx.Done():
				wg.Wait()
				return 0, ctx.Err()
			case <-time.After(wait):
			}
		}
		select {
		case err := <-errs:
			wg.Wait()
			return 0, err
		case sem <- struct{}{}:
		}
		hi := min(lo+batch, total)
		req := &tablestore.BatchWriteRowRequest{}
		now := time.Now()
		for i := lo; i < hi; i++ {
			row := makeRow(from+i, now, 1)
			row.EventTime = now.Unix()
			req.AddRowChange(row.change(table))
		}
		sent := time.Now()
		for i := lo; i < hi; i++ {
			written[i] = sent
		}
		lastSent = sent
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := bulkload.WriteBatch(c.tablestore, table, req); err != nil {
				select {
				case errs <- err:
				default:
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		return 0, err
	default:
	}
	span := lastSent.Sub(start).Seconds() + interval.Seconds()
	return float64(total) / span, nil
}

// idColumn reads only the id column of a delivered object.
type idColumn struct {
	ID *string `parquet:"id,optional"`
}

// objectRowIDs downloads an object and returns its rows' ids.
func (c *cloudProcess) objectRowIDs(bucket, key string) ([]string, error) {
	b, err := c.oss.Bucket(bucket)
	if err != nil {
		return nil, fmt.Errorf("bench: bucket: %w", err)
	}
	body, err := b.GetObject(key)
	if err != nil {
		return nil, fmt.Errorf("bench: get %s: %w", key, err)
	}
	data, err := io.ReadAll(body)
	_ = body.Close()
	if err != nil {
		return nil, fmt.Errorf("bench: read %s: %w", key, err)
	}
	rows, err := parquet.Read[idColumn](bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("bench: parquet %s: %w", key, err)
	}
	ids := make([]string, 0, len(rows))
	for _, row := range rows {
		if row.ID != nil {
			ids = append(ids, *row.ID)
		}
	}
	return ids, nil
}
