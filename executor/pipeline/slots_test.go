package pipeline

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

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
					Endpoint: c.otsHTTP.URL, Instance: stackInstance, AccessKeyID: stackKeyID, AccessKeySecret: stackSecret,
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
