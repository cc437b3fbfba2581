package provider

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/client"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// Finders, status functions and waiters in the shape of
// terraform-provider-aws (internal/service/*/find.go, status.go, wait.go):
// findTaskByID reads one task and says "not found" with a type of its own,
// statusTask turns a read into a state name, and each waiter is that
// status polled by one helper until a target state.

// notFoundError is findTaskByID's answer for a task the executor does not
// have (the aws provider's retry.NotFoundError).
type notFoundError struct {
	ID  string
	Err error
}

func (e *notFoundError) Error() string { return "delivery task " + e.ID + " not found" }
func (e *notFoundError) Unwrap() error { return e.Err }

// isNotFound reports whether err is (or wraps) a notFoundError.
func isNotFound(err error) bool {
	var nf *notFoundError
	return errors.As(err, &nf)
}

// findTaskByID reads the task "<table>/<name>".
func findTaskByID(ctx context.Context, c *client.Client, table, name string) (*task.Task, error) {
	t, err := c.GetTask(ctx, table, name)
	if client.IsNotFound(err) {
		return nil, &notFoundError{ID: table + "/" + name, Err: err}
	}
	if err != nil {
		return nil, err
	}
	return t, nil
}

// Task states as the waiters see them: the phases, plus these two.
const (
	// stateInitError: still in INIT, but initialization reports an error
	// (the source table vanished, the schema cannot be resolved); it keeps
	// retrying, and that is worth showing in state rather than waiting out.
	stateInitError = "INIT_ERROR"
	// stateGone: the task does not exist (any more).
	stateGone = "GONE"
)

// refreshFunc reads something and names its state.
type refreshFunc func(ctx context.Context) (result *task.Task, state string, err error)

// statusTask is the status function of a task.
func statusTask(c *client.Client, table, name string) refreshFunc {
	return func(ctx context.Context) (*task.Task, string, error) {
		t, err := findTaskByID(ctx, c, table, name)
		if isNotFound(err) {
			return nil, stateGone, nil
		}
		if err != nil {
			return nil, "", err
		}
		if t.Status.Phase == task.PhaseInit && t.Status.ErrorCode != task.ErrNone {
			return t, stateInitError, nil
		}
		return t, string(t.Status.Phase), nil
	}
}

// waitForState polls refresh every interval until it reports one of the
// target states (returning that result), a state that is neither pending nor
// a target (an error), a read error, or ctx ends.
func waitForState(ctx context.Context, refresh refreshFunc, pending, target []string, interval time.Duration) (*task.Task, error) {
	for {
		t, state, err := refresh(ctx)
		if err != nil {
			return nil, err
		}
		if slices.Contains(target, state) {
			return t, nil
		}
		if !slices.Contains(pending, state) {
			return t, fmt.Errorf("unexpected state %s, wanted %v", state, target)
		}
		select {
		case <-ctx.Done():
			return t, fmt.Errorf("still in state %s: %w", state, ctx.Err())
		case <-time.After(interval):
		}
	}
}

// waitTaskReady waits until a created task leaves INIT, or reports an
// initialization error.
func waitTaskReady(ctx context.Context, c *client.Client, table, name string) (*task.Task, error) {
	return waitForState(ctx, statusTask(c, table, name),
		[]string{string(task.PhaseInit)},
		[]string{string(task.PhaseFull), string(task.PhaseIncr), string(task.PhaseFinished), stateInitError},
		pollInterval)
}

// waitTaskDeletable waits until the executor accepts the task's deletion:
// it refuses one that initializes (409 TaskInitializing) unless its
// initialization is stuck on an error; a task already gone is fine too.
func waitTaskDeletable(ctx context.Context, c *client.Client, table, name string) error {
	_, err := waitForState(ctx, statusTask(c, table, name),
		[]string{string(task.PhaseInit)},
		[]string{string(task.PhaseFull), string(task.PhaseIncr), string(task.PhaseFinished), stateInitError, stateGone},
		pollInterval)
	return err
}
