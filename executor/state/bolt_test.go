package state

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/kv"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

func openRegistry(t testing.TB, dir string, key []byte) (*Bolt, *kv.Store) {
	t.Helper()
	store, err := kv.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := NewBolt(store, key)
	if err != nil {
		store.Close()
		t.Fatal(err)
	}
	return reg, store
}

func sampleTask(table, name string) task.Task {
	s := task.Spec{Name: name, Table: table, Region: "cn-hangzhou", Bucket: "lake", Prefix: "p",
		RoleARN: task.RoleARN(task.DefaultAccountID, task.DefaultRoleName)}
	s.ApplyDefaults()
	return task.Task{Spec: s, Status: task.Status{Phase: task.PhaseInit}, CreatedAt: time.Now().UTC()}
}

// The registry's shared behaviour is tested by runRegistrySuite
// (suite_test.go); here is what only the bbolt registry has: it persists in
// a store that is closed and opened again, and keeps its key in a file.

func TestBoltPersistsAcrossReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	key := KeyFromPassphrase("test")
	reg, store := openRegistry(t, dir, key)
	for _, id := range [][2]string{{"b", "t1"}, {"a", "t2"}, {"a", "t1"}, {"ab", "t0"}} {
		if err := reg.CreateTask(ctx, sampleTask(id[0], id[1])); err != nil {
			t.Fatal(err)
		}
	}
	// Concurrent status updates are coalesced by Batch, which may re-run
	// functions; every one must be durable once it returns.
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := reg.UpdateStatus(ctx, "a", "t1", func(s *task.Status) { s.RowsDelivered += 5 }); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	ps := reg.PipelineState("a", "t1")
	if err := ps.Apply(ctx, map[string][]byte{"cp/0": []byte("a")}, nil); err != nil {
		t.Fatal(err)
	}
	if err := ps.ApplyIf(ctx, map[string][]byte{"lease": nil}, map[string][]byte{"lease": []byte("me")}, nil); err != nil {
		t.Fatal(err)
	}
	store.Close()

	reg, store = openRegistry(t, dir, key)
	defer store.Close()
	got, err := reg.GetTask(ctx, "a", "t1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status.RowsDelivered != 100 {
		t.Fatalf("RowsDelivered = %d after 20 concurrent +5 and a reopen, want 100", got.Status.RowsDelivered)
	}
	list, err := reg.ListTasks(ctx, "a")
	if err != nil || len(list) != 2 || list[0].Name != "t1" || list[1].Name != "t2" {
		t.Fatalf("ListTasks(a) = %v, %v; want t1, t2 (not table ab's)", list, err)
	}
	if all, _ := reg.ListTasks(ctx, ""); len(all) != 4 {
		t.Fatalf("ListTasks(\"\") has %d tasks, want 4", len(all))
	}
	if got := scanPrefix(t, reg.PipelineState("a", "t1"), ""); got != "cp/0=a,lease=me" {
		t.Fatalf("pipeline state after reopen = %s, want cp/0=a,lease=me", got)
	}
}

func TestBoltRoleSecretsAreEncryptedAtRest(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	key, err := LoadOrCreateKeyFile(filepath.Join(dir, "keys", "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := LoadOrCreateKeyFile(filepath.Join(dir, "keys", "secret.key"))
	if err != nil || !bytes.Equal(key, again) {
		t.Fatalf("key file not stable: %v", err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "keys", "secret.key")); fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	reg, store := openRegistry(t, dir, key)
	const secret = "very-secret-value-1234567890"
	role := RoleRecord{Role: task.Role{Name: "R1", ARN: task.RoleARN("42", "R1")},
		Credentials: Credentials{AccessKeyID: "id1", AccessKeySecret: secret}}
	if err := reg.PutRole(ctx, role); err != nil {
		t.Fatal(err)
	}
	_ = store.View(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(bucketRoles)).ForEach(func(_, v []byte) error {
			if bytes.Contains(v, []byte(secret)) {
				t.Error("role secret stored in clear text")
			}
			return nil
		})
	})
	got, err := reg.RoleByARN(ctx, "acs:ram::42:role/r1")
	if err != nil || got.Credentials.AccessKeySecret != secret || got.Name != "R1" {
		t.Fatalf("RoleByARN = %+v, %v", got, err)
	}
	store.Close()

	// Another key cannot read the secret, and says what to check.
	reg, store = openRegistry(t, dir, KeyFromPassphrase("other"))
	if _, err := reg.GetRole(ctx, "R1"); err == nil || !strings.Contains(err.Error(), "was the secret key changed?") {
		t.Fatalf("GetRole with another key = %v, want a decrypt error asking about the key", err)
	}
	store.Close()

	reg, store = openRegistry(t, dir, key)
	defer store.Close()
	if got, err := reg.GetRole(ctx, "R1"); err != nil || got.Credentials.AccessKeySecret != secret {
		t.Fatalf("GetRole after reopen = %+v, %v", got, err)
	}
	if _, err := NewBolt(store, []byte("short")); err == nil {
		t.Fatal("NewBolt accepted a short key")
	}
}
