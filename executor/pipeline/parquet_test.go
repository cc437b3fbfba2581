package pipeline

import (
	"bytes"
	"errors"
	"io"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// readParquet decodes a file with parquet-go's reader into rows of Go values
// (nil for nulls), checking that every column is optional.
func readParquet(t testing.TB, data []byte) (names []string, rows [][]any) {
	t.Helper()
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("open parquet: %v", err)
	}
	for _, field := range f.Schema().Fields() {
		names = append(names, field.Name())
		if !field.Optional() {
			t.Errorf("column %q is not optional", field.Name())
		}
	}
	r := parquet.NewReader(f)
	defer func() { _ = r.Close() }()
	buf := make([]parquet.Row, 64)
	for {
		n, err := r.ReadRows(buf)
		for _, pr := range buf[:n] {
			row := make([]any, len(names))
			for _, v := range pr {
				if v.IsNull() {
					continue
				}
				switch v.Kind() {
				case parquet.Boolean:
					row[v.Column()] = v.Boolean()
				case parquet.Int64:
					row[v.Column()] = v.Int64()
				case parquet.Double:
					row[v.Column()] = v.Double()
				case parquet.ByteArray:
					row[v.Column()] = append([]byte(nil), v.ByteArray()...)
				default:
					t.Fatalf("unexpected kind %v", v.Kind())
				}
			}
			rows = append(rows, row)
		}
		if errors.Is(err, io.EOF) {
			return names, rows
		}
		if err != nil {
			t.Fatalf("read rows: %v", err)
		}
	}
}

func TestEncoderSchemaOrderTypesAndValues(t *testing.T) {
	cols := []task.Column{
		{Source: "z", Name: "zeta", Type: task.TypeInt64},
		{Source: "a", Name: "alpha", Type: task.TypeUTF8, Encoding: task.EncodingDeltaLengthByteArray},
		{Source: "m", Name: "mid", Type: task.TypeDouble},
		{Source: "b", Name: "bin", Type: task.TypeBinary, Encoding: task.EncodingDeltaByteArray},
		{Source: "f", Name: "flag", Type: task.TypeBool},
		{Source: "d", Name: "dict", Type: task.TypeUTF8, Encoding: task.EncodingPlainDictionary},
		{Source: "i", Name: "delta", Type: task.TypeInt64, Encoding: task.EncodingDeltaBinaryPacked},
	}
	for _, comp := range []task.Compression{task.CompressionNone, task.CompressionSnappy, task.CompressionGzip, task.CompressionZstd} {
		t.Run(string(comp), func(t *testing.T) {
			enc, err := NewEncoder(cols, comp)
			if err != nil {
				t.Fatal(err)
			}
			in := []Row{
				{Values: []any{int64(1), "héllo", 1.5, []byte{0, 1, 2}, true, "x", int64(100)}},
				{Values: []any{nil, nil, nil, nil, nil, nil, nil}},
				{Values: []any{int64(math.MinInt64), "", math.Inf(-1), []byte{}, false, "x", int64(-7)}},
			}
			data, err := enc.Encode(in)
			if err != nil {
				t.Fatal(err)
			}
			names, out := readParquet(t, data)
			want := []string{"zeta", "alpha", "mid", "bin", "flag", "dict", "delta"}
			if len(names) != len(want) {
				t.Fatalf("names %v, want %v", names, want)
			}
			for i := range want {
				if names[i] != want[i] {
					t.Fatalf("names %v, want %v (resolved order)", names, want)
				}
			}
			if len(out) != len(in) {
				t.Fatalf("read %d rows, wrote %d", len(out), len(in))
			}
			for i := range in {
				for j := range in[i].Values {
					if !equalValue(in[i].Values[j], out[i][j]) {
						t.Errorf("row %d col %d: got %#v want %#v", i, j, out[i][j], in[i].Values[j])
					}
				}
			}
			checkFileMetadata(t, data, comp)
		})
	}
}

// checkFileMetadata checks logical types, physical types, encodings and codec
// as recorded in the file's footer, which is what other readers go by.
func checkFileMetadata(t *testing.T, data []byte, comp task.Compression) {
	t.Helper()
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	md := f.Metadata()
	byName := map[string]format.SchemaElement{}
	for _, el := range md.Schema[1:] {
		byName[el.Name] = el
	}
	if el := byName["alpha"]; !isStringLogical(el) {
		t.Errorf("UTF8 column lacks the String logical type: %+v", el)
	}
	if el := byName["bin"]; isStringLogical(el) {
		t.Errorf("BINARY column must not be a string: %+v", el)
	}
	wantPhysical := map[string]format.Type{"zeta": format.Int64, "mid": format.Double, "flag": format.Boolean,
		"alpha": format.ByteArray, "bin": format.ByteArray}
	for name, want := range wantPhysical {
		if got, ok := byName[name].Type.Get(); !ok || got != want {
			t.Errorf("column %s physical type %v, want %v", name, got, want)
		}
	}
	wantCodec := map[task.Compression]format.CompressionCodec{
		task.CompressionNone: format.Uncompressed, task.CompressionSnappy: format.Snappy,
		task.CompressionGzip: format.Gzip, task.CompressionZstd: format.Zstd,
	}[comp]
	for _, rg := range md.RowGroups {
		for _, cc := range rg.Columns {
			if cc.MetaData.Codec != wantCodec {
				t.Errorf("column %v codec %v, want %v", cc.MetaData.PathInSchema, cc.MetaData.Codec, wantCodec)
			}
			name := cc.MetaData.PathInSchema[0]
			want := map[string]format.Encoding{
				"zeta": format.Plain, "mid": format.Plain, "flag": format.Plain,
				"alpha": format.DeltaLengthByteArray, "bin": format.DeltaByteArray, "delta": format.DeltaBinaryPacked,
			}
			if w, ok := want[name]; ok && !hasEncoding(cc.MetaData.Encoding, w) {
				t.Errorf("column %s encodings %v lack %v", name, cc.MetaData.Encoding, w)
			}
		}
	}
}

func isStringLogical(el format.SchemaElement) bool {
	_, ok := el.LogicalType.Value.(*format.StringType)
	return ok
}

func hasEncoding(list []format.Encoding, e format.Encoding) bool {
	for _, x := range list {
		if x == e {
			return true
		}
	}
	return false
}

func equalValue(a, b any) bool {
	switch x := a.(type) {
	case string:
		bb, ok := b.([]byte)
		return ok && string(bb) == x
	case []byte:
		bb, ok := b.([]byte)
		return ok && bytes.Equal(bb, x)
	case float64:
		y, ok := b.(float64)
		return ok && (x == y || math.IsNaN(x) && math.IsNaN(y))
	default:
		return a == b
	}
}

func TestEncoderRejectsMismatchedEncoding(t *testing.T) {
	_, err := NewEncoder([]task.Column{{Source: "a", Name: "a", Type: task.TypeUTF8, Encoding: task.EncodingDeltaBinaryPacked}}, task.CompressionNone)
	if err == nil {
		t.Fatal("DELTA_BINARY_PACKED on UTF8 accepted")
	}
	_, err = NewEncoder([]task.Column{{Source: "a", Name: "a", Type: "DATE"}}, task.CompressionNone)
	if err == nil {
		t.Fatal("unknown type accepted")
	}
}

// ColumnValues visits a column's non-null values in file order, and names a
// column the file does not have.
func TestColumnValuesVisitsTheNonNullValuesInOrder(t *testing.T) {
	enc, err := NewEncoder(blockColumns, task.CompressionSnappy)
	if err != nil {
		t.Fatal(err)
	}
	var files [][]byte
	var want []string
	for _, tag := range []string{"first", "second"} {
		rows := blockRows(40, tag)
		for _, r := range rows {
			if r[1] != nil {
				want = append(want, r[1].(string))
			}
		}
		b := enc.NewBlock()
		for _, r := range rows {
			if _, err := b.Append(r); err != nil {
				t.Fatal(err)
			}
		}
		data, err := enc.EncodeBlock(b)
		b.Release()
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, data)
	}
	var got []string
	for _, data := range files {
		f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		if err := ColumnValues(f, "name", func(v parquet.Value) { got = append(got, v.String()) }); err != nil {
			t.Fatal(err)
		}
		if err := ColumnValues(f, "missing", func(parquet.Value) {}); err == nil || !strings.Contains(err.Error(), `"missing"`) {
			t.Errorf("an unknown column: err %v, want one naming it", err)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("visited %d values %v, want %d %v", len(got), got, len(want), want)
	}
}
