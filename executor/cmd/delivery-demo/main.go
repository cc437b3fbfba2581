// Command delivery-demo is `make demo`: the whole product end to end on one
// machine, with nothing but Go installed.
//
//  1. builds the provider and the executor (and finds terraform or tofu on
//     PATH, or builds OpenTofu into ./bin),
//  2. starts `delivery-executor serve --embedded` on a fresh data dir with
//     free ports,
//  3. creates a sample "orders" table (realistic rows over several shards)
//     with the Tablestore SDK and the "lake" bucket with the OSS SDK,
//  4. applies examples/quickstart through the provider (a role and a
//     differential task with a Hive-style time-partitioned prefix),
//  5. shows the full sync's progress, then writes more rows and waits for the
//     incremental phase to deliver them,
//  6. prints the task status through the CLI and, beside it, the same task
//     through the Tablestore SDK's ListDeliveryTask and DescribeDeliveryTask
//     (the managed service's API, served by the local Tablestore endpoint),
//  7. prints the delivered objects (keys, sizes, row counts), the DDL
//     statement and a query over the delivered data (DuckDB whenever node
//     is installed: the pinned package is installed into tools/duckdb with
//     npm, as `make tools` does, when it is missing; a Go Parquet count
//     without node or npm) and checks that the counts match the source
//     table,
//  8. stops everything it started.
//
// It exits non-zero when any step fails or the counts differ, so CI runs it
// as a test (with fewer rows: DEMO_ROWS=20000).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

type options struct {
	rows      int
	extraRows int
	repoRoot  string
	terraform string
	keep      bool
	hold      bool
	timeout   time.Duration
	engine    string
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("delivery-demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opts options
	fs.IntVar(&opts.rows, "rows", envInt("DEMO_ROWS", 200_000), "rows in the sample table before the task starts (env DEMO_ROWS)")
	fs.IntVar(&opts.extraRows, "extra-rows", envInt("DEMO_EXTRA_ROWS", 0), "rows written during the incremental phase (default rows/10, at least 1000; env DEMO_EXTRA_ROWS)")
	fs.StringVar(&opts.repoRoot, "repo", "", "repository root (default: found from the working directory)")
	fs.StringVar(&opts.terraform, "terraform", os.Getenv("DEMO_TERRAFORM"), "terraform or tofu binary (default: terraform or tofu on PATH, else ./bin/tofu, built if missing; env DEMO_TERRAFORM)")
	fs.BoolVar(&opts.keep, "keep", false, "keep the temporary directory (data dir, Terraform state, downloaded objects)")
	fs.BoolVar(&opts.hold, "hold", false, "at the end, keep the executor running until Ctrl-C (to look at the status page)")
	fs.StringVar(&opts.engine, "query-engine", "auto", "how to query the delivered data: duckdb (needs node; installs tools/duckdb with npm when missing), parquet (pure Go), or auto (duckdb when possible)")
	fs.DurationVar(&opts.timeout, "timeout", 20*time.Minute, "time limit of the whole demo")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if opts.rows < 1 {
		fmt.Fprintln(stderr, "delivery-demo: --rows must be at least 1")
		return 2
	}
	if opts.engine != "auto" && opts.engine != "duckdb" && opts.engine != "parquet" {
		fmt.Fprintln(stderr, "delivery-demo: --query-engine must be auto, duckdb or parquet")
		return 2
	}
	if opts.extraRows <= 0 {
		opts.extraRows = max(opts.rows/10, 1000)
	}
	if opts.repoRoot == "" {
		root, err := findRepoRoot()
		if err != nil {
			fmt.Fprintln(stderr, "delivery-demo:", err)
			return 2
		}
		opts.repoRoot = root
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, opts.timeout)
	defer cancel()
	d := &demo{opts: opts, out: stdout, errOut: stderr}
	err := d.run(ctx)
	if cerr := d.cleanup(); cerr != nil && err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintf(stderr, "\ndelivery-demo: FAILED: %v\n", err)
		if d.executorLog != "" && !opts.keep {
			fmt.Fprintln(stderr, "(run with --keep to keep the executor log and data dir)")
		}
		return 1
	}
	return 0
}

func envInt(name string, fallback int) int {
	if v := os.Getenv(name); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return fallback
}

// findRepoRoot walks up from the working directory to the module root.
func findRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "examples", "quickstart", "main.tf")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("cannot find the repository root (with go.mod and examples/quickstart); run from the repository or pass --repo")
		}
		dir = parent
	}
}
