package main

import (
	"bufio"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestBinaryServesAndStopsOnSIGTERM builds the binary, waits for its ready
// line, checks both endpoints answer and that SIGTERM ends it cleanly.
func TestBinaryServesAndStopsOnSIGTERM(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "localcloud")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "--data-dir", filepath.Join(dir, "data"), "--tablestore-listen", "127.0.0.1:0",
		"--oss-listen", "127.0.0.1:0", "--log-level", "warn")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() {
		t.Fatal("no ready line")
	}
	ready := map[string]string{}
	fields := strings.Fields(lines.Text())
	if len(fields) == 0 || fields[0] != "ready" {
		t.Fatalf("first line %q does not start with ready", lines.Text())
	}
	for _, f := range fields[1:] {
		k, v, _ := strings.Cut(f, "=")
		ready[k] = v
	}
	if ready["instance"] != "local" || ready["region"] != "cn-hangzhou" {
		t.Fatalf("ready line %q lacks the default instance and region", lines.Text())
	}
	for _, name := range []string{"tablestore", "oss"} {
		resp, err := http.Get(ready[name] + "/healthz")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s /healthz: %d", name, resp.StatusCode)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("did not stop within 30 s of SIGTERM")
	}
}

// TestRefusesDevelopmentKeysOffLoopback checks the flag rule and its message.
func TestRefusesDevelopmentKeysOffLoopback(t *testing.T) {
	var out, errOut strings.Builder
	code := run([]string{"--tablestore-listen", "0.0.0.0:0", "--data-dir", t.TempDir()}, &out, &errOut)
	if code != 2 || !strings.Contains(errOut.String(), "--tablestore-listen") || !strings.Contains(errOut.String(), "non-loopback") {
		t.Fatalf("code %d, stderr %q", code, errOut.String())
	}
}
