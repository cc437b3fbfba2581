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

// ShardRange is the retained part of a shard's change log.
type ShardRange struct {
	FirstSeq uint64 // oldest retained seq (LastSeq+1 when the log is empty)
	LastSeq  uint64 // newest seq (0 when nothing was ever written)
}

// Errors a Source reports (wrapped or as is) for the service to map.
var (
	// ErrTableNotFound: the table does not exist.
	ErrTableNotFound = errors.New("table not found")
	// ErrChangesExpired: the asked-for changes were trimmed from the log.
	ErrChangesExpired = errors.New("changes expired")
)

// Source is what the tunnel service needs from the table storage: the shard
// layout of a table, each shard's change log, and consistent snapshots for
// the base (full) phase. The local Tablestore storage implements it through
// NewStorageSource; the interface keeps the service independent of the
// storage's internals.
type Source interface {
	// Shards returns the change-log range of every shard of a table
	// (ErrTableNotFound if the table does not exist).
	Shards(instance, table string) ([]ShardRange, error)
	// ReadChanges returns up to limit changes of a shard with Seq > afterSeq,
	// in Seq order, and whether more may exist.
	ReadChanges(instance, table string, shard int, afterSeq uint64, limit int) ([]Change, bool, error)
	// CreateSnapshot pins a consistent snapshot of the table and returns its id
	// and, per shard, the last change sequence number the snapshot includes.
	CreateSnapshot(instance, table string) (id string, perShardSeq []uint64, err error)
	// ScanSnapshot returns up to limit rows of a shard of the snapshot in
	// primary-key order, after the position afterCursor (nil: from the start),
	// and whether more rows may remain.
	ScanSnapshot(id string, shard int, afterCursor []byte, limit int) ([]plainbuffer.Row, bool, error)
	// SnapshotCursor returns the ScanSnapshot position just after the row with
	// this primary key. Cursors are stored inside tunnel tokens.
	SnapshotCursor(primaryKey []plainbuffer.Cell) []byte
	// ReleaseSnapshot frees a snapshot; releasing an unknown id is not an error.
	ReleaseSnapshot(id string) error
}
