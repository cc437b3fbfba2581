package api

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/catalog"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/state"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// An auto-schema task resolves its columns once, at initialization, so the
// schema is stable; what may still grow it is a defined column added to the
// table (AddDefinedColumn), which is typed and therefore safe to append.
// Columns only sampled from rows are never added later: one odd row must not
// change a running task's schema.

// startSchemaRefresh runs refreshSchemas every SchemaRefreshInterval until
// Close.
func (s *Server) startSchemaRefresh() {
	s.every(s.cfg.SchemaRefreshInterval, "refreshing automatic schemas failed", s.refreshSchemas)
}

// refreshSchemas appends new defined columns to every running auto task.
func (s *Server) refreshSchemas(ctx context.Context) error {
	tasks, err := s.cfg.Registry.ListTasks(ctx, "")
	if err != nil {
		return err
	}
	tables := map[string]*catalog.Table{} // one DescribeTable per table and round
	var errs []error
	for _, t := range tasks {
		if t.SchemaMode != task.SchemaAuto || t.Status.Phase == task.PhaseInit || t.Status.Phase == task.PhaseFinished {
			continue
		}
		tbl, ok := tables[t.Table]
		if !ok {
			described, err := s.cfg.Catalog.DescribeTable(ctx, t.Table)
			if err != nil {
				if !errors.Is(err, catalog.ErrTableNotFound) {
					errs = append(errs, err)
				}
				tables[t.Table] = nil
				continue
			}
			tbl = &described
			tables[t.Table] = tbl
		}
		if tbl == nil || len(newDefinedColumns(t.Status.ResolvedColumns, *tbl)) == 0 {
			continue
		}
		if err := s.appendDefinedColumns(ctx, t, *tbl); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// newDefinedColumns returns the table's defined columns the resolved
// columns lack (by source, or by a name already taken), in table order.
func newDefinedColumns(resolved []task.Column, tbl catalog.Table) []task.Column {
	taken := map[string]bool{}
	for _, c := range resolved {
		taken[c.Source] = true
		taken[strings.ToLower(c.Name)] = true
	}
	var out []task.Column
	for _, d := range tbl.Defined {
		if taken[d.Name] || taken[strings.ToLower(d.Name)] {
			continue
		}
		taken[d.Name], taken[strings.ToLower(d.Name)] = true, true
		out = append(out, task.Column{Source: d.Name, Name: d.Name, Type: d.Type, Encoding: task.EncodingPlain})
	}
	return out
}

// appendDefinedColumns stores the grown schema (under the task's lock, as a
// PATCH would) and hands the pipeline the task.
func (s *Server) appendDefinedColumns(ctx context.Context, t task.Task, tbl catalog.Table) error {
	unlock := s.lockTask(t.Table, t.Name)
	defer unlock()
	var added []task.Column
	updated, err := s.cfg.Registry.UpdateTask(ctx, t.Table, t.Name, func(cur *task.Task) error {
		added = newDefinedColumns(cur.Status.ResolvedColumns, tbl)
		if len(added) == 0 || cur.SchemaMode != task.SchemaAuto || len(cur.Status.ResolvedColumns) == 0 {
			added = nil
			return nil
		}
		now := time.Now().UTC()
		cur.Status.ResolvedColumns = task.AppendResolved(cur.Status.ResolvedColumns, added, now)
		// Other executors sharing the registry restart their pipelines on a
		// new UpdatedAt (see Reconciler).
		cur.UpdatedAt = now
		return nil
	})
	if errors.Is(err, state.ErrNotFound) || (err == nil && len(added) == 0) {
		return nil
	}
	if err != nil {
		return err
	}
	names := make([]string, len(added))
	for i, c := range added {
		names[i] = c.Name
	}
	s.log.Info("automatic schema grew", "task", t.ID(), "columns", names)
	if updated.Status.Phase != task.PhaseInit {
		if err := s.cfg.Runner.Update(ctx, updated); err != nil {
			s.log.Warn("runner update after a schema change failed", "task", t.ID(), "error", err)
		}
	}
	return nil
}
