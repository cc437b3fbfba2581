package task

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
)

// grownTask is ddlTask whose last column, note2, was appended an hour after
// the task began.
func grownTask(prefix string) (Task, time.Time) {
	tk := ddlTask(prefix)
	began := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	tk.Status.ResolvedColumns = AppendResolved(nil, tk.Status.ResolvedColumns[:2], began)
	tk.Status.ResolvedColumns = AppendResolved(tk.Status.ResolvedColumns,
		[]Column{{Source: "note", Name: "note", Type: TypeUTF8}, {Source: "raw", Name: "raw", Type: TypeBinary}}, began.Add(time.Hour))
	return tk, began
}

func TestAlterDDLPerDialect(t *testing.T) {
	tk, began := grownTask("orders/year=$yyyy/month=$MM")
	want := map[Dialect]string{
		DialectHive:  "ALTER TABLE `orders` ADD COLUMNS (\n  `note` string,\n  `raw` binary\n) CASCADE;\n",
		DialectSpark: "ALTER TABLE `orders` ADD COLUMNS (\n  `note` string,\n  `raw` binary\n);\n",
		DialectTrino: "ALTER TABLE \"orders\" ADD COLUMN IF NOT EXISTS \"note\" varchar;\n" +
			"ALTER TABLE \"orders\" ADD COLUMN IF NOT EXISTS \"raw\" varbinary;\n",
	}
	for d, w := range want {
		got, err := AlterDDL(tk, d, DDLOptions{}, time.Time{})
		if err != nil || got != w {
			t.Errorf("%s: %q, %v\nwant %q", d, got, err, w)
		}
	}
	// DuckDB's view is simply created again, reading objects by column name.
	duck, err := AlterDDL(tk, DialectDuckDB, DDLOptions{}, time.Time{})
	create, _ := DDL(tk, DialectDuckDB, DDLOptions{})
	if err != nil || duck != create || !strings.Contains(create, "union_by_name = true") {
		t.Errorf("duckdb: %q (create %q), %v", duck, create, err)
	}
	// Up to date since the append: nothing to alter. A flat prefix has no CASCADE.
	if got, _ := AlterDDL(tk, DialectHive, DDLOptions{}, began.Add(2*time.Hour)); got != "" {
		t.Errorf("alter after the last append: %q", got)
	}
	flat, _ := grownTask("orders")
	if got, _ := AlterDDL(flat, DialectHive, DDLOptions{TableName: "t"}, time.Time{}); strings.Contains(got, "CASCADE") || !strings.HasPrefix(got, "ALTER TABLE `t` ADD COLUMNS") {
		t.Errorf("flat hive alter: %q", got)
	}
	// One generation: no alter statement and no union_by_name.
	one := ddlTask("orders")
	if got, _ := AlterDDL(one, DialectTrino, DDLOptions{}, time.Time{}); got != "" {
		t.Errorf("single generation alter: %q", got)
	}
	if got, _ := DDL(one, DialectDuckDB, DDLOptions{}); strings.Contains(got, "union_by_name") {
		t.Errorf("single generation duckdb: %q", got)
	}
}

// oldRow and newRow are objects of two generations: before and after note
// was appended.
type oldRow struct {
	ID    int64   `parquet:"id"`
	Price float64 `parquet:"price"`
}

type newRow struct {
	ID    int64   `parquet:"id"`
	Price float64 `parquet:"price"`
	Note  *string `parquet:"note,optional"`
}

func writeGeneric[T any](t *testing.T, root, key string, rows []T) {
	t.Helper()
	path := filepath.Join(root, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[T](&buf, parquet.Compression(&parquet.Snappy))
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// DuckDB reads objects written before and after a column was appended
// through one view: the older rows have nulls in the new column.
func TestDuckDBReadsTwoColumnGenerations(t *testing.T) {
	dir := toolsDir(t)
	root := t.TempDir()
	tmpl, err := ParsePrefix("orders/year=$yyyy/month=$MM")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 1, 8, 30, 0, 0, time.UTC)
	writeGeneric(t, root, tmpl.ObjectKey(at, "orders-lake", 0, 1), []oldRow{{ID: 1, Price: 1}, {ID: 2, Price: 2}})
	note := "appended"
	writeGeneric(t, root, tmpl.ObjectKey(at.Add(time.Hour), "orders-lake", 0, 2), []newRow{{ID: 3, Price: 3, Note: &note}})
	writeGeneric(t, root, tmpl.ObjectKey(at.AddDate(0, 1, 0), "orders-lake", 1, 1), []newRow{{ID: 4, Price: 4}})

	tk := ddlTask("orders/year=$yyyy/month=$MM")
	began := at.Add(-time.Hour)
	tk.Status.ResolvedColumns = AppendResolved(nil, tk.Status.ResolvedColumns[:2], began)
	tk.Status.ResolvedColumns = AppendResolved(tk.Status.ResolvedColumns, []Column{{Source: "note", Name: "note", Type: TypeUTF8}}, at.Add(30*time.Minute))
	stmt, err := DDL(tk, DialectDuckDB, DDLOptions{Location: filepath.ToSlash(root) + "/orders"})
	if err != nil {
		t.Fatal(err)
	}
	rows := runDuckDB(t, dir, stmt, `SELECT "id", "note", "month" FROM "orders" ORDER BY "id"`)
	got := make([]string, len(rows))
	for i, r := range rows {
		got[i] = fmt.Sprint(r["id"], " ", r["note"], " ", r["month"])
	}
	want := []string{"1 <nil> 11", "2 <nil> 11", "3 appended 11", "4 <nil> 12"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("rows %v, want %v\n%s", got, want, stmt)
	}
}
