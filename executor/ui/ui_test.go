package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/kv"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/state"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"

	"github.com/tablestore-delivery/terraform-provider-tablestore/internal/testsupport"
)

const (
	keyID     = "test-key"
	keySecret = "test-secret-never-shown"
	roleARN   = "acs:ram::1000000000000001:role/deliver"
)

// stack is the real local cloud and registry the page reads.
type stack struct {
	registry      *state.Bolt
	tablestoreURL string
	ossURL        string
	bucket        *oss.Bucket
}

func newStack(t *testing.T, tableRows int) *stack {
	t.Helper()
	dir := t.TempDir()
	// The registry shares the cloud's kv store, as in serve --embedded.
	store, err := kv.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	lc, err := localcloud.Start(context.Background(), localcloud.Config{DataDir: dir, Store: store,
		Credentials: map[string]string{keyID: keySecret}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lc.Close() })

	registry, err := state.NewBolt(store, make([]byte, state.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	s := &stack{registry: registry, tablestoreURL: lc.TablestoreURL, ossURL: lc.OSSURL}

	sdk := tablestore.NewClient(lc.TablestoreURL, lc.Instance, keyID, keySecret)
	meta := &tablestore.TableMeta{TableName: "orders"}
	meta.AddPrimaryKeyColumn("id", tablestore.PrimaryKeyType_INTEGER)
	if _, err := sdk.CreateTable(&tablestore.CreateTableRequest{TableMeta: meta,
		TableOption: &tablestore.TableOption{TimeToAlive: -1, MaxVersion: 1}, ReservedThroughput: &tablestore.ReservedThroughput{}}); err != nil {
		t.Fatal(err)
	}
	for start := 0; start < tableRows; start += 200 {
		req := &tablestore.BatchWriteRowRequest{}
		for i := start; i < min(start+200, tableRows); i++ {
			pk := new(tablestore.PrimaryKey)
			pk.AddPrimaryKeyColumn("id", int64(i))
			row := &tablestore.PutRowChange{TableName: "orders", PrimaryKey: pk}
			row.AddColumn("price", float64(i))
			row.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
			req.AddRowChange(row)
		}
		if _, err := sdk.BatchWriteRow(req); err != nil {
			t.Fatal(err)
		}
	}
	ossClient, err := oss.New(lc.OSSURL, keyID, keySecret)
	if err != nil {
		t.Fatal(err)
	}
	if err := ossClient.CreateBucket("lake"); err != nil {
		t.Fatal(err)
	}
	if s.bucket, err = ossClient.Bucket("lake"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := registry.PutRole(ctx, state.RoleRecord{
		Role:        task.Role{Name: "deliver", ARN: roleARN, CreatedAt: time.Now()},
		Credentials: state.Credentials{AccessKeyID: keyID, AccessKeySecret: keySecret},
	}); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *stack) createTask(t *testing.T, name string, status task.Status) {
	t.Helper()
	spec := task.Spec{Name: name, Table: "orders", Region: "cn-hangzhou", Bucket: "lake",
		Prefix: "orders/year=$yyyy/month=$MM", RoleARN: roleARN}
	spec.ApplyDefaults()
	if err := s.registry.CreateTask(context.Background(), task.Task{Spec: spec, Status: status, CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
}

func (s *stack) setStatus(t *testing.T, name string, fn func(*task.Status)) {
	t.Helper()
	if err := s.registry.UpdateStatus(context.Background(), "orders", name, fn); err != nil {
		t.Fatal(err)
	}
}

func (s *stack) page(t *testing.T) (*Page, *httptest.Server) {
	t.Helper()
	return s.pageWithListLimit(t, 0)
}

func (s *stack) pageWithListLimit(t *testing.T, listLimit int) (*Page, *httptest.Server) {
	t.Helper()
	counter, err := NewTablestoreCounter(s.tablestoreURL, "local", keyID, keySecret)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Config{
		Registry:       s.registry,
		OSSEndpoints:   map[string]string{"cn-hangzhou": s.ossURL},
		Counter:        counter,
		SampleInterval: 50 * time.Millisecond,
		HistorySize:    5,
		LatestObjects:  2,
		ListLimit:      listLimit,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	api := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "api") })
	srv := httptest.NewServer(Mount(p, api))
	t.Cleanup(srv.Close)
	return p, srv
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func status(t *testing.T, srv *httptest.Server) Status {
	t.Helper()
	code, body := get(t, srv.URL+"/ui/status.json")
	if code != http.StatusOK {
		t.Fatalf("status.json: %d %s", code, body)
	}
	var s Status
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestFullSyncProgressFromTableCount(t *testing.T) {
	s := newStack(t, 1234)
	s.createTask(t, "lake-a", task.Status{Phase: task.PhaseFull, RowsDelivered: 617})
	_, srv := s.page(t)

	testsupport.WaitUntil(t, 20*time.Second, "the table count", func() bool {
		v := status(t, srv).Tasks[0]
		return v.EstimatedRows != nil
	})
	v := status(t, srv).Tasks[0]
	if *v.EstimatedRows != 1234 || v.ProgressPercent() != 50 {
		t.Fatalf("estimate %d, progress %v; want 1234 rows and 50%%", *v.EstimatedRows, v.ProgressPercent())
	}
	_, html := get(t, srv.URL+"/ui")
	for _, want := range []string{`class="task-name">lake-a<`, `data-phase="FULL"`, `<div style="width: 50.0%"></div>`,
		"50.0% (617 of ~1,234 rows)", `data-counter="estimated_rows">1,234<`, "lag is measured once the task follows changes"} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %q:\n%s", want, html)
		}
	}
	// Past the full sync there is no bar.
	s.setStatus(t, "lake-a", func(st *task.Status) { st.Phase = task.PhaseIncr; st.CurrentSyncTimestampNs = time.Now().UnixNano() })
	if _, html := get(t, srv.URL+"/ui?part=tasks"); strings.Contains(html, `class="full-sync"`) || strings.Contains(html, "<html") {
		t.Errorf("INCR task fragment: want no progress bar and no document wrapper:\n%s", html)
	}
}

func TestLagHistoryErrorsAndLatestObjects(t *testing.T) {
	s := newStack(t, 10)
	synced := time.Now().Add(-90 * time.Second)
	s.createTask(t, "lake-b", task.Status{Phase: task.PhaseIncr, RowsDelivered: 10, ObjectsWritten: 1,
		CurrentSyncTimestampNs: synced.UnixNano(), LastSyncedAt: &synced,
		ErrorCode: task.ErrInvalidOssBucket, ErrorDetail: task.MessageInvalidOssBucket})
	// Three objects of this task and one of another task under the same prefix.
	for i, key := range []string{
		"orders/year=2026/month=11/lake-b_0_orders_year=2026_month=11__1",
		"orders/year=2026/month=11/lake-b_1_orders_year=2026_month=11__1",
		"orders/year=2026/month=11/other_0_orders_year=2026_month=11__1",
		"orders/year=2026/month=11/lake-b_0_orders_year=2026_month=11__2",
	} {
		if err := s.bucket.PutObject(key, strings.NewReader(strings.Repeat("x", 100*(i+1)))); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1100 * time.Millisecond) // distinct Last-Modified seconds
	}
	// The lag is measured from now, after the slow object writes above.
	synced = time.Now().Add(-90 * time.Second)
	s.setStatus(t, "lake-b", func(st *task.Status) { st.ObjectsWritten = 3; st.CurrentSyncTimestampNs = synced.UnixNano() })
	_, srv := s.page(t)

	testsupport.WaitUntil(t, 20*time.Second, "a full history and the objects", func() bool {
		v := status(t, srv).Tasks[0]
		return len(v.History) == 5 && len(v.Objects) == 2
	})
	v := status(t, srv).Tasks[0]
	if v.LagSeconds == nil || *v.LagSeconds < 89 || *v.LagSeconds > 120 {
		t.Fatalf("lag %v, want about 90 s", v.LagSeconds)
	}
	if v.Objects[0].Key != "orders/year=2026/month=11/lake-b_0_orders_year=2026_month=11__2" ||
		v.Objects[1].Key != "orders/year=2026/month=11/lake-b_1_orders_year=2026_month=11__1" || v.Objects[0].Size != 400 {
		t.Fatalf("latest objects: %+v", v.Objects)
	}
	_, html := get(t, srv.URL+"/ui/")
	for _, pattern := range []string{
		`data-error="InvalidOssBucket">InvalidOssBucket: The destination OSS bucket does not exist.`,
		`<polyline points="0.0,[0-9.]+( [0-9.]+,[0-9.]+){4}"/>`,
		`<tr class="object"><td><code>orders/year=2026/month=11/lake-b_0_orders_year=2026_month=11__2</code></td><td class="size">400 B</td>`,
		`lag 1m[3-5]\ds`,
	} {
		if !regexp.MustCompile(pattern).MatchString(html) {
			t.Errorf("page lacks /%s/:\n%s", pattern, html)
		}
	}
	if strings.Contains(html, keySecret) || strings.Contains(status2JSON(t, srv), keySecret) {
		t.Fatal("the page shows the role's secret")
	}
}

func status2JSON(t *testing.T, srv *httptest.Server) string {
	_, body := get(t, srv.URL+"/ui/status.json")
	return body
}

func TestMountRoutesOnlyUIPaths(t *testing.T) {
	s := newStack(t, 0)
	_, srv := s.page(t)
	for path, want := range map[string]string{"/v1/tasks": "api", "/uix": "api", "/metrics": "api", "/ui/nothing": "not found"} {
		if _, body := get(t, srv.URL+path); !strings.Contains(body, want) {
			t.Errorf("%s: body %q, want %q", path, body, want)
		}
	}
	if code, body := get(t, srv.URL+"/ui"); code != 200 || !strings.Contains(body, `id="no-tasks"`) {
		t.Errorf("/ui without tasks: %d\n%s", code, body)
	}
}

func TestFormatting(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -4500: "-4,500"} {
		if got := formatCount(n); got != want {
			t.Errorf("formatCount(%d) = %q, want %q", n, got, want)
		}
	}
	for n, want := range map[int64]string{10: "10 B", 2048: "2.0 KiB", 5 << 20: "5.0 MiB"} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
	lag := func(v float64) *float64 { return &v }
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := lagChart([]Sample{{At: now, LagSeconds: nil}, {At: now, LagSeconds: lag(10)}, {At: now.Add(10 * time.Second), LagSeconds: lag(5)}})
	if c.Samples != 2 || c.Points != fmt.Sprintf("0.0,10.0 %d.0,60.0", chartWidth) || c.MaxLabel != "10s" || c.SpanLabel != "10s" {
		t.Errorf("chart: %+v", c)
	}
}

// With more objects than the page lists, the latest objects come from the
// newest time partition (found with delimiter listings), and the page says so.
func TestManyObjectsShowNewestPartition(t *testing.T) {
	s := newStack(t, 10)
	s.createTask(t, "lake-c", task.Status{Phase: task.PhaseIncr, ObjectsWritten: 7})
	keys := []string{
		"orders/year=2025/month=12/lake-c_0_orders_year=2025_month=12__1",
		"orders/year=2025/month=12/lake-c_0_orders_year=2025_month=12__2",
		"orders/year=2026/month=10/lake-c_0_orders_year=2026_month=10__1",
		"orders/year=2026/month=10/lake-c_0_orders_year=2026_month=10__2",
		"orders/year=2026/month=10/lake-c_1_orders_year=2026_month=10__1",
		"orders/year=2026/month=11/lake-c_0_orders_year=2026_month=11__1",
		"orders/year=2026/month=11/lake-c_1_orders_year=2026_month=11__1",
	}
	for _, key := range keys {
		if err := s.bucket.PutObject(key, strings.NewReader("x")); err != nil {
			t.Fatal(err)
		}
	}
	_, srv := s.pageWithListLimit(t, 3)
	testsupport.WaitUntil(t, 20*time.Second, "the objects", func() bool { return len(status(t, srv).Tasks[0].Objects) == 2 })
	v := status(t, srv).Tasks[0]
	if !v.ObjectsPartial {
		t.Fatal("listing of 7 objects with a limit of 3: want latest_objects_partial")
	}
	for _, o := range v.Objects {
		if !strings.HasPrefix(o.Key, "orders/year=2026/month=11/") {
			t.Fatalf("object %s is not from the newest partition", o.Key)
		}
	}
	if _, html := get(t, srv.URL+"/ui"); !strings.Contains(html, `data-objects="partial"`) {
		t.Fatalf("page lacks the partial-listing note:\n%s", html)
	}
}

// countingCounter is the real SDK counter, with the number of counts taken.
type countingCounter struct {
	RowCounter
	calls atomic.Int32
}

func (c *countingCounter) CountRows(ctx context.Context, table string) (int64, error) {
	c.calls.Add(1)
	return c.RowCounter.CountRows(ctx, table)
}

// The row count is a second scan of the table the full sync reads, so it
// waits for someone to read the status: the sampler alone never counts, the
// first read starts one count, and later reads are served from memory. A task
// past its full sync when first read is not counted at all.
func TestTableCountedOnlyWhenStatusIsRead(t *testing.T) {
	s := newStack(t, 321)
	s.createTask(t, "lake-full", task.Status{Phase: task.PhaseFull, RowsDelivered: 107})
	s.createTask(t, "lake-incr", task.Status{Phase: task.PhaseIncr, RowsDelivered: 321})
	sdkCounter, err := NewTablestoreCounter(s.tablestoreURL, "local", keyID, keySecret)
	if err != nil {
		t.Fatal(err)
	}
	counter := &countingCounter{RowCounter: sdkCounter}
	p, err := New(Config{Registry: s.registry, Counter: counter, SampleInterval: 20 * time.Millisecond, HistorySize: 50})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)

	sampled := func() int {
		p.mu.Lock()
		defer p.mu.Unlock()
		if st := p.tasks["orders/lake-full"]; st != nil {
			return len(st.history)
		}
		return 0
	}
	testsupport.WaitUntil(t, 20*time.Second, "five samples", func() bool { return sampled() >= 5 })
	if n := counter.calls.Load(); n != 0 {
		t.Fatalf("%d counts with nobody reading the status, want 0", n)
	}

	// The first read starts the count and says so.
	first := status(t, srv)
	byName := map[string]TaskView{}
	for _, v := range first.Tasks {
		byName[v.Name] = v
	}
	if v := byName["lake-full"]; v.EstimatedRows == nil && !v.Counting {
		t.Fatalf("first read of a FULL task: neither an estimate nor counting: %+v", v)
	}
	testsupport.WaitUntil(t, 20*time.Second, "the table count", func() bool {
		for _, v := range status(t, srv).Tasks {
			if v.Name == "lake-full" {
				return v.EstimatedRows != nil
			}
		}
		return false
	})
	for range 5 {
		_, _ = get(t, srv.URL+"/ui")
		for _, v := range status(t, srv).Tasks {
			switch {
			case v.Name == "lake-full" && (v.EstimatedRows == nil || *v.EstimatedRows != 321 || v.ProgressPercent() != 100*107.0/321):
				t.Fatalf("FULL task: estimate %v, progress %v; want 321 rows", v.EstimatedRows, v.ProgressPercent())
			case v.Name == "lake-incr" && (v.EstimatedRows != nil || v.Counting):
				t.Fatalf("INCR task: estimate %v, counting %v; want neither", v.EstimatedRows, v.Counting)
			}
		}
	}
	if n := counter.calls.Load(); n != 1 {
		t.Fatalf("%d counts after many reads, want 1 (counted once, then cached)", n)
	}
}
