package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud"
)

// runLocal is `delivery-executor local`: the local cloud alone, the same as
// its own binary (executor/cmd/localcloud) plus --pprof-listen.
func runLocal(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("local", flag.ContinueOnError)
	var flags localCloudConfig
	flags.Register(fs)
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	var profiles pprofListen
	profiles.register(fs)
	if ok, code := parseFlags(fs, args, stderr); !ok {
		return code
	}
	log, err := newLogger(stderr, *logLevel)
	if err == nil {
		err = flags.Validate()
	}
	if err == nil {
		_, err = profiles.start(log)
	}
	var cfg localcloud.Config
	if err == nil {
		cfg, err = flags.Config(log)
	}
	if err != nil {
		fmt.Fprintln(stderr, "delivery-executor local:", err)
		return 2
	}
	flags.LogCredentials(log)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := localcloud.Run(ctx, cfg, stdout); err != nil {
		fmt.Fprintln(stderr, "delivery-executor local:", err)
		return 1
	}
	return 0
}
