package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// Which attributes force a new task follows the executor's own list of
// fields PATCH may change (task.MutableFields), so the provider can never
// plan an in-place update the executor would refuse.

func replaceIfImmutable(field string) []planmodifier.String {
	if task.IsMutable(field) {
		return nil
	}
	return []planmodifier.String{stringplanmodifier.RequiresReplace()}
}

func replaceIfImmutableInt64(field string) []planmodifier.Int64 {
	if task.IsMutable(field) {
		return nil
	}
	return []planmodifier.Int64{int64planmodifier.RequiresReplace()}
}

func replaceIfImmutableList(field string) []planmodifier.List {
	if task.IsMutable(field) {
		return nil
	}
	return []planmodifier.List{listplanmodifier.RequiresReplace()}
}

func replaceIfImmutableObject(field string) []planmodifier.Object {
	if task.IsMutable(field) {
		return nil
	}
	return []planmodifier.Object{objectplanmodifier.RequiresReplace()}
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
