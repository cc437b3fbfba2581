package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/catalog"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

func (s *Server) internalError(w http.ResponseWriter, r *http.Request, what string, err error) {
	s.log.Error(what, "method", r.Method, "path", r.URL.Path, "error", err)
	writeError(w, http.StatusInternalServerError, task.CodeInternal, what+": "+err.Error(), "")
}

// writeControlError answers a control-plane error (see control.go): 400
// for a rejected field, the refusal's own status and code, or 500.
func (s *Server) writeControlError(w http.ResponseWriter, r *http.Request, what string, err error) {
	if fe, ok := task.AsFieldError(err); ok {
		writeFieldError(w, fe)
		return
	}
	if e, ok := AsError(err); ok {
		writeError(w, e.Status, e.Code, e.Message, e.Field)
		return
	}
	s.internalError(w, r, what, err)
}

// createTask: POST /v1/tasks.
func (s *Server) createTask(w http.ResponseWriter, r *http.Request) {
	var spec task.Spec
	if fe := decodeBody(w, r, &spec); fe != nil {
		writeFieldError(w, fe)
		return
	}
	t, err := s.CreateTask(r.Context(), spec)
	if err != nil {
		s.writeControlError(w, r, "create task", err)
		return
	}
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
	tasks, err := s.Tasks(r.Context(), r.URL.Query().Get("table"))
	if err != nil {
		s.writeControlError(w, r, "list tasks", err)
		return
	}
	writeJSON(w, http.StatusOK, task.TaskList{Tasks: tasks})
}

// getTask: GET /v1/tasks/{table}/{name}.
func (s *Server) getTask(w http.ResponseWriter, r *http.Request) {
	t, err := s.Task(r.Context(), r.PathValue("table"), r.PathValue("name"))
	if err != nil {
		s.writeControlError(w, r, "read task", err)
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
	var raw map[string]json.RawMessage
	if fe := decodeBody(w, r, &raw); fe != nil {
		writeFieldError(w, fe)
		return
	}
	t, err := s.PatchTask(r.Context(), r.PathValue("table"), r.PathValue("name"), raw)
	if err != nil {
		s.writeControlError(w, r, "update task", err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

// deleteTask: DELETE /v1/tasks/{table}/{name}. Refused with 409
// TaskInitializing while the task initializes (see DeleteTask).
func (s *Server) deleteTask(w http.ResponseWriter, r *http.Request) {
	if err := s.DeleteTask(r.Context(), r.PathValue("table"), r.PathValue("name")); err != nil {
		s.writeControlError(w, r, "delete task", err)
		return
	}
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
	t, err := s.Task(r.Context(), table, name)
	if err != nil {
		s.writeControlError(w, r, "read task", err)
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
