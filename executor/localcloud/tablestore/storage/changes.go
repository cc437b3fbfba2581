package storage

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/plainbuffer"
)

// Change is one committed row change in a shard's change log.
type Change struct {
	Seq        uint64 // per-shard, strictly increasing from 1
	TimeMicros int64  // commit time, Unix microseconds
	Type       ChangeType
	PrimaryKey []plainbuffer.Cell
	// Cells: for PUT the full new row (values with timestamps); for UPDATE
	// the puts (value+timestamp; increments appear as the resulting value),
	// OpDeleteOneVersion cells (timestamp) and OpDeleteAllVersions cells;
	// empty for DELETE.
	Cells []plainbuffer.Cell
}

// Row returns the change as a PlainBuffer row (delete marker for DELETE).
func (c *Change) Row() plainbuffer.Row {
	return plainbuffer.Row{PrimaryKey: c.PrimaryKey, Cells: c.Cells, Deleted: c.Type == ChangeDelete}
}

// Log record: time (8 bytes BE) | type (1 byte) | PlainBuffer row with header.
func encodeChange(c *Change) []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 64), uint64(c.TimeMicros))
	b = append(b, byte(c.Type))
	r := c.Row()
	return plainbuffer.AppendRow(plainbuffer.AppendHeader(b), &r)
}

func decodeChange(seq uint64, b []byte) (Change, error) {
	if len(b) < 9 {
		return Change{}, errors.New("storage: corrupt change record")
	}
	r, err := plainbuffer.DecodeRow(b[9:])
	if err != nil {
		return Change{}, fmt.Errorf("storage: corrupt change record %d: %w", seq, err)
	}
	return Change{Seq: seq, TimeMicros: int64(binary.BigEndian.Uint64(b)), Type: ChangeType(b[8]), PrimaryKey: r.PrimaryKey, Cells: r.Cells}, nil
}

func getUint64(b *bolt.Bucket, key string) uint64 {
	if v := b.Get([]byte(key)); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

// trimEvery is how often (in sequence numbers) a shard's log is trimmed.
const trimEvery = 128

// appendChange appends to a shard's log and returns the new seq.
func (s *Store) appendChange(sb *bolt.Bucket, c Change) (uint64, error) {
	seq := getUint64(sb, keyLastSeq) + 1
	if err := sb.Put([]byte(keyLastSeq), uint64Key(seq)); err != nil {
		return 0, err
	}
	log := sb.Bucket([]byte(bucketLog))
	if err := log.Put(uint64Key(seq), encodeChange(&c)); err != nil {
		return 0, err
	}
	if seq%trimEvery == 0 {
		if err := s.trimLog(sb, c.TimeMicros); err != nil {
			return 0, err
		}
	}
	return seq, nil
}

// trimLog deletes entries older than the retention period.
func (s *Store) trimLog(sb *bolt.Bucket, nowUs int64) error {
	cutoff := nowUs - s.cfg.ChangeRetention.Microseconds()
	log := sb.Bucket([]byte(bucketLog))
	c := log.Cursor()
	var trimmed uint64
	for k, v := c.First(); k != nil; k, v = c.First() {
		if len(v) < 8 || int64(binary.BigEndian.Uint64(v)) >= cutoff {
			break
		}
		trimmed = binary.BigEndian.Uint64(k)
		if err := c.Delete(); err != nil {
			return err
		}
	}
	if trimmed > 0 {
		return sb.Put([]byte(keyTrimmedSeq), uint64Key(trimmed))
	}
	return nil
}

// TrimChanges trims every shard of a table now (normally done lazily).
func (s *Store) TrimChanges(instance, table string) error {
	return s.kv.Update(func(tx *bolt.Tx) error {
		tb, meta, err := s.tableBucket(tx, instance, table)
		if err != nil {
			return err
		}
		for i := range meta.Shards {
			if err := s.trimLog(tb.Bucket([]byte(shardBucketName(i))), s.cfg.Now().UnixMicro()); err != nil {
				return err
			}
		}
		return nil
	})
}

// ShardInfo describes a shard's change log.
type ShardInfo struct {
	Shard    int
	FirstSeq uint64 // oldest retained seq (LastSeq+1 when the log is empty)
	LastSeq  uint64 // newest seq (0 when nothing was ever written)
}

// Shards lists a table's shards.
func (s *Store) Shards(instance, table string) ([]ShardInfo, error) {
	var out []ShardInfo
	err := s.kv.View(func(tx *bolt.Tx) error {
		tb, meta, err := s.tableBucket(tx, instance, table)
		if err != nil {
			return err
		}
		for i := range meta.Shards {
			sb := tb.Bucket([]byte(shardBucketName(i)))
			info := ShardInfo{Shard: i, LastSeq: getUint64(sb, keyLastSeq)}
			info.FirstSeq = info.LastSeq + 1
			if k, _ := sb.Bucket([]byte(bucketLog)).Cursor().First(); k != nil {
				info.FirstSeq = binary.BigEndian.Uint64(k)
			}
			out = append(out, info)
		}
		return nil
	})
	return out, err
}

// ReadChanges returns up to limit changes (limit <= 0: all) of a shard with
// Seq > afterSeq, in order, and whether more exist. It fails with ErrChangesExpired when changes
// after afterSeq were already trimmed.
func (s *Store) ReadChanges(instance, table string, shard int, afterSeq uint64, limit int) ([]Change, bool, error) {
	var out []Change
	more := false
	err := s.kv.View(func(tx *bolt.Tx) error {
		tb, meta, err := s.tableBucket(tx, instance, table)
		if err != nil {
			return err
		}
		if shard < 0 || shard >= meta.Shards {
			return fmt.Errorf("%w: %d (table has %d)", ErrShardOutOfRange, shard, meta.Shards)
		}
		sb := tb.Bucket([]byte(shardBucketName(shard)))
		if trimmed := getUint64(sb, keyTrimmedSeq); afterSeq < trimmed {
			return fmt.Errorf("%w: shard %d trimmed through seq %d, asked after %d", ErrChangesExpired, shard, trimmed, afterSeq)
		}
		c := sb.Bucket([]byte(bucketLog)).Cursor()
		for k, v := c.Seek(uint64Key(afterSeq + 1)); k != nil; k, v = c.Next() {
			if limit > 0 && len(out) >= limit {
				more = true
				return nil
			}
			ch, err := decodeChange(binary.BigEndian.Uint64(k), v)
			if err != nil {
				return err
			}
			out = append(out, ch)
		}
		return nil
	})
	return out, more, err
}

// ---- snapshots ----

// SnapshotInfo describes a snapshot.
type SnapshotInfo struct {
	ID        string   `json:"id"`
	Instance  string   `json:"instance"`
	Table     string   `json:"table"`
	TableID   string   `json:"tableId"`
	ShardSeqs []uint64 `json:"shardSeqs"` // per shard: changes up to this seq are included
	CreatedAt int64    `json:"createdAt"` // Unix seconds
}

func readSnapIndex(tb *bolt.Bucket) (map[string][]uint64, error) {
	idx := tb.Bucket([]byte(bucketSnapIndex))
	if idx == nil {
		return nil, nil
	}
	var out map[string][]uint64
	err := idx.ForEach(func(k, v []byte) error {
		var seqs []uint64
		if err := json.Unmarshal(v, &seqs); err != nil {
			return fmt.Errorf("storage: corrupt snapshot index: %w", err)
		}
		if out == nil {
			out = map[string][]uint64{}
		}
		out[string(k)] = seqs
		return nil
	})
	return out, err
}

// Pre-image records: 0x00 = the row was absent; 0x01 + row record = the row.
func saveSnapshotPreimages(tx *bolt.Tx, snaps map[string][]uint64, shard int, key, current []byte) error {
	if len(snaps) == 0 {
		return nil
	}
	root := tx.Bucket([]byte(bucketSnapshots))
	for id := range snaps {
		sb := root.Bucket([]byte(id))
		if sb == nil {
			continue
		}
		pb, err := sb.CreateBucketIfNotExists([]byte(shardBucketName(shard)))
		if err != nil {
			return err
		}
		if pb.Get(key) != nil {
			continue // already saved: it holds the state as of the snapshot
		}
		val := []byte{0}
		if current != nil {
			val = append([]byte{1}, current...)
		}
		if err := pb.Put(bytes.Clone(key), val); err != nil {
			return err
		}
	}
	return nil
}

// CreateSnapshot fixes the current state of a table for ScanSnapshot.
func (s *Store) CreateSnapshot(instance, table string) (*SnapshotInfo, error) {
	info := &SnapshotInfo{ID: newID(), Instance: instance, Table: table, CreatedAt: s.cfg.Now().Unix()}
	err := s.kv.Update(func(tx *bolt.Tx) error {
		tb, meta, err := s.tableBucket(tx, instance, table)
		if err != nil {
			return err
		}
		info.TableID = meta.ID
		info.ShardSeqs = make([]uint64, meta.Shards)
		for i := range meta.Shards {
			info.ShardSeqs[i] = getUint64(tb.Bucket([]byte(shardBucketName(i))), keyLastSeq)
		}
		seqs, _ := json.Marshal(info.ShardSeqs)
		idx, err := tb.CreateBucketIfNotExists([]byte(bucketSnapIndex))
		if err != nil {
			return err
		}
		if err := idx.Put([]byte(info.ID), seqs); err != nil {
			return err
		}
		sb, err := tx.Bucket([]byte(bucketSnapshots)).CreateBucket([]byte(info.ID))
		if err != nil {
			return err
		}
		b, _ := json.Marshal(info)
		return sb.Put([]byte(keyMeta), b)
	})
	if err != nil {
		return nil, err
	}
	return info, nil
}

// Snapshot returns a snapshot's description.
func (s *Store) Snapshot(id string) (*SnapshotInfo, error) {
	var info SnapshotInfo
	err := s.kv.View(func(tx *bolt.Tx) error {
		sb := tx.Bucket([]byte(bucketSnapshots)).Bucket([]byte(id))
		if sb == nil {
			return ErrSnapshotNotFound
		}
		return json.Unmarshal(sb.Get([]byte(keyMeta)), &info)
	})
	if err != nil {
		return nil, err
	}
	return &info, nil
}

// ScanSnapshot returns up to limit rows of a shard as they were at the
// snapshot, in primary-key order, starting after the encoded key after (nil:
// from the start). next is the cursor for the following page (the last
// returned row's key); more reports whether rows may remain.
func (s *Store) ScanSnapshot(id string, shard int, after []byte, limit int) (rows []plainbuffer.Row, next []byte, more bool, err error) {
	if limit <= 0 {
		limit = 1000
	}
	err = s.kv.View(func(tx *bolt.Tx) error {
		snap := tx.Bucket([]byte(bucketSnapshots)).Bucket([]byte(id))
		if snap == nil {
			return ErrSnapshotNotFound
		}
		var info SnapshotInfo
		if err := json.Unmarshal(snap.Get([]byte(keyMeta)), &info); err != nil {
			return fmt.Errorf("storage: corrupt snapshot %s: %w", id, err)
		}
		tb, meta, err := s.tableBucket(tx, info.Instance, info.Table)
		if err != nil {
			return err
		}
		if meta.ID != info.TableID {
			return fmt.Errorf("%w: table %q was re-created after snapshot %s", ErrTableNotFound, info.Table, id)
		}
		if shard < 0 || shard >= meta.Shards {
			return fmt.Errorf("%w: %d (table has %d)", ErrShardOutOfRange, shard, meta.Shards)
		}
		nowMs := s.cfg.Now().UnixMilli()
		cur := tb.Bucket([]byte(shardBucketName(shard))).Bucket([]byte(bucketRows)).Cursor()
		var pre *bolt.Cursor
		if pb := snap.Bucket([]byte(shardBucketName(shard))); pb != nil {
			pre = pb.Cursor()
		}
		seek := func(c *bolt.Cursor) ([]byte, []byte) {
			if c == nil {
				return nil, nil
			}
			if after == nil {
				return c.First()
			}
			k, v := c.Seek(after)
			if k != nil && bytes.Equal(k, after) {
				k, v = c.Next()
			}
			return k, v
		}
		ck, cv := seek(cur)
		pk, pv := seek(pre)
		for ck != nil || pk != nil {
			var key, rec []byte
			switch {
			case pk == nil || (ck != nil && bytes.Compare(ck, pk) < 0):
				// Unchanged since the snapshot (else a pre-image would exist).
				key, rec = ck, cv
				ck, cv = cur.Next()
			case ck == nil || bytes.Compare(pk, ck) < 0:
				key = pk
				if len(pv) > 0 && pv[0] == 1 {
					rec = pv[1:]
				}
				pk, pv = pre.Next()
			default: // same key: the pre-image wins
				key = pk
				if len(pv) > 0 && pv[0] == 1 {
					rec = pv[1:]
				}
				ck, cv = cur.Next()
				pk, pv = pre.Next()
			}
			if len(rows) >= limit {
				more = true
				return nil
			}
			next = bytes.Clone(key)
			if rec == nil {
				continue
			}
			r, err := decodeRow(rec)
			if err != nil {
				return err
			}
			if r = expireRow(r, meta, nowMs); r != nil {
				rows = append(rows, r.toPlain())
			}
		}
		return nil
	})
	return rows, next, more, err
}

// ReleaseSnapshot drops a snapshot and its saved pre-images.
func (s *Store) ReleaseSnapshot(id string) error {
	return s.kv.Update(func(tx *bolt.Tx) error {
		root := tx.Bucket([]byte(bucketSnapshots))
		snap := root.Bucket([]byte(id))
		if snap == nil {
			return ErrSnapshotNotFound
		}
		var info SnapshotInfo
		if err := json.Unmarshal(snap.Get([]byte(keyMeta)), &info); err == nil {
			if tb, meta, err := s.tableBucket(tx, info.Instance, info.Table); err == nil && meta.ID == info.TableID {
				if idx := tb.Bucket([]byte(bucketSnapIndex)); idx != nil {
					if err := idx.Delete([]byte(id)); err != nil {
						return err
					}
				}
			}
		}
		return root.DeleteBucket([]byte(id))
	})
}

// ListSnapshots returns the ids of all snapshots (e.g. to release stale ones).
func (s *Store) ListSnapshots() ([]SnapshotInfo, error) {
	var out []SnapshotInfo
	err := s.kv.View(func(tx *bolt.Tx) error {
		root := tx.Bucket([]byte(bucketSnapshots))
		return root.ForEachBucket(func(k []byte) error {
			var info SnapshotInfo
			if err := json.Unmarshal(root.Bucket(k).Get([]byte(keyMeta)), &info); err != nil {
				return fmt.Errorf("storage: corrupt snapshot %s: %w", k, err)
			}
			out = append(out, info)
			return nil
		})
	})
	return out, err
}

// ChangeRetention returns how long change-log entries are kept.
func (s *Store) ChangeRetention() time.Duration { return s.cfg.ChangeRetention }
