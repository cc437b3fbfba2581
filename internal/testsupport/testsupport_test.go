package testsupport

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is a testing.TB that records Fatalf instead of stopping.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = format
	for _, a := range args {
		if s, ok := a.(string); ok {
			r.failed += " " + s
		}
	}
	panic(r)
}

func fatalOf(t *testing.T, fn func(tb testing.TB)) string {
	t.Helper()
	r := &recorder{TB: t}
	func() {
		defer func() {
			if p := recover(); p != nil && p != r {
				panic(p)
			}
		}()
		fn(r)
	}()
	return r.failed
}

func TestWaitForReturnsOnceTheConditionHolds(t *testing.T) {
	calls := 0
	WaitFor(t, time.Second, "three calls", func() string {
		calls++
		if calls < 3 {
			return "only " + string(rune('0'+calls))
		}
		return ""
	})
	if calls != 3 {
		t.Fatalf("calls = %d, want 3", calls)
	}
}

func TestWaitForFailsWithTheLastReport(t *testing.T) {
	msg := fatalOf(t, func(tb testing.TB) {
		WaitFor(tb, 30*time.Millisecond, "never", func() string { return "still 7 missing" })
	})
	if !strings.Contains(msg, "never") || !strings.Contains(msg, "still 7 missing") {
		t.Fatalf("failure message %q lacks what and the last report", msg)
	}
}

func TestWaitOKReportsTheLastError(t *testing.T) {
	msg := fatalOf(t, func(tb testing.TB) {
		WaitOK(tb, 30*time.Millisecond, "a server", func(context.Context) (bool, error) { return false, errors.New("refused") })
	})
	if !strings.Contains(msg, "refused") {
		t.Fatalf("failure message %q lacks the last error", msg)
	}
}

func TestLockedBufferKeepsEveryWrite(t *testing.T) {
	var b LockedBuffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				b.WriteString("x")
			}
		}()
	}
	wg.Wait()
	if n := len(b.String()); n != 800 {
		t.Fatalf("buffer holds %d bytes, want 800", n)
	}
}
