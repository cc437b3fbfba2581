package pipeline

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/kv"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/state"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

func mustTake(t *testing.T, s slots, channel string) int {
	t.Helper()
	n, err := s.take(context.Background(), channel)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSlotsAreCompactStableAndReused: slots from 0, the same for a channel
// every time, the lowest free one for a new channel, and a freed slot's
// SequenceIDs continue with its next channel.
func TestSlotsAreCompactStableAndReused(t *testing.T) {
	ctx := context.Background()
	ps := newMemState()
	s, j := slots{ps: ps}, journal{ps: ps}
	if a, b, again := mustTake(t, s, "opaque-a"), mustTake(t, s, "opaque-b"), mustTake(t, s, "opaque-a"); a != 0 || b != 1 || again != 0 {
		t.Fatalf("slots %d %d %d, want 0 1 0", a, b, again)
	}
	in, err := j.begin(ctx, Intent{Slot: 0, Kind: kindData, Channel: "opaque-a"}, func(seq int64) string { return fmt.Sprint(seq) })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.commit(ctx, in); err != nil {
		t.Fatal(err)
	}
	if err := s.release(ctx, "opaque-a", 0); err != nil {
		t.Fatal(err)
	}
	if c := mustTake(t, s, "opaque-c"); c != 0 {
		t.Fatalf("a new channel took slot %d, want the freed 0", c)
	}
	if d := mustTake(t, s, "opaque-d"); d != 2 {
		t.Fatalf("a third channel running at once took slot %d, want 2", d)
	}
	next, err := j.begin(ctx, Intent{Slot: 0, Kind: kindData, Channel: "opaque-c"}, func(seq int64) string { return fmt.Sprint(seq) })
	if err != nil {
		t.Fatal(err)
	}
	if next.Seq != 2 {
		t.Fatalf("the next channel on slot 0 got SequenceID %d, want 2 (continuing)", next.Seq)
	}
	// Releasing a slot the channel does not hold changes nothing.
	if err := s.release(ctx, "opaque-a", 0); err != nil {
		t.Fatal(err)
	}
	if n, ok, _ := s.held(ctx, "opaque-c"); !ok || n != 0 {
		t.Fatalf("a stale release took slot 0 from its holder (held %d %v)", n, ok)
	}
}

// TestSlotsDifferentialThenSplit: a differential task's base channels take
// slots 0-3 and its stream channels reuse them once the base channels
// finished; a split (parent finishes, two children open) adds one slot.
func TestSlotsDifferentialThenSplit(t *testing.T) {
	ctx := context.Background()
	s := slots{ps: newMemState()}
	for i := range 4 {
		if n := mustTake(t, s, fmt.Sprintf("BaseData_%c", 'w'+i)); n != i {
			t.Fatalf("base channel %d took slot %d", i, n)
		}
	}
	for i := range 4 {
		if err := s.release(ctx, fmt.Sprintf("BaseData_%c", 'w'+i), i); err != nil {
			t.Fatal(err)
		}
	}
	got := map[int]bool{}
	for i := range 4 {
		got[mustTake(t, s, fmt.Sprintf("stream-%d", i))] = true
	}
	if len(got) != 4 || !got[0] || !got[3] {
		t.Fatalf("stream channels took slots %v, want 0-3", got)
	}
	parent, _, _ := s.held(ctx, "stream-2")
	if err := s.release(ctx, "stream-2", parent); err != nil {
		t.Fatal(err)
	}
	left, right := mustTake(t, s, "child-l"), mustTake(t, s, "child-r")
	if left != parent || right != 4 {
		t.Fatalf("split children took slots %d and %d, want %d and 4", left, right, parent)
	}
}

// TestSlotsRaceOnSharedRegistry: two executors sharing a task through one
// registry take slots for the same channels at the same time; every
// channel must end with one slot both agree on, and the slots must be
// 0..n-1. Run against both registries (bbolt, the Tablestore table).
func TestSlotsRaceOnSharedRegistry(t *testing.T) {
	for _, impl := range []struct {
		name string
		open func(t *testing.T) (a, b state.Registry)
	}{
		{"bolt", func(t *testing.T) (state.Registry, state.Registry) {
			store, err := kv.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = store.Close() })
			a, err := state.NewBolt(store, state.KeyFromPassphrase("slots"))
			if err != nil {
				t.Fatal(err)
			}
			b, err := state.NewBolt(store, state.KeyFromPassphrase("slots"))
			if err != nil {
				t.Fatal(err)
			}
			return a, b
		}},
		{"tablestore", func(t *testing.T) (state.Registry, state.Registry) {
			c := startCloud(t, t.TempDir())
			t.Cleanup(c.close)
			open := func() state.Registry {
				reg, err := state.NewTablestore(context.Background(), state.TablestoreConfig{
					Endpoint: c.otsURL, Instance: stackInstance, AccessKeyID: stackKeyID, AccessKeySecret: stackSecret,
					SecretKey: state.KeyFromPassphrase("slots"),
				})
				if err != nil {
					t.Fatal(err)
				}
				return reg
			}
			return open(), open()
		}},
	} {
		t.Run(impl.name, func(t *testing.T) {
			a, b := impl.open(t)
			ctx := context.Background()
			spec := task.Spec{Name: "race", Table: "t", Bucket: "b", Region: stackRegion, RoleARN: stackRoleARN,
				Prefix: "p", SyncMode: task.SyncIncremental, Columns: e2eColumns}
			spec.ApplyDefaults()
			if err := a.CreateTask(ctx, task.Task{Spec: spec, Status: task.Status{Phase: task.PhaseInit, ResolvedColumns: spec.Columns}}); err != nil {
				t.Fatal(err)
			}
			const channels = 6
			var mu sync.Mutex
			got := map[string][]int{}
			var wg sync.WaitGroup
			for _, reg := range []state.Registry{a, b} {
				s := slots{ps: reg.PipelineState("t", "race")}
				for i := range channels {
					wg.Add(1)
					go func() {
						defer wg.Done()
						ch := fmt.Sprintf("opaque-%d", i)
						n, err := s.take(ctx, ch)
						if err != nil {
							t.Error(err)
							return
						}
						mu.Lock()
						got[ch] = append(got[ch], n)
						mu.Unlock()
					}()
				}
			}
			wg.Wait()
			used := map[int]string{}
			for ch, ns := range got {
				if len(ns) != 2 || ns[0] != ns[1] {
					t.Errorf("channel %s got slots %v from the two executors", ch, ns)
					continue
				}
				if other, dup := used[ns[0]]; dup {
					t.Errorf("slot %d given to %s and %s", ns[0], ch, other)
				}
				used[ns[0]] = ch
			}
			for n := range channels {
				if used[n] == "" {
					t.Errorf("slots %v are not 0..%d", used, channels-1)
					break
				}
			}
			_ = time.Second
		})
	}
}

// TestWriterTakesItsSlotOnFirstBatchAndFreesItWhenFinished: a channel's
// writer takes the lowest free slot when its first batch arrives (not
// before: a channel dialled only to find it finished holds none), names its
// objects with it, and frees it when the channel finishes; the next channel
// on the slot continues its SequenceIDs.
func TestWriterTakesItsSlotOnFirstBatchAndFreesItWhenFinished(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(41, 42))
	recs := streamRecords(300, 1, rng)
	ps, sink := newMemState(), newMemSink()
	s := slots{ps: ps}
	if n := mustTake(t, s, "other"); n != 0 {
		t.Fatalf("first slot %d", n)
	}
	newSlotWriter := func(channel string) *writer {
		cfg := testWriterConfig(t, ps, sink, &fakeChannel{records: recs}, &countingReporter{})
		cfg.Channel, cfg.Slot, cfg.Slots, cfg.DirtyPrefix = channel, -1, s, nil
		return newWriter(cfg)
	}
	idle := newSlotWriter("dialled-finished")
	idle.release()
	if _, ok, _ := s.held(ctx, "dialled-finished"); ok {
		t.Fatal("a channel that never got a batch took a slot")
	}
	w := newSlotWriter("opaque-1")
	if err := w.process(ctx, recs[:150], "150", true); err != nil {
		t.Fatal(err)
	}
	if n, ok, _ := s.held(ctx, "opaque-1"); !ok || n != 1 {
		t.Fatalf("channel holds slot %d (%v), want 1", n, ok)
	}
	if err := w.process(ctx, recs[150:], tunnel.FinishTag, true); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.held(ctx, "opaque-1"); ok {
		t.Fatal("a finished channel still holds its slot")
	}
	objects := len(sink.objects)
	for key := range sink.objects {
		if !strings.Contains(key, "/t1_1_") {
			t.Errorf("object %s not named with slot 1", key)
		}
	}
	next := newSlotWriter("opaque-2")
	if err := next.process(ctx, recs[:10], tunnel.FinishTag, true); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("__%d", objects+1)
	found := false
	for key := range sink.objects {
		found = found || strings.Contains(key, "/t1_1_") && strings.HasSuffix(key, want)
	}
	if !found {
		t.Errorf("the next channel on slot 1 did not continue at SequenceID %d: %v", objects+1, keysOf(sink.objects))
	}
}

// TestSlotsRepairJournalsWithoutSlotRecords: a journal that names a
// channel's ConcurrentID (cid/) without the slot record gets it; a stale
// cid/ whose slot another channel holds is replaced by a free slot.
func TestSlotsRepairJournalsWithoutSlotRecords(t *testing.T) {
	ctx := context.Background()
	ps := newMemState()
	s := slots{ps: ps}
	ps.data[cidKey("old-a")] = []byte("0")
	if n := mustTake(t, s, "old-a"); n != 0 {
		t.Fatalf("old-a took %d, want its recorded 0", n)
	}
	if v, _, _ := ps.Get(ctx, slotKey(0)); string(v) != "old-a" {
		t.Fatalf("slot/0 = %q, want old-a", v)
	}
	ps.data[cidKey("stale-b")] = []byte("0")
	if n := mustTake(t, s, "stale-b"); n != 1 {
		t.Fatalf("stale-b took %d, want a free slot (1)", n)
	}
	if n := mustTake(t, s, "old-a"); n != 0 {
		t.Fatalf("old-a lost its slot: %d", n)
	}
}
