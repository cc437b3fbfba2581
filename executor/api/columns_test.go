package api

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/catalog"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/client"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// withoutAddedAt checks every resolved column carries the time it was added
// and returns the columns without it, for comparing with specs.
func withoutAddedAt(t testing.TB, cols []task.Column) []task.Column {
	t.Helper()
	out := make([]task.Column, len(cols))
	for i, c := range cols {
		if c.AddedAt == nil || c.AddedAt.IsZero() {
			t.Errorf("resolved column %d (%s) has no added_at", i, c.Name)
		}
		c.AddedAt = nil
		out[i] = c
	}
	return out
}

func patchJSON(t *testing.T, e *env, path, body string) (int, errorBody, task.Task) {
	t.Helper()
	resp := e.do(http.MethodPatch, path, testToken, strings.NewReader(body))
	defer resp.Body.Close()
	var eb errorBody
	var tk task.Task
	if resp.StatusCode == http.StatusOK {
		_ = json.NewDecoder(resp.Body).Decode(&tk)
	} else {
		_ = json.NewDecoder(resp.Body).Decode(&eb)
	}
	return resp.StatusCode, eb, tk
}

func TestPatchAppendsColumns(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, ordersCatalog(), nil)
	created, err := e.client.CreateTask(ctx, manualSpec("grow"))
	if err != nil {
		t.Fatal(err)
	}
	e.waitPhase("orders", "grow", task.PhaseFull)
	before := time.Now()
	appended := append(slices.Clone(created.Columns), task.Column{Source: "note", Type: task.TypeUTF8})
	got, err := e.client.UpdateTask(ctx, "orders", "grow", task.Patch{Columns: appended})
	if err != nil {
		t.Fatalf("append a column: %v", err)
	}
	want := append(slices.Clone(created.Columns), task.Column{Source: "note", Name: "note", Type: task.TypeUTF8, Encoding: task.EncodingPlain})
	if !slices.Equal(got.Columns, want) {
		t.Fatalf("columns = %+v, want %+v", got.Columns, want)
	}
	if !slices.Equal(withoutAddedAt(t, got.Status.ResolvedColumns), want) {
		t.Fatalf("resolved_columns = %+v, want %+v", got.Status.ResolvedColumns, want)
	}
	first, added := got.Status.ResolvedColumns[0].AddedAt, got.Status.ResolvedColumns[2].AddedAt
	if !first.Equal(created.CreatedAt) || added.Before(before.Add(-time.Second)) || !added.After(*first) {
		t.Errorf("added_at: first column %v (created %v), appended column %v (patched after %v)", first, created.CreatedAt, added, before)
	}
	e.runner.mu.Lock()
	updates := slices.Clone(e.runner.updated)
	e.runner.mu.Unlock()
	if len(updates) != 1 || len(updates[0].Status.ResolvedColumns) != 3 {
		t.Fatalf("runner updates = %d, want 1 with 3 resolved columns", len(updates))
	}

	// The same list again (what a client sending whole specs does) is no change.
	if _, err := e.client.UpdateTask(ctx, "orders", "grow", task.Patch{Columns: want}); err != nil {
		t.Fatal(err)
	}
	e.runner.mu.Lock()
	if n := len(e.runner.updated); n != 1 {
		t.Errorf("an unchanged column list restarted the pipeline (%d updates)", n)
	}
	e.runner.mu.Unlock()

	// Everything but an append is refused, naming columns and the rule.
	three := `{"source":"id","name":"id","type":"INT64"},{"source":"price","name":"price","type":"DOUBLE"},{"source":"note","name":"note","type":"UTF8"}`
	refused := map[string]string{
		"remove":  `[{"source":"id","name":"id","type":"INT64"},{"source":"price","name":"price","type":"DOUBLE"}]`,
		"reorder": `[{"source":"price","name":"price","type":"DOUBLE"},{"source":"id","name":"id","type":"INT64"},{"source":"note","name":"note","type":"UTF8"}]`,
		"rename":  `[{"source":"id","name":"key","type":"INT64"},{"source":"price","name":"price","type":"DOUBLE"},{"source":"note","name":"note","type":"UTF8"}]`,
		"retype":  `[{"source":"id","name":"id","type":"INT64"},{"source":"price","name":"price","type":"DOUBLE"},{"source":"note","name":"note","type":"BINARY"}]`,
		"re-encode": `[{"source":"id","name":"id","type":"INT64","encoding":"DELTA_BINARY_PACKED"},{"source":"price","name":"price","type":"DOUBLE"},` +
			`{"source":"note","name":"note","type":"UTF8"}]`,
		"insert in front": `[{"source":"x","type":"UTF8"},` + three + `]`,
		"null":            `null`,
	}
	for what, cols := range refused {
		status, eb, _ := patchJSON(t, e, "/v1/tasks/orders/grow", `{"columns":`+cols+`}`)
		if status != http.StatusBadRequest || eb.Error.Code != task.CodeImmutableField || eb.Error.Field != "columns" ||
			!strings.Contains(eb.Error.Message, "appended at the end") {
			t.Errorf("%s: %d %+v, want 400 ImmutableField on columns saying they may only be appended", what, status, eb.Error)
		}
	}
	// An appended column still meets the column rules.
	for body, field := range map[string]string{
		`{"columns":[` + three + `,{"source":"other","name":"NOTE","type":"UTF8"}]}`: "columns[3].name",
		`{"columns":[` + three + `,{"source":"price","name":"p2","type":"UTF8"}]}`:   "columns[3].type",
		`{"columns":[` + three + `,{"source":"b","type":"BOOL","encoding":"RLE"}]}`:  "columns[3].encoding",
	} {
		status, eb, _ := patchJSON(t, e, "/v1/tasks/orders/grow", body)
		if status != http.StatusBadRequest || eb.Error.Field != field {
			t.Errorf("PATCH %s = %d %+v, want 400 on %s", body, status, eb.Error, field)
		}
	}
	stored, _ := e.client.GetTask(ctx, "orders", "grow")
	if len(stored.Columns) != 3 || len(stored.Status.ResolvedColumns) != 3 {
		t.Fatalf("a refused PATCH changed the task: %d columns, %d resolved", len(stored.Columns), len(stored.Status.ResolvedColumns))
	}

	// The DDL endpoint brings lake tables created before the append up to date.
	ddl, err := e.client.GetDDL(ctx, "orders", "grow", task.DialectHive)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ddl.Statement, "`note` string") ||
		ddl.AlterStatement != "ALTER TABLE `orders` ADD COLUMNS (\n  `note` string\n) CASCADE;\n" {
		t.Errorf("hive DDL after the append: %q / %q", ddl.Statement, ddl.AlterStatement)
	}
	later, err := e.client.GetDDL(ctx, "orders", "grow", task.DialectTrino, client.DDLSince(time.Now().Add(time.Minute)))
	if err != nil || later.AlterStatement != "" || later.Statement == "" {
		t.Errorf("DDL since after the append: %+v, %v", later, err)
	}
	// A lake table older than the task lacks every column.
	earlier, err := e.client.GetDDL(ctx, "orders", "grow", task.DialectTrino, client.DDLSince(created.CreatedAt.Add(-time.Hour)))
	if err != nil || strings.Count(earlier.AlterStatement, "ADD COLUMN IF NOT EXISTS") != 3 {
		t.Errorf("trino DDL since before the task: %+v, %v", earlier, err)
	}
	resp := e.do(http.MethodGet, "/v1/tasks/orders/grow/ddl?dialect=trino&since=yesterday", testToken, nil)
	var eb errorBody
	_ = json.NewDecoder(resp.Body).Decode(&eb)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || eb.Error.Field != "since" {
		t.Errorf("DDL with a bad since: %d %+v", resp.StatusCode, eb.Error)
	}
}

func TestPatchColumnsOfAutoSchemaIsRefused(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, ordersCatalog(), nil)
	if _, err := e.client.CreateTask(ctx, task.Spec{Name: "auto-evt", Table: "events", Bucket: "lake", Prefix: "events"}); err != nil {
		t.Fatal(err)
	}
	e.waitPhase("events", "auto-evt", task.PhaseFull)
	status, eb, _ := patchJSON(t, e, "/v1/tasks/events/auto-evt", `{"columns":[{"source":"kind","type":"UTF8"}]}`)
	if status != http.StatusBadRequest || eb.Error.Field != "columns" || eb.Error.Code != task.CodeImmutableField ||
		!strings.Contains(eb.Error.Message, "schema_mode manual") {
		t.Fatalf("PATCH columns of an auto task = %d %+v", status, eb.Error)
	}
}

// A defined column added to the table (AddDefinedColumn) joins an auto
// task's resolved columns without a restart, and the pipeline is updated.
func TestAutoSchemaPicksUpDefinedColumns(t *testing.T) {
	ctx := context.Background()
	cat := ordersCatalog()
	e := newEnv(t, cat, nil)
	if _, err := e.client.CreateTask(ctx, task.Spec{Name: "auto-evt", Table: "events", Bucket: "lake", Prefix: "events"}); err != nil {
		t.Fatal(err)
	}
	first := e.waitPhase("events", "auto-evt", task.PhaseFull)
	n := len(first.Status.ResolvedColumns)
	events, _ := cat.DescribeTable(ctx, "events")
	events.Defined = append(events.Defined, catalog.Column{Name: "temperature", Type: task.TypeDouble},
		catalog.Column{Name: "kind", Type: task.TypeUTF8}) // already resolved: not added twice
	cat.add(events)
	deadline := time.Now().Add(5 * time.Second)
	var got *task.Task
	for time.Now().Before(deadline) {
		got, _ = e.client.GetTask(ctx, "events", "auto-evt")
		if got != nil && len(got.Status.ResolvedColumns) > n {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got == nil || len(got.Status.ResolvedColumns) != n+1 {
		t.Fatalf("resolved columns after AddDefinedColumn: %+v", got)
	}
	last := got.Status.ResolvedColumns[n]
	if last.Source != "temperature" || last.Type != task.TypeDouble || last.AddedAt == nil || !last.AddedAt.After(*first.Status.ResolvedColumns[0].AddedAt) {
		t.Fatalf("appended column %+v", last)
	}
	if !slices.Equal(withoutAddedAt(t, got.Status.ResolvedColumns[:n]), withoutAddedAt(t, first.Status.ResolvedColumns)) {
		t.Fatal("the earlier columns changed")
	}
	e.runner.mu.Lock()
	defer e.runner.mu.Unlock()
	if len(e.runner.updated) != 1 || len(e.runner.updated[0].Status.ResolvedColumns) != n+1 {
		t.Fatalf("runner updates %d, want 1 with the new column", len(e.runner.updated))
	}
}
