package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/catalog"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/state"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

func (s *Server) internalError(w http.ResponseWriter, r *http.Request, what string, err error) {
	s.log.Error(what, "method", r.Method, "path", r.URL.Path, "error", err)
	writeError(w, http.StatusInternalServerError, task.CodeInternal, what+": "+err.Error(), "")
}

func (s *Server) taskNotFound(w http.ResponseWriter, table, name string) {
	writeError(w, http.StatusNotFound, task.CodeTaskNotFound, "task "+table+"/"+name+" does not exist", "")
}

// readTask reads the task table/name for a handler; when it cannot, it has
// answered the request (404 TaskNotFound or 500) and returns false.
func (s *Server) readTask(w http.ResponseWriter, r *http.Request, table, name string) (task.Task, bool) {
	t, err := s.cfg.Registry.GetTask(r.Context(), table, name)
	if err != nil {
		if errors.Is(err, state.ErrNotFound) {
			s.taskNotFound(w, table, name)
			return task.Task{}, false
		}
		s.internalError(w, r, "read task", err)
		return task.Task{}, false
	}
	return t, true
}

// createTask: POST /v1/tasks.
func (s *Server) createTask(w http.ResponseWriter, r *http.Request) {
	var spec task.Spec
	if fe := decodeBody(w, r, &spec); fe != nil {
		writeFieldError(w, fe)
		return
	}
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
			writeFieldError(w, fe)
			return
		}
		s.internalError(w, r, "validate task", err)
		return
	}
	if spec.Region != s.cfg.Region {
		writeFieldError(w, task.NewFieldError("region", task.RuleRegion,
			"%q must be the source instance's region %q", spec.Region, s.cfg.Region))
		return
	}
	table, err := s.cfg.Catalog.DescribeTable(r.Context(), spec.Table)
	if err != nil {
		if errors.Is(err, catalog.ErrTableNotFound) {
			writeFieldError(w, task.NewFieldError("table", task.RuleTableExists,
				"%q does not exist in the source instance", spec.Table))
			return
		}
		s.internalError(w, r, "describe source table", err)
		return
	}
	if fe := checkColumnTypes(spec.Columns, table); fe != nil {
		writeFieldError(w, fe)
		return
	}
	now := time.Now().UTC()
	t := task.Task{Spec: spec, Status: task.Status{Phase: task.PhaseInit, ResolvedColumns: []task.Column{}},
		CreatedAt: now, UpdatedAt: now}
	if spec.SchemaMode == task.SchemaManual {
		t.Status.ResolvedColumns = task.AppendResolved(nil, spec.Columns, now)
	}
	if err := s.cfg.Registry.CreateTask(r.Context(), t); err != nil {
		if errors.Is(err, state.ErrExists) {
			writeError(w, http.StatusConflict, task.CodeTaskAlreadyExists,
				"name: table "+spec.Table+" already has a task named "+spec.Name, "name")
			return
		}
		s.internalError(w, r, "store task", err)
		return
	}
	s.log.Info("task created", "task", t.ID(), "sync_mode", t.SyncMode, "schema_mode", t.SchemaMode)
	s.startInitialization(t.Table, t.Name)
	writeJSON(w, http.StatusCreated, t)
}

// checkColumnTypes refuses manual columns whose source is a typed column of
// the table (primary key or defined column) with another type: every one of
// its values would be dirty. Undefined attributes are untyped and accepted.
func checkColumnTypes(cols []task.Column, table catalog.Table) *task.FieldError {
	typed := map[string]task.ColumnType{}
	for _, c := range table.Defined {
		typed[c.Name] = c.Type
	}
	for _, c := range table.PrimaryKey {
		typed[c.Name] = c.Type
	}
	for i, c := range cols {
		if want, ok := typed[c.Source]; ok && want != c.Type {
			return task.NewFieldError(fmt.Sprintf("columns[%d].type", i), task.RuleSourceType,
				"%s does not match the type of source column %q, which is %s in table %s; every value would be dirty",
				c.Type, c.Source, want, table.Name)
		}
	}
	return nil
}

// listTasks: GET /v1/tasks[?table=T].
func (s *Server) listTasks(w http.ResponseWriter, r *http.Request) {
	table := r.URL.Query().Get("table")
	if table != "" {
		if err := task.ValidateTable(table); err != nil {
			fe, _ := task.AsFieldError(err)
			writeFieldError(w, fe)
			return
		}
	}
	tasks, err := s.cfg.Registry.ListTasks(r.Context(), table)
	if err != nil {
		s.internalError(w, r, "list tasks", err)
		return
	}
	writeJSON(w, http.StatusOK, task.TaskList{Tasks: tasks})
}

// getTask: GET /v1/tasks/{table}/{name}.
func (s *Server) getTask(w http.ResponseWriter, r *http.Request) {
	table, name := r.PathValue("table"), r.PathValue("name")
	t, ok := s.readTask(w, r, table, name)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, t)
}

// patchTask: PATCH /v1/tasks/{table}/{name}. The body holds TaskSpec
// fields; a field sent with its current value is no change (so clients may
// send whole specs). What may change in place is task.Diff's decision: any
// other change is a 400 ImmutableField naming the field and the rule.
// Appended columns go to status.resolved_columns with the time they were
// added, and the pipeline writes them from the rows it reads next.
func (s *Server) patchTask(w http.ResponseWriter, r *http.Request) {
	table, name := r.PathValue("table"), r.PathValue("name")
	var raw map[string]json.RawMessage
	if fe := decodeBody(w, r, &raw); fe != nil {
		writeFieldError(w, fe)
		return
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	slices.Sort(keys) // the first offending field is reported deterministically
	for _, k := range keys {
		if !task.IsSpecField(k) {
			writeFieldError(w, task.NewFieldError(k, task.RuleUnknownField, "is not a field of a task that PATCH can change"))
			return
		}
	}
	unlock := s.lockTask(table, name)
	defer unlock()
	current, ok := s.readTask(w, r, table, name)
	if !ok {
		return
	}
	next, fe := patchedSpec(current.Spec, raw, keys)
	if fe != nil {
		writeFieldError(w, fe)
		return
	}
	changes := task.Diff(current.Spec, next)
	if fe := changes.Replacement(); fe != nil {
		writeFieldError(w, fe)
		return
	}
	if len(changes) == 0 {
		writeJSON(w, http.StatusOK, current)
		return
	}
	if err := next.Validate(); err != nil {
		if fe, ok := task.AsFieldError(err); ok {
			writeFieldError(w, fe)
			return
		}
		s.internalError(w, r, "validate task", err)
		return
	}
	appended := task.Appended(current.Spec, next)
	if len(appended) > 0 {
		if fe := s.checkAppendedColumnTypes(r, next); fe != nil {
			writeFieldError(w, fe)
			return
		}
	}
	updated, err := s.cfg.Registry.UpdateTask(r.Context(), table, name, func(t *task.Task) error {
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
			s.taskNotFound(w, table, name)
			return
		}
		s.internalError(w, r, "update task", err)
		return
	}
	if updated.Status.Phase != task.PhaseInit {
		if err := s.cfg.Runner.Update(r.Context(), updated); err != nil {
			// The new settings are stored; the pipeline picks them up when
			// it is next started.
			s.log.Warn("runner update failed", "task", updated.ID(), "error", err)
		}
	}
	s.log.Info("task updated", "task", updated.ID(), "fields", changes.Fields())
	writeJSON(w, http.StatusOK, updated)
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
func (s *Server) checkAppendedColumnTypes(r *http.Request, spec task.Spec) *task.FieldError {
	table, err := s.cfg.Catalog.DescribeTable(r.Context(), spec.Table)
	if err != nil {
		s.log.Warn("PATCH columns: source table not described; types not checked", "task", spec.ID(), "error", err)
		return nil
	}
	return checkColumnTypes(spec.Columns, table)
}

// deleteTask: DELETE /v1/tasks/{table}/{name}. Refused with 409
// TaskInitializing while the task initializes, unless initialization is
// stuck on an error (error_code set), so a broken task can always go.
func (s *Server) deleteTask(w http.ResponseWriter, r *http.Request) {
	table, name := r.PathValue("table"), r.PathValue("name")
	unlock := s.lockTask(table, name)
	defer unlock()
	t, ok := s.readTask(w, r, table, name)
	if !ok {
		return
	}
	if t.Status.Phase == task.PhaseInit && t.Status.ErrorCode == task.ErrNone {
		writeError(w, http.StatusConflict, task.CodeTaskInitializing,
			"task "+t.ID()+" is initializing; delete it later (initialization takes a few seconds)", "")
		return
	}
	if err := s.cfg.Runner.Stop(r.Context(), table, name); err != nil {
		s.internalError(w, r, "stop the task's pipeline", err)
		return
	}
	if err := s.cfg.Registry.DeleteTask(r.Context(), table, name); err != nil && !errors.Is(err, state.ErrNotFound) {
		s.internalError(w, r, "delete task", err)
		return
	}
	s.log.Info("task deleted", "task", t.ID())
	w.WriteHeader(http.StatusNoContent)
}

// getDDL: GET /v1/tasks/{table}/{name}/ddl?dialect=D[&location=URL][&table_name=N][&since=T]:
// the statement creating the lake table with the current columns, and the
// one bringing a table created earlier (before since, default: before any
// column was appended) up to date.
func (s *Server) getDDL(w http.ResponseWriter, r *http.Request) {
	table, name := r.PathValue("table"), r.PathValue("name")
	q := r.URL.Query()
	dialect := task.Dialect(q.Get("dialect"))
	if dialect == "" {
		writeFieldError(w, task.NewFieldError("dialect", task.RuleRequired, "is required (hive, spark, trino or duckdb)"))
		return
	}
	if !slices.Contains(task.Dialects, dialect) {
		writeFieldError(w, task.NewFieldError("dialect", task.RuleOneOf, "%q must be one of hive, spark, trino, duckdb", dialect))
		return
	}
	t, ok := s.readTask(w, r, table, name)
	if !ok {
		return
	}
	if len(t.Status.ResolvedColumns) == 0 {
		writeError(w, http.StatusConflict, task.CodeTaskInitializing,
			"task "+t.ID()+" has not resolved its columns yet; ask again when it leaves INIT", "")
		return
	}
	stmt, err := task.DDL(t, dialect, task.DDLOptions{TableName: q.Get("table_name"), Location: q.Get("location")})
	if err != nil {
		if fe, ok := task.AsFieldError(err); ok {
			writeFieldError(w, fe)
			return
		}
		s.internalError(w, r, "render DDL", err)
		return
	}
	var since time.Time
	if v := q.Get("since"); v != "" {
		if since, err = time.Parse(time.RFC3339, v); err != nil {
			writeFieldError(w, task.NewFieldError("since", task.RuleSyntax, "%q must be an RFC 3339 time", v))
			return
		}
	}
	alter, err := task.AlterDDL(t, dialect, task.DDLOptions{TableName: q.Get("table_name"), Location: q.Get("location")}, since)
	if err != nil {
		s.internalError(w, r, "render DDL", err)
		return
	}
	writeJSON(w, http.StatusOK, task.DDLResponse{Dialect: dialect, Statement: stmt, AlterStatement: alter})
}
