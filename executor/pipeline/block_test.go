package pipeline

import (
	"fmt"
	"testing"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

var blockColumns = []task.Column{
	{Source: "id", Name: "id", Type: task.TypeInt64},
	{Source: "name", Name: "name", Type: task.TypeUTF8},
	{Source: "price", Name: "price", Type: task.TypeDouble},
	{Source: "blob", Name: "blob", Type: task.TypeBinary},
	{Source: "ok", Name: "ok", Type: task.TypeBool},
}

// blockRow is row i of a pattern with a null in a different column every
// few rows and byte arrays of varying length (some empty).
func blockRow(i int, tag string) []any {
	v := []any{int64(i), fmt.Sprintf("%s-%d", tag, i), float64(i) / 3, make([]byte, i%7), i%2 == 0}
	for j := range v[3].([]byte) {
		v[3].([]byte)[j] = byte(i + j)
	}
	if i%5 == 0 {
		v[i/5%len(v)] = nil
	}
	return v
}

// assertRows reads the Parquet file back and checks it holds exactly want.
func assertRows(t testing.TB, data []byte, want [][]any) {
	t.Helper()
	_, got := readParquet(t, data)
	if len(got) != len(want) {
		t.Fatalf("read %d rows, wrote %d", len(got), len(want))
	}
	for i := range want {
		for j := range want[i] {
			if !equalValue(want[i][j], got[i][j]) {
				t.Fatalf("row %d col %d: got %#v want %#v", i, j, got[i][j], want[i][j])
			}
		}
	}
}

// blockRows is rows 0..n-1 of blockRow's pattern.
func blockRows(n int, tag string) [][]any {
	rows := make([][]any, n)
	for i := range rows {
		rows[i] = blockRow(i, tag)
	}
	return rows
}

func TestRowBlockRoundTripAcrossChunksAndReuse(t *testing.T) {
	enc, err := NewEncoder(blockColumns, task.CompressionSnappy)
	if err != nil {
		t.Fatal(err)
	}
	// Two blocks one after the other: the second reuses the first's chunks
	// from the pool, so stale values would show up in it.
	for round, n := range []int{3*chunkRows + 17, chunkRows - 1} {
		tag := fmt.Sprintf("round%d", round)
		b := enc.NewBlock()
		total := 0
		for i := range n {
			size, err := b.Append(blockRow(i, tag))
			if err != nil {
				t.Fatal(err)
			}
			total += size
		}
		if b.Rows() != n || b.Bytes() != total {
			t.Fatalf("block has %d rows, %d bytes; appended %d rows, %d bytes", b.Rows(), b.Bytes(), n, total)
		}
		data, err := enc.EncodeBlock(b)
		if err != nil {
			t.Fatal(err)
		}
		b.Release()
		if b.Rows() != 0 || b.Bytes() != 0 {
			t.Errorf("released block still has %d rows, %d bytes", b.Rows(), b.Bytes())
		}
		assertRows(t, data, blockRows(n, tag))
	}
}

func TestRowBlockRefusesAWrongTypeWithoutChange(t *testing.T) {
	enc, err := NewEncoder(blockColumns, task.CompressionNone)
	if err != nil {
		t.Fatal(err)
	}
	b := enc.NewBlock()
	defer b.Release()
	if _, err := b.Append(blockRow(1, "a")); err != nil {
		t.Fatal(err)
	}
	rows, bytes := b.Rows(), b.Bytes()
	for _, bad := range [][]any{
		{int64(2), "x", 1.0, []byte{1}, "not a bool"},
		{"not an int", "x", 1.0, []byte{1}, true},
		{int64(2), []byte("bytes for a string"), 1.0, []byte{1}, true},
		{int64(2), "x"},
	} {
		if _, err := b.Append(bad); err == nil {
			t.Errorf("Append(%v) accepted", bad)
		}
	}
	if b.Rows() != rows || b.Bytes() != bytes {
		t.Errorf("refused rows changed the block: %d rows %d bytes, want %d, %d", b.Rows(), b.Bytes(), rows, bytes)
	}
	data, err := enc.EncodeBlock(b)
	if err != nil {
		t.Fatal(err)
	}
	if _, out := readParquet(t, data); len(out) != 1 || !equalValue("a-1", out[0][1]) {
		t.Errorf("block holds %v, want the one good row", out)
	}
}

func TestRowBlockStartsAChunkBeforeItsOffsetsWouldOverflow(t *testing.T) {
	defer func(limit int) { maxChunkBytes = limit }(maxChunkBytes)
	maxChunkBytes = 200 // a few rows per chunk instead of 2 GiB
	enc, err := NewEncoder(blockColumns, task.CompressionNone)
	if err != nil {
		t.Fatal(err)
	}
	b := enc.NewBlock()
	defer b.Release()
	const n = 50
	for i := range n {
		if _, err := b.Append(blockRow(i, "wide")); err != nil {
			t.Fatal(err)
		}
	}
	if len(b.chunks) < n/5 {
		t.Fatalf("%d rows went into %d chunks; the byte limit should have split them", n, len(b.chunks))
	}
	for _, c := range b.chunks {
		if c.bytes > maxChunkBytes {
			t.Errorf("a chunk holds %d bytes, over the limit %d", c.bytes, maxChunkBytes)
		}
	}
	data, err := enc.EncodeBlock(b)
	if err != nil {
		t.Fatal(err)
	}
	assertRows(t, data, blockRows(n, "wide"))
}

// FuzzRowBlockRoundTrip: whatever rows go into a block (nulls anywhere,
// empty and long byte arrays, any number of rows across chunks), the Parquet
// file EncodeBlock writes reads back as the same rows.
func FuzzRowBlockRoundTrip(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, uint16(3))
	f.Add([]byte{}, uint16(1))
	f.Add([]byte("\xff\x00\x10 a longer seed with text in it"), uint16(1500))
	enc, err := NewEncoder(blockColumns, task.CompressionSnappy)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, seed []byte, rows uint16) {
		n := int(rows%3000) + 1
		at := 0
		next := func() byte { // cycles through the seed, so any seed drives any number of rows
			if len(seed) == 0 {
				return 0
			}
			b := seed[at%len(seed)]
			at++
			return b
		}
		want := make([][]any, n)
		b := enc.NewBlock()
		defer b.Release()
		for i := range want {
			k := next()
			text := make([]byte, int(next())%40)
			for j := range text {
				text[j] = next()
			}
			row := []any{int64(k) << 40 * int64(i), string(text), float64(int8(k)) / 7, text[:len(text)/2], k%2 == 1}
			for j := range row {
				if next()%5 == 0 {
					row[j] = nil
				}
			}
			want[i] = row
			if _, err := b.Append(row); err != nil {
				t.Fatal(err)
			}
		}
		data, err := enc.EncodeBlock(b)
		if err != nil {
			t.Fatal(err)
		}
		assertRows(t, data, want)
	})
}
