package state

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
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

func TestTasksPersistAcrossReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	key := KeyFromPassphrase("test")
	reg, store := openRegistry(t, dir, key)
	for _, id := range [][2]string{{"b", "t1"}, {"a", "t2"}, {"a", "t1"}, {"ab", "t0"}} {
		if err := reg.CreateTask(ctx, sampleTask(id[0], id[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := reg.CreateTask(ctx, sampleTask("a", "t1")); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate CreateTask = %v, want ErrExists", err)
	}
	// Concurrent status updates must all land (Batch may re-run functions).
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
	store.Close()

	reg, store = openRegistry(t, dir, key)
	defer store.Close()
	got, err := reg.GetTask(ctx, "a", "t1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status.RowsDelivered != 100 {
		t.Fatalf("RowsDelivered = %d after 20 concurrent +5, want 100", got.Status.RowsDelivered)
	}
	list, err := reg.ListTasks(ctx, "a")
	if err != nil || len(list) != 2 || list[0].Name != "t1" || list[1].Name != "t2" {
		t.Fatalf("ListTasks(a) = %v, %v; want t1, t2 (not table ab's)", list, err)
	}
	all, _ := reg.ListTasks(ctx, "")
	if len(all) != 4 {
		t.Fatalf("ListTasks(\"\") has %d tasks, want 4", len(all))
	}
	if err := reg.UpdateStatus(ctx, "a", "nope", func(*task.Status) {}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("UpdateStatus missing = %v, want ErrNotFound", err)
	}
	if _, err := reg.GetTask(ctx, "a", "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetTask missing = %v, want ErrNotFound", err)
	}
	updated, err := reg.UpdateTask(ctx, "a", "t1", func(tk *task.Task) error {
		tk.Name = "renamed" // must be ignored
		tk.FlushIntervalSeconds = 7
		return nil
	})
	if err != nil || updated.Name != "t1" || updated.FlushIntervalSeconds != 7 {
		t.Fatalf("UpdateTask = %+v, %v", updated, err)
	}
	refused := errors.New("no")
	if _, err := reg.UpdateTask(ctx, "a", "t1", func(*task.Task) error { return refused }); !errors.Is(err, refused) {
		t.Fatalf("UpdateTask error = %v, want the function's", err)
	}
}

func TestPipelineStateIsPerTaskAndDeletedWithTask(t *testing.T) {
	ctx := context.Background()
	reg, store := openRegistry(t, t.TempDir(), KeyFromPassphrase("x"))
	defer store.Close()
	for _, n := range []string{"one", "two"} {
		if err := reg.CreateTask(ctx, sampleTask("tbl", n)); err != nil {
			t.Fatal(err)
		}
	}
	one, two := reg.PipelineState("tbl", "one"), reg.PipelineState("tbl", "two")
	if _, ok, err := one.Get(ctx, "cp"); ok || err != nil {
		t.Fatalf("Get on empty state = %v, %v", ok, err)
	}
	if err := one.Apply(ctx, map[string][]byte{"cp/0": []byte("a"), "cp/1": []byte("b"), "j/9": []byte("c")}, nil); err != nil {
		t.Fatal(err)
	}
	if err := two.Apply(ctx, map[string][]byte{"cp/0": []byte("z")}, nil); err != nil {
		t.Fatal(err)
	}
	if err := one.Apply(ctx, map[string][]byte{"cp/2": []byte("d")}, []string{"cp/0"}); err != nil {
		t.Fatal(err)
	}
	var keys []string
	if err := one.Scan(ctx, "cp/", func(k string, v []byte) error { keys = append(keys, k+"="+string(v)); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0] != "cp/1=b" || keys[1] != "cp/2=d" {
		t.Fatalf("Scan = %v, want [cp/1=b cp/2=d]", keys)
	}
	if err := reg.DeleteTask(ctx, "tbl", "one"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := one.Get(ctx, "cp/1"); ok {
		t.Fatal("pipeline state survived its task's deletion")
	}
	if v, ok, _ := two.Get(ctx, "cp/0"); !ok || string(v) != "z" {
		t.Fatalf("other task's state = %q, %v", v, ok)
	}
	if err := reg.DeleteTask(ctx, "tbl", "one"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second DeleteTask = %v, want ErrNotFound", err)
	}
}

func TestRoleSecretsAreEncryptedAtRest(t *testing.T) {
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

	// Another key cannot read the secret, and says why.
	reg, store = openRegistry(t, dir, KeyFromPassphrase("other"))
	if _, err := reg.GetRole(ctx, "R1"); err == nil {
		t.Fatal("a different key decrypted the secret")
	}
	store.Close()

	reg, store = openRegistry(t, dir, key)
	defer store.Close()
	if got, err := reg.GetRole(ctx, "R1"); err != nil || got.Credentials.AccessKeySecret != secret {
		t.Fatalf("GetRole after reopen = %+v, %v", got, err)
	}
	roles, err := reg.ListRoles(ctx)
	if err != nil || len(roles) != 1 || roles[0].Name != "R1" {
		t.Fatalf("ListRoles = %v, %v", roles, err)
	}
	if err := reg.DeleteRole(ctx, "R1"); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.GetRole(ctx, "R1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetRole after delete = %v", err)
	}
	if err := reg.DeleteRole(ctx, "R1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("DeleteRole twice = %v", err)
	}
	if _, err := NewBolt(store, []byte("short")); err == nil {
		t.Fatal("NewBolt accepted a short key")
	}
}
