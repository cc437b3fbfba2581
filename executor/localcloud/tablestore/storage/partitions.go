package storage

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"

	bolt "go.etcd.io/bbolt"
)

// Partitions. A table's rows live in Shards storage buckets chosen by a hash
// of the partition key (the first primary-key column), and each bucket is
// covered by partitions: key ranges of the partition key within the bucket.
// A new table has one partition per bucket, covering it whole. Split replaces
// a partition by two children at a partition-key value taken from its rows
// (the median row's), as real Tablestore splits a partition by key range; the
// rows stay where they are (a partition is a view of its bucket), but from
// the split on every write goes to the child whose range holds its key, and
// the parent's change log ends. Partitions and their logs survive restarts
// (the list is part of the table meta).

// Partition is one key range of a table with its own change log.
type Partition struct {
	ID string `json:"id"`
	// Bucket is the storage shard holding the partition's rows.
	Bucket int `json:"bucket"`
	// Start (inclusive) and End (exclusive) bound the encoded partition key
	// (EncodeKey of the first primary-key column); nil is unbounded.
	Start []byte `json:"start,omitempty"`
	End   []byte `json:"end,omitempty"`
	// Parent is the partition this one was split from ("" for the initial ones).
	Parent string `json:"parent,omitempty"`
	// Epoch is 0 for the initial partitions and one more than the parent's
	// for split children.
	Epoch int32 `json:"epoch"`
	// Children are set when the partition was split; it takes no more writes.
	Children []string `json:"children,omitempty"`
	// CreatedMicros is when the partition came to be (0 for initial ones of
	// tables created before partitions were recorded).
	CreatedMicros int64 `json:"createdMicros,omitempty"`
}

// Open reports whether the partition still takes writes.
func (p *Partition) Open() bool { return len(p.Children) == 0 }

// contains reports whether an encoded primary key lies in the range. The
// bounds are complete encodings of a first-column value, and the encoding is
// prefix-free, so comparing the whole key compares its first column.
func (p *Partition) contains(key []byte) bool {
	return (p.Start == nil || bytes.Compare(key, p.Start) >= 0) && (p.End == nil || bytes.Compare(key, p.End) < 0)
}

// ErrPartitionNotFound: no partition of the table has the given id.
var ErrPartitionNotFound = errors.New("partition does not exist")

// ErrCannotSplit: the partition has no partition-key value to split at.
var ErrCannotSplit = errors.New("partition cannot be split")

// initialPartitionID names the initial partition of a bucket. It is derived
// from the table's id so that tables created before partitions were
// recorded get the same ids on every load.
func initialPartitionID(tableID string, bucket int) string {
	sum := sha256.Sum256([]byte(tableID + "/" + strconv.Itoa(bucket)))
	return hex.EncodeToString(sum[:8])
}

func initialPartitions(meta *TableMeta, nowMicros int64) []Partition {
	out := make([]Partition, meta.Shards)
	for i := range out {
		out[i] = Partition{ID: initialPartitionID(meta.ID, i), Bucket: i, CreatedMicros: nowMicros}
	}
	return out
}

// partition returns the partition with the given id.
func (m *TableMeta) partition(id string) *Partition {
	for i := range m.Partitions {
		if m.Partitions[i].ID == id {
			return &m.Partitions[i]
		}
	}
	return nil
}

// partitionFor returns the open partition of a bucket holding an encoded key.
func (m *TableMeta) partitionFor(bucket int, key []byte) (*Partition, error) {
	for i := range m.Partitions {
		p := &m.Partitions[i]
		if p.Bucket == bucket && p.Open() && p.contains(key) {
			return p, nil
		}
	}
	return nil, fmt.Errorf("storage: table %q: no open partition of bucket %d holds key %x", m.Name, bucket, key)
}

const bucketParts = "parts" // table bucket -> partition id -> {log, lastseq, trimmed}

// partitionLog returns the bucket holding a partition's change log ("log")
// and its counters. Initial partitions keep theirs in the shard bucket, where
// tables created before splits existed had it.
func partitionLog(tb *bolt.Bucket, p *Partition) (*bolt.Bucket, error) {
	var b *bolt.Bucket
	if p.Parent == "" {
		b = tb.Bucket([]byte(shardBucketName(p.Bucket)))
	} else if parts := tb.Bucket([]byte(bucketParts)); parts != nil {
		b = parts.Bucket([]byte(p.ID))
	}
	if b == nil || b.Bucket([]byte(bucketLog)) == nil {
		return nil, fmt.Errorf("storage: partition %s lacks its change log", p.ID)
	}
	return b, nil
}

func createPartitionLog(tb *bolt.Bucket, id string) error {
	parts, err := tb.CreateBucketIfNotExists([]byte(bucketParts))
	if err != nil {
		return err
	}
	pb, err := parts.CreateBucket([]byte(id))
	if err != nil {
		return fmt.Errorf("storage: create log of partition %s: %w", id, err)
	}
	_, err = pb.CreateBucket([]byte(bucketLog))
	return err
}

// firstColumn returns the encoding of the first column (of type typ) of an
// encoded key.
func firstColumn(key []byte, typ PKType) []byte {
	if len(key) == 0 || key[0] != markValue {
		return key[:min(1, len(key))]
	}
	if typ == PKInteger {
		return key[:min(9, len(key))]
	}
	// Strings and binaries end at an unescaped 0x00 0x01.
	for i := 1; i+1 < len(key); i++ {
		if key[i] == 0x00 {
			if key[i+1] == 0x01 {
				return key[:i+2]
			}
			i++ // escaped 0x00 0xFF
		}
	}
	return key
}

// PartitionInfo describes a partition and its change log.
type PartitionInfo struct {
	Partition
	// FirstSeq is the oldest change still within retention (LastSeq+1 when
	// none is); LastSeq the newest (0 when nothing was ever written).
	FirstSeq uint64
	LastSeq  uint64
}

// Partitions lists every partition of a table, split ones included, in the
// order they were created.
func (s *Store) Partitions(instance, table string) ([]PartitionInfo, error) {
	var out []PartitionInfo
	cutoff := s.retentionCutoff()
	err := s.kv.View(func(tx *bolt.Tx) error {
		tb, meta, err := s.tableBucket(tx, instance, table)
		if err != nil {
			return err
		}
		for i := range meta.Partitions {
			p := &meta.Partitions[i]
			lb, err := partitionLog(tb, p)
			if err != nil {
				return err
			}
			info := PartitionInfo{Partition: *p, LastSeq: getUint64(lb, keyLastSeq)}
			info.FirstSeq = info.LastSeq + 1
			c := lb.Bucket([]byte(bucketLog)).Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				if len(v) >= 8 && int64(binary.BigEndian.Uint64(v)) >= cutoff {
					info.FirstSeq = binary.BigEndian.Uint64(k)
					break
				}
			}
			out = append(out, info)
		}
		return nil
	})
	return out, err
}

// SplitResult names a split partition and its two children.
type SplitResult struct {
	Table    string   `json:"table"`
	Parent   string   `json:"parent"`
	Children []string `json:"children"`
	// ParentRows is how many rows the parent held when it was split.
	ParentRows int `json:"parentRows"`
}

// Split splits an open partition of a table in two at the partition-key
// value of its median row; with id "" it splits the open partition holding
// the most rows. From then on writes go to the children; the parent's change
// log keeps what it has and takes nothing more.
func (s *Store) Split(instance, table, id string) (*SplitResult, error) {
	return s.split(instance, table, id, 0)
}

// splitCheckEvery is how often (in a partition's sequence numbers) a write
// checks whether the partition outgrew Config.SplitRows.
const splitCheckEvery = 64

// splitLarge splits, after a write, the partitions it brought to a check
// point that hold more than Config.SplitRows rows.
func (s *Store) splitLarge(instance string, muts []Mutation, results []MutationResult) {
	if s.cfg.SplitRows <= 0 {
		return
	}
	for i := range results {
		r := &results[i]
		if r.Err != nil || r.Partition == "" || r.Seq%splitCheckEvery != 0 {
			continue
		}
		// Failures (a partition of one partition key cannot split) leave the
		// partition as it is; the next check point tries again.
		_, _ = s.split(instance, muts[i].Table, r.Partition, s.cfg.SplitRows)
	}
}

// split splits a partition (the busiest for id ""); with minRows > 0 only if
// it holds more rows than that (else it returns nil, nil).
func (s *Store) split(instance, table, id string, minRows int) (*SplitResult, error) {
	var res *SplitResult
	err := s.kv.Update(func(tx *bolt.Tx) error {
		tb, meta, err := s.tableBucket(tx, instance, table)
		if err != nil {
			return err
		}
		var parent *Partition
		var keys [][]byte
		if id == "" {
			parent, keys = busiestPartition(tb, meta)
		} else {
			if parent = meta.partition(id); parent == nil {
				return fmt.Errorf("%w: %q in table %q", ErrPartitionNotFound, id, table)
			}
			if !parent.Open() {
				return fmt.Errorf("%w: %s was already split", ErrCannotSplit, id)
			}
			keys = partitionKeys(tb, parent)
		}
		if parent == nil {
			return fmt.Errorf("%w: table %q has no open partition", ErrCannotSplit, table)
		}
		if minRows > 0 && len(keys) <= minRows {
			return nil
		}
		at, err := splitPoint(parent, keys, meta.PrimaryKey[0].Type)
		if err != nil {
			return err
		}
		now := s.cfg.Now().UnixMicro()
		left := Partition{ID: newID(), Bucket: parent.Bucket, Start: parent.Start, End: at, Parent: parent.ID, Epoch: parent.Epoch + 1, CreatedMicros: now}
		right := Partition{ID: newID(), Bucket: parent.Bucket, Start: at, End: parent.End, Parent: parent.ID, Epoch: parent.Epoch + 1, CreatedMicros: now}
		for _, child := range []string{left.ID, right.ID} {
			if err := createPartitionLog(tb, child); err != nil {
				return err
			}
		}
		parent.Children = []string{left.ID, right.ID}
		res = &SplitResult{Table: table, Parent: parent.ID, Children: parent.Children, ParentRows: len(keys)}
		meta.Partitions = append(meta.Partitions, left, right)
		return putMeta(tb, meta)
	})
	return res, err
}

// partitionKeys returns the encoded keys of the rows a partition holds now.
func partitionKeys(tb *bolt.Bucket, p *Partition) [][]byte {
	var keys [][]byte
	c := tb.Bucket([]byte(shardBucketName(p.Bucket))).Bucket([]byte(bucketRows)).Cursor()
	k, _ := c.First()
	if p.Start != nil {
		k, _ = c.Seek(p.Start)
	}
	for ; k != nil && p.contains(k); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	return keys
}

// busiestPartition returns the open partition holding the most rows (the
// first created among equals) with its keys.
func busiestPartition(tb *bolt.Bucket, meta *TableMeta) (*Partition, [][]byte) {
	var best *Partition
	var bestKeys [][]byte
	for i := range meta.Partitions {
		p := &meta.Partitions[i]
		if !p.Open() {
			continue
		}
		keys := partitionKeys(tb, p)
		if best == nil || len(keys) > len(bestKeys) {
			best, bestKeys = p, keys
		}
	}
	return best, bestKeys
}

// splitPoint returns the partition-key value the median row starts with,
// or, when that equals the partition's lower bound, the next greater one.
func splitPoint(p *Partition, keys [][]byte, typ PKType) ([]byte, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: partition %s holds no rows to split at", ErrCannotSplit, p.ID)
	}
	lower := p.Start
	if lower == nil {
		lower = firstColumn(keys[0], typ)
	}
	for _, k := range keys[len(keys)/2:] {
		if at := firstColumn(k, typ); bytes.Compare(at, lower) > 0 {
			return bytes.Clone(at), nil
		}
	}
	for i := len(keys)/2 - 1; i >= 0; i-- {
		if at := firstColumn(keys[i], typ); bytes.Compare(at, lower) > 0 {
			return bytes.Clone(at), nil
		}
	}
	return nil, fmt.Errorf("%w: every row of partition %s has the same partition key", ErrCannotSplit, p.ID)
}
