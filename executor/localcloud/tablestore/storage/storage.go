// Package storage holds the local Tablestore endpoint's data: tables (per
// instance), rows, shards, the per-shard change log and snapshots, persisted
// in the shared kv store (bbolt) under top-level buckets prefixed "ots/".
//
// # Model
//
// Each table has a fixed number of storage shards, chosen at creation
// (Config.Shards, default 4) and stored with the table. A row belongs to shard
// FNV-1a(first primary-key value) mod shards. Rows are kept per shard, ordered
// by an order-preserving encoding of the primary key (EncodeKey); range reads
// merge the shards' ordered streams.
//
// Shards are covered by partitions (partitions.go): key ranges of the
// partition key (the first primary-key column) within a shard, one whole
// shard each at creation. Split cuts an open partition in two at the
// partition-key value of its median row; from then on its writes go to the
// children and its change log ends. Rows do not move.
//
// Every committed row change appends a Change to its partition's change log
// in the same bbolt transaction as the row write, so the log and the rows
// never disagree. Sequence numbers are per partition, start at 1, strictly
// increase and are never reused (not even after a log is trimmed). Entries
// older than the retention period (Config.ChangeRetention, default 7 days as
// in Tablestore Stream) are trimmed lazily on later writes; reading from
// before a change past retention fails with ErrChangesExpired whether or not
// it was trimmed yet.
//
// # API for the tunnel service
//
//   - Partitions(instance, table) lists the partitions (split ones too) with
//     their first retained and last sequence numbers; Split(instance, table,
//     id) splits one.
//   - ReadChanges(instance, table, partition, afterSeq, limit) returns the
//     changes with Seq > afterSeq in order, and whether more exist
//     (ReadChangeRecords: the same changes as their stored one-row
//     PlainBuffers, not decoded; the change log only appends, so its pages
//     are filled before they split).
//   - CreateSnapshot(instance, table) fixes, per open partition, its key range
//     and the sequence number up to which the snapshot includes changes;
//     ScanSnapshot(id, partition, after, limit) pages through the rows of that
//     range as they were at that point, even while writes (and splits)
//     continue (ScanSnapshotRecords: the same rows as one-row PlainBuffers,
//     mostly the stored bytes themselves); ReleaseSnapshot(id) drops it. Snapshots are kept in the
//     kv store and survive restarts. They are copy-on-write: while a snapshot
//     is active, the first write to a row after the snapshot saves the row's
//     pre-image (or an "absent" marker) under the snapshot, in the same
//     transaction as the write.
//
// Rows are exchanged as plainbuffer.Row values: the primary key in schema
// order, then one cell per (column, version) with its timestamp in ms, columns
// sorted by name and versions newest first.
//
// # Concurrency and durability
//
// All writes run inside kv transactions (bbolt has a single writer), so
// concurrent writers to one row are serialised and each row mutation of a
// batch is applied entirely or not at all. Concurrent row writes are
// group-committed so that they share one fsync.
package storage

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/kv"
)

// Top-level buckets.
const (
	bucketTables    = "ots/tables"    // instance -> table name -> {meta, autoinc, shards..., snapshots}
	bucketSnapshots = "ots/snapshots" // snapshot id -> {meta, s0000...: pre-images}
)

// Keys and sub-buckets inside a table bucket.
const (
	keyMeta          = "meta"
	keyAutoIncrement = "autoinc"
	bucketSnapIndex  = "snapshots" // active snapshot id -> per-shard seqs (JSON)
	bucketRows       = "rows"      // inside a shard bucket
	bucketLog        = "log"       // inside a shard bucket
	keyLastSeq       = "lastseq"   // inside a shard bucket
	keyTrimmedSeq    = "trimmed"   // inside a shard bucket: highest trimmed seq
)

// Errors callers map to protocol error codes.
var (
	ErrTableNotFound     = errors.New("requested table does not exist")
	ErrTableExists       = errors.New("requested table already exists")
	ErrInvalidPK         = errors.New("primary key schema mismatch")
	ErrInvalidArgument   = errors.New("invalid argument")
	ErrConditionFailed   = errors.New("condition check failed")
	ErrSnapshotNotFound  = errors.New("snapshot does not exist")
	ErrChangesExpired    = errors.New("requested changes are older than the retention period")
	ErrColumnNotFound    = errors.New("column does not exist")
	ErrColumnExists      = errors.New("column already exists")
	ErrIncrementNotInt64 = errors.New("increment applies only to integer columns")
)

// DefaultChangeRetention is how long the change log is kept unless
// configured: 7 days, the retention of Tablestore Stream and of tunnels'
// incremental logs.
const DefaultChangeRetention = 7 * 24 * time.Hour

// Config configures a Store.
type Config struct {
	// Shards is the shard count given to new tables (default 4).
	Shards int
	// ChangeRetention is how long change-log entries are kept (default
	// DefaultChangeRetention, the real Stream's 7 days).
	ChangeRetention time.Duration
	// SplitRows, when positive, splits a partition automatically once it
	// holds more rows than this (checked every 64 changes of the partition),
	// as Tablestore splits partitions that grow large.
	SplitRows int
	// Now returns the current time (default time.Now); tests may override it.
	Now func() time.Time
}

// Store is the Tablestore data store. It is safe for concurrent use.
type Store struct {
	kv  *kv.Store
	cfg Config

	wmu     sync.Mutex  // guards the write queue
	pending []*writeReq // queued Write calls
	leading bool        // a caller is committing a group
}

// Open returns a Store over an open kv store.
func Open(store *kv.Store, cfg Config) (*Store, error) {
	if store == nil {
		return nil, errors.New("storage: nil kv store")
	}
	if cfg.Shards <= 0 {
		cfg.Shards = 4
	}
	if cfg.ChangeRetention <= 0 {
		cfg.ChangeRetention = DefaultChangeRetention
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := store.Update(func(tx *bolt.Tx) error {
		for _, name := range []string{bucketTables, bucketSnapshots} {
			if _, err := kv.Bucket(tx, name); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("storage: init buckets: %w", err)
	}
	return &Store{kv: store, cfg: cfg}, nil
}

// KV returns the underlying kv store.
func (s *Store) KV() *kv.Store { return s.kv }

// PKType is a primary-key column type.
type PKType string

// Primary-key column types.
const (
	PKInteger PKType = "INTEGER"
	PKString  PKType = "STRING"
	PKBinary  PKType = "BINARY"
)

// PKColumn is a primary-key column of a table schema.
type PKColumn struct {
	Name          string `json:"name"`
	Type          PKType `json:"type"`
	AutoIncrement bool   `json:"autoIncrement,omitempty"`
}

// DefinedColumn is a predefined (typed) attribute column.
type DefinedColumn struct {
	Name string `json:"name"`
	Type string `json:"type"` // INTEGER, DOUBLE, BOOLEAN, STRING, BINARY
}

// StreamSpec is the stream setting of a table.
type StreamSpec struct {
	Enabled          bool     `json:"enabled"`
	ExpirationHours  int32    `json:"expirationHours,omitempty"`
	OriginalColumns  []string `json:"originalColumns,omitempty"`
	StreamID         string   `json:"streamId,omitempty"`
	LastEnableTimeUs int64    `json:"lastEnableTimeUs,omitempty"`
}

// TableMeta is a table's stored description.
type TableMeta struct {
	Name           string          `json:"name"`
	ID             string          `json:"id"` // unique per creation, so a re-created table is distinguishable
	PrimaryKey     []PKColumn      `json:"primaryKey"`
	DefinedColumns []DefinedColumn `json:"definedColumns,omitempty"`
	TimeToLive     int32           `json:"timeToLive"`  // seconds, -1 = forever
	MaxVersions    int32           `json:"maxVersions"` // >= 1
	DeviationSec   int64           `json:"deviationSec"`
	AllowUpdate    *bool           `json:"allowUpdate,omitempty"`
	UpdateFullRow  *bool           `json:"updateFullRow,omitempty"`
	ReservedRead   int32           `json:"reservedRead"`
	ReservedWrite  int32           `json:"reservedWrite"`
	Stream         StreamSpec      `json:"stream"`
	Shards         int             `json:"shards"`
	// Partitions cover the shards by partition-key range (see partitions.go).
	Partitions      []Partition `json:"partitions,omitempty"`
	CreatedAtUnix   int64       `json:"createdAtUnix"`
	LastIncreaseSec int64       `json:"lastIncreaseSec"`
}

func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *Store) instanceBucket(tx *bolt.Tx, instance string) (*bolt.Bucket, error) {
	if instance == "" {
		return nil, fmt.Errorf("%w: empty instance name", ErrInvalidArgument)
	}
	return kv.Bucket(tx, bucketTables, instance)
}

// tableBucket returns the bucket and meta of a table, ErrTableNotFound if missing.
func (s *Store) tableBucket(tx *bolt.Tx, instance, table string) (*bolt.Bucket, *TableMeta, error) {
	ib, err := s.instanceBucket(tx, instance)
	if err != nil {
		return nil, nil, err
	}
	if ib == nil {
		return nil, nil, ErrTableNotFound
	}
	tb := ib.Bucket([]byte(table))
	if tb == nil {
		return nil, nil, ErrTableNotFound
	}
	var meta TableMeta
	if err := json.Unmarshal(tb.Get([]byte(keyMeta)), &meta); err != nil {
		return nil, nil, fmt.Errorf("storage: table %q: corrupt meta: %w", table, err)
	}
	if len(meta.Partitions) == 0 {
		// A table stored before partitions were recorded: one per shard.
		meta.Partitions = initialPartitions(&meta, 0)
	}
	return tb, &meta, nil
}

func putMeta(tb *bolt.Bucket, meta *TableMeta) error {
	b, err := json.Marshal(meta)
	if err != nil {
		return fmt.Errorf("storage: encode table meta: %w", err)
	}
	return tb.Put([]byte(keyMeta), b)
}

// CreateTable creates a table. Defaults: MaxVersions 1, TimeToLive -1, Shards
// from the config (or meta.Shards when set).
func (s *Store) CreateTable(instance string, meta TableMeta) (*TableMeta, error) {
	if n := len(meta.PrimaryKey); n < 1 || n > 4 {
		return nil, fmt.Errorf("%w: a table needs 1 to 4 primary-key columns, got %d", ErrInvalidArgument, n)
	}
	seen := map[string]bool{}
	for i, c := range meta.PrimaryKey {
		switch c.Type {
		case PKInteger, PKString, PKBinary:
		default:
			return nil, fmt.Errorf("%w: primary-key column %q has unsupported type %q", ErrInvalidArgument, c.Name, c.Type)
		}
		if c.AutoIncrement && (i == 0 || c.Type != PKInteger) {
			return nil, fmt.Errorf("%w: auto-increment column %q must be an INTEGER and not the first primary-key column", ErrInvalidArgument, c.Name)
		}
		if seen[c.Name] {
			return nil, fmt.Errorf("%w: duplicated primary-key column %q", ErrInvalidArgument, c.Name)
		}
		seen[c.Name] = true
	}
	for _, c := range meta.DefinedColumns {
		if seen[c.Name] {
			return nil, fmt.Errorf("%w: duplicated column %q", ErrInvalidArgument, c.Name)
		}
		seen[c.Name] = true
	}
	if meta.MaxVersions == 0 {
		meta.MaxVersions = 1
	}
	if meta.TimeToLive == 0 {
		meta.TimeToLive = -1
	}
	if meta.Shards <= 0 {
		meta.Shards = s.cfg.Shards
	}
	now := s.cfg.Now()
	meta.ID = newID()
	meta.CreatedAtUnix = now.Unix()
	meta.LastIncreaseSec = now.Unix()
	meta.Partitions = initialPartitions(&meta, now.UnixMicro())
	if meta.Stream.Enabled {
		meta.Stream.StreamID = meta.Name + "_" + meta.ID
		meta.Stream.LastEnableTimeUs = now.UnixMicro()
		if meta.Stream.ExpirationHours <= 0 {
			meta.Stream.ExpirationHours = s.retentionHours()
		}
	}
	err := s.kv.Update(func(tx *bolt.Tx) error {
		ib, err := s.instanceBucket(tx, instance)
		if err != nil {
			return err
		}
		if ib.Bucket([]byte(meta.Name)) != nil {
			return ErrTableExists
		}
		tb, err := ib.CreateBucket([]byte(meta.Name))
		if err != nil {
			return fmt.Errorf("storage: create table bucket: %w", err)
		}
		for i := range meta.Shards {
			sb, err := tb.CreateBucket([]byte(shardBucketName(i)))
			if err != nil {
				return err
			}
			if _, err := sb.CreateBucket([]byte(bucketRows)); err != nil {
				return err
			}
			if _, err := sb.CreateBucket([]byte(bucketLog)); err != nil {
				return err
			}
		}
		if _, err := tb.CreateBucket([]byte(bucketSnapIndex)); err != nil {
			return err
		}
		return putMeta(tb, &meta)
	})
	if err != nil {
		return nil, err
	}
	return &meta, nil
}

// DescribeTable returns a table's meta.
func (s *Store) DescribeTable(instance, table string) (*TableMeta, error) {
	var meta *TableMeta
	err := s.kv.View(func(tx *bolt.Tx) error {
		var err error
		_, meta, err = s.tableBucket(tx, instance, table)
		return err
	})
	return meta, err
}

// ListTables returns the names of an instance's tables, sorted.
func (s *Store) ListTables(instance string) ([]string, error) {
	names := []string{}
	err := s.kv.View(func(tx *bolt.Tx) error {
		ib, err := s.instanceBucket(tx, instance)
		if err != nil || ib == nil {
			return err
		}
		return ib.ForEachBucket(func(k []byte) error {
			names = append(names, string(k))
			return nil
		})
	})
	sort.Strings(names)
	return names, err
}

// UpdateTable changes a table's meta through fn (which must not change the
// name, id, primary key, shard count or partitions) and returns the new meta.
func (s *Store) UpdateTable(instance, table string, fn func(*TableMeta) error) (*TableMeta, error) {
	var out *TableMeta
	err := s.kv.Update(func(tx *bolt.Tx) error {
		tb, meta, err := s.tableBucket(tx, instance, table)
		if err != nil {
			return err
		}
		before := *meta
		if err := fn(meta); err != nil {
			return err
		}
		meta.Name, meta.ID, meta.PrimaryKey, meta.Shards = before.Name, before.ID, before.PrimaryKey, before.Shards
		meta.Partitions = before.Partitions
		if meta.MaxVersions < 1 {
			return fmt.Errorf("%w: max_versions must be at least 1", ErrInvalidArgument)
		}
		if meta.Stream.Enabled && !before.Stream.Enabled {
			now := s.cfg.Now()
			meta.Stream.StreamID = meta.Name + "_" + newID()
			meta.Stream.LastEnableTimeUs = now.UnixMicro()
			if meta.Stream.ExpirationHours <= 0 {
				meta.Stream.ExpirationHours = s.retentionHours()
			}
		}
		if meta.ReservedRead != before.ReservedRead || meta.ReservedWrite != before.ReservedWrite {
			meta.LastIncreaseSec = s.cfg.Now().Unix()
		}
		out = meta
		return putMeta(tb, meta)
	})
	return out, err
}

// DeleteTable removes a table with its rows, change log and snapshots.
func (s *Store) DeleteTable(instance, table string) error {
	return s.kv.Update(func(tx *bolt.Tx) error {
		tb, _, err := s.tableBucket(tx, instance, table)
		if err != nil {
			return err
		}
		snaps := tx.Bucket([]byte(bucketSnapshots))
		if idx := tb.Bucket([]byte(bucketSnapIndex)); idx != nil {
			if err := idx.ForEach(func(k, _ []byte) error {
				if snaps.Bucket(k) != nil {
					return snaps.DeleteBucket(k)
				}
				return nil
			}); err != nil {
				return err
			}
		}
		ib, err := s.instanceBucket(tx, instance)
		if err != nil {
			return err
		}
		return ib.DeleteBucket([]byte(table))
	})
}

// AddDefinedColumns adds predefined columns.
func (s *Store) AddDefinedColumns(instance, table string, cols []DefinedColumn) error {
	_, err := s.UpdateTable(instance, table, func(m *TableMeta) error {
		for _, c := range cols {
			for _, pk := range m.PrimaryKey {
				if pk.Name == c.Name {
					return fmt.Errorf("%w: %q is a primary-key column", ErrColumnExists, c.Name)
				}
			}
			for _, d := range m.DefinedColumns {
				if d.Name == c.Name {
					return fmt.Errorf("%w: %q", ErrColumnExists, c.Name)
				}
			}
			m.DefinedColumns = append(m.DefinedColumns, c)
		}
		return nil
	})
	return err
}

// DeleteDefinedColumns removes predefined columns (the data stays, as in Tablestore).
func (s *Store) DeleteDefinedColumns(instance, table string, names []string) error {
	_, err := s.UpdateTable(instance, table, func(m *TableMeta) error {
		for _, n := range names {
			found := false
			for i, d := range m.DefinedColumns {
				if d.Name == n {
					m.DefinedColumns = append(m.DefinedColumns[:i:i], m.DefinedColumns[i+1:]...)
					found = true
					break
				}
			}
			if !found {
				return fmt.Errorf("%w: defined column %q", ErrColumnNotFound, n)
			}
		}
		return nil
	})
	return err
}

// retentionHours is the change-log retention in whole hours (at least 1), the
// expiration a table's Stream reports when none was asked for.
func (s *Store) retentionHours() int32 {
	return int32(max(1, s.cfg.ChangeRetention/time.Hour))
}

// CountRows returns the number of rows of a table. It counts the keys of the
// table's row buckets (bbolt walks its pages without decoding a row:
// milliseconds for a million rows), so a status page can show a full sync's
// progress without reading the table it is exporting.
func (s *Store) CountRows(instance, table string) (int64, error) {
	var rows int64
	err := s.kv.View(func(tx *bolt.Tx) error {
		tb, meta, err := s.tableBucket(tx, instance, table)
		if err != nil {
			return err
		}
		for shard := range meta.Shards {
			sb := tb.Bucket([]byte(shardBucketName(shard)))
			if sb == nil {
				continue
			}
			if rb := sb.Bucket([]byte(bucketRows)); rb != nil {
				rows += int64(rb.Stats().KeyN)
			}
		}
		return nil
	})
	return rows, err
}
