package pipeline

import (
	"context"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel"
	dto "github.com/prometheus/client_model/go"
)

func pkRecord(values ...any) *tunnel.Record {
	pk := &tunnel.PrimaryKey{}
	for i, v := range values {
		pk.PrimaryKeys = append(pk.PrimaryKeys, &tunnel.PrimaryKeyColumn{ColumnName: "k" + strconv.Itoa(i), Value: v})
	}
	return &tunnel.Record{Type: tunnel.AT_Put, PrimaryKey: pk}
}

func mustKey(t *testing.T, values ...any) Key {
	t.Helper()
	k, ok := keyOf(pkRecord(values...))
	if !ok {
		t.Fatalf("no key for %v", values)
	}
	return k
}

// TestKeyCompareFollowsTablestoreOrder: integers signed, strings and
// binaries bytewise, column by column, a prefix first.
func TestKeyCompareFollowsTablestoreOrder(t *testing.T) {
	ordered := []Key{
		nil,
		mustKey(t, int64(-5)),
		mustKey(t, int64(-5), "a"),
		mustKey(t, int64(-5), "b"),
		mustKey(t, int64(0)),
		mustKey(t, int64(0), "B"),
		mustKey(t, int64(0), "a"),
		mustKey(t, int64(0), "a", []byte{0x00}),
		mustKey(t, int64(0), "a", []byte{0xff}),
		mustKey(t, int64(0), "ab"),
		mustKey(t, int64(7)),
	}
	for i := range ordered {
		for j := range ordered {
			got := ordered[i].Compare(ordered[j])
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got != want {
				t.Errorf("%v vs %v: %d, want %d", ordered[i], ordered[j], got, want)
			}
		}
	}
	if _, ok := keyOf(pkRecord(3.5)); ok {
		t.Error("a float primary key was accepted")
	}
	if !(Position{Key: mustKey(t, int64(1))}).Less(Position{Key: mustKey(t, int64(2))}) {
		t.Error("positions with keys do not order by key")
	}
}

// TestReplayFilterIgnoresBaseSequenceInfo: a base record's position is its
// key, whatever sequence info it carries; a stream record's is its
// sequence info.
func TestReplayFilterIgnoresBaseSequenceInfo(t *testing.T) {
	var f replayFilter
	rec := pkRecord(int64(4))
	rec.SequenceInfo = &tunnel.SequenceInfo{Timestamp: 99, RowIndex: 3}
	pos, stable := f.position(rec, true)
	if !stable || pos.Key.Compare(mustKey(t, int64(4))) != 0 || pos.Timestamp != 0 {
		t.Fatalf("base position %+v (stable %v)", pos, stable)
	}
	pos, stable = f.position(rec, false)
	if !stable || pos.Key != nil || pos.Timestamp != 99 || pos.RowIndex != 3 {
		t.Fatalf("stream position %+v (stable %v)", pos, stable)
	}
	f.delivered("data/p", Position{Key: mustKey(t, int64(10))})
	for id, want := range map[int64]bool{9: true, 10: true, 11: false} {
		var g replayFilter
		g.watermarks = f.watermarks
		pos, stable := g.position(pkRecord(id), true)
		if got := g.replayed("data/p", pos, stable); got != want {
			t.Errorf("key %d replayed=%v, want %v", id, got, want)
		}
		if g.replayed("data/other", pos, stable) {
			t.Errorf("key %d replayed in a partition without a watermark", id)
		}
	}
}

// TestReplayFilterOrderViolationStopsSkipping: once a base channel
// delivers a key not greater than the one before, nothing is skipped.
func TestReplayFilterOrderViolationStopsSkipping(t *testing.T) {
	var broken []Key
	f := replayFilter{watermarks: map[string]Position{"data/p": {Key: mustKey(t, int64(50))}},
		onOrderBroken: func(_, cur Key) { broken = append(broken, cur) }}
	for _, id := range []int64{10, 20} {
		pos, stable := f.position(pkRecord(id), true)
		if !f.replayed("data/p", pos, stable) {
			t.Fatalf("key %d not recognised as replayed", id)
		}
	}
	pos, stable := f.position(pkRecord(int64(20)), true) // equal: not increasing
	if stable || f.replayed("data/p", pos, stable) || len(broken) != 1 {
		t.Fatalf("repeated key: stable %v, violations %v", stable, broken)
	}
	pos, stable = f.position(pkRecord(int64(5)), true)
	if f.replayed("data/p", pos, stable) || len(broken) != 1 {
		t.Fatalf("after a violation a replay was skipped or reported twice (%v)", broken)
	}
}

// TestWriterBaseOrderViolationDeliversAtLeastOnce: a restarted base
// channel that replays in primary-key order skips what is delivered; when
// it then goes back in key order, it delivers everything again rather than
// lose a row, counts the violation, and keeps not skipping after the next
// restart.
func TestWriterBaseOrderViolationDeliversAtLeastOnce(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	recs := baseRecords(150, 2, rng)
	ps, sink, ch, rep := newMemState(), newMemSink(), &fakeChannel{records: recs}, &countingReporter{}
	ctx := context.Background()
	newBaseWriter := func() *writer {
		cfg := testWriterConfig(t, ps, sink, ch, rep)
		cfg.Channel = "BaseData_opaque"
		cfg.Checkpoint = func(string) error { return nil } // the channel never checkpoints
		cfg.TargetBytes = 1 << 20
		cfg.Metrics, _ = newMetrics(nil, cfg.Budget)
		return newWriter(cfg)
	}
	first := newBaseWriter()
	if err := first.process(ctx, recs[:100], "100", false); err != nil {
		t.Fatal(err)
	}
	if err := first.drain(ctx); err != nil {
		t.Fatal(err)
	}
	second := newBaseWriter()
	for _, batch := range [][2]int{{0, 60}, {30, 100}} {
		if err := second.process(ctx, recs[batch[0]:batch[1]], strconv.Itoa(batch[1]), false); err != nil {
			t.Fatal(err)
		}
	}
	if ok, _ := (journal{ps: ps}).unordered(ctx, "BaseData_opaque"); !ok {
		t.Error("the violation is not in the journal")
	}
	// A restart meanwhile (another writer reading the channel again from
	// its start) keeps not skipping.
	third := newBaseWriter()
	if err := third.process(ctx, recs[:10], "10", false); err != nil {
		t.Fatal(err)
	}
	if n := len(third.buffers); n == 0 {
		t.Error("after a restart the out-of-order channel skipped replayed rows again")
	}
	third.release()
	if err := second.process(ctx, recs[100:], tunnel.FinishTag, false); err != nil {
		t.Fatal(err)
	}
	ids, _ := deliveredIDs(t, sink)
	want, _ := expectedIDs(recs)
	for id := range want {
		wantN := 1
		if id >= 30 && id < 100 {
			wantN = 2 // delivered again after the violation: at least once
		}
		if ids[id] != wantN {
			t.Errorf("id %d delivered %d times, want %d", id, ids[id], wantN)
		}
	}
	var m dto.Metric
	if err := second.cfg.Metrics.orderBroken.WithLabelValues("t1", "BaseData_opaque").Write(&m); err != nil {
		t.Fatal(err)
	}
	if n := m.GetCounter().GetValue(); n != 1 {
		t.Errorf("order violations counted %v, want 1", n)
	}
	// A finished channel leaves nothing in the journal but its slot's
	// numbering and counters.
	_ = ps.Scan(ctx, "", func(k string, _ []byte) error {
		if !strings.HasPrefix(k, "count/") && !strings.HasPrefix(k, "seq/") {
			t.Errorf("journal key %s left after the channel finished", k)
		}
		return nil
	})
}
