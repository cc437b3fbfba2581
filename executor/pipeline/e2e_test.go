package pipeline

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"

	"github.com/tablestore-delivery/terraform-provider-tablestore/internal/testsupport"
)

var e2eColumns = []task.Column{
	{Source: "id", Name: "id", Type: task.TypeInt64},
	{Source: "name", Name: "name", Type: task.TypeUTF8},
	{Source: "price", Name: "price", Type: task.TypeDouble},
	{Source: "ok", Name: "ok", Type: task.TypeBool},
	{Source: "blob", Name: "blob", Type: task.TypeBinary},
}

func e2eRow(id int64) map[string]any {
	return map[string]any{
		"name":  fmt.Sprintf("name-%d", id),
		"price": float64(id) * 1.5,
		"ok":    id%2 == 0,
		"blob":  []byte{byte(id), byte(id >> 8)},
	}
}

func idRange(from, to int64) []int64 {
	out := make([]int64, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

var objectNameRE = regexp.MustCompile(`^(.+)/([a-z0-9-]+)_(\d+)_([A-Za-z0-9_=.-]+)__(\d+)$`)

// checkObjectNames checks each key against the naming rule and returns the
// ConcurrentIDs seen; SequenceIDs of each writer must be 1..n.
func checkObjectNames(t *testing.T, objs map[string][]byte, taskName string) map[string]bool {
	t.Helper()
	seqs := map[string][]int{}
	ids := map[string]bool{}
	for key := range objs {
		m := objectNameRE.FindStringSubmatch(key)
		if m == nil {
			t.Errorf("object %q does not follow <prefix>/<task>_<id>_<prefix_>__<seq>", key)
			continue
		}
		if m[2] != taskName {
			t.Errorf("object %q: task %q", key, m[2])
		}
		if want := strings.ReplaceAll(m[1], "/", "_"); m[4] != want {
			t.Errorf("object %q: prefix part %q, want %q", key, m[4], want)
		}
		ids[m[3]] = true
		var seq int
		fmt.Sscan(m[5], &seq)
		seqs[m[3]] = append(seqs[m[3]], seq)
	}
	for id, list := range seqs {
		seen := map[int]bool{}
		for _, s := range list {
			if seen[s] {
				t.Errorf("writer %s: SequenceID %d used twice", id, s)
			}
			seen[s] = true
		}
		for s := 1; s <= len(list); s++ {
			if !seen[s] {
				t.Errorf("writer %s: SequenceIDs %v are not 1..%d", id, list, len(list))
				break
			}
		}
	}
	return ids
}

func TestE2EDifferentialFourShards(t *testing.T) {
	dir := t.TempDir()
	c := startCloud(t, dir+"/cloud")
	defer c.close()
	ex := startExecutor(t, dir+"/exec", c, nil)
	defer ex.close()
	ex.putRole()
	c.createBucket("lake")
	c.createTable("orders")
	// Before the task: base data.
	c.putRows("orders", idRange(0, 400), e2eRow)

	ex.createTask(task.Spec{
		Name: "orders-lake", Table: "orders", Bucket: "lake",
		Prefix: "orders/year=$yyyy/month=$MM/day=$dd", SyncMode: task.SyncDifferential,
		Columns: e2eColumns, DirtyPrefix: "dirty/$yyyy", FlushIntervalSeconds: 1, Compression: task.CompressionZstd,
	})
	// During and after the base phase: stream data, an update that sets
	// only some columns, a delete (ignored) and a dirty row.
	c.putRows("orders", idRange(400, 600), e2eRow)
	c.updateRow("orders", 1000, map[string]any{"name": "partial"})
	c.deleteRow("orders", 5)
	c.putRows("orders", []int64{2000}, func(int64) map[string]any { return map[string]any{"price": "not-a-double"} })

	testsupport.WaitFor(t, 60*time.Second, "all rows delivered", func() string {
		rows := dataRows(t, c.objects("lake", "orders/"))
		counts := idCounts(rows)
		if len(rows) != 601 || len(counts) != 601 {
			return fmt.Sprintf("%d rows, %d distinct ids", len(rows), len(counts))
		}
		if n := len(c.objects("lake", "dirty/")); n != 1 {
			return fmt.Sprintf("%d dirty objects", n)
		}
		return ""
	})
	objs := c.objects("lake", "orders/")
	rows := dataRows(t, objs)
	counts := idCounts(rows)
	for id := int64(0); id < 600; id++ {
		if counts[id] != 1 {
			t.Fatalf("id %d delivered %d times", id, counts[id])
		}
	}
	today := time.Now().UTC()
	wantPrefix := fmt.Sprintf("orders/year=%04d/month=%02d/day=%02d/orders-lake_", today.Year(), int(today.Month()), today.Day())
	for _, r := range rows {
		key := r["__key"].(string)
		if !strings.HasPrefix(key, wantPrefix) {
			t.Errorf("object %s not under %s", key, wantPrefix)
		}
		id := r["id"].(int64)
		if id == 1000 {
			if string(r["name"].([]byte)) != "partial" || r["price"] != nil || r["ok"] != nil || r["blob"] != nil {
				t.Errorf("partial update row: %v", r)
			}
			continue
		}
		want := e2eRow(id)
		if string(r["name"].([]byte)) != want["name"] || r["price"] != want["price"] || r["ok"] != want["ok"] ||
			!bytes.Equal(r["blob"].([]byte), want["blob"].([]byte)) {
			t.Errorf("row %d: got %v want %v", id, r, want)
		}
	}
	writers := checkObjectNames(t, objs, "orders-lake")
	for _, id := range []string{"0", "1", "2", "3"} {
		if !writers[id] {
			t.Errorf("no object from ConcurrentID %s (writers %v)", id, writers)
		}
	}
	// The dirty row is counted and written with its reason.
	dirty := c.objects("lake", "dirty/")
	if len(dirty) != 1 {
		t.Fatalf("dirty objects: %d", len(dirty))
	}
	for key, data := range dirty {
		if !strings.HasPrefix(key, fmt.Sprintf("dirty/%04d/orders-lake_", today.Year())) {
			t.Errorf("dirty object key %s", key)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		n := 0
		for sc.Scan() {
			n++
			var d struct {
				Column string         `json:"column"`
				Reason string         `json:"reason"`
				Row    map[string]any `json:"row"`
			}
			if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
				t.Fatalf("dirty line %q: %v", sc.Text(), err)
			}
			if d.Column != "price" || !strings.Contains(d.Reason, "expected DOUBLE, found STRING") || d.Row["id"] != float64(2000) {
				t.Errorf("dirty line %+v", d)
			}
		}
		if n != 1 {
			t.Errorf("dirty lines %d", n)
		}
	}
	testsupport.WaitFor(t, 20*time.Second, "status", func() string {
		st := ex.status("orders", "orders-lake")
		if st.Phase != task.PhaseIncr || st.RowsDelivered != 601 || st.RowsDirty != 1 ||
			st.ObjectsWritten != int64(len(objs)+1) || st.LastSyncedAt == nil || st.CurrentSyncTimestampNs == 0 || st.ErrorCode != "" {
			return fmt.Sprintf("%+v (objects %d)", st, len(objs)+1)
		}
		return ""
	})
	var bytesWritten int64
	for _, d := range objs {
		bytesWritten += int64(len(d))
	}
	for _, d := range dirty {
		bytesWritten += int64(len(d))
	}
	if st := ex.status("orders", "orders-lake"); st.BytesWritten != bytesWritten {
		t.Errorf("bytes_written %d, objects hold %d", st.BytesWritten, bytesWritten)
	}
	// Progress and lag per channel are exported.
	mfs, err := ex.prom.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, mf := range mfs {
		found[mf.GetName()] = true
	}
	for _, name := range []string{"delivery_pipeline_records_total", "delivery_pipeline_channel_lag_seconds", "delivery_pipeline_channel_durable_timestamp_seconds", "delivery_pipeline_objects_total"} {
		if !found[name] {
			t.Errorf("metric %s not exported", name)
		}
	}
	// Stop deletes the tunnel, never the objects.
	if err := ex.mgr.Stop(context.Background(), "orders", "orders-lake"); err != nil {
		t.Fatal(err)
	}
	if got := len(c.objects("lake", "orders/")); got != len(objs) {
		t.Errorf("objects after Stop: %d, before %d", got, len(objs))
	}
	if _, err := ex.mgr.client.DescribeTunnel(&tunnel.DescribeTunnelRequest{TableName: "orders", TunnelName: TunnelName("orders-lake")}); err == nil {
		t.Error("the tunnel still exists after Stop")
	}
}

func TestE2EFullSyncFinishesWithStaticPrefix(t *testing.T) {
	dir := t.TempDir()
	c := startCloud(t, dir+"/cloud")
	defer c.close()
	ex := startExecutor(t, dir+"/exec", c, nil)
	defer ex.close()
	ex.putRole()
	c.createBucket("lake")
	c.createTable("items")
	c.putRows("items", idRange(0, 500), e2eRow)
	ex.createTask(task.Spec{
		Name: "items-full", Table: "items", Bucket: "lake", Prefix: "exports/items",
		SyncMode: task.SyncFull, Columns: e2eColumns, FlushIntervalSeconds: 60,
	})
	testsupport.WaitFor(t, 60*time.Second, "full sync finished", func() string {
		st := ex.status("items", "items-full")
		if st.Phase != task.PhaseFinished || st.RowsDelivered != 500 {
			return fmt.Sprintf("%+v", st)
		}
		return ""
	})
	// Rows written after the snapshot are not part of a full sync.
	c.putRows("items", idRange(500, 520), e2eRow)
	time.Sleep(time.Second)
	objs := c.objects("lake", "exports/")
	counts := idCounts(dataRows(t, objs))
	if len(counts) != 500 {
		t.Fatalf("%s", fmtCounts(counts, 500))
	}
	for id, n := range counts {
		if n != 1 || id >= 500 {
			t.Fatalf("id %d delivered %d times", id, n)
		}
	}
	writers := checkObjectNames(t, objs, "items-full")
	for key := range objs {
		if !strings.HasPrefix(key, "exports/items/items-full_") || !strings.Contains(key, "_exports_items__") {
			t.Errorf("object %s does not use the static prefix", key)
		}
	}
	if len(writers) != 4 {
		t.Errorf("ConcurrentIDs %v, want 0-3", writers)
	}
}

func TestE2EIncrementalOnlyNewChangesAndEventTime(t *testing.T) {
	dir := t.TempDir()
	c := startCloud(t, dir+"/cloud")
	defer c.close()
	ex := startExecutor(t, dir+"/exec", c, nil)
	defer ex.close()
	ex.putRole()
	c.createBucket("lake")
	c.createTable("events")
	c.putRows("events", idRange(0, 50), e2eRow) // before the task: not delivered
	cols := append(append([]task.Column{}, e2eColumns[:2]...), task.Column{Source: "ts", Name: "ts", Type: task.TypeUTF8})
	ex.createTask(task.Spec{
		Name: "ev", Table: "events", Bucket: "lake", Prefix: "ev/$yyyy/$MM/$dd/$HH/$mm",
		SyncMode: task.SyncIncremental, Columns: cols, FlushIntervalSeconds: 1,
		EventTimeColumn: &task.EventTimeColumn{Name: "ts", Format: task.TimeRFC3339},
	})
	c.putRows("events", idRange(100, 130), func(id int64) map[string]any {
		return map[string]any{"name": fmt.Sprint(id), "ts": fmt.Sprintf("2020-08-31T16:%02d:00Z", id%3)}
	})
	c.putRows("events", []int64{200}, func(int64) map[string]any { return map[string]any{"ts": "not a time"} })
	testsupport.WaitFor(t, 30*time.Second, "rows delivered", func() string {
		st := ex.status("events", "ev")
		if n := len(dataRows(t, c.objects("lake", "ev/"))); n != 30 || st.RowsDirty != 1 {
			return fmt.Sprintf("%d rows, %+v", n, st)
		}
		return ""
	})
	objs := c.objects("lake", "ev/")
	for _, r := range dataRows(t, objs) {
		id := r["id"].(int64)
		if id < 100 {
			t.Errorf("row %d from before the task was delivered", id)
		}
		want := fmt.Sprintf("ev/2020/08/31/16/%02d/ev_", id%3)
		if key := r["__key"].(string); !strings.HasPrefix(key, want) {
			t.Errorf("row %d in %s, want under %s (event time partition)", id, key, want)
		}
	}
	checkObjectNames(t, objs, "ev")
	if st := ex.status("events", "ev"); st.Phase != task.PhaseIncr {
		t.Errorf("phase %s", st.Phase)
	}
	if len(c.objects("lake", "")) != len(objs) {
		t.Error("dirty rows were written without a dirty prefix")
	}
	testsupport.WaitFor(t, 10*time.Second, "objects_written", func() string {
		if st := ex.status("events", "ev"); st.ObjectsWritten != int64(len(objs)) {
			return fmt.Sprintf("objects_written %d, bucket holds %d", st.ObjectsWritten, len(objs))
		}
		return ""
	})
}

func TestE2EErrorsAppearAndClear(t *testing.T) {
	dir := t.TempDir()
	c := startCloud(t, dir+"/cloud")
	defer c.close()
	ex := startExecutor(t, dir+"/exec", c, nil)
	defer ex.close()
	c.createTable("t1")
	c.putRows("t1", idRange(0, 100), e2eRow)
	// No role yet, no bucket yet.
	ex.createTask(task.Spec{Name: "t1-lake", Table: "t1", Bucket: "lake", Prefix: "p", SyncMode: task.SyncDifferential,
		Columns: e2eColumns, FlushIntervalSeconds: 1})
	testsupport.WaitFor(t, 20*time.Second, "UnAuthorized", func() string {
		if st := ex.status("t1", "t1-lake"); st.ErrorCode != task.ErrUnauthorized || !strings.Contains(st.ErrorDetail, "not authorized") {
			return fmt.Sprintf("%+v", st)
		}
		return ""
	})
	ex.putRole()
	testsupport.WaitFor(t, 20*time.Second, "InvalidOssBucket", func() string {
		if st := ex.status("t1", "t1-lake"); st.ErrorCode != task.ErrInvalidOssBucket {
			return fmt.Sprintf("%+v", st)
		}
		return ""
	})
	// A bucket of that name in another region is still invalid.
	if err := c.oss.CreateBucket("lake", "cn-shanghai"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	if st := ex.status("t1", "t1-lake"); st.ErrorCode != task.ErrInvalidOssBucket || !strings.Contains(st.ErrorDetail, "region") {
		t.Fatalf("bucket in another region: %+v", st)
	}
	if err := c.ossc.DeleteBucket("lake"); err != nil {
		t.Fatal(err)
	}
	c.createBucket("lake")
	testsupport.WaitFor(t, 30*time.Second, "delivery after the fix", func() string {
		st := ex.status("t1", "t1-lake")
		if st.ErrorCode != "" || st.RowsDelivered != 100 {
			return fmt.Sprintf("%+v", st)
		}
		return ""
	})
	counts := idCounts(dataRows(t, c.objects("lake", "p/")))
	if len(counts) != 100 {
		t.Fatalf("%s", fmtCounts(counts, 100))
	}
	for id, n := range counts {
		if n != 1 {
			t.Fatalf("id %d delivered %d times", id, n)
		}
	}
}

// TestE2ERestartResumesExactlyOnce stops the executor and the whole cloud
// in the middle of a sync and starts them again on the same data dirs.
func TestE2ERestartResumesExactlyOnce(t *testing.T) {
	dir := t.TempDir()
	c := startCloud(t, dir+"/cloud")
	// No drain: the buffers are abandoned and read again after the restart.
	ex := startExecutor(t, dir+"/exec", c, func(cfg *Config) { cfg.DrainTimeout = -1 })
	ex.putRole()
	c.createBucket("lake")
	c.createTable("r")
	c.putRows("r", idRange(0, 300), e2eRow)
	ex.createTask(task.Spec{Name: "r-lake", Table: "r", Bucket: "lake", Prefix: "r/$HH", SyncMode: task.SyncDifferential,
		Columns: e2eColumns, FlushIntervalSeconds: 1, TargetObjectSizeMB: 1})
	c.putRows("r", idRange(300, 400), e2eRow)
	time.Sleep(700 * time.Millisecond)
	ex.close()
	c.close()

	c = startCloud(t, dir+"/cloud")
	defer c.close()
	ex = startExecutor(t, dir+"/exec", c, nil)
	defer ex.close()
	c.putRows("r", idRange(400, 500), e2eRow)
	tk, err := ex.reg.GetTask(context.Background(), "r", "r-lake")
	if err != nil {
		t.Fatal(err)
	}
	if err := ex.mgr.Start(context.Background(), tk); err != nil {
		t.Fatal(err)
	}
	testsupport.WaitFor(t, 60*time.Second, "all rows after restart", func() string {
		counts := idCounts(dataRows(t, c.objects("lake", "r/")))
		if len(counts) != 500 {
			return fmtCounts(counts, 500)
		}
		for id, n := range counts {
			if n != 1 {
				return fmt.Sprintf("id %d delivered %d times", id, n)
			}
		}
		return ""
	})
	checkObjectNames(t, c.objects("lake", "r/"), "r-lake")
}

// TestE2ECloseDrainsBuffers: a graceful Close writes what is buffered and
// checkpoints it, so nothing is read twice after the restart.
func TestE2ECloseDrainsBuffers(t *testing.T) {
	dir := t.TempDir()
	c := startCloud(t, dir+"/cloud")
	defer c.close()
	ex := startExecutor(t, dir+"/exec", c, nil)
	ex.putRole()
	c.createBucket("lake")
	c.createTable("d")
	tk := ex.createTask(task.Spec{Name: "d-lake", Table: "d", Bucket: "lake", Prefix: "d", SyncMode: task.SyncIncremental,
		Columns: e2eColumns, FlushIntervalSeconds: 3600})
	c.putRows("d", idRange(0, 150), e2eRow)
	testsupport.WaitFor(t, 20*time.Second, "rows buffered", func() string {
		n := 0
		ex.mgr.mu.Lock()
		r := ex.mgr.runners[taskKey("d", "d-lake")]
		ex.mgr.mu.Unlock()
		r.mu.Lock()
		for _, p := range r.processors {
			n += p.w.snapshot().buffered
		}
		r.mu.Unlock()
		if n != 150 {
			return fmt.Sprintf("%d rows buffered", n)
		}
		return ""
	})
	if got := len(c.objects("lake", "d/")); got != 0 {
		t.Fatalf("%d objects before the flush interval", got)
	}
	ex.close()
	if counts := idCounts(dataRows(t, c.objects("lake", "d/"))); len(counts) != 150 {
		t.Fatalf("after Close: %s", fmtCounts(counts, 150))
	}
	ex = startExecutor(t, dir+"/exec", c, nil)
	defer ex.close()
	if err := ex.mgr.Start(context.Background(), tk); err != nil {
		t.Fatal(err)
	}
	c.putRows("d", idRange(150, 160), e2eRow)
	testsupport.WaitFor(t, 20*time.Second, "new rows read after the restart", func() string {
		if n := recordsMetric(t, ex, "buffered"); n != 10 {
			return fmt.Sprintf("%v rows read", n)
		}
		return ""
	})
	if n := recordsMetric(t, ex, "replayed"); n != 0 {
		t.Errorf("%v records read again after a drained shutdown", n)
	}
}

// recordsMetric sums delivery_pipeline_records_total for one outcome.
func recordsMetric(t *testing.T, ex *executor, outcome string) float64 {
	t.Helper()
	mfs, err := ex.prom.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != "delivery_pipeline_records_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == outcome {
					total += m.GetCounter().GetValue()
				}
			}
		}
	}
	return total
}
