package tunnelrecord

import "github.com/aliyun/aliyun-tablestore-go-sdk/tunnel"

// slabs hold one batch's records and what they point to, so that a batch
// of n records costs a few allocations instead of several per cell. When a
// slab runs out, the next one is sized for the records still to come as if
// they were shaped like the current one, which in a table's batches they
// nearly always are.
type slabs struct {
	batch []byte
	// text is the batch as one string: names and string values are cut
	// from it.
	text string
	// left is how many records of the batch remain, the current one
	// included.
	left int

	records   []tunnel.Record
	keys      []tunnel.PrimaryKey
	keyCols   []tunnel.PrimaryKeyColumn
	keyPtrs   []*tunnel.PrimaryKeyColumn
	cols      []tunnel.RecordColumn
	colPtrs   []*tunnel.RecordColumn
	stamps    []int64
	sequences []tunnel.SequenceInfo
}

func newSlabs(batch []byte, records int) *slabs {
	return &slabs{
		batch:   batch,
		text:    string(batch),
		records: make([]tunnel.Record, 0, records),
		keys:    make([]tunnel.PrimaryKey, 0, records),
	}
}

// take returns n elements of *slab, with capacity n, starting a new slab of
// n × left elements when the current one lacks room.
func take[T any](slab *[]T, n, left int) []T {
	if cap(*slab)-len(*slab) < n {
		*slab = make([]T, 0, n*max(left, 1))
	}
	from := len(*slab)
	*slab = (*slab)[:from+n]
	return (*slab)[from : from+n : from+n]
}

// record builds one record from the decoder's scratch cells, copying them
// into the slabs. Empty key and column lists stay nil, as the SDK's
// decoder leaves them.
func (s *slabs) record(typ tunnel.ActionType, seq *tunnel.SequenceInfo, keys []tunnel.PrimaryKeyColumn, columns []tunnel.RecordColumn, stamps []int64) *tunnel.Record {
	rec := &take(&s.records, 1, s.left)[0]
	rec.Type = typ
	if seq != nil {
		rec.Timestamp = seq.Timestamp
		rec.SequenceInfo = seq
	}
	pk := &take(&s.keys, 1, s.left)[0]
	rec.PrimaryKey = pk
	if len(keys) > 0 {
		cols := take(&s.keyCols, len(keys), s.left)
		copy(cols, keys)
		ptrs := take(&s.keyPtrs, len(keys), s.left)
		for i := range cols {
			ptrs[i] = &cols[i]
		}
		pk.PrimaryKeys = ptrs
	}
	if len(columns) > 0 {
		cols := take(&s.cols, len(columns), s.left)
		copy(cols, columns)
		ts := take(&s.stamps, len(stamps), s.left)
		copy(ts, stamps)
		ptrs := take(&s.colPtrs, len(columns), s.left)
		for i := range cols {
			cols[i].Timestamp = &ts[i]
			ptrs[i] = &cols[i]
		}
		rec.Columns = ptrs
	}
	return rec
}

func (s *slabs) sequence(timestamp int64, rowIndex int32) *tunnel.SequenceInfo {
	seq := &take(&s.sequences, 1, s.left)[0]
	seq.Timestamp, seq.RowIndex = timestamp, rowIndex
	return seq
}
