package pipeline

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"

	"github.com/tablestore-delivery/terraform-provider-tablestore/internal/testsupport"
)

// A task in Europe/Berlin partitions by Berlin wall-clock time, for the
// event time column across the spring-forward transition (2021-03-28
// 01:00 UTC: 02:00 CET becomes 03:00 CEST) and for the write time alike.
func TestE2ETimeZonePartitions(t *testing.T) {
	dir := t.TempDir()
	c := startCloud(t, dir+"/cloud")
	defer c.close()
	ex := startExecutor(t, dir+"/exec", c, nil)
	defer ex.close()
	ex.putRole()
	c.createBucket("lake")
	c.createTable("ev")
	c.createTable("wt")
	cols := append(append([]task.Column{}, e2eColumns[:2]...), task.Column{Source: "ts", Name: "ts", Type: task.TypeUTF8})
	ex.createTask(task.Spec{
		Name: "ev-berlin", Table: "ev", Bucket: "lake", Prefix: "ev/$yyyy/$MM/$dd/$HH/$mm",
		SyncMode: task.SyncIncremental, Columns: cols, FlushIntervalSeconds: 1, TimeZone: "Europe/Berlin",
		EventTimeColumn: &task.EventTimeColumn{Name: "ts", Format: task.TimeRFC3339},
	})
	// Kathmandu is UTC+5:45: its hour and minute folders differ from UTC's.
	ex.createTask(task.Spec{
		Name: "wt-kathmandu", Table: "wt", Bucket: "lake", Prefix: "wt/$yyyy/$MM/$dd/$HH/$mm",
		SyncMode: task.SyncIncremental, Columns: e2eColumns[:2], FlushIntervalSeconds: 1, TimeZone: "Asia/Kathmandu",
	})
	// Event times before (00:30 UTC) and after (01:30 UTC) the transition,
	// and one in UTC+08:00 notation that is 00:45 UTC.
	eventTimes := map[int64]struct{ ts, folder string }{
		0: {"2021-03-28T00:30:00Z", "ev/2021/03/28/01/30/"},
		1: {"2021-03-28T01:30:00Z", "ev/2021/03/28/03/30/"},
		2: {"2021-03-28T08:45:00+08:00", "ev/2021/03/28/01/45/"},
		3: {"2021-07-01T22:10:00Z", "ev/2021/07/02/00/10/"},
	}
	c.putRows("ev", idRange(0, 4), func(id int64) map[string]any {
		return map[string]any{"name": fmt.Sprint(id), "ts": eventTimes[id].ts}
	})
	kathmandu, err := time.LoadLocation("Asia/Kathmandu")
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	c.putRows("wt", idRange(0, 5), e2eRow)
	after := time.Now()

	testsupport.WaitFor(t, 30*time.Second, "event time rows", func() string {
		if n := len(dataRows(t, c.objects("lake", "ev/"))); n != len(eventTimes) {
			return fmt.Sprintf("%d rows", n)
		}
		return ""
	})
	for _, r := range dataRows(t, c.objects("lake", "ev/")) {
		id := r["id"].(int64)
		if key := r["__key"].(string); !strings.HasPrefix(key, eventTimes[id].folder+"ev-berlin_") {
			t.Errorf("row %d (event time %s) in %s, want under %s", id, eventTimes[id].ts, key, eventTimes[id].folder)
		}
	}

	testsupport.WaitFor(t, 30*time.Second, "write time rows", func() string {
		if n := len(dataRows(t, c.objects("lake", "wt/"))); n != 5 {
			return fmt.Sprintf("%d rows", n)
		}
		return ""
	})
	// The write time lies between before and after (to the minute).
	allowed := map[string]bool{}
	for at := before.Truncate(time.Minute); !at.After(after); at = at.Add(time.Minute) {
		allowed[at.In(kathmandu).Format("wt/2006/01/02/15/04/")] = true
	}
	for _, r := range dataRows(t, c.objects("lake", "wt/")) {
		key := r["__key"].(string)
		if folder := key[:len("wt/2006/01/02/15/04/")]; !allowed[folder] {
			t.Errorf("row %v in %s, want one of the Asia/Kathmandu folders %v", r["id"], key, allowed)
		}
	}
}
