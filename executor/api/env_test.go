package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/catalog"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/client"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/kv"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/state"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
	"github.com/tablestore-delivery/terraform-provider-tablestore/internal/testsupport"
)

const (
	testToken  = "test-token"
	testRegion = "cn-hangzhou"
)

// memCatalog is a catalog test double: tables described in memory. The
// integration tests in catalog_integration_test.go use the real local
// Tablestore instead.
type memCatalog struct {
	mu         sync.Mutex
	tables     map[string]catalog.Table
	samples    map[string][][]catalog.Value
	fail       error // returned by every call when set
	failSample error // returned by SampleAttributes when set
}

func newMemCatalog() *memCatalog {
	return &memCatalog{tables: map[string]catalog.Table{}, samples: map[string][][]catalog.Value{}}
}

func (c *memCatalog) add(t catalog.Table, sample ...[]catalog.Value) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tables[t.Name] = t
	c.samples[t.Name] = sample
}

func (c *memCatalog) remove(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.tables, name)
}

// catalogTable is a table with one INTEGER primary key column "id".
func catalogTable(name string) catalog.Table {
	return catalog.Table{Name: name, PrimaryKey: []catalog.Column{{Name: "id", Type: task.TypeInt64}}}
}

func (c *memCatalog) DescribeTable(_ context.Context, table string) (catalog.Table, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return catalog.Table{}, c.fail
	}
	t, ok := c.tables[table]
	if !ok {
		return catalog.Table{}, fmt.Errorf("table %q: %w", table, catalog.ErrTableNotFound)
	}
	return t, nil
}

func (c *memCatalog) SampleAttributes(ctx context.Context, table string, limit int) ([][]catalog.Value, error) {
	if _, err := c.DescribeTable(ctx, table); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failSample != nil {
		return nil, c.failSample
	}
	rows := c.samples[table]
	if len(rows) > limit {
		rows = rows[:limit]
	}
	return rows, nil
}

// recordingRunner records the lifecycle calls; Start can be held back with
// a gate to observe the INIT phase.
type recordingRunner struct {
	mu      sync.Mutex
	started []task.Task
	updated []task.Task
	stopped []string
	gate    chan struct{} // when not nil, Start waits for it to close
	failN   int           // Start fails this many times first
}

func (r *recordingRunner) Start(ctx context.Context, t task.Task) error {
	r.mu.Lock()
	gate := r.gate
	if r.failN > 0 {
		r.failN--
		r.mu.Unlock()
		return errors.New("tunnel service unavailable")
	}
	r.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.started = append(r.started, t)
	return nil
}

func (r *recordingRunner) Update(_ context.Context, t task.Task) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.updated = append(r.updated, t)
	return nil
}

func (r *recordingRunner) Stop(_ context.Context, table, name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = append(r.stopped, table+"/"+name)
	return nil
}

func (r *recordingRunner) startedIDs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []string
	for _, t := range r.started {
		ids = append(ids, t.ID())
	}
	return ids
}

// env is one executor API over a data dir, served over real HTTP.
type env struct {
	t       testing.TB
	dir     string
	store   *kv.Store
	reg     *state.Bolt
	cat     catalog.Catalog
	runner  *recordingRunner
	server  *Server
	http    *httptest.Server
	client  *client.Client
	closed  bool
	baseURL string
}

func newEnv(t testing.TB, cat catalog.Catalog, runner *recordingRunner) *env {
	t.Helper()
	return openEnv(t, t.TempDir(), cat, runner)
}

func openEnv(t testing.TB, dir string, cat catalog.Catalog, runner *recordingRunner) *env {
	t.Helper()
	store, err := kv.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := state.NewBolt(store, state.KeyFromPassphrase("test"))
	if err != nil {
		t.Fatal(err)
	}
	if runner == nil {
		runner = &recordingRunner{}
	}
	srv, err := New(Config{Token: testToken, Registry: reg, Catalog: cat, Runner: runner, Region: testRegion,
		Logger: testsupport.QuietLogger(""), RetryInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	c, err := client.New(hs.URL, testToken, client.WithRetries(2, 10*time.Millisecond, 50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: dir, store: store, reg: reg, cat: cat, runner: runner, server: srv, http: hs,
		client: c, baseURL: hs.URL}
	t.Cleanup(e.close)
	return e
}

func (e *env) close() {
	if e.closed {
		return
	}
	e.closed = true
	e.http.Close()
	_ = e.server.Close()
	_ = e.store.Close()
}

// restart closes the executor and opens a new one over the same data dir.
func (e *env) restart(runner *recordingRunner) *env {
	e.close()
	return openEnv(e.t, e.dir, e.cat, runner)
}

// waitPhase polls the task until it reaches the phase, failing after 5 s (the
// embedded setup's initialization bound).
func (e *env) waitPhase(table, name string, phase task.Phase) task.Task {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := e.client.GetTask(context.Background(), table, name)
		if err != nil {
			e.t.Fatalf("GetTask %s/%s: %v", table, name, err)
		}
		if got.Status.Phase == phase {
			return *got
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("task %s/%s still in %s (error %q %q) after 5 s, want %s", table, name,
				got.Status.Phase, got.Status.ErrorCode, got.Status.ErrorDetail, phase)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *env) do(method, path, token string, body io.Reader) *http.Response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.baseURL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

// ordersCatalog has the table "orders" (id INT64 pk, price DOUBLE defined)
// and "events" (pk STRING + INT64, sample rows with undeclared attributes).
func ordersCatalog() *memCatalog {
	c := newMemCatalog()
	c.add(catalog.Table{Name: "orders",
		PrimaryKey: []catalog.Column{{Name: "id", Type: task.TypeInt64}},
		Defined:    []catalog.Column{{Name: "price", Type: task.TypeDouble}}})
	c.add(catalog.Table{Name: "events",
		PrimaryKey: []catalog.Column{{Name: "device", Type: task.TypeUTF8}, {Name: "seq", Type: task.TypeInt64}},
		Defined:    []catalog.Column{{Name: "kind", Type: task.TypeUTF8}}},
		[]catalog.Value{{Column: "kind", Type: task.TypeUTF8}, {Column: "value", Type: task.TypeDouble}},
		[]catalog.Value{{Column: "ok", Type: task.TypeBool}, {Column: "value", Type: task.TypeUTF8}, {Column: "raw", Type: task.TypeBinary}},
	)
	return c
}

func manualSpec(name string) task.Spec {
	return task.Spec{
		Name:   name,
		Table:  "orders",
		Bucket: "lake",
		Prefix: "orders/year=$yyyy/month=$MM/day=$dd",
		Columns: []task.Column{
			{Source: "id", Name: "id", Type: task.TypeInt64},
			{Source: "price", Name: "price", Type: task.TypeDouble},
		},
	}
}
