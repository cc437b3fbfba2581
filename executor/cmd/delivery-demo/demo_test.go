package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

// TestDemoEndToEnd runs the whole demo with a small table: build, embedded
// executor, Terraform (or OpenTofu) apply of the quickstart, full and
// incremental delivery, and the count check. CI runs the same thing as
// `make demo DEMO_ROWS=20000`.
func TestDemoEndToEnd(t *testing.T) {
	if os.Getenv("DELIVERY_LONG") == "" {
		t.Skip("long test; set DELIVERY_LONG=1")
	}
	var out, errOut strings.Builder
	code := run([]string{"--rows", "3000", "--extra-rows", "500", "--query-engine", "parquet"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("demo exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	for _, want := range []string{"OK: every source row was delivered exactly once (3,500 rows)", "CREATE EXTERNAL TABLE", "total in", "phase INCR"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestPrefixWriterStopsAtOutputs(t *testing.T) {
	var b strings.Builder
	w := &prefixWriter{w: &b, prefix: "| ", until: "Outputs:"}
	for _, chunk := range []string{"Plan: 2 to add\nApply com", "plete!\n\nOutputs:\n", "task_id = x\n"} {
		if _, err := w.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := b.String(), "| Plan: 2 to add\n| Apply complete!\n| \n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestQueryHelpers(t *testing.T) {
	if got := partitionOf("orders/year=2026/month=11/day=23/orders-lake_0_orders_year=2026_month=11_day=23__1"); got != "year=2026 month=11 day=23" {
		t.Errorf("partitionOf: %q", got)
	}
	var n int64
	for raw, want := range map[string]int64{`"22000"`: 22000, `17`: 17} {
		if err := jsonInt(json.RawMessage(raw), &n); err != nil || n != want {
			t.Errorf("jsonInt(%s) = %d, %v; want %d", raw, n, err, want)
		}
	}
	if err := jsonInt(json.RawMessage(`"x"`), &n); err == nil {
		t.Error("jsonInt of a non-number: want an error")
	}
}

// The sample rows are deterministic, so reruns write the same data.
func TestOrderRowsAreDeterministic(t *testing.T) {
	since := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a, b := orderRow(42, since, time.Hour), orderRow(42, since, time.Hour)
	if got := a.PrimaryKey.PrimaryKeys[0].Value; got != "ord-00000042" {
		t.Fatalf("order id %v", got)
	}
	if len(a.Columns) != 12 || len(a.Columns) != len(b.Columns) {
		t.Fatalf("columns: %d and %d, want 12", len(a.Columns), len(b.Columns))
	}
	for i := range a.Columns {
		if a.Columns[i].ColumnName != b.Columns[i].ColumnName || a.Columns[i].Value != b.Columns[i].Value {
			t.Fatalf("column %d differs: %v vs %v", i, a.Columns[i], b.Columns[i])
		}
	}
	if orderRow(43, since, time.Hour).Columns[0].Value == nil {
		t.Fatal("customer_id missing")
	}
}
