package pipeline

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"

	"github.com/tablestore-delivery/terraform-provider-tablestore/internal/testsupport"
)

// recordsBuffered sums delivery_pipeline_records_total{outcome="buffered"}.
func (e *executor) recordsBuffered() float64 {
	mfs, err := e.prom.Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	var n float64
	for _, mf := range mfs {
		if mf.GetName() != "delivery_pipeline_records_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == "buffered" {
					n += m.GetCounter().GetValue()
				}
			}
		}
	}
	return n
}

// appendColumns does what the API does for a PATCH appending columns: the
// spec and the resolved columns grow, then the Manager gets the task.
func (e *executor) appendColumns(table, name string, flushSeconds int, cols ...task.Column) {
	e.t.Helper()
	ctx := context.Background()
	updated, err := e.reg.UpdateTask(ctx, table, name, func(t *task.Task) error {
		t.Columns = append(t.Columns, cols...)
		t.Status.ResolvedColumns = task.AppendResolved(t.Status.ResolvedColumns, cols, time.Now().UTC())
		t.FlushIntervalSeconds = flushSeconds
		t.UpdatedAt = time.Now().UTC()
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.mgr.Update(ctx, updated); err != nil {
		e.t.Fatalf("update: %v", err)
	}
}

// Columns appended to a running task: rows read before the change are
// written (by the drain) with the old columns, rows read after it with the
// new ones; every row is delivered once and no object is rewritten.
func TestE2EAppendColumnsToRunningTask(t *testing.T) {
	dir := t.TempDir()
	c := startCloud(t, dir+"/cloud")
	defer c.close()
	ex := startExecutor(t, dir+"/exec", c, nil)
	defer ex.close()
	ex.putRole()
	c.createBucket("lake")
	c.createTable("grow")
	withNote := func(id int64) map[string]any {
		return map[string]any{"name": fmt.Sprintf("name-%d", id), "note": fmt.Sprintf("note-%d", id)}
	}
	// A long flush interval: the first rows stay buffered until the change.
	ex.createTask(task.Spec{Name: "grow", Table: "grow", Bucket: "lake", Prefix: "grow",
		SyncMode: task.SyncIncremental, Columns: e2eColumns[:2], FlushIntervalSeconds: 3600})
	c.putRows("grow", idRange(0, 20), withNote)
	testsupport.WaitFor(t, 30*time.Second, "first rows buffered", func() string {
		if n := ex.recordsBuffered(); n < 20 {
			return fmt.Sprintf("%v buffered", n)
		}
		return ""
	})
	if n := len(c.objects("lake", "grow/")); n != 0 {
		t.Fatalf("%d objects before the change; the test needs the rows buffered", n)
	}
	ex.appendColumns("grow", "grow", 1, task.Column{Source: "note", Name: "note", Type: task.TypeUTF8, Encoding: task.EncodingPlain})
	firstGen := c.objects("lake", "grow/")
	if len(firstGen) == 0 {
		t.Fatal("the change did not drain the buffered rows")
	}
	c.putRows("grow", idRange(20, 40), withNote)
	testsupport.WaitFor(t, 30*time.Second, "second rows", func() string {
		if n := len(dataRows(t, c.objects("lake", "grow/"))); n != 40 {
			return fmt.Sprintf("%d rows", n)
		}
		return ""
	})
	objs := c.objects("lake", "grow/")
	for key, data := range firstGen {
		if string(objs[key]) != string(data) {
			t.Errorf("object %s was rewritten", key)
		}
	}
	rows := dataRows(t, objs)
	if counts := idCounts(rows); len(counts) != 40 {
		t.Fatalf("%s", fmtCounts(counts, 40))
	} else {
		for id, n := range counts {
			if n != 1 {
				t.Errorf("row %d delivered %d times", id, n)
			}
		}
	}
	for _, r := range rows {
		id := r["id"].(int64)
		note, has := r["note"]
		if b, ok := note.([]byte); ok {
			note = string(b)
		}
		switch {
		case id < 20 && has:
			t.Errorf("row %d, read before the change, was written with the new column (%v) in %s", id, note, r["__key"])
		case id >= 20 && note != fmt.Sprintf("note-%d", id):
			t.Errorf("row %d, read after the change: note = %v in %s", id, note, r["__key"])
		}
	}
	checkObjectNames(t, objs, "grow")
}
