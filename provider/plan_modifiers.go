package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// Which changes replace a task is the executor's decision, task.Diff, the
// same the API's PATCH applies: ModifyPlan asks it about the planned spec
// and marks exactly the refused fields RequiresReplace, so the provider
// never plans an in-place update the executor would refuse, and plans an
// update (not a replacement) for what it accepts, such as columns appended
// at the end of a manual schema.

// ModifyPlan implements resource.ResourceWithModifyPlan.
func (r *deliveryTaskResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.State.Raw.IsNull() || req.Plan.Raw.IsNull() {
		return // create or destroy: nothing to replace
	}
	var plan, state, config deliveryTaskModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	current, diags := state.spec(ctx)
	resp.Diagnostics.Append(diags...)
	wanted, diags := plannedSpec(ctx, &plan, &config, current)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	current.ApplyDefaults() // a state written before a field existed holds it empty
	wanted.ApplyDefaults()
	for _, c := range task.Diff(current, wanted) {
		if c.InPlace() {
			continue
		}
		if p, ok := attributePathForField(c.Field); ok {
			resp.RequiresReplace.Append(p)
		}
	}
}

// unknownValue stands for a value Terraform knows only after apply; it
// equals no real value, so Diff decides by the field whether such a change
// could happen in place.
const unknownValue = "\x00(known after apply)"

// plannedSpec is the spec the plan asks for. A value unknown in the plan
// is the current one when the configuration leaves the attribute out (the
// executor keeps what it has), and unknownValue when the configuration sets
// it to something not known yet.
func plannedSpec(ctx context.Context, plan, config *deliveryTaskModel, current task.Spec) (task.Spec, diag.Diagnostics) {
	var diags diag.Diagnostics
	wanted, d := plan.spec(ctx)
	diags.Append(d...)
	type scalar struct {
		plan, config attr.Value
		set          func(keep bool)
	}
	str := func(dst *string, cur string) func(bool) {
		return func(keep bool) {
			if *dst = unknownValue; keep {
				*dst = cur
			}
		}
	}
	num := func(dst *int, cur int) func(bool) {
		return func(keep bool) {
			if *dst = -1; keep {
				*dst = cur
			}
		}
	}
	scalars := []scalar{
		{plan.Name, config.Name, str(&wanted.Name, current.Name)},
		{plan.TableName, config.TableName, str(&wanted.Table, current.Table)},
		{plan.Region, config.Region, str(&wanted.Region, current.Region)},
		{plan.Bucket, config.Bucket, str(&wanted.Bucket, current.Bucket)},
		{plan.Prefix, config.Prefix, str(&wanted.Prefix, current.Prefix)},
		{plan.SyncMode, config.SyncMode, func(keep bool) { wanted.SyncMode = keepOr(keep, current.SyncMode) }},
		{plan.RoleARN, config.RoleARN, str(&wanted.RoleARN, current.RoleARN)},
		{plan.Format, config.Format, str(&wanted.Format, current.Format)},
		{plan.SchemaMode, config.SchemaMode, func(keep bool) { wanted.SchemaMode = keepOr(keep, current.SchemaMode) }},
		{plan.DirtyPrefix, config.DirtyPrefix, str(&wanted.DirtyPrefix, current.DirtyPrefix)},
		{plan.Compression, config.Compression, func(keep bool) { wanted.Compression = keepOr(keep, current.Compression) }},
		{plan.FlushIntervalSeconds, config.FlushIntervalSeconds, num(&wanted.FlushIntervalSeconds, current.FlushIntervalSeconds)},
		{plan.TargetObjectSizeMB, config.TargetObjectSizeMB, num(&wanted.TargetObjectSizeMB, current.TargetObjectSizeMB)},
		{plan.TimeZone, config.TimeZone, str(&wanted.TimeZone, current.TimeZone)},
	}
	for _, s := range scalars {
		if s.plan.IsUnknown() {
			s.set(s.config.IsNull())
		}
	}
	if plan.EventTimeColumn.IsUnknown() {
		wanted.EventTimeColumn = &task.EventTimeColumn{Name: unknownValue}
	} else if e := wanted.EventTimeColumn; e != nil {
		var m eventTimeColumnModel
		diags.Append(plan.EventTimeColumn.As(ctx, &m, objectAsOptions)...)
		if m.Name.IsUnknown() {
			e.Name = unknownValue
		}
		if m.Format.IsUnknown() {
			e.Format = unknownValue
		}
	}
	if plan.Column.IsUnknown() {
		wanted.Columns = []task.Column{{Source: unknownValue}}
		return wanted, diags
	}
	var cols []columnModel
	diags.Append(plan.Column.ElementsAs(ctx, &cols, false)...)
	for i, c := range cols {
		if i >= len(wanted.Columns) {
			break
		}
		w := &wanted.Columns[i]
		for _, f := range []struct {
			v   types.String
			dst *string
		}{{c.Source, &w.Source}, {c.Name, &w.Name}} {
			if f.v.IsUnknown() {
				*f.dst = unknownValue
			}
		}
		if c.Type.IsUnknown() {
			w.Type = unknownValue
		}
		if c.Encoding.IsUnknown() {
			w.Encoding = unknownValue
		}
	}
	return wanted, diags
}

// keepOr returns cur when keep, else the unknown stand-in of its type.
func keepOr[T ~string](keep bool, cur T) T {
	if keep {
		return cur
	}
	return T(unknownValue)
}

// schemaModeDefault plans the executor's default schema mode when the
// configuration leaves it out: manual with column blocks, auto without. A
// fixed schema default could not depend on the blocks, and an unknown value
// would make RequiresReplace replace the task on every change.
type schemaModeDefault struct{}

func (schemaModeDefault) Description(context.Context) string {
	return "defaults to manual when column blocks are given and auto otherwise"
}

func (m schemaModeDefault) MarkdownDescription(ctx context.Context) string { return m.Description(ctx) }

func (schemaModeDefault) PlanModifyString(ctx context.Context, req planmodifier.StringRequest, resp *planmodifier.StringResponse) {
	if !req.ConfigValue.IsNull() {
		return
	}
	var columns types.List
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("column"), &columns)...)
	if resp.Diagnostics.HasError() || columns.IsUnknown() {
		return
	}
	if len(columns.Elements()) > 0 {
		resp.PlanValue = types.StringValue(string(task.SchemaManual))
	} else {
		resp.PlanValue = types.StringValue(string(task.SchemaAuto))
	}
}

// columnDefaults plans each column's name as its source when the
// configuration leaves the name out, as the executor does. It runs before
// RequiresReplace on the block so an omitted name never looks like a change.
type columnDefaults struct{}

func (columnDefaults) Description(context.Context) string {
	return "a column's name defaults to its source"
}

func (m columnDefaults) MarkdownDescription(ctx context.Context) string { return m.Description(ctx) }

func (columnDefaults) PlanModifyList(_ context.Context, req planmodifier.ListRequest, resp *planmodifier.ListResponse) {
	if req.PlanValue.IsNull() || req.PlanValue.IsUnknown() {
		return
	}
	elems := req.PlanValue.Elements()
	configElems := req.ConfigValue.Elements()
	out := make([]attr.Value, len(elems))
	changed := false
	for i, e := range elems {
		out[i] = e
		obj, ok := e.(basetypes.ObjectValue)
		if !ok || obj.IsNull() || obj.IsUnknown() {
			continue
		}
		attrs := obj.Attributes()
		name, _ := attrs["name"].(basetypes.StringValue)
		source, _ := attrs["source"].(basetypes.StringValue)
		if !name.IsUnknown() || source.IsUnknown() || !configNameIsNull(configElems, i) {
			continue
		}
		filled := make(map[string]attr.Value, len(attrs))
		for k, v := range attrs {
			filled[k] = v
		}
		filled["name"] = source
		v, d := types.ObjectValue(columnAttrTypes, filled)
		resp.Diagnostics.Append(d...)
		out[i] = v
		changed = true
	}
	if !changed || resp.Diagnostics.HasError() {
		return
	}
	list, d := types.ListValue(types.ObjectType{AttrTypes: columnAttrTypes}, out)
	resp.Diagnostics.Append(d...)
	resp.PlanValue = list
}

// configNameIsNull reports whether the i-th column block leaves out its
// name (rather than setting it to a value not known yet).
func configNameIsNull(configElems []attr.Value, i int) bool {
	if i >= len(configElems) {
		return false
	}
	obj, ok := configElems[i].(basetypes.ObjectValue)
	if !ok || obj.IsNull() || obj.IsUnknown() {
		return false
	}
	name, ok := obj.Attributes()["name"]
	return ok && name.IsNull()
}
