package tunnelrecord_test

import (
	"context"
	"fmt"
	"io"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"
	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/tunnelrecord"
	"github.com/tablestore-delivery/terraform-provider-tablestore/internal/testsupport"
)

const (
	keyID  = "records-key"
	secret = "records-secret"
)

// comparer is a tunnel processor in the SDK's binary mode that decodes
// every read both ways and keeps what it saw.
type comparer struct {
	t  *testing.T
	mu sync.Mutex
	// decoders: one per channel, as the pipeline keeps them.
	decoders map[string]*tunnelrecord.Decoder
	base     int
	stream   map[string]int // "<pk> <action>" -> count
	problems []string
}

func (c *comparer) process(ctx *tunnel.ChannelContext, _ []*tunnel.Record) error {
	want, wantErr := tunnel.UnSerializeBatchBinaryRecordFromBytes(ctx.BinaryRecords)
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.decoders[ctx.ChannelId]
	if d == nil {
		d = tunnelrecord.NewDecoder()
		c.decoders[ctx.ChannelId] = d
	}
	got, err := d.Decode(ctx.BinaryRecords)
	switch {
	case wantErr != nil || err != nil:
		c.problems = append(c.problems, fmt.Sprintf("channel %s: SDK error %v, Decode error %v", ctx.ChannelId, wantErr, err))
	case !reflect.DeepEqual(got, want):
		c.problems = append(c.problems, fmt.Sprintf("channel %s: Decode differs from the SDK on a read of %d records", ctx.ChannelId, len(want)))
	}
	for _, r := range got {
		if r.SequenceInfo == nil {
			c.base++
			continue
		}
		c.stream[fmt.Sprintf("%v %v", r.PrimaryKey.PrimaryKeys[0].Value, r.Type)]++
	}
	// An asynchronous processor checkpoints for itself; without it no base
	// channel would finish and the stream would never start.
	return ctx.Processor.CommitToken(ctx.NextToken)
}

func (c *comparer) counts() (int, int, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.stream {
		n += v
	}
	return c.base, n, append([]string(nil), c.problems...)
}

// TestDecodeEqualsTheSDKOnTheLocalTunnel runs the SDK's own tunnel worker
// in binary mode against the local cloud, over base data and a stream of
// puts, updates with delete cells and deletes, and decodes every read with
// both decoders.
func TestDecodeEqualsTheSDKOnTheLocalTunnel(t *testing.T) {
	cloud, err := localcloud.Start(context.Background(), localcloud.Config{DataDir: t.TempDir(), Credentials: map[string]string{keyID: secret}, Shards: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cloud.Close() }()
	ots := tablestore.NewClient(cloud.TablestoreURL, cloud.Instance, keyID, secret)
	meta := &tablestore.TableMeta{TableName: "records"}
	meta.AddPrimaryKeyColumn("id", tablestore.PrimaryKeyType_INTEGER)
	meta.AddPrimaryKeyColumn("part", tablestore.PrimaryKeyType_STRING)
	if _, err := ots.CreateTable(&tablestore.CreateTableRequest{TableMeta: meta,
		TableOption: &tablestore.TableOption{TimeToAlive: -1, MaxVersion: 1}, ReservedThroughput: &tablestore.ReservedThroughput{}}); err != nil {
		t.Fatal(err)
	}
	put := func(id int64) {
		ch := &tablestore.PutRowChange{TableName: "records", PrimaryKey: &tablestore.PrimaryKey{}}
		ch.PrimaryKey.AddPrimaryKeyColumn("id", id)
		ch.PrimaryKey.AddPrimaryKeyColumn("part", fmt.Sprint("p", id%3))
		ch.AddColumn("s", fmt.Sprintf("row %d ü", id))
		ch.AddColumn("n", id*1000003)
		ch.AddColumn("f", float64(id)/7)
		ch.AddColumn("b", id%2 == 0)
		ch.AddColumn("bin", []byte{byte(id), 0, 0xff})
		ch.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
		if _, err := ots.PutRow(&tablestore.PutRowRequest{PutRowChange: ch}); err != nil {
			t.Fatal(err)
		}
	}
	const baseRows = 120
	for id := range int64(baseRows) {
		put(id)
	}

	tc := tunnel.NewTunnelClient(cloud.TablestoreURL, cloud.Instance, keyID, secret)
	created, err := tc.CreateTunnel(&tunnel.CreateTunnelRequest{TableName: "records", TunnelName: "both", Type: tunnel.TunnelTypeBaseStream})
	if err != nil {
		t.Fatal(err)
	}
	c := &comparer{t: t, decoders: map[string]*tunnelrecord.Decoder{}, stream: map[string]int{}}
	quiet := tunnel.DefaultLogConfig
	quiet.Level = zap.NewAtomicLevelAt(zap.FatalLevel)
	worker, err := tc.NewTunnelWorker(created.TunnelId, &tunnel.TunnelWorkerConfig{
		ProcessorFactory:  &tunnel.AsyncProcessFactory{ProcessFunc: c.process, NeedBinaryRecord: true, AlwaysCallBack: true, Logger: zap.NewNop()},
		HeartbeatInterval: time.Second, HeartbeatTimeout: 10 * time.Second,
		LogConfig: &quiet, LogWriteSyncer: zapcore.AddSync(io.Discard),
		BackoffConfig: &tunnel.ChannelBackoffConfig{MaxDelay: 200 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- worker.ConnectAndWorking() }()
	defer func() {
		worker.Shutdown()
		<-done
	}()
	testsupport.WaitUntil(t, 30*time.Second, "every base row read", func() bool {
		base, _, _ := c.counts()
		return base >= baseRows
	})

	// The stream: new rows, updates that put and delete cells, deletes.
	for id := int64(baseRows); id < baseRows+40; id++ {
		put(id)
	}
	for id := range int64(30) {
		ch := &tablestore.UpdateRowChange{TableName: "records", PrimaryKey: &tablestore.PrimaryKey{}}
		ch.PrimaryKey.AddPrimaryKeyColumn("id", id)
		ch.PrimaryKey.AddPrimaryKeyColumn("part", fmt.Sprint("p", id%3))
		ch.PutColumn("s", "updated")
		ch.DeleteColumn("bin")
		ch.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
		if _, err := ots.UpdateRow(&tablestore.UpdateRowRequest{UpdateRowChange: ch}); err != nil {
			t.Fatal(err)
		}
	}
	for id := int64(30); id < 50; id++ {
		ch := &tablestore.DeleteRowChange{TableName: "records", PrimaryKey: &tablestore.PrimaryKey{}}
		ch.PrimaryKey.AddPrimaryKeyColumn("id", id)
		ch.PrimaryKey.AddPrimaryKeyColumn("part", fmt.Sprint("p", id%3))
		ch.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
		if _, err := ots.DeleteRow(&tablestore.DeleteRowRequest{DeleteRowChange: ch}); err != nil {
			t.Fatal(err)
		}
	}
	testsupport.WaitUntil(t, 30*time.Second, "every stream record read", func() bool {
		_, stream, problems := c.counts()
		return stream >= 40+30+20 || len(problems) > 0
	})
	base, stream, problems := c.counts()
	if len(problems) > 0 {
		t.Fatalf("%d reads differ, first: %s", len(problems), problems[0])
	}
	if base != baseRows || stream != 90 {
		t.Fatalf("read %d base records and %d stream records, want %d and 90", base, stream, baseRows)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for key, want := range map[string]int{"0 UpdateRow": 1, "35 DeleteRow": 1, fmt.Sprint(baseRows, " PutRow"): 1} {
		if c.stream[key] != want {
			t.Errorf("stream records %q: %d, want %d", key, c.stream[key], want)
		}
	}
}
