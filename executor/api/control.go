package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/catalog"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/state"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// This file is the task control plane behind the REST handlers: the one
// place that validates, stores, starts, changes and deletes tasks. Other
// doors to the same tasks (the Tablestore delivery API of `serve
// --embedded`) call these methods too, so every door shares the validation,
// the INIT lifecycle and the refusals.
//
// A method's error is a *task.FieldError (a rejected field, HTTP 400), an
// *Error (a refusal with its HTTP status and API code: 404 TaskNotFound,
// 409 TaskAlreadyExists, 409 TaskInitializing), or anything else (an
// internal failure, HTTP 500).

// Error is a refusal of the control plane that is not about one field's
// value: the HTTP status and API code the REST API answers with.
type Error struct {
	Status  int
	Code    string
	Message string
	Field   string
}

func (e *Error) Error() string { return e.Message }

// AsError returns the *Error inside err, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

func errTaskNotFound(table, name string) *Error {
	return &Error{Status: http.StatusNotFound, Code: task.CodeTaskNotFound,
		Message: "task " + table + "/" + name + " does not exist"}
}

// CreateTask fills the server's defaults into spec (region, role), validates
// it, checks it against the source instance, stores it in INIT and starts
// its initialization in the background.
func (s *Server) CreateTask(ctx context.Context, spec task.Spec) (task.Task, error) {
	if spec.Region == "" {
		spec.Region = s.cfg.Region
	}
	if spec.RoleARN == "" {
		spec.RoleARN = task.RoleARN(s.cfg.AccountID, task.DefaultRoleName)
	}
	for i := range spec.Columns {
		spec.Columns[i].AddedAt = nil // the executor's to set, on resolved_columns
	}
	spec.ApplyDefaults()
	if err := spec.Validate(); err != nil {
		if fe, ok := task.AsFieldError(err); ok {
			return task.Task{}, fe
		}
		return task.Task{}, fmt.Errorf("validate task: %w", err)
	}
	if spec.Region != s.cfg.Region {
		return task.Task{}, task.NewFieldError("region", task.RuleRegion,
			"%q must be the source instance's region %q", spec.Region, s.cfg.Region)
	}
	table, err := s.cfg.Catalog.DescribeTable(ctx, spec.Table)
	if err != nil {
		if errors.Is(err, catalog.ErrTableNotFound) {
			return task.Task{}, task.NewFieldError("table", task.RuleTableExists,
				"%q does not exist in the source instance", spec.Table)
		}
		return task.Task{}, fmt.Errorf("describe source table: %w", err)
	}
	if fe := checkColumnTypes(spec.Columns, table); fe != nil {
		return task.Task{}, fe
	}
	now := time.Now().UTC()
	t := task.Task{Spec: spec, Status: task.Status{Phase: task.PhaseInit, ResolvedColumns: []task.Column{}},
		CreatedAt: now, UpdatedAt: now}
	if spec.SchemaMode == task.SchemaManual {
		t.Status.ResolvedColumns = task.AppendResolved(nil, spec.Columns, now)
	}
	if err := s.cfg.Registry.CreateTask(ctx, t); err != nil {
		if errors.Is(err, state.ErrExists) {
			return task.Task{}, &Error{Status: http.StatusConflict, Code: task.CodeTaskAlreadyExists,
				Message: "name: table " + spec.Table + " already has a task named " + spec.Name, Field: "name"}
		}
		return task.Task{}, fmt.Errorf("store task: %w", err)
	}
	s.log.Info("task created", "task", t.ID(), "sync_mode", t.SyncMode, "schema_mode", t.SchemaMode)
	s.startInitialization(t.Table, t.Name)
	return t, nil
}

// Task returns the stored task table/name.
func (s *Server) Task(ctx context.Context, table, name string) (task.Task, error) {
	t, err := s.cfg.Registry.GetTask(ctx, table, name)
	if err != nil {
		if errors.Is(err, state.ErrNotFound) {
			return task.Task{}, errTaskNotFound(table, name)
		}
		return task.Task{}, fmt.Errorf("read task: %w", err)
	}
	return t, nil
}

// Tasks lists the tasks of a table, or of every table when table is empty.
func (s *Server) Tasks(ctx context.Context, table string) ([]task.Task, error) {
	if table != "" {
		if err := task.ValidateTable(table); err != nil {
			fe, _ := task.AsFieldError(err)
			return nil, fe
		}
	}
	tasks, err := s.cfg.Registry.ListTasks(ctx, table)
	if err != nil {
		return nil, fmt.Errorf("list tasks: %w", err)
	}
	return tasks, nil
}

// PatchTask changes a task. fields holds TaskSpec fields by their JSON
// name; a field sent with its current value is no change (so clients may
// send whole specs). What may change in place is task.Diff's decision: any
// other change is refused with a FieldError naming the field and the rule,
// and an unknown field is refused too. Fields are checked in name order so
// the first offending one is reported deterministically. Appended columns go
// to status.resolved_columns with the time they were added, and the
// pipeline writes them from the rows it reads next.
func (s *Server) PatchTask(ctx context.Context, table, name string, fields map[string]json.RawMessage) (task.Task, error) {
	keys := slices.Sorted(maps.Keys(fields))
	for _, k := range keys {
		if !task.IsSpecField(k) {
			return task.Task{}, task.NewFieldError(k, task.RuleUnknownField, "is not a field of a task that PATCH can change")
		}
	}
	unlock := s.lockTask(table, name)
	defer unlock()
	current, err := s.Task(ctx, table, name)
	if err != nil {
		return task.Task{}, err
	}
	next, fe := patchedSpec(current.Spec, fields, keys)
	if fe != nil {
		return task.Task{}, fe
	}
	changes := task.Diff(current.Spec, next)
	if fe := changes.Replacement(); fe != nil {
		return task.Task{}, fe
	}
	if len(changes) == 0 {
		return current, nil
	}
	if err := next.Validate(); err != nil {
		if fe, ok := task.AsFieldError(err); ok {
			return task.Task{}, fe
		}
		return task.Task{}, fmt.Errorf("validate task: %w", err)
	}
	appended := task.Appended(current.Spec, next)
	if len(appended) > 0 {
		if fe := s.checkAppendedColumnTypes(ctx, next); fe != nil {
			return task.Task{}, fe
		}
	}
	updated, err := s.cfg.Registry.UpdateTask(ctx, table, name, func(t *task.Task) error {
		now := time.Now().UTC()
		t.Spec = next
		t.UpdatedAt = now
		if len(appended) > 0 && len(t.Status.ResolvedColumns) > 0 {
			t.Status.ResolvedColumns = task.AppendResolved(t.Status.ResolvedColumns, appended, now)
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, state.ErrNotFound) {
			return task.Task{}, errTaskNotFound(table, name)
		}
		return task.Task{}, fmt.Errorf("update task: %w", err)
	}
	if updated.Status.Phase != task.PhaseInit {
		if err := s.cfg.Runner.Update(ctx, updated); err != nil {
			// The new settings are stored; the pipeline picks them up when
			// it is next started.
			s.log.Warn("runner update failed", "task", updated.ID(), "error", err)
		}
	}
	s.log.Info("task updated", "task", updated.ID(), "fields", changes.Fields())
	return updated, nil
}

// patchedSpec returns the current spec with the body's fields laid over it
// and the column defaults applied (so an omitted column name or encoding
// means what it means at creation).
func patchedSpec(current task.Spec, raw map[string]json.RawMessage, keys []string) (task.Spec, *task.FieldError) {
	next := current
	next.Columns = slices.Clone(current.Columns)
	if current.EventTimeColumn != nil {
		etc := *current.EventTimeColumn
		next.EventTimeColumn = &etc
	}
	for _, k := range keys {
		switch k { // replaced as a whole, never merged into the current value
		case "columns":
			next.Columns = nil
		case "event_time_column":
			next.EventTimeColumn = nil
		}
		one, _ := json.Marshal(map[string]json.RawMessage{k: raw[k]})
		if err := json.Unmarshal(one, &next); err != nil {
			return task.Spec{}, bodyError(err)
		}
	}
	for i := range next.Columns {
		next.Columns[i].AddedAt = nil // the executor's to set
	}
	// Only the defaults that cannot hide a bad value: a zero flush interval
	// is refused rather than read as "the default".
	next.ApplyColumnDefaults()
	if next.Compression == "" {
		next.Compression = task.DefaultCompression
	}
	return next, nil
}

// checkAppendedColumnTypes applies the creation rule (a typed source column
// must keep its type) to a grown column list. When the table cannot be
// described the check is left to the pipeline, which counts mistyped
// values as dirty.
func (s *Server) checkAppendedColumnTypes(ctx context.Context, spec task.Spec) *task.FieldError {
	table, err := s.cfg.Catalog.DescribeTable(ctx, spec.Table)
	if err != nil {
		s.log.Warn("PATCH columns: source table not described; types not checked", "task", spec.ID(), "error", err)
		return nil
	}
	return checkColumnTypes(spec.Columns, table)
}

// DeleteTask stops a task's pipeline and deletes it; delivered objects
// stay. It is refused with 409 TaskInitializing while the task initializes,
// unless initialization is stuck on an error (error_code set), so a broken
// task can always go.
func (s *Server) DeleteTask(ctx context.Context, table, name string) error {
	unlock := s.lockTask(table, name)
	defer unlock()
	t, err := s.Task(ctx, table, name)
	if err != nil {
		return err
	}
	if t.Status.Phase == task.PhaseInit && t.Status.ErrorCode == task.ErrNone {
		return &Error{Status: http.StatusConflict, Code: task.CodeTaskInitializing,
			Message: "task " + t.ID() + " is initializing; delete it later (initialization takes a few seconds)"}
	}
	if err := s.cfg.Runner.Stop(ctx, table, name); err != nil {
		return fmt.Errorf("stop the task's pipeline: %w", err)
	}
	if err := s.cfg.Registry.DeleteTask(ctx, table, name); err != nil && !errors.Is(err, state.ErrNotFound) {
		return fmt.Errorf("delete task: %w", err)
	}
	s.log.Info("task deleted", "task", t.ID())
	return nil
}
