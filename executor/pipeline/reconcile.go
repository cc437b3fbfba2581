package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/state"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// Reconcile implements api.Reconciler for executors that share one
// registry: every executor runs a tunnel worker for every task (the tunnel
// service spreads the channels over them), so each one aligns its
// pipelines with the stored tasks. A task past INIT that runs here not yet
// is started; one whose definition changed (or that was deleted and
// created again) is restarted; a pipeline whose task is gone is stopped
// and its tunnel deleted. Tasks in INIT are left to initialization, and
// finished full syncs have nothing to run.
func (m *Manager) Reconcile(ctx context.Context, tasks []task.Task) error {
	stored := make(map[string]task.Task, len(tasks))
	for _, t := range tasks {
		stored[taskKey(t.Table, t.Name)] = t
	}
	m.mu.Lock()
	running := make(map[string]task.Task, len(m.runners))
	for key, r := range m.runners {
		running[key] = r.t
	}
	m.mu.Unlock()

	var errs []error
	for key, t := range running {
		if _, ok := stored[key]; ok {
			continue
		}
		// Gone from the listing; make sure it was not created again since.
		if _, err := m.cfg.Registry.GetTask(ctx, t.Table, t.Name); !errors.Is(err, state.ErrNotFound) {
			continue
		}
		m.log.Info("stopping the pipeline of a task deleted elsewhere", "task", key)
		if err := m.Stop(ctx, t.Table, t.Name); err != nil {
			errs = append(errs, err)
		}
	}
	for key, t := range stored {
		if t.Status.Phase == task.PhaseInit {
			continue
		}
		have, ok := running[key]
		switch {
		case !ok && t.Status.Phase == task.PhaseFinished:
			continue
		case ok && have.CreatedAt.Equal(t.CreatedAt) && have.UpdatedAt.Equal(t.UpdatedAt):
			continue
		}
		// Read it again just before starting: a task deleted since the
		// listing must not get its tunnel back.
		current, err := m.cfg.Registry.GetTask(ctx, t.Table, t.Name)
		if errors.Is(err, state.ErrNotFound) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			m.log.Info("restarting the pipeline of a task changed elsewhere", "task", key)
		} else {
			m.log.Info("starting the pipeline of a task found in the registry", "task", key, "phase", current.Status.Phase)
		}
		if err := m.Start(ctx, current); err != nil {
			errs = append(errs, fmt.Errorf("pipeline: start %s: %w", key, err))
		}
	}
	return errors.Join(errs...)
}
