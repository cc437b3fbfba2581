package state

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/kv"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// A registryOpener opens registries over one fresh, empty state; every call
// is another registry over that same state, sealing role secrets with key.
// For the shared Tablestore table each stands for another executor; for
// bbolt, another registry over the same store.
type registryOpener func(key []byte) Registry

// runRegistrySuite is the one test suite every Registry implementation
// passes: newState makes the fresh state of one test. Tests of what only
// one implementation has (persistence across reopening, key files, claims,
// resent writes, the storage layout) sit beside it in bolt_test.go and
// tablestore_test.go.
func runRegistrySuite(t *testing.T, newState func(t *testing.T) registryOpener) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, open registryOpener)
	}{
		{"Tasks", testTasks},
		{"PipelineState", testPipelineState},
		{"PipelineStateConcurrentSteps", testPipelineStateConcurrentSteps},
		{"ApplyIf", testApplyIf},
		{"ApplyIfRace", testApplyIfRace},
		{"Roles", testRoles},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newState(t)) })
	}
}

func TestBoltRegistry(t *testing.T) {
	runRegistrySuite(t, func(t *testing.T) registryOpener {
		store, err := kv.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = store.Close() })
		return func(key []byte) Registry {
			reg, err := NewBolt(store, key)
			if err != nil {
				t.Fatal(err)
			}
			return reg
		}
	})
}

// The Tablestore registry runs against the local Tablestore over real HTTP,
// through the official SDK.
func TestTablestoreRegistry(t *testing.T) {
	runRegistrySuite(t, func(t *testing.T) registryOpener {
		endpoint := localTablestore(t)
		return func(key []byte) Registry { return openTablestore(t, endpoint, key) }
	})
}

// twoRegistries opens two registries over the same state with one key.
func twoRegistries(open registryOpener) (a, b Registry) {
	key := KeyFromPassphrase("suite")
	return open(key), open(key)
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

func testApplyIf(t *testing.T, open registryOpener) {
	a, b := twoRegistries(open)
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
func testApplyIfRace(t *testing.T, open registryOpener) {
	a, b := twoRegistries(open)
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

func testTasks(t *testing.T, open registryOpener) {
	ctx := context.Background()
	a, b := twoRegistries(open)
	for _, id := range [][2]string{{"b", "t1"}, {"a", "t2"}, {"a", "t1"}, {"ab", "t0"}} {
		if err := a.CreateTask(ctx, sampleTask(id[0], id[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.CreateTask(ctx, sampleTask("a", "t1")); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate CreateTask through the other registry = %v, want ErrExists", err)
	}
	// Concurrent status updates through both registries must all land (bbolt's
	// Batch may re-run functions; Tablestore's conditional writes retry).
	var wg sync.WaitGroup
	for i := range 20 {
		reg := []Registry{a, b}[i%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := reg.UpdateStatus(ctx, "a", "t1", func(s *task.Status) { s.RowsDelivered += 5 }); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, err := b.GetTask(ctx, "a", "t1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status.RowsDelivered != 100 {
		t.Fatalf("RowsDelivered = %d after 20 concurrent +5 through two registries, want 100", got.Status.RowsDelivered)
	}
	list, err := b.ListTasks(ctx, "a")
	if err != nil || len(list) != 2 || list[0].Name != "t1" || list[1].Name != "t2" {
		t.Fatalf("ListTasks(a) = %v, %v; want t1, t2 (not table ab's)", list, err)
	}
	all, err := b.ListTasks(ctx, "")
	if err != nil || len(all) != 4 {
		t.Fatalf("ListTasks(\"\") = %d tasks, %v; want 4", len(all), err)
	}
	var ids []string
	for _, tk := range all {
		ids = append(ids, tk.Table+"/"+tk.Name)
	}
	if got, want := strings.Join(ids, ","), "a/t1,a/t2,ab/t0,b/t1"; got != want {
		t.Fatalf("ListTasks(\"\") = %s, want %s (by table, then name)", got, want)
	}
	if none, err := b.ListTasks(ctx, "zz"); err != nil || none == nil || len(none) != 0 {
		t.Fatalf("ListTasks of a table without tasks = %#v, %v; want an empty, non-nil list", none, err)
	}
	if err := a.UpdateStatus(ctx, "a", "nope", func(*task.Status) {}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("UpdateStatus missing = %v, want ErrNotFound", err)
	}
	if _, err := a.GetTask(ctx, "a", "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetTask missing = %v, want ErrNotFound", err)
	}
	updated, err := a.UpdateTask(ctx, "a", "t1", func(tk *task.Task) error {
		tk.Name = "renamed" // must be ignored
		tk.FlushIntervalSeconds = 7
		return nil
	})
	if err != nil || updated.Name != "t1" || updated.FlushIntervalSeconds != 7 {
		t.Fatalf("UpdateTask = %+v, %v", updated, err)
	}
	if seen, _ := b.GetTask(ctx, "a", "t1"); seen.FlushIntervalSeconds != 7 {
		t.Fatalf("the other registry reads FlushIntervalSeconds %d, want 7", seen.FlushIntervalSeconds)
	}
	if _, err := b.GetTask(ctx, "a", "renamed"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetTask of the name UpdateTask was given = %v, want ErrNotFound", err)
	}
	refused := errors.New("no")
	if _, err := a.UpdateTask(ctx, "a", "t1", func(tk *task.Task) error { tk.FlushIntervalSeconds = 9; return refused }); !errors.Is(err, refused) {
		t.Fatalf("UpdateTask error = %v, want the function's", err)
	}
	if seen, _ := b.GetTask(ctx, "a", "t1"); seen.FlushIntervalSeconds != 7 {
		t.Fatalf("a refused UpdateTask changed FlushIntervalSeconds to %d", seen.FlushIntervalSeconds)
	}
	if err := b.DeleteTask(ctx, "a", "t1"); err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteTask(ctx, "a", "t1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second DeleteTask = %v, want ErrNotFound", err)
	}
	if _, err := a.UpdateTask(ctx, "a", "t1", func(*task.Task) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("UpdateTask of a deleted task = %v, want ErrNotFound", err)
	}
	if list, _ := a.ListTasks(ctx, "a"); len(list) != 1 || list[0].Name != "t2" {
		t.Fatalf("ListTasks(a) after the delete = %v, want t2", list)
	}
}

func testPipelineState(t *testing.T, open registryOpener) {
	ctx := context.Background()
	a, b := twoRegistries(open)
	mustCreate(t, a, "tbl", "one", "two")
	one, two := a.PipelineState("tbl", "one"), a.PipelineState("tbl", "two")
	if _, ok, err := one.Get(ctx, "cp"); ok || err != nil {
		t.Fatalf("Get on empty state = %v, %v", ok, err)
	}
	long := "wm/stream_" + strings.Repeat("x-y_z", 80) + "/data/dt=2026-11-24/hh=01" // far beyond a Tablestore column name's 255 characters
	puts := map[string][]byte{"cp/0": []byte("a"), "cp/1": []byte("b"), "j/9": []byte("c"), long: []byte("far"), "bin\x00\xff": {0, 1, 2}}
	if err := one.Apply(ctx, puts, nil); err != nil {
		t.Fatal(err)
	}
	if err := two.Apply(ctx, map[string][]byte{"cp/0": []byte("z")}, nil); err != nil {
		t.Fatal(err)
	}
	// The other registry sees the same state.
	other := b.PipelineState("tbl", "one")
	for k, want := range puts {
		v, ok, err := other.Get(ctx, k)
		if err != nil || !ok || !bytes.Equal(v, want) {
			t.Fatalf("Get(%q) from the other registry = %q, %v, %v; want %q", k, v, ok, err, want)
		}
	}
	if got, want := scanPrefix(t, other, "cp/"), "cp/0=a,cp/1=b"; got != want {
		t.Fatalf("Scan(cp/) = %v, want %s in order", got, want)
	}
	// One step deletes and puts together; deleting an absent key is no error.
	if err := other.Apply(ctx, map[string][]byte{"cp/2": []byte("d")}, []string{"cp/0", "j/9", "absent"}); err != nil {
		t.Fatal(err)
	}
	if got, want := scanPrefix(t, one, "cp/"), "cp/1=b,cp/2=d"; got != want {
		t.Fatalf("Scan(cp/) after the step = %v, want %s", got, want)
	}
	var keys []string
	_ = one.Scan(ctx, "", func(k string, _ []byte) error { keys = append(keys, k); return nil })
	if got, want := strings.Join(keys, ","), "bin\x00\xff,cp/1,cp/2,"+long; got != want {
		t.Fatalf("keys after the step = %q, want %q", got, want)
	}
	// A key both put and deleted in one step is put.
	if err := one.Apply(ctx, map[string][]byte{"both": []byte("kept")}, []string{"both"}); err != nil {
		t.Fatal(err)
	}
	if v, ok, _ := one.Get(ctx, "both"); !ok || string(v) != "kept" {
		t.Fatalf("a key put and deleted in one step = %q, %v; want kept", v, ok)
	}
	stop := errors.New("stop")
	calls := 0
	if err := one.Scan(ctx, "", func(string, []byte) error { calls++; return stop }); !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("Scan error = %v after %d calls, want the callback's after 1", err, calls)
	}
	if err := one.Apply(ctx, map[string][]byte{"": []byte("x")}, nil); err == nil {
		t.Fatal("Apply with an empty key succeeded")
	}
	// Status updates and journal steps do not disturb each other.
	if err := a.UpdateStatus(ctx, "tbl", "one", func(s *task.Status) { s.RowsDelivered = 3 }); err != nil {
		t.Fatal(err)
	}
	if v, ok, _ := one.Get(ctx, "cp/1"); !ok || string(v) != "b" {
		t.Fatalf("a status update lost pipeline key cp/1: %q %v", v, ok)
	}
	if tk, _ := b.GetTask(ctx, "tbl", "one"); tk.Status.RowsDelivered != 3 {
		t.Fatalf("RowsDelivered = %d after journal steps, want 3", tk.Status.RowsDelivered)
	}
	// The state goes with its task; the other task's stays.
	if err := b.DeleteTask(ctx, "tbl", "one"); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := one.Get(ctx, "cp/1"); ok || err != nil {
		t.Fatalf("state survived its task: %v, %v", ok, err)
	}
	if err := one.Apply(ctx, map[string][]byte{"cp/0": []byte("x")}, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Apply after the task was deleted = %v, want ErrNotFound", err)
	}
	if v, ok, _ := two.Get(ctx, "cp/0"); !ok || string(v) != "z" {
		t.Fatalf("other task's state = %q, %v; want z", v, ok)
	}
	if err := a.DeleteTask(ctx, "tbl", "one"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second DeleteTask = %v, want ErrNotFound", err)
	}
	// A re-created task starts with an empty state.
	mustCreate(t, a, "tbl", "one")
	if got := stateDump(t, one); got != "" {
		t.Fatalf("re-created task inherited pipeline keys: %q", got)
	}
}

// scanPrefix is the key=value pairs under prefix, comma-separated in key order.
func scanPrefix(t *testing.T, ps PipelineState, prefix string) string {
	t.Helper()
	var pairs []string
	err := ps.Scan(context.Background(), prefix, func(k string, v []byte) error {
		pairs = append(pairs, k+"="+string(v))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(pairs, ",")
}

// Journal steps from many writers at once (as several executors' channel
// writers do) must all land, each atomically: every step moves two keys
// together, and a reader never sees one moved without the other.
func testPipelineStateConcurrentSteps(t *testing.T, open registryOpener) {
	ctx := context.Background()
	a, b := twoRegistries(open)
	regs := []Registry{a, b}
	mustCreate(t, a, "tbl", "j")
	const writers, steps = 6, 15
	var wg sync.WaitGroup
	for w := range writers {
		ps := regs[w%2].PipelineState("tbl", "j")
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := 1; s <= steps; s++ {
				v := []byte(fmt.Sprint(s))
				err := ps.Apply(ctx, map[string][]byte{fmt.Sprintf("seq/%d", w): v, fmt.Sprintf("wm/%d", w): v},
					[]string{fmt.Sprintf("intent/%d", w)})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	var torn []string
	go func() { // a reader checking every snapshot while the writers run
		defer close(done)
		ps := regs[1].PipelineState("tbl", "j")
		for ctx.Err() == nil {
			seen := map[string]string{}
			_ = ps.Scan(ctx, "", func(k string, v []byte) error { seen[k] = string(v); return nil })
			for w := range writers {
				if a, b := seen[fmt.Sprintf("seq/%d", w)], seen[fmt.Sprintf("wm/%d", w)]; a != b {
					torn = append(torn, fmt.Sprintf("writer %d: seq %q wm %q", w, a, b))
				}
			}
			allDone := len(seen) == 2*writers
			for w := range writers {
				allDone = allDone && seen[fmt.Sprintf("seq/%d", w)] == fmt.Sprint(steps)
			}
			if allDone {
				return
			}
		}
	}()
	wg.Wait()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("reader never saw every writer's last step")
	}
	if len(torn) > 0 {
		t.Fatalf("a reader saw half-applied steps: %v", torn[:min(5, len(torn))])
	}
	ps := regs[0].PipelineState("tbl", "j")
	for w := range writers {
		if v, ok, _ := ps.Get(ctx, fmt.Sprintf("seq/%d", w)); !ok || string(v) != fmt.Sprint(steps) {
			t.Fatalf("writer %d's last step = %q, want %d", w, v, steps)
		}
	}
}

func testRoles(t *testing.T, open registryOpener) {
	ctx := context.Background()
	a, b := twoRegistries(open)
	arn := task.RoleARN(task.DefaultAccountID, "Writer") // the ARN names the role in lower case
	rec := RoleRecord{Role: task.Role{Name: "Writer", ARN: arn, CreatedAt: time.Now().UTC().Truncate(time.Second)},
		Credentials: Credentials{AccessKeyID: "AKID1", AccessKeySecret: "top-secret-value"}}
	if err := a.PutRole(ctx, rec); err != nil {
		t.Fatal(err)
	}
	got, err := b.GetRole(ctx, "Writer")
	if err != nil || got.Credentials != rec.Credentials || got.ARN != arn || !got.CreatedAt.Equal(rec.CreatedAt) {
		t.Fatalf("GetRole from the other registry = %+v, %v; want %+v", got, err, rec)
	}
	byARN, err := b.RoleByARN(ctx, "acs:ram::"+task.DefaultAccountID+":role/writer")
	if err != nil || byARN.Name != "Writer" || byARN.Credentials.AccessKeySecret != "top-secret-value" {
		t.Fatalf("RoleByARN = %+v, %v", byARN, err)
	}
	// Replacing keeps one role.
	rec.Credentials.AccessKeySecret = "rotated"
	if err := b.PutRole(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if got, _ := a.GetRole(ctx, "Writer"); got.Credentials.AccessKeySecret != "rotated" {
		t.Fatalf("secret after replace = %q", got.Credentials.AccessKeySecret)
	}
	second := RoleRecord{Role: task.Role{Name: "Auditor", ARN: task.RoleARN(task.DefaultAccountID, "Auditor")},
		Credentials: Credentials{AccessKeyID: "AKID2", AccessKeySecret: "s2"}}
	if err := a.PutRole(ctx, second); err != nil {
		t.Fatal(err)
	}
	// A registry with another key cannot open the secret, and says why; it
	// can still list the roles, which carry no secret.
	wrong := open(KeyFromPassphrase("wrong"))
	if _, err := wrong.GetRole(ctx, "Writer"); err == nil || !strings.Contains(err.Error(), "decrypt") {
		t.Fatalf("GetRole with the wrong key = %v, want a decrypt error", err)
	}
	roles, err := wrong.ListRoles(ctx)
	if err != nil || len(roles) != 2 || roles[0].Name != "Auditor" || roles[1].Name != "Writer" || roles[1].ARN != arn {
		t.Fatalf("ListRoles = %v, %v; want Auditor, Writer", roles, err)
	}
	if err := a.DeleteRole(ctx, "Writer"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.GetRole(ctx, "Writer"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetRole after delete = %v, want ErrNotFound", err)
	}
	if err := b.DeleteRole(ctx, "Writer"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second DeleteRole = %v, want ErrNotFound", err)
	}
	if _, err := b.RoleByARN(ctx, arn); !errors.Is(err, ErrNotFound) {
		t.Fatalf("RoleByARN after delete = %v, want ErrNotFound", err)
	}
	if roles, _ := b.ListRoles(ctx); len(roles) != 1 || roles[0].Name != "Auditor" {
		t.Fatalf("ListRoles after delete = %v, want Auditor", roles)
	}
}
