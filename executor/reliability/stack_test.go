package reliability

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"
	"github.com/parquet-go/parquet-go"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/api"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/catalog"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/client"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/fault"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/kv"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/pipeline"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/state"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"

	"github.com/tablestore-delivery/terraform-provider-tablestore/internal/testsupport"
)

const (
	instance = "local"
	region   = "cn-hangzhou"
	// The local cloud's own credentials (the source instance), and the OSS
	// credentials a role carries: different, so a leaked role secret is
	// never mistaken for the other.
	cloudKeyID  = "reliability-cloud-key"
	cloudSecret = "reliability-cloud-secret"
	roleKeyID   = "reliability-role-key"
	roleSecret  = "role-secret-7c1f9e2a-do-not-leak"
	apiToken    = "reliability-api-token-0123456789"
	secretPass  = "reliability-at-rest-passphrase"
)

func long() bool { return os.Getenv("DELIVERY_LONG") != "" }

// pick returns the long value under DELIVERY_LONG, the short one otherwise.
func pick[T any](short, longValue T) T {
	if long() {
		return longValue
	}
	return short
}

// stack is one executor (API + pipelines) delivering from the local cloud.
// The executor reaches the cloud through the fault injector; the test's own
// clients use separate listeners without faults, so that writing source rows
// and reading objects back is never disturbed.
type stack struct {
	t    *testing.T
	dir  string
	logs *testsupport.LockedBuffer

	store  *kv.Store
	cloud  *localcloud.Cloud
	faults *fault.Injector

	registry  *state.Bolt
	metrics   *prometheus.Registry
	pipelines *pipeline.Manager
	api       *api.Server

	apiURL   string
	cleanOTS string                       // Tablestore without faults
	cleanOSS string                       // OSS without faults
	api0     *client.Client               // the executor API client
	ots0     *tablestore.TableStoreClient // source writes, no faults
	oss0     *oss.Client                  // object reads, no faults
}

type stackOptions struct {
	shards         int // of new tables; default 4
	memoryBudget   int64
	transientGrace time.Duration
}

func startStack(t *testing.T, opts stackOptions) *stack {
	t.Helper()
	s := &stack{t: t, dir: t.TempDir(), logs: &testsupport.LockedBuffer{}}
	log := slog.New(slog.NewTextHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if os.Getenv("RELIABILITY_TEST_LOGS") != "" {
		log = slog.New(slog.NewTextHandler(io.MultiWriter(s.logs, os.Stderr), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	var err error
	if s.store, err = kv.Open(s.dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.store.Close() })
	shards := opts.shards
	if shards == 0 {
		shards = 4
	}
	s.faults = fault.New(fault.Options{Seed: 20261124, Logger: log.With("component", "fault")})
	s.cloud, err = localcloud.Start(context.Background(), localcloud.Config{DataDir: s.dir, Store: s.store,
		Instance: instance, Region: region, Credentials: map[string]string{cloudKeyID: cloudSecret, roleKeyID: roleSecret},
		Shards: shards, Faults: s.faults, TunnelClientTimeout: 5 * time.Second, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.cloud.Close() })

	serve := func(h http.Handler) string {
		srv := httptest.NewServer(h)
		t.Cleanup(func() { srv.CloseClientConnections(); srv.Close() })
		return srv.URL
	}
	// The executor goes through the fault injector (the cloud's own
	// listeners); the test's clients get listeners of their own without it.
	faultyOTS, faultyOSS := s.cloud.TablestoreURL, s.cloud.OSSURL
	s.cleanOTS, s.cleanOSS = serve(s.cloud.Tablestore), serve(s.cloud.OSS)
	cleanOTS, cleanOSS := s.cleanOTS, s.cleanOSS

	if s.registry, err = state.NewBolt(s.store, state.KeyFromPassphrase(secretPass)); err != nil {
		t.Fatal(err)
	}
	s.metrics = prometheus.NewRegistry()
	tables, err := catalog.NewTablestore(catalog.Config{Endpoint: faultyOTS, Instance: instance, AccessKeyID: cloudKeyID, AccessKeySecret: cloudSecret})
	if err != nil {
		t.Fatal(err)
	}
	grace := opts.transientGrace
	if grace == 0 {
		grace = time.Minute
	}
	s.pipelines, err = pipeline.New(pipeline.Config{
		Registry: s.registry, TablestoreEndpoint: faultyOTS, Instance: instance,
		AccessKeyID: cloudKeyID, AccessKeySecret: cloudSecret,
		OSSEndpoints: map[string]string{region: faultyOSS},
		Logger:       log.With("component", "pipeline"), Metrics: s.metrics,
		MemoryBudgetBytes: opts.memoryBudget,
		HeartbeatInterval: time.Second, HeartbeatTimeout: 5 * time.Second,
		StatusInterval: 200 * time.Millisecond, TickInterval: 100 * time.Millisecond,
		RetryBase: 50 * time.Millisecond, RetryMax: time.Second,
		TransientGrace: grace,
	})
	if err != nil {
		t.Fatal(err)
	}
	s.api, err = api.New(api.Config{Token: apiToken, Registry: s.registry, Catalog: tables, Runner: s.pipelines,
		Region: region, Logger: log.With("component", "api"), Metrics: s.metrics, RetryInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// Stop the API's lifecycle work, then the pipelines, before the servers.
	t.Cleanup(func() { _ = s.pipelines.Close() })
	t.Cleanup(func() { _ = s.api.Close() })
	s.apiURL = serve(s.api)
	if s.api0, err = client.New(s.apiURL, apiToken); err != nil {
		t.Fatal(err)
	}
	s.ots0 = tablestore.NewClient(cleanOTS, instance, cloudKeyID, cloudSecret)
	if s.oss0, err = oss.New(cleanOSS, cloudKeyID, cloudSecret); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *stack) setFaults(target fault.Target, r fault.Rule) {
	s.t.Helper()
	if err := s.faults.Set(target, r); err != nil {
		s.t.Fatal(err)
	}
}

// columns of every test table: id is the primary key, seq the write that
// produced the row (so a row written twice is told apart from a duplicate).
var columns = []task.Column{
	{Source: "id", Name: "id", Type: task.TypeInt64},
	{Source: "seq", Name: "seq", Type: task.TypeInt64},
	{Source: "payload", Name: "payload", Type: task.TypeUTF8},
}

func (s *stack) createTable(name string) {
	s.t.Helper()
	meta := &tablestore.TableMeta{TableName: name}
	meta.AddPrimaryKeyColumn("id", tablestore.PrimaryKeyType_INTEGER)
	_, err := s.ots0.CreateTable(&tablestore.CreateTableRequest{TableMeta: meta,
		TableOption: &tablestore.TableOption{TimeToAlive: -1, MaxVersion: 1}, ReservedThroughput: &tablestore.ReservedThroughput{}})
	if err != nil {
		s.t.Fatalf("create table %s: %v", name, err)
	}
}

// row is one delivered (or expected) row.
type row struct {
	id, seq int64
	payload string
}

func payloadOf(id, seq int64) string { return fmt.Sprintf("row-%d-write-%d", id, seq) }

// putRows writes ids [from, to) with write number seq, 200 rows a batch.
// It returns the rows the table then holds for those ids.
func (s *stack) putRows(table string, from, to, seq int64) []row {
	s.t.Helper()
	var out []row
	for start := from; start < to; start += 200 {
		req := &tablestore.BatchWriteRowRequest{}
		for id := start; id < min(start+200, to); id++ {
			pk := &tablestore.PrimaryKey{}
			pk.AddPrimaryKeyColumn("id", id)
			ch := &tablestore.PutRowChange{TableName: table, PrimaryKey: pk}
			ch.AddColumn("seq", seq)
			ch.AddColumn("payload", payloadOf(id, seq))
			ch.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
			req.AddRowChange(ch)
			out = append(out, row{id: id, seq: seq, payload: payloadOf(id, seq)})
		}
		resp, err := s.ots0.BatchWriteRow(req)
		if err != nil {
			s.t.Fatalf("write rows of %s: %v", table, err)
		}
		for _, results := range resp.TableToRowsResult {
			for _, r := range results {
				if !r.IsSucceed {
					s.t.Fatalf("write a row of %s: %+v", table, r.Error)
				}
			}
		}
	}
	return out
}

func (s *stack) createBucket(name string) {
	s.t.Helper()
	if err := s.oss0.CreateBucket(name); err != nil {
		s.t.Fatalf("create bucket %s: %v", name, err)
	}
}

func (s *stack) putRole() {
	s.t.Helper()
	_, err := s.api0.PutRole(context.Background(), task.DefaultRoleName,
		task.RoleInput{OSSAccessKeyID: roleKeyID, OSSAccessKeySecret: roleSecret, Description: "reliability tests"})
	if err != nil {
		s.t.Fatalf("put role: %v", err)
	}
}

// createTask creates a differential task through the API.
func (s *stack) createTask(name, table, bucket, prefix string, mode task.SyncMode) {
	s.t.Helper()
	_, err := s.api0.CreateTask(context.Background(), task.Spec{Name: name, Table: table, Bucket: bucket, Prefix: prefix,
		SyncMode: mode, Columns: columns, FlushIntervalSeconds: 1, TargetObjectSizeMB: 1})
	if err != nil {
		s.t.Fatalf("create task %s: %v", name, err)
	}
}

func (s *stack) status(table, name string) task.Status {
	s.t.Helper()
	got, err := s.api0.GetTask(context.Background(), table, name)
	if err != nil {
		s.t.Fatalf("get task %s: %v", name, err)
	}
	return got.Status
}

// objects reads every object under prefix with the OSS SDK.
func (s *stack) objects(bucket, prefix string) map[string][]byte {
	s.t.Helper()
	b, err := s.oss0.Bucket(bucket)
	if err != nil {
		s.t.Fatal(err)
	}
	out := map[string][]byte{}
	marker := ""
	for {
		res, err := b.ListObjects(oss.Prefix(prefix), oss.Marker(marker), oss.MaxKeys(1000))
		if err != nil {
			s.t.Fatalf("list %s/%s: %v", bucket, prefix, err)
		}
		for _, o := range res.Objects {
			out[o.Key] = s.readObject(b, o.Key)
		}
		if !res.IsTruncated {
			return out
		}
		marker = res.NextMarker
	}
}

func (s *stack) readObject(b *oss.Bucket, key string) []byte {
	s.t.Helper()
	rc, err := b.GetObject(key)
	if err != nil {
		s.t.Fatalf("get %s: %v", key, err)
	}
	defer func() { _ = rc.Close() }()
	data, err := io.ReadAll(rc)
	if err != nil {
		s.t.Fatalf("read %s: %v", key, err)
	}
	return data
}

// parquetRows decodes the rows of one object with parquet-go.
func parquetRows(t *testing.T, key string, data []byte) []row {
	t.Helper()
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("object %s is not Parquet: %v", key, err)
	}
	index := map[string]int{}
	for i, field := range f.Schema().Fields() {
		index[field.Name()] = i
	}
	for _, c := range []string{"id", "seq", "payload"} {
		if _, ok := index[c]; !ok {
			t.Fatalf("object %s lacks column %s (has %v)", key, c, index)
		}
	}
	r := parquet.NewReader(f)
	defer func() { _ = r.Close() }()
	var out []row
	buf := make([]parquet.Row, 256)
	for {
		n, err := r.ReadRows(buf)
		for _, pr := range buf[:n] {
			var got row
			for _, v := range pr {
				switch v.Column() {
				case index["id"]:
					got.id = v.Int64()
				case index["seq"]:
					got.seq = v.Int64()
				case index["payload"]:
					got.payload = string(v.ByteArray())
				}
			}
			out = append(out, got)
		}
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("read rows of %s: %v", key, err)
		}
	}
}

// deliveredRows decodes every object.
func deliveredRows(t *testing.T, objs map[string][]byte) []row {
	t.Helper()
	var out []row
	for key, data := range objs {
		out = append(out, parquetRows(t, key, data)...)
	}
	return out
}

// diff compares delivered rows with expected ones as multisets and returns
// the losses, the duplicates (extra copies) and rows nobody wrote.
func diff(want, got []row) (lost, duplicated, unexpected int, sample string) {
	counts := map[row]int{}
	for _, r := range want {
		counts[r]++
	}
	var notes []string
	note := func(format string, args ...any) {
		if len(notes) < 5 {
			notes = append(notes, fmt.Sprintf(format, args...))
		}
	}
	wanted := map[row]bool{}
	for r := range counts {
		wanted[r] = true
	}
	for _, r := range got {
		switch {
		case counts[r] > 0:
			counts[r]--
		case wanted[r]:
			duplicated++
			note("duplicate %+v", r)
		default:
			unexpected++
			note("unexpected %+v", r)
		}
	}
	for r, n := range counts {
		if n > 0 {
			lost += n
			note("lost %+v", r)
		}
	}
	sort.Strings(notes)
	return lost, duplicated, unexpected, strings.Join(notes, "; ")
}

// checkExactlyOnce fails unless got is exactly want, as multisets.
func checkExactlyOnce(t *testing.T, what string, want, got []row) {
	t.Helper()
	lost, dup, unexpected, sample := diff(want, got)
	t.Logf("%s: %d rows checked, %d delivered, %d lost, %d duplicated, %d unexpected", what, len(want), len(got), lost, dup, unexpected)
	if lost+dup+unexpected > 0 {
		t.Fatalf("%s: %d lost, %d duplicated, %d unexpected: %s", what, lost, dup, unexpected, sample)
	}
}

// gauge reads one unlabelled gauge from the executor's metrics.
func (s *stack) gauge(name string) float64 {
	s.t.Helper()
	families, err := s.metrics.Gather()
	if err != nil {
		s.t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name {
			return sumMetric(f)
		}
	}
	s.t.Fatalf("metric %s not exported", name)
	return 0
}

func sumMetric(f *dto.MetricFamily) float64 {
	var total float64
	for _, m := range f.GetMetric() {
		switch {
		case m.GetGauge() != nil:
			total += m.GetGauge().GetValue()
		case m.GetCounter() != nil:
			total += m.GetCounter().GetValue()
		}
	}
	return total
}

// faultSummary logs what the injector did, for the report.
func (s *stack) faultSummary() string {
	var parts []string
	for _, target := range fault.Targets {
		c := s.faults.Counts()[target]
		parts = append(parts, fmt.Sprintf("%s: %d calls, %d faults (%d errors, %d throttles, %d resets, %d lost responses)",
			target, c.Requests, c.Faults(), c.Errors, c.Throttles, c.Resets, c.LostResponses))
	}
	return strings.Join(parts, "; ")
}
