package provider

import (
	"context"
	"fmt"
	"regexp"
	"strconv"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// The validators here run the executor's own rules (package executor/task)
// at plan time, so a configuration the executor would reject fails at
// `terraform plan` with the same message, attached to the attribute.

// stringRule checks one string attribute with a rule of the task package.
type stringRule struct {
	description string
	check       func(string) error
}

// stringRuleValidator wraps a rule of the task package as a string validator.
func stringRuleValidator(description string, check func(string) error) validator.String {
	return stringRule{description: description, check: check}
}

func (v stringRule) Description(context.Context) string         { return v.description }
func (v stringRule) MarkdownDescription(context.Context) string { return v.description }

func (v stringRule) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := v.check(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid "+req.Path.String(), err.Error())
	}
}

// int64Rule checks one number attribute with a rule of the task package.
type int64Rule struct {
	description string
	check       func(int) error
}

func int64RuleValidator(description string, check func(int) error) validator.Int64 {
	return int64Rule{description: description, check: check}
}

func (v int64Rule) Description(context.Context) string         { return v.description }
func (v int64Rule) MarkdownDescription(context.Context) string { return v.description }

func (v int64Rule) ValidateInt64(_ context.Context, req validator.Int64Request, resp *validator.Int64Response) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	n := req.ConfigValue.ValueInt64()
	// Out-of-int range values still reach the rule as an out-of-range int.
	if n > int64(^uint32(0)) {
		n = int64(^uint32(0))
	} else if n < -int64(^uint32(0)) {
		n = -int64(^uint32(0))
	}
	if err := v.check(int(n)); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid "+req.Path.String(), err.Error())
	}
}

// Rules of single attributes, with the executor's wording.
var (
	validTaskName    = stringRuleValidator("a task name: 3-16 characters of a-z, 0-9 and '-'", task.ValidateName)
	validTable       = stringRuleValidator("a Tablestore table name", task.ValidateTable)
	validRegion      = stringRuleValidator("a region id such as cn-hangzhou", task.ValidateRegion)
	validBucket      = stringRuleValidator("an OSS bucket name", task.ValidateBucket)
	validPrefix      = stringRuleValidator("a prefix template with $yyyy $MM $dd $HH $mm", task.ValidatePrefix)
	validRoleARN     = stringRuleValidator("acs:ram::<account id>:role/<lower-case role name>", task.ValidateRoleARN)
	validRoleName    = stringRuleValidator("a role name: 1-64 letters, digits, '.', '-', '_'", task.ValidateRoleName)
	validFormat      = stringRuleValidator("parquet", task.ValidateFormat)
	validSyncMode    = stringRuleValidator("one of full, incremental, differential", func(s string) error { return task.ValidateSyncMode(task.SyncMode(s)) })
	validSchemaMode  = stringRuleValidator("auto or manual", func(s string) error { return task.ValidateSchemaMode(task.SchemaMode(s)) })
	validCompress    = stringRuleValidator("one of none, snappy, gzip, zstd", func(s string) error { return task.ValidateCompression(task.Compression(s)) })
	validFlush       = int64RuleValidator(fmt.Sprintf("between %d and %d", task.MinFlushIntervalSeconds, task.MaxFlushIntervalSeconds), task.ValidateFlushInterval)
	validObjectSize  = int64RuleValidator(fmt.Sprintf("between %d and %d", task.MinTargetObjectSizeMB, task.MaxTargetObjectSizeMB), task.ValidateTargetObjectSize)
	validTimeZone    = stringRuleValidator("an IANA time zone name such as UTC or Asia/Shanghai", task.ValidateTimeZone)
	validDialect     = stringRuleValidator("one of hive, spark, trino, duckdb", validateDialect)
	validAccessKeyID = stringRuleValidator("not empty", func(s string) error {
		return task.ValidateRoleInput(task.RoleInput{OSSAccessKeyID: s, OSSAccessKeySecret: "-"})
	})
	validRoleDesc = stringRuleValidator("at most 1024 characters", func(s string) error {
		return task.ValidateRoleInput(task.RoleInput{OSSAccessKeyID: "-", OSSAccessKeySecret: "-", Description: s})
	})
)

// validateDialect uses the DDL renderer's own dialect rule.
func validateDialect(d string) error {
	_, err := task.DDL(task.Task{}, task.Dialect(d), task.DDLOptions{})
	if fe, ok := task.AsFieldError(err); ok && fe.Field == "dialect" {
		return fe
	}
	return nil
}

// fieldPathRE splits a TaskSpec JSON path such as "columns[2].encoding".
var fieldPathRE = regexp.MustCompile(`^([a-z_]+)(?:\[(\d+)\])?(?:\.([a-z_]+))?$`)

// attributePathForField maps a TaskSpec JSON field path, as the task
// package and the API name it, to the Terraform attribute path.
func attributePathForField(field string) (path.Path, bool) {
	m := fieldPathRE.FindStringSubmatch(field)
	if m == nil {
		return path.Empty(), false
	}
	root := m[1]
	switch root {
	case "table":
		root = "table_name"
	case "columns":
		root = "column"
	}
	p := path.Root(root)
	if m[2] != "" {
		i, err := strconv.Atoi(m[2])
		if err != nil {
			return path.Empty(), false
		}
		p = p.AtListIndex(i)
	}
	if m[3] != "" {
		p = p.AtName(m[3])
	}
	return p, true
}

// validateTaskConfig runs the rules that look at several attributes at once
// (columns against the schema mode, unique column names, the event time
// column, the dirty prefix against the prefix). It skips a rule while one of
// its inputs is unknown: it runs again when the value is known.
func validateTaskConfig(ctx context.Context, config tfsdk.Config) (errs []*task.FieldError, diagsOut []error) {
	var m deliveryTaskModel
	if d := config.Get(ctx, &m); d.HasError() {
		return nil, []error{fmt.Errorf("reading the configuration: %v", d)}
	}
	add := func(err error) {
		if fe, ok := task.AsFieldError(err); ok {
			errs = append(errs, fe)
		}
	}

	columnsKnown := !m.Column.IsUnknown()
	var columns []columnModel
	if columnsKnown && !m.Column.IsNull() {
		if d := m.Column.ElementsAs(ctx, &columns, false); d.HasError() {
			return nil, []error{fmt.Errorf("reading column blocks: %v", d)}
		}
		for _, c := range columns {
			if c.Source.IsUnknown() || c.Name.IsUnknown() || c.Type.IsUnknown() || c.Encoding.IsUnknown() {
				columnsKnown = false
			}
		}
	}
	if columnsKnown && !m.SchemaMode.IsUnknown() {
		s := task.Spec{SchemaMode: task.SchemaMode(m.SchemaMode.ValueString())}
		for _, c := range columns {
			s.Columns = append(s.Columns, task.Column{
				Source: c.Source.ValueString(), Name: c.Name.ValueString(),
				Type: task.ColumnType(c.Type.ValueString()), Encoding: task.Encoding(c.Encoding.ValueString()),
			})
		}
		s.ApplyDefaults() // schema mode from the presence of columns, as the executor does
		add(task.ValidateColumns(s.SchemaMode, s.Columns))
	}

	if !m.EventTimeColumn.IsNull() && !m.EventTimeColumn.IsUnknown() {
		var e eventTimeColumnModel
		if d := m.EventTimeColumn.As(ctx, &e, objectAsOptions); d.HasError() {
			return nil, []error{fmt.Errorf("reading event_time_column: %v", d)}
		}
		if !e.Name.IsUnknown() && !e.Format.IsUnknown() {
			add(task.ValidateEventTimeColumn(&task.EventTimeColumn{
				Name: e.Name.ValueString(), Format: task.TimeFormat(e.Format.ValueString()),
			}))
		}
	}

	if !m.DirtyPrefix.IsUnknown() && !m.Prefix.IsUnknown() && !m.DirtyPrefix.IsNull() {
		add(task.ValidateDirtyPrefix(m.DirtyPrefix.ValueString(), m.Prefix.ValueString()))
	}
	return errs, nil
}
