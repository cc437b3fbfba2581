package pipeline

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/kv"
	localoss "github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/oss"
	localots "github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore"
	localtunnel "github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/tunnel"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/state"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

const (
	stackInstance = "local"
	stackRegion   = "cn-hangzhou"
	stackKeyID    = "pipeline-test-key"
	stackSecret   = "pipeline-test-secret"
	stackRoleARN  = "acs:ram::1000000000000001:role/aliyunserviceroleforotsdatadelivery"
)

// handlerRef lets the Tablestore server be built before the tunnel service
// that needs its storage.
type handlerRef struct {
	mu sync.RWMutex
	h  http.Handler
}

func (r *handlerRef) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.RLock()
	h := r.h
	r.mu.RUnlock()
	if h == nil {
		http.Error(w, "tunnel service not ready", http.StatusServiceUnavailable)
		return
	}
	h.ServeHTTP(w, req)
}

// cloud is the local cloud of a test: Tablestore with its tunnel service and
// OSS, on one data dir, served over HTTP.
type cloud struct {
	t       testing.TB
	dir     string
	store   *kv.Store
	ots     *localots.Server
	tunnels *localtunnel.Service
	oss     *localoss.Server
	otsHTTP *httptest.Server
	ossHTTP *httptest.Server
	client  *tablestore.TableStoreClient
	ossc    *oss.Client
}

func quietLogger() *slog.Logger {
	if os.Getenv("PIPELINE_TEST_LOGS") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func startCloud(t testing.TB, dir string) *cloud {
	t.Helper()
	c := &cloud{t: t, dir: dir}
	var err error
	if c.store, err = kv.Open(dir); err != nil {
		t.Fatal(err)
	}
	ref := &handlerRef{}
	creds := map[string]string{stackKeyID: stackSecret}
	c.ots, err = localots.New(localots.Config{Instance: stackInstance, Region: stackRegion, Credentials: creds,
		Shards: 4, Store: c.store, Logger: quietLogger(), Tunnel: ref})
	if err != nil {
		t.Fatal(err)
	}
	c.tunnels, err = localtunnel.New(localtunnel.Config{Source: localtunnel.NewStorageSource(c.ots.Storage()),
		Store: c.store, Instance: stackInstance, Logger: quietLogger(), ClientTimeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ref.mu.Lock()
	ref.h = c.tunnels
	ref.mu.Unlock()
	c.oss, err = localoss.New(localoss.Config{Region: stackRegion, Credentials: creds, DataDir: dir, Store: c.store, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	c.otsHTTP = httptest.NewServer(c.ots)
	c.ossHTTP = httptest.NewServer(c.oss)
	c.client = tablestore.NewClient(c.otsHTTP.URL, stackInstance, stackKeyID, stackSecret)
	if c.ossc, err = oss.New(c.ossHTTP.URL, stackKeyID, stackSecret); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *cloud) close() {
	c.otsHTTP.CloseClientConnections()
	c.otsHTTP.Close()
	c.ossHTTP.CloseClientConnections()
	c.ossHTTP.Close()
	_ = c.tunnels.Close()
	_ = c.oss.Close()
	_ = c.store.Close()
}

// createTable makes a table with an integer primary key "id".
func (c *cloud) createTable(name string) {
	c.t.Helper()
	meta := &tablestore.TableMeta{TableName: name}
	meta.AddPrimaryKeyColumn("id", tablestore.PrimaryKeyType_INTEGER)
	_, err := c.client.CreateTable(&tablestore.CreateTableRequest{
		TableMeta: meta, TableOption: &tablestore.TableOption{TimeToAlive: -1, MaxVersion: 1},
		ReservedThroughput: &tablestore.ReservedThroughput{},
	})
	if err != nil {
		c.t.Fatalf("create table %s: %v", name, err)
	}
}

// putRows writes rows with the SDK in batches; each row is id plus cols(id).
func (c *cloud) putRows(table string, ids []int64, cols func(id int64) map[string]any) {
	c.t.Helper()
	for start := 0; start < len(ids); start += 100 {
		req := &tablestore.BatchWriteRowRequest{}
		for _, id := range ids[start:min(start+100, len(ids))] {
			pk := &tablestore.PrimaryKey{}
			pk.AddPrimaryKeyColumn("id", id)
			ch := &tablestore.PutRowChange{TableName: table, PrimaryKey: pk}
			names := make([]string, 0)
			values := cols(id)
			for n := range values {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				ch.AddColumn(n, values[n])
			}
			ch.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
			req.AddRowChange(ch)
		}
		resp, err := c.client.BatchWriteRow(req)
		if err != nil {
			c.t.Fatalf("batch write: %v", err)
		}
		for _, rows := range resp.TableToRowsResult {
			for _, r := range rows {
				if !r.IsSucceed {
					c.t.Fatalf("batch write row failed: %+v", r.Error)
				}
			}
		}
	}
}

func (c *cloud) updateRow(table string, id int64, values map[string]any) {
	c.t.Helper()
	pk := &tablestore.PrimaryKey{}
	pk.AddPrimaryKeyColumn("id", id)
	ch := &tablestore.UpdateRowChange{TableName: table, PrimaryKey: pk}
	for n, v := range values {
		ch.PutColumn(n, v)
	}
	ch.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
	if _, err := c.client.UpdateRow(&tablestore.UpdateRowRequest{UpdateRowChange: ch}); err != nil {
		c.t.Fatalf("update row %d: %v", id, err)
	}
}

func (c *cloud) deleteRow(table string, id int64) {
	c.t.Helper()
	pk := &tablestore.PrimaryKey{}
	pk.AddPrimaryKeyColumn("id", id)
	ch := &tablestore.DeleteRowChange{TableName: table, PrimaryKey: pk}
	ch.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
	if _, err := c.client.DeleteRow(&tablestore.DeleteRowRequest{DeleteRowChange: ch}); err != nil {
		c.t.Fatalf("delete row %d: %v", id, err)
	}
}

func (c *cloud) createBucket(name string) {
	c.t.Helper()
	if err := c.ossc.CreateBucket(name); err != nil {
		c.t.Fatalf("create bucket %s: %v", name, err)
	}
}

// objects lists and reads every object of a bucket under prefix through
// the OSS SDK.
func (c *cloud) objects(bucket, prefix string) map[string][]byte {
	c.t.Helper()
	b, err := c.ossc.Bucket(bucket)
	if err != nil {
		c.t.Fatal(err)
	}
	out := map[string][]byte{}
	marker := ""
	for {
		res, err := b.ListObjects(oss.Prefix(prefix), oss.Marker(marker), oss.MaxKeys(1000))
		if err != nil {
			if strings.Contains(err.Error(), "NoSuchBucket") {
				return out
			}
			c.t.Fatalf("list objects: %v", err)
		}
		for _, o := range res.Objects {
			rc, err := b.GetObject(o.Key)
			if err != nil {
				c.t.Fatalf("get %s: %v", o.Key, err)
			}
			data, err := io.ReadAll(rc)
			_ = rc.Close()
			if err != nil {
				c.t.Fatalf("read %s: %v", o.Key, err)
			}
			out[o.Key] = data
		}
		if !res.IsTruncated {
			return out
		}
		marker = res.NextMarker
	}
}

// executor is the pipelines side: a registry on its own store and a Manager.
type executor struct {
	t     testing.TB
	store *kv.Store
	reg   *state.Bolt
	mgr   *Manager
	prom  *prometheus.Registry
}

func startExecutor(t testing.TB, dir string, c *cloud, tweak func(*Config)) *executor {
	t.Helper()
	store, err := kv.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := state.NewBolt(store, state.KeyFromPassphrase("pipeline-tests"))
	if err != nil {
		t.Fatal(err)
	}
	prom := prometheus.NewRegistry()
	cfg := Config{
		Registry: reg, TablestoreEndpoint: c.otsHTTP.URL, Instance: stackInstance,
		AccessKeyID: stackKeyID, AccessKeySecret: stackSecret,
		OSSEndpoints: map[string]string{stackRegion: c.ossHTTP.URL},
		Logger:       quietLogger(), Metrics: prom,
		HeartbeatInterval: 500 * time.Millisecond, HeartbeatTimeout: 3 * time.Second,
		StatusInterval: 200 * time.Millisecond, TickInterval: 100 * time.Millisecond,
		RetryBase: 50 * time.Millisecond, RetryMax: 500 * time.Millisecond,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	mgr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &executor{t: t, store: store, reg: reg, mgr: mgr, prom: prom}
}

func (e *executor) close() {
	_ = e.mgr.Close()
	_ = e.store.Close()
}

func (e *executor) putRole() {
	e.t.Helper()
	err := e.reg.PutRole(context.Background(), state.RoleRecord{
		Role:        task.Role{Name: task.DefaultRoleName, ARN: stackRoleARN, CreatedAt: time.Now().UTC()},
		Credentials: state.Credentials{AccessKeyID: stackKeyID, AccessKeySecret: stackSecret},
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// createTask stores a task and starts it the way the API's initialization
// does: Start, then INIT → FULL (or INCR).
func (e *executor) createTask(spec task.Spec) task.Task {
	e.t.Helper()
	spec.ApplyDefaults()
	if spec.Region == "" {
		spec.Region = stackRegion
	}
	if spec.RoleARN == "" {
		spec.RoleARN = stackRoleARN
	}
	t := task.Task{Spec: spec, Status: task.Status{Phase: task.PhaseInit, ResolvedColumns: spec.Columns}}
	ctx := context.Background()
	if err := e.reg.CreateTask(ctx, t); err != nil {
		e.t.Fatal(err)
	}
	if err := e.mgr.Start(ctx, t); err != nil {
		e.t.Fatalf("start: %v", err)
	}
	next := task.PhaseFull
	if spec.SyncMode == task.SyncIncremental {
		next = task.PhaseIncr
	}
	err := e.reg.UpdateStatus(ctx, t.Table, t.Name, func(s *task.Status) {
		if s.Phase == task.PhaseInit {
			s.Phase = next
		}
	})
	if err != nil {
		e.t.Fatal(err)
	}
	got, err := e.reg.GetTask(ctx, t.Table, t.Name)
	if err != nil {
		e.t.Fatal(err)
	}
	return got
}

func (e *executor) status(table, name string) task.Status {
	e.t.Helper()
	got, err := e.reg.GetTask(context.Background(), table, name)
	if err != nil {
		e.t.Fatal(err)
	}
	return got.Status
}

// waitFor polls cond until it returns "" or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		if last = cond(); last == "" {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s: %s", what, last)
}

// decodedRow is one delivered row, by column name.
type decodedRow map[string]any

// dataRows decodes every Parquet object among objs.
func dataRows(t testing.TB, objs map[string][]byte) []decodedRow {
	t.Helper()
	var rows []decodedRow
	for key, data := range objs {
		names, raw := readParquet(t, data)
		for _, r := range raw {
			row := decodedRow{"__key": key}
			for i, n := range names {
				row[n] = r[i]
			}
			rows = append(rows, row)
		}
	}
	return rows
}

func idCounts(rows []decodedRow) map[int64]int {
	out := map[int64]int{}
	for _, r := range rows {
		if id, ok := r["id"].(int64); ok {
			out[id]++
		}
	}
	return out
}

func fmtCounts(m map[int64]int, want int) string {
	missing, dup := 0, 0
	for id := int64(0); id < int64(want); id++ {
		switch m[id] {
		case 0:
			missing++
		case 1:
		default:
			dup++
		}
	}
	return fmt.Sprintf("%d ids delivered, %d missing, %d duplicated", len(m), missing, dup)
}
