package state

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
)

// newRegistries opens two registries over the same fresh, empty state: for
// the shared Tablestore table they stand for two executors; for bbolt, two
// registries over one store.
type newRegistries func(t *testing.T) (a, b Registry)

// runRegistrySuite is the one test suite every Registry implementation
// passes; tests of what only one implementation has (persistence across
// reopening, claims, resent writes, the storage layout) sit beside it.
func runRegistrySuite(t *testing.T, open newRegistries) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, a, b Registry)
	}{
		{"ApplyIf", testApplyIf},
		{"ApplyIfRace", testApplyIfRace},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := open(t)
			tc.run(t, a, b)
		})
	}
}

func TestBoltRegistry(t *testing.T) {
	runRegistrySuite(t, func(t *testing.T) (Registry, Registry) {
		a, store := openRegistry(t, t.TempDir(), KeyFromPassphrase("suite"))
		t.Cleanup(func() { _ = store.Close() })
		b, err := NewBolt(store, KeyFromPassphrase("suite"))
		if err != nil {
			t.Fatal(err)
		}
		return a, b
	})
}

func TestTablestoreRegistry(t *testing.T) {
	runRegistrySuite(t, func(t *testing.T) (Registry, Registry) {
		endpoint := localTablestore(t)
		key := KeyFromPassphrase("suite")
		return openTablestore(t, endpoint, key), openTablestore(t, endpoint, key)
	})
}

func mustCreate(t *testing.T, reg Registry, table string, names ...string) {
	t.Helper()
	for _, n := range names {
		if err := reg.CreateTask(context.Background(), sampleTask(table, n)); err != nil {
			t.Fatal(err)
		}
	}
}

// stateDump is every key=value of a pipeline state, in key order.
func stateDump(t *testing.T, ps PipelineState) string {
	t.Helper()
	var b bytes.Buffer
	err := ps.Scan(context.Background(), "", func(k string, v []byte) error {
		fmt.Fprintf(&b, "%s=%s;", k, v)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func testApplyIf(t *testing.T, a, b Registry) {
	ctx := context.Background()
	mustCreate(t, a, "tbl", "one")
	ps, other := a.PipelineState("tbl", "one"), b.PipelineState("tbl", "one")
	take := func(ps PipelineState, owner string) error {
		return ps.ApplyIf(ctx, map[string][]byte{"lease": nil}, map[string][]byte{"lease": []byte(owner)}, nil)
	}
	if err := take(ps, "a"); err != nil {
		t.Fatalf("taking an absent key = %v", err)
	}
	if err := take(other, "b"); !errors.Is(err, ErrConflict) {
		t.Fatalf("taking a present key from the other registry = %v, want ErrConflict", err)
	}
	if v, _, _ := other.Get(ctx, "lease"); string(v) != "a" {
		t.Fatalf("lease = %q after a refused take, want a", v)
	}
	// A value expectation; puts and deletes go through together.
	if err := ps.Apply(ctx, map[string][]byte{"x": []byte("1"), "empty": {}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := other.ApplyIf(ctx, map[string][]byte{"lease": []byte("b")}, map[string][]byte{"lease": []byte("c")}, nil); !errors.Is(err, ErrConflict) {
		t.Fatalf("ApplyIf with a wrong value expected = %v, want ErrConflict", err)
	}
	if err := other.ApplyIf(ctx, map[string][]byte{"lease": []byte("a")}, map[string][]byte{"lease": []byte("b")}, []string{"x"}); err != nil {
		t.Fatalf("ApplyIf with the right value expected = %v", err)
	}
	if got, want := stateDump(t, ps), "empty=;lease=b;"; got != want {
		t.Fatalf("state = %q, want %q", got, want)
	}
	// Every expectation must hold: one that fails changes nothing at all.
	before := stateDump(t, ps)
	err := ps.ApplyIf(ctx, map[string][]byte{"lease": []byte("b"), "x": nil, "y": []byte("2")},
		map[string][]byte{"lease": []byte("z"), "new": []byte("n")}, []string{"empty"})
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("ApplyIf with one unmet expectation of three = %v, want ErrConflict", err)
	}
	if got := stateDump(t, ps); got != before {
		t.Fatalf("a refused ApplyIf changed the state: %q, was %q", got, before)
	}
	// An empty value is present: it matches an empty expectation, not an absent one.
	if err := ps.ApplyIf(ctx, map[string][]byte{"empty": nil}, nil, []string{"empty"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("expecting a key with an empty value absent = %v, want ErrConflict", err)
	}
	if err := ps.ApplyIf(ctx, map[string][]byte{"gone": {}}, map[string][]byte{"gone": {}}, nil); !errors.Is(err, ErrConflict) {
		t.Fatalf("expecting an absent key with an empty value = %v, want ErrConflict", err)
	}
	if err := ps.ApplyIf(ctx, map[string][]byte{"empty": {}, "lease": []byte("b")}, nil, []string{"empty"}); err != nil {
		t.Fatalf("expecting an empty value = %v", err)
	}
	// Without expectations it is Apply.
	if err := ps.ApplyIf(ctx, nil, map[string][]byte{"free": []byte("f")}, nil); err != nil {
		t.Fatal(err)
	}
	if got, want := stateDump(t, other), "free=f;lease=b;"; got != want {
		t.Fatalf("state = %q, want %q", got, want)
	}
	if err := ps.ApplyIf(ctx, map[string][]byte{"lease": []byte("b")}, map[string][]byte{"": []byte("x")}, nil); err == nil || errors.Is(err, ErrConflict) {
		t.Fatalf("ApplyIf with an empty key = %v, want a plain error", err)
	}
	// A task's state cannot be taken once the task is gone.
	if err := b.DeleteTask(ctx, "tbl", "one"); err != nil {
		t.Fatal(err)
	}
	if err := take(ps, "late"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ApplyIf after the task was deleted = %v, want ErrNotFound", err)
	}
}

// Many goroutines over two registries race to take one key, while plain
// journal steps keep changing the state under them: exactly one wins each
// round, and only the winner's other puts land.
func testApplyIfRace(t *testing.T, a, b Registry) {
	ctx := context.Background()
	mustCreate(t, a, "tbl", "race")
	const racers = 8
	// A round takes the lease from its holder (expect) or, with nil, when
	// nobody holds it; the holder sits out, as taking from itself would
	// leave the value unchanged for the next racer to take as well.
	round := func(expect []byte) string {
		t.Helper()
		var mu sync.Mutex
		var winners []string
		var wg sync.WaitGroup
		for i := range racers {
			ps := []Registry{a, b}[i%2].PipelineState("tbl", "race")
			owner := fmt.Sprintf("exec-%d", i)
			if owner == string(expect) {
				continue
			}
			wg.Add(2)
			go func() {
				defer wg.Done()
				err := ps.ApplyIf(ctx, map[string][]byte{"lease": expect},
					map[string][]byte{"lease": []byte(owner), "won/" + owner: []byte("1")}, nil)
				switch {
				case err == nil:
					mu.Lock()
					winners = append(winners, owner)
					mu.Unlock()
				case !errors.Is(err, ErrConflict):
					t.Error(err)
				}
			}()
			go func() { // a journal step of the same task, not involved in the race
				defer wg.Done()
				if err := ps.Apply(ctx, map[string][]byte{fmt.Sprintf("seq/%d", i): []byte(owner)}, nil); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if len(winners) != 1 {
			t.Fatalf("winners = %v, want exactly one", winners)
		}
		return winners[0]
	}
	first := round(nil)
	second := round([]byte(first))
	if second == first {
		t.Fatalf("the holder %s won the round it sat out", first)
	}
	ps := b.PipelineState("tbl", "race")
	if v, _, _ := ps.Get(ctx, "lease"); string(v) != second {
		t.Fatalf("lease = %q, want the second round's winner %s", v, second)
	}
	var won []string
	_ = ps.Scan(ctx, "won/", func(k string, _ []byte) error { won = append(won, k); return nil })
	want := []string{"won/" + first, "won/" + second}
	slices.Sort(want)
	if want = slices.Compact(want); !slices.Equal(won, want) {
		t.Fatalf("won/ keys = %v, want only the winners' %v", won, want)
	}
	n := 0
	_ = ps.Scan(ctx, "seq/", func(string, []byte) error { n++; return nil })
	if n != racers {
		t.Fatalf("%d journal steps landed beside the race, want %d (one per racer)", n, racers)
	}
}
