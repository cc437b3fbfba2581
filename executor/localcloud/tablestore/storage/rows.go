package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"

	bolt "go.etcd.io/bbolt"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/plainbuffer"
)

// version is one timestamped value of a column.
type version struct {
	ts int64 // ms
	v  plainbuffer.Value
}

// column holds a column's versions, newest first.
type column struct {
	name     string
	versions []version
}

// row is a stored row: primary key in schema order, columns sorted by name.
type row struct {
	lastSeq uint64 // seq of the last change to this row in its shard's log
	pk      []plainbuffer.Cell
	cols    []column
}

func (r *row) pkValue(name string) *plainbuffer.Value {
	for i := range r.pk {
		if r.pk[i].Name == name {
			return r.pk[i].Value
		}
	}
	return nil
}

func (r *row) column(name string) *column {
	i := sort.Search(len(r.cols), func(i int) bool { return r.cols[i].name >= name })
	if i < len(r.cols) && r.cols[i].name == name {
		return &r.cols[i]
	}
	return nil
}

func (r *row) columnForWrite(name string) *column {
	i := sort.Search(len(r.cols), func(i int) bool { return r.cols[i].name >= name })
	if i < len(r.cols) && r.cols[i].name == name {
		return &r.cols[i]
	}
	r.cols = append(r.cols, column{})
	copy(r.cols[i+1:], r.cols[i:])
	r.cols[i] = column{name: name}
	return &r.cols[i]
}

func (r *row) deleteColumn(name string) {
	i := sort.Search(len(r.cols), func(i int) bool { return r.cols[i].name >= name })
	if i < len(r.cols) && r.cols[i].name == name {
		r.cols = append(r.cols[:i], r.cols[i+1:]...)
	}
}

// putVersion inserts or replaces the version with timestamp ts.
func (c *column) putVersion(ts int64, v plainbuffer.Value) {
	i := sort.Search(len(c.versions), func(i int) bool { return c.versions[i].ts <= ts })
	if i < len(c.versions) && c.versions[i].ts == ts {
		c.versions[i].v = v
		return
	}
	c.versions = append(c.versions, version{})
	copy(c.versions[i+1:], c.versions[i:])
	c.versions[i] = version{ts: ts, v: v}
}

func (c *column) deleteVersion(ts int64) {
	for i := range c.versions {
		if c.versions[i].ts == ts {
			c.versions = append(c.versions[:i], c.versions[i+1:]...)
			return
		}
	}
}

// toPlain converts the row to a plainbuffer row (one cell per version).
func (r *row) toPlain() plainbuffer.Row {
	out := plainbuffer.Row{PrimaryKey: r.pk}
	for _, c := range r.cols {
		for _, v := range c.versions {
			val := v.v
			out.Cells = append(out.Cells, plainbuffer.Cell{Name: c.name, Value: &val, HasTimestamp: true, Timestamp: v.ts})
		}
	}
	return out
}

func encodeRow(r *row) []byte {
	pr := r.toPlain()
	return encodePlainRow(r.lastSeq, &pr)
}

// encodePlainRow is encodeRow of a row already converted by toPlain.
func encodePlainRow(lastSeq uint64, pr *plainbuffer.Row) []byte {
	buf := binary.BigEndian.AppendUint64(make([]byte, 0, 12+plainbuffer.RowSize(pr)), lastSeq)
	return plainbuffer.AppendRow(plainbuffer.AppendHeader(buf), pr)
}

func decodeRow(b []byte) (*row, error) {
	if len(b) < 8 {
		return nil, errors.New("storage: corrupt row record")
	}
	pr, err := plainbuffer.DecodeRow(b[8:])
	if err != nil {
		return nil, fmt.Errorf("storage: corrupt row record: %w", err)
	}
	r := &row{lastSeq: binary.BigEndian.Uint64(b), pk: pr.PrimaryKey}
	for _, c := range pr.Cells {
		if n := len(r.cols); n == 0 || r.cols[n-1].name != c.Name {
			r.cols = append(r.cols, column{name: c.Name})
		}
		last := &r.cols[len(r.cols)-1]
		last.versions = append(last.versions, version{ts: c.Timestamp, v: *c.Value})
	}
	return r, nil
}

// validatePK checks a primary key against the schema. With allowInf, range
// bounds (INF_MIN/INF_MAX) are accepted; with allowAuto, AUTO_INCREMENT
// placeholders are accepted in auto-increment columns.
func validatePK(meta *TableMeta, pk []plainbuffer.Cell, allowInf, allowAuto bool) error {
	if len(pk) != len(meta.PrimaryKey) {
		return fmt.Errorf("%w: Validate PK size fail. Input: %d, Meta: %d.", ErrInvalidPK, len(pk), len(meta.PrimaryKey)) //nolint:staticcheck // the real service's message, verbatim
	}
	for i, col := range meta.PrimaryKey {
		c := pk[i]
		if c.Name != col.Name {
			return fmt.Errorf("%w: Validate PK name fail. Input: %s, Meta: %s.", ErrInvalidPK, c.Name, col.Name) //nolint:staticcheck // the real service's message, verbatim
		}
		if c.Value == nil {
			return fmt.Errorf("%w: primary-key column %q has no value", ErrInvalidPK, col.Name)
		}
		t := c.Value.Type
		switch {
		case allowInf && (t == plainbuffer.TypeInfMin || t == plainbuffer.TypeInfMax):
		case t == plainbuffer.TypeAutoIncrement:
			if !allowAuto || !col.AutoIncrement {
				return fmt.Errorf("%w: primary-key column %q is not auto-increment", ErrInvalidPK, col.Name)
			}
		case col.Type == PKInteger && t == plainbuffer.TypeInteger,
			col.Type == PKString && t == plainbuffer.TypeString,
			col.Type == PKBinary && t == plainbuffer.TypeBlob:
		default:
			// The real message (aliyun-tablestore-java-sdk
			// functiontest/DataOperationTest.java:189-200).
			return fmt.Errorf("%w: Validate PK type fail. Input: %s, Meta: %s.", ErrInvalidPK, vtName(t), vtName(pkValueType[col.Type])) //nolint:staticcheck // the real service's message, verbatim
		}
	}
	return nil
}

var pkValueType = map[PKType]plainbuffer.ValueType{PKInteger: plainbuffer.TypeInteger, PKString: plainbuffer.TypeString, PKBinary: plainbuffer.TypeBlob}

// vtName names a value type as the service's messages do (VT_INTEGER, ...).
func vtName(t plainbuffer.ValueType) string {
	if t == plainbuffer.TypeBlob {
		return "VT_BLOB"
	}
	return "VT_" + t.String()
}

// ChangeType is the kind of a row change.
type ChangeType uint8

// Change types.
const (
	ChangePut    ChangeType = 1 // PutRow: the row is replaced by the given cells
	ChangeUpdate ChangeType = 2 // UpdateRow: cells are put or deleted
	ChangeDelete ChangeType = 3 // DeleteRow
)

func (t ChangeType) String() string {
	switch t {
	case ChangePut:
		return "PUT"
	case ChangeUpdate:
		return "UPDATE"
	case ChangeDelete:
		return "DELETE"
	}
	return fmt.Sprintf("ChangeType(%d)", uint8(t))
}

// RowExistence is a write's row-existence expectation.
type RowExistence int

// Row existence expectations (values match the protocol).
const (
	RowIgnore         RowExistence = 0
	RowExpectExist    RowExistence = 1
	RowExpectNotExist RowExistence = 2
)

// Condition guards a write.
type Condition struct {
	RowExistence RowExistence
	Column       *Filter // optional column condition
}

// Mutation is one row write.
type Mutation struct {
	Table      string
	Type       ChangeType
	PrimaryKey []plainbuffer.Cell // in schema order; AUTO_INCREMENT placeholders allowed for Put
	// Cells: Put takes values with optional timestamps; Update additionally
	// takes OpDeleteAllVersions, OpDeleteOneVersion (with timestamp) and
	// OpIncrement (integer delta).
	Cells     []plainbuffer.Cell
	Condition Condition
}

// MutationResult reports one mutation's outcome.
type MutationResult struct {
	// Err is the row's error: ErrTableNotFound, ErrInvalidPK,
	// ErrInvalidArgument, ErrConditionFailed or ErrIncrementNotInt64 (wrapped
	// with a message). Other mutations of the same call are unaffected.
	Err error
	// PrimaryKey is the written primary key, auto-increment values resolved.
	PrimaryKey []plainbuffer.Cell
	// Row is the row after the write (all versions), nil after a delete.
	Row *plainbuffer.Row
	// Shard is the storage shard of the row; Partition and Seq locate the
	// change in the change log.
	Shard     int
	Partition string
	Seq       uint64
}

type tableCtx struct {
	tb    *bolt.Bucket
	meta  *TableMeta
	snaps map[string]bool // ids of the active snapshots
	err   error
}

// Write applies mutations (possibly on several tables) in one transaction.
// Each mutation is atomic; a failed one leaves no trace and does not affect
// the others. The returned error is for failures of the store itself.
//
// Concurrent calls are group-committed: while one transaction is being
// written and fsynced, new calls queue up, and the next transaction applies
// all of them at once (in arrival order), so throughput grows with
// concurrency without delaying a lone writer.
func (s *Store) Write(instance string, muts []Mutation) ([]MutationResult, error) {
	req := &writeReq{instance: instance, muts: muts, done: make(chan bool, 1)}
	s.wmu.Lock()
	s.pending = append(s.pending, req)
	if s.leading {
		s.wmu.Unlock()
		if lead := <-req.done; !lead {
			s.splitLarge(instance, muts, req.results)
			return req.results, req.err
		}
	} else {
		s.leading = true
		s.wmu.Unlock()
	}
	// This caller leads: commit everything queued, then hand over.
	s.wmu.Lock()
	group := s.pending
	s.pending = nil
	s.wmu.Unlock()
	s.commitGroup(group)
	s.wmu.Lock()
	if len(s.pending) > 0 {
		s.pending[0].done <- true
	} else {
		s.leading = false
	}
	s.wmu.Unlock()
	for _, r := range group {
		if r != req {
			r.done <- false
		}
	}
	s.splitLarge(instance, muts, req.results)
	return req.results, req.err
}

// writeReq is one queued Write call.
type writeReq struct {
	instance string
	muts     []Mutation
	results  []MutationResult
	err      error
	done     chan bool // receives true when the caller must lead the next group
}

func (s *Store) commitGroup(group []*writeReq) {
	err := s.kv.Update(func(tx *bolt.Tx) error {
		for _, r := range group {
			var err error
			if r.results, err = s.applyAll(tx, r.instance, r.muts); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		return
	}
	if len(group) > 1 {
		// One request broke the shared transaction: retry each alone so
		// the others are not failed by it.
		for _, r := range group {
			s.commitGroup([]*writeReq{r})
		}
		return
	}
	group[0].results, group[0].err = nil, fmt.Errorf("storage: write: %w", err)
}

func (s *Store) applyAll(tx *bolt.Tx, instance string, muts []Mutation) ([]MutationResult, error) {
	results := make([]MutationResult, len(muts))
	now := s.cfg.Now()
	tables := map[string]*tableCtx{}
	for i := range muts {
		m := &muts[i]
		tc := tables[m.Table]
		if tc == nil {
			tc = &tableCtx{}
			tc.tb, tc.meta, tc.err = s.tableBucket(tx, instance, m.Table)
			if tc.err == nil {
				tc.snaps, tc.err = readSnapIndex(tc.tb)
			}
			tables[m.Table] = tc
		}
		if tc.err != nil {
			if !errors.Is(tc.err, ErrTableNotFound) {
				return nil, tc.err
			}
			results[i].Err = tc.err
			continue
		}
		res, err := s.applyMutation(tx, tc, m, now.UnixMilli(), now.UnixMicro())
		if err != nil {
			if isRowError(err) {
				results[i].Err = err
				continue
			}
			return nil, err
		}
		results[i] = res
	}
	return results, nil
}

func isRowError(err error) bool {
	for _, e := range []error{ErrInvalidPK, ErrInvalidArgument, ErrConditionFailed, ErrIncrementNotInt64, ErrTableNotFound} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func (s *Store) applyMutation(tx *bolt.Tx, tc *tableCtx, m *Mutation, nowMs, nowUs int64) (MutationResult, error) {
	var res MutationResult
	meta := tc.meta
	if err := validatePK(meta, m.PrimaryKey, false, m.Type == ChangePut); err != nil {
		return res, err
	}
	if err := validateCells(meta, m); err != nil {
		return res, err
	}
	if err := checkAutoIncrementValue(meta, m); err != nil {
		return res, err
	}
	pk := make([]plainbuffer.Cell, len(m.PrimaryKey))
	copy(pk, m.PrimaryKey)
	for i := range pk {
		if pk[i].Value.Type == plainbuffer.TypeAutoIncrement {
			next := uint64(1)
			if b := tc.tb.Get([]byte(keyAutoIncrement)); len(b) == 8 {
				next = binary.BigEndian.Uint64(b) + 1
			}
			// Keep generated values increasing across restarts and close to
			// real Tablestore (which uses microsecond-like magnitudes).
			next = max(next, uint64(nowUs))
			if err := tc.tb.Put([]byte(keyAutoIncrement), uint64Key(next)); err != nil {
				return res, err
			}
			pk[i] = plainbuffer.Cell{Name: pk[i].Name, Value: plainbuffer.Int(int64(next))}
		}
	}
	for i := range pk {
		pk[i] = plainbuffer.Cell{Name: pk[i].Name, Value: pk[i].Value}
	}
	shard := shardOf(pk, meta.Shards)
	sb := tc.tb.Bucket([]byte(shardBucketName(shard)))
	if sb == nil {
		return res, fmt.Errorf("storage: table %q lacks shard bucket %d", meta.Name, shard)
	}
	rows := sb.Bucket([]byte(bucketRows))
	key := EncodeKey(pk)
	var current *row
	stored := rows.Get(key) // valid until the row is written below
	if stored != nil {
		var err error
		if current, err = decodeRow(stored); err != nil {
			return res, err
		}
		current = expireRow(current, meta, nowMs)
	}
	switch m.Condition.RowExistence {
	case RowExpectExist:
		if current == nil {
			return res, fmt.Errorf("%w: the row does not exist", ErrConditionFailed)
		}
	case RowExpectNotExist:
		if current != nil {
			return res, fmt.Errorf("%w: the row already exists", ErrConditionFailed)
		}
	}
	if m.Condition.Column != nil && !m.Condition.Column.Match(current) {
		return res, fmt.Errorf("%w: the column condition is not met", ErrConditionFailed)
	}

	// Build the new row and the change-log cells.
	var next *row
	var logCells []plainbuffer.Cell
	switch m.Type {
	case ChangePut:
		next = &row{pk: pk, cols: make([]column, 0, len(m.Cells))}
		logCells = make([]plainbuffer.Cell, 0, len(m.Cells))
		for _, c := range m.Cells {
			ts := nowMs
			if c.HasTimestamp {
				ts = c.Timestamp
			}
			next.columnForWrite(c.Name).putVersion(ts, *c.Value)
			logCells = append(logCells, plainbuffer.Cell{Name: c.Name, Value: c.Value, HasTimestamp: true, Timestamp: ts})
		}
	case ChangeUpdate:
		next = &row{pk: pk}
		if current != nil {
			next.cols = cloneColumns(current.cols)
		}
		for _, c := range m.Cells {
			switch c.Op {
			case plainbuffer.OpPut:
				ts := nowMs
				if c.HasTimestamp {
					ts = c.Timestamp
				}
				next.columnForWrite(c.Name).putVersion(ts, *c.Value)
				logCells = append(logCells, plainbuffer.Cell{Name: c.Name, Value: c.Value, HasTimestamp: true, Timestamp: ts})
			case plainbuffer.OpDeleteAllVersions:
				next.deleteColumn(c.Name)
				logCells = append(logCells, plainbuffer.Cell{Name: c.Name, Op: plainbuffer.OpDeleteAllVersions})
			case plainbuffer.OpDeleteOneVersion:
				if col := next.column(c.Name); col != nil {
					col.deleteVersion(c.Timestamp)
					if len(col.versions) == 0 {
						next.deleteColumn(c.Name)
					}
				}
				logCells = append(logCells, plainbuffer.Cell{Name: c.Name, Op: plainbuffer.OpDeleteOneVersion, HasTimestamp: true, Timestamp: c.Timestamp})
			case plainbuffer.OpIncrement:
				base := int64(0)
				if col := next.column(c.Name); col != nil && len(col.versions) > 0 {
					latest := col.versions[0].v
					if latest.Type != plainbuffer.TypeInteger {
						return res, fmt.Errorf("%w: column %q holds a %s", ErrIncrementNotInt64, c.Name, latest.Type)
					}
					base = latest.Int
				}
				v := plainbuffer.Int(base + c.Value.Int)
				next.columnForWrite(c.Name).putVersion(nowMs, *v)
				logCells = append(logCells, plainbuffer.Cell{Name: c.Name, Value: v, HasTimestamp: true, Timestamp: nowMs})
			}
		}
	case ChangeDelete:
	default:
		return res, fmt.Errorf("%w: unknown change type %d", ErrInvalidArgument, m.Type)
	}
	if next != nil {
		for i := range next.cols {
			if n := int(meta.MaxVersions); len(next.cols[i].versions) > n {
				next.cols[i].versions = next.cols[i].versions[:n]
			}
		}
		// A row whose attribute columns are all gone after an update no
		// longer exists (only a PutRow can create a primary-key-only row).
		if m.Type == ChangeUpdate && len(next.cols) == 0 && (current == nil || len(current.cols) > 0) {
			next = nil
		}
	}

	// Copy-on-write for active snapshots, then the change log, then the row.
	if err := saveSnapshotPreimages(tx, tc.snaps, shard, key, stored); err != nil {
		return res, err
	}
	part, err := meta.partitionFor(shard, key)
	if err != nil {
		return res, err
	}
	lb, err := partitionLog(tc.tb, part)
	if err != nil {
		return res, err
	}
	seq, err := s.appendChange(lb, Change{TimeMicros: nowUs, Type: m.Type, PrimaryKey: pk, Cells: logCells})
	if err != nil {
		return res, err
	}
	if next == nil {
		if err := rows.Delete(key); err != nil {
			return res, err
		}
	} else {
		next.lastSeq = seq
		pr := next.toPlain()
		if err := rows.Put(key, encodePlainRow(seq, &pr)); err != nil {
			return res, err
		}
		res.Row = &pr
	}
	res.PrimaryKey, res.Shard, res.Partition, res.Seq = pk, shard, part.ID, seq
	return res, nil
}

func cloneColumns(cols []column) []column {
	out := make([]column, len(cols))
	for i, c := range cols {
		out[i] = column{name: c.name, versions: append([]version(nil), c.versions...)}
	}
	return out
}

func validateCells(meta *TableMeta, m *Mutation) error {
	for _, c := range m.Cells {
		if c.Name == "" {
			return fmt.Errorf("%w: empty column name", ErrInvalidArgument)
		}
		for _, pk := range meta.PrimaryKey {
			if pk.Name == c.Name {
				return fmt.Errorf("%w: %q is a primary-key column and cannot be written as an attribute", ErrInvalidArgument, c.Name)
			}
		}
		switch c.Op {
		case plainbuffer.OpPut:
			if c.Value == nil {
				return fmt.Errorf("%w: column %q has no value", ErrInvalidArgument, c.Name)
			}
			switch c.Value.Type {
			case plainbuffer.TypeInteger, plainbuffer.TypeDouble, plainbuffer.TypeBoolean, plainbuffer.TypeString, plainbuffer.TypeBlob:
			default:
				return fmt.Errorf("%w: column %q has a value of type %s", ErrInvalidArgument, c.Name, c.Value.Type)
			}
			if c.HasTimestamp && c.Timestamp < 0 {
				return fmt.Errorf("%w: column %q has a negative timestamp", ErrInvalidArgument, c.Name)
			}
		case plainbuffer.OpDeleteOneVersion:
			if m.Type != ChangeUpdate || !c.HasTimestamp {
				return fmt.Errorf("%w: deleting one version of column %q needs an UpdateRow with a timestamp", ErrInvalidArgument, c.Name)
			}
		case plainbuffer.OpDeleteAllVersions:
			if m.Type != ChangeUpdate {
				return fmt.Errorf("%w: deleting column %q needs an UpdateRow", ErrInvalidArgument, c.Name)
			}
		case plainbuffer.OpIncrement:
			if m.Type != ChangeUpdate || c.Value == nil || c.Value.Type != plainbuffer.TypeInteger {
				return fmt.Errorf("%w: incrementing column %q needs an UpdateRow with an integer", ErrInvalidArgument, c.Name)
			}
		}
	}
	return nil
}

// expireRow drops versions beyond the table's TTL and max versions; a row
// whose attribute data has all expired is gone (nil).
func expireRow(r *row, meta *TableMeta, nowMs int64) *row {
	hadData := len(r.cols) > 0
	minTs := int64(-1 << 63)
	if meta.TimeToLive > 0 {
		minTs = nowMs - int64(meta.TimeToLive)*1000
	}
	// Fast path: nothing to drop (the common case), no copy.
	unchanged := true
	for _, c := range r.cols {
		if len(c.versions) == 0 || len(c.versions) > int(meta.MaxVersions) || c.versions[len(c.versions)-1].ts < minTs {
			unchanged = false
			break
		}
	}
	if unchanged {
		return r
	}
	out := &row{lastSeq: r.lastSeq, pk: r.pk}
	for _, c := range r.cols {
		var vs []version
		for _, v := range c.versions {
			if v.ts >= minTs && len(vs) < int(meta.MaxVersions) {
				vs = append(vs, v)
			}
		}
		if len(vs) > 0 {
			out.cols = append(out.cols, column{name: c.name, versions: vs})
		}
	}
	if hadData && len(out.cols) == 0 {
		return nil
	}
	return out
}

// TimeRange selects versions with Start <= ts < End (ms).
type TimeRange struct{ Start, End int64 }

// ReadOptions shape what a read returns.
type ReadOptions struct {
	Columns     []string   // attribute/pk columns to return; empty = all
	MaxVersions int32      // newest versions per column; 0 = use TimeRange only
	TimeRange   *TimeRange // optional
	Filter      *Filter    // optional row filter
	StartColumn string     // optional: columns >= StartColumn
	EndColumn   string     // optional: columns < EndColumn
	// ColumnOffset and ColumnLimit page through a row's columns (after the
	// other selections); ColumnLimit 0 = no paging.
	ColumnOffset, ColumnLimit int
}

// project applies the read options to a stored row; nil means "not returned".
func project(r *row, meta *TableMeta, opts *ReadOptions, nowMs int64) *plainbuffer.Row {
	r = expireRow(r, meta, nowMs)
	if r == nil {
		return nil
	}
	if opts.TimeRange != nil || opts.MaxVersions > 0 {
		sel := &row{lastSeq: r.lastSeq, pk: r.pk}
		for _, c := range r.cols {
			var vs []version
			for _, v := range c.versions {
				if opts.TimeRange != nil && (v.ts < opts.TimeRange.Start || v.ts >= opts.TimeRange.End) {
					continue
				}
				if opts.MaxVersions > 0 && len(vs) >= int(opts.MaxVersions) {
					break
				}
				vs = append(vs, v)
			}
			if len(vs) > 0 {
				sel.cols = append(sel.cols, column{name: c.name, versions: vs})
			}
		}
		r = sel
	}
	if opts.Filter != nil && !opts.Filter.Match(r) {
		return nil
	}
	var want map[string]bool
	wantsPK := false
	if len(opts.Columns) > 0 {
		want = make(map[string]bool, len(opts.Columns))
		for _, n := range opts.Columns {
			want[n] = true
			if r.pkValue(n) != nil {
				wantsPK = true
			}
		}
	}
	out := &row{pk: r.pk}
	for _, c := range r.cols {
		if len(want) > 0 && !want[c.name] {
			continue
		}
		if opts.StartColumn != "" && c.name < opts.StartColumn {
			continue
		}
		if opts.EndColumn != "" && c.name >= opts.EndColumn {
			continue
		}
		out.cols = append(out.cols, c)
	}
	if opts.ColumnLimit > 0 {
		first := min(opts.ColumnOffset, len(out.cols))
		out.cols = out.cols[first:min(first+opts.ColumnLimit, len(out.cols))]
	}
	if len(want) > 0 && len(out.cols) == 0 && !wantsPK {
		return nil
	}
	pr := out.toPlain()
	return &pr
}

// GetRow reads one row; it returns nil when the row does not exist (or is
// filtered out).
func (s *Store) GetRow(instance, table string, pk []plainbuffer.Cell, opts ReadOptions) (*plainbuffer.Row, error) {
	var out *plainbuffer.Row
	err := s.kv.View(func(tx *bolt.Tx) error {
		tb, meta, err := s.tableBucket(tx, instance, table)
		if err != nil {
			return err
		}
		if err := validatePK(meta, pk, false, false); err != nil {
			return err
		}
		sb := tb.Bucket([]byte(shardBucketName(shardOf(pk, meta.Shards))))
		b := sb.Bucket([]byte(bucketRows)).Get(EncodeKey(pk))
		if b == nil {
			return nil
		}
		r, err := decodeRow(b)
		if err != nil {
			return err
		}
		out = project(r, meta, &opts, s.cfg.Now().UnixMilli())
		return nil
	})
	return out, err
}

// RangeRequest describes a GetRange read.
type RangeRequest struct {
	Table    string
	Start    []plainbuffer.Cell // inclusive; INF_MIN/INF_MAX allowed
	End      []plainbuffer.Cell // exclusive
	Backward bool               // descending; then Start > End
	Limit    int                // 0 = no limit besides MaxRangeRows
	ReadOptions
}

// MaxRangeRows and MaxRangeBytes cap one GetRange page, as the real service
// does (5000 rows or about 4 MB).
const (
	MaxRangeRows  = 5000
	MaxRangeBytes = 4 << 20
)

// RangeResult is one page of a range read.
type RangeResult struct {
	Rows []plainbuffer.Row
	// NextStart is the primary key to continue from, nil when the range is done.
	NextStart []plainbuffer.Cell
}

// GetRange reads rows in primary-key order across all shards.
func (s *Store) GetRange(instance string, req RangeRequest) (*RangeResult, error) {
	res := &RangeResult{}
	err := s.kv.View(func(tx *bolt.Tx) error {
		tb, meta, err := s.tableBucket(tx, instance, req.Table)
		if err != nil {
			return err
		}
		if err := validatePK(meta, req.Start, true, false); err != nil {
			return fmt.Errorf("inclusive_start_primary_key: %w", err)
		}
		if err := validatePK(meta, req.End, true, false); err != nil {
			return fmt.Errorf("exclusive_end_primary_key: %w", err)
		}
		startKey, endKey := EncodeKey(req.Start), EncodeKey(req.End)
		c := compareKeys(startKey, endKey)
		if (!req.Backward && c > 0) || (req.Backward && c < 0) {
			return fmt.Errorf("%w: the start primary key must be %s the end primary key", ErrInvalidArgument, map[bool]string{false: "less than", true: "greater than"}[req.Backward])
		}
		limit := MaxRangeRows
		if req.Limit > 0 && req.Limit < limit {
			limit = req.Limit
		}
		nowMs := s.cfg.Now().UnixMilli()
		size := 0
		m := newShardMerger(tb, meta.Shards, startKey, endKey, req.Backward)
		for {
			k, v := m.next()
			if k == nil {
				return nil
			}
			r, err := decodeRow(v)
			if err != nil {
				return err
			}
			if len(res.Rows) >= limit || size >= MaxRangeBytes {
				res.NextStart = r.pk
				return nil
			}
			if pr := project(r, meta, &req.ReadOptions, nowMs); pr != nil {
				res.Rows = append(res.Rows, *pr)
				size += len(v)
			}
		}
	})
	return res, err
}

// shardMerger merges the shards' row cursors in key order.
type shardMerger struct {
	cursors  []*bolt.Cursor
	keys     [][]byte
	vals     [][]byte
	end      []byte
	backward bool
}

func newShardMerger(tb *bolt.Bucket, shards int, start, end []byte, backward bool) *shardMerger {
	m := &shardMerger{end: end, backward: backward}
	for i := range shards {
		sb := tb.Bucket([]byte(shardBucketName(i)))
		if sb == nil {
			continue
		}
		c := sb.Bucket([]byte(bucketRows)).Cursor()
		var k, v []byte
		if !backward {
			k, v = c.Seek(start)
		} else {
			// Largest key <= start.
			k, v = c.Seek(start)
			if k == nil {
				k, v = c.Last()
			} else if compareKeys(k, start) > 0 {
				k, v = c.Prev()
			}
		}
		m.cursors = append(m.cursors, c)
		m.keys = append(m.keys, m.clip(k))
		m.vals = append(m.vals, v)
	}
	return m
}

func (m *shardMerger) clip(k []byte) []byte {
	if k == nil {
		return nil
	}
	if !m.backward && compareKeys(k, m.end) >= 0 {
		return nil
	}
	if m.backward && compareKeys(k, m.end) <= 0 {
		return nil
	}
	return k
}

func (m *shardMerger) next() (k, v []byte) {
	best := -1
	for i, key := range m.keys {
		if key == nil {
			continue
		}
		if best < 0 {
			best = i
			continue
		}
		c := compareKeys(key, m.keys[best])
		if (!m.backward && c < 0) || (m.backward && c > 0) {
			best = i
		}
	}
	if best < 0 {
		return nil, nil
	}
	k, v = m.keys[best], m.vals[best]
	var nk, nv []byte
	if m.backward {
		nk, nv = m.cursors[best].Prev()
	} else {
		nk, nv = m.cursors[best].Next()
	}
	m.keys[best], m.vals[best] = m.clip(nk), nv
	return k, v
}
