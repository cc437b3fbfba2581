package pipeline

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"

	"github.com/tablestore-delivery/terraform-provider-tablestore/internal/testsupport"
)

// With several executors sharing a registry, an executor whose own uploads
// are fine must not clear an error another executor is reporting until it
// has evidence that the destination works: an upload of its own. Before this
// rule the error code flapped between executors every status interval.
func TestStoredErrorClearsOnlyAfterAnOwnUpload(t *testing.T) {
	dir := t.TempDir()
	c := startCloud(t, dir+"/cloud")
	defer c.close()
	ex := startExecutor(t, dir+"/exec", c, nil)
	defer ex.close()
	ex.putRole()
	c.createBucket("lake")
	c.createTable("shared")
	ex.createTask(task.Spec{
		Name: "sh", Table: "shared", Bucket: "lake", Prefix: "sh",
		SyncMode: task.SyncIncremental, Columns: e2eColumns[:2], FlushIntervalSeconds: 1,
	})
	testsupport.WaitFor(t, 20*time.Second, "phase INCR", func() string {
		if st := ex.status("shared", "sh"); st.Phase != task.PhaseIncr {
			return string(st.Phase)
		}
		return ""
	})

	// Another executor reports that the bucket is invalid.
	ctx := context.Background()
	if err := ex.reg.UpdateStatus(ctx, "shared", "sh", func(s *task.Status) {
		s.SetError(task.ErrInvalidOssBucket, "seen by another executor")
	}); err != nil {
		t.Fatal(err)
	}
	// Several status publications of this executor, which has uploaded
	// nothing since, leave it alone.
	time.Sleep(1200 * time.Millisecond) // 6 status intervals of the test stack
	if st := ex.status("shared", "sh"); st.ErrorCode != task.ErrInvalidOssBucket {
		t.Fatalf("error cleared without an upload by this executor: %+v", st)
	}

	// An upload of its own is the evidence that clears it.
	c.putRows("shared", idRange(0, 5), e2eRow)
	testsupport.WaitFor(t, 20*time.Second, "error cleared after an own upload", func() string {
		st := ex.status("shared", "sh")
		if st.ErrorCode != task.ErrNone || st.RowsDelivered != 5 {
			return fmt.Sprintf("%+v", st)
		}
		return ""
	})
}
