package tunnel

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdktunnel "github.com/aliyun/aliyun-tablestore-go-sdk/tunnel"

	"github.com/tablestore-delivery/terraform-provider-tablestore/internal/testsupport"
)

// writer keeps writing puts to keys 0..keys-1 in batches, each put carrying
// a unique n in column "n", until stopped; it remembers every n it wrote.
type writer struct {
	e       *env
	table   string
	keys    int64
	next    atomic.Int64 // the last n handed out
	mu      sync.Mutex
	written map[int64]int64 // n -> key
	stop    chan struct{}
	done    chan struct{}
}

func startWriter(e *env, table string, keys, firstN int64) *writer {
	w := &writer{e: e, table: table, keys: keys, written: map[int64]int64{}, stop: make(chan struct{}), done: make(chan struct{})}
	w.next.Store(firstN)
	go func() {
		defer close(w.done)
		for i := int64(0); ; i++ {
			select {
			case <-w.stop:
				return
			default:
			}
			var ops []op
			batch := map[int64]int64{}
			for j := range int64(10) {
				key := (i*10 + j) * 7 % w.keys
				n := w.next.Add(1)
				ops = append(ops, op{kind: ChangePut, id: key, value: "w", n: n})
				batch[n] = key
			}
			if !e.write(table, ops...) {
				return
			}
			w.mu.Lock()
			for n, k := range batch {
				w.written[n] = k
			}
			w.mu.Unlock()
			time.Sleep(5 * time.Millisecond)
		}
	}()
	return w
}

func (w *writer) halt() map[int64]int64 {
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.written
}

func recordN(r *sdktunnel.Record) int64 {
	if c := column(r, "n"); c != nil {
		if n, ok := c.Value.(int64); ok {
			return n
		}
	}
	return -1
}

// Splits under continuous writes, with an SDK worker consuming a
// BaseAndStream tunnel: one split before the base phase ends and one during
// the stream phase. The base phase delivers the snapshot exactly once in
// primary-key order per channel (its channels keep their ranges); the stream
// delivers every write exactly once; a parent's stream channel delivers what
// was written to it before the split and is TERMINATED before its children's
// channels deliver anything, so every key's changes arrive in write order.
func TestSplitUnderContinuousWrites(t *testing.T) {
	e := newEnv(t, Config{MaxRecordsPerRead: 50}, 2)
	e.createTable("grow")
	const keys = 400
	e.putRows("grow", 0, keys)
	id := e.createTunnel("grow", "diff", sdktunnel.TunnelTypeBaseStream)
	w := startWriter(e, "grow", keys, 1_000_000)

	time.Sleep(200 * time.Millisecond)
	firstParent, firstChildren := e.split("grow", "")
	cutFirst := w.next.Load() // no n the parent's log holds is above this

	var c collector
	c.delay = 10 * time.Millisecond
	d := startDaemon(e.tc, id, c.factory())
	defer d.stop(t)
	testsupport.WaitUntil(t, 30*time.Second, "stream stage", func() bool { return e.describe("grow", "diff").Tunnel.Stage == StageStream })
	time.Sleep(300 * time.Millisecond)
	secondParent, secondChildren := e.split("grow", "")
	cutSecond := w.next.Load()
	time.Sleep(500 * time.Millisecond)
	written := w.halt()

	testsupport.WaitUntil(t, 60*time.Second, "every write delivered", func() bool {
		got := map[int64]bool{}
		for _, r := range c.snapshot() {
			if !isBase(r.channel) {
				got[recordN(r.rec)] = true
			}
		}
		for n := range written {
			if !got[n] {
				return false
			}
		}
		return true
	})
	time.Sleep(300 * time.Millisecond) // anything extra would show up now
	recs := c.snapshot()
	checkSequences(t, recs)

	base := map[int64]int{}
	stream := map[int64]int{}
	byChannel := map[string][]int{} // record positions per channel
	lastN := map[int64]int64{}      // key -> last n seen in delivery order
	for i, r := range recs {
		byChannel[r.channel] = append(byChannel[r.channel], i)
		if isBase(r.channel) {
			base[pkID(r.rec)]++
			continue
		}
		n := recordN(r.rec)
		stream[n]++
		if key := pkID(r.rec); n <= lastN[key] {
			t.Fatalf("key %d: change n=%d delivered after n=%d", key, n, lastN[key])
		}
		lastN[pkID(r.rec)] = n
	}
	for k := range int64(keys) {
		if base[k] != 1 {
			t.Fatalf("base row %d delivered %d times", k, base[k])
		}
	}
	if len(stream) != len(written) {
		t.Fatalf("stream delivered %d distinct changes, %d were written", len(stream), len(written))
	}
	for n, times := range stream {
		if _, ok := written[n]; !ok || times != 1 {
			t.Fatalf("change n=%d delivered %d times (written: %v)", n, times, ok)
		}
	}

	desc := e.describe("grow", "diff")
	streamOf := map[string]string{} // partition -> stream channel
	statusOf := map[string]string{}
	for _, ch := range desc.Channels {
		statusOf[ch.ChannelId] = ch.ChannelStatus
		if ch.ChannelType == "Stream" {
			streamOf[e.partitionOf(id, ch.ChannelId)] = ch.ChannelId
		}
	}
	for _, split := range []struct {
		parent   string
		children []string
		cut      int64
	}{{firstParent, firstChildren, cutFirst}, {secondParent, secondChildren, cutSecond}} {
		parent := streamOf[split.parent]
		if parent == "" || statusOf[parent] != StatusTerminated {
			t.Fatalf("parent partition %s: stream channel %q is %s, want TERMINATED", split.parent, parent, statusOf[parent])
		}
		parentPos := byChannel[parent]
		for _, pos := range parentPos {
			if n := recordN(recs[pos].rec); n > split.cut {
				t.Fatalf("parent channel %s delivered n=%d, written after the split (cut %d)", parent, n, split.cut)
			}
		}
		childRecords := 0
		for _, child := range split.children {
			ch := streamOf[child]
			if ch == "" {
				t.Fatalf("no stream channel for child partition %s", child)
			}
			if s := statusOf[ch]; s != StatusOpen && s != StatusTerminated {
				t.Fatalf("child channel %s is %s after its parent finished", ch, s)
			}
			pos := byChannel[ch]
			childRecords += len(pos)
			if len(pos) > 0 && len(parentPos) > 0 && pos[0] < parentPos[len(parentPos)-1] {
				t.Fatalf("child channel %s delivered before its parent %s finished", ch, parent)
			}
		}
		if childRecords == 0 {
			t.Fatalf("the children of %s got none of the writes after the split", split.parent)
		}
	}
	if desc.Tunnel.Expired {
		t.Fatal("tunnel marked expired")
	}
}

// A split survives a restart: the partitions, the tunnel's channels (same
// ids) and their waiting order; writes after the restart reach the children.
func TestSplitSurvivesRestart(t *testing.T) {
	e := newEnv(t, Config{}, 1)
	e.createTable("r")
	e.putRows("r", 0, 100)
	id := e.createTunnel("r", "incr", sdktunnel.TunnelTypeStream)
	e.putRows("r", 100, 150) // to the parent
	parent, children := e.split("r", "")

	before := e.describe("r", "incr")
	if len(before.Channels) != 3 {
		t.Fatalf("after a split the tunnel has %d channels, want the parent's and two children's", len(before.Channels))
	}
	e.restart()
	after := e.describe("r", "incr")
	for i, ch := range before.Channels {
		if a := after.Channels[i]; a.ChannelId != ch.ChannelId || a.ChannelStatus != ch.ChannelStatus {
			t.Fatalf("channel %d changed across the restart: %+v -> %+v", i, ch, a)
		}
		if e.partitionOf(id, ch.ChannelId) == parent {
			continue
		}
		if ch.ChannelStatus != StatusWait {
			t.Fatalf("child channel %s is %s while its parent has not finished", ch.ChannelId, ch.ChannelStatus)
		}
	}
	parts, err := e.storage.Partitions(testInstance, "r")
	if err != nil || len(parts) != 3 || parts[0].ID != parent || parts[1].ID != children[0] || parts[2].ID != children[1] {
		t.Fatalf("partitions after restart: %+v %v", parts, err)
	}
	e.putRows("r", 150, 250) // to the children

	var c collector
	d := startDaemon(e.tc, id, c.factory())
	defer d.stop(t)
	testsupport.WaitUntil(t, 30*time.Second, "150 changes", func() bool { return c.count() >= 150 })
	time.Sleep(300 * time.Millisecond)
	recs := c.snapshot()
	if len(recs) != 150 {
		t.Fatalf("got %d records, want 150", len(recs))
	}
	checkSequences(t, recs)
	seen := map[int64]bool{}
	for _, r := range recs {
		k := pkID(r.rec)
		fromParent := e.partitionOf(id, r.channel) == parent
		if seen[k] || fromParent != (k < 150) {
			t.Fatalf("row %d: twice=%v, from the parent's channel=%v", k, seen[k], fromParent)
		}
		seen[k] = true
	}
}

// DescribeTunnel through a BaseAndStream lifecycle: stages, channel types and
// statuses, id shapes, RPOs and create time in nanoseconds.
func TestDescribeThroughLifecycle(t *testing.T) {
	e := newEnv(t, Config{}, 2)
	e.createTable("life")
	e.putRows("life", 0, 300)
	start := time.Now()
	id := e.createTunnel("life", "both", sdktunnel.TunnelTypeBaseStream)

	desc := e.describe("life", "both")
	info := desc.Tunnel
	if info.Stage != StageBaseData || info.TunnelType != TypeBaseAndStream || info.Expired || info.TunnelId != id {
		t.Fatalf("tunnel info at creation: %+v", info)
	}
	if info.CreateTime.Before(start.Add(-time.Second)) || info.CreateTime.After(time.Now().Add(time.Second)) {
		t.Fatalf("create time %v is not the creation instant (%v) read as nanoseconds", info.CreateTime, start)
	}
	ids := map[string]bool{}
	for _, ch := range desc.Channels {
		if ids[ch.ChannelId] || strings.Contains(ch.ChannelId, id) {
			t.Fatalf("channel id %q repeats or embeds the tunnel id", ch.ChannelId)
		}
		ids[ch.ChannelId] = true
		switch ch.ChannelType {
		case "BaseData":
			if !strings.HasPrefix(ch.ChannelId, "BaseData_") || len(ch.ChannelId) <= len("BaseData_") || ch.ChannelStatus != StatusClose {
				t.Fatalf("base channel at creation: %+v", ch)
			}
		case "Stream":
			if strings.HasPrefix(ch.ChannelId, "BaseData_") || ch.ChannelStatus != StatusWait {
				t.Fatalf("stream channel at creation: %+v", ch)
			}
		default:
			t.Fatalf("channel type %q", ch.ChannelType)
		}
		if ch.ChannelRPO != 0 {
			t.Fatalf("channel %s has an RPO before any checkpoint", ch.ChannelId)
		}
	}
	if len(channelsOf(desc, "BaseData")) != 2 || len(channelsOf(desc, "Stream")) != 2 || desc.TunnelRPO != 0 {
		t.Fatalf("channels at creation: %d base, %d stream, tunnel rpo %d", len(channelsOf(desc, "BaseData")), len(channelsOf(desc, "Stream")), desc.TunnelRPO)
	}

	var c collector
	d := startDaemon(e.tc, id, c.factory())
	defer d.stop(t)
	testsupport.WaitUntil(t, 30*time.Second, "stream stage", func() bool {
		d := e.describe("life", "both")
		return d.Tunnel.Stage == StageStream && allStatus(d, "BaseData", StatusTerminated) && allStatus(d, "Stream", StatusOpen)
	})
	e.putRows("life", 300, 400)
	written := time.Now()
	var rpoDesc *sdktunnel.DescribeTunnelResponse
	testsupport.WaitUntil(t, 30*time.Second, "stream checkpoints", func() bool {
		rpoDesc = e.describe("life", "both")
		for _, ch := range rpoDesc.Channels {
			if ch.ChannelType == "Stream" && ch.ChannelRPO == 0 {
				return false
			}
		}
		return true
	})
	for _, ch := range rpoDesc.Channels {
		switch ch.ChannelType {
		case "Stream":
			if ch.ChannelRPO < start.UnixNano() || ch.ChannelRPO > written.UnixNano() {
				t.Fatalf("stream channel RPO %d is not a write time in ns in [%d, %d]", ch.ChannelRPO, start.UnixNano(), written.UnixNano())
			}
		case "BaseData":
			if ch.ChannelRPO != 0 || ch.ChannelStatus != StatusTerminated {
				t.Fatalf("finished base channel: %+v", ch)
			}
		}
	}
	if rpoDesc.TunnelRPO < start.UnixNano() || rpoDesc.TunnelRPO > written.UnixNano() {
		t.Fatalf("tunnel RPO %d is not a write time in ns", rpoDesc.TunnelRPO)
	}
	// The ids are the ones the tunnel was created with.
	for _, ch := range rpoDesc.Channels {
		if !ids[ch.ChannelId] {
			t.Fatalf("channel %s appeared without a split", ch.ChannelId)
		}
	}
}

// Partitions that outgrow Config.SplitRows split by themselves while an SDK
// worker consumes: every change arrives once, in write order per key, and the
// stream moves on from finished parents to their children.
func TestAutomaticSplitsWhileConsuming(t *testing.T) {
	e := &env{t: t, dir: t.TempDir(), shards: 1, splitRows: 150}
	e.open()
	t.Cleanup(e.close)
	e.createTable("auto")
	id := e.createTunnel("auto", "incr", sdktunnel.TunnelTypeStream)
	var c collector
	d := startDaemon(e.tc, id, c.factory())
	defer d.stop(t)
	const rows = 800
	for from := int64(0); from < rows; from += 50 {
		e.putRows("auto", from, from+50)
		time.Sleep(20 * time.Millisecond)
	}
	parts, err := e.storage.Partitions(testInstance, "auto")
	if err != nil || len(parts) < 5 {
		t.Fatalf("%d partitions after %d rows with SplitRows 150: %v", len(parts), rows, err)
	}
	testsupport.WaitUntil(t, 30*time.Second, "every row", func() bool { return c.count() >= rows })
	time.Sleep(300 * time.Millisecond)
	recs := c.snapshot()
	checkSequences(t, recs)
	seen := map[int64]bool{}
	channels := map[string]bool{}
	for _, r := range recs {
		if seen[pkID(r.rec)] {
			t.Fatalf("row %d delivered twice", pkID(r.rec))
		}
		seen[pkID(r.rec)] = true
		channels[r.channel] = true
	}
	if len(seen) != rows || len(channels) < 3 {
		t.Fatalf("%d rows from %d channels, want %d rows from parents and children", len(seen), len(channels), rows)
	}
	terminated := 0
	for _, ch := range e.describe("auto", "incr").Channels {
		if ch.ChannelStatus == StatusTerminated {
			terminated++
		}
	}
	if terminated == 0 {
		t.Fatal("no split parent's channel finished")
	}
}
