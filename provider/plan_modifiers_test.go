package provider

import (
	"context"
	"slices"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// planModel is a manual task's plan (and configuration) with the given
// columns; tweak edits it.
func planModel(t *testing.T, cols []task.Column, tweak func(*deliveryTaskModel)) *deliveryTaskModel {
	t.Helper()
	list, d := columnList(cols)
	if d.HasError() {
		t.Fatal(d)
	}
	m := &deliveryTaskModel{
		Name: types.StringValue("orders-lake"), TableName: types.StringValue("orders"), Region: types.StringValue("cn-hangzhou"),
		Bucket: types.StringValue("lake"), Prefix: types.StringValue("orders/$yyyy"), SyncMode: types.StringValue("differential"),
		RoleARN: types.StringValue("acs:ram::1:role/r"), Format: types.StringValue("parquet"), SchemaMode: types.StringValue("manual"),
		Column: list, EventTimeColumn: types.ObjectNull(eventTimeColumnAttrTypes), DirtyPrefix: types.StringValue(""),
		Compression: types.StringValue("snappy"), FlushIntervalSeconds: types.Int64Value(120), TargetObjectSizeMB: types.Int64Value(64),
		TimeZone: types.StringValue("UTC"),
	}
	if tweak != nil {
		tweak(m)
	}
	return m
}

// replaced runs the plan through plannedSpec and task.Diff as ModifyPlan
// does and returns the fields that would force a replacement.
func replaced(t *testing.T, state, plan, config *deliveryTaskModel) []string {
	t.Helper()
	ctx := context.Background()
	current, d := state.spec(ctx)
	if d.HasError() {
		t.Fatal(d)
	}
	wanted, d := plannedSpec(ctx, plan, config, current)
	if d.HasError() {
		t.Fatal(d)
	}
	current.ApplyDefaults()
	wanted.ApplyDefaults()
	var out []string
	for _, c := range task.Diff(current, wanted) {
		if !c.InPlace() {
			out = append(out, c.Field)
		}
	}
	return out
}

func TestPlannedSpecUnknownValues(t *testing.T) {
	cols := []task.Column{{Source: "id", Name: "id", Type: task.TypeInt64, Encoding: task.EncodingPlain}}
	state := planModel(t, cols, nil)
	cases := []struct {
		name         string
		plan, config func(*deliveryTaskModel)
		want         []string
	}{
		{"nothing changes", nil, nil, nil},
		{"computed left out of the configuration keeps its value",
			func(m *deliveryTaskModel) { m.Region, m.RoleARN = types.StringUnknown(), types.StringUnknown() },
			func(m *deliveryTaskModel) { m.Region, m.RoleARN = types.StringNull(), types.StringNull() }, nil},
		{"bucket known only after apply replaces", func(m *deliveryTaskModel) { m.Bucket = types.StringUnknown() },
			func(m *deliveryTaskModel) { m.Bucket = types.StringUnknown() }, []string{"bucket"}},
		{"role known only after apply changes in place", func(m *deliveryTaskModel) { m.RoleARN = types.StringUnknown() },
			func(m *deliveryTaskModel) { m.RoleARN = types.StringUnknown() }, nil},
		{"flush interval known only after apply changes in place",
			func(m *deliveryTaskModel) { m.FlushIntervalSeconds = types.Int64Unknown() },
			func(m *deliveryTaskModel) { m.FlushIntervalSeconds = types.Int64Unknown() }, nil},
		{"whole column list unknown replaces",
			func(m *deliveryTaskModel) { m.Column = types.ListUnknown(types.ObjectType{AttrTypes: columnAttrTypes}) },
			func(m *deliveryTaskModel) { m.Column = types.ListUnknown(types.ObjectType{AttrTypes: columnAttrTypes}) }, []string{"columns"}},
		{"appended column with an unknown source changes in place", func(m *deliveryTaskModel) {
			m.Column = columnsWithUnknownSource(t, cols, false)
		}, nil, nil},
		{"unknown source in an existing column replaces", func(m *deliveryTaskModel) {
			m.Column = columnsWithUnknownSource(t, cols, true)
		}, nil, []string{"columns"}},
		{"time zone of an old state (empty) is UTC", nil, nil, nil},
	}
	for _, c := range cases {
		plan, config := planModel(t, cols, c.plan), planModel(t, cols, c.config)
		st := state
		if c.name == "time zone of an old state (empty) is UTC" {
			st = planModel(t, cols, func(m *deliveryTaskModel) { m.TimeZone = types.StringNull() })
		}
		if got := replaced(t, st, plan, config); !slices.Equal(got, c.want) {
			t.Errorf("%s: replaced %v, want %v", c.name, got, c.want)
		}
	}
}

// columnsWithUnknownSource returns cols plus one appended column whose
// source is unknown, or (existing) cols with the first source unknown.
func columnsWithUnknownSource(t *testing.T, cols []task.Column, existing bool) types.List {
	t.Helper()
	var elems []attr.Value
	for i, c := range cols {
		source := types.StringValue(c.Source)
		if existing && i == 0 {
			source = types.StringUnknown()
		}
		v, d := types.ObjectValue(columnAttrTypes, map[string]attr.Value{"source": source, "name": types.StringValue(c.Name),
			"type": types.StringValue(string(c.Type)), "encoding": types.StringValue(string(c.Encoding))})
		if d.HasError() {
			t.Fatal(d)
		}
		elems = append(elems, v)
	}
	if !existing {
		v, _ := types.ObjectValue(columnAttrTypes, map[string]attr.Value{"source": types.StringUnknown(), "name": types.StringUnknown(),
			"type": types.StringValue("UTF8"), "encoding": types.StringValue("PLAIN")})
		elems = append(elems, v)
	}
	l, d := types.ListValue(types.ObjectType{AttrTypes: columnAttrTypes}, elems)
	if d.HasError() {
		t.Fatal(d)
	}
	return l
}
