package state

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	ots "github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud"
	localtablestore "github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

const (
	testKeyID     = "AKIDstate"
	testKeySecret = "state-secret"
)

// localTablestore starts the local cloud and returns its Tablestore
// endpoint, served over real HTTP; the registry talks to it through the
// official SDK.
func localTablestore(t testing.TB) string {
	t.Helper()
	return startCloud(t).TablestoreURL
}

// startCloud starts the local cloud (localcloud.Start) for one test.
func startCloud(t testing.TB) *localcloud.Cloud {
	t.Helper()
	lc, err := localcloud.Start(context.Background(), localcloud.Config{DataDir: t.TempDir(),
		Credentials: map[string]string{testKeyID: testKeySecret}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lc.Close() })
	return lc
}

func openTablestore(t testing.TB, endpoint string, key []byte) *Tablestore {
	t.Helper()
	reg, err := NewTablestore(context.Background(), TablestoreConfig{
		Endpoint: endpoint, Instance: localtablestore.DefaultInstance,
		AccessKeyID: testKeyID, AccessKeySecret: testKeySecret, SecretKey: key,
	})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func TestTablestoreTasks(t *testing.T) {
	ctx := context.Background()
	endpoint := localTablestore(t)
	key := KeyFromPassphrase("shared")
	// Two registries over one table stand for two executors.
	a, b := openTablestore(t, endpoint, key), openTablestore(t, endpoint, key)
	for _, id := range [][2]string{{"b", "t1"}, {"a", "t2"}, {"a", "t1"}, {"ab", "t0"}} {
		if err := a.CreateTask(ctx, sampleTask(id[0], id[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.CreateTask(ctx, sampleTask("a", "t1")); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate CreateTask through the other executor = %v, want ErrExists", err)
	}
	// Concurrent status updates from both executors must all land: each is
	// a conditional write that retries on conflict.
	var wg sync.WaitGroup
	for i := range 20 {
		reg := a
		if i%2 == 1 {
			reg = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := reg.UpdateStatus(ctx, "a", "t1", func(s *task.Status) { s.RowsDelivered += 5 }); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, err := b.GetTask(ctx, "a", "t1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status.RowsDelivered != 100 {
		t.Fatalf("RowsDelivered = %d after 20 concurrent +5 from two executors, want 100", got.Status.RowsDelivered)
	}
	list, err := b.ListTasks(ctx, "a")
	if err != nil || len(list) != 2 || list[0].Name != "t1" || list[1].Name != "t2" {
		t.Fatalf("ListTasks(a) = %v, %v; want t1, t2 (not table ab's)", list, err)
	}
	all, err := b.ListTasks(ctx, "")
	if err != nil || len(all) != 4 {
		t.Fatalf("ListTasks(\"\") = %d tasks, %v; want 4", len(all), err)
	}
	if err := a.UpdateStatus(ctx, "a", "nope", func(*task.Status) {}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("UpdateStatus missing = %v, want ErrNotFound", err)
	}
	if _, err := a.GetTask(ctx, "a", "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetTask missing = %v, want ErrNotFound", err)
	}
	updated, err := a.UpdateTask(ctx, "a", "t1", func(tk *task.Task) error {
		tk.Name = "renamed" // must be ignored
		tk.FlushIntervalSeconds = 7
		return nil
	})
	if err != nil || updated.Name != "t1" || updated.FlushIntervalSeconds != 7 {
		t.Fatalf("UpdateTask = %+v, %v", updated, err)
	}
	if seen, _ := b.GetTask(ctx, "a", "t1"); seen.FlushIntervalSeconds != 7 {
		t.Fatalf("the other executor reads FlushIntervalSeconds %d, want 7", seen.FlushIntervalSeconds)
	}
	refused := errors.New("no")
	if _, err := a.UpdateTask(ctx, "a", "t1", func(*task.Task) error { return refused }); !errors.Is(err, refused) {
		t.Fatalf("UpdateTask error = %v, want the function's", err)
	}
	if err := b.DeleteTask(ctx, "a", "t1"); err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteTask(ctx, "a", "t1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second DeleteTask = %v, want ErrNotFound", err)
	}
	if _, err := a.UpdateTask(ctx, "a", "t1", func(*task.Task) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("UpdateTask of a deleted task = %v, want ErrNotFound", err)
	}
}

// A stale version must be refused by the store itself: this writes behind
// the registry's back and checks that the conditional write notices.
func TestTablestoreUpdateRefusesStaleVersion(t *testing.T) {
	ctx := context.Background()
	reg := openTablestore(t, localTablestore(t), KeyFromPassphrase("k"))
	if err := reg.CreateTask(ctx, sampleTask("tbl", "x")); err != nil {
		t.Fatal(err)
	}
	tk, version, writers, err := reg.readTask(ctx, "tbl", "x")
	if err != nil || version != 1 {
		t.Fatalf("readTask = version %d, %v; want 1", version, err)
	}
	if done, err := reg.writeTaskAt(tk, version, writers, writeToken()); !done || err != nil {
		t.Fatalf("write at the current version = %v, %v", done, err)
	}
	tk.FlushIntervalSeconds = 99
	if done, err := reg.writeTaskAt(tk, version, writers, writeToken()); done || err != nil {
		t.Fatalf("write at a stale version = %v, %v; want refused without error", done, err)
	}
	if got, _ := reg.GetTask(ctx, "tbl", "x"); got.FlushIntervalSeconds == 99 {
		t.Fatal("a write at a stale version changed the task")
	}
}

func TestTablestorePipelineState(t *testing.T) {
	ctx := context.Background()
	endpoint := localTablestore(t)
	a, b := openTablestore(t, endpoint, KeyFromPassphrase("x")), openTablestore(t, endpoint, KeyFromPassphrase("x"))
	for _, n := range []string{"one", "two"} {
		if err := a.CreateTask(ctx, sampleTask("tbl", n)); err != nil {
			t.Fatal(err)
		}
	}
	one, two := a.PipelineState("tbl", "one"), a.PipelineState("tbl", "two")
	if _, ok, err := one.Get(ctx, "cp"); ok || err != nil {
		t.Fatalf("Get on empty state = %v, %v", ok, err)
	}
	long := "wm/stream_" + strings.Repeat("x-y_z", 80) + "/data/dt=2026-11-24/hh=01" // far beyond a column name's 255 characters
	puts := map[string][]byte{"cp/0": []byte("a"), "cp/1": []byte("b"), "j/9": []byte("c"), long: []byte("far"), "bin\x00\xff": {0, 1, 2}}
	if err := one.Apply(ctx, puts, nil); err != nil {
		t.Fatal(err)
	}
	if err := two.Apply(ctx, map[string][]byte{"cp/0": []byte("z")}, nil); err != nil {
		t.Fatal(err)
	}
	// Another executor sees the same state.
	other := b.PipelineState("tbl", "one")
	for k, want := range puts {
		v, ok, err := other.Get(ctx, k)
		if err != nil || !ok || !bytes.Equal(v, want) {
			t.Fatalf("Get(%q) from the other executor = %q, %v, %v; want %q", k, v, ok, err, want)
		}
	}
	var keys []string
	if err := other.Scan(ctx, "cp/", func(k string, v []byte) error { keys = append(keys, k+"="+string(v)); return nil }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(keys, ",") != "cp/0=a,cp/1=b" {
		t.Fatalf("Scan(cp/) = %v, want cp/0=a,cp/1=b in order", keys)
	}
	// One step deletes and puts together.
	if err := other.Apply(ctx, map[string][]byte{"cp/2": []byte("c")}, []string{"cp/0", "j/9", "absent"}); err != nil {
		t.Fatal(err)
	}
	keys = nil
	_ = one.Scan(ctx, "", func(k string, _ []byte) error { keys = append(keys, k); return nil })
	if got, want := strings.Join(keys, ","), "bin\x00\xff,cp/1,cp/2,"+long; got != want {
		t.Fatalf("keys after the step = %q, want %q", got, want)
	}
	stop := errors.New("stop")
	if err := one.Scan(ctx, "", func(string, []byte) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("Scan error = %v, want the callback's", err)
	}
	if err := one.Apply(ctx, map[string][]byte{"": []byte("x")}, nil); err == nil {
		t.Fatal("Apply with an empty key succeeded")
	}
	// Status updates and journal steps do not disturb each other.
	if err := a.UpdateStatus(ctx, "tbl", "one", func(s *task.Status) { s.RowsDelivered = 3 }); err != nil {
		t.Fatal(err)
	}
	if v, ok, _ := one.Get(ctx, "cp/1"); !ok || string(v) != "b" {
		t.Fatalf("a status update lost pipeline key cp/1: %q %v", v, ok)
	}
	// The state goes with its task; the other task's stays.
	if err := b.DeleteTask(ctx, "tbl", "one"); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := one.Get(ctx, "cp/1"); ok || err != nil {
		t.Fatalf("state survived its task: %v, %v", ok, err)
	}
	if err := one.Apply(ctx, map[string][]byte{"cp/0": []byte("x")}, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Apply after the task was deleted = %v, want ErrNotFound", err)
	}
	if v, ok, _ := two.Get(ctx, "cp/0"); !ok || string(v) != "z" {
		t.Fatalf("other task's state = %q, %v; want z", v, ok)
	}
	// A re-created task starts with an empty state.
	if err := a.CreateTask(ctx, sampleTask("tbl", "one")); err != nil {
		t.Fatal(err)
	}
	n := 0
	_ = one.Scan(ctx, "", func(string, []byte) error { n++; return nil })
	if n != 0 {
		t.Fatalf("re-created task inherited %d pipeline keys", n)
	}
}

// Journal steps from many writers at once (as several executors' channel
// writers do) must all land, each atomically: every step moves two keys
// together, and a reader never sees one moved without the other.
func TestTablestorePipelineStateConcurrentSteps(t *testing.T) {
	ctx := context.Background()
	endpoint := localTablestore(t)
	regs := []*Tablestore{openTablestore(t, endpoint, KeyFromPassphrase("x")), openTablestore(t, endpoint, KeyFromPassphrase("x"))}
	if err := regs[0].CreateTask(ctx, sampleTask("tbl", "j")); err != nil {
		t.Fatal(err)
	}
	const writers, steps = 6, 15
	var wg sync.WaitGroup
	for w := range writers {
		ps := regs[w%2].PipelineState("tbl", "j")
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := 1; s <= steps; s++ {
				v := []byte(fmt.Sprint(s))
				err := ps.Apply(ctx, map[string][]byte{fmt.Sprintf("seq/%d", w): v, fmt.Sprintf("wm/%d", w): v},
					[]string{fmt.Sprintf("intent/%d", w)})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	var torn []string
	go func() { // a reader checking every snapshot while the writers run
		defer close(done)
		ps := regs[1].PipelineState("tbl", "j")
		for ctx.Err() == nil {
			seen := map[string]string{}
			_ = ps.Scan(ctx, "", func(k string, v []byte) error { seen[k] = string(v); return nil })
			for w := range writers {
				if a, b := seen[fmt.Sprintf("seq/%d", w)], seen[fmt.Sprintf("wm/%d", w)]; a != b {
					torn = append(torn, fmt.Sprintf("writer %d: seq %q wm %q", w, a, b))
				}
			}
			if len(seen) == 2*writers && seen[fmt.Sprintf("seq/%d", writers-1)] == fmt.Sprint(steps) {
				allDone := true
				for w := range writers {
					allDone = allDone && seen[fmt.Sprintf("seq/%d", w)] == fmt.Sprint(steps)
				}
				if allDone {
					return
				}
			}
		}
	}()
	wg.Wait()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("reader never saw every writer's last step")
	}
	if len(torn) > 0 {
		t.Fatalf("a reader saw half-applied steps: %v", torn[:min(5, len(torn))])
	}
	ps := regs[0].PipelineState("tbl", "j")
	for w := range writers {
		if v, ok, _ := ps.Get(ctx, fmt.Sprintf("seq/%d", w)); !ok || string(v) != fmt.Sprint(steps) {
			t.Fatalf("writer %d's last step = %q, want %d", w, v, steps)
		}
	}
}

func TestTablestoreRolesAreSealedAndShared(t *testing.T) {
	ctx := context.Background()
	endpoint := localTablestore(t)
	key := KeyFromPassphrase("right")
	a, b := openTablestore(t, endpoint, key), openTablestore(t, endpoint, key)
	arn := task.RoleARN(task.DefaultAccountID, "writer")
	rec := RoleRecord{Role: task.Role{Name: "writer", ARN: arn, CreatedAt: time.Now().UTC().Truncate(time.Second)},
		Credentials: Credentials{AccessKeyID: "AKID1", AccessKeySecret: "top-secret-value"}}
	if err := a.PutRole(ctx, rec); err != nil {
		t.Fatal(err)
	}
	got, err := b.GetRole(ctx, "writer")
	if err != nil || got.Credentials != rec.Credentials || got.ARN != arn {
		t.Fatalf("GetRole from the other executor = %+v, %v", got, err)
	}
	if byARN, err := b.RoleByARN(ctx, arn); err != nil || byARN.Name != "writer" {
		t.Fatalf("RoleByARN = %+v, %v", byARN, err)
	}
	// Replacing goes through the version condition.
	rec.Credentials.AccessKeySecret = "rotated"
	if err := b.PutRole(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if got, _ := a.GetRole(ctx, "writer"); got.Credentials.AccessKeySecret != "rotated" {
		t.Fatalf("secret after replace = %q", got.Credentials.AccessKeySecret)
	}
	// At rest the secret is not readable: read the raw row through the SDK.
	raw := ots.NewClient(endpoint, localtablestore.DefaultInstance, testKeyID, testKeySecret)
	resp, err := raw.GetRow(&ots.GetRowRequest{SingleRowQueryCriteria: &ots.SingleRowQueryCriteria{
		TableName: DefaultTable, PrimaryKey: primaryKey(kindRole, "writer"), MaxVersion: 1,
	}})
	if err != nil || len(resp.Columns) == 0 {
		t.Fatalf("raw GetRow = %v, %v", resp, err)
	}
	for _, c := range resp.Columns {
		if s := fmt.Sprint(c.Value); strings.Contains(s, "rotated") || strings.Contains(s, "top-secret") {
			t.Fatalf("column %s holds the secret in clear", c.ColumnName)
		}
	}
	// An executor with another key cannot open it.
	wrong := openTablestore(t, endpoint, KeyFromPassphrase("wrong"))
	if _, err := wrong.GetRole(ctx, "writer"); err == nil || !strings.Contains(err.Error(), "decrypt") {
		t.Fatalf("GetRole with the wrong key = %v, want a decrypt error", err)
	}
	roles, err := wrong.ListRoles(ctx)
	if err != nil || len(roles) != 1 || roles[0].Name != "writer" {
		t.Fatalf("ListRoles = %v, %v", roles, err)
	}
	if err := a.DeleteRole(ctx, "writer"); err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteRole(ctx, "writer"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second DeleteRole = %v, want ErrNotFound", err)
	}
	if _, err := b.RoleByARN(ctx, arn); !errors.Is(err, ErrNotFound) {
		t.Fatalf("RoleByARN after delete = %v, want ErrNotFound", err)
	}
}

func TestTablestoreClaim(t *testing.T) {
	ctx := context.Background()
	endpoint := localTablestore(t)
	a, b := openTablestore(t, endpoint, KeyFromPassphrase("x")), openTablestore(t, endpoint, KeyFromPassphrase("x"))
	if err := a.CreateTask(ctx, sampleTask("tbl", "c")); err != nil {
		t.Fatal(err)
	}
	// Many executors race for the claim: exactly one wins.
	var mu sync.Mutex
	var winners []string
	var wg sync.WaitGroup
	for i := range 8 {
		reg := []*Tablestore{a, b}[i%2]
		owner := fmt.Sprintf("exec-%d", i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			won, err := reg.Claim(ctx, "tbl", "c", "init", owner, time.Minute)
			if err != nil {
				t.Error(err)
			}
			if won {
				mu.Lock()
				winners = append(winners, owner)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(winners) != 1 {
		t.Fatalf("claim winners = %v, want exactly one", winners)
	}
	if won, err := b.Claim(ctx, "tbl", "c", "init", winners[0], time.Minute); !won || err != nil {
		t.Fatalf("the holder cannot renew its claim: %v, %v", won, err)
	}
	// A claim that expires passes on.
	if won, _ := a.Claim(ctx, "tbl", "c", "short", "first", 50*time.Millisecond); !won {
		t.Fatal("first claim refused")
	}
	if won, _ := b.Claim(ctx, "tbl", "c", "short", "second", time.Minute); won {
		t.Fatal("second owner took an unexpired claim")
	}
	time.Sleep(80 * time.Millisecond)
	if won, _ := b.Claim(ctx, "tbl", "c", "short", "second", time.Minute); !won {
		t.Fatal("second owner could not take an expired claim")
	}
	// Claims do not disturb the task.
	if got, err := a.GetTask(ctx, "tbl", "c"); err != nil || got.Name != "c" {
		t.Fatalf("GetTask after claims = %+v, %v", got, err)
	}
	if _, err := a.Claim(ctx, "tbl", "gone", "init", "x", time.Minute); !errors.Is(err, ErrNotFound) {
		t.Fatalf("claim on a missing task = %v, want ErrNotFound", err)
	}
	if _, err := a.Claim(ctx, "tbl", "c", "Bad-Name", "x", time.Minute); err == nil {
		t.Fatal("claim with an invalid name accepted")
	}
}

func TestTablestorePSValueDecodeNeverPanics(t *testing.T) {
	for _, data := range [][]byte{nil, {}, {0x80}, {5, 'a'}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, encodePSValue("k", []byte("v"))} {
		k, v, err := decodePSValue(data)
		if err == nil && (k != "k" || string(v) != "v") {
			t.Fatalf("decodePSValue(%x) = %q, %q, nil", data, k, v)
		}
	}
}

func FuzzDecodePSValue(f *testing.F) {
	f.Add(encodePSValue("wm/c/data/p", []byte("{}")))
	f.Add([]byte{0x80})
	f.Fuzz(func(t *testing.T, data []byte) {
		k, v, err := decodePSValue(data)
		if err != nil {
			return
		}
		if again := encodePSValue(k, v); !bytes.Equal(again, data) && len(again) > len(data) {
			t.Fatalf("decoded %q/%q from %x re-encodes longer: %x", k, v, data, again)
		}
	})
}

// BenchmarkTablestoreApply measures a journal step through the shared
// registry (read the pipeline-state version, conditional single-row update)
// against a same-run baseline of one unconditional UpdateRow of the same
// cells through the same SDK and endpoint, and reports the ratio: the cost
// of the version condition (one extra read per step).
func BenchmarkTablestoreApply(b *testing.B) {
	ctx := context.Background()
	endpoint := localTablestore(b)
	reg := openTablestore(b, endpoint, KeyFromPassphrase("bench"))
	if err := reg.CreateTask(ctx, sampleTask("orders", "bench")); err != nil {
		b.Fatal(err)
	}
	ps := reg.PipelineState("orders", "bench")
	puts := map[string][]byte{"wm/stream_x_3/data/dt=2026-11-24": []byte(`{"seq":1}`), "count/3": []byte(`{"rows_delivered":5}`)}
	start := time.Now()
	for i := 0; i < b.N; i++ {
		change := &ots.UpdateRowChange{TableName: DefaultTable, PrimaryKey: primaryKey(kindTask, "orders/bench")}
		for k, v := range puts {
			change.PutColumn(psColumn(k), encodePSValue(k, v))
		}
		change.DeleteColumn(psColumn("intent/3/data"))
		change.SetCondition(ots.RowExistenceExpectation_IGNORE)
		if _, err := reg.client.UpdateRow(&ots.UpdateRowRequest{UpdateRowChange: change}); err != nil {
			b.Fatal(err)
		}
	}
	baseline := time.Since(start)
	b.ResetTimer()
	start = time.Now()
	for i := 0; i < b.N; i++ {
		if err := ps.Apply(ctx, puts, []string{"intent/3/data"}); err != nil {
			b.Fatal(err)
		}
	}
	subject := time.Since(start)
	b.ReportMetric(float64(baseline.Nanoseconds())/float64(b.N), "baseline-ns/op")
	b.ReportMetric(float64(subject)/float64(baseline), "ratio-vs-unconditional-update")
}

// dropResponses passes requests on to the local Tablestore (inner, a proxy
// to the local cloud's endpoint) but, for the next drops requests to an
// operation, has the request executed and then breaks the connection instead
// of answering: the write lands, and the SDK resends it. Unlike the fault
// injector's lost_response_rate it drops exactly the next n answers of one
// operation, which the test counts on.
type dropResponses struct {
	inner http.Handler
	mu    sync.Mutex
	drops map[string]int // operation path → responses still to drop
	seen  map[string]int // operation path → requests executed
}

func (d *dropResponses) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	d.seen[r.URL.Path]++
	drop := d.drops[r.URL.Path] > 0
	if drop {
		d.drops[r.URL.Path]--
	}
	d.mu.Unlock()
	if !drop {
		d.inner.ServeHTTP(w, r)
		return
	}
	d.inner.ServeHTTP(httptest.NewRecorder(), r)
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

func (d *dropResponses) dropNext(op string, n int) {
	d.mu.Lock()
	d.drops["/"+op] = n
	d.mu.Unlock()
}

func (d *dropResponses) executed(op string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.seen["/"+op]
}

// A write that lands but whose answer is lost is resent by the SDK and then
// fails its condition (it meets its own version): the registry must notice
// its own write instead of applying the change twice or reporting a
// conflict.
func TestTablestoreResentWritesApplyOnce(t *testing.T) {
	ctx := context.Background()
	upstream, err := url.Parse(startCloud(t).TablestoreURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := &dropResponses{inner: httputil.NewSingleHostReverseProxy(upstream), drops: map[string]int{}, seen: map[string]int{}}
	hs := httptest.NewServer(proxy)
	defer hs.Close()
	reg := openTablestore(t, hs.URL, KeyFromPassphrase("k"))

	proxy.dropNext("PutRow", 1)
	if err := reg.CreateTask(ctx, sampleTask("tbl", "once")); err != nil {
		t.Fatalf("CreateTask whose answer was lost = %v, want success", err)
	}
	if n := proxy.executed("PutRow"); n < 2 {
		t.Fatalf("PutRow executed %d times; the test needs the SDK to resend it", n)
	}
	before := proxy.executed("UpdateRow")
	proxy.dropNext("UpdateRow", 1)
	if err := reg.UpdateStatus(ctx, "tbl", "once", func(s *task.Status) { s.RowsDelivered += 5 }); err != nil {
		t.Fatal(err)
	}
	if n := proxy.executed("UpdateRow") - before; n < 2 {
		t.Fatalf("UpdateRow executed %d times; the test needs the SDK to resend it", n)
	}
	got, err := reg.GetTask(ctx, "tbl", "once")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status.RowsDelivered != 5 {
		t.Fatalf("RowsDelivered = %d after one +5 whose answer was lost, want 5", got.Status.RowsDelivered)
	}
	// A journal step is a blind write: resending it is harmless.
	ps := reg.PipelineState("tbl", "once")
	proxy.dropNext("UpdateRow", 1)
	if err := ps.Apply(ctx, map[string][]byte{"seq/0/data": []byte("1")}, nil); err != nil {
		t.Fatal(err)
	}
	if v, ok, _ := ps.Get(ctx, "seq/0/data"); !ok || string(v) != "1" {
		t.Fatalf("seq/0/data = %q, %v", v, ok)
	}
	// A conditional step must know its own write: the resend meets the
	// state it wrote, where the expectation no longer holds.
	before = proxy.executed("UpdateRow")
	proxy.dropNext("UpdateRow", 1)
	if err := ps.ApplyIf(ctx, map[string][]byte{"lease": nil}, map[string][]byte{"lease": []byte("me")}, nil); err != nil {
		t.Fatalf("ApplyIf whose answer was lost = %v, want success", err)
	}
	if n := proxy.executed("UpdateRow") - before; n < 2 {
		t.Fatalf("UpdateRow executed %d times; the test needs the SDK to resend it", n)
	}
	if v, ok, _ := ps.Get(ctx, "lease"); !ok || string(v) != "me" {
		t.Fatalf("lease = %q, %v; want me", v, ok)
	}
	if err := ps.ApplyIf(ctx, map[string][]byte{"lease": nil}, map[string][]byte{"lease": []byte("you")}, nil); !errors.Is(err, ErrConflict) {
		t.Fatalf("taking the lease again = %v, want ErrConflict", err)
	}
	proxy.dropNext("DeleteRow", 1)
	if err := reg.DeleteTask(ctx, "tbl", "once"); err != nil {
		t.Fatalf("DeleteTask whose answer was lost = %v, want success", err)
	}
	if _, err := reg.GetTask(ctx, "tbl", "once"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("task after delete: %v", err)
	}
	if err := reg.PutRole(ctx, RoleRecord{Role: task.Role{Name: "r", ARN: "arn"}, Credentials: Credentials{AccessKeyID: "a", AccessKeySecret: "s"}}); err != nil {
		t.Fatal(err)
	}
	proxy.dropNext("DeleteRow", 1)
	if err := reg.DeleteRole(ctx, "r"); err != nil {
		t.Fatalf("DeleteRole whose answer was lost = %v, want success", err)
	}
}
