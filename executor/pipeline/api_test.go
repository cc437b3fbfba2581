package pipeline

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/api"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/catalog"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/client"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"

	"github.com/tablestore-delivery/terraform-provider-tablestore/internal/testsupport"
)

var _ api.Runner = (*Manager)(nil)

// TestThroughTheAPI drives the pipelines the way users do: roles and tasks
// through the REST API (automatic schema), a PATCH of mutable settings while
// rows flow, and a DELETE that removes the tunnel but keeps the objects.
func TestThroughTheAPI(t *testing.T) {
	dir := t.TempDir()
	c := startCloud(t, filepath.Join(dir, "cloud"))
	defer c.close()
	ex := startExecutor(t, filepath.Join(dir, "exec"), c, nil)
	defer ex.close()
	cat, err := catalog.NewTablestore(catalog.Config{Endpoint: c.otsURL, Instance: stackInstance,
		AccessKeyID: stackKeyID, AccessKeySecret: stackSecret})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := api.New(api.Config{Token: "tok", Registry: ex.reg, Catalog: cat, Runner: ex.mgr, Region: stackRegion,
		Logger: testsupport.QuietLogger("PIPELINE_TEST_LOGS"), Metrics: ex.prom, RetryInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Close() }()
	h := httptest.NewServer(srv)
	defer h.Close()
	cl, err := client.New(h.URL, "tok")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c.createBucket("lake")
	c.createTable("api")
	c.putRows("api", idRange(0, 200), e2eRow)
	role, err := cl.PutRole(ctx, task.DefaultRoleName, task.RoleInput{OSSAccessKeyID: stackKeyID, OSSAccessKeySecret: stackSecret})
	if err != nil {
		t.Fatal(err)
	}
	created, err := cl.CreateTask(ctx, task.Spec{Name: "api-lake", Table: "api", Bucket: "lake",
		Prefix: "api/dt=$yyyy-$MM-$dd", RoleARN: role.ARN, FlushIntervalSeconds: 1})
	if err != nil {
		t.Fatal(err)
	}
	if created.SyncMode != task.SyncDifferential {
		t.Fatalf("default sync mode %s", created.SyncMode)
	}
	c.putRows("api", idRange(200, 300), e2eRow)
	testsupport.WaitFor(t, 60*time.Second, "delivery through the API", func() string {
		got, err := cl.GetTask(ctx, "api", "api-lake")
		if err != nil {
			return err.Error()
		}
		if got.Status.RowsDelivered != 300 || got.Status.Phase != task.PhaseIncr {
			return fmt.Sprintf("%+v", got.Status)
		}
		return ""
	})
	// A PATCH restarts the pipeline with the new settings: nothing is lost
	// or doubled across the restart.
	flush := 2
	if _, err := cl.UpdateTask(ctx, "api", "api-lake", task.Patch{FlushIntervalSeconds: &flush}); err != nil {
		t.Fatal(err)
	}
	c.putRows("api", idRange(300, 400), e2eRow)
	testsupport.WaitFor(t, 60*time.Second, "delivery after the PATCH", func() string {
		counts := idCounts(dataRows(t, c.objects("lake", "api/")))
		if len(counts) != 400 {
			return fmtCounts(counts, 400)
		}
		for id, n := range counts {
			if n != 1 {
				return fmt.Sprintf("id %d delivered %d times", id, n)
			}
		}
		return ""
	})
	objs := c.objects("lake", "api/")
	rows := dataRows(t, objs)
	// The automatic schema typed the columns from the data.
	for _, r := range rows {
		if _, ok := r["price"].(float64); !ok {
			t.Fatalf("auto schema: price is %T in %v", r["price"], r)
		}
		if _, ok := r["ok"].(bool); !ok {
			t.Fatalf("auto schema: ok is %T", r["ok"])
		}
	}
	if err := cl.DeleteTask(ctx, "api", "api-lake"); err != nil {
		t.Fatal(err)
	}
	if _, err := ex.mgr.client.DescribeTunnel(&tunnel.DescribeTunnelRequest{TableName: "api", TunnelName: TunnelName("api-lake")}); err == nil {
		t.Error("tunnel survives the task")
	}
	if got := len(c.objects("lake", "api/")); got != len(objs) {
		t.Errorf("objects after delete: %d, before %d", got, len(objs))
	}
}
