package tablestore

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"
	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore/otsprotocol"
	"google.golang.org/protobuf/proto"
)

// listingBackend answers List with a fixed set of tasks per table and
// Describe with what describe returns; the other calls fail as a backend
// bug would.
type listingBackend struct {
	tasks    map[string][]string
	describe *otsprotocol.DescribeDeliveryTaskResponse
	seen     []string // table names the backend was asked about
}

func (b *listingBackend) CreateDeliveryTask(context.Context, *otsprotocol.CreateDeliveryTaskRequest) (*otsprotocol.CreateDeliveryTaskResponse, error) {
	return nil, errors.New("registry unavailable")
}

func (b *listingBackend) DescribeDeliveryTask(_ context.Context, in *otsprotocol.DescribeDeliveryTaskRequest) (*otsprotocol.DescribeDeliveryTaskResponse, error) {
	b.seen = append(b.seen, in.GetTableName())
	return b.describe, nil
}

func (b *listingBackend) ListDeliveryTask(_ context.Context, in *otsprotocol.ListDeliveryTaskRequest) (*otsprotocol.ListDeliveryTaskResponse, error) {
	b.seen = append(b.seen, in.GetTableName())
	out := &otsprotocol.ListDeliveryTaskResponse{}
	for _, name := range b.tasks[in.GetTableName()] {
		out.Tasks = append(out.Tasks, &otsprotocol.DeliveryTaskInfo{TableName: proto.String(in.GetTableName()),
			TaskName: proto.String(name), TaskType: otsprotocol.DeliveryTaskType_BASE_INC.Enum()})
	}
	return out, nil
}

func (b *listingBackend) DeleteDeliveryTask(context.Context, *otsprotocol.DeleteDeliveryTaskRequest) (*otsprotocol.DeleteDeliveryTaskResponse, error) {
	return nil, ObjectNotExist("task %s does not exist.", "t/x")
}

func (b *listingBackend) UpdateDeliveryTask(context.Context, *otsprotocol.UpdateDeliveryTaskRequest) (*otsprotocol.UpdateDeliveryTaskResponse, error) {
	return nil, ParameterInvalid("taskConfig.ossBucket: cannot be changed.")
}

func TestDeliveryOperationsWithoutBackendAreUnsupported(t *testing.T) {
	e := newEnv(t)
	_, err := e.client.ListDeliveryTask(&tablestore.ListDeliveryTaskRequest{TableName: "t"})
	if oe := otsErr(t, err, "OTSParameterInvalid"); oe.Message != "Unsupported operation: ListDeliveryTask." {
		t.Fatalf("message %q", oe.Message)
	}
}

func TestDeliveryOperationsReachTheBackend(t *testing.T) {
	e := newEnv(t)
	e.createTable("orders", 1)
	b := &listingBackend{tasks: map[string][]string{"ghost": {"left-over"}}}
	e.srv.SetDeliveryBackend(b)

	list, err := e.client.ListDeliveryTask(&tablestore.ListDeliveryTaskRequest{TableName: "orders"})
	if err != nil || len(list.Tasks) != 0 {
		t.Fatalf("List of a table without tasks: %v, %v", list, err)
	}
	_, err = e.client.ListDeliveryTask(&tablestore.ListDeliveryTaskRequest{TableName: "nope"})
	otsErr(t, err, "OTSObjectNotExist")
	// Tasks left from a deleted table are still listed (and so can be deleted).
	list, err = e.client.ListDeliveryTask(&tablestore.ListDeliveryTaskRequest{TableName: "ghost"})
	if err != nil || len(list.Tasks) != 1 || list.Tasks[0].TaskName != "left-over" || list.Tasks[0].TaskType != tablestore.BaseIncTask {
		t.Fatalf("List of a deleted table's tasks: %+v, %v", list, err)
	}

	// The client dereferences taskConfig: an answer without one is an
	// internal error, never a response that panics the SDK.
	b.describe = &otsprotocol.DescribeDeliveryTaskResponse{TaskType: otsprotocol.DeliveryTaskType_BASE.Enum()}
	_, err = e.client.DescribeDeliveryTask(&tablestore.DescribeDeliveryTaskRequest{TableName: "orders", TaskName: "x"})
	otsErr(t, err, "OTSInternalServerError")
	b.describe.TaskConfig = &otsprotocol.OSSTaskConfig{OssBucket: proto.String("lake")}
	d, err := e.client.DescribeDeliveryTask(&tablestore.DescribeDeliveryTaskRequest{TableName: "orders", TaskName: "x"})
	if err != nil || d.TaskConfig.OssBucket != "lake" || d.TaskSyncStat == nil {
		t.Fatalf("Describe: %+v, %v", d, err)
	}

	_, err = e.client.CreateDeliveryTask(&tablestore.CreateDeliveryTaskRequest{TableName: "orders", TaskName: "x", TaskConfig: &tablestore.OSSTaskConfig{}})
	otsErr(t, err, "OTSInternalServerError")
	_, err = e.client.DeleteDeliveryTask(&tablestore.DeleteDeliveryTaskRequest{TableName: "orders", TaskName: "x"})
	otsErr(t, err, "OTSObjectNotExist")
	if want := []string{"orders", "nope", "ghost", "orders", "orders"}; !slices.Equal(b.seen, want) {
		t.Fatalf("backend asked about %v, want %v", b.seen, want)
	}

	e.srv.SetDeliveryBackend(nil)
	_, err = e.client.ListDeliveryTask(&tablestore.ListDeliveryTaskRequest{TableName: "orders"})
	otsErr(t, err, "OTSParameterInvalid")
}
