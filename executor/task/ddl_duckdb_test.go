package task

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"
)

// duckRow is a delivered row as the pipelines write it: one Parquet column
// per resolved column, BINARY as a byte array without a logical type.
type duckRow struct {
	ID    int64   `parquet:"id"`
	Price float64 `parquet:"price"`
	Note  string  `parquet:"note"`
	OK    bool    `parquet:"ok"`
	Raw   []byte  `parquet:"raw"`
}

// toolsDir returns tools/duckdb with its node_modules, or fails saying how
// to install them.
func toolsDir(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "tools", "duckdb")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@duckdb", "node-api")); err != nil {
		t.Fatalf("DuckDB proof needs tools/duckdb/node_modules: run `make tools` (npm ci --prefix tools/duckdb): %v", err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("DuckDB proof needs Node.js (node on PATH): %v", err)
	}
	return dir
}

// runDuckDB runs statements through tools/duckdb/run.js and returns the rows
// of the last one.
func runDuckDB(t *testing.T, dir string, statements ...string) []map[string]any {
	t.Helper()
	input, _ := json.Marshal(map[string]any{"statements": statements})
	cmd := exec.Command("node", filepath.Join(dir, "run.js"))
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(input)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("duckdb: %v: %s\nstatements: %q", err, stderr.String(), statements)
	}
	var out struct {
		Rows []map[string]any `json:"rows"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("duckdb output %q: %v", stdout.String(), err)
	}
	return out.Rows
}

// writeObject writes rows as one delivered object, named and placed as the
// pipelines do: <root>/<evaluated prefix>/<task>_<cid>_<prefix_>__<seq>.
func writeObject(t *testing.T, root string, tmpl *Template, at time.Time, cid int, seq int64, rows []duckRow) {
	t.Helper()
	writeGeneric(t, root, tmpl.ObjectKey(at, "orders-lake", cid, seq), rows)
}

// The rendered DuckDB statement, run by DuckDB over objects laid out as the
// pipelines lay them out, returns the delivered rows with their partition
// columns, for time-partitioned, time-foldered and flat prefixes.
func TestDuckDBStatementReadsDeliveredObjects(t *testing.T) {
	dir := toolsDir(t)
	day1 := time.Date(2020, 8, 31, 16, 3, 0, 0, time.UTC)
	day2 := time.Date(2020, 9, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		prefix     string
		partitions []string // extra columns expected, in order
	}{
		{"orders/year=$yyyy/month=$MM/day=$dd", []string{"year", "month", "day"}},
		{"orders/dt=$yyyy-$MM-$dd/hour=$HH", []string{"dt", "hour"}},
		{"myPrefix/$yyyy/$MM/$dd", nil},
		{"orders", nil},
	} {
		t.Run(c.prefix, func(t *testing.T) {
			root := t.TempDir()
			tmpl, err := ParsePrefix(c.prefix)
			if err != nil {
				t.Fatal(err)
			}
			writeObject(t, root, tmpl, day1, 0, 1, []duckRow{
				{ID: 1, Price: 1.5, Note: "first", OK: true, Raw: []byte{0, 1}},
				{ID: 2, Price: 2.5, Note: "second", Raw: []byte("x")},
			})
			writeObject(t, root, tmpl, day1, 1, 1, []duckRow{{ID: 3, Price: 3, Note: "other writer"}})
			writeObject(t, root, tmpl, day2, 0, 2, []duckRow{{ID: 4, Price: -4, Note: "next day", OK: true}})

			tk := ddlTask(c.prefix)
			location := filepath.ToSlash(root) + "/" + tmpl.StaticPrefix()
			stmt, err := DDL(tk, DialectDuckDB, DDLOptions{Location: location})
			if err != nil {
				t.Fatal(err)
			}
			rows := runDuckDB(t, dir, stmt, `SELECT * FROM "orders" ORDER BY "id"`)
			if len(rows) != 4 {
				t.Fatalf("got %d rows, want 4:\n%s\n%v", len(rows), stmt, rows)
			}
			wantIDs := []string{"1", "2", "3", "4"}
			for i, r := range rows {
				if fmt.Sprint(r["id"]) != wantIDs[i] {
					t.Fatalf("row %d id = %v, want %s", i, r["id"], wantIDs[i])
				}
			}
			if rows[0]["note"] != "first" || rows[0]["price"] != 1.5 || rows[0]["ok"] != true || rows[3]["price"] != -4.0 {
				t.Fatalf("row values: %v", rows)
			}
			var cols []string
			for k := range rows[0] {
				cols = append(cols, k)
			}
			slices.Sort(cols)
			want := append([]string{"id", "note", "ok", "price", "raw"}, c.partitions...)
			slices.Sort(want)
			if !slices.Equal(cols, want) {
				t.Fatalf("columns %v, want %v", cols, want)
			}
			switch c.prefix {
			case "orders/year=$yyyy/month=$MM/day=$dd":
				// Integer partitions: "08" reads as 8.
				if fmt.Sprint(rows[0]["year"], rows[0]["month"], rows[0]["day"]) != "2020 8 31" ||
					fmt.Sprint(rows[3]["month"], rows[3]["day"]) != "9 1" {
					t.Fatalf("partition values: %v / %v", rows[0], rows[3])
				}
			case "orders/dt=$yyyy-$MM-$dd/hour=$HH":
				if rows[0]["dt"] != "2020-08-31" || fmt.Sprint(rows[0]["hour"]) != "16" || rows[3]["dt"] != "2020-09-01" {
					t.Fatalf("partition values: %v / %v", rows[0], rows[3])
				}
			}
		})
	}
}
