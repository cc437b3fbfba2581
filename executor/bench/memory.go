package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// memoryLarge runs the full sync of the large table on a fresh executor and
// reads its peak RSS; the small figure is the full-sync scenario's.
func (r *runner) memoryLarge(ctx context.Context) error {
	if err := r.exec.stop(); err != nil {
		return err
	}
	n := r.sizes.MemoryLargeRows
	r.progress("memory: loading %d rows into %q", n, largeTable)
	if _, err := r.cloud.load(ctx, largeTable, 0, n, r.sizes.EventHours); err != nil {
		return err
	}
	ex, err := r.startExecutor(ctx, "executor-2")
	if err != nil {
		return err
	}
	r.progress("memory: full sync of %d rows on a fresh executor", n)
	spec := taskSpec("large", largeTable, ex.roleARN, 120*time.Second, r.sizes.TargetObjectSizeMB)
	start := time.Now()
	if _, err := ex.api.CreateTask(ctx, spec); err != nil {
		return fmt.Errorf("bench: create task: %w", err)
	}
	if _, err := ex.waitTask(ctx, largeTable, spec.Name, 200*time.Millisecond, 2*time.Hour, func(s task.Status) bool {
		return s.RowsDelivered >= int64(n)
	}); err != nil {
		return err
	}
	m := &r.report.MemoryGrowth
	m.RowsLarge = n
	m.LargeFullSyncSeconds = time.Since(start).Seconds()
	if m.RSSLarge, err = ex.peakRSS(); err != nil {
		return err
	}
	return ex.stop()
}
