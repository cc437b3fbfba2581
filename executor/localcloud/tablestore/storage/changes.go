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

// logFillPercent is how full the change log's pages are left when they
// split. The log only ever appends (keys are increasing sequence numbers), so
// a page split at bbolt's default of a half leaves that half empty for good:
// every commit would write about twice the pages the changes need, and the
// file would grow twice as fast.
const logFillPercent = 0.95

// trimEvery is how often (in sequence numbers) a shard's log is trimmed.
const trimEvery = 128

// appendChange appends to the log in lb (a partition's, see partitionLog)
// and returns the new seq.
func (s *Store) appendChange(sb *bolt.Bucket, c Change) (uint64, error) {
	seq := getUint64(sb, keyLastSeq) + 1
	if err := sb.Put([]byte(keyLastSeq), uint64Key(seq)); err != nil {
		return 0, err
	}
	log := sb.Bucket([]byte(bucketLog))
	log.FillPercent = logFillPercent
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

// retentionCutoff is the write time (µs) before which changes are past
// retention.
func (s *Store) retentionCutoff() int64 {
	return s.cfg.Now().UnixMicro() - s.cfg.ChangeRetention.Microseconds()
}

// trimLog deletes entries older than the retention period from the log in
// the bucket lb (a partition's, see partitionLog).
func (s *Store) trimLog(lb *bolt.Bucket, nowUs int64) error {
	cutoff := nowUs - s.cfg.ChangeRetention.Microseconds()
	log := lb.Bucket([]byte(bucketLog))
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
		return lb.Put([]byte(keyTrimmedSeq), uint64Key(trimmed))
	}
	return nil
}

// TrimChanges trims every partition's log of a table now (normally done
// lazily as partitions are written).
func (s *Store) TrimChanges(instance, table string) error {
	return s.kv.Update(func(tx *bolt.Tx) error {
		tb, meta, err := s.tableBucket(tx, instance, table)
		if err != nil {
			return err
		}
		for i := range meta.Partitions {
			lb, err := partitionLog(tb, &meta.Partitions[i])
			if err != nil {
				return err
			}
			if err := s.trimLog(lb, s.cfg.Now().UnixMicro()); err != nil {
				return err
			}
		}
		return nil
	})
}

// ReadChanges returns up to limit changes (limit <= 0: all) of a partition
// with Seq > afterSeq, in order, and whether more exist. It fails with
// ErrChangesExpired when a change after afterSeq is past retention (trimmed,
// or old enough to be): the reader would miss it.
func (s *Store) ReadChanges(instance, table, partition string, afterSeq uint64, limit int) ([]Change, bool, error) {
	var out []Change
	more, err := s.readChanges(instance, table, partition, afterSeq, limit, func(seq uint64, v []byte) error {
		ch, err := decodeChange(seq, v)
		if err != nil {
			return err
		}
		out = append(out, ch)
		return nil
	})
	return out, more, err
}

// ChangeRecord is a change as the log keeps it, not decoded.
type ChangeRecord struct {
	Seq        uint64
	TimeMicros int64
	Type       ChangeType
	// Row is the change's one-row PlainBuffer (header included) as
	// encodeChange wrote it: Change.Row() with checksums, no extension.
	Row []byte
}

// ReadChangeRecords is ReadChanges without decoding: each change's stored
// bytes, copied out of the transaction into a few shared arrays. The tunnel
// serves stream records from them (a stream record is this row with its
// sequence extension added), so the rows are neither decoded nor encoded.
func (s *Store) ReadChangeRecords(instance, table, partition string, afterSeq uint64, limit int) ([]ChangeRecord, bool, error) {
	var out []ChangeRecord
	var arena []byte
	more, err := s.readChanges(instance, table, partition, afterSeq, limit, func(seq uint64, v []byte) error {
		if len(v) < 9 {
			return fmt.Errorf("storage: corrupt change record %d", seq)
		}
		row := v[9:]
		if cap(arena)-len(arena) < len(row) {
			// Doubling chunks: a page of a few changes (a reader keeping up
			// with the writes) takes a few KiB, a full one a few arrays.
			arena = make([]byte, 0, max(min(2*cap(arena), maxChangeArena), minChangeArena, len(row)))
		}
		start := len(arena)
		arena = append(arena, row...)
		out = append(out, ChangeRecord{Seq: seq, TimeMicros: int64(binary.BigEndian.Uint64(v)), Type: ChangeType(v[8]),
			Row: arena[start:len(arena):len(arena)]})
		return nil
	})
	return out, more, err
}

// The arrays ReadChangeRecords copies into grow from minChangeArena to
// maxChangeArena bytes.
const (
	minChangeArena = 4 << 10
	maxChangeArena = 256 << 10
)

// readChanges calls visit with each stored change (seq, log record) of a
// partition after afterSeq, in order, up to limit (<= 0: all), inside one
// read transaction (v is valid only during the call), and reports whether
// more exist. It fails with ErrChangesExpired as ReadChanges documents.
func (s *Store) readChanges(instance, table, partition string, afterSeq uint64, limit int, visit func(seq uint64, v []byte) error) (bool, error) {
	more := false
	n := 0
	cutoff := s.retentionCutoff()
	err := s.kv.View(func(tx *bolt.Tx) error {
		tb, meta, err := s.tableBucket(tx, instance, table)
		if err != nil {
			return err
		}
		p := meta.partition(partition)
		if p == nil {
			return fmt.Errorf("%w: %q in table %q", ErrPartitionNotFound, partition, table)
		}
		lb, err := partitionLog(tb, p)
		if err != nil {
			return err
		}
		if trimmed := getUint64(lb, keyTrimmedSeq); afterSeq < trimmed {
			return fmt.Errorf("%w: partition %s trimmed through seq %d, asked after %d", ErrChangesExpired, partition, trimmed, afterSeq)
		}
		c := lb.Bucket([]byte(bucketLog)).Cursor()
		for k, v := c.Seek(uint64Key(afterSeq + 1)); k != nil; k, v = c.Next() {
			if n == 0 && len(v) >= 8 && int64(binary.BigEndian.Uint64(v)) < cutoff {
				return fmt.Errorf("%w: partition %s: change %d is past retention", ErrChangesExpired, partition, binary.BigEndian.Uint64(k))
			}
			if limit > 0 && n >= limit {
				more = true
				return nil
			}
			if err := visit(binary.BigEndian.Uint64(k), v); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return more, err
}

// ---- snapshots ----

// SnapshotInfo describes a snapshot.
type SnapshotInfo struct {
	ID       string `json:"id"`
	Instance string `json:"instance"`
	Table    string `json:"table"`
	TableID  string `json:"tableId"`
	// Partitions are the open partitions when the snapshot was taken, each
	// with the change-log position the snapshot includes; ScanSnapshot reads
	// these ranges even after later splits.
	Partitions []SnapshotPartition `json:"partitions"`
	// ShardSeqs is the per-shard position of snapshots taken before
	// partitions were recorded (read only).
	ShardSeqs []uint64 `json:"shardSeqs,omitempty"`
	CreatedAt int64    `json:"createdAt"` // Unix seconds
}

// SnapshotPartition is a partition as a snapshot fixed it.
type SnapshotPartition struct {
	Partition
	// Seq: the partition's changes up to this seq are in the snapshot.
	Seq uint64 `json:"seq"`
}

// partitions returns the snapshot's partitions, translating the shard list of
// a snapshot taken before partitions were recorded.
func (info *SnapshotInfo) partitions() []SnapshotPartition {
	if len(info.Partitions) > 0 || len(info.ShardSeqs) == 0 {
		return info.Partitions
	}
	out := make([]SnapshotPartition, len(info.ShardSeqs))
	for i, seq := range info.ShardSeqs {
		out[i] = SnapshotPartition{Partition: Partition{ID: initialPartitionID(info.TableID, i), Bucket: i}, Seq: seq}
	}
	return out
}

func (info *SnapshotInfo) partition(id string) *SnapshotPartition {
	parts := info.partitions()
	for i := range parts {
		if parts[i].ID == id {
			return &parts[i]
		}
	}
	return nil
}

// readSnapIndex returns the ids of a table's active snapshots.
func readSnapIndex(tb *bolt.Bucket) (map[string]bool, error) {
	idx := tb.Bucket([]byte(bucketSnapIndex))
	if idx == nil {
		return nil, nil
	}
	var out map[string]bool
	err := idx.ForEach(func(k, _ []byte) error {
		if out == nil {
			out = map[string]bool{}
		}
		out[string(k)] = true
		return nil
	})
	return out, err
}

// Pre-image records: 0x00 = the row was absent; 0x01 + row record = the row.
func saveSnapshotPreimages(tx *bolt.Tx, snaps map[string]bool, shard int, key, current []byte) error {
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
		for i := range meta.Partitions {
			p := &meta.Partitions[i]
			if !p.Open() {
				continue
			}
			lb, err := partitionLog(tb, p)
			if err != nil {
				return err
			}
			info.Partitions = append(info.Partitions, SnapshotPartition{Partition: *p, Seq: getUint64(lb, keyLastSeq)})
		}
		idx, err := tb.CreateBucketIfNotExists([]byte(bucketSnapIndex))
		if err != nil {
			return err
		}
		if err := idx.Put([]byte(info.ID), []byte("{}")); err != nil {
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

// ScanSnapshot returns up to limit rows of a partition as they were at the
// snapshot (in the partition's range as the snapshot fixed it), in
// primary-key order, starting after the encoded key after (nil: from the
// start). next is the cursor for the following page (the last returned row's
// key); more reports whether rows may remain.
func (s *Store) ScanSnapshot(id, partition string, after []byte, limit int) (rows []plainbuffer.Row, next []byte, more bool, err error) {
	next, more, err = s.scanSnapshot(id, partition, after, limit, func(rec []byte, meta *TableMeta, nowMs int64) (bool, error) {
		r, err := decodeRow(rec)
		if err != nil {
			return false, err
		}
		if r = expireRow(r, meta, nowMs); r == nil {
			return false, nil
		}
		rows = append(rows, r.toPlain())
		return true, nil
	})
	return rows, next, more, err
}

// ScanSnapshotRecords is ScanSnapshot with each row as a one-row PlainBuffer
// (header included): the bytes ScanSnapshot's row would encode to with
// plainbuffer.EncodeRow, which is what a tunnel base record carries. A stored
// row is such a buffer already, behind its 8-byte seq, whenever the table's
// TTL and max versions drop none of its versions; it is then copied as it is,
// without decoding and encoding it again. Other rows are decoded, trimmed and
// encoded. The records share a few large arrays.
func (s *Store) ScanSnapshotRecords(id, partition string, after []byte, limit int) (records [][]byte, next []byte, more bool, err error) {
	limit = pageLimit(limit)
	var arena []byte
	next, more, err = s.scanSnapshot(id, partition, after, limit, func(rec []byte, meta *TableMeta, nowMs int64) (bool, error) {
		stored := rec[min(8, len(rec)):]
		if cap(arena)-len(arena) < len(stored) {
			// Room for the rest of the page if its rows are the size of this
			// one, so that a page takes about one array, not half-used chunks.
			rest := len(stored) * (limit - len(records))
			arena = make([]byte, 0, max(min(rest, maxRecordArena), len(stored)+len(stored)/4))
		}
		start := len(arena)
		if keepsEveryVersion(stored, meta, nowMs) {
			arena = append(arena, stored...)
		} else {
			r, err := decodeRow(rec)
			if err != nil {
				return false, err
			}
			if r = expireRow(r, meta, nowMs); r == nil {
				return false, nil
			}
			pr := r.toPlain()
			arena = plainbuffer.AppendRow(plainbuffer.AppendHeader(arena), &pr)
		}
		records = append(records, arena[start:len(arena):len(arena)])
		return true, nil
	})
	return records, next, more, err
}

// maxRecordArena bounds the arrays ScanSnapshotRecords copies records into
// (a page of records in one or a few of them).
const maxRecordArena = 4 << 20

// keepsEveryVersion reports whether a stored row (a one-row PlainBuffer as
// encodeRow writes it, without the seq) is one that expireRow leaves as it
// is: every version within the TTL, no column past max versions. It walks the
// bytes without decoding them; anything it does not recognise gives false,
// and the caller decodes.
func keepsEveryVersion(stored []byte, meta *TableMeta, nowMs int64) bool {
	minTs := int64(-1 << 63)
	if meta.TimeToLive > 0 {
		minTs = nowMs - int64(meta.TimeToLive)*1000
	}
	var column []byte
	versions := 0
	return plainbuffer.WalkPutRow(stored, func(name []byte, ts int64) bool {
		if ts < minTs {
			return false
		}
		if versions > 0 && bytes.Equal(name, column) {
			versions++
		} else {
			column, versions = name, 1
		}
		return versions <= int(meta.MaxVersions)
	})
}

// pageLimit is a snapshot scan's page size: limit, or 1000 when it is not
// positive.
func pageLimit(limit int) int {
	if limit <= 0 {
		return 1000
	}
	return limit
}

// scanSnapshot walks a snapshot's rows as ScanSnapshot describes, handing
// each stored row record (seq prefix included, valid only during the call)
// to visit, which reports whether it delivered the row (expired rows are
// not). It stops after limit delivered rows.
func (s *Store) scanSnapshot(id, partition string, after []byte, limit int, visit func(rec []byte, meta *TableMeta, nowMs int64) (bool, error)) (next []byte, more bool, err error) {
	limit = pageLimit(limit)
	delivered := 0
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
		part := info.partition(partition)
		if part == nil {
			return fmt.Errorf("%w: %q is not in snapshot %s", ErrPartitionNotFound, partition, id)
		}
		shard := part.Bucket
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
			switch {
			case after != nil && (part.Start == nil || bytes.Compare(after, part.Start) >= 0):
				k, v := c.Seek(after)
				if k != nil && bytes.Equal(k, after) {
					k, v = c.Next()
				}
				return k, v
			case part.Start != nil:
				return c.Seek(part.Start)
			}
			return c.First()
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
			if !part.contains(key) {
				return nil // past the partition's range (keys only grow)
			}
			if delivered >= limit {
				more = true
				return nil
			}
			next = append(next[:0], key...)
			if rec == nil {
				continue
			}
			ok, err := visit(rec, meta, nowMs)
			if err != nil {
				return err
			}
			if ok {
				delivered++
			}
		}
		return nil
	})
	return next, more, err
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
