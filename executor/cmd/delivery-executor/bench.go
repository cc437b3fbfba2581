package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/bench"
)

// runBench runs the benchmarks of executor/bench: a local cloud and an
// executor started from this same binary as separate processes.
func runBench(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == bench.NaiveExportCommand {
		// The bench's own child process: the naive export baseline.
		return bench.NaiveExportMain(args[1:], os.Stdin, stdout, stderr)
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	quick := fs.Bool("quick", false, "run every scenario at a size that finishes in under a minute")
	asJSON := fs.Bool("json", false, "print one JSON document on stdout instead of a table")
	rows := fs.Int("rows", 0, "override the full sync's table size")
	largeRows := fs.Int("large-rows", 0, "override the memory scenario's large table size")
	rate := fs.Int("rate", 0, "override the incremental write rate (rows/s)")
	duration := fs.Duration("duration", 0, "override how long the incremental scenario writes")
	rampTrials := fs.Int("ramp-trials", -1, "override how many trials look for the highest sustained incremental rate (0: none)")
	rampDuration := fs.Duration("ramp-duration", 0, "override how long each ramp trial writes")
	ceilingRows := fs.Int("ceiling-rows", 0, "override the size of the write-ceiling loads before and after the ramp")
	var executorEnv repeatedFlag
	fs.Var(&executorEnv, "executor-env", "KEY=VALUE added to the executors' environment, e.g. GOMEMLIMIT=200MiB (repeatable)")
	workDir := fs.String("work-dir", "", "directory for the processes' data and logs (default: a temporary directory, removed afterwards)")
	// The bench's own profiles (its writers and verifier share the cores
	// with the processes it measures). A flag only: DELIVERY_PPROF_LISTEN in
	// the environment is the local cloud's, which inherits it.
	var profiles pprofListen
	fs.StringVar(&profiles.addr, "pprof-listen", "", "loopback address serving the bench process's own Go profiles under /debug/pprof/; default: off")
	if ok, code := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if log, err := newLogger(stderr, "info"); err != nil {
		fmt.Fprintln(stderr, "delivery-executor bench:", err)
		return 2
	} else if _, err := profiles.start(log); err != nil {
		fmt.Fprintln(stderr, "delivery-executor bench:", err)
		return 2
	}
	binary, err := os.Executable()
	if err != nil {
		fmt.Fprintln(stderr, "delivery-executor bench:", err)
		return 1
	}
	sizes := bench.FullSizes()
	if *quick {
		sizes = bench.QuickSizes()
	}
	for _, o := range []struct {
		dst *int
		v   int
	}{{&sizes.FullSyncRows, *rows}, {&sizes.MemoryLargeRows, *largeRows}, {&sizes.IncrementalRate, *rate}, {&sizes.WriteCeilingRows, *ceilingRows}} {
		if o.v > 0 {
			*o.dst = o.v
		}
	}
	if *duration > 0 {
		sizes.IncrementalDuration = *duration
	}
	if *rampTrials >= 0 {
		sizes.RampTrials = *rampTrials
	}
	if *rampDuration > 0 {
		sizes.RampTrialDuration = *rampDuration
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	report, err := bench.Run(ctx, bench.Config{
		Binary: binary, Sizes: sizes, WorkDir: *workDir, KeepWorkDir: *workDir != "",
		ExecutorEnv: executorEnv, Progress: stderr,
	})
	if err != nil {
		fmt.Fprintln(stderr, "delivery-executor bench:", err)
		return 1
	}
	if *asJSON {
		err = report.WriteJSON(stdout)
	} else {
		err = report.WriteTable(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "delivery-executor bench:", err)
		return 1
	}
	return 0
}

// repeatedFlag collects every occurrence of a flag.
type repeatedFlag []string

func (f *repeatedFlag) String() string { return strings.Join(*f, ",") }

func (f *repeatedFlag) Set(v string) error {
	if !strings.Contains(v, "=") {
		return fmt.Errorf("%q is not KEY=VALUE", v)
	}
	*f = append(*f, v)
	return nil
}
