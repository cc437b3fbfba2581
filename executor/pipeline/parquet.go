package pipeline

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"

	"github.com/klauspost/compress/s2"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/compress/snappy"
	"github.com/parquet-go/parquet-go/encoding"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// physicalOf returns the optional Parquet leaf node of a destination type:
// BOOL→BOOLEAN, INT64→INT64, DOUBLE→DOUBLE, UTF8→BYTE_ARRAY with the String
// logical type, BINARY→BYTE_ARRAY without a logical type.
func physicalOf(t task.ColumnType) (parquet.Node, error) {
	switch t {
	case task.TypeBool:
		return parquet.Leaf(parquet.BooleanType), nil
	case task.TypeInt64:
		return parquet.Leaf(parquet.Int64Type), nil
	case task.TypeDouble:
		return parquet.Leaf(parquet.DoubleType), nil
	case task.TypeUTF8:
		return parquet.String(), nil
	case task.TypeBinary:
		return parquet.Leaf(parquet.ByteArrayType), nil
	}
	return nil, fmt.Errorf("pipeline: unsupported column type %q", t)
}

func encodingOf(e task.Encoding) (encoding.Encoding, error) {
	switch e {
	case "", task.EncodingPlain:
		return &parquet.Plain, nil
	case task.EncodingPlainDictionary:
		return &parquet.PlainDictionary, nil
	case task.EncodingDeltaBinaryPacked:
		return &parquet.DeltaBinaryPacked, nil
	case task.EncodingDeltaByteArray:
		return &parquet.DeltaByteArray, nil
	case task.EncodingDeltaLengthByteArray:
		return &parquet.DeltaLengthByteArray, nil
	}
	return nil, fmt.Errorf("pipeline: unsupported encoding %q", e)
}

func codecOf(c task.Compression) (compress.Codec, error) {
	switch c {
	case "", task.CompressionNone:
		return &parquet.Uncompressed, nil
	case task.CompressionSnappy:
		return &fastSnappy{}, nil
	case task.CompressionGzip:
		return &parquet.Gzip, nil
	case task.CompressionZstd:
		return &parquet.Zstd, nil
	}
	return nil, fmt.Errorf("pipeline: unsupported compression %q", c)
}

// fastSnappy is the SNAPPY codec with s2's fast Snappy encoder. parquet-go's
// own Snappy encodes with klauspost's EncodeSnappyBetter, which a full
// sync's profile showed at 8.5% of the executor's CPU; the fast encoder
// takes a fraction of that for slightly larger pages. Either way the pages
// are standard Snappy blocks, which every Parquet reader decodes (and the
// tests read back with parquet-go and DuckDB).
type fastSnappy struct {
	snappy.Codec
}

func (*fastSnappy) Encode(dst, src []byte) ([]byte, error) {
	return s2.EncodeSnappy(dst, src), nil
}

// orderedGroup is the schema's root: unlike parquet.Group, whose fields come
// out sorted by name, it keeps the resolved column order, which is the order
// the reference promises for the Parquet columns.
type orderedGroup struct {
	parquet.Group
	fields []parquet.Field
}

func (g orderedGroup) Fields() []parquet.Field { return g.fields }

type namedField struct {
	parquet.Node
	name string
}

func (f namedField) Name() string { return f.name }

func (f namedField) Value(base reflect.Value) reflect.Value {
	// Rows are written as parquet.Row values, never reflected from Go
	// structs, so there is no Go value to project.
	return reflect.Value{}
}

// Encoder writes rows of the resolved columns as a Parquet file.
type Encoder struct {
	columns []task.Column
	types   []task.ColumnType
	schema  *parquet.Schema
	codec   compress.Codec
	chunks  *chunkPool
}

// NewEncoder builds the Parquet schema for the resolved columns (all optional,
// in order, each with its encoding) and the task's compression.
func NewEncoder(columns []task.Column, compression task.Compression) (*Encoder, error) {
	codec, err := codecOf(compression)
	if err != nil {
		return nil, err
	}
	group := parquet.Group{}
	fields := make([]parquet.Field, 0, len(columns))
	for _, c := range columns {
		leaf, err := physicalOf(c.Type)
		if err != nil {
			return nil, err
		}
		enc, err := encodingOf(c.Encoding)
		if err != nil {
			return nil, err
		}
		if !encodingSupports(enc, leaf) {
			return nil, fmt.Errorf("pipeline: column %q: encoding %s does not apply to type %s", c.Name, c.Encoding, c.Type)
		}
		node := parquet.Optional(parquet.Compressed(parquet.Encoded(leaf, enc), codec))
		group[c.Name] = node
		fields = append(fields, namedField{Node: node, name: c.Name})
	}
	if len(group) != len(columns) {
		return nil, fmt.Errorf("pipeline: duplicate column names")
	}
	schema := parquet.NewSchema("tablestore", orderedGroup{Group: group, fields: fields})
	types := make([]task.ColumnType, len(columns))
	for i, c := range columns {
		types[i] = c.Type
	}
	return &Encoder{columns: columns, types: types, schema: schema, codec: codec,
		chunks: &chunkPool{columns: len(columns)}}, nil
}

func encodingSupports(enc encoding.Encoding, leaf parquet.Node) bool {
	kind := leaf.Type().Kind()
	switch enc.Encoding() {
	case parquet.DeltaBinaryPacked.Encoding():
		return kind == parquet.Int64 || kind == parquet.Int32
	case parquet.DeltaByteArray.Encoding(), parquet.DeltaLengthByteArray.Encoding():
		return kind == parquet.ByteArray
	case parquet.PlainDictionary.Encoding():
		return kind != parquet.Boolean
	}
	return true
}

// Schema returns the Parquet schema written.
func (e *Encoder) Schema() *parquet.Schema { return e.schema }

// NewBlock returns an empty block for rows of the encoder's columns.
func (e *Encoder) NewBlock() *RowBlock {
	return &RowBlock{types: e.types, pool: e.chunks}
}

// Encode writes rows as one Parquet file and returns its bytes.
func (e *Encoder) Encode(rows []Row) ([]byte, error) {
	b := e.NewBlock()
	defer b.Release()
	for _, r := range rows {
		if _, err := b.Append(r.Values); err != nil {
			return nil, err
		}
	}
	return e.EncodeBlock(b)
}

// writeBatch is how many values of a column go to parquet-go per call. The
// column writer cuts a page only between calls, so this bounds how far a
// page can exceed its target size.
const writeBatch = 256

// EncodeBlock writes the block's rows as one Parquet file and returns its
// bytes. The values go to parquet-go column by column, straight from the
// block's arrays: no row is assembled and nothing is allocated per value.
func (e *Encoder) EncodeBlock(b *RowBlock) ([]byte, error) {
	// The plain-encoded values are about the block's size (see
	// valueBytes) and compression rarely adds to it: sizing the output once
	// spares copying it at every doubling.
	return e.EncodeBlockTo(make([]byte, 0, b.bytes+64<<10), b)
}

// EncodeBlockTo is EncodeBlock writing the file over dst, in dst's storage
// while it has room (and in a larger copy past that), so that a writer can
// encode each object into the buffer of one already uploaded.
func (e *Encoder) EncodeBlockTo(dst []byte, b *RowBlock) ([]byte, error) {
	buf := bytes.NewBuffer(dst[:0])
	w := parquet.NewWriter(buf, e.schema,
		parquet.Compression(e.codec),
		parquet.CreatedBy("tablestore-delivery", "1", ""),
	)
	writers := w.ColumnWriters()
	if len(writers) != len(e.columns) {
		return nil, fmt.Errorf("pipeline: parquet writer has %d columns for %d", len(writers), len(e.columns))
	}
	values := make([]parquet.Value, writeBatch)
	for i, cw := range writers {
		null := parquet.NullValue().Level(0, 0, i)
		for _, c := range b.chunks {
			col := &c.cols[i]
			for lo := 0; lo < c.rows; lo += writeBatch {
				n := min(writeBatch, c.rows-lo)
				e.columnValues(values[:n], i, col, lo, null)
				if _, err := cw.WriteRowValues(values[:n]); err != nil {
					return nil, fmt.Errorf("pipeline: write column %q: %w", e.columns[i].Name, err)
				}
			}
		}
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("pipeline: finish parquet file: %w", err)
	}
	return buf.Bytes(), nil
}

// columnValues fills out with column i's values of the chunk's rows from
// lo on. Each column is a leaf at depth one, so a present value has
// definition level 1 and a null has 0. Byte array values point into the
// chunk: parquet-go copies them into its pages.
func (e *Encoder) columnValues(out []parquet.Value, i int, col *columnChunk, lo int, null parquet.Value) {
	present := col.present[lo : lo+len(out)]
	switch e.types[i] {
	case task.TypeUTF8, task.TypeBinary:
		start := uint32(0)
		if lo > 0 {
			start = col.ends[lo-1]
		}
		for j, end := range col.ends[lo : lo+len(out)] {
			if present[j] {
				out[j] = parquet.ByteArrayValue(col.data[start:end:end]).Level(0, 1, i)
			} else {
				out[j] = null
			}
			start = end
		}
	case task.TypeInt64:
		for j, x := range col.fixed[lo : lo+len(out)] {
			if present[j] {
				out[j] = parquet.Int64Value(int64(x)).Level(0, 1, i)
			} else {
				out[j] = null
			}
		}
	case task.TypeDouble:
		for j, x := range col.fixed[lo : lo+len(out)] {
			if present[j] {
				out[j] = parquet.DoubleValue(math.Float64frombits(x)).Level(0, 1, i)
			} else {
				out[j] = null
			}
		}
	case task.TypeBool:
		for j, x := range col.fixed[lo : lo+len(out)] {
			if present[j] {
				out[j] = parquet.BooleanValue(x != 0).Level(0, 1, i)
			} else {
				out[j] = null
			}
		}
	}
}

// ColumnValues calls visit with every non-null value of the named column of
// a Parquet file, in file order, page by page and without assembling rows:
// how the bench's verifier and the demo read one column of delivered
// objects. A value is valid only during its call (byte arrays point into a
// page).
func ColumnValues(f *parquet.File, column string, visit func(parquet.Value)) error {
	leaf, ok := f.Schema().Lookup(column)
	if !ok {
		return fmt.Errorf("pipeline: no column %q in the file", column)
	}
	var values []parquet.Value
	for _, rg := range f.RowGroups() {
		if err := pageValues(rg.ColumnChunks()[leaf.ColumnIndex].Pages(), &values, visit); err != nil {
			return fmt.Errorf("pipeline: read column %q: %w", column, err)
		}
	}
	return nil
}

// pageValues visits the non-null values of every page of one column chunk,
// reading them into *values (grown as pages need), and closes the pages.
func pageValues(pages parquet.Pages, values *[]parquet.Value, visit func(parquet.Value)) (err error) {
	defer func() {
		if cerr := pages.Close(); err == nil {
			err = cerr
		}
	}()
	for {
		page, err := pages.ReadPage()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if n := int(page.NumValues()); cap(*values) < n {
			*values = make([]parquet.Value, n)
		}
		n, err := page.Values().ReadValues((*values)[:page.NumValues()])
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		for _, v := range (*values)[:n] {
			if !v.IsNull() {
				visit(v)
			}
		}
	}
}
