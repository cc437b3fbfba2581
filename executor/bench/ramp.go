package bench

import (
	"context"
	"math"
	"time"
)

// RampTrial is one rate the ramp tried on the latency task.
type RampTrial struct {
	RateRowsPerSec     float64 `json:"rate_rows_per_sec"`
	AchievedRowsPerSec float64 `json:"achieved_rows_per_sec"`
	Rows               int     `json:"rows"`
	P99Seconds         float64 `json:"p99_seconds"`
	RowsMissing        int     `json:"rows_missing"`
	// Sustained: every row visible, P99 ≤ flush + 1 s and the writer within
	// 5% of the rate.
	Sustained bool `json:"sustained"`
	// CPU seconds per million rows of the trial (µs per row), from its start
	// until its last row was seen: the local cloud, the executor, and the
	// bench itself (writer and verifier). They share the cores, so these
	// say where a trial that falls short spent them.
	CloudCPUSecondsPerMillionRows    float64 `json:"cloud_cpu_seconds_per_million_rows"`
	ExecutorCPUSecondsPerMillionRows float64 `json:"executor_cpu_seconds_per_million_rows"`
	BenchCPUSecondsPerMillionRows    float64 `json:"bench_cpu_seconds_per_million_rows"`
	// The writer: how long it waited with all its calls in flight, and the
	// BatchWriteRow round trips' P50 and P99 (seconds).
	WriterBlockedSeconds float64 `json:"writer_blocked_seconds"`
	WriteCallP50Seconds  float64 `json:"write_call_p50_seconds"`
	WriteCallP99Seconds  float64 `json:"write_call_p99_seconds"`
}

func rampTrial(t trialResult, flush time.Duration) RampTrial {
	return RampTrial{RateRowsPerSec: float64(t.rate), AchievedRowsPerSec: t.achieved, Rows: t.rows,
		P99Seconds: t.p99, RowsMissing: t.missing, Sustained: t.sustained(flush),
		CloudCPUSecondsPerMillionRows:    perMillionRows(t.cpu.cloud, t.rows),
		ExecutorCPUSecondsPerMillionRows: perMillionRows(t.cpu.executor, t.rows),
		BenchCPUSecondsPerMillionRows:    perMillionRows(t.cpu.bench, t.rows),
		WriterBlockedSeconds:             t.writes.blocked.Seconds(),
		WriteCallP50Seconds:              t.writes.callP50, WriteCallP99Seconds: t.writes.callP99}
}

// ramp looks for incremental.max_sustained_rows_per_sec: the highest write
// rate at which the executor keeps P99 write→visible within flush + 1 s.
// ceiling is the write-ceiling load taken just before it (writeCeiling;
// incremental.max_write_rows_per_sec is the higher of that one and the one
// taken just after the ramp). The first trial is at 0.8 of the ceiling
// (issue 17's goal, see nextRampRate), then the interval
// between the highest sustained and the lowest failed rate is halved, for
// Sizes.RampTrials trials of Sizes.RampTrialDuration each. The fixed-rate
// scenario counts as a trial. A trial whose rows do not all arrive ends the
// ramp: its backlog would weigh on the next one.
//
// The figure is the rate the sustained trial actually wrote, not the one it
// asked for: a trial passes with the writer within 5% of its rate, and what
// the executor kept up with is what was written.
func (r *runner) ramp(ctx context.Context, lt *latencyTask, first trialResult, ceiling float64) error {
	inc := &r.report.Incremental
	flush := lt.flush
	inc.Ramp = []RampTrial{rampTrial(first, flush)}
	lo, hi := 0.0, ceiling
	best := 0.0 // the highest achieved rate of a sustained trial
	if first.sustained(flush) {
		lo, best = float64(first.rate), first.achieved
	}
	drained := first.drained
	for k := 0; k < r.sizes.RampTrials && drained && hi-lo > 0.02*ceiling; k++ {
		rate := nextRampRate(k, lo, hi, ceiling)
		total := max(1, int(rate*r.sizes.RampTrialDuration.Seconds()))
		r.progress("incremental ramp: %.0f rows/s for %s (sustained so far %.0f, ceiling %.0f)", rate, r.sizes.RampTrialDuration, lo, hi)
		tr, err := lt.trial(ctx, int(rate), total)
		if err != nil {
			return err
		}
		inc.Ramp = append(inc.Ramp, rampTrial(tr, flush))
		if tr.sustained(flush) {
			lo, best = float64(tr.rate), max(best, tr.achieved)
		} else {
			hi = float64(tr.rate)
		}
		drained = tr.drained
	}
	inc.MaxSustainedRowsPerSec = best
	return nil
}

// nextRampRate is the rate of ramp trial k (0-based, after the fixed-rate
// one), between the highest sustained rate lo and the lowest failed one hi:
// first the goal, 0.8 × the ceiling, unless already sustained; then the
// middle. Whole rows/s, rounded up so that the goal's trial is never below it.
//
// The goal's trial asks for goalHeadroom more than the goal: the figure is
// the rate achieved, which a paced writer always falls a little short of
// (0.05-0.5% in trials that held), so a trial asking for exactly the goal
// could hold and still report less than it.
func nextRampRate(k int, lo, hi, ceiling float64) float64 {
	rate := (lo + hi) / 2
	if goal := 0.8 * ceiling * goalHeadroom; k == 0 && goal > lo {
		rate = goal
	}
	return math.Ceil(rate)
}

const goalHeadroom = 1.01
