package api

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/catalog"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/state"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// initErrorCodes are the error codes initialization sets and clears; codes
// the pipelines report (UnAuthorized, InvalidOssBucket) are left to them.
var initErrorCodes = []task.ErrorCode{task.ErrSchemaResolution, task.ErrSourceTableMissing, task.ErrInternal}

// startInitialization runs a task's initialization in the background unless
// it already runs.
func (s *Server) startInitialization(table, name string) {
	id := table + "/" + name
	s.mu.Lock()
	if s.closed || s.inflight[id] {
		s.mu.Unlock()
		return
	}
	s.inflight[id] = true
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		defer func() {
			s.mu.Lock()
			delete(s.inflight, id)
			s.mu.Unlock()
		}()
		if err := s.initialize(s.ctx, table, name); err != nil && s.ctx.Err() == nil {
			s.log.Warn("task initialization abandoned", "task", id, "error", err)
		}
	}()
}

// pause waits before the attempt-th retry; false when the server closes.
func (s *Server) pause(ctx context.Context, attempt int) bool {
	d := s.cfg.RetryInterval << min(attempt, 10)
	d = min(d, 5*time.Second)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// reportInitError records why initialization is waiting, without touching
// errors the pipelines own.
func (s *Server) reportInitError(ctx context.Context, table, name string, code task.ErrorCode, err error) error {
	s.log.Warn("task initialization retrying", "task", table+"/"+name, "error_code", code, "error", err)
	return s.cfg.Registry.UpdateStatus(ctx, table, name, func(st *task.Status) {
		if st.ErrorCode == task.ErrNone || slices.Contains(initErrorCodes, st.ErrorCode) {
			st.SetError(code, err.Error())
		}
	})
}

// initialize resolves the task's columns (the automatic schema is resolved
// once and stored, so it is stable across restarts), starts its pipeline
// through the Runner, and moves it from INIT to FULL (full and differential
// tasks) or INCR (incremental ones). Failures are reported in the status and
// retried until the task is deleted or the server closes.
func (s *Server) initialize(ctx context.Context, table, name string) error {
	for attempt := 0; ; attempt++ {
		if attempt > 0 && !s.pause(ctx, attempt-1) {
			return ctx.Err()
		}
		t, err := s.cfg.Registry.GetTask(ctx, table, name)
		if err != nil {
			if errors.Is(err, state.ErrNotFound) {
				return nil // deleted while its initialization was stuck
			}
			s.log.Warn("task initialization: read task", "task", table+"/"+name, "error", err)
			continue
		}
		if t.Status.Phase != task.PhaseInit {
			return nil
		}
		if won, err := s.claimInit(ctx, table, name); err != nil {
			if errors.Is(err, state.ErrNotFound) {
				return nil
			}
			s.log.Warn("task initialization: claim", "task", table+"/"+name, "error", err)
			continue
		} else if !won {
			return nil // another executor initializes it
		}
		if len(t.Status.ResolvedColumns) == 0 {
			cols, code, err := s.resolveColumns(ctx, t)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if rerr := s.reportInitError(ctx, table, name, code, err); errors.Is(rerr, state.ErrNotFound) {
					return nil
				}
				continue
			}
			t, err = s.cfg.Registry.UpdateTask(ctx, table, name, func(t *task.Task) error {
				if len(t.Status.ResolvedColumns) == 0 {
					t.Status.ResolvedColumns = task.AppendResolved(nil, cols, time.Now().UTC())
				}
				return nil
			})
			if err != nil {
				if errors.Is(err, state.ErrNotFound) {
					return nil
				}
				continue
			}
		}
		done, err := s.finishInitialization(ctx, t)
		if done {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if rerr := s.reportInitError(ctx, table, name, task.ErrInternal, err); errors.Is(rerr, state.ErrNotFound) {
			return nil
		}
	}
}

// resolveColumns returns the columns a task delivers.
func (s *Server) resolveColumns(ctx context.Context, t task.Task) ([]task.Column, task.ErrorCode, error) {
	if t.SchemaMode == task.SchemaManual {
		return slices.Clone(t.Columns), task.ErrNone, nil
	}
	cols, err := catalog.ResolveAutoSchema(ctx, s.cfg.Catalog, t.Table, s.cfg.SampleRows)
	if err != nil {
		if errors.Is(err, catalog.ErrTableNotFound) {
			return nil, task.ErrSourceTableMissing, err
		}
		return nil, task.ErrSchemaResolution, fmt.Errorf("resolve automatic schema: %w", err)
	}
	if len(cols) == 0 {
		return nil, task.ErrSchemaResolution, errors.New("resolve automatic schema: the table has no columns")
	}
	return cols, task.ErrNone, nil
}

// finishInitialization starts the pipeline and leaves INIT. It holds no
// lock while the Runner starts (which may take a while), so a DELETE in the
// meantime is answered at once; a task deleted meanwhile (possible only when
// its initialization was stuck on an error) has its pipeline stopped again.
func (s *Server) finishInitialization(ctx context.Context, t task.Task) (done bool, err error) {
	if err := s.cfg.Runner.Start(ctx, t); err != nil {
		return false, fmt.Errorf("start pipeline: %w", err)
	}
	next := task.PhaseFull
	if t.SyncMode == task.SyncIncremental {
		next = task.PhaseIncr
	}
	_, err = s.cfg.Registry.UpdateTask(ctx, t.Table, t.Name, func(t *task.Task) error {
		// The pipeline may already have moved on (or reported an error of
		// its own); only initialization's own state is replaced.
		if t.Status.Phase == task.PhaseInit {
			t.Status.Phase = next
		}
		if slices.Contains(initErrorCodes, t.Status.ErrorCode) {
			t.Status.ClearError()
		}
		return nil
	})
	if errors.Is(err, state.ErrNotFound) {
		s.stopOrphan(t)
		return true, nil
	}
	if err != nil {
		return false, err
	}
	// A PATCH during initialization changed the stored task after the Runner
	// got its copy: hand the pipeline the current one.
	if current, err := s.cfg.Registry.GetTask(ctx, t.Table, t.Name); err == nil && !current.UpdatedAt.Equal(t.UpdatedAt) {
		if err := s.cfg.Runner.Update(ctx, current); err != nil {
			s.log.Warn("runner update after initialization failed", "task", t.ID(), "error", err)
		}
	}
	s.log.Info("task initialized", "task", t.ID(), "phase", next, "columns", len(t.Status.ResolvedColumns))
	return true, nil
}

// stopOrphan stops the pipeline of a task deleted while it was being started.
func (s *Server) stopOrphan(t task.Task) {
	unlock := s.lockTask(t.Table, t.Name)
	defer unlock()
	if _, err := s.cfg.Registry.GetTask(s.ctx, t.Table, t.Name); !errors.Is(err, state.ErrNotFound) {
		return // re-created meanwhile: it has its own lifecycle
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.cfg.Runner.Stop(ctx, t.Table, t.Name); err != nil {
		s.log.Warn("stopping the pipeline of a deleted task failed", "task", t.ID(), "error", err)
	}
}

// resume restarts stored tasks after the executor starts.
func (s *Server) resume() error {
	tasks, err := s.cfg.Registry.ListTasks(s.ctx, "")
	if err != nil {
		return fmt.Errorf("api: list stored tasks: %w", err)
	}
	for _, t := range tasks {
		switch t.Status.Phase {
		case task.PhaseInit:
			s.startInitialization(t.Table, t.Name)
		case task.PhaseFinished:
			// Nothing left to deliver.
		default:
			s.startResume(t)
		}
	}
	return nil
}

// startResume starts the Runner for a task past INIT, retrying in the
// background until it succeeds, the task is deleted or the server closes.
func (s *Server) startResume(t task.Task) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		for attempt := 0; ; attempt++ {
			if attempt > 0 && !s.pause(s.ctx, attempt-1) {
				return
			}
			current, err := s.cfg.Registry.GetTask(s.ctx, t.Table, t.Name)
			if errors.Is(err, state.ErrNotFound) {
				return
			}
			if err == nil {
				err = s.cfg.Runner.Start(s.ctx, current)
			}
			if err == nil {
				if _, gone := s.cfg.Registry.GetTask(s.ctx, t.Table, t.Name); errors.Is(gone, state.ErrNotFound) {
					s.stopOrphan(t) // deleted while it was being started
					return
				}
				s.log.Info("task resumed", "task", t.ID(), "phase", current.Status.Phase)
				return
			}
			if s.ctx.Err() != nil {
				return
			}
			s.log.Warn("task resume retrying", "task", t.ID(), "error", err)
		}
	}()
}
