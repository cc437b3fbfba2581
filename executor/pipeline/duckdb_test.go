package pipeline

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// duckdbRun runs SQL statements through tools/duckdb/run.js and returns the
// rows of the last one.
func duckdbRun(t *testing.T, statements ...string) []map[string]any {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "tools", "duckdb")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@duckdb", "node-api")); err != nil {
		t.Fatalf("the DuckDB check needs tools/duckdb/node_modules: run `make tools` (npm ci --prefix tools/duckdb): %v", err)
	}
	in, err := json.Marshal(map[string]any{"statements": statements})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", filepath.Join(dir, "run.js"))
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("duckdb: %v: %s", err, stderr.String())
	}
	var res struct {
		Rows []map[string]any `json:"rows"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("duckdb output %q: %v", out, err)
	}
	return res.Rows
}

// TestDuckDBReadsDeliveredParquet checks that DuckDB reads what the encoder
// writes — every type, every encoding, every codec, nulls — with the types
// the reference maps to.
func TestDuckDBReadsDeliveredParquet(t *testing.T) {
	cols := []task.Column{
		{Source: "id", Name: "id", Type: task.TypeInt64, Encoding: task.EncodingDeltaBinaryPacked},
		{Source: "name", Name: "name", Type: task.TypeUTF8, Encoding: task.EncodingPlainDictionary},
		{Source: "note", Name: "note", Type: task.TypeUTF8, Encoding: task.EncodingDeltaByteArray},
		{Source: "tag", Name: "tag", Type: task.TypeUTF8, Encoding: task.EncodingDeltaLengthByteArray},
		{Source: "price", Name: "price", Type: task.TypeDouble},
		{Source: "ok", Name: "ok", Type: task.TypeBool},
		{Source: "blob", Name: "blob", Type: task.TypeBinary},
	}
	dir := t.TempDir()
	const perFile = 300
	codecs := []task.Compression{task.CompressionNone, task.CompressionSnappy, task.CompressionGzip, task.CompressionZstd}
	for i, codec := range codecs {
		enc, err := NewEncoder(cols, codec)
		if err != nil {
			t.Fatal(err)
		}
		var rows []Row
		for j := 0; j < perFile; j++ {
			id := int64(i*perFile + j)
			r := Row{Values: []any{id, fmt.Sprintf("n%d", id%7), fmt.Sprintf("note-%d", id), "t", float64(id) / 4, id%2 == 0, []byte{byte(id)}}}
			if id%10 == 3 {
				r.Values[1], r.Values[4], r.Values[5], r.Values[6] = nil, nil, nil, nil
			}
			rows = append(rows, r)
		}
		data, err := enc.Encode(rows)
		if err != nil {
			t.Fatal(err)
		}
		// Named like delivered objects: no extension.
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("t_0_p__%d", i+1)), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	glob := filepath.Join(dir, "t_0_p__*")
	types := duckdbRun(t, fmt.Sprintf("DESCRIBE SELECT * FROM read_parquet('%s')", glob))
	want := map[string]string{"id": "BIGINT", "name": "VARCHAR", "note": "VARCHAR", "tag": "VARCHAR",
		"price": "DOUBLE", "ok": "BOOLEAN", "blob": "BLOB"}
	order := []string{"id", "name", "note", "tag", "price", "ok", "blob"}
	if len(types) != len(order) {
		t.Fatalf("DuckDB sees columns %v", types)
	}
	for i, row := range types {
		if row["column_name"] != order[i] || row["column_type"] != want[order[i]] {
			t.Errorf("column %d: %v, want %s %s", i, row, order[i], want[order[i]])
		}
	}
	agg := duckdbRun(t, fmt.Sprintf(`SELECT count(*) AS n, count(DISTINCT id) AS ids, sum(id)::VARCHAR AS s,
		count(price) AS prices, count(name) AS names, sum(CASE WHEN ok THEN 1 ELSE 0 END)::VARCHAR AS oks,
		max(note) AS maxnote, min(octet_length(blob)) AS minblob FROM read_parquet('%s')`, glob))
	total := len(codecs) * perFile
	nulls := total / 10
	wantSum := fmt.Sprint(total * (total - 1) / 2)
	got := agg[0]
	if fmt.Sprint(got["n"]) != fmt.Sprint(total) || fmt.Sprint(got["ids"]) != fmt.Sprint(total) || got["s"] != wantSum ||
		fmt.Sprint(got["prices"]) != fmt.Sprint(total-nulls) || fmt.Sprint(got["names"]) != fmt.Sprint(total-nulls) {
		t.Errorf("DuckDB aggregate %v; want n=%d sum=%s non-null=%d", got, total, wantSum, total-nulls)
	}
	var oks int
	for id := 0; id < total; id++ {
		if id%2 == 0 && id%10 != 3 {
			oks++
		}
	}
	if got["oks"] != fmt.Sprint(oks) || got["maxnote"] != "note-999" || fmt.Sprint(got["minblob"]) != "1" {
		t.Errorf("DuckDB aggregate %v; want oks=%d maxnote=note-999 minblob=1", got, oks)
	}
}
