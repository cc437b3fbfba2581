package pipeline

import (
	"bytes"
	"fmt"
	"reflect"
	"unsafe"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
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
		return &parquet.Snappy, nil
	case task.CompressionGzip:
		return &parquet.Gzip, nil
	case task.CompressionZstd:
		return &parquet.Zstd, nil
	}
	return nil, fmt.Errorf("pipeline: unsupported compression %q", c)
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
	schema  *parquet.Schema
	codec   compress.Codec
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
	return &Encoder{columns: columns, schema: schema, codec: codec}, nil
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

// Encode writes rows as one Parquet file and returns its bytes.
func (e *Encoder) Encode(rows []Row) ([]byte, error) {
	var buf bytes.Buffer
	w := parquet.NewWriter(&buf, e.schema,
		parquet.Compression(e.codec),
		parquet.CreatedBy("tablestore-delivery", "1", ""),
	)
	// The rows of a batch share one flat slice of values, reused from batch
	// to batch: the writer copies the values into its column buffers, so
	// nothing is allocated per row.
	const batch = 1024
	n := min(batch, len(rows))
	values := make([]parquet.Value, n*len(e.columns))
	prows := make([]parquet.Row, n)
	for start := 0; start < len(rows); start += batch {
		chunk := rows[start:min(start+batch, len(rows))]
		for i, r := range chunk {
			pr := parquet.Row(values[i*len(e.columns) : (i+1)*len(e.columns) : (i+1)*len(e.columns)])
			if err := e.parquetRow(pr, r); err != nil {
				return nil, err
			}
			prows[i] = pr
		}
		if _, err := w.WriteRows(prows[:len(chunk)]); err != nil {
			return nil, fmt.Errorf("pipeline: write parquet rows: %w", err)
		}
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("pipeline: finish parquet file: %w", err)
	}
	return buf.Bytes(), nil
}

// parquetRow lays out one row into out, which has one value per column:
// each column is a leaf at depth one, so a present value has definition
// level 1 and a null has 0.
func (e *Encoder) parquetRow(out parquet.Row, r Row) error {
	if len(r.Values) != len(e.columns) {
		return fmt.Errorf("pipeline: row has %d values for %d columns", len(r.Values), len(e.columns))
	}
	for i, v := range r.Values {
		var pv parquet.Value
		switch x := v.(type) {
		case nil:
			out[i] = parquet.NullValue().Level(0, 0, i)
			continue
		case bool:
			pv = parquet.BooleanValue(x)
		case int64:
			pv = parquet.Int64Value(x)
		case float64:
			pv = parquet.DoubleValue(x)
		case string:
			// The value points into the string instead of a copy of it:
			// the writer only reads it (it copies the bytes into its page
			// buffers), and the string outlives Encode.
			pv = parquet.ByteArrayValue(unsafe.Slice(unsafe.StringData(x), len(x)))
		case []byte:
			pv = parquet.ByteArrayValue(x)
		default:
			return fmt.Errorf("pipeline: column %q: unsupported value type %T", e.columns[i].Name, v)
		}
		out[i] = pv.Level(0, 1, i)
	}
	return nil
}

// rowSize estimates the memory a buffered row takes, for the size and memory
// thresholds.
func rowSize(r Row) int {
	size := 24 + 16*len(r.Values)
	for _, v := range r.Values {
		switch x := v.(type) {
		case string:
			size += len(x)
		case []byte:
			size += len(x)
		case nil:
		default:
			size += 8
		}
	}
	return size
}
