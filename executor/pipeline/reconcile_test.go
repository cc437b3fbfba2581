package pipeline

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/state"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"

	"github.com/tablestore-delivery/terraform-provider-tablestore/internal/testsupport"
)

// sharedExecutors starts n Managers over one Tablestore registry kept in
// the local cloud itself, as executors of a scaled-out deployment are.
func sharedExecutors(t *testing.T, c *cloud, n int) (*state.Tablestore, []*Manager) {
	t.Helper()
	reg, err := state.NewTablestore(context.Background(), state.TablestoreConfig{
		Endpoint: c.otsURL, Instance: stackInstance, AccessKeyID: stackKeyID, AccessKeySecret: stackSecret,
		SecretKey: state.KeyFromPassphrase("shared"),
	})
	if err != nil {
		t.Fatal(err)
	}
	mgrs := make([]*Manager, n)
	for i := range mgrs {
		mgrs[i], err = New(Config{
			Registry: reg, TablestoreEndpoint: c.otsURL, Instance: stackInstance,
			AccessKeyID: stackKeyID, AccessKeySecret: stackSecret,
			OSSEndpoints: map[string]string{stackRegion: c.ossURL},
			Logger:       testsupport.QuietLogger("PIPELINE_TEST_LOGS"),
			// Short heartbeats so that the channels of a stopped executor
			// move on quickly.
			HeartbeatInterval: 300 * time.Millisecond, HeartbeatTimeout: 1500 * time.Millisecond,
			StatusInterval: 200 * time.Millisecond, TickInterval: 100 * time.Millisecond,
			RetryBase: 50 * time.Millisecond, RetryMax: 500 * time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return reg, mgrs
}

func (m *Manager) running(table, name string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.runners[taskKey(table, name)] != nil
}

func reconcileAll(t *testing.T, reg state.Registry, mgrs ...*Manager) {
	t.Helper()
	tasks, err := reg.ListTasks(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mgrs {
		if err := m.Reconcile(context.Background(), tasks); err != nil {
			t.Fatalf("reconcile: %v", err)
		}
	}
}

// channelOwners returns the number of channels per client of a tunnel.
func channelOwners(t *testing.T, m *Manager, table, taskName string) (map[string]int, error) {
	t.Helper()
	desc, err := m.client.DescribeTunnel(&tunnel.DescribeTunnelRequest{TableName: table, TunnelName: TunnelName(taskName)})
	if err != nil {
		return nil, err
	}
	owners := map[string]int{}
	for _, ch := range desc.Channels {
		if ch.ChannelStatus == "OPEN" {
			owners[ch.ClientId]++
		}
	}
	return owners, nil
}

// Three executors share one registry: a task started by one is picked up by
// the others through Reconcile, its channels spread over all three, the
// rows arrive exactly once when one executor stops mid-way, a definition
// change made elsewhere restarts the pipelines, and a deletion stops them.
func TestReconcileSpreadsTaskOverExecutors(t *testing.T) {
	c := startCloud(t, t.TempDir())
	defer c.close()
	c.createTable("orders")
	c.createBucket("lake")
	c.putRows("orders", idRange(0, 300), e2eRow)
	reg, mgrs := sharedExecutors(t, c, 3)
	closed := make([]bool, len(mgrs))
	defer func() {
		for i, m := range mgrs {
			if !closed[i] {
				_ = m.Close()
			}
		}
	}()
	ctx := context.Background()
	if err := reg.PutRole(ctx, state.RoleRecord{
		Role:        task.Role{Name: task.DefaultRoleName, ARN: stackRoleARN, CreatedAt: time.Now().UTC()},
		Credentials: state.Credentials{AccessKeyID: stackKeyID, AccessKeySecret: stackSecret},
	}); err != nil {
		t.Fatal(err)
	}
	spec := task.Spec{Name: "orders-lake", Table: "orders", Bucket: "lake", Region: stackRegion, RoleARN: stackRoleARN,
		Prefix: "orders", SyncMode: task.SyncDifferential, Columns: e2eColumns, FlushIntervalSeconds: 1}
	spec.ApplyDefaults()
	now := time.Now().UTC()
	created := task.Task{Spec: spec, Status: task.Status{Phase: task.PhaseInit, ResolvedColumns: spec.Columns}, CreatedAt: now, UpdatedAt: now}
	if err := reg.CreateTask(ctx, created); err != nil {
		t.Fatal(err)
	}
	// In INIT nobody but the initializing executor starts anything.
	reconcileAll(t, reg, mgrs...)
	for i, m := range mgrs {
		if m.running("orders", "orders-lake") {
			t.Fatalf("executor %d runs a task still in INIT", i)
		}
	}
	// Executor 0 initializes it (as the API does), the others reconcile.
	if err := mgrs[0].Start(ctx, created); err != nil {
		t.Fatal(err)
	}
	if err := reg.UpdateStatus(ctx, "orders", "orders-lake", func(s *task.Status) { s.Phase = task.PhaseFull }); err != nil {
		t.Fatal(err)
	}
	reconcileAll(t, reg, mgrs...)
	for i, m := range mgrs {
		if !m.running("orders", "orders-lake") {
			t.Fatalf("executor %d did not pick up the task", i)
		}
	}
	testsupport.WaitFor(t, 30*time.Second, "channels on all three executors", func() string {
		owners, err := channelOwners(t, mgrs[0], "orders", "orders-lake")
		if err != nil || len(owners) != 3 {
			return fmt.Sprintf("owners %v, %v", owners, err)
		}
		return ""
	})
	c.putRows("orders", idRange(300, 500), e2eRow)
	// Executor 1 goes away mid-way; the others take its channels.
	_ = mgrs[1].Close()
	closed[1] = true
	c.putRows("orders", idRange(500, 700), e2eRow)
	testsupport.WaitFor(t, 60*time.Second, "every row delivered once, channels on the two live executors", func() string {
		counts := idCounts(dataRows(t, c.objects("lake", "orders/")))
		owners, err := channelOwners(t, mgrs[0], "orders", "orders-lake")
		if s := fmtCounts(counts, 700); len(counts) != 700 || s != "700 ids delivered, 0 missing, 0 duplicated" {
			return s
		}
		if err != nil || len(owners) != 2 {
			return fmt.Sprintf("owners %v, %v", owners, err)
		}
		return ""
	})
	// A PATCH through another executor restarts the pipelines here.
	changed, err := reg.UpdateTask(ctx, "orders", "orders-lake", func(tk *task.Task) error {
		tk.FlushIntervalSeconds = 2
		tk.UpdatedAt = time.Now().UTC()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	reconcileAll(t, reg, mgrs[0], mgrs[2])
	for _, i := range []int{0, 2} {
		mgrs[i].mu.Lock()
		got := mgrs[i].runners[taskKey("orders", "orders-lake")].t.FlushIntervalSeconds
		mgrs[i].mu.Unlock()
		if got != changed.FlushIntervalSeconds {
			t.Fatalf("executor %d runs flush interval %d after the change, want %d", i, got, changed.FlushIntervalSeconds)
		}
	}
	c.putRows("orders", idRange(700, 800), e2eRow)
	testsupport.WaitFor(t, 60*time.Second, "rows after the restart delivered once", func() string {
		counts := idCounts(dataRows(t, c.objects("lake", "orders/")))
		if s := fmtCounts(counts, 800); s != "800 ids delivered, 0 missing, 0 duplicated" {
			return s
		}
		return ""
	})
	// Deleted through executor 0: the others stop on their next reconcile.
	if err := mgrs[0].Stop(ctx, "orders", "orders-lake"); err != nil {
		t.Fatal(err)
	}
	if err := reg.DeleteTask(ctx, "orders", "orders-lake"); err != nil {
		t.Fatal(err)
	}
	reconcileAll(t, reg, mgrs[2])
	if mgrs[2].running("orders", "orders-lake") {
		t.Fatal("executor 2 still runs a deleted task")
	}
	if _, err := channelOwners(t, mgrs[0], "orders", "orders-lake"); err == nil || !isNotExist(err) {
		t.Fatalf("the deleted task's tunnel still exists (describe: %v)", err)
	}
}
