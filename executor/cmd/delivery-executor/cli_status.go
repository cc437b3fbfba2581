package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

func runStatus(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	var cfg cliConfig
	cfg.register(fs)
	table := fs.String("table", "", "only the tasks of this table")
	watch := fs.Duration("watch", 0, "print the status again at this interval until interrupted (e.g. 2s)")
	if _, ok, code := parseCLI(fs, args, stderr, 0, 0, ""); !ok {
		return code
	}
	c, err := cfg.client()
	if err != nil {
		return cliError(stderr, fs.Name(), err)
	}
	timeout := cfg.timeout
	if *watch > 0 {
		timeout = 0 // until interrupted
	}
	ctx, cancel := cliContext(timeout)
	defer cancel()
	for {
		tasks, err := c.ListTasks(ctx, *table)
		if err != nil {
			if *watch > 0 && ctx.Err() != nil {
				return 0
			}
			return cliError(stderr, fs.Name(), err)
		}
		// The estimates of full syncs come from the status page; without it
		// the bar is replaced by the delivered rows.
		estimates := map[string]*int64{}
		pageCtx, pageCancel := context.WithTimeout(ctx, 5*time.Second)
		if page, err := fetchPageStatus(pageCtx, cfg.endpoint, cfg.token); err == nil {
			for _, v := range page.Tasks {
				estimates[v.ID] = v.EstimatedRows
			}
		}
		pageCancel()
		if *watch > 0 {
			fmt.Fprintf(stdout, "── %s\n", time.Now().UTC().Format(time.RFC3339))
		}
		printStatus(stdout, tasks, estimates, time.Now())
		if *watch <= 0 {
			return 0
		}
		select {
		case <-ctx.Done():
			return 0
		case <-time.After(*watch):
		}
	}
}

// printStatus writes one block per task: phase, lag and error, a progress
// bar during a full sync, and the counters.
func printStatus(w io.Writer, tasks []task.Task, estimates map[string]*int64, now time.Time) {
	if len(tasks) == 0 {
		fmt.Fprintln(w, "no tasks")
		return
	}
	for _, t := range tasks {
		lag := "-"
		if t.Status.CurrentSyncTimestampNs > 0 {
			lag = formatLag(now.Sub(time.Unix(0, t.Status.CurrentSyncTimestampNs)))
		}
		errText := "-"
		if t.Status.ErrorCode != "" {
			errText = string(t.Status.ErrorCode) + ": " + t.Status.ErrorDetail
		}
		fmt.Fprintf(w, "%s  phase %s  lag %s  error %s\n", t.ID(), t.Status.Phase, lag, errText)
		if t.Status.Phase == task.PhaseFull || t.Status.Phase == task.PhaseInit {
			if est := estimates[t.ID()]; est != nil && *est > 0 {
				fmt.Fprintf(w, "  full sync %s %5.1f%%  %s of ~%s rows\n", progressBar(t.Status.RowsDelivered, *est, 30),
					percentOf(t.Status.RowsDelivered, *est), groupDigits(t.Status.RowsDelivered), groupDigits(*est))
			} else {
				fmt.Fprintf(w, "  full sync: %s rows delivered (table size not estimated yet)\n", groupDigits(t.Status.RowsDelivered))
			}
		}
		fmt.Fprintf(w, "  rows %s  dirty %s  objects %s  bytes %s  last synced %s\n",
			groupDigits(t.Status.RowsDelivered), groupDigits(t.Status.RowsDirty), groupDigits(t.Status.ObjectsWritten),
			groupDigits(t.Status.BytesWritten), formatTime(t.Status.LastSyncedAt))
	}
}

// progressBar draws done of total in width cells; it is full (never past)
// once done reaches the estimate, which rows written meanwhile can exceed.
func progressBar(done, total int64, width int) string {
	filled := width
	if total > 0 && done < total {
		// In floating point: width*done may overflow int64 for huge counts.
		filled = min(width, max(0, int(float64(width)*float64(done)/float64(total))))
	}
	return "[" + strings.Repeat("#", filled) + strings.Repeat(".", width-filled) + "]"
}

func percentOf(done, total int64) float64 {
	if total <= 0 {
		return 0
	}
	return min(100, 100*float64(done)/float64(total))
}

// groupDigits writes an integer with thousands separators.
func groupDigits(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + groupDigits(-n)
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}
