package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"
	"github.com/parquet-go/parquet-go"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/bulkload"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/pipeline"
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
	if r.sizes.RampTrials == 0 {
		inc.MaxWriteRowsPerSec = r.report.Load.RowsPerSec
		inc.Ramp = []RampTrial{rampTrial(tr, flush)}
		if tr.sustained(flush) {
			inc.MaxSustainedRowsPerSec = tr.achieved
		}
		return nil
	}
	before, err := r.writeCeiling(ctx, "before the ramp", 0)
	if err != nil {
		return err
	}
	inc.WriteCeilingLoads = []LoadResult{before}
	if err := r.ramp(ctx, lt, tr, before.RowsPerSec); err != nil {
		return err
	}
	after, err := r.writeCeiling(ctx, "after the ramp", r.sizes.WriteCeilingRows)
	if err != nil {
		return err
	}
	inc.WriteCeilingLoads = append(inc.WriteCeilingLoads, after)
	inc.MaxWriteRowsPerSec = max(before.RowsPerSec, after.RowsPerSec)
	return nil
}

// writeCeiling measures the rate the local Tablestore accepts from the
// parallel BatchWriteRow load (the run's first load, same writers and
// batches, same rows) into a table no task reads, with the executor idle.
// The ramp compares with loads taken next to it rather than with the run's
// first load: that one runs minutes earlier into an emptier store, and on
// these shared machines the rate drifts by more than the margin being
// measured. The bench runs it just before the ramp and just after it and
// keeps the higher rate.
func (r *runner) writeCeiling(ctx context.Context, when string, from int) (LoadResult, error) {
	r.progress("incremental: write ceiling %s: %d rows into %q with BatchWriteRow", when, r.sizes.WriteCeilingRows, ceilingTable)
	return r.cloud.load(ctx, ceilingTable, from, r.sizes.WriteCeilingRows, 1)
}

// latencyTask is the latency scenario's task: trials write consecutive row
// ranges into its table and watch its objects.
type latencyTask struct {
	r     *runner
	spec  task.Spec
	flush time.Duration
	seen  map[string]bool // objects already read
	buf   []byte          // the last object read, reused for the next
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
	cpu        trialCPU
	writes     writeStats
}

// writeStats is how the writer of a trial fared.
type writeStats struct {
	achieved float64 // rows/s
	// blocked: how long the writer waited for one of its maxInFlight calls
	// to return before it could send a batch; callP50/P99: BatchWriteRow
	// round trips (seconds). A writer that falls short while blocked was
	// held up by the calls' latency, not by its own CPU.
	blocked          time.Duration
	callP50, callP99 float64
}

// maxInFlight is how many BatchWriteRow calls the steady writer keeps
// running at once.
const maxInFlight = 16

// trialCPU is the CPU seconds each process used during a trial.
type trialCPU struct{ cloud, executor, bench float64 }

// trialMeters measures the CPU time of the three processes of a trial.
type trialMeters struct{ cloud, executor, bench cpuMeter }

func (lt *latencyTask) startMeters() (trialMeters, error) {
	var m trialMeters
	var err error
	if m.cloud, err = lt.r.cloud.cpuMeter(); err != nil {
		return m, err
	}
	if m.executor, err = lt.r.exec.cpuMeter(); err != nil {
		return m, err
	}
	m.bench, err = startCPUMeter(os.Getpid())
	return m, err
}

func (m trialMeters) read() (trialCPU, error) {
	var c trialCPU
	var err error
	if c.cloud, err = m.cloud.seconds(); err != nil {
		return c, err
	}
	if c.executor, err = m.executor.seconds(); err != nil {
		return c, err
	}
	c.bench, err = m.bench.seconds()
	return c, err
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
	meters, err := lt.startMeters()
	if err != nil {
		return tr, err
	}
	written := make([]time.Time, total)
	visible := make([]time.Time, total)
	writeErr := make(chan error, 1)
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		ws, err := r.cloud.writeSteadily(ctx, lt.spec.Table, from, total, rate, written)
		tr.achieved, tr.writes = ws.achieved, ws
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
			rows, buf, err := r.cloud.objectRows(bucketName, o.key, o.size, lt.buf)
			lt.buf = buf
			if err != nil {
				pollErr = err
				return
			}
			var oldest time.Time
			for _, row := range rows {
				i := row - from
				if row < 0 || i < 0 || i >= total {
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
	if tr.cpu, err = meters.read(); err != nil {
		return tr, err
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
// achieved rate, how long it waited for a free call and the calls' latency.
func (c *cloudProcess) writeSteadily(ctx context.Context, table string, from, total, rate int, written []time.Time) (writeStats, error) {
	var ws writeStats
	batch := min(loadBatchRows, max(1, rate/10))
	interval := time.Duration(float64(time.Second) * float64(batch) / float64(rate))
	sem := make(chan struct{}, maxInFlight)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var calls []float64
	start := time.Now()
	var lastSent time.Time
	for k, lo := 0, 0; lo < total; k, lo = k+1, lo+batch {
		if wait := time.Until(start.Add(time.Duration(k) * interval)); wait > 0 {
			select {
			case <-ctx.Done():
				wg.Wait()
				return ws, ctx.Err()
			case <-time.After(wait):
			}
		}
		select {
		case err := <-errs:
			wg.Wait()
			return ws, err
		case sem <- struct{}{}:
		default:
			blockedAt := time.Now()
			select {
			case err := <-errs:
				wg.Wait()
				return ws, err
			case sem <- struct{}{}:
			}
			ws.blocked += time.Since(blockedAt)
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
			err := bulkload.WriteBatch(c.tablestore, table, req)
			mu.Lock()
			calls = append(calls, time.Since(sent).Seconds())
			mu.Unlock()
			if err != nil {
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
		return ws, err
	default:
	}
	span := lastSent.Sub(start).Seconds() + interval.Seconds()
	ws.achieved = float64(total) / span
	ws.callP50, ws.callP99, _ = percentiles(calls)
	return ws, nil
}

// objectRows reads a delivered object (size bytes, as listed) and returns
// its rows' indexes (parseRowID of the id column; -1 for ids that are not
// row ids). The object is read whole into buf, which is reused between calls
// (the returned buffer), and only the id column's pages are decoded: the
// verifier shares the cores with what it measures, so it spends no more on
// each object than finding which rows it holds.
func (c *cloudProcess) objectRows(bucket, key string, size int64, buf []byte) (rows []int, _ []byte, err error) {
	b, err := c.oss.Bucket(bucket)
	if err != nil {
		return nil, buf, fmt.Errorf("bench: bucket: %w", err)
	}
	body, err := b.GetObject(key)
	if err != nil {
		return nil, buf, fmt.Errorf("bench: get %s: %w", key, err)
	}
	if int64(cap(buf)) < size {
		buf = make([]byte, size)
	}
	data := buf[:size]
	_, err = io.ReadFull(body, data)
	if err == nil {
		// The object must be exactly the listed size.
		if n, _ := body.Read(make([]byte, 1)); n > 0 {
			err = fmt.Errorf("longer than the %d bytes listed", size)
		}
	}
	_ = body.Close()
	if err != nil {
		return nil, buf, fmt.Errorf("bench: read %s: %w", key, err)
	}
	rows, err = idColumnRows(data)
	if err != nil {
		return nil, buf, fmt.Errorf("bench: parquet %s: %w", key, err)
	}
	return rows, buf, nil
}

// idColumnRows decodes the id column of a Parquet file and returns the row
// index of each non-null id (parseRowID: -1 for ids that are not row ids).
func idColumnRows(data []byte) ([]int, error) {
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, err
	}
	rows := make([]int, 0, f.NumRows())
	err = pipeline.ColumnValues(f, "id", func(v parquet.Value) {
		rows = append(rows, parseRowIDBytes(v.ByteArray()))
	})
	return rows, err
}
