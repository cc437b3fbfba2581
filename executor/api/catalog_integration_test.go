package api

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/catalog"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/client"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
	"github.com/tablestore-delivery/terraform-provider-tablestore/internal/testsupport"
)

// The API over the real local Tablestore (SDK over HTTP): the table-exists
// rule and the automatic schema come from the instance itself.
func TestAPIWithLocalTablestore(t *testing.T) {
	ctx := context.Background()
	lc, err := localcloud.Start(ctx, localcloud.Config{DataDir: t.TempDir(), Credentials: map[string]string{"k": "s"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lc.Close() })
	sdk := tablestore.NewClient(lc.TablestoreURL, lc.Instance, "k", "s")
	meta := &tablestore.TableMeta{TableName: "metrics"}
	meta.AddPrimaryKeyColumn("host", tablestore.PrimaryKeyType_STRING)
	meta.AddPrimaryKeyColumn("ts", tablestore.PrimaryKeyType_INTEGER)
	meta.AddDefinedColumn("cpu", tablestore.DefinedColumn_DOUBLE)
	if _, err := sdk.CreateTable(&tablestore.CreateTableRequest{TableMeta: meta,
		TableOption: &tablestore.TableOption{TimeToAlive: -1, MaxVersion: 1}, ReservedThroughput: &tablestore.ReservedThroughput{}}); err != nil {
		t.Fatal(err)
	}
	pk := new(tablestore.PrimaryKey)
	pk.AddPrimaryKeyColumn("host", "web-1")
	pk.AddPrimaryKeyColumn("ts", int64(1))
	row := &tablestore.PutRowChange{TableName: "metrics", PrimaryKey: pk}
	row.AddColumn("cpu", 0.5)
	row.AddColumn("region", "hz")
	row.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
	if _, err := sdk.PutRow(&tablestore.PutRowRequest{PutRowChange: row}); err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.NewTablestore(catalog.Config{Endpoint: lc.TablestoreURL, Instance: lc.Instance,
		AccessKeyID: "k", AccessKeySecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, cat, nil)

	_, err = e.client.CreateTask(ctx, task.Spec{Name: "nope", Table: "absent", Bucket: "lake", Prefix: "p"})
	if !client.IsInvalid(err) || apiErr(t, err).Field != "table" {
		t.Fatalf("task on a missing table = %v, want 400 on table", err)
	}
	start := time.Now()
	if _, err := e.client.CreateTask(ctx, task.Spec{Name: "metrics-lake", Table: "metrics", Bucket: "lake",
		Prefix: "metrics/dt=$yyyy$MM$dd"}); err != nil {
		t.Fatal(err)
	}
	got := e.waitPhase("metrics", "metrics-lake", task.PhaseFull)
	t.Logf("initialization against the local Tablestore took %v", time.Since(start))
	var cols []string
	for _, c := range got.Status.ResolvedColumns {
		cols = append(cols, c.Name+":"+string(c.Type))
	}
	if want := []string{"host:UTF8", "ts:INT64", "cpu:DOUBLE", "region:UTF8"}; !slices.Equal(cols, want) {
		t.Fatalf("resolved_columns = %v, want %v", cols, want)
	}

	// A defined column added to the table joins the automatic schema, at
	// the end, within the schema refresh interval (1 s by default).
	add := &tablestore.AddDefinedColumnRequest{TableName: "metrics"}
	add.AddDefinedColumn("mem", tablestore.DefinedColumn_INTEGER)
	if _, err := sdk.AddDefinedColumn(add); err != nil {
		t.Fatal(err)
	}
	added := time.Now()
	var grown *task.Task
	testsupport.WaitFor(t, 5*time.Second, "the added column in resolved_columns", func() string {
		got, err := e.client.GetTask(ctx, "metrics", "metrics-lake")
		if err != nil {
			return err.Error()
		}
		if grown = got; len(grown.Status.ResolvedColumns) != 5 {
			return fmt.Sprintf("resolved_columns %+v", grown.Status.ResolvedColumns)
		}
		return ""
	})
	t.Logf("the added column joined the schema after %v", time.Since(added))
	if last := grown.Status.ResolvedColumns[4]; last.Name != "mem" || last.Type != task.TypeInt64 || last.AddedAt == nil ||
		last.AddedAt.Before(*grown.Status.ResolvedColumns[0].AddedAt) || time.Since(added) > 2*time.Second {
		t.Fatalf("appended column %+v (after %v)", last, time.Since(added))
	}
}
