package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/state"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// Reconciler is implemented by a Runner that can align its pipelines with
// the registry's tasks, for tasks created, changed or deleted through
// another executor that shares the registry.
type Reconciler interface {
	// Reconcile gets every stored task: it runs a pipeline for each task
	// past INIT (and not finished), restarts those whose definition
	// changed, and stops those whose task is gone.
	Reconcile(ctx context.Context, tasks []task.Task) error
}

func randomOwner() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "executor-" + hex.EncodeToString(b)
}

// claimInit takes (or renews) the task's initialization claim, so that of
// several executors sharing the registry only one initializes it. Without
// a shared registry there is nothing to claim.
func (s *Server) claimInit(ctx context.Context, table, name string) (bool, error) {
	claimer, ok := s.cfg.Registry.(state.Claimer)
	if !ok {
		return true, nil
	}
	return claimer.Claim(ctx, table, name, "init", s.cfg.Owner, s.cfg.InitClaimTTL)
}

// startReconcile runs reconcile every ReconcileInterval until Close.
func (s *Server) startReconcile() {
	s.every(s.cfg.ReconcileInterval, "reconcile with the registry failed", s.reconcile)
}

// every runs fn every interval (never when it is not positive) until
// Close, logging a failure with what unless the server is closing.
func (s *Server) every(interval time.Duration, what string, fn func(context.Context) error) {
	if interval <= 0 {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-s.ctx.Done():
				return
			case <-tick.C:
			}
			if err := fn(s.ctx); err != nil && s.ctx.Err() == nil {
				s.log.Warn(what, "error", err)
			}
		}
	}()
}

// reconcile reads every task once: tasks in INIT get an initialization
// attempt here (a no-op when one runs here already or another executor
// holds the claim), and the Runner aligns its pipelines with the list.
func (s *Server) reconcile(ctx context.Context) error {
	tasks, err := s.cfg.Registry.ListTasks(ctx, "")
	if err != nil {
		return err
	}
	for _, t := range tasks {
		if t.Status.Phase == task.PhaseInit {
			s.startInitialization(t.Table, t.Name)
		}
	}
	if r, ok := s.cfg.Runner.(Reconciler); ok {
		return r.Reconcile(ctx, tasks)
	}
	return nil
}
