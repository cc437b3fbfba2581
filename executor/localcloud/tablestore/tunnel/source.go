package tunnel

import (
	"errors"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/plainbuffer"
)

// ChangeKind is the kind of a row change in a partition's change log.
type ChangeKind int

// Change kinds, mirroring the three tunnel record action types.
const (
	ChangePut ChangeKind = iota + 1
	ChangeUpdate
	ChangeDelete
)

// Change is one entry of a partition's change log.
type Change struct {
	// Seq is strictly increasing within the partition.
	Seq uint64
	// TimeMicros is the write time in Unix microseconds.
	TimeMicros int64
	Kind       ChangeKind
	// Row is the change as a one-row PlainBuffer (header included, no
	// extension): the primary key; the written attribute cells (values with
	// their timestamps for puts, and for updates also delete operations, Op =
	// OpDeleteOneVersion / OpDeleteAllVersions); the delete marker for a
	// delete. The service sends it with the stream record's sequence
	// extension added, decoding it only when its cells need changing.
	Row []byte
}

// Partition is a partition of a table with the retained part of its change
// log. A split partition (Open false) takes no more changes; its children
// name it as Parent.
type Partition struct {
	ID     string
	Parent string // "" for partitions that were not split from another
	// Epoch grows by one from a parent to its children.
	Epoch    int32
	Open     bool
	FirstSeq uint64 // oldest change within retention (LastSeq+1 when none is)
	LastSeq  uint64 // newest seq (0 when nothing was ever written)
}

// SnapshotPartition is a partition a snapshot covers, with the last change
// the snapshot includes.
type SnapshotPartition struct {
	ID  string
	Seq uint64
}

// Errors a Source reports (wrapped or as is) for the service to map.
var (
	// ErrTableNotFound: the table does not exist.
	ErrTableNotFound = errors.New("table not found")
	// ErrChangesExpired: the asked-for changes are past the log's retention.
	ErrChangesExpired = errors.New("changes expired")
)

// Source is what the tunnel service needs from the table storage: the
// partitions of a table, each partition's change log, and consistent
// snapshots for the base (full) phase. The local Tablestore storage
// implements it through NewStorageSource; the interface keeps the service
// independent of the storage's internals.
type Source interface {
	// Partitions returns every partition of a table, split ones included, in
	// creation order (ErrTableNotFound if the table does not exist).
	Partitions(instance, table string) ([]Partition, error)
	// ReadChanges returns up to limit changes of a partition with Seq >
	// afterSeq, in Seq order, and whether more may exist.
	ReadChanges(instance, table, partition string, afterSeq uint64, limit int) ([]Change, bool, error)
	// CreateSnapshot pins a consistent snapshot of the table and returns its
	// id and the open partitions it covers.
	CreateSnapshot(instance, table string) (id string, parts []SnapshotPartition, err error)
	// ScanSnapshot returns up to limit rows of a partition of the snapshot in
	// primary-key order, after the position afterCursor (nil: from the
	// start), and whether more rows may remain. Each row comes as the base
	// record that carries it: a one-row PlainBuffer (header included) of the
	// primary key and every column version with its timestamp, no extension.
	// The service sends the records as they are.
	ScanSnapshot(id, partition string, afterCursor []byte, limit int) ([][]byte, bool, error)
	// SnapshotCursor returns the ScanSnapshot position just after the row with
	// this primary key.
	SnapshotCursor(primaryKey []plainbuffer.Cell) []byte
	// ReleaseSnapshot frees a snapshot; releasing an unknown id is not an error.
	ReleaseSnapshot(id string) error
}
