package main

import (
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"runtime/debug"
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	good := map[string]int64{"0": 0, "192MiB": 192 << 20, "1GiB": 1 << 30, "512 KiB": 512 << 10, "2GB": 2e9, "100": 100, "7B": 7}
	for in, want := range good {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "12XB", "MiB", "1.5GiB", "99999999999GiB"} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", in, got)
		}
	}
}

// The soft memory limit reaches the runtime of a real serve process: the
// default, and a flag value, as the Go collector reports them on /metrics.
func TestServeAppliesTheSoftMemoryLimit(t *testing.T) {
	cases := map[string][]string{
		"2.01326592e+08": nil,                          // default 192MiB
		"5.36870912e+08": {"--memory-limit", "512MiB"}, // explicit
	}
	for want, extra := range cases {
		args := append(append([]string{"serve", "--embedded", "--data-dir", t.TempDir()}, freeAddrs()...), extra...)
		cmd := exec.Command(binary, args...)
		cmd.Env = withoutEnv(os.Environ(), "GOMEMLIMIT")
		ready := startCmd(t, cmd)
		resp, err := http.Get(ready["api"] + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), "\ngo_gc_gomemlimit_bytes "+want+"\n") {
			t.Errorf("%v: /metrics lacks go_gc_gomemlimit_bytes %s", extra, want)
		}
	}
}

func withoutEnv(env []string, name string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}

func TestBufferBudgetIsHalfTheSoftLimit(t *testing.T) {
	old := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(old) })
	debug.SetMemoryLimit(defaultMemoryLimit)
	if got := bufferBudget(); got != defaultMemoryLimit/2 {
		t.Fatalf("budget under the default limit = %d, want %d", got, defaultMemoryLimit/2)
	}
	debug.SetMemoryLimit(math.MaxInt64)
	if got := bufferBudget(); got != 0 {
		t.Fatalf("budget without a limit = %d, want 0 (the pipelines' default)", got)
	}
}
