package pipeline

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
	"github.com/tablestore-delivery/terraform-provider-tablestore/internal/testsupport"
)

// TestE2EStreamExpiredShowsTheCodeAndHowToRecover runs an incremental task
// on a local cloud whose change log is kept 2 s, stops the executor, writes
// rows and waits past the retention: the restarted executor's stream
// channel meets the real service's trimmed-data answer, and the task shows
// StreamExpired with how to recover, while what was delivered before stays
// delivered exactly once.
func TestE2EStreamExpiredShowsTheCodeAndHowToRecover(t *testing.T) {
	dir := t.TempDir()
	c := startCloudWith(t, dir+"/cloud", func(cfg *localcloud.Config) { cfg.StreamRetention = 2 * time.Second })
	defer c.close()
	ex := startExecutor(t, dir+"/exec", c, nil)
	ex.putRole()
	c.createBucket("lake")
	c.createTable("x")
	ex.createTask(task.Spec{Name: "x-lake", Table: "x", Bucket: "lake", Prefix: "x", SyncMode: task.SyncIncremental,
		Columns: e2eColumns, FlushIntervalSeconds: 1})
	c.putRows("x", idRange(0, 50), e2eRow)
	waitDelivered := func(want int) {
		testsupport.WaitFor(t, 60*time.Second, fmt.Sprintf("%d rows delivered once", want), func() string {
			counts := idCounts(dataRows(t, c.objects("lake", "x/")))
			for id, n := range counts {
				if n != 1 {
					return fmt.Sprintf("id %d delivered %d times", id, n)
				}
			}
			if len(counts) != want {
				return fmtCounts(counts, want)
			}
			return ""
		})
	}
	waitDelivered(50)
	ex.close()

	c.putRows("x", idRange(50, 80), e2eRow) // read by nobody within the retention
	time.Sleep(3 * time.Second)
	ex = startExecutor(t, dir+"/exec", c, nil)
	defer ex.close()
	tk, err := ex.reg.GetTask(context.Background(), "x", "x-lake")
	if err != nil {
		t.Fatal(err)
	}
	if err := ex.mgr.Start(context.Background(), tk); err != nil {
		t.Fatal(err)
	}
	testsupport.WaitFor(t, 90*time.Second, "StreamExpired", func() string {
		st := ex.status("x", "x-lake")
		if st.ErrorCode != task.ErrStreamExpired {
			return fmt.Sprintf("error code %q (%s)", st.ErrorCode, st.ErrorDetail)
		}
		if !strings.Contains(st.ErrorDetail, "delete the task and create it again") {
			return "detail does not say how to recover: " + st.ErrorDetail
		}
		return ""
	})
	counts := idCounts(dataRows(t, c.objects("lake", "x/")))
	for id, n := range counts {
		if n != 1 || id >= 80 {
			t.Fatalf("after expiry: id %d delivered %d times", id, n)
		}
	}
	if len(counts) < 50 {
		t.Fatalf("rows delivered before the expiry went missing: %s", fmtCounts(counts, 50))
	}
}
