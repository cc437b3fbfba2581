package tunnel

import (
	"errors"
	"fmt"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/plainbuffer"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/storage"
)

// StorageSource serves the tunnel service from the local Tablestore storage.
type StorageSource struct {
	Store *storage.Store
}

// NewStorageSource adapts a storage.Store to Source.
func NewStorageSource(st *storage.Store) *StorageSource { return &StorageSource{Store: st} }

var _ Source = (*StorageSource)(nil)

func mapStorageError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, storage.ErrTableNotFound):
		return fmt.Errorf("%w: %w", ErrTableNotFound, err)
	case errors.Is(err, storage.ErrChangesExpired):
		return fmt.Errorf("%w: %w", ErrChangesExpired, err)
	}
	return err
}

// Partitions implements Source.
func (s *StorageSource) Partitions(instance, table string) ([]Partition, error) {
	infos, err := s.Store.Partitions(instance, table)
	if err != nil {
		return nil, mapStorageError(err)
	}
	out := make([]Partition, len(infos))
	for i, info := range infos {
		out[i] = Partition{ID: info.ID, Parent: info.Parent, Epoch: info.Epoch, Open: info.Open(), FirstSeq: info.FirstSeq, LastSeq: info.LastSeq}
	}
	return out, nil
}

// ReadChanges implements Source. The storage keeps each change as the
// one-row PlainBuffer a stream record carries (without its extension), so the
// changes are its stored bytes, not decoded (storage.ReadChangeRecords).
func (s *StorageSource) ReadChanges(instance, table, partition string, afterSeq uint64, limit int) ([]Change, bool, error) {
	changes, more, err := s.Store.ReadChangeRecords(instance, table, partition, afterSeq, limit)
	if err != nil {
		return nil, false, mapStorageError(err)
	}
	out := make([]Change, len(changes))
	for i := range changes {
		c := &changes[i]
		kind := ChangePut
		switch c.Type {
		case storage.ChangeUpdate:
			kind = ChangeUpdate
		case storage.ChangeDelete:
			kind = ChangeDelete
		}
		out[i] = Change{Seq: c.Seq, TimeMicros: c.TimeMicros, Kind: kind, Row: c.Row}
	}
	return out, more, nil
}

// CreateSnapshot implements Source.
func (s *StorageSource) CreateSnapshot(instance, table string) (string, []SnapshotPartition, error) {
	info, err := s.Store.CreateSnapshot(instance, table)
	if err != nil {
		return "", nil, mapStorageError(err)
	}
	parts := make([]SnapshotPartition, len(info.Partitions))
	for i, p := range info.Partitions {
		parts[i] = SnapshotPartition{ID: p.ID, Seq: p.Seq}
	}
	return info.ID, parts, nil
}

// ScanSnapshot implements Source. The storage keeps each row as a one-row
// PlainBuffer in the shape of a base record, so most records are its stored
// bytes, copied once (storage.ScanSnapshotRecords).
func (s *StorageSource) ScanSnapshot(id, partition string, afterCursor []byte, limit int) ([][]byte, bool, error) {
	records, _, more, err := s.Store.ScanSnapshotRecords(id, partition, afterCursor, limit)
	return records, more, mapStorageError(err)
}

// SnapshotCursor implements Source: the storage orders a partition's rows by
// their encoded primary key and continues strictly after the given key.
func (s *StorageSource) SnapshotCursor(primaryKey []plainbuffer.Cell) []byte {
	return storage.EncodeKey(primaryKey)
}

// ReleaseSnapshot implements Source.
func (s *StorageSource) ReleaseSnapshot(id string) error {
	err := s.Store.ReleaseSnapshot(id)
	if errors.Is(err, storage.ErrSnapshotNotFound) {
		return nil
	}
	return err
}
