package pipeline

import (
	"fmt"
	"math"
	"sync"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// chunkRows is how many rows one chunk of a RowBlock holds.
const chunkRows = 1024

// columnChunk holds one column's values for up to chunkRows rows. A value
// has no pointer of its own: numbers sit in fixed, and strings and binaries
// are copied end to end into data. The collector therefore sees a handful
// of pointer-free arrays per chunk instead of one interface, and one string
// or slice header, per value, which is what made buffered rows expensive to
// keep under a soft memory limit.
type columnChunk struct {
	present []bool
	// fixed holds INT64 values, DOUBLE values as IEEE bits and BOOL values
	// as 0 or 1; one per row, 0 for a null.
	fixed []uint64
	// data holds UTF8 and BINARY values end to end; ends has one entry per
	// row, where that row's value ends in data (a null ends where the
	// previous value did).
	data []byte
	ends []uint32
}

// rowChunk is up to chunkRows rows, column by column.
type rowChunk struct {
	rows int
	// bytes is what the chunk's rows take (see valueBytes); it keeps every
	// end offset within a uint32.
	bytes int
	cols  []columnChunk
}

// maxChunkBytes bounds a chunk's bytes so that its end offsets fit a uint32
// (and the bound an int on every platform).
var maxChunkBytes = math.MaxInt32 // a variable so that a test can lower it

func (c *rowChunk) reset() {
	c.rows, c.bytes = 0, 0
	for i := range c.cols {
		col := &c.cols[i]
		col.present, col.fixed, col.data, col.ends = col.present[:0], col.fixed[:0], col.data[:0], col.ends[:0]
	}
}

// chunkPool recycles the chunks of written blocks between the buffers of one
// task, so that a steady delivery reuses the same arrays instead of
// allocating new ones for every object.
type chunkPool struct {
	columns int
	pool    sync.Pool
}

func (p *chunkPool) get() *rowChunk {
	if c, ok := p.pool.Get().(*rowChunk); ok {
		return c
	}
	return &rowChunk{cols: make([]columnChunk, p.columns)}
}

func (p *chunkPool) put(c *rowChunk) {
	c.reset()
	p.pool.Put(c)
}

// RowBlock holds the buffered rows of one object column by column, as
// compactly as their values allow (see columnChunk). Rows are appended
// already mapped and type-checked (Mapper), and written as one Parquet file
// by Encoder.EncodeBlock.
type RowBlock struct {
	types  []task.ColumnType
	pool   *chunkPool
	chunks []*rowChunk
	rows   int
	bytes  int
}

// Rows returns the number of rows in the block.
func (b *RowBlock) Rows() int { return b.rows }

// Bytes returns the memory the block's values take: the figure the memory
// budget counts and the object size is learnt against.
func (b *RowBlock) Bytes() int { return b.bytes }

// Append copies one row into the block (values as Mapper produces them: one
// per column, nil or of the column's Go type) and returns the bytes it
// takes. A value of the wrong type is an error and leaves the block as it
// was.
func (b *RowBlock) Append(values []any) (int, error) {
	if len(values) != len(b.types) {
		return 0, fmt.Errorf("pipeline: row has %d values for %d columns", len(values), len(b.types))
	}
	size := 0
	for i, v := range values {
		n, err := valueBytes(b.types[i], v)
		if err != nil {
			return 0, fmt.Errorf("pipeline: column %d: %w", i, err)
		}
		size += n
	}
	c := b.lastChunk(size)
	for i, v := range values {
		col := &c.cols[i]
		col.present = append(col.present, v != nil)
		switch x := v.(type) {
		case nil:
			if isByteArray(b.types[i]) {
				col.ends = append(col.ends, uint32(len(col.data)))
			} else {
				col.fixed = append(col.fixed, 0)
			}
		case bool:
			var bit uint64
			if x {
				bit = 1
			}
			col.fixed = append(col.fixed, bit)
		case int64:
			col.fixed = append(col.fixed, uint64(x))
		case float64:
			col.fixed = append(col.fixed, math.Float64bits(x))
		case string:
			col.data = append(col.data, x...)
			col.ends = append(col.ends, uint32(len(col.data)))
		case []byte:
			col.data = append(col.data, x...)
			col.ends = append(col.ends, uint32(len(col.data)))
		}
	}
	c.rows++
	c.bytes += size
	b.rows++
	b.bytes += size
	return size, nil
}

// lastChunk returns the chunk the next row, of size bytes, goes into. A new
// chunk's byte arrays are sized after the previous chunk's, so that filling
// it does not grow them step by step.
func (b *RowBlock) lastChunk(size int) *rowChunk {
	if n := len(b.chunks); n > 0 && b.chunks[n-1].rows < chunkRows && b.chunks[n-1].bytes+size <= maxChunkBytes {
		return b.chunks[n-1]
	}
	c := b.pool.get()
	if n := len(b.chunks); n > 0 {
		prev := b.chunks[n-1]
		for i := range c.cols {
			if want := len(prev.cols[i].data); isByteArray(b.types[i]) && cap(c.cols[i].data) < want {
				c.cols[i].data = make([]byte, 0, want+want/8)
			}
		}
	}
	b.chunks = append(b.chunks, c)
	return c
}

// Release hands the block's chunks back for reuse; the block is empty
// afterwards. Call it once the block's object is written (or abandoned).
func (b *RowBlock) Release() {
	for _, c := range b.chunks {
		b.pool.put(c)
	}
	b.chunks, b.rows, b.bytes = nil, 0, 0
}

func isByteArray(t task.ColumnType) bool { return t == task.TypeUTF8 || t == task.TypeBinary }

// valueBytes checks a value against its column's type (checkType, as the
// mapper does) and returns what it takes in a block: the presence flag, plus
// the fixed slot or the end offset and the bytes.
func valueBytes(t task.ColumnType, v any) (int, error) {
	if v != nil {
		if err := checkType(t, v); err != nil {
			return 0, err
		}
	}
	switch x := v.(type) {
	case string:
		return 1 + 4 + len(x), nil
	case []byte:
		return 1 + 4 + len(x), nil
	}
	if isByteArray(t) {
		return 1 + 4, nil // a null
	}
	return 1 + 8, nil
}
