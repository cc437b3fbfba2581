package main

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"
	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore/otsprotocol"
	"github.com/parquet-go/parquet-go"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/client"
	localots "github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// deliveryEnv is a running `serve --embedded` driven through the official
// Tablestore SDK's delivery calls, with the REST client, OSS client and
// CLI beside it to check that they see the same tasks.
type deliveryEnv struct {
	t       *testing.T
	ready   map[string]string
	ots     *tablestore.TableStoreClient
	oss     *oss.Client
	api     *client.Client
	started time.Time
}

const sdkRole = "acs:ram::" + task.DefaultAccountID + ":role/aliyunserviceroleforotsdatadelivery"

func startDeliveryEnv(t *testing.T) *deliveryEnv {
	t.Helper()
	args := append([]string{"serve", "--embedded", "--data-dir", t.TempDir()}, freeAddrs()...)
	_, ready := startProcess(t, args...)
	e := &deliveryEnv{t: t, ready: ready, started: time.Now()}
	e.ots = tablestore.NewClient(ready["tablestore"], "local", devAccessKeyID, devAccessKeySecret)
	var err error
	if e.oss, err = oss.New(ready["oss"], devAccessKeyID, devAccessKeySecret); err != nil {
		t.Fatal(err)
	}
	if e.api, err = client.New(ready["api"], devAPIToken); err != nil {
		t.Fatal(err)
	}
	if _, err := e.api.PutRole(context.Background(), task.DefaultRoleName,
		task.RoleInput{OSSAccessKeyID: devAccessKeyID, OSSAccessKeySecret: devAccessKeySecret}); err != nil {
		t.Fatal(err)
	}
	if err := e.oss.CreateBucket("lake"); err != nil {
		t.Fatal(err)
	}
	meta := &tablestore.TableMeta{TableName: "orders"}
	meta.AddPrimaryKeyColumn("id", tablestore.PrimaryKeyType_INTEGER)
	if _, err := e.ots.CreateTable(&tablestore.CreateTableRequest{TableMeta: meta,
		TableOption: &tablestore.TableOption{TimeToAlive: -1, MaxVersion: 1}, ReservedThroughput: &tablestore.ReservedThroughput{}}); err != nil {
		t.Fatal(err)
	}
	return e
}

// write puts rows [from, to) with a string, a double and an RFC 3339 event
// time of 2020-08-31 16:03 UTC.
func (e *deliveryEnv) write(from, to int64) {
	e.t.Helper()
	for start := from; start < to; start += 200 {
		req := &tablestore.BatchWriteRowRequest{}
		for id := start; id < min(start+200, to); id++ {
			pk := &tablestore.PrimaryKey{}
			pk.AddPrimaryKeyColumn("id", id)
			ch := &tablestore.PutRowChange{TableName: "orders", PrimaryKey: pk}
			ch.AddColumn("v", fmt.Sprintf("value-%d", id))
			ch.AddColumn("price", float64(id)/2)
			ch.AddColumn("ts", "2020-08-31T16:03:00Z")
			ch.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
			req.AddRowChange(ch)
		}
		if _, err := e.ots.BatchWriteRow(req); err != nil {
			e.t.Fatal(err)
		}
	}
}

func sdkConfig(prefix string, schema ...*tablestore.TaskSchema) *tablestore.OSSTaskConfig {
	return &tablestore.OSSTaskConfig{OssPrefix: prefix, OssBucket: "lake", OssEndpoint: "oss-cn-hangzhou.aliyuncs.com",
		OssRoleName: sdkRole, Schema: schema}
}

func (e *deliveryEnv) create(name string, typ tablestore.TaskType, cfg *tablestore.OSSTaskConfig) error {
	_, err := e.ots.CreateDeliveryTask(&tablestore.CreateDeliveryTaskRequest{TableName: "orders", TaskName: name, TaskType: typ, TaskConfig: cfg})
	return err
}

func (e *deliveryEnv) describe(name string) (*tablestore.DescribeDeliveryTaskResponse, error) {
	return e.ots.DescribeDeliveryTask(&tablestore.DescribeDeliveryTaskRequest{TableName: "orders", TaskName: name})
}

// waitDescribe polls DescribeDeliveryTask until ok accepts the answer.
func (e *deliveryEnv) waitDescribe(name, what string, ok func(*tablestore.DescribeDeliveryTaskResponse) bool) *tablestore.DescribeDeliveryTaskResponse {
	e.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		d, err := e.describe(name)
		if err != nil {
			e.t.Fatalf("DescribeDeliveryTask %s: %v", name, err)
		}
		if ok(d) {
			return d
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("task %s: %s never happened; last stat %+v", name, what, d.TaskSyncStat)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitRows waits until the REST API reports n rows delivered by the task.
func (e *deliveryEnv) waitRows(name string, n int64) {
	e.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		got, err := e.api.GetTask(context.Background(), "orders", name)
		if err != nil {
			e.t.Fatal(err)
		}
		if got.Status.RowsDelivered >= n {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("task %s: %d of %d rows delivered: %+v", name, got.Status.RowsDelivered, n, got.Status)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// delivered reads every object under prefix and counts the rows per id.
func (e *deliveryEnv) delivered(prefix string) (ids map[int64]int, keys []string) {
	e.t.Helper()
	bucket, err := e.oss.Bucket("lake")
	if err != nil {
		e.t.Fatal(err)
	}
	ids = map[int64]int{}
	marker := ""
	for {
		list, err := bucket.ListObjects(oss.Prefix(prefix), oss.Marker(marker))
		if err != nil {
			e.t.Fatal(err)
		}
		for _, o := range list.Objects {
			keys = append(keys, o.Key)
			rc, err := bucket.GetObject(o.Key)
			if err != nil {
				e.t.Fatal(err)
			}
			data, err := io.ReadAll(rc)
			_ = rc.Close()
			if err != nil {
				e.t.Fatal(err)
			}
			type row struct {
				ID *int64  `parquet:"id,optional"`
				V  *string `parquet:"v,optional"`
			}
			rows, err := parquet.Read[row](bytes.NewReader(data), int64(len(data)))
			if err != nil {
				e.t.Fatalf("object %s: %v", o.Key, err)
			}
			for _, r := range rows {
				if r.ID == nil || r.V == nil || *r.V != fmt.Sprintf("value-%d", *r.ID) {
					e.t.Fatalf("object %s holds an unexpected row %+v", o.Key, r)
				}
				ids[*r.ID]++
			}
		}
		if !list.IsTruncated {
			return ids, keys
		}
		marker = list.NextMarker
	}
}

// wantEachOnce fails unless ids holds exactly [from, to), each once.
func wantEachOnce(t *testing.T, what string, ids map[int64]int, from, to int64) {
	t.Helper()
	if len(ids) != int(to-from) {
		t.Fatalf("%s: %d distinct ids delivered, want %d", what, len(ids), to-from)
	}
	for id := from; id < to; id++ {
		if ids[id] != 1 {
			t.Fatalf("%s: id %d delivered %d times", what, id, ids[id])
		}
	}
}

// otsCode returns the protocol error code of err ("" if it is none).
func otsCode(err error) (code, message string) {
	var oe *tablestore.OtsError
	if errors.As(err, &oe) {
		return oe.Code, oe.Message
	}
	return "", ""
}

func wantOTSError(t *testing.T, what string, err error, code string, contains ...string) {
	t.Helper()
	got, msg := otsCode(err)
	if got != code {
		t.Fatalf("%s: error %v, want %s", what, err, code)
	}
	for _, c := range contains {
		if !strings.Contains(msg, c) {
			t.Fatalf("%s: message %q does not contain %q", what, msg, c)
		}
	}
}

func (e *deliveryEnv) setFaults(body string) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPut, e.ready["tablestore"]+"/_admin/faults", strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("PUT /_admin/faults: %d", resp.StatusCode)
	}
}

// TestDeliveryAPIThroughTheSDK drives the unmodified Go SDK's delivery calls
// against `serve --embedded` and checks that the REST API, the CLI and the
// status page see the same tasks.
func TestDeliveryAPIThroughTheSDK(t *testing.T) {
	t.Parallel() // its own process, data dir and ports
	e := startDeliveryEnv(t)
	ctx := context.Background()
	e.write(0, 500)

	t.Run("delete during INIT is refused", func(t *testing.T) {
		// Every tunnel call takes 2 s, so the task stays in INIT while
		// its pipeline creates its tunnel.
		e.setFaults(`{"rules":{"tunnel":{"latency":"2s","latency_rate":1}}}`)
		if err := e.create("slow-init", tablestore.BaseTask, sdkConfig("slow")); err != nil {
			t.Fatal(err)
		}
		_, err := e.ots.DeleteDeliveryTask(&tablestore.DeleteDeliveryTaskRequest{TableName: "orders", TaskName: "slow-init"})
		wantOTSError(t, "DeleteDeliveryTask during INIT", err, "OTSParameterInvalid", "initializing", "delete it later")
		d, err := e.describe("slow-init")
		if err != nil {
			t.Fatalf("the refused delete removed the task: %v", err)
		}
		if d.TaskSyncStat.TaskSyncPhase != tablestore.TaskInitStat {
			t.Fatalf("phase %v right after create, want INIT", d.TaskSyncStat.TaskSyncPhase)
		}
		e.setFaults(`{"rules":{}}`)
		e.waitDescribe("slow-init", "leave INIT", func(d *tablestore.DescribeDeliveryTaskResponse) bool {
			return d.TaskSyncStat.TaskSyncPhase != tablestore.TaskInitStat
		})
		if _, err := e.ots.DeleteDeliveryTask(&tablestore.DeleteDeliveryTaskRequest{TableName: "orders", TaskName: "slow-init"}); err != nil {
			t.Fatalf("DeleteDeliveryTask after INIT: %v", err)
		}
	})

	t.Run("create each task type", func(t *testing.T) {
		full := sdkConfig("orders/full",
			&tablestore.TaskSchema{ColumnName: "id", OssColumnName: "id", Type: tablestore.ParquetInt64, Encode: tablestore.EncodingDeltaBinaryPacked},
			&tablestore.TaskSchema{ColumnName: "v", OssColumnName: "v", Type: tablestore.ParquetUtf8, Encode: tablestore.EncodingPlainDictionary},
			&tablestore.TaskSchema{ColumnName: "price", OssColumnName: "amount", Type: tablestore.ParquetDouble})
		if err := e.create("full-lake", tablestore.BaseTask, full); err != nil {
			t.Fatal(err)
		}
		if err := e.create("incr-lake", tablestore.IncTask, sdkConfig("orders/incr")); err != nil {
			t.Fatal(err)
		}
		diff := sdkConfig("orders/diff/$yyyy/$MM",
			&tablestore.TaskSchema{ColumnName: "id", OssColumnName: "id", Type: tablestore.ParquetInt64},
			&tablestore.TaskSchema{ColumnName: "v", OssColumnName: "v", Type: tablestore.ParquetUtf8})
		diff.EventTimeColumn = &tablestore.EventColumn{ColumnName: "ts", TimeFormat: tablestore.EventColumnRFC3339}
		diff.OssEndpoint = "http://" + strings.TrimPrefix(e.ready["oss"], "http://") // the local OSS address names the local region
		if err := e.create("diff-lake", tablestore.BaseIncTask, diff); err != nil {
			t.Fatal(err)
		}
		// The same tasks through the REST API, with what the wire maps to.
		for name, want := range map[string]struct {
			mode   task.SyncMode
			schema task.SchemaMode
		}{"full-lake": {task.SyncFull, task.SchemaManual}, "incr-lake": {task.SyncIncremental, task.SchemaAuto},
			"diff-lake": {task.SyncDifferential, task.SchemaManual}} {
			got, err := e.api.GetTask(ctx, "orders", name)
			if err != nil {
				t.Fatalf("GET /v1/tasks/orders/%s: %v", name, err)
			}
			if got.SyncMode != want.mode || got.SchemaMode != want.schema || got.Region != "cn-hangzhou" ||
				got.Bucket != "lake" || got.RoleARN != sdkRole || got.Format != task.FormatParquet {
				t.Fatalf("task %s through REST: %+v", name, got.Spec)
			}
		}
		got, _ := e.api.GetTask(ctx, "orders", "full-lake")
		wantCols := []task.Column{{Source: "id", Name: "id", Type: task.TypeInt64, Encoding: task.EncodingDeltaBinaryPacked},
			{Source: "v", Name: "v", Type: task.TypeUTF8, Encoding: task.EncodingPlainDictionary},
			{Source: "price", Name: "amount", Type: task.TypeDouble, Encoding: task.EncodingPlain}}
		if fmt.Sprint(got.Columns) != fmt.Sprint(wantCols) {
			t.Fatalf("full-lake columns %+v, want %+v", got.Columns, wantCols)
		}
		got, _ = e.api.GetTask(ctx, "orders", "diff-lake")
		if got.EventTimeColumn == nil || *got.EventTimeColumn != (task.EventTimeColumn{Name: "ts", Format: task.TimeRFC3339}) {
			t.Fatalf("diff-lake event time column %+v", got.EventTimeColumn)
		}
		// Deliver the incremental parts within a second, through the other door.
		one := 1
		for _, name := range []string{"incr-lake", "diff-lake"} {
			if _, err := e.api.UpdateTask(ctx, "orders", name, task.Patch{FlushIntervalSeconds: &one}); err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("describe through the phases until rows are in OSS", func(t *testing.T) {
		d := e.waitDescribe("full-lake", "finish the full sync", func(d *tablestore.DescribeDeliveryTaskResponse) bool {
			return strings.HasPrefix(d.TaskSyncStat.Detail, "FINISHED")
		})
		if d.TaskType != tablestore.BaseTask || d.TaskSyncStat.TaskSyncPhase != tablestore.TaskBaseStat || d.TaskSyncStat.ErrorCode != 0 {
			t.Fatalf("finished full task: type %v, stat %+v", d.TaskType, d.TaskSyncStat)
		}
		c := d.TaskConfig
		if c.OssBucket != "lake" || c.OssPrefix != "orders/full" || c.OssEndpoint != "oss-cn-hangzhou.aliyuncs.com" ||
			c.OssRoleName != sdkRole || c.Format != tablestore.ParquetFormat || c.EventTimeColumn != nil || len(c.Schema) != 3 {
			t.Fatalf("full-lake config %+v", c)
		}
		if s := c.Schema[2]; s.ColumnName != "price" || s.OssColumnName != "amount" || s.Type != tablestore.ParquetDouble || s.Encode != tablestore.EncodingPlain {
			t.Fatalf("full-lake schema[2] %+v", s)
		}
		if s := c.Schema[0]; s.Encode != tablestore.EncodingDeltaBinaryPacked || s.Type != tablestore.ParquetInt64 {
			t.Fatalf("full-lake schema[0] %+v", s)
		}
		ids, _ := e.delivered("orders/full/")
		wantEachOnce(t, "full-lake", ids, 0, 500)

		for _, name := range []string{"incr-lake", "diff-lake"} {
			e.waitDescribe(name, "reach INCR", func(d *tablestore.DescribeDeliveryTaskResponse) bool {
				return d.TaskSyncStat.TaskSyncPhase == tablestore.TaskIncStat
			})
		}
		e.write(500, 700)
		e.waitRows("incr-lake", 200)
		e.waitRows("diff-lake", 700)
		for _, name := range []string{"incr-lake", "diff-lake"} {
			d := e.waitDescribe(name, "report a sync timestamp", func(d *tablestore.DescribeDeliveryTaskResponse) bool {
				return d.TaskSyncStat.CurrentSyncTimestamp > 0
			})
			ts := time.Unix(0, d.TaskSyncStat.CurrentSyncTimestamp)
			if ts.Before(e.started.Add(-time.Minute)) || ts.After(time.Now().Add(time.Minute)) {
				t.Fatalf("%s current_sync_timestamp %d is %v: not nanoseconds of this run", name, d.TaskSyncStat.CurrentSyncTimestamp, ts)
			}
		}
		d = e.waitDescribe("incr-lake", "INCR", func(d *tablestore.DescribeDeliveryTaskResponse) bool { return true })
		if d.TaskType != tablestore.IncTask || len(d.TaskConfig.Schema) != 0 || d.TaskConfig.OssPrefix != "orders/incr" {
			t.Fatalf("incr-lake: type %v config %+v", d.TaskType, d.TaskConfig)
		}
		ids, _ = e.delivered("orders/incr/")
		wantEachOnce(t, "incr-lake", ids, 500, 700)
		d, _ = e.describe("diff-lake")
		if d.TaskType != tablestore.BaseIncTask || d.TaskConfig.EventTimeColumn == nil ||
			*d.TaskConfig.EventTimeColumn != (tablestore.EventColumn{ColumnName: "ts", TimeFormat: tablestore.EventColumnRFC3339}) ||
			d.TaskConfig.OssEndpoint != "oss-cn-hangzhou.aliyuncs.com" {
			t.Fatalf("diff-lake: type %v config %+v", d.TaskType, d.TaskConfig)
		}
		// Partitioned by the event time column, not the write time.
		ids, keys := e.delivered("orders/diff/")
		wantEachOnce(t, "diff-lake", ids, 0, 700)
		for _, k := range keys {
			if !strings.HasPrefix(k, "orders/diff/2020/08/diff-lake_") {
				t.Fatalf("diff-lake object %s is not under the event time's folder", k)
			}
		}
	})

	t.Run("list, and the same tasks through REST, CLI and status page", func(t *testing.T) {
		list, err := e.ots.ListDeliveryTask(&tablestore.ListDeliveryTaskRequest{TableName: "orders"})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]tablestore.TaskType{}
		for _, ti := range list.Tasks {
			if ti.TableName != "orders" {
				t.Fatalf("listed task of table %q", ti.TableName)
			}
			got[ti.TaskName] = ti.TaskType
		}
		want := map[string]tablestore.TaskType{"full-lake": tablestore.BaseTask, "incr-lake": tablestore.IncTask, "diff-lake": tablestore.BaseIncTask}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("ListDeliveryTask = %v, want %v", got, want)
		}
		rest, err := e.api.ListTasks(ctx, "orders")
		if err != nil || len(rest) != 3 {
			t.Fatalf("GET /v1/tasks?table=orders: %d tasks, %v", len(rest), err)
		}
		out, err := exec.Command(binary, "tasks", "list", "--endpoint", e.ready["api"], "--token", devAPIToken).CombinedOutput()
		if err != nil {
			t.Fatalf("tasks list: %v\n%s", err, out)
		}
		resp, err := http.Get(e.ready["api"] + "/ui/status.json")
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		for name := range want {
			if !strings.Contains(string(out), name) {
				t.Fatalf("tasks list lacks %s:\n%s", name, out)
			}
			if !strings.Contains(string(page), `"`+name+`"`) {
				t.Fatalf("status page lacks %s: %s", name, page)
			}
		}
		// A task created through REST is visible to the SDK.
		if _, err := e.api.CreateTask(ctx, task.Spec{Name: "rest-made", Table: "orders", Bucket: "lake", Prefix: "rest",
			SyncMode: task.SyncFull, Columns: []task.Column{{Source: "blob", Type: task.TypeBinary}}}); err != nil {
			t.Fatal(err)
		}
		d, err := e.describe("rest-made")
		if err != nil {
			t.Fatal(err)
		}
		if d.TaskType != tablestore.BaseTask || len(d.TaskConfig.Schema) != 1 || d.TaskConfig.Schema[0].Type != tablestore.ParquetUtf8 ||
			d.TaskConfig.Schema[0].TypeExtend != "BINARY" || d.TaskConfig.OssRoleName != sdkRole {
			t.Fatalf("REST-made task through the SDK: type %v config %+v schema %+v", d.TaskType, d.TaskConfig, d.TaskConfig.Schema[0])
		}
	})

	t.Run("error states", func(t *testing.T) {
		noBucket := sdkConfig("nb")
		noBucket.OssBucket = "no-such-bucket"
		if err := e.create("no-bucket", tablestore.BaseTask, noBucket); err != nil {
			t.Fatal(err)
		}
		noRole := sdkConfig("nr")
		noRole.OssRoleName = "acs:ram::" + task.DefaultAccountID + ":role/nosuchrole"
		if err := e.create("no-role", tablestore.BaseTask, noRole); err != nil {
			t.Fatal(err)
		}
		d := e.waitDescribe("no-bucket", "report INVALID_OSS_BUCKET", func(d *tablestore.DescribeDeliveryTaskResponse) bool {
			return d.TaskSyncStat.ErrorCode == tablestore.ErrorTypeInvalidOssBucket
		})
		if d.TaskSyncStat.Detail == "" {
			t.Fatal("INVALID_OSS_BUCKET without detail")
		}
		d = e.waitDescribe("no-role", "report UNAUTHORIZED", func(d *tablestore.DescribeDeliveryTaskResponse) bool {
			return d.TaskSyncStat.ErrorCode == tablestore.ErrorTypeUnauthorized
		})
		if d.TaskSyncStat.Detail == "" {
			t.Fatal("UNAUTHORIZED without detail")
		}
		got, _ := e.api.GetTask(ctx, "orders", "no-role")
		if got.Status.ErrorCode != task.ErrUnauthorized {
			t.Fatalf("REST error code %q for the same task", got.Status.ErrorCode)
		}
	})

	t.Run("update", func(t *testing.T) {
		if _, err := e.api.PutRole(ctx, "other-role", task.RoleInput{OSSAccessKeyID: devAccessKeyID, OSSAccessKeySecret: devAccessKeySecret}); err != nil {
			t.Fatal(err)
		}
		other := "acs:ram::" + task.DefaultAccountID + ":role/other-role"
		code, msg := e.update(&otsprotocol.UpdateDeliveryTaskRequest{Table: proto.String("orders"), TaskName: proto.String("no-role"),
			TaskConfig: &otsprotocol.OSSTaskConfig{OssStsRole: proto.String(other), OssBucket: proto.String("lake"),
				OssEndpoint: proto.String("oss-cn-hangzhou-internal.aliyuncs.com")}})
		if code != "" {
			t.Fatalf("UpdateDeliveryTask of the role: %s %s", code, msg)
		}
		got, _ := e.api.GetTask(ctx, "orders", "no-role")
		if got.RoleARN != other {
			t.Fatalf("role after UpdateDeliveryTask: %s", got.RoleARN)
		}
		e.waitDescribe("no-role", "clear UNAUTHORIZED with the new role", func(d *tablestore.DescribeDeliveryTaskResponse) bool {
			return d.TaskSyncStat.ErrorCode == 0
		})
		code, msg = e.update(&otsprotocol.UpdateDeliveryTaskRequest{Table: proto.String("orders"), TaskName: proto.String("no-role"),
			TaskConfig: &otsprotocol.OSSTaskConfig{OssBucket: proto.String("other-bucket")}})
		if code != "OTSParameterInvalid" || !strings.Contains(msg, "taskConfig.ossBucket") || !strings.Contains(msg, "immutable") {
			t.Fatalf("UpdateDeliveryTask of the bucket: %s %s", code, msg)
		}
		code, msg = e.update(&otsprotocol.UpdateDeliveryTaskRequest{Table: proto.String("orders"), TaskName: proto.String("nope"),
			TaskConfig: &otsprotocol.OSSTaskConfig{OssStsRole: proto.String(other)}})
		if code != "OTSObjectNotExist" {
			t.Fatalf("UpdateDeliveryTask of an unknown task: %s %s", code, msg)
		}
	})

	t.Run("delete", func(t *testing.T) {
		_, before := e.delivered("orders/full/")
		for _, name := range []string{"full-lake", "no-bucket", "no-role"} {
			if _, err := e.ots.DeleteDeliveryTask(&tablestore.DeleteDeliveryTaskRequest{TableName: "orders", TaskName: name}); err != nil {
				t.Fatalf("DeleteDeliveryTask %s: %v", name, err)
			}
		}
		_, err := e.describe("full-lake")
		wantOTSError(t, "DescribeDeliveryTask after delete", err, "OTSObjectNotExist")
		if _, err := e.api.GetTask(ctx, "orders", "full-lake"); !client.IsNotFound(err) {
			t.Fatalf("GET after DeleteDeliveryTask: %v", err)
		}
		if _, after := e.delivered("orders/full/"); len(after) != len(before) || len(after) == 0 {
			t.Fatalf("objects after delete: %d, before %d (they must stay)", len(after), len(before))
		}
	})

	t.Run("bad input", func(t *testing.T) { e.badInput(t) })
}

// badInput sends every bad input of docs/bad-input.md that the delivery
// calls can carry and checks the wire answer.
func (e *deliveryEnv) badInput(t *testing.T) {
	good := func() *tablestore.OSSTaskConfig {
		return sdkConfig("bad", &tablestore.TaskSchema{ColumnName: "id", OssColumnName: "id", Type: tablestore.ParquetInt64})
	}
	type createCase struct {
		name, task, table string
		typ               tablestore.TaskType
		mutate            func(*tablestore.OSSTaskConfig)
		code              string
		contains          []string
	}
	for _, c := range []createCase{
		{name: "invalid task name", task: "Bad_Name", code: "OTSParameterInvalid", contains: []string{"taskName", "name_format"}},
		{name: "missing table", task: "bad-one", table: "nope", code: "OTSObjectNotExist", contains: []string{"nope"}},
		{name: "task name taken", task: "diff-lake", code: "OTSObjectAlreadyExist", contains: []string{"diff-lake"}},
		{name: "prefix with ..", mutate: func(c *tablestore.OSSTaskConfig) { c.OssPrefix = "a/../b" },
			code: "OTSParameterInvalid", contains: []string{"taskConfig.ossPrefix", "prefix_template"}},
		{name: "prefix unknown variable", mutate: func(c *tablestore.OSSTaskConfig) { c.OssPrefix = "a/$yy" },
			code: "OTSParameterInvalid", contains: []string{"taskConfig.ossPrefix", "$yy"}},
		{name: "bucket name", mutate: func(c *tablestore.OSSTaskConfig) { c.OssBucket = "Bad_Bucket" },
			code: "OTSParameterInvalid", contains: []string{"taskConfig.ossBucket", "bucket_format"}},
		{name: "column type", mutate: func(c *tablestore.OSSTaskConfig) { c.Schema[0].Type = tablestore.ParquetDate },
			code: "OTSParameterInvalid", contains: []string{"taskConfig.schema[0].type", "DATE"}},
		{name: "encoding for type", mutate: func(c *tablestore.OSSTaskConfig) {
			c.Schema[0].Type, c.Schema[0].Encode = tablestore.ParquetBool, tablestore.EncodingDeltaBinaryPacked
		}, code: "OTSParameterInvalid", contains: []string{"taskConfig.schema[0].encode", "encoding_for_type"}},
		{name: "duplicate column", mutate: func(c *tablestore.OSSTaskConfig) {
			c.Schema = append(c.Schema, &tablestore.TaskSchema{ColumnName: "v", OssColumnName: "ID", Type: tablestore.ParquetUtf8})
		}, code: "OTSParameterInvalid", contains: []string{"taskConfig.schema[1].ossColumnName", "duplicate_column"}},
		{name: "source column of another type", mutate: func(c *tablestore.OSSTaskConfig) { c.Schema[0].Type = tablestore.ParquetUtf8 },
			code: "OTSParameterInvalid", contains: []string{"taskConfig.schema[0].type", "source_type"}},
		{name: "endpoint of another region", mutate: func(c *tablestore.OSSTaskConfig) { c.OssEndpoint = "oss-cn-shanghai.aliyuncs.com" },
			code: "OTSParameterInvalid", contains: []string{"taskConfig.ossEndpoint", "cn-shanghai", "rule: region"}},
		{name: "endpoint not of OSS", mutate: func(c *tablestore.OSSTaskConfig) { c.OssEndpoint = "example.com" },
			code: "OTSParameterInvalid", contains: []string{"taskConfig.ossEndpoint", "example.com"}},
		{name: "no endpoint", mutate: func(c *tablestore.OSSTaskConfig) { c.OssEndpoint = "" },
			code: "OTSParameterInvalid", contains: []string{"taskConfig.ossEndpoint", "required"}},
		{name: "role that is not an ARN", mutate: func(c *tablestore.OSSTaskConfig) { c.OssRoleName = "AliyunServiceRoleForOTSDataDelivery" },
			code: "OTSParameterInvalid", contains: []string{"taskConfig.ossStsRole", "role_arn_format"}},
		{name: "format other than Parquet", mutate: func(c *tablestore.OSSTaskConfig) { c.Format = 1 },
			code: "OTSParameterInvalid", contains: []string{"taskConfig.format", "1 is not a value"}},
		{name: "task type out of range", typ: 7, code: "OTSParameterInvalid", contains: []string{"taskType", "7 is not a value"}},
		{name: "event time format unset", mutate: func(c *tablestore.OSSTaskConfig) {
			c.EventTimeColumn = &tablestore.EventColumn{ColumnName: "ts"}
		}, code: "OTSParameterInvalid", contains: []string{"taskConfig.eventTimeColumn.timeFormat", "0 is not a value"}},
		{name: "encoding out of range", mutate: func(c *tablestore.OSSTaskConfig) { c.Schema[0].Encode = 9 },
			code: "OTSParameterInvalid", contains: []string{"taskConfig.schema[0].encode", "9 is not a value"}},
		{name: "event time column name", mutate: func(c *tablestore.OSSTaskConfig) {
			c.EventTimeColumn = &tablestore.EventColumn{ColumnName: "a b", TimeFormat: tablestore.EventColumnUnix}
		}, code: "OTSParameterInvalid", contains: []string{"taskConfig.eventTimeColumn.columnName", "column_name"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := good()
			if c.mutate != nil {
				c.mutate(cfg)
			}
			name, table, typ := c.task, c.table, c.typ
			if name == "" {
				name = "bad-one"
			}
			if table == "" {
				table = "orders"
			}
			_, err := e.ots.CreateDeliveryTask(&tablestore.CreateDeliveryTaskRequest{TableName: table, TaskName: name, TaskType: typ, TaskConfig: cfg})
			wantOTSError(t, c.name, err, c.code, c.contains...)
			if _, err := e.describe("bad-one"); err == nil {
				t.Fatal("a refused create left a task behind")
			}
		})
	}
	t.Run("unknown task", func(t *testing.T) {
		_, err := e.describe("nope")
		wantOTSError(t, "DescribeDeliveryTask", err, "OTSObjectNotExist", "Requested delivery task does not exist: orders/nope.")
		_, err = e.ots.DeleteDeliveryTask(&tablestore.DeleteDeliveryTaskRequest{TableName: "orders", TaskName: "nope"})
		wantOTSError(t, "DeleteDeliveryTask", err, "OTSObjectNotExist", "Requested delivery task does not exist: orders/nope.")
	})
	t.Run("list of a missing table", func(t *testing.T) {
		_, err := e.ots.ListDeliveryTask(&tablestore.ListDeliveryTaskRequest{TableName: "nope"})
		wantOTSError(t, "ListDeliveryTask", err, "OTSObjectNotExist", "nope")
		_, err = e.ots.ListDeliveryTask(&tablestore.ListDeliveryTaskRequest{})
		wantOTSError(t, "ListDeliveryTask without a table", err, "OTSParameterInvalid", "tableName", "required")
	})
	t.Run("wrong secret", func(t *testing.T) {
		bad := tablestore.NewClient(e.ready["tablestore"], "local", devAccessKeyID, "wrong-secret")
		_, err := bad.ListDeliveryTask(&tablestore.ListDeliveryTaskRequest{TableName: "orders"})
		wantOTSError(t, "ListDeliveryTask with a wrong secret", err, "OTSAuthFailed")
	})
}

// update sends /UpdateDeliveryTask, which the Go SDK has no method for,
// signed as the SDK signs every request (V2), and returns the protocol
// error code and message ("" on success).
func (e *deliveryEnv) update(in *otsprotocol.UpdateDeliveryTaskRequest) (code, message string) {
	e.t.Helper()
	body, err := proto.Marshal(protoadapt.MessageV2Of(in))
	if err != nil {
		e.t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, e.ready["tablestore"]+"/UpdateDeliveryTask", bytes.NewReader(body))
	sum := md5.Sum(body)
	headers := map[string]string{
		"x-ots-date":         time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		"x-ots-apiversion":   tablestore.ApiVersion,
		"x-ots-accesskeyid":  devAccessKeyID,
		"x-ots-instancename": "local",
		"x-ots-contentmd5":   base64.StdEncoding.EncodeToString(sum[:]),
	}
	var signed []string
	for k, v := range headers {
		req.Header.Set(k, v)
		signed = append(signed, k)
	}
	req.Header.Set("x-ots-signature", localots.SignV2(devAccessKeySecret, localots.StringToSign("/UpdateDeliveryTask", http.MethodPost, req.Header, signed)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK {
		return "", ""
	}
	var pe otsprotocol.Error
	if err := proto.Unmarshal(data, protoadapt.MessageV2Of(&pe)); err != nil {
		e.t.Fatalf("UpdateDeliveryTask answered %d with %q", resp.StatusCode, data)
	}
	return pe.GetCode(), pe.GetMessage()
}

// TestLocalAloneAnswersDeliveryUnsupported: without the executor there is
// no control plane, and the delivery calls answer as before.
func TestLocalAloneAnswersDeliveryUnsupported(t *testing.T) {
	t.Parallel()
	_, ready := startProcess(t, "local", "--data-dir", t.TempDir(), "--tablestore-listen", "127.0.0.1:0", "--oss-listen", "127.0.0.1:0")
	ots := tablestore.NewClient(ready["tablestore"], "local", devAccessKeyID, devAccessKeySecret)
	_, err := ots.ListDeliveryTask(&tablestore.ListDeliveryTaskRequest{TableName: "orders"})
	wantOTSError(t, "ListDeliveryTask on `local`", err, "OTSParameterInvalid", "Unsupported operation")
}
