package deliveryapi

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore/otsprotocol"
	"google.golang.org/protobuf/proto"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// fieldError is a rejected wire field: the wire path, the REST field it
// maps to (when there is one), the rule, and what is wrong.
type fieldError struct {
	wire, rest string
	rule       task.Rule
	msg        string
}

func (e *fieldError) Error() string {
	name := e.wire
	if e.rest != "" && e.rest != e.wire {
		name += " (" + e.rest + ")"
	}
	return fmt.Sprintf("%s: %s (rule: %s)", name, e.msg, e.rule)
}

func wireFieldError(wire string, rule task.Rule, format string, args ...any) *fieldError {
	return &fieldError{wire: wire, rule: rule, msg: fmt.Sprintf(format, args...)}
}

var syncModes = map[otsprotocol.DeliveryTaskType]task.SyncMode{
	otsprotocol.DeliveryTaskType_BASE:     task.SyncFull,
	otsprotocol.DeliveryTaskType_INC:      task.SyncIncremental,
	otsprotocol.DeliveryTaskType_BASE_INC: task.SyncDifferential,
}

func taskType(m task.SyncMode) otsprotocol.DeliveryTaskType {
	for k, v := range syncModes {
		if v == m {
			return k
		}
	}
	return otsprotocol.DeliveryTaskType_BASE_INC
}

var columnTypes = map[otsprotocol.ParquetSchema_DataType]task.ColumnType{
	otsprotocol.ParquetSchema_BOOL:   task.TypeBool,
	otsprotocol.ParquetSchema_INT64:  task.TypeInt64,
	otsprotocol.ParquetSchema_UTF8:   task.TypeUTF8,
	otsprotocol.ParquetSchema_DOUBLE: task.TypeDouble,
}

var timeFormats = map[otsprotocol.EventColumnEventTimeFormat]task.TimeFormat{
	otsprotocol.EventColumn_RFC822:  task.TimeRFC822,
	otsprotocol.EventColumn_RFC850:  task.TimeRFC850,
	otsprotocol.EventColumn_RFC1123: task.TimeRFC1123,
	otsprotocol.EventColumn_RFC3339: task.TimeRFC3339,
	otsprotocol.EventColumn_Unix:    task.TimeUnix,
}

// endpointRE matches the public and internal OSS endpoint names of a region.
var endpointRE = regexp.MustCompile(`^oss-([a-z]{2,}(?:-[a-z0-9]+)+?)(-internal)?\.aliyuncs\.com$`)

// regionOf returns the region an ossEndpoint names: a standard OSS endpoint
// name, or the address of one of the executor's own OSS endpoints (local
// maps region to endpoint URL). A scheme and a trailing slash are allowed.
func regionOf(endpoint string, local map[string]string) (string, *fieldError) {
	const wire = "taskConfig.ossEndpoint"
	if endpoint == "" {
		return "", &fieldError{wire: wire, rest: "region", rule: task.RuleRequired,
			msg: "is required (oss-<region>.aliyuncs.com or oss-<region>-internal.aliyuncs.com)"}
	}
	host := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(endpoint, "https://"), "http://"), "/")
	for region, u := range local {
		if parsed, err := url.Parse(u); err == nil && parsed.Host != "" && strings.EqualFold(parsed.Host, host) {
			return region, nil
		}
	}
	if m := endpointRE.FindStringSubmatch(strings.ToLower(host)); m != nil {
		return m[1], nil
	}
	return "", &fieldError{wire: wire, rest: "region", rule: task.RuleRegion,
		msg: fmt.Sprintf("%q is not an OSS endpoint (oss-<region>.aliyuncs.com, oss-<region>-internal.aliyuncs.com, or this executor's OSS address)", endpoint)}
}

// endpointOf is the endpoint Describe returns for a region.
func endpointOf(region string) string { return "oss-" + region + ".aliyuncs.com" }

// wireNames maps REST field paths to wire paths for error messages.
var wireNames = map[string]string{
	"name":                     "taskName",
	"table":                    "tableName",
	"sync_mode":                "taskType",
	"region":                   "taskConfig.ossEndpoint",
	"bucket":                   "taskConfig.ossBucket",
	"prefix":                   "taskConfig.ossPrefix",
	"role_arn":                 "taskConfig.ossStsRole",
	"format":                   "taskConfig.format",
	"schema_mode":              "taskConfig.schema",
	"columns":                  "taskConfig.schema",
	"event_time_column":        "taskConfig.eventTimeColumn",
	"event_time_column.name":   "taskConfig.eventTimeColumn.columnName",
	"event_time_column.format": "taskConfig.eventTimeColumn.timeFormat",
	"dirty_prefix":             "taskConfig.ossDirtyPrefix",
}

var columnFieldRE = regexp.MustCompile(`^columns\[(\d+)\]\.(source|name|type|encoding)$`)

var columnWireNames = map[string]string{"source": "columnName", "name": "ossColumnName", "type": "type", "encoding": "encode"}

// wireName returns the wire path of a REST field path (the REST path itself
// when it has none on the wire, such as compression).
func wireName(rest string) string {
	if w, ok := wireNames[rest]; ok {
		return w
	}
	if m := columnFieldRE.FindStringSubmatch(rest); m != nil {
		return "taskConfig.schema[" + m[1] + "]." + columnWireNames[m[2]]
	}
	return rest
}

// fromTaskFieldError restates a control-plane FieldError with wire names.
func fromTaskFieldError(fe *task.FieldError) *fieldError {
	return &fieldError{wire: wireName(fe.Field), rest: fe.Field, rule: fe.Rule,
		msg: strings.TrimPrefix(fe.Message, fe.Field+": ")}
}

// undefinedEnum refuses an enum value the protocol does not define. The
// SDK's generated messages keep such a value in the field (their enums are
// open), and reading it as absent or as a default would silently change
// the request's meaning.
func undefinedEnum(wire string, v int32) *fieldError {
	return wireFieldError(wire, task.RuleOneOf, "%d is not a value the protocol defines", v)
}

// specFromCreate maps a CreateDeliveryTaskRequest to a TaskSpec (the
// control plane fills the defaults and validates the rest).
func specFromCreate(in *otsprotocol.CreateDeliveryTaskRequest, local map[string]string) (task.Spec, *fieldError) {
	cfg := in.GetTaskConfig()
	if cfg == nil {
		return task.Spec{}, wireFieldError("taskConfig", task.RuleRequired, "is required")
	}
	spec := task.Spec{Name: in.GetTaskName(), Table: in.GetTableName(), SyncMode: task.SyncDifferential}
	if in.TaskType != nil {
		mode, ok := syncModes[in.GetTaskType()]
		if !ok {
			return task.Spec{}, undefinedEnum("taskType", int32(in.GetTaskType()))
		}
		spec.SyncMode = mode
	}
	if err := configToSpec(cfg, local, &spec, false); err != nil {
		return task.Spec{}, err
	}
	return spec, nil
}

// configToSpec maps an OSSTaskConfig onto spec. An update may leave
// ossEndpoint out (the region stays); a create may not.
func configToSpec(cfg *otsprotocol.OSSTaskConfig, local map[string]string, spec *task.Spec, update bool) *fieldError {
	if cfg.Formatter != nil && cfg.GetFormatter() != otsprotocol.TimeFormatter_YDMFormatter {
		return undefinedEnum("taskConfig.formatter", int32(cfg.GetFormatter()))
	}
	if cfg.Format != nil && cfg.GetFormat() != otsprotocol.Format_Parquet {
		return undefinedEnum("taskConfig.format", int32(cfg.GetFormat()))
	}
	if cfg.OssEndpoint != nil || !update {
		region, fe := regionOf(cfg.GetOssEndpoint(), local)
		if fe != nil {
			return fe
		}
		spec.Region = region
	}
	spec.Prefix = cfg.GetOssPrefix()
	spec.Bucket = cfg.GetOssBucket()
	spec.RoleARN = cfg.GetOssStsRole()
	spec.DirtyPrefix = cfg.GetOssDirtyPrefix()
	spec.Format = task.FormatParquet // Parquet is the only value the enum defines
	if ec := cfg.GetEventTimeColumn(); ec != nil {
		etc, fe := eventTimeColumn(ec)
		if fe != nil {
			return fe
		}
		spec.EventTimeColumn = etc
	}
	cols, fe := columns(cfg.GetSchema())
	if fe != nil {
		return fe
	}
	spec.Columns = cols
	spec.SchemaMode = task.SchemaAuto
	if len(cols) > 0 {
		spec.SchemaMode = task.SchemaManual
	}
	return nil
}

func eventTimeColumn(ec *otsprotocol.EventColumn) (*task.EventTimeColumn, *fieldError) {
	const wire = "taskConfig.eventTimeColumn."
	if ec.TimeFormat == nil {
		return nil, &fieldError{wire: wire + "timeFormat", rest: "event_time_column.format", rule: task.RuleRequired,
			msg: "is required (RFC822, RFC850, RFC1123, RFC3339 or Unix)"}
	}
	format, ok := timeFormats[ec.GetTimeFormat()]
	if !ok {
		return nil, undefinedEnum(wire+"timeFormat", int32(ec.GetTimeFormat()))
	}
	return &task.EventTimeColumn{Name: ec.GetColumnName(), Format: format}, nil
}

func columns(schema []*otsprotocol.ParquetSchema) ([]task.Column, *fieldError) {
	cols := make([]task.Column, 0, len(schema))
	for i, s := range schema {
		path := fmt.Sprintf("taskConfig.schema[%d].", i)
		if s.Type == nil {
			return nil, &fieldError{wire: path + "type", rest: fmt.Sprintf("columns[%d].type", i), rule: task.RuleRequired,
				msg: "is required (BOOL, INT64, UTF8 or DOUBLE)"}
		}
		if _, defined := otsprotocol.ParquetSchema_DataType_name[int32(s.GetType())]; !defined {
			return nil, undefinedEnum(path+"type", int32(s.GetType()))
		}
		typ, ok := columnTypes[s.GetType()]
		if !ok {
			return nil, &fieldError{wire: path + "type", rest: fmt.Sprintf("columns[%d].type", i), rule: task.RuleOneOf,
				msg: fmt.Sprintf("%s is not supported (BOOL, INT64, UTF8 or DOUBLE)", s.GetType())}
		}
		switch ext := s.GetTypeExtend(); {
		case ext == string(task.TypeBinary) && typ == task.TypeUTF8:
			typ = task.TypeBinary // how Describe sends this project's BINARY columns
		case ext != "":
			return nil, wireFieldError(path+"typeExtend", task.RuleOneOf, "%q is not supported (leave it empty, or BINARY with type UTF8)", ext)
		}
		col := task.Column{Source: s.GetColumnName(), Name: s.GetOssColumnName(), Type: typ}
		if s.Encode != nil {
			if _, defined := otsprotocol.Encoding_name[int32(s.GetEncode())]; !defined {
				return nil, undefinedEnum(path+"encode", int32(s.GetEncode()))
			}
			col.Encoding = task.Encoding(s.GetEncode().String())
		}
		cols = append(cols, col)
	}
	return cols, nil
}

// configOf returns a task's configuration as the wire carries it.
func configOf(t task.Task) *otsprotocol.OSSTaskConfig {
	cfg := &otsprotocol.OSSTaskConfig{
		OssPrefix:   proto.String(t.Prefix),
		OssBucket:   proto.String(t.Bucket),
		OssEndpoint: proto.String(endpointOf(t.Region)),
		OssStsRole:  proto.String(t.RoleARN),
		Format:      otsprotocol.Format_Parquet.Enum(),
	}
	if t.DirtyPrefix != "" {
		cfg.OssDirtyPrefix = proto.String(t.DirtyPrefix)
	}
	if etc := t.EventTimeColumn; etc != nil {
		ec := &otsprotocol.EventColumn{ColumnName: proto.String(etc.Name)}
		for k, v := range timeFormats {
			if v == etc.Format {
				ec.TimeFormat = k.Enum()
			}
		}
		cfg.EventTimeColumn = ec
	}
	if t.SchemaMode == task.SchemaManual {
		for _, c := range t.Columns {
			cfg.Schema = append(cfg.Schema, schemaOf(c))
		}
	}
	return cfg
}

func schemaOf(c task.Column) *otsprotocol.ParquetSchema {
	s := &otsprotocol.ParquetSchema{ColumnName: proto.String(c.Source), OssColumnName: proto.String(c.Name)}
	for k, v := range columnTypes {
		if v == c.Type {
			s.Type = k.Enum()
		}
	}
	if s.Type == nil { // BINARY has no wire value: the nearest is UTF8 (a byte array), marked
		s.Type = otsprotocol.ParquetSchema_UTF8.Enum()
		s.TypeExtend = proto.String(string(c.Type))
	}
	if v, ok := otsprotocol.Encoding_value[string(c.Encoding)]; ok {
		s.Encode = otsprotocol.Encoding(v).Enum()
	}
	return s
}

var phases = map[task.Phase]otsprotocol.TaskSyncStat_TaskSyncPhase{
	task.PhaseInit:     otsprotocol.TaskSyncStat_INIT,
	task.PhaseFull:     otsprotocol.TaskSyncStat_FULL,
	task.PhaseIncr:     otsprotocol.TaskSyncStat_INCR,
	task.PhaseFinished: otsprotocol.TaskSyncStat_FULL,
}

var errorTypes = map[task.ErrorCode]otsprotocol.ErrorType{
	task.ErrUnauthorized:     otsprotocol.ErrorType_UNAUTHORIZED,
	task.ErrInvalidOssBucket: otsprotocol.ErrorType_INVALID_OSS_BUCKET,
}

// syncStatOf returns a task's status as the wire carries it.
func syncStatOf(st task.Status) *otsprotocol.TaskSyncStat {
	phase, ok := phases[st.Phase]
	if !ok {
		phase = otsprotocol.TaskSyncStat_INIT
	}
	out := &otsprotocol.TaskSyncStat{
		TaskSyncPhase:        phase.Enum(),
		CurrentSyncTimestamp: proto.Int64(st.CurrentSyncTimestampNs),
	}
	detail := st.ErrorDetail
	switch code, known := errorTypes[st.ErrorCode]; {
	case known:
		out.ErrorCode = code.Enum()
	case st.ErrorCode != task.ErrNone:
		detail = string(st.ErrorCode) + ": " + detail
	case st.Phase == task.PhaseFinished:
		detail = "FINISHED: the full sync delivered the whole table"
	}
	if detail != "" {
		out.Detail = proto.String(detail)
	}
	return out
}
