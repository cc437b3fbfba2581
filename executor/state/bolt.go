package state

import (
	"bytes"
	"context"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/kv"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// Top-level buckets of the registry in the shared kv store.
const (
	bucketTasks    = "state/tasks"    // "<table>/<name>" → JSON task.Task
	bucketRoles    = "state/roles"    // name → JSON storedRole
	bucketPipeline = "state/pipeline" // "<table>/<name>" → nested bucket of pipeline keys
)

// KeySize is the size of the key that encrypts role secrets (AES-256-GCM).
const KeySize = 32

// Bolt is the Registry over the embedded kv store.
type Bolt struct {
	store *kv.Store
	aead  cipher.AEAD
}

var _ Registry = (*Bolt)(nil)

// NewBolt returns the registry kept in store; secretKey (KeySize bytes)
// encrypts role secrets at rest. The store is not closed by the registry.
func NewBolt(store *kv.Store, secretKey []byte) (*Bolt, error) {
	aead, err := newSealer(secretKey)
	if err != nil {
		return nil, err
	}
	err = store.Update(func(tx *bolt.Tx) error {
		for _, b := range []string{bucketTasks, bucketRoles, bucketPipeline} {
			if _, err := kv.Bucket(tx, b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("state: create buckets: %w", err)
	}
	return &Bolt{store: store, aead: aead}, nil
}

// KeyFromPassphrase derives a secret key from a passphrase given in the
// executor's configuration (SHA-256 of a fixed label and the passphrase).
func KeyFromPassphrase(passphrase string) []byte {
	sum := sha256.Sum256([]byte("tablestore-delivery/role-secrets/v1\x00" + passphrase))
	return sum[:]
}

// LoadOrCreateKeyFile reads a hex-encoded secret key from path, creating the
// file (mode 0600) with a random key when it does not exist. The embedded
// setup keeps its key this way in the data dir, so role secrets survive
// restarts without configuration; real deployments should pass a key
// (KeyFromPassphrase) from outside the data dir instead.
func LoadOrCreateKeyFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		key, err := hex.DecodeString(strings.TrimSpace(string(data)))
		if err != nil || len(key) != KeySize {
			return nil, fmt.Errorf("state: key file %q must hold %d hex-encoded bytes", path, KeySize)
		}
		return key, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("state: read key file: %w", err)
	}
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("state: generate key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("state: key file dir: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) { // another process won the race
			return LoadOrCreateKeyFile(path)
		}
		return nil, fmt.Errorf("state: create key file: %w", err)
	}
	if _, err := f.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("state: write key file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("state: sync key file: %w", err)
	}
	return key, f.Close()
}

func taskKey(table, name string) []byte { return []byte(table + "/" + name) }

func getTask(tx *bolt.Tx, table, name string) (task.Task, error) {
	var t task.Task
	data := tx.Bucket([]byte(bucketTasks)).Get(taskKey(table, name))
	if data == nil {
		return t, fmt.Errorf("task %s/%s: %w", table, name, ErrNotFound)
	}
	if err := json.Unmarshal(data, &t); err != nil {
		return t, fmt.Errorf("state: decode task %s/%s: %w", table, name, err)
	}
	return t, nil
}

func putTask(tx *bolt.Tx, t task.Task) error {
	data, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("state: encode task %s: %w", t.ID(), err)
	}
	return tx.Bucket([]byte(bucketTasks)).Put(taskKey(t.Table, t.Name), data)
}

// CreateTask implements Registry.
func (b *Bolt) CreateTask(ctx context.Context, t task.Task) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return b.store.Update(func(tx *bolt.Tx) error {
		if tx.Bucket([]byte(bucketTasks)).Get(taskKey(t.Table, t.Name)) != nil {
			return fmt.Errorf("task %s: %w", t.ID(), ErrExists)
		}
		return putTask(tx, t)
	})
}

// GetTask implements Registry.
func (b *Bolt) GetTask(ctx context.Context, table, name string) (task.Task, error) {
	var t task.Task
	if err := ctx.Err(); err != nil {
		return t, err
	}
	err := b.store.View(func(tx *bolt.Tx) error {
		var err error
		t, err = getTask(tx, table, name)
		return err
	})
	return t, err
}

// ListTasks implements Registry.
func (b *Bolt) ListTasks(ctx context.Context, table string) ([]task.Task, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	tasks := []task.Task{}
	var prefix []byte
	if table != "" {
		prefix = []byte(table + "/")
	}
	err := b.store.View(func(tx *bolt.Tx) error {
		c := tx.Bucket([]byte(bucketTasks)).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var t task.Task
			if err := json.Unmarshal(v, &t); err != nil {
				return fmt.Errorf("state: decode task %s: %w", k, err)
			}
			tasks = append(tasks, t)
		}
		return nil
	})
	return tasks, err
}

// UpdateTask implements Registry.
func (b *Bolt) UpdateTask(ctx context.Context, table, name string, fn func(*task.Task) error) (task.Task, error) {
	var out task.Task
	if err := ctx.Err(); err != nil {
		return out, err
	}
	err := b.store.Update(func(tx *bolt.Tx) error {
		t, err := getTask(tx, table, name)
		if err != nil {
			return err
		}
		if err := fn(&t); err != nil {
			return err
		}
		// The key is the identity: a function must not rename the task.
		t.Table, t.Name = table, name
		out = t
		return putTask(tx, t)
	})
	return out, err
}

// UpdateStatus implements Registry. Concurrent status updates from many
// pipelines are coalesced into one durable write.
func (b *Bolt) UpdateStatus(ctx context.Context, table, name string, fn func(*task.Status)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return b.store.Batch(func(tx *bolt.Tx) error {
		t, err := getTask(tx, table, name)
		if err != nil {
			return err
		}
		fn(&t.Status)
		return putTask(tx, t)
	})
}

// DeleteTask implements Registry.
func (b *Bolt) DeleteTask(ctx context.Context, table, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return b.store.Update(func(tx *bolt.Tx) error {
		tasks := tx.Bucket([]byte(bucketTasks))
		key := taskKey(table, name)
		if tasks.Get(key) == nil {
			return fmt.Errorf("task %s/%s: %w", table, name, ErrNotFound)
		}
		if err := tasks.Delete(key); err != nil {
			return err
		}
		pipeline := tx.Bucket([]byte(bucketPipeline))
		if pipeline.Bucket(key) != nil {
			return pipeline.DeleteBucket(key)
		}
		return nil
	})
}

// storedRole is a role at rest: the secret sealed with AES-GCM, the role name
// as additional data so a sealed secret cannot be moved to another role.
type storedRole struct {
	task.Role
	AccessKeyID  string `json:"access_key_id"`
	SealedSecret []byte `json:"sealed_secret"` // nonce || ciphertext
}

func (b *Bolt) decodeRole(data []byte) (RoleRecord, error) {
	var sr storedRole
	if err := json.Unmarshal(data, &sr); err != nil {
		return RoleRecord{}, fmt.Errorf("state: decode role: %w", err)
	}
	secret, err := openSecret(b.aead, sr.Name, sr.SealedSecret, "was the secret key changed?")
	if err != nil {
		return RoleRecord{}, err
	}
	return RoleRecord{Role: sr.Role, Credentials: Credentials{AccessKeyID: sr.AccessKeyID, AccessKeySecret: secret}}, nil
}

// PutRole implements Registry.
func (b *Bolt) PutRole(ctx context.Context, r RoleRecord) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sealed, err := sealSecret(b.aead, r.Name, r.Credentials.AccessKeySecret)
	if err != nil {
		return err
	}
	data, err := json.Marshal(storedRole{Role: r.Role, AccessKeyID: r.Credentials.AccessKeyID, SealedSecret: sealed})
	if err != nil {
		return fmt.Errorf("state: encode role %s: %w", r.Name, err)
	}
	return b.store.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(bucketRoles)).Put([]byte(r.Name), data)
	})
}

// GetRole implements Registry.
func (b *Bolt) GetRole(ctx context.Context, name string) (RoleRecord, error) {
	if err := ctx.Err(); err != nil {
		return RoleRecord{}, err
	}
	var data []byte
	_ = b.store.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket([]byte(bucketRoles)).Get([]byte(name)); v != nil {
			data = bytes.Clone(v)
		}
		return nil
	})
	if data == nil {
		return RoleRecord{}, fmt.Errorf("role %s: %w", name, ErrNotFound)
	}
	return b.decodeRole(data)
}

// RoleByARN implements Registry.
func (b *Bolt) RoleByARN(ctx context.Context, arn string) (RoleRecord, error) {
	if err := ctx.Err(); err != nil {
		return RoleRecord{}, err
	}
	var found []byte
	err := b.store.View(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(bucketRoles)).ForEach(func(_, v []byte) error {
			var sr storedRole
			if err := json.Unmarshal(v, &sr); err != nil {
				return fmt.Errorf("state: decode role: %w", err)
			}
			if sr.ARN == arn && found == nil {
				found = bytes.Clone(v)
			}
			return nil
		})
	})
	if err != nil {
		return RoleRecord{}, err
	}
	if found == nil {
		return RoleRecord{}, fmt.Errorf("role with ARN %s: %w", arn, ErrNotFound)
	}
	return b.decodeRole(found)
}

// ListRoles implements Registry.
func (b *Bolt) ListRoles(ctx context.Context) ([]task.Role, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	roles := []task.Role{}
	err := b.store.View(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(bucketRoles)).ForEach(func(_, v []byte) error {
			var sr storedRole
			if err := json.Unmarshal(v, &sr); err != nil {
				return fmt.Errorf("state: decode role: %w", err)
			}
			roles = append(roles, sr.Role)
			return nil
		})
	})
	return roles, err
}

// DeleteRole implements Registry.
func (b *Bolt) DeleteRole(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return b.store.Update(func(tx *bolt.Tx) error {
		roles := tx.Bucket([]byte(bucketRoles))
		if roles.Get([]byte(name)) == nil {
			return fmt.Errorf("role %s: %w", name, ErrNotFound)
		}
		return roles.Delete([]byte(name))
	})
}

// PipelineState implements Registry.
func (b *Bolt) PipelineState(table, name string) PipelineState {
	return &boltPipelineState{store: b.store, key: taskKey(table, name)}
}

type boltPipelineState struct {
	store *kv.Store
	key   []byte
}

func (p *boltPipelineState) bucket(tx *bolt.Tx) (*bolt.Bucket, error) {
	parent := tx.Bucket([]byte(bucketPipeline))
	if b := parent.Bucket(p.key); b != nil || !tx.Writable() {
		return b, nil
	}
	return parent.CreateBucket(p.key)
}

func (p *boltPipelineState) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	var value []byte
	err := p.store.View(func(tx *bolt.Tx) error {
		b, err := p.bucket(tx)
		if err != nil || b == nil {
			return err
		}
		if v := b.Get([]byte(key)); v != nil {
			value = bytes.Clone(v)
		}
		return nil
	})
	return value, value != nil, err
}

func (p *boltPipelineState) Apply(ctx context.Context, puts map[string][]byte, deletes []string) error {
	return p.ApplyIf(ctx, nil, puts, deletes)
}

// ApplyIf checks the expectations and writes in the same transaction, which
// bbolt serializes with every other write of the store.
func (p *boltPipelineState) ApplyIf(ctx context.Context, expect, puts map[string][]byte, deletes []string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkPutKeys(puts); err != nil {
		return err
	}
	var unmet error // set by the last run of the function below (Batch may run it more than once)
	err := p.store.Batch(func(tx *bolt.Tx) error {
		unmet = nil
		if tx.Bucket([]byte(bucketTasks)).Get(p.key) == nil {
			// Writing now would leave state behind that a re-created task inherits.
			return fmt.Errorf("pipeline state of task %s: %w", p.key, ErrNotFound)
		}
		b, err := p.bucket(tx)
		if err != nil {
			return fmt.Errorf("state: pipeline bucket %s: %w", p.key, err)
		}
		unmet = checkExpect(expect, func(k string) ([]byte, bool, error) {
			v := b.Get([]byte(k))
			return v, v != nil, nil
		})
		if unmet != nil {
			return nil //nolint:nilerr // change nothing, without failing the transactions batched with this one
		}
		for _, k := range deletes {
			if err := b.Delete([]byte(k)); err != nil {
				return err
			}
		}
		for k, v := range puts {
			if err := b.Put([]byte(k), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if unmet != nil {
		return fmt.Errorf("state: pipeline state of task %s: %w", p.key, unmet)
	}
	return nil
}

func (p *boltPipelineState) Scan(ctx context.Context, prefix string, fn func(string, []byte) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return p.store.View(func(tx *bolt.Tx) error {
		b, err := p.bucket(tx)
		if err != nil || b == nil {
			return err
		}
		c := b.Cursor()
		pre := []byte(prefix)
		for k, v := c.Seek(pre); k != nil && bytes.HasPrefix(k, pre); k, v = c.Next() {
			if err := fn(string(k), v); err != nil {
				return err
			}
		}
		return nil
	})
}
