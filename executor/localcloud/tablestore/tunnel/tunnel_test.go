package tunnel

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	sdktunnel "github.com/aliyun/aliyun-tablestore-go-sdk/tunnel"
	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel/protocol"

	"github.com/tablestore-delivery/terraform-provider-tablestore/internal/testsupport"
)

// Full: every row of a 4-shard table arrives exactly once, each channel ends
// with "finished", and the tunnel's base channels all terminate.
func TestFullTunnelDeliversEveryRowOnce(t *testing.T) {
	e := newEnv(t, Config{MaxRecordsPerRead: 300}, 4)
	e.createTable("orders")
	const rows = 2500
	e.putRows("orders", 0, rows)
	id0 := e.createTunnel("orders", "full", sdktunnel.TunnelTypeBaseData)
	id := id0
	// Writes after creation are not part of a full export.
	e.putRows("orders", rows, rows+50)

	var c collector
	d := startDaemon(e.tc, id, c.factory())
	testsupport.WaitUntil(t, 30*time.Second, "all base channels TERMINATED", func() bool {
		return allStatus(e.describe("orders", "full"), "BaseData", StatusTerminated)
	})
	d.stop(t)

	recs := c.snapshot()
	checkSequences(t, recs)
	seen := map[int64]int{}
	channelOfPartition := map[string]string{}
	for _, r := range recs {
		if r.rec.Type != sdktunnel.AT_Put {
			t.Fatalf("base record of type %v", r.rec.Type)
		}
		id := pkID(r.rec)
		seen[id]++
		if v := column(r.rec, "v"); v == nil || v.Value != fmt.Sprintf("v%d", id) {
			t.Fatalf("row %d: column v = %+v", id, v)
		}
		part := e.partitionOf(id0, r.channel)
		if prev, ok := channelOfPartition[part]; ok && prev != r.channel {
			t.Fatalf("partition %s read by two channels %s and %s", part, prev, r.channel)
		}
		channelOfPartition[part] = r.channel
	}
	if len(channelOfPartition) != 4 {
		t.Fatalf("records came from %d channels, want 4", len(channelOfPartition))
	}
	for id := int64(0); id < rows; id++ {
		if seen[id] != 1 {
			t.Fatalf("row %d delivered %d times", id, seen[id])
		}
	}
	if len(seen) != rows {
		t.Fatalf("delivered %d distinct rows, want %d (rows written after creation must not appear)", len(seen), rows)
	}
	desc := e.describe("orders", "full")
	// A finished BaseData tunnel moves on to the stream stage (Java SDK
	// TestTunnelConsumer waits for exactly that).
	if desc.Tunnel.Stage != StageStream || desc.Tunnel.TunnelType != TypeBaseData {
		t.Fatalf("tunnel info %+v", desc.Tunnel)
	}
	if len(desc.Channels) != 4 {
		t.Fatalf("describe lists %d channels, want 4", len(desc.Channels))
	}
}

// Incremental: changes after creation arrive in order per primary key, with
// their types and column operations; nothing written before creation does.
func TestStreamTunnelDeliversChangesInOrder(t *testing.T) {
	e := newEnv(t, Config{}, 4)
	e.createTable("events")
	e.putRows("events", 0, 100)
	id := e.createTunnel("events", "incr", sdktunnel.TunnelTypeStream)

	var c collector
	d := startDaemon(e.tc, id, c.factory())
	defer d.stop(t)

	// Per key: put, update, update with a column delete, delete, put again.
	var want []op
	for round := 0; round < 5; round++ {
		var batch []op
		for id := int64(50); id < 150; id++ {
			var o op
			switch round {
			case 0:
				o = op{kind: ChangePut, id: id, value: "a", n: 1}
			case 1:
				o = op{kind: ChangeUpdate, id: id, value: "b", n: 2}
			case 2:
				o = op{kind: ChangeUpdate, id: id, n: 3, deleteV: true}
			case 3:
				o = op{kind: ChangeDelete, id: id}
			case 4:
				o = op{kind: ChangePut, id: id, value: "e", n: 5}
			}
			want = append(want, o)
			batch = append(batch, o)
		}
		e.write("events", batch...)
	}
	testsupport.WaitUntil(t, 30*time.Second, "all changes delivered", func() bool { return c.count() >= len(want) })
	time.Sleep(300 * time.Millisecond) // anything extra would show up now
	recs := c.snapshot()
	if len(recs) != len(want) {
		t.Fatalf("got %d records, want %d", len(recs), len(want))
	}
	checkSequences(t, recs)
	perKey := map[int64][]*sdktunnel.Record{}
	for _, r := range recs {
		perKey[pkID(r.rec)] = append(perKey[pkID(r.rec)], r.rec)
	}
	wantPerKey := map[int64][]op{}
	for _, o := range want {
		wantPerKey[o.id] = append(wantPerKey[o.id], o)
	}
	for _, id := range sortedKeys(wantPerKey) {
		got, exp := perKey[id], wantPerKey[id]
		if len(got) != len(exp) {
			t.Fatalf("key %d: %d records, want %d", id, len(got), len(exp))
		}
		for i, o := range exp {
			r := got[i]
			switch o.kind {
			case ChangePut:
				if r.Type != sdktunnel.AT_Put || column(r, "v").Value != o.value || column(r, "n").Value != o.n {
					t.Fatalf("key %d change %d: want put %+v, got %v", id, i, o, r)
				}
			case ChangeUpdate:
				if r.Type != sdktunnel.AT_Update || column(r, "n").Value != o.n {
					t.Fatalf("key %d change %d: want update %+v, got %v", id, i, o, r)
				}
				v := column(r, "v")
				if o.deleteV && (v == nil || v.Type != sdktunnel.RCT_DeleteAllVersions) {
					t.Fatalf("key %d change %d: want delete of v, got %v", id, i, r)
				}
				if !o.deleteV && (v == nil || v.Type != sdktunnel.RCT_Put || v.Value != o.value) {
					t.Fatalf("key %d change %d: want v=%s, got %v", id, i, o.value, r)
				}
			case ChangeDelete:
				if r.Type != sdktunnel.AT_Delete || len(r.Columns) != 0 {
					t.Fatalf("key %d change %d: want delete, got %v", id, i, r)
				}
			}
			if r.Timestamp <= 0 || r.SequenceInfo.Timestamp != r.Timestamp {
				t.Fatalf("key %d change %d: timestamp %d, sequence %+v", id, i, r.Timestamp, r.SequenceInfo)
			}
		}
	}
	desc := e.describe("events", "incr")
	if desc.Tunnel.Stage != StageStream || len(desc.Channels) != 4 || !allStatus(desc, "Stream", StatusOpen) {
		t.Fatalf("describe: stage %s, channels %+v", desc.Tunnel.Stage, desc.Channels)
	}
	for _, ch := range desc.Channels {
		if ch.ClientId == "" {
			t.Fatalf("channel %s has no owner in Describe", ch.ChannelId)
		}
	}
}

// Differential: rows written before creation come through the base phase;
// rows written during the base phase and after the switch come through the
// stream, each change exactly once: nothing lost or doubled at the switch.
func TestBaseAndStreamSwitchLosesNothing(t *testing.T) {
	e := newEnv(t, Config{MaxRecordsPerRead: 100}, 4)
	e.createTable("diff")
	const before = 1000
	e.putRows("diff", 0, before)
	id := e.createTunnel("diff", "differential", sdktunnel.TunnelTypeBaseStream)
	if desc := e.describe("diff", "differential"); !allStatus(desc, "Stream", StatusWait) {
		t.Fatalf("stream channels must wait during the base phase: %+v", desc.Channels)
	}

	// During the base phase: update some old rows, add new ones.
	var during atomic.Int32
	var c collector
	c.onBatch = func(channel string, n int) {
		if k := during.Add(1); k <= 5 && isBase(channel) {
			base := int64(k) * 10
			e.write("diff",
				op{kind: ChangeUpdate, id: base, value: "during", n: -1},
				op{kind: ChangePut, id: before + base, value: "new-during", n: 1})
		}
	}
	d := startDaemon(e.tc, id, c.factory())
	defer d.stop(t)
	testsupport.WaitUntil(t, 30*time.Second, "stream stage", func() bool {
		desc := e.describe("diff", "differential")
		return desc.Tunnel.Stage == StageStream && allStatus(desc, "BaseData", StatusTerminated)
	})
	e.write("diff", op{kind: ChangeDelete, id: 1}, op{kind: ChangePut, id: 5000, value: "after", n: 9})

	wantStream := 0
	for k := 1; k <= min(int(during.Load()), 5); k++ {
		wantStream += 2
	}
	wantStream += 2
	testsupport.WaitUntil(t, 30*time.Second, "stream records", func() bool {
		n := 0
		for _, r := range c.snapshot() {
			if !isBase(r.channel) {
				n++
			}
		}
		return n >= wantStream
	})
	time.Sleep(300 * time.Millisecond)
	recs := c.snapshot()
	checkSequences(t, recs)
	base, stream := map[int64]int{}, map[string]int{}
	baseDone := map[string]bool{}
	for _, r := range recs {
		shard := e.partitionOf(id, r.channel)
		if isBase(r.channel) {
			if baseDone[shard] {
				t.Fatalf("base record after stream record on partition %s", shard)
			}
			base[pkID(r.rec)]++
			continue
		}
		baseDone[shard] = true
		stream[fmt.Sprintf("%v/%d/%v", r.rec.Type, pkID(r.rec), column(r.rec, "v"))]++
	}
	for id := int64(0); id < before; id++ {
		if base[id] != 1 {
			t.Fatalf("base row %d delivered %d times", id, base[id])
		}
	}
	if len(base) != before {
		t.Fatalf("base phase delivered %d rows, want the %d of the snapshot", len(base), before)
	}
	total := 0
	for k, n := range stream {
		if n != 1 {
			t.Fatalf("stream change %s delivered %d times", k, n)
		}
		total += n
	}
	if total != wantStream {
		t.Fatalf("stream delivered %d changes, want %d: %v", total, wantStream, stream)
	}
}

// Stream tunnels can start at the oldest retained change (EARLIEST) or at a
// given time, and end at a given time: the channels then finish.
func TestStreamOffsets(t *testing.T) {
	e := newEnv(t, Config{}, 2)
	e.createTable("offsets")
	e.putRows("offsets", 0, 50) // batch A
	time.Sleep(20 * time.Millisecond)
	startNs := uint64(time.Now().UnixNano())
	time.Sleep(20 * time.Millisecond)
	e.putRows("offsets", 50, 100) // batch B
	time.Sleep(20 * time.Millisecond)
	endNs := uint64(time.Now().UnixNano())
	time.Sleep(20 * time.Millisecond)
	e.putRows("offsets", 100, 150) // batch C

	window, err := e.tc.CreateTunnel(&sdktunnel.CreateTunnelRequest{TableName: "offsets", TunnelName: "window", Type: sdktunnel.TunnelTypeStream,
		StreamTunnelConfig: &sdktunnel.StreamTunnelConfig{StartOffset: startNs, EndOffset: endNs}})
	if err != nil {
		t.Fatal(err)
	}
	earliest, err := e.tc.CreateTunnel(&sdktunnel.CreateTunnelRequest{TableName: "offsets", TunnelName: "earliest", Type: sdktunnel.TunnelTypeStream,
		StreamTunnelConfig: &sdktunnel.StreamTunnelConfig{Flag: protocol.StartOffsetFlag_EARLIEST}})
	if err != nil {
		t.Fatal(err)
	}
	var win, all collector
	d1 := startDaemon(e.tc, window.TunnelId, win.factory())
	defer d1.stop(t)
	d2 := startDaemon(e.tc, earliest.TunnelId, all.factory())
	defer d2.stop(t)
	testsupport.WaitUntil(t, 15*time.Second, "the window tunnel's channels to finish", func() bool {
		return allStatus(e.describe("offsets", "window"), "Stream", StatusTerminated)
	})
	testsupport.WaitUntil(t, 15*time.Second, "every change from the earliest one", func() bool { return all.count() >= 150 })
	got := map[int64]int{}
	for _, r := range win.snapshot() {
		got[pkID(r.rec)]++
	}
	for id := int64(0); id < 150; id++ {
		if want := id >= 50 && id < 100; (got[id] == 1) != want || got[id] > 1 {
			t.Fatalf("row %d delivered %d times by the [start, end) tunnel", id, got[id])
		}
	}
	if desc := e.describe("offsets", "window"); desc.Tunnel.StreamTunnelConfig == nil || desc.Tunnel.StreamTunnelConfig.EndOffset != endNs {
		t.Fatalf("describe lost the stream config: %+v", desc.Tunnel.StreamTunnelConfig)
	}
	time.Sleep(300 * time.Millisecond)
	if n := all.count(); n != 150 {
		t.Fatalf("earliest tunnel delivered %d records, want 150", n)
	}
}
