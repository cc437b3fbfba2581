package deliveryapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore/otsprotocol"
	"google.golang.org/protobuf/proto"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/api"
	ots "github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// Control is the executor's task control plane; *api.Server implements it.
// Its errors are *task.FieldError, *api.Error or internal failures.
type Control interface {
	CreateTask(ctx context.Context, spec task.Spec) (task.Task, error)
	Task(ctx context.Context, table, name string) (task.Task, error)
	Tasks(ctx context.Context, table string) ([]task.Task, error)
	PatchTask(ctx context.Context, table, name string, fields map[string]json.RawMessage) (task.Task, error)
	DeleteTask(ctx context.Context, table, name string) error
}

// Backend answers the delivery task API from a Control. It implements
// tablestore.DeliveryBackend.
type Backend struct {
	control Control
	// ossEndpoints maps a region to the URL of the executor's own OSS
	// endpoint there: an ossEndpoint naming that address means the region.
	ossEndpoints map[string]string
}

var _ ots.DeliveryBackend = (*Backend)(nil)

// New returns a Backend over control; ossEndpoints are the executor's OSS
// endpoints by region (the local OSS address of `serve --embedded`).
func New(control Control, ossEndpoints map[string]string) *Backend {
	return &Backend{control: control, ossEndpoints: ossEndpoints}
}

// required refuses an empty name field.
func required(wire, rest, value string) error {
	if value == "" {
		return &fieldError{wire: wire, rest: rest, rule: task.RuleRequired, msg: "is required"}
	}
	return nil
}

// CreateDeliveryTask creates a task through the control plane's create path.
func (b *Backend) CreateDeliveryTask(ctx context.Context, in *otsprotocol.CreateDeliveryTaskRequest) (*otsprotocol.CreateDeliveryTaskResponse, error) {
	spec, fe := specFromCreate(in, b.ossEndpoints)
	if fe != nil {
		return nil, protocolError(fe)
	}
	if _, err := b.control.CreateTask(ctx, spec); err != nil {
		return nil, protocolError(err)
	}
	return &otsprotocol.CreateDeliveryTaskResponse{}, nil
}

// DescribeDeliveryTask returns a task's configuration, type and status.
func (b *Backend) DescribeDeliveryTask(ctx context.Context, in *otsprotocol.DescribeDeliveryTaskRequest) (*otsprotocol.DescribeDeliveryTaskResponse, error) {
	t, err := b.task(ctx, in.GetTableName(), in.GetTaskName())
	if err != nil {
		return nil, err
	}
	return &otsprotocol.DescribeDeliveryTaskResponse{
		TaskConfig:   configOf(t),
		TaskSyncStat: syncStatOf(t.Status),
		TaskType:     taskType(t.SyncMode).Enum(),
	}, nil
}

func (b *Backend) task(ctx context.Context, table, name string) (task.Task, error) {
	if err := errors.Join(required("tableName", "table", table), required("taskName", "name", name)); err != nil {
		return task.Task{}, protocolError(err)
	}
	t, err := b.control.Task(ctx, table, name)
	if err != nil {
		return task.Task{}, protocolError(err)
	}
	return t, nil
}

// ListDeliveryTask lists a table's tasks.
func (b *Backend) ListDeliveryTask(ctx context.Context, in *otsprotocol.ListDeliveryTaskRequest) (*otsprotocol.ListDeliveryTaskResponse, error) {
	if err := required("tableName", "table", in.GetTableName()); err != nil {
		return nil, protocolError(err)
	}
	tasks, err := b.control.Tasks(ctx, in.GetTableName())
	if err != nil {
		return nil, protocolError(err)
	}
	out := &otsprotocol.ListDeliveryTaskResponse{}
	for _, t := range tasks {
		out.Tasks = append(out.Tasks, &otsprotocol.DeliveryTaskInfo{
			TableName: proto.String(t.Table),
			TaskName:  proto.String(t.Name),
			TaskType:  taskType(t.SyncMode).Enum(),
		})
	}
	return out, nil
}

// DeleteDeliveryTask deletes a task; its delivered objects stay.
func (b *Backend) DeleteDeliveryTask(ctx context.Context, in *otsprotocol.DeleteDeliveryTaskRequest) (*otsprotocol.DeleteDeliveryTaskResponse, error) {
	if err := errors.Join(required("tableName", "table", in.GetTableName()), required("taskName", "name", in.GetTaskName())); err != nil {
		return nil, protocolError(err)
	}
	if err := b.control.DeleteTask(ctx, in.GetTableName(), in.GetTaskName()); err != nil {
		return nil, protocolError(err)
	}
	return &otsprotocol.DeleteDeliveryTaskResponse{}, nil
}

// UpdateDeliveryTask changes what PATCH /v1/tasks may change: every field
// present in taskConfig is sent to the control plane's PATCH path as the
// TaskSpec field it maps to, which changes the mutable ones and refuses a
// changed immutable one.
func (b *Backend) UpdateDeliveryTask(ctx context.Context, in *otsprotocol.UpdateDeliveryTaskRequest) (*otsprotocol.UpdateDeliveryTaskResponse, error) {
	if err := errors.Join(required("table", "table", in.GetTable()), required("taskName", "name", in.GetTaskName())); err != nil {
		return nil, protocolError(err)
	}
	fields, fe := patchFields(in.GetTaskConfig(), b.ossEndpoints)
	if fe != nil {
		return nil, protocolError(fe)
	}
	if _, err := b.control.PatchTask(ctx, in.GetTable(), in.GetTaskName(), fields); err != nil {
		return nil, protocolError(err)
	}
	return &otsprotocol.UpdateDeliveryTaskResponse{}, nil
}

// patchFields maps the fields present in an update's taskConfig to TaskSpec
// fields by their JSON name (absent fields stay as they are).
func patchFields(cfg *otsprotocol.OSSTaskConfig, local map[string]string) (map[string]json.RawMessage, *fieldError) {
	fields := map[string]json.RawMessage{}
	if cfg == nil {
		return fields, nil
	}
	// Decode the whole config as a create would, so every wire rule
	// (endpoint names, enum values, column types) applies to updates too.
	var spec task.Spec
	if err := configToSpec(cfg, local, &spec, true); err != nil {
		return nil, err
	}
	spec.ApplyDefaults()
	set := func(name string, v any) {
		data, _ := json.Marshal(v)
		fields[name] = data
	}
	if cfg.OssEndpoint != nil {
		set("region", spec.Region)
	}
	if cfg.OssPrefix != nil {
		set("prefix", spec.Prefix)
	}
	if cfg.OssBucket != nil {
		set("bucket", spec.Bucket)
	}
	if cfg.OssStsRole != nil {
		set("role_arn", spec.RoleARN)
	}
	if cfg.OssDirtyPrefix != nil {
		set("dirty_prefix", spec.DirtyPrefix)
	}
	if cfg.Format != nil {
		set("format", spec.Format)
	}
	if cfg.EventTimeColumn != nil {
		set("event_time_column", spec.EventTimeColumn)
	}
	if len(cfg.Schema) > 0 {
		set("schema_mode", spec.SchemaMode)
		set("columns", spec.Columns)
	}
	return fields, nil
}

// protocolError maps a mapping or control-plane error to the protocol's
// error codes (see the package documentation); other errors pass through
// and are answered as internal errors.
func protocolError(err error) error {
	var fe *fieldError
	if errors.As(err, &fe) {
		return ots.ParameterInvalid("%s.", fe.Error())
	}
	if tfe, ok := task.AsFieldError(err); ok {
		if tfe.Rule == task.RuleTableExists {
			return ots.ObjectNotExist("Requested table does not exist (tableName: %s).", strings.TrimPrefix(tfe.Message, tfe.Field+": "))
		}
		wfe := fromTaskFieldError(tfe)
		if tfe.Rule == task.RuleImmutable {
			wfe.msg = "cannot be changed on an existing task (delete it and create it again); UpdateDeliveryTask may change taskConfig.ossStsRole and taskConfig.ossDirtyPrefix"
		}
		return ots.ParameterInvalid("%s.", wfe.Error())
	}
	if ae, ok := api.AsError(err); ok {
		switch ae.Code {
		case task.CodeTaskNotFound:
			return ots.ObjectNotExist("Requested delivery task does not exist: %s.",
				strings.TrimSuffix(strings.TrimPrefix(ae.Message, "task "), " does not exist"))
		case task.CodeTaskAlreadyExists:
			return ots.ObjectAlreadyExist("Requested delivery task already exists (taskName: %s).", strings.TrimPrefix(ae.Message, ae.Field+": "))
		case task.CodeTaskInitializing:
			return ots.ParameterInvalid("%s.", ae.Message)
		}
		return ots.ParameterInvalid("%s: %s.", ae.Code, ae.Message)
	}
	return fmt.Errorf("delivery task control plane: %w", err)
}
