// Package state is the executor's registry: delivery tasks with their status,
// service roles with their (encrypted) OSS credentials, and a small ordered
// key-value space per task where the pipelines keep checkpoints and journals.
//
// The Registry interface is what the API and the pipelines use; Bolt
// implements it over the embedded kv store, in top-level buckets prefixed
// "state/" (the single-node default); Tablestore implements it over a
// Tablestore table that several executors share.
package state

import (
	"context"
	"errors"
	"time"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// Errors returned by a Registry; test with errors.Is.
var (
	ErrNotFound = errors.New("state: not found")
	ErrExists   = errors.New("state: already exists")
	// ErrConflict is returned by ApplyIf when one of its expectations does not hold.
	ErrConflict = errors.New("state: condition failed")
)

// Credentials are a role's OSS access keys, decrypted.
type Credentials struct {
	AccessKeyID     string
	AccessKeySecret string
}

// RoleRecord is a role with its decrypted credentials. The API returns only
// Role; the pipelines read the credentials.
type RoleRecord struct {
	task.Role
	Credentials Credentials
}

// Registry stores tasks, roles and pipeline state. Implementations are safe
// for concurrent use.
type Registry interface {
	// CreateTask stores a new task; ErrExists if the table has a task of that name.
	CreateTask(ctx context.Context, t task.Task) error
	// GetTask returns a task; ErrNotFound if there is none.
	GetTask(ctx context.Context, table, name string) (task.Task, error)
	// ListTasks returns the tasks of a table ordered by name, or every task
	// ordered by table then name when table is "".
	ListTasks(ctx context.Context, table string) ([]task.Task, error)
	// UpdateTask changes a task atomically: fn gets the current task and may
	// change it, or return an error to change nothing. fn may run more than
	// once, so it must only modify its argument.
	UpdateTask(ctx context.Context, table, name string, fn func(*task.Task) error) (task.Task, error)
	// UpdateStatus changes a task's status atomically; this is how the
	// pipelines report phases, counters, progress and runtime errors. fn may
	// run more than once. ErrNotFound if the task was deleted.
	UpdateStatus(ctx context.Context, table, name string, fn func(*task.Status)) error
	// DeleteTask removes a task and its pipeline state; ErrNotFound if absent.
	DeleteTask(ctx context.Context, table, name string) error

	// PutRole creates or replaces a role; the secret is stored encrypted.
	// The role's ARN and CreatedAt are kept as given.
	PutRole(ctx context.Context, r RoleRecord) error
	// GetRole returns a role with its credentials; ErrNotFound if absent.
	GetRole(ctx context.Context, name string) (RoleRecord, error)
	// RoleByARN returns the role with that ARN; ErrNotFound if absent.
	RoleByARN(ctx context.Context, arn string) (RoleRecord, error)
	// ListRoles returns every role ordered by name, without credentials.
	ListRoles(ctx context.Context) ([]task.Role, error)
	// DeleteRole removes a role; ErrNotFound if absent.
	DeleteRole(ctx context.Context, name string) error

	// PipelineState returns the key-value space of one task's pipeline.
	PipelineState(table, name string) PipelineState
}

// PipelineState is one task's ordered key-value space for checkpoints and
// journals. It is removed with the task, and writing it needs the task:
// Apply and ApplyIf return ErrNotFound once the task is gone.
type PipelineState interface {
	// Get returns the value of key; ok is false when absent.
	Get(ctx context.Context, key string) (value []byte, ok bool, err error)
	// Apply writes puts and removes deletes in one atomic, durable step. A
	// key both put and deleted is put.
	Apply(ctx context.Context, puts map[string][]byte, deletes []string) error
	// ApplyIf is Apply when, for every key of expect, the key's current value equals expect[key]
	// (a nil value: the key must be absent); otherwise it changes nothing and returns ErrConflict.
	// Several executors sharing a registry use it to take a key only one of them may take.
	ApplyIf(ctx context.Context, expect map[string][]byte, puts map[string][]byte, deletes []string) error
	// Scan calls fn for each key starting with prefix, in key order, until fn
	// returns an error (which Scan returns). The value is only valid inside fn.
	Scan(ctx context.Context, prefix string, fn func(key string, value []byte) error) error
}

// Claimer is implemented by registries that several executors share. A
// claim lets one executor do a task's one-off work (its initialization)
// while the others leave it alone; it is taken with a conditional write and
// passes to another executor once its holder stops renewing it.
type Claimer interface {
	// Claim takes or renews the claim named what on a task for owner until
	// ttl from now. It returns false when another owner holds it unexpired;
	// ErrNotFound when the task does not exist.
	Claim(ctx context.Context, table, name, what, owner string, ttl time.Duration) (bool, error)
}
