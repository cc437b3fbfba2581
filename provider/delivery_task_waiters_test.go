package provider

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// states returns a refreshFunc that reports the given states in turn and
// counts its calls.
func states(calls *int, seq ...string) refreshFunc {
	return func(context.Context) (*task.Task, string, error) {
		s := seq[min(*calls, len(seq)-1)]
		*calls++
		return &task.Task{Status: task.Status{Phase: task.Phase(s)}}, s, nil
	}
}

func TestWaitForStatePollsUntilTarget(t *testing.T) {
	ctx := context.Background()
	calls := 0
	got, err := waitForState(ctx, states(&calls, "INIT", "INIT", "FULL"), []string{"INIT"}, []string{"FULL"}, time.Millisecond)
	if err != nil || got.Status.Phase != task.PhaseFull || calls != 3 {
		t.Fatalf("waitForState = %v, %v after %d calls", got, err, calls)
	}
	calls = 0
	if _, err := waitForState(ctx, states(&calls, "INIT", "WEIRD"), []string{"INIT"}, []string{"FULL"}, time.Millisecond); err == nil ||
		!strings.Contains(err.Error(), "unexpected state WEIRD") {
		t.Fatalf("unexpected state: %v", err)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	calls = 0
	if _, err := waitForState(short, states(&calls, "INIT"), []string{"INIT"}, []string{"FULL"}, 5*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) ||
		!strings.Contains(err.Error(), "still in state INIT") {
		t.Fatalf("timeout: %v", err)
	}
	boom := errors.New("boom")
	_, err = waitForState(ctx, func(context.Context) (*task.Task, string, error) { return nil, "", boom },
		[]string{"INIT"}, []string{"FULL"}, time.Millisecond)
	if !errors.Is(err, boom) {
		t.Fatalf("read error: %v", err)
	}
}

func TestNotFoundErrorIsTyped(t *testing.T) {
	inner := errors.New("404")
	err := error(&notFoundError{ID: "orders/x", Err: inner})
	wrapped := errors.Join(errors.New("reading"), err)
	if !isNotFound(wrapped) || !errors.Is(wrapped, inner) || isNotFound(inner) {
		t.Fatal("notFoundError is not recognised through wrapping")
	}
}
