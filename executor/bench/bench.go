// Package bench measures the delivery executor end to end, the way issue 9
// defines it: a local cloud and an executor run as separate processes on
// fresh data directories, data is loaded with the official Tablestore SDK,
// and every figure is set against a baseline measured in the same run on the
// same data (a bare SDK tunnel read, parquet-go writing from memory, a GetRange
// scan, and issue 17's naive export: the script a user would write instead).
//
// Run drives every scenario and returns a Report; Report.WriteJSON prints the
// issue's JSON document and Report.WriteTable a human-readable table. The
// benchmark reports; it never fails on a missed target (Report.Targets says
// which are met).
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// Sizes are the scenario sizes of one run.
type Sizes struct {
	// FullSyncRows is the table the full sync (and its baselines) reads.
	FullSyncRows int
	// Shards of every table of the local cloud.
	Shards int
	// EventHours spreads the rows' event times over this many hours, so the
	// full sync writes that many hourly partitions per shard.
	EventHours int
	// TargetObjectSizeMB is the full-sync task's target_object_size_mb.
	TargetObjectSizeMB int
	// IncrementalRate (rows/s) and IncrementalDuration drive the latency
	// scenario; IncrementalFlush is its task's flush interval.
	IncrementalRate     int
	IncrementalDuration time.Duration
	IncrementalFlush    time.Duration
	// RampTrials (after the fixed-rate one) of RampTrialDuration each look
	// for the highest rate the executor sustains (0: no ramp).
	RampTrials        int
	RampTrialDuration time.Duration
	// WriteCeilingRows is the size of each write-ceiling load: the same
	// parallel BatchWriteRow load as the first one, into a table of its
	// own, once just before the ramp and once just after it.
	WriteCeilingRows int
	// MemoryLargeRows is the second table of the memory scenario (the first
	// is the full sync's).
	MemoryLargeRows int
}

// FullSizes are the sizes of issue 9.
func FullSizes() Sizes {
	return Sizes{
		FullSyncRows:        1_000_000,
		Shards:              4,
		EventHours:          2,
		TargetObjectSizeMB:  8,
		IncrementalRate:     5_000,
		IncrementalDuration: 60 * time.Second,
		IncrementalFlush:    5 * time.Second,
		RampTrials:          4,
		RampTrialDuration:   20 * time.Second,
		WriteCeilingRows:    750_000,
		MemoryLargeRows:     5_000_000,
	}
}

// QuickSizes finish every scenario in well under a minute on two cores.
func QuickSizes() Sizes {
	return Sizes{
		FullSyncRows:        20_000,
		Shards:              4,
		EventHours:          1,
		TargetObjectSizeMB:  1,
		IncrementalRate:     500,
		IncrementalDuration: 8 * time.Second,
		IncrementalFlush:    5 * time.Second,
		RampTrials:          1,
		RampTrialDuration:   3 * time.Second,
		WriteCeilingRows:    20_000,
		MemoryLargeRows:     60_000,
	}
}

func (s Sizes) validate() error {
	var errs []error
	if s.FullSyncRows < 1 || s.MemoryLargeRows < 1 || s.WriteCeilingRows < 1 {
		errs = append(errs, errors.New("bench: row counts must be positive"))
	}
	if s.Shards < 1 || s.Shards > 64 {
		errs = append(errs, fmt.Errorf("bench: shards %d not in 1..64", s.Shards))
	}
	if s.EventHours < 1 {
		errs = append(errs, errors.New("bench: EventHours must be positive"))
	}
	if s.IncrementalRate < 1 || s.IncrementalDuration <= 0 || s.IncrementalFlush < time.Second {
		errs = append(errs, errors.New("bench: incremental rate, duration and flush (≥ 1 s) must be positive"))
	}
	if s.RampTrials < 0 || (s.RampTrials > 0 && s.RampTrialDuration < time.Second) {
		errs = append(errs, errors.New("bench: RampTrials must not be negative, and RampTrialDuration at least 1 s"))
	}
	if s.TargetObjectSizeMB < 1 {
		errs = append(errs, errors.New("bench: TargetObjectSizeMB must be positive"))
	}
	return errors.Join(errs...)
}

// Config configures a run.
type Config struct {
	// Binary is the delivery-executor executable started for the local
	// cloud and the executor (the bench subcommand passes os.Executable()).
	Binary string
	Sizes  Sizes
	// WorkDir holds the processes' data dirs and logs; empty: a new
	// temporary directory, removed at the end unless KeepWorkDir.
	WorkDir     string
	KeepWorkDir bool
	// ExecutorEnv is added to the executors' environment (KEY=VALUE), for
	// experiments such as GOMEMLIMIT or GODEBUG=gctrace=1 (which logs into
	// the executor's log in the work dir).
	ExecutorEnv []string
	// Progress receives one line per step (nil: discarded).
	Progress io.Writer
	// Logger receives details (nil: discarded).
	Logger *slog.Logger
}

// Run starts the processes, runs every scenario and returns the report.
func Run(ctx context.Context, cfg Config) (report *Report, err error) {
	if cfg.Binary == "" {
		return nil, errors.New("bench: Config.Binary is required")
	}
	if err := cfg.Sizes.validate(); err != nil {
		return nil, err
	}
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	work := cfg.WorkDir
	if work == "" {
		if work, err = os.MkdirTemp("", "delivery-bench-"); err != nil {
			return nil, fmt.Errorf("bench: work dir: %w", err)
		}
		if !cfg.KeepWorkDir {
			defer func() { err = errors.Join(err, os.RemoveAll(work)) }()
		}
	}
	r := &runner{cfg: cfg, sizes: cfg.Sizes, work: work, report: newReport(cfg.Sizes)}
	defer func() { err = errors.Join(err, r.close()) }()
	if err := r.run(ctx); err != nil {
		return r.report, err
	}
	return r.report, nil
}

// runner holds the state of one run.
type runner struct {
	cfg    Config
	sizes  Sizes
	work   string
	report *Report

	cloud *cloudProcess
	exec  *executorProcess
	procs []*process
}

func (r *runner) progress(format string, args ...any) {
	fmt.Fprintf(r.cfg.Progress, "bench: "+format+"\n", args...)
}

func (r *runner) close() error {
	var errs []error
	for i := len(r.procs) - 1; i >= 0; i-- {
		errs = append(errs, r.procs[i].stop())
	}
	return errors.Join(errs...)
}

func (r *runner) run(ctx context.Context) error {
	start := time.Now()
	var err error
	r.progress("starting the local cloud (%d shards)", r.sizes.Shards)
	if r.cloud, err = r.startCloud(ctx); err != nil {
		return err
	}
	if err := r.cloud.createBucket(bucketName); err != nil {
		return err
	}
	for _, table := range []string{fullTable, latencyTable, ceilingTable, largeTable} {
		if err := r.cloud.createTable(table); err != nil {
			return err
		}
	}

	r.progress("loading %d rows into %q with BatchWriteRow", r.sizes.FullSyncRows, fullTable)
	load, err := r.cloud.load(ctx, fullTable, 0, r.sizes.FullSyncRows, r.sizes.EventHours)
	if err != nil {
		return err
	}
	r.report.Load = load
	r.report.FullSync.RowBytes = load.MeanRowBytes

	if err := r.fullSync(ctx); err != nil {
		return fmt.Errorf("full sync: %w", err)
	}
	if err := r.incremental(ctx); err != nil {
		return fmt.Errorf("incremental: %w", err)
	}
	if err := r.memoryLarge(ctx); err != nil {
		return fmt.Errorf("memory: %w", err)
	}
	r.report.finish(time.Since(start))
	return nil
}

// newDir makes a fresh directory under the work dir.
func (r *runner) newDir(name string) (string, error) {
	dir := filepath.Join(r.work, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("bench: %w", err)
	}
	return dir, nil
}
