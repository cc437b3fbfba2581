// Package testsupport holds what the project's tests share: waiting for a
// condition, loggers that stay quiet unless asked, and a buffer that many
// goroutines may write logs into. It is imported by _test.go files only.
package testsupport

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"
)

// WaitFor polls cond every interval until it reports nothing left to wait
// for (an empty string), and fails the test after timeout with what and the
// last report.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	interval := min(100*time.Millisecond, max(timeout/100, 5*time.Millisecond))
	for {
		last := cond()
		if last == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s: %s", timeout, what, last)
		}
		time.Sleep(interval)
	}
}

// WaitUntil is WaitFor for a condition that is simply true or false.
func WaitUntil(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	WaitFor(t, timeout, what, func() string {
		if cond() {
			return ""
		}
		return "not yet"
	})
}

// WaitOK is WaitFor for a condition that may fail; the last error is
// reported on timeout.
func WaitOK(t testing.TB, timeout time.Duration, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	WaitFor(t, timeout, what, func() string {
		ok, err := cond(ctx)
		switch {
		case ok:
			return ""
		case err != nil:
			return "last error: " + err.Error()
		}
		return "not yet"
	})
}

// QuietLogger discards everything, unless the environment variable env is
// set (to anything): then it logs at debug level to stderr, so a failing
// test can be run again with its logs.
func QuietLogger(env string) *slog.Logger {
	if env != "" && os.Getenv(env) != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// LockedBuffer collects output written from many goroutines.
type LockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

var _ io.Writer = (*LockedBuffer)(nil)

func (b *LockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// WriteString appends s.
func (b *LockedBuffer) WriteString(s string) { _, _ = b.Write([]byte(s)) }

// Printf appends a formatted line part.
func (b *LockedBuffer) Printf(format string, args ...any) {
	b.WriteString(fmt.Sprintf(format, args...))
}

func (b *LockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
