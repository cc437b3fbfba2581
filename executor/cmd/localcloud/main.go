// Command localcloud runs the local Alibaba Cloud on its own: a
// Tablestore-compatible endpoint (tables, rows, the Tunnel service) and an
// OSS-compatible endpoint that Alibaba's unmodified SDKs talk to over HTTP,
// for your own code and CI. It is the same local cloud that
// `delivery-executor local` and `delivery-executor serve --embedded` run.
//
//	localcloud [--data-dir DIR] [--tablestore-listen ADDR] [--oss-listen ADDR] ...
//
// On start it prints one line beginning "ready " with the endpoints' URLs;
// GET /healthz answers 200 on both. SIGINT or SIGTERM stops it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("localcloud", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var flags localcloud.Flags
	flags.Register(fs)
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "localcloud: unexpected arguments %q\n", fs.Args())
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintln(stderr, "localcloud: --log-level:", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if err := flags.Validate(); err != nil {
		fmt.Fprintln(stderr, "localcloud:", err)
		return 2
	}
	cfg, err := flags.Config(log)
	if err != nil {
		fmt.Fprintln(stderr, "localcloud:", err)
		return 2
	}
	flags.LogCredentials(log)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := localcloud.Run(ctx, cfg, stdout); err != nil {
		fmt.Fprintln(stderr, "localcloud:", err)
		return 1
	}
	return 0
}
