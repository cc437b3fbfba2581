package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/client"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// deliveringTask prepares, in a running embedded executor, a table with rows
// rows, a bucket, a role and a differential task writing every second, and
// waits until every row is delivered. It returns the executor's API client.
func deliveringTask(t *testing.T, ready map[string]string, table, taskName string, rows int) *client.Client {
	t.Helper()
	ts := tablestore.NewClient(ready["tablestore"], "local", devAccessKeyID, devAccessKeySecret)
	meta := &tablestore.TableMeta{TableName: table}
	meta.AddPrimaryKeyColumn("id", tablestore.PrimaryKeyType_STRING)
	if _, err := ts.CreateTable(&tablestore.CreateTableRequest{
		TableMeta: meta, TableOption: &tablestore.TableOption{TimeToAlive: -1, MaxVersion: 1},
		ReservedThroughput: &tablestore.ReservedThroughput{},
	}); err != nil {
		t.Fatalf("create table: %v", err)
	}
	for start := 0; start < rows; start += 200 {
		req := &tablestore.BatchWriteRowRequest{}
		for i := start; i < min(start+200, rows); i++ {
			pk := new(tablestore.PrimaryKey)
			pk.AddPrimaryKeyColumn("id", fmt.Sprintf("row-%06d", i))
			row := &tablestore.PutRowChange{TableName: table, PrimaryKey: pk}
			row.AddColumn("price", float64(i)/10)
			row.AddColumn("quantity", int64(i%7))
			row.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
			req.AddRowChange(row)
		}
		resp, err := ts.BatchWriteRow(req)
		if err != nil {
			t.Fatalf("batch write: %v", err)
		}
		for _, r := range resp.TableToRowsResult[table] {
			if !r.IsSucceed {
				t.Fatalf("batch write row %d: %s", r.Index, r.Error.Message)
			}
		}
	}
	ossClient, err := oss.New(ready["oss"], devAccessKeyID, devAccessKeySecret)
	if err != nil {
		t.Fatal(err)
	}
	if err := ossClient.CreateBucket("lake"); err != nil && !strings.Contains(err.Error(), "BucketAlreadyExists") {
		t.Fatalf("create bucket: %v", err)
	}
	api, err := client.New(ready["api"], devAPIToken)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	role, err := api.PutRole(ctx, task.DefaultRoleName, task.RoleInput{
		OSSAccessKeyID: devAccessKeyID, OSSAccessKeySecret: devAccessKeySecret, Description: "test role",
	})
	if err != nil {
		t.Fatalf("put role: %v", err)
	}
	if _, err := api.CreateTask(ctx, task.Spec{
		Name: taskName, Table: table, Bucket: "lake", Prefix: table + "/year=$yyyy/month=$MM/day=$dd",
		SyncMode: task.SyncDifferential, RoleARN: role.ARN, FlushIntervalSeconds: 1,
	}); err != nil {
		t.Fatalf("create task: %v", err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		got, err := api.GetTask(ctx, table, taskName)
		if err != nil {
			t.Fatalf("get task: %v", err)
		}
		if got.Status.Phase == task.PhaseIncr && got.Status.RowsDelivered == int64(rows) && got.Status.CurrentSyncTimestampNs > 0 {
			return api
		}
		if time.Now().After(deadline) {
			t.Fatalf("task not fully delivered within 60 s: %+v", got.Status)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// cli runs the binary's client commands against the executor.
func cli(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = env
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return out.String(), errOut.String(), exitErr.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return out.String(), errOut.String(), 0
}

func TestCLIAgainstRunningExecutor(t *testing.T) {
	args := append([]string{"serve", "--embedded", "--data-dir", t.TempDir()}, freeAddrs()...)
	_, ready := startProcess(t, args...)
	const rows = 1500
	deliveringTask(t, ready, "orders", "orders-lake", rows)

	// Endpoint and token from the environment, as the provider reads them.
	env := []string{"TABLESTORE_DELIVERY_ENDPOINT=" + ready["api"], "TABLESTORE_DELIVERY_TOKEN=local-dev-token"}

	out, errOut, code := cli(t, env, "roles", "list")
	if code != 0 || !strings.Contains(out, task.DefaultRoleName) || !strings.Contains(out, "acs:ram::") {
		t.Fatalf("roles list: code %d\n%s%s", code, out, errOut)
	}
	if strings.Contains(out, devAccessKeySecret) {
		t.Fatalf("roles list shows the role's secret:\n%s", out)
	}

	out, errOut, code = cli(t, env, "tasks", "list")
	if code != 0 || !strings.Contains(out, "orders-lake") || !strings.Contains(out, "INCR") || !strings.Contains(out, fmt.Sprint(rows)) {
		t.Fatalf("tasks list: code %d\n%s%s", code, out, errOut)
	}

	// Flags after the positional argument, from the command line rather than the environment.
	out, errOut, code = cli(t, nil, "tasks", "describe", "orders/orders-lake", "--endpoint", ready["api"], "--token", "local-dev-token")
	for _, want := range []string{"id:", "orders/orders-lake", "phase:", "INCR", "rows delivered:", fmt.Sprint(rows), "price", "DOUBLE"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("tasks describe: code %d, output lacks %q\n%s%s", code, want, out, errOut)
		}
	}
	out, _, code = cli(t, env, "tasks", "describe", "orders", "orders-lake", "--json")
	if code != 0 || !strings.Contains(out, `"rows_delivered": 1500`) {
		t.Fatalf("tasks describe --json: code %d\n%s", code, out)
	}

	out, errOut, code = cli(t, env, "status")
	if code != 0 || !strings.Contains(out, "orders/orders-lake  phase INCR") || !strings.Contains(out, "rows 1,500") || !strings.Contains(out, "error -") {
		t.Fatalf("status: code %d\n%s%s", code, out, errOut)
	}
	if strings.Contains(out, "lag -") {
		t.Fatalf("status: a task in INCR must show its lag:\n%s", out)
	}

	_, errOut, code = cli(t, []string{"TABLESTORE_DELIVERY_ENDPOINT=" + ready["api"], "TABLESTORE_DELIVERY_TOKEN=wrong"}, "tasks", "list")
	if code != 1 || !strings.Contains(errOut, "rejected the token") {
		t.Fatalf("wrong token: code %d, stderr %q", code, errOut)
	}
	_, errOut, code = cli(t, env, "tasks", "describe", "orders/missing")
	if code != 1 || !strings.Contains(errOut, "TaskNotFound") {
		t.Fatalf("missing task: code %d, stderr %q", code, errOut)
	}
	_, errOut, code = cli(t, env, "tasks", "describe", "no-slash")
	if code != 2 || !strings.Contains(errOut, "want <table>/<name>") {
		t.Fatalf("bad task id: code %d, stderr %q", code, errOut)
	}

	out, errOut, code = cli(t, env, "tasks", "delete", "orders/orders-lake")
	if code != 0 || !strings.Contains(out, "deleted task orders/orders-lake") {
		t.Fatalf("tasks delete: code %d\n%s%s", code, out, errOut)
	}
	out, _, code = cli(t, env, "tasks", "list")
	if code != 0 || strings.TrimSpace(out) != "no tasks" {
		t.Fatalf("tasks list after delete: code %d\n%s", code, out)
	}
}

func TestStatusProgressBar(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	estimate := int64(200_000)
	tasks := []task.Task{
		{Spec: task.Spec{Name: "orders-lake", Table: "orders"}, Status: task.Status{Phase: task.PhaseFull, RowsDelivered: 50_000}},
		{Spec: task.Spec{Name: "events-lake", Table: "events"}, Status: task.Status{Phase: task.PhaseIncr, RowsDelivered: 7,
			CurrentSyncTimestampNs: now.Add(-1500 * time.Millisecond).UnixNano(), ErrorCode: task.ErrUnauthorized, ErrorDetail: task.MessageUnauthorized}},
		{Spec: task.Spec{Name: "logs-lake", Table: "logs"}, Status: task.Status{Phase: task.PhaseFull, RowsDelivered: 10}},
	}
	var b strings.Builder
	printStatus(&b, tasks, map[string]*int64{"orders/orders-lake": &estimate}, now)
	out := b.String()
	for _, want := range []string{
		"orders/orders-lake  phase FULL  lag -  error -",
		"full sync [#######.......................]  25.0%  50,000 of ~200,000 rows",
		"events/events-lake  phase INCR  lag 1.5s  error UnAuthorized: " + task.MessageUnauthorized,
		"logs/logs-lake  phase FULL",
		"full sync: 10 rows delivered (table size not estimated yet)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status output lacks %q:\n%s", want, out)
		}
	}
	if got := progressBar(300, 200, 10); got != "[##########]" {
		t.Errorf("progress past the estimate: %s, want a full bar", got)
	}
	if got := progressBar(1<<62, 1<<62+1, 30); got != "["+strings.Repeat("#", 29)+"."+"]" && got != "["+strings.Repeat("#", 30)+"]" {
		t.Errorf("progress of huge counts: %s", got)
	}
	if got := groupDigits(-1234567); got != "-1,234,567" {
		t.Errorf("groupDigits: %s", got)
	}
}
