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

// The registry's shared behaviour is tested by runRegistrySuite
// (suite_test.go), against the local Tablestore as well; here is what only
// the Tablestore registry has: its row layout, version conditions, claims
// and its answer to resent writes.

// At rest a role's secret is sealed: read the raw row through the SDK.
func TestTablestoreRoleSecretsAreSealedAtRest(t *testing.T) {
	ctx := context.Background()
	endpoint := localTablestore(t)
	a := openTablestore(t, endpoint, KeyFromPassphrase("right"))
	rec := RoleRecord{Role: task.Role{Name: "writer", ARN: task.RoleARN(task.DefaultAccountID, "writer")},
		Credentials: Credentials{AccessKeyID: "AKID1", AccessKeySecret: "top-secret-value"}}
	if err := a.PutRole(ctx, rec); err != nil {
		t.Fatal(err)
	}
	// Replacing goes through the version condition.
	rec.Credentials.AccessKeySecret = "rotated"
	if err := a.PutRole(ctx, rec); err != nil {
		t.Fatal(err)
	}
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
		if c.ColumnName == colVersion && c.Value != int64(2) {
			t.Fatalf("role version = %v after a create and a replace, want 2", c.Value)
		}
	}
	// An executor with another key is told what to check.
	wrong := openTablestore(t, endpoint, KeyFromPassphrase("wrong"))
	if _, err := wrong.GetRole(ctx, "writer"); err == nil || !strings.Contains(err.Error(), "do all executors share the secret key?") {
		t.Fatalf("GetRole with the wrong key = %v, want a decrypt error asking about the key", err)
	}
	if _, err := NewTablestore(ctx, TablestoreConfig{Endpoint: endpoint, Instance: localtablestore.DefaultInstance,
		AccessKeyID: testKeyID, AccessKeySecret: testKeySecret, SecretKey: []byte("short")}); err == nil {
		t.Fatal("NewTablestore accepted a short key")
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
