package api

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/client"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

func TestDDLEndpoint(t *testing.T) {
	ctx := context.Background()
	runner := &recordingRunner{}
	e := newEnv(t, ordersCatalog(), runner)
	if _, err := e.client.CreateTask(ctx, manualSpec("by-day")); err != nil {
		t.Fatal(err)
	}
	flat := manualSpec("flat")
	flat.Prefix = "exports/orders"
	if _, err := e.client.CreateTask(ctx, flat); err != nil {
		t.Fatal(err)
	}
	e.waitPhase("orders", "by-day", task.PhaseFull)
	e.waitPhase("orders", "flat", task.PhaseFull)
	want := map[task.Dialect][2][]string{ // dialect → {time-partitioned must contain, flat must contain}
		task.DialectHive: {
			{"CREATE EXTERNAL TABLE IF NOT EXISTS `orders`", "`id` bigint", "PARTITIONED BY (`year` int, `month` int, `day` int)",
				"STORED AS PARQUET", "LOCATION 'oss://lake/orders/'", "MSCK REPAIR TABLE `orders`;"},
			{"`price` double", "LOCATION 'oss://lake/exports/orders/'"}},
		task.DialectSpark: {
			{"USING PARQUET", "PARTITIONED BY (`year`, `month`, `day`)", "`day` int"},
			{"USING PARQUET", "LOCATION 'oss://lake/exports/orders/'"}},
		task.DialectTrino: {
			{`"id" bigint`, "partitioned_by = ARRAY['year', 'month', 'day']", "external_location = 'oss://lake/orders/'"},
			{"external_location = 'oss://lake/exports/orders/'"}},
		task.DialectDuckDB: {
			{"read_parquet('s3://lake/orders/*/*/*/*', hive_partitioning = true", "'year': INTEGER"},
			{"read_parquet('s3://lake/exports/orders/*', hive_partitioning = false)"}},
	}
	for dialect, w := range want {
		for i, name := range []string{"by-day", "flat"} {
			got, err := e.client.GetDDL(ctx, "orders", name, dialect)
			if err != nil {
				t.Fatalf("%s %s: %v", dialect, name, err)
			}
			if got.Dialect != dialect {
				t.Errorf("dialect = %s, want %s", got.Dialect, dialect)
			}
			for _, s := range w[i] {
				if !strings.Contains(got.Statement, s) {
					t.Errorf("%s DDL of %s lacks %q:\n%s", dialect, name, s, got.Statement)
				}
			}
			if i == 1 && strings.Contains(got.Statement, "PARTITIONED") {
				t.Errorf("%s DDL of the flat task is partitioned:\n%s", dialect, got.Statement)
			}
		}
	}
	got, err := e.client.GetDDL(ctx, "orders", "flat", task.DialectDuckDB,
		client.DDLLocation("/data/copy"), client.DDLTableName("orders_lake"))
	if err != nil || !strings.Contains(got.Statement, `"orders_lake"`) || !strings.Contains(got.Statement, "'/data/copy/*'") {
		t.Fatalf("DDL options: %+v, %v", got, err)
	}
	for _, d := range []task.Dialect{"", "mysql"} {
		_, err := e.client.GetDDL(ctx, "orders", "flat", d)
		if !client.IsInvalid(err) || apiErr(t, err).Field != "dialect" {
			t.Errorf("dialect %q = %v, want 400 on dialect", d, err)
		}
	}
	if _, err := e.client.GetDDL(ctx, "orders", "nope", task.DialectHive); !client.IsNotFound(err) {
		t.Fatalf("DDL of a missing task = %v, want 404", err)
	}
	// An auto task has no columns until initialization resolves them; while
	// its sample cannot be read, it waits in INIT with an error and no DDL.
	cat := e.cat.(*memCatalog)
	cat.mu.Lock()
	cat.failSample = errors.New("sample unavailable")
	cat.mu.Unlock()
	if _, err := e.client.CreateTask(ctx, task.Spec{Name: "auto-one", Table: "events", Bucket: "lake", Prefix: "ev"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		tk, err := e.client.GetTask(ctx, "events", "auto-one")
		if err != nil {
			t.Fatal(err)
		}
		if tk.Status.ErrorCode == task.ErrSchemaResolution {
			if tk.Status.Phase != task.PhaseInit || !strings.Contains(tk.Status.ErrorDetail, "sample unavailable") {
				t.Fatalf("status while the sample fails: %+v", tk.Status)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no SchemaResolutionFailed reported: %+v", tk.Status)
		}
		time.Sleep(5 * time.Millisecond)
	}
	_, err = e.client.GetDDL(ctx, "events", "auto-one", task.DialectHive)
	if !client.IsConflict(err) || !client.IsInitializing(err) {
		t.Fatalf("DDL before columns are resolved = %v, want 409 TaskInitializing", err)
	}
	cat.mu.Lock()
	cat.failSample = nil
	cat.mu.Unlock()
	done := e.waitPhase("events", "auto-one", task.PhaseFull)
	if done.Status.ErrorCode != task.ErrNone {
		t.Fatalf("error not cleared after resolution: %+v", done.Status)
	}
	got, err = e.client.GetDDL(ctx, "events", "auto-one", task.DialectHive)
	if err != nil || !strings.Contains(got.Statement, "`device` string") || !strings.Contains(got.Statement, "`raw` binary") {
		t.Fatalf("DDL of the resolved auto task = %+v, %v", got, err)
	}
}
