package tunnel

import (
	"errors"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/plainbuffer"
)

// ChangeKind is the kind of a row change in a shard's change log.
type ChangeKind int

// Change kinds, mirroring the three tunnel record action types.
const (
	ChangePut ChangeKind = iota + 1
	ChangeUpdate
	ChangeDelete
)

// Change is one entry of a shard's change log.
type Change struct {
	// Seq is strictly increasing within the shard.
	Seq uint64
	// TimeMicros is the write time in Unix microseconds.
	TimeMicros int64
	Kind       ChangeKind
	PrimaryKey []plainbuffer.Cell
	// Cells are the written attribute cells: values for puts, and for updates
	// also delete operations (Op = OpDeleteOneVersion / OpDeleteAllVersions).
	Cells []plainbuffer.Cell
}

// SnapshotRow is one row of a shard's consistent snapshot.
type SnapshotRow struct {
	// Cursor is an opaque position: passing it back to ScanSnapshot continues
	// after this row. It is stored inside tunnel tokens, so keep it small.
	Cursor     []byte
	PrimaryKey []plainbuffer.Cell
	Cells      []plainbuffer.Cell
}

// ErrTableNotFound is returned by a Source for a table that does not exist.
var ErrTableNotFound = errors.New("table not found")

// Source is what the tunnel service needs from the table storage: the shard
// layout of a table, each shard's change log, and consistent snapshots for
// the base (full) phase. The local Tablestore storage implements it through
// NewStorageSource; the interface keeps the service independent of the
// storage's internals.
type Source interface {
	// ShardCount returns the number of shards of a table (ErrTableNotFound if
	// the table does not exist).
	ShardCount(instance, table string) (int, error)
	// LastSeq returns the sequence number of the newest change of a shard
	// (0 when the log is empty).
	LastSeq(instance, table string, shard int) (uint64, error)
	// ReadChanges returns up to limit changes of a shard with Seq > afterSeq,
	// in Seq order.
	ReadChanges(instance, table string, shard int, afterSeq uint64, limit int) ([]Change, error)
	// CreateSnapshot pins a consistent snapshot of the table and returns its id
	// and, per shard, the last change sequence number the snapshot includes.
	CreateSnapshot(instance, table string) (id string, perShardSeq []uint64, err error)
	// ScanSnapshot returns up to limit rows of a shard of the snapshot in
	// primary-key order, after the row whose cursor is given (nil: from the start).
	ScanSnapshot(id string, shard int, afterCursor []byte, limit int) ([]SnapshotRow, error)
	// ReleaseSnapshot frees a snapshot; releasing an unknown id is not an error.
	ReleaseSnapshot(id string) error
}
