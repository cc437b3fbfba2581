package task

import (
	"fmt"
	"reflect"
	"slices"
	"time"
)

// What may change on a running task is decided here and only here: the
// API's PATCH refuses what Diff calls a replacement, and the Terraform
// provider plans a replacement for exactly those changes.
//
// In place: role_arn, dirty_prefix, compression, flush_interval_seconds and
// target_object_size_mb (they only affect how future objects are written or
// where credentials come from), and columns of a manual schema when the new
// list is the old list with columns appended at its end (rows read from then
// on carry the new columns; objects already written keep theirs). Every
// other change alters what has been delivered or how it is laid out, so it
// needs a new task.

// Change is one TaskSpec field whose value differs between two specs.
type Change struct {
	// Field is the TaskSpec JSON name ("columns", "time_zone").
	Field string
	// Replace is nil when PATCH may make the change on a running task;
	// otherwise it is the refusal PATCH answers, naming the field and rule.
	Replace *FieldError
}

// InPlace reports whether the change can be made without replacing the task.
func (c Change) InPlace() bool { return c.Replace == nil }

// Changes are the differences between two specs, in TaskSpec field order.
type Changes []Change

// Replacement returns the first change that needs a new task, or nil.
func (cs Changes) Replacement() *FieldError {
	for _, c := range cs {
		if c.Replace != nil {
			return c.Replace
		}
	}
	return nil
}

// Fields returns the names of the changed fields.
func (cs Changes) Fields() []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Field
	}
	return out
}

// Has reports whether the field changed.
func (cs Changes) Has(field string) bool {
	for _, c := range cs {
		if c.Field == field {
			return true
		}
	}
	return false
}

// inPlaceFields may change on a running task whatever their new value
// (which Validate still checks).
var inPlaceFields = map[string]bool{
	"role_arn": true, "dirty_prefix": true, "compression": true,
	"flush_interval_seconds": true, "target_object_size_mb": true,
}

// SpecFields are the TaskSpec's JSON field names, in order.
var SpecFields = []string{
	"name", "table", "region", "bucket", "prefix", "sync_mode", "role_arn", "format", "schema_mode",
	"columns", "event_time_column", "dirty_prefix", "compression", "flush_interval_seconds",
	"target_object_size_mb", "time_zone",
}

// Diff compares a task's current spec with a wanted one (both with their
// defaults applied) and says, per changed field, whether it can change in
// place.
func Diff(current, wanted Spec) Changes {
	var out Changes
	for _, field := range SpecFields {
		a, b := fieldValue(&current, field), fieldValue(&wanted, field)
		if field == "columns" {
			a, b = comparableColumns(current.Columns), comparableColumns(wanted.Columns)
		}
		if reflect.DeepEqual(a, b) {
			continue
		}
		c := Change{Field: field}
		switch {
		case field == "columns":
			c.Replace = columnsChange(current, wanted)
		case !inPlaceFields[field]:
			c.Replace = fieldErr(field, RuleImmutable,
				"cannot be changed on an existing task (the task must be replaced); in place may change: %s",
				InPlaceSummary)
		}
		out = append(out, c)
	}
	return out
}

// InPlaceSummary says in words what may change in place; the API's
// refusals, the OpenAPI document and the provider's docs quote it.
const InPlaceSummary = "role_arn, dirty_prefix, compression, flush_interval_seconds, target_object_size_mb, " +
	"and columns of a manual schema by appending columns at the end"

// columnsChange returns nil when wanted's columns are current's with
// columns appended (manual schema), else the refusal naming the first
// column that differs.
func columnsChange(current, wanted Spec) *FieldError {
	if current.SchemaMode != SchemaManual || wanted.SchemaMode != SchemaManual {
		return fieldErr("columns", RuleColumnsAppendOnly,
			"can only change for schema_mode manual, by appending columns at the end; otherwise the task must be replaced")
	}
	old, next := comparableColumns(current.Columns), comparableColumns(wanted.Columns)
	for i, c := range old {
		if i >= len(next) {
			return fieldErr("columns", RuleColumnsAppendOnly,
				"columns may only be appended at the end: %s (columns[%d]) was removed; removing, reordering, "+
					"renaming or retyping a column needs a new task", describeColumn(c), i)
		}
		if next[i] != c {
			return fieldErr("columns", RuleColumnsAppendOnly,
				"columns may only be appended at the end: columns[%d] was %s and would be %s; removing, reordering, "+
					"renaming or retyping a column needs a new task", i, describeColumn(c), describeColumn(next[i]))
		}
	}
	return nil
}

func describeColumn(c Column) string {
	return fmt.Sprintf("{source %q, name %q, type %s, encoding %s}", c.Source, c.Name, c.Type, c.Encoding)
}

// comparableColumns drops what the executor adds (the time a column was
// added), which is no part of what a user asks for.
func comparableColumns(cols []Column) []Column {
	out := make([]Column, len(cols))
	for i, c := range cols {
		c.AddedAt = nil
		out[i] = c
	}
	return out
}

// Appended returns the columns wanted adds at the end of current's, when
// columns changed in place.
func Appended(current, wanted Spec) []Column {
	if len(wanted.Columns) <= len(current.Columns) || columnsChange(current, wanted) != nil {
		return nil
	}
	return comparableColumns(wanted.Columns[len(current.Columns):])
}

func fieldValue(s *Spec, field string) any {
	switch field {
	case "name":
		return s.Name
	case "table":
		return s.Table
	case "region":
		return s.Region
	case "bucket":
		return s.Bucket
	case "prefix":
		return s.Prefix
	case "sync_mode":
		return s.SyncMode
	case "role_arn":
		return s.RoleARN
	case "format":
		return s.Format
	case "schema_mode":
		return s.SchemaMode
	case "columns":
		return s.Columns
	case "event_time_column":
		if s.EventTimeColumn == nil {
			return nil
		}
		return *s.EventTimeColumn
	case "dirty_prefix":
		return s.DirtyPrefix
	case "compression":
		return s.Compression
	case "flush_interval_seconds":
		return s.FlushIntervalSeconds
	case "target_object_size_mb":
		return s.TargetObjectSizeMB
	case "time_zone":
		return s.TimeZone
	}
	panic("task: unknown spec field " + field)
}

// PatchFor returns the PATCH body that turns current into wanted, with the
// fields Diff finds changed; callers check Replacement first.
func PatchFor(current, wanted Spec) Patch {
	var p Patch
	for _, c := range Diff(current, wanted) {
		switch c.Field {
		case "role_arn":
			p.RoleARN = &wanted.RoleARN
		case "dirty_prefix":
			p.DirtyPrefix = &wanted.DirtyPrefix
		case "compression":
			p.Compression = &wanted.Compression
		case "flush_interval_seconds":
			p.FlushIntervalSeconds = &wanted.FlushIntervalSeconds
		case "target_object_size_mb":
			p.TargetObjectSizeMB = &wanted.TargetObjectSizeMB
		case "columns":
			p.Columns = comparableColumns(wanted.Columns)
		}
	}
	return p
}

// IsSpecField reports whether name is a TaskSpec JSON field.
func IsSpecField(name string) bool {
	for _, f := range SpecFields {
		if f == name {
			return true
		}
	}
	return false
}

// AppendResolved returns resolved with the appended columns at its end,
// each marked as added at the given time.
func AppendResolved(resolved, appended []Column, at time.Time) []Column {
	out := slices.Clone(resolved)
	for _, c := range appended {
		added := at
		c.AddedAt = &added
		out = append(out, c)
	}
	return out
}
