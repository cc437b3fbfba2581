package tunnel

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"
	sdktunnel "github.com/aliyun/aliyun-tablestore-go-sdk/tunnel"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/kv"
	localots "github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/storage"
)

const (
	testInstance = "local"
	testKeyID    = "test-key"
	testSecret   = "test-secret"
)

func init() {
	// The daemon sleeps up to this many ms before reconnecting a failed worker.
	sdktunnel.DaemonRandomRetryMs = 100
}

// env is one running stack: kv store, storage, tunnel service and an HTTP
// server, with SDK clients pointed at it. restart() closes and reopens all of
// it on the same data dir.
type env struct {
	t       testing.TB
	dir     string
	kv      *kv.Store
	storage *storage.Store
	svc     *Service
	srv     *httptest.Server
	tc      sdktunnel.TunnelClient
	ots     *tablestore.TableStoreClient
	svcCfg  Config
	shards  int
	addr    string // the server's address, kept across restarts
	// retention, when set, is the change log's retention (tests of expiry).
	retention time.Duration
	// splitRows, when set, splits partitions automatically past that many rows.
	splitRows int
}

// newEnv starts a stack whose new tables get the given number of shards.
func newEnv(t testing.TB, cfg Config, shards int) *env {
	t.Helper()
	return newEnvRetention(t, cfg, shards, 0)
}

// newEnvRetention starts a stack whose change log keeps changes for the
// given time (0: the default).
func newEnvRetention(t testing.TB, cfg Config, shards int, retention time.Duration) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), svcCfg: cfg, shards: shards, retention: retention}
	e.open()
	t.Cleanup(e.close)
	return e
}

func (e *env) open() {
	e.t.Helper()
	var err error
	if e.kv, err = kv.Open(e.dir); err != nil {
		e.t.Fatal(err)
	}
	// The Tablestore server owns the storage the tunnel service reads, and
	// the tunnel service is its /tunnel/ handler: forward through a closure
	// to break the cycle.
	var svc *Service
	server, err := localots.New(localots.Config{
		Instance:        testInstance,
		Credentials:     map[string]string{testKeyID: testSecret},
		Shards:          e.shards,
		ChangeRetention: e.retention,
		SplitRows:       e.splitRows,
		Store:           e.kv,
		Logger:          slog.New(slog.DiscardHandler),
		Tunnel:          http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { svc.ServeHTTP(w, r) }),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.storage = server.Storage()
	cfg := e.svcCfg
	cfg.Source = NewStorageSource(e.storage)
	cfg.Store = e.kv
	cfg.Instance = testInstance
	if svc, err = New(cfg); err != nil {
		e.t.Fatal(err)
	}
	e.svc = svc
	e.srv = httptest.NewUnstartedServer(server)
	if e.addr != "" {
		// Re-listen on the previous address (restartSameAddress).
		l, err := net.Listen("tcp", e.addr)
		if err != nil {
			e.t.Fatalf("listen again on %s: %v", e.addr, err)
		}
		e.srv.Listener.Close()
		e.srv.Listener = l
	}
	e.srv.Start()
	e.addr = e.srv.Listener.Addr().String()
	e.tc = sdktunnel.NewTunnelClient(e.srv.URL, testInstance, testKeyID, testSecret)
	e.ots = tablestore.NewClient(e.srv.URL, testInstance, testKeyID, testSecret)
}

func (e *env) close() {
	if e.srv == nil {
		return
	}
	e.srv.CloseClientConnections()
	e.srv.Close()
	if err := e.svc.Close(); err != nil {
		e.t.Error(err)
	}
	if err := e.kv.Close(); err != nil {
		e.t.Error(err)
	}
	e.srv = nil
}

// restart reopens everything on the same data dir and a new address.
func (e *env) restart() {
	e.close()
	e.addr = ""
	e.open()
}

// restartSameAddress reopens everything on the same data dir and address, as
// a restarted process would, so that running SDK clients reach it again.
func (e *env) restartSameAddress() {
	e.close()
	e.open()
}

func (e *env) createTable(name string) {
	e.t.Helper()
	meta := &tablestore.TableMeta{TableName: name}
	meta.AddPrimaryKeyColumn("id", tablestore.PrimaryKeyType_INTEGER)
	_, err := e.ots.CreateTable(&tablestore.CreateTableRequest{
		TableMeta:          meta,
		TableOption:        &tablestore.TableOption{TimeToAlive: -1, MaxVersion: 1},
		ReservedThroughput: &tablestore.ReservedThroughput{},
	})
	if err != nil {
		e.t.Fatalf("create table %s: %v", name, err)
	}
}

// op is one row write of a test.
type op struct {
	kind    ChangeKind
	id      int64
	value   string // put/update: column "v"
	n       int64  // put/update: column "n"
	deleteV bool   // update: delete all versions of "v" instead of setting it
}

// write applies the ops through the SDK's BatchWriteRow (at most 200, each
// on a different row). It reports failures with t.Error so that it may run
// on a processor goroutine.
func (e *env) write(table string, ops ...op) bool {
	req := &tablestore.BatchWriteRowRequest{}
	for _, o := range ops {
		pk := new(tablestore.PrimaryKey)
		pk.AddPrimaryKeyColumn("id", o.id)
		switch o.kind {
		case ChangePut:
			ch := &tablestore.PutRowChange{TableName: table, PrimaryKey: pk}
			ch.AddColumn("n", o.n)
			ch.AddColumn("v", o.value)
			ch.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
			req.AddRowChange(ch)
		case ChangeUpdate:
			ch := &tablestore.UpdateRowChange{TableName: table, PrimaryKey: pk}
			ch.PutColumn("n", o.n)
			if o.deleteV {
				ch.DeleteColumn("v")
			} else {
				ch.PutColumn("v", o.value)
			}
			ch.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
			req.AddRowChange(ch)
		case ChangeDelete:
			ch := &tablestore.DeleteRowChange{TableName: table, PrimaryKey: pk}
			ch.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
			req.AddRowChange(ch)
		}
	}
	resp, err := e.ots.BatchWriteRow(req)
	if err != nil {
		e.t.Errorf("batch write: %v", err)
		return false
	}
	for _, r := range resp.TableToRowsResult[table] {
		if !r.IsSucceed {
			e.t.Errorf("batch write row %d: %s %s", r.Index, r.Error.Code, r.Error.Message)
			return false
		}
	}
	return true
}

func (e *env) putRows(table string, from, to int64) {
	e.t.Helper()
	for start := from; start < to; start += 200 {
		var ops []op
		for id := start; id < min(start+200, to); id++ {
			ops = append(ops, op{kind: ChangePut, id: id, value: fmt.Sprintf("v%d", id), n: id})
		}
		if !e.write(table, ops...) {
			e.t.FailNow()
		}
	}
}

func (e *env) createTunnel(table, name string, typ sdktunnel.TunnelType) string {
	e.t.Helper()
	resp, err := e.tc.CreateTunnel(&sdktunnel.CreateTunnelRequest{TableName: table, TunnelName: name, Type: typ})
	if err != nil {
		e.t.Fatalf("create tunnel: %v", err)
	}
	return resp.TunnelId
}

// split splits a partition of a table through the local cloud's admin
// endpoint (partition "" = the one holding the most rows) and returns the
// parent and the two children.
func (e *env) split(table, partition string) (parent string, children []string) {
	e.t.Helper()
	body, _ := json.Marshal(map[string]string{"partition": partition})
	resp, err := http.Post(e.srv.URL+"/_admin/tables/"+table+"/split", "application/json", bytes.NewReader(body))
	if err != nil {
		e.t.Fatalf("split %s: %v", table, err)
	}
	defer resp.Body.Close()
	var out struct {
		Parent   string   `json:"parent"`
		Children []string `json:"children"`
		Error    string   `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK || len(out.Children) != 2 {
		e.t.Fatalf("split %s: %d %+v %v", table, resp.StatusCode, out, err)
	}
	return out.Parent, out.Children
}

func (e *env) describe(table, name string) *sdktunnel.DescribeTunnelResponse {
	e.t.Helper()
	resp, err := e.tc.DescribeTunnel(&sdktunnel.DescribeTunnelRequest{TableName: table, TunnelName: name})
	if err != nil {
		e.t.Fatalf("describe tunnel: %v", err)
	}
	return resp
}

// received is one record as a consumer saw it.
type received struct {
	channel string
	client  string
	rec     *sdktunnel.Record
}

// collector gathers every record delivered to its processors.
type collector struct {
	mu      sync.Mutex
	records []received
	// onBatch, if set, runs (outside the lock) after a batch is stored.
	onBatch func(channel string, n int)
	// delay, if set, slows processing down per batch.
	delay time.Duration
}

func (c *collector) factory() *sdktunnel.SimpleProcessFactory {
	return &sdktunnel.SimpleProcessFactory{
		CpInterval: 100 * time.Millisecond,
		Logger:     zap.NewNop(),
		ProcessFunc: func(ctx *sdktunnel.ChannelContext, records []*sdktunnel.Record) error {
			c.mu.Lock()
			for _, r := range records {
				c.records = append(c.records, received{channel: ctx.ChannelId, client: ctx.ClientId, rec: r})
			}
			hook, delay := c.onBatch, c.delay
			c.mu.Unlock()
			if hook != nil {
				hook(ctx.ChannelId, len(records))
			}
			if delay > 0 {
				time.Sleep(delay)
			}
			return nil
		},
	}
}

func (c *collector) snapshot() []received {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]received(nil), c.records...)
}

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.records)
}

func workerConfig(f sdktunnel.ChannelProcessorFactory) *sdktunnel.TunnelWorkerConfig {
	return &sdktunnel.TunnelWorkerConfig{
		HeartbeatInterval: 200 * time.Millisecond,
		HeartbeatTimeout:  2 * time.Second,
		ProcessorFactory:  f,
		LogWriteSyncer:    zapcore.AddSync(io.Discard),
		BackoffConfig:     &sdktunnel.ChannelBackoffConfig{MaxDelay: 100 * time.Millisecond},
	}
}

// daemon runs an SDK tunnel daemon in the background.
type daemon struct {
	d    *sdktunnel.TunnelWorkerDaemon
	done chan error
}

func startDaemon(tc sdktunnel.TunnelClient, tunnelID string, f sdktunnel.ChannelProcessorFactory) *daemon {
	d := &daemon{d: sdktunnel.NewTunnelDaemon(tc, tunnelID, workerConfig(f)), done: make(chan error, 1)}
	go func() { d.done <- d.d.Run() }()
	return d
}

func (d *daemon) stop(t testing.TB) {
	t.Helper()
	d.d.Close()
	select {
	case <-d.done:
	case <-time.After(20 * time.Second):
		t.Fatal("daemon did not stop")
	}
}

func allStatus(d *sdktunnel.DescribeTunnelResponse, kind, status string) bool {
	n := 0
	for _, ch := range d.Channels {
		if ch.ChannelType == kind {
			n++
			if ch.ChannelStatus != status {
				return false
			}
		}
	}
	return n > 0
}

func pkID(r *sdktunnel.Record) int64 {
	return r.PrimaryKey.PrimaryKeys[0].Value.(int64)
}

func column(r *sdktunnel.Record, name string) *sdktunnel.RecordColumn {
	for _, c := range r.Columns {
		if *c.Name == name {
			return c
		}
	}
	return nil
}

// checkSequences asserts what a consumer may rely on, per channel in
// delivery order. Base records carry no sequence info and come in strictly
// increasing primary-key order (a re-delivered row, after a hand-over or
// restart, is one the channel delivered before). Stream records carry
// sequence info that strictly increases except where a record is
// re-delivered, and a re-delivered record carries exactly the sequence info
// of its first delivery.
func checkSequences(t *testing.T, recs []received) {
	t.Helper()
	type key struct {
		ts  int64
		idx int32
	}
	seen := map[string]map[key]string{}
	last := map[string]key{}
	seenPK := map[string]map[int64]bool{}
	lastPK := map[string]int64{}
	for _, r := range recs {
		si := r.rec.SequenceInfo
		if isBase(r.channel) {
			if si != nil {
				t.Fatalf("base record of channel %s carries sequence info %+v", r.channel, si)
			}
			id := pkID(r.rec)
			if seenPK[r.channel] == nil {
				seenPK[r.channel] = map[int64]bool{}
			}
			if l, ok := lastPK[r.channel]; ok && id <= l && !seenPK[r.channel][id] {
				t.Fatalf("channel %s: new base row %d not after %d", r.channel, id, l)
			}
			seenPK[r.channel][id] = true
			lastPK[r.channel] = max(lastPK[r.channel], id)
			continue
		}
		if si == nil {
			t.Fatalf("stream record of channel %s has no sequence info", r.channel)
		}
		k := key{si.Timestamp, si.RowIndex}
		if seen[r.channel] == nil {
			seen[r.channel] = map[key]string{}
		}
		desc := fmt.Sprintf("%v %d %v", r.rec.Type, pkID(r.rec), len(r.rec.Columns))
		if prev, ok := seen[r.channel][k]; ok {
			if prev != desc {
				t.Fatalf("channel %s: sequence %v re-used for a different record (%s vs %s)", r.channel, k, prev, desc)
			}
			continue
		}
		if l, ok := last[r.channel]; ok && (k.ts < l.ts || (k.ts == l.ts && k.idx <= l.idx)) {
			t.Fatalf("channel %s: new record sequence %v not after %v", r.channel, k, l)
		}
		seen[r.channel][k] = desc
		last[r.channel] = k
	}
}

// isBase tells base channels by the one thing their ids promise.
func isBase(channel string) bool { return strings.HasPrefix(channel, "BaseData_") }

// partitionOf returns the partition a channel reads, from the service's own
// state (ids do not tell it).
func (e *env) partitionOf(tunnelID, channelID string) string {
	e.svc.mu.Lock()
	defer e.svc.mu.Unlock()
	if ch := e.svc.tunnels[tunnelID].channel(channelID); ch != nil {
		return ch.Partition
	}
	e.t.Fatalf("channel %s of tunnel %s does not exist", channelID, tunnelID)
	return ""
}

// channelsOf returns the ids of a tunnel's channels of a kind, in Describe order.
func channelsOf(d *sdktunnel.DescribeTunnelResponse, kind string) []string {
	var out []string
	for _, ch := range d.Channels {
		if ch.ChannelType == kind {
			out = append(out, ch.ChannelId)
		}
	}
	return out
}

func sortedKeys[V any](m map[int64]V) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
