package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/client"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

const tasksUsage = `usage: delivery-executor tasks <list|describe|delete> [flags]

  tasks list [--table T] [--json]        every task with its phase, counters and error
  tasks describe <table>/<name> [--json] one task: specification and status
  tasks delete <table>/<name> [--wait D] stop a task's pipeline and delete it (delivered objects stay)

Flags of every subcommand: --endpoint (env ` + envEndpoint + `), --token (env ` + envToken + `).
`

func runTasks(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, tasksUsage)
		return 2
	}
	switch args[0] {
	case "list":
		return runTasksList(args[1:], stdout, stderr)
	case "describe":
		return runTasksDescribe(args[1:], stdout, stderr)
	case "delete":
		return runTasksDelete(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, tasksUsage)
		return 0
	default:
		fmt.Fprintf(stderr, "delivery-executor tasks: unknown subcommand %q\n\n%s", args[0], tasksUsage)
		return 2
	}
}

func runTasksList(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tasks list", flag.ContinueOnError)
	var cfg cliConfig
	cfg.register(fs)
	table := fs.String("table", "", "only the tasks of this table")
	asJSON := fs.Bool("json", false, "print the tasks as JSON")
	if _, ok, code := parseCLI(fs, args, stderr, 0, 0, ""); !ok {
		return code
	}
	c, err := cfg.client()
	if err != nil {
		return cliError(stderr, fs.Name(), err)
	}
	ctx, cancel := cliContext(cfg.timeout)
	defer cancel()
	tasks, err := c.ListTasks(ctx, *table)
	if err != nil {
		return cliError(stderr, fs.Name(), err)
	}
	if *asJSON {
		return printJSON(stdout, stderr, task.TaskList{Tasks: tasks})
	}
	if len(tasks) == 0 {
		fmt.Fprintln(stdout, "no tasks")
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tNAME\tMODE\tPHASE\tROWS\tOBJECTS\tLAST SYNCED\tERROR")
	for _, t := range tasks {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", t.Table, t.Name, t.SyncMode, t.Status.Phase,
			t.Status.RowsDelivered, t.Status.ObjectsWritten, formatTime(t.Status.LastSyncedAt), dash(string(t.Status.ErrorCode)))
	}
	_ = tw.Flush()
	return 0
}

func runTasksDescribe(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tasks describe", flag.ContinueOnError)
	var cfg cliConfig
	cfg.register(fs)
	asJSON := fs.Bool("json", false, "print the task as JSON")
	pos, ok, code := parseCLI(fs, args, stderr, 1, 2, "<table>/<name>")
	if !ok {
		return code
	}
	table, name, err := splitTaskID(pos)
	if err != nil {
		fmt.Fprintf(stderr, "delivery-executor %s: %v\n", fs.Name(), err)
		return 2
	}
	c, err := cfg.client()
	if err != nil {
		return cliError(stderr, fs.Name(), err)
	}
	ctx, cancel := cliContext(cfg.timeout)
	defer cancel()
	t, err := c.GetTask(ctx, table, name)
	if err != nil {
		return cliError(stderr, fs.Name(), err)
	}
	if *asJSON {
		return printJSON(stdout, stderr, t)
	}
	describeTask(stdout, *t)
	return 0
}

// describeTask prints a task as aligned "field: value" lines.
func describeTask(w io.Writer, t task.Task) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	line := func(k string, v any) { fmt.Fprintf(tw, "%s:\t%v\n", k, v) }
	line("id", t.ID())
	line("table", t.Table)
	line("name", t.Name)
	line("region", t.Region)
	line("destination", "oss://"+t.Bucket+"/"+t.Prefix)
	line("time zone", dash(t.TimeZone))
	line("sync mode", t.SyncMode)
	line("role", t.RoleARN)
	line("format", t.Format+" ("+string(t.Compression)+")")
	line("schema mode", t.SchemaMode)
	if t.EventTimeColumn != nil {
		line("event time column", t.EventTimeColumn.Name+" ("+string(t.EventTimeColumn.Format)+")")
	}
	line("dirty prefix", dash(t.DirtyPrefix))
	line("flush", fmt.Sprintf("every %ds or at %d MiB", t.FlushIntervalSeconds, t.TargetObjectSizeMB))
	line("created", t.CreatedAt.UTC().Format(time.RFC3339))
	line("phase", t.Status.Phase)
	line("last synced", formatTime(t.Status.LastSyncedAt))
	if t.Status.CurrentSyncTimestampNs > 0 {
		sync := time.Unix(0, t.Status.CurrentSyncTimestampNs).UTC()
		line("synced up to", sync.Format(time.RFC3339Nano)+" (lag "+formatLag(time.Since(sync))+")")
	}
	line("error", dash(strings.TrimSpace(string(t.Status.ErrorCode)+" "+t.Status.ErrorDetail)))
	line("rows delivered", t.Status.RowsDelivered)
	line("rows dirty", t.Status.RowsDirty)
	line("objects written", t.Status.ObjectsWritten)
	line("bytes written", t.Status.BytesWritten)
	_ = tw.Flush()
	fmt.Fprintln(w, "columns:")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, col := range t.Status.ResolvedColumns {
		added := ""
		if col.AddedAt != nil {
			added = "\tadded " + col.AddedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\tfrom %s%s\n", col.Name, col.Type, col.Encoding, col.Source, added)
	}
	_ = tw.Flush()
}

func runTasksDelete(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tasks delete", flag.ContinueOnError)
	var cfg cliConfig
	cfg.register(fs)
	wait := fs.Duration("wait", 0, "keep retrying this long while the task is initializing (409 TaskInitializing)")
	pos, ok, code := parseCLI(fs, args, stderr, 1, 2, "<table>/<name>")
	if !ok {
		return code
	}
	table, name, err := splitTaskID(pos)
	if err != nil {
		fmt.Fprintf(stderr, "delivery-executor %s: %v\n", fs.Name(), err)
		return 2
	}
	c, err := cfg.client()
	if err != nil {
		return cliError(stderr, fs.Name(), err)
	}
	ctx, cancel := cliContext(max(cfg.timeout, *wait+10*time.Second))
	defer cancel()
	deadline := time.Now().Add(*wait)
	for {
		err = c.DeleteTask(ctx, table, name)
		if !client.IsInitializing(err) || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return cliError(stderr, fs.Name(), ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
	if client.IsInitializing(err) {
		fmt.Fprintf(stderr, "delivery-executor %s: task %s/%s is still initializing; retry, or pass --wait 1m\n", fs.Name(), table, name)
		return 1
	}
	if err != nil {
		return cliError(stderr, fs.Name(), err)
	}
	fmt.Fprintf(stdout, "deleted task %s/%s (delivered objects stay in OSS)\n", table, name)
	return 0
}

func printJSON(stdout, stderr io.Writer, v any) int {
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		fmt.Fprintln(stderr, "delivery-executor: write JSON:", err)
		return 1
	}
	return 0
}

func formatTime(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

func formatLag(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	if d < time.Minute {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
