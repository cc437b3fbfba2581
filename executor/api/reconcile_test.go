package api

import (
	"context"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/client"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/state"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"

	"github.com/tablestore-delivery/terraform-provider-tablestore/internal/testsupport"
)

// reconcilingRunner is a recordingRunner that also implements Reconciler,
// remembering the last task list it was given.
type reconcilingRunner struct {
	recordingRunner
	mu    sync.Mutex
	last  []task.Task
	calls int
}

func (r *reconcilingRunner) Reconcile(_ context.Context, tasks []task.Task) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last = slices.Clone(tasks)
	r.calls++
	return nil
}

func (r *reconcilingRunner) lastPhase(table, name string) (task.Phase, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range r.last {
		if t.Table == table && t.Name == name {
			return t.Status.Phase, true
		}
	}
	return "", false
}

// sharedRegistry is a Tablestore registry in the local cloud's Tablestore
// endpoint; every call opens another registry over it (another executor).
func sharedRegistry(t *testing.T) func() state.Registry {
	t.Helper()
	lc, err := localcloud.Start(context.Background(), localcloud.Config{DataDir: t.TempDir(),
		Credentials: map[string]string{"AKID": "secret"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lc.Close() })
	return func() state.Registry {
		reg, err := state.NewTablestore(context.Background(), state.TablestoreConfig{
			Endpoint: lc.TablestoreURL, Instance: lc.Instance, AccessKeyID: "AKID", AccessKeySecret: "secret",
			SecretKey: state.KeyFromPassphrase("shared"),
		})
		if err != nil {
			t.Fatal(err)
		}
		return reg
	}
}

type sharedServer struct {
	srv    *Server
	runner *reconcilingRunner
	client *client.Client
}

func startSharedServer(t *testing.T, reg state.Registry, owner string, ttl time.Duration, runner *reconcilingRunner) *sharedServer {
	t.Helper()
	srv, err := New(Config{Token: testToken, Registry: reg, Catalog: ordersCatalog(), Runner: runner, Region: testRegion,
		Logger: testsupport.QuietLogger(""), RetryInterval: 20 * time.Millisecond,
		ReconcileInterval: 50 * time.Millisecond, Owner: owner, InitClaimTTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { hs.Close(); _ = srv.Close() })
	c, err := client.New(hs.URL, testToken)
	if err != nil {
		t.Fatal(err)
	}
	return &sharedServer{srv: srv, runner: runner, client: c}
}

// A task created through one executor is initialized by that one only (the
// others lose the claim), and every executor's Runner then gets it from
// the registry to run its share of the channels.
func TestSharedRegistryInitializesOnceAndReconcilesEverywhere(t *testing.T) {
	newReg := sharedRegistry(t)
	gate := make(chan struct{})
	a := startSharedServer(t, newReg(), "exec-a", time.Minute, &reconcilingRunner{recordingRunner: recordingRunner{gate: gate}})
	b := startSharedServer(t, newReg(), "exec-b", time.Minute, &reconcilingRunner{})
	ctx := context.Background()
	if _, err := a.client.CreateTask(ctx, manualSpec("orders-lake")); err != nil {
		t.Fatal(err)
	}
	// While A's initialization is held in Runner.Start, B reconciles many
	// times and sees the task in INIT, but must not initialize it.
	testsupport.WaitUntil(t, 5*time.Second, "B reconciles the task in INIT", func() bool {
		phase, ok := b.runner.lastPhase("orders", "orders-lake")
		return ok && phase == task.PhaseInit
	})
	time.Sleep(300 * time.Millisecond) // several more reconcile rounds
	if ids := b.runner.startedIDs(); len(ids) != 0 {
		t.Fatalf("executor B initialized %v although A holds the claim", ids)
	}
	close(gate)
	testsupport.WaitUntil(t, 5*time.Second, "B's runner gets the task past INIT", func() bool {
		phase, ok := b.runner.lastPhase("orders", "orders-lake")
		return ok && phase == task.PhaseFull
	})
	if ids := a.runner.startedIDs(); !slices.Equal(ids, []string{"orders/orders-lake"}) {
		t.Fatalf("executor A started %v, want the task once", ids)
	}
	if ids := b.runner.startedIDs(); len(ids) != 0 {
		t.Fatalf("executor B initialized %v", ids)
	}
	// Deleted through B: A's runner no longer gets it.
	if err := b.client.DeleteTask(ctx, "orders", "orders-lake"); err != nil {
		t.Fatal(err)
	}
	testsupport.WaitUntil(t, 5*time.Second, "A's runner sees the task gone", func() bool {
		_, ok := a.runner.lastPhase("orders", "orders-lake")
		return !ok
	})
}

// When the executor that claimed a task's initialization goes away, the
// claim expires and another executor initializes the task.
func TestInitClaimPassesOnWhenItsHolderStops(t *testing.T) {
	newReg := sharedRegistry(t)
	stuck := &reconcilingRunner{recordingRunner: recordingRunner{gate: make(chan struct{})}} // never opens
	a := startSharedServer(t, newReg(), "exec-a", 300*time.Millisecond, stuck)
	ctx := context.Background()
	if _, err := a.client.CreateTask(ctx, manualSpec("orders-lake")); err != nil {
		t.Fatal(err)
	}
	testsupport.WaitUntil(t, 5*time.Second, "A's reconcile sees the task", func() bool {
		_, ok := a.runner.lastPhase("orders", "orders-lake")
		return ok
	})
	_ = a.srv.Close() // A stops while its initialization hangs
	b := startSharedServer(t, newReg(), "exec-b", time.Minute, &reconcilingRunner{})
	testsupport.WaitUntil(t, 5*time.Second, "B initializes the task after A's claim expired", func() bool {
		got, err := b.client.GetTask(ctx, "orders", "orders-lake")
		return err == nil && got.Status.Phase == task.PhaseFull
	})
	if ids := b.runner.startedIDs(); !slices.Equal(ids, []string{"orders/orders-lake"}) {
		t.Fatalf("executor B started %v, want the task once", ids)
	}
}
