package pipeline

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/kv"
	localoss "github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/oss"
	localots "github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/state"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"

	"github.com/tablestore-delivery/terraform-provider-tablestore/internal/testsupport"
)

const (
	stackInstance = "local"
	stackRegion   = "cn-hangzhou"
	stackKeyID    = "pipeline-test-key"
	stackSecret   = "pipeline-test-secret"
	stackRoleARN  = "acs:ram::1000000000000001:role/aliyunserviceroleforotsdatadelivery"
)

// cloud is the local cloud of a test (localcloud.Start: Tablestore with its
// tunnel service and OSS, on one data dir), with SDK clients for the test's
// own writes and reads.
type cloud struct {
	t      testing.TB
	dir    string
	lc     *localcloud.Cloud
	ots    *localots.Server
	oss    *localoss.Server
	otsURL string
	ossURL string
	client *tablestore.TableStoreClient
	ossc   *oss.Client
}

func startCloud(t testing.TB, dir string) *cloud {
	return startCloudWith(t, dir, nil)
}

// startCloudWith starts a cloud after tweak has changed its configuration.
func startCloudWith(t testing.TB, dir string, tweak func(*localcloud.Config)) *cloud {
	t.Helper()
	cfg := localcloud.Config{DataDir: dir, Instance: stackInstance, Region: stackRegion,
		Credentials: map[string]string{stackKeyID: stackSecret}, Shards: 4, TunnelClientTimeout: 3 * time.Second,
		Logger: testsupport.QuietLogger("PIPELINE_TEST_LOGS")}
	if tweak != nil {
		tweak(&cfg)
	}
	lc, err := localcloud.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := &cloud{t: t, dir: dir, lc: lc, ots: lc.Tablestore, oss: lc.OSS, otsURL: lc.TablestoreURL, ossURL: lc.OSSURL}
	c.client = tablestore.NewClient(c.otsURL, stackInstance, stackKeyID, stackSecret)
	if c.ossc, err = oss.New(c.ossURL, stackKeyID, stackSecret); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *cloud) close() { _ = c.lc.Close() }

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
		Registry: reg, TablestoreEndpoint: c.otsURL, Instance: stackInstance,
		AccessKeyID: stackKeyID, AccessKeySecret: stackSecret,
		OSSEndpoints: map[string]string{stackRegion: c.ossURL},
		Logger:       testsupport.QuietLogger("PIPELINE_TEST_LOGS"), Metrics: prom,
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
