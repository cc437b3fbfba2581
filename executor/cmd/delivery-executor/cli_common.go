package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/client"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/ui"
)

// The command line reads the executor address and token from the same
// environment variables as the Terraform provider.
const (
	envEndpoint = "TABLESTORE_DELIVERY_ENDPOINT"
	envToken    = "TABLESTORE_DELIVERY_TOKEN"
)

// cliConfig holds the flags every client subcommand shares.
type cliConfig struct {
	endpoint string
	token    string
	timeout  time.Duration
}

func (c *cliConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.endpoint, "endpoint", envOr(envEndpoint, "http://127.0.0.1:8470"), "executor API URL (env "+envEndpoint+")")
	fs.StringVar(&c.token, "token", envOr(envToken, devAPIToken), "executor API token (env "+envToken+")")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Second, "time limit of the whole command")
}

func (c *cliConfig) client() (*client.Client, error) {
	return client.New(c.endpoint, c.token, client.WithUserAgent("delivery-executor-cli/"+version),
		client.WithRetries(2, 100*time.Millisecond, time.Second))
}

// parseCLI parses flags that may come before, between or after the positional
// arguments (`tasks describe orders/lake --endpoint ...` reads naturally), and
// checks the number of positional arguments.
func parseCLI(fs *flag.FlagSet, args []string, stderr io.Writer, minArgs, maxArgs int, argsUsage string) (positional []string, ok bool, code int) {
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: delivery-executor %s [flags] %s\n\nflags:\n", fs.Name(), argsUsage)
		fs.PrintDefaults()
	}
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, false, 0
			}
			return nil, false, 2
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(positional) < minArgs || len(positional) > maxArgs {
		fmt.Fprintf(stderr, "delivery-executor %s: expected %s, got %q\n", fs.Name(), argsUsage, positional)
		fs.Usage()
		return nil, false, 2
	}
	return positional, true, 0
}

// cliContext bounds a command by its timeout and by SIGINT/SIGTERM.
func cliContext(timeout time.Duration) (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	if timeout <= 0 {
		return ctx, stop
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	return ctx, func() { cancel(); stop() }
}

// cliError prints an error of a client command the way a person wants to
// read it and returns the exit code.
func cliError(stderr io.Writer, command string, err error) int {
	var apiErr *client.APIError
	switch {
	case client.IsUnauthenticated(err):
		fmt.Fprintf(stderr, "delivery-executor %s: the executor rejected the token (set --token or %s)\n", command, envToken)
	case errors.As(err, &apiErr):
		fmt.Fprintf(stderr, "delivery-executor %s: %s (%s)\n", command, apiErr.Message, apiErr.Code)
	default:
		fmt.Fprintf(stderr, "delivery-executor %s: %v\n", command, err)
	}
	return 1
}

// splitTaskID accepts "<table>/<name>" (the Terraform import id) or the two
// parts as separate arguments.
func splitTaskID(args []string) (table, name string, err error) {
	if len(args) == 2 {
		return args[0], args[1], nil
	}
	table, name, ok := strings.Cut(args[0], "/")
	if !ok || table == "" || name == "" || strings.Contains(name, "/") {
		return "", "", fmt.Errorf("task %q: want <table>/<name>", args[0])
	}
	return table, name, nil
}

// fetchPageStatus reads the status page's JSON (full-sync estimates and lag
// history). It is optional: an executor without the page answers 404 and the
// caller goes on without estimates.
func fetchPageStatus(ctx context.Context, endpoint, token string) (*ui.Status, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(endpoint, "/")+"/ui/status.json", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /ui/status.json: status %d", resp.StatusCode)
	}
	var s ui.Status
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return nil, fmt.Errorf("decode /ui/status.json: %w", err)
	}
	return &s, nil
}
