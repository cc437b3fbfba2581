// Command delivery-executor runs the tablestore-delivery executor and the local
// cloud (a Tablestore-compatible and an OSS-compatible endpoint).
//
//	delivery-executor serve --embedded [--data-dir DIR]   executor API + local cloud in one process
//	delivery-executor local [--data-dir DIR]              the local cloud alone
//	delivery-executor tasks list|describe|delete          manage tasks of a running executor
//	delivery-executor roles list                          list delivery roles
//	delivery-executor status [--watch 2s]                 phase, lag, error and full-sync progress of every task
//
// This file holds the subcommand dispatch only; the wiring of each component
// lives beside it.
package main

import (
	"fmt"
	"io"
	"os"
)

const usage = `usage: delivery-executor <command> [flags]

commands:
  serve --embedded   run the executor API and the local cloud (Tablestore + OSS) in one process
  local              run only the local cloud (Tablestore + OSS endpoints) for your own code and tests
  tasks              list, describe or delete the delivery tasks of a running executor
  roles              list the delivery roles of a running executor
  status             every task's phase, lag, error and full-sync progress (--watch to follow)
  bench              benchmarks against same-run baselines (--quick, --json)
  version            print the version

Run 'delivery-executor <command> -h' for the flags of a command. The client
commands (tasks, roles, status) take --endpoint and --token, or the environment
variables TABLESTORE_DELIVERY_ENDPOINT and TABLESTORE_DELIVERY_TOKEN.
`

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return runServe(args[1:], stdout, stderr)
	case "local":
		return runLocal(args[1:], stdout, stderr)
	case "tasks":
		return runTasks(args[1:], stdout, stderr)
	case "roles":
		return runRoles(args[1:], stdout, stderr)
	case "status":
		return runStatus(args[1:], stdout, stderr)
	case "bench":
		return runBench(args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "delivery-executor", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "delivery-executor: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}
