package main

import (
	"bufio"
	"bytes"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "delivery-executor-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "delivery-executor")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		panic("build delivery-executor: " + err.Error() + "\n" + string(out))
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// startProcess runs the binary and returns the fields of its ready line.
func startProcess(t *testing.T, args ...string) (*exec.Cmd, map[string]string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	return cmd, startCmd(t, cmd)
}

// startCmd starts cmd and returns the fields of its ready line.
func startCmd(t *testing.T, cmd *exec.Cmd) map[string]string {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "ready ") {
				lines <- sc.Text()
				return
			}
		}
		close(lines)
	}()
	select {
	case line, ok := <-lines:
		if !ok {
			t.Fatalf("process ended without a ready line; stderr:\n%s", stderr.String())
		}
		fields := map[string]string{}
		for _, f := range strings.Fields(strings.TrimPrefix(line, "ready ")) {
			k, v, _ := strings.Cut(f, "=")
			fields[k] = v
		}
		return fields
	case <-time.After(30 * time.Second):
		t.Fatalf("no ready line within 30 s; stderr:\n%s", stderr.String())
	}
	return nil
}

func freeAddrs() []string {
	return []string{"--listen", "127.0.0.1:0", "--tablestore-listen", "127.0.0.1:0", "--oss-listen", "127.0.0.1:0"}
}

func TestServeEmbeddedReadyHealthAndGracefulStop(t *testing.T) {
	args := append([]string{"serve", "--embedded", "--data-dir", t.TempDir()}, freeAddrs()...)
	cmd, ready := startProcess(t, args...)
	for _, name := range []string{"api", "tablestore", "oss"} {
		url, ok := ready[name]
		if !ok || !strings.HasPrefix(url, "http://127.0.0.1:") {
			t.Fatalf("ready line lacks %s URL: %v", name, ready)
		}
		resp, err := http.Get(url + "/healthz")
		if err != nil {
			t.Fatalf("%s /healthz: %v", name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s /healthz: status %d", name, resp.StatusCode)
		}
	}
	if ready["instance"] != "local" || ready["region"] != "cn-hangzhou" {
		t.Fatalf("ready line instance/region: %v", ready)
	}
	resp, err := http.Get(ready["api"] + "/v1/tasks")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("/v1/tasks without token: status %d, want 401", resp.StatusCode)
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
		t.Fatal("no exit within 30 s of SIGTERM")
	}
}

func TestLocalServesOnlyTheLocalCloud(t *testing.T) {
	args := []string{"local", "--data-dir", t.TempDir(), "--tablestore-listen", "127.0.0.1:0", "--oss-listen", "127.0.0.1:0"}
	_, ready := startProcess(t, args...)
	if _, ok := ready["api"]; ok {
		t.Fatalf("local must not serve the executor API: %v", ready)
	}
	if ready["tablestore"] == "" || ready["oss"] == "" {
		t.Fatalf("ready line lacks local cloud URLs: %v", ready)
	}
}

func TestRefusesDevelopmentCredentialsOffLoopback(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--embedded", "--listen", "0.0.0.0:0"}, "--listen: refusing to listen on non-loopback address"},
		{[]string{"local", "--oss-listen", "0.0.0.0:0"}, "--oss-listen: refusing to listen on non-loopback address"},
		{[]string{"serve"}, "--embedded or --config: one is required"},
		{[]string{"local", "--tablestore-shards", "0"}, "--tablestore-shards: must be between 1 and 64"},
		{[]string{"local", "--tablestore-stream-retention", "0s"}, "--tablestore-stream-retention: must be a positive duration"},
		{[]string{"local", "--tablestore-split-rows", "-1"}, "--tablestore-split-rows: must be 0 (off) or positive"},
		{[]string{"serve", "--embedded", "--memory-limit", "lots"}, `"lots" is not a size`},
	}
	for _, c := range cases {
		out, err := exec.Command(binary, append(c.args, "--data-dir", t.TempDir())...).CombinedOutput()
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) || exitErr.ExitCode() != 2 {
			t.Fatalf("%v: want exit code 2, got %v; output:\n%s", c.args, err, out)
		}
		if !strings.Contains(string(out), c.want) {
			t.Fatalf("%v: output %q lacks %q", c.args, out, c.want)
		}
	}
}

func TestRestartKeepsData(t *testing.T) {
	dir := t.TempDir()
	args := append([]string{"serve", "--embedded", "--data-dir", dir}, freeAddrs()...)
	cmd, ready := startProcess(t, args...)
	req, _ := http.NewRequest(http.MethodPut, ready["api"]+"/v1/roles/keeper",
		strings.NewReader(`{"oss_access_key_id":"local-dev-key","oss_access_key_secret":"local-dev-secret"}`))
	req.Header.Set("Authorization", "Bearer local-dev-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT role: status %d", resp.StatusCode)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()

	_, ready = startProcess(t, args...)
	req, _ = http.NewRequest(http.MethodGet, ready["api"]+"/v1/roles/keeper", nil)
	req.Header.Set("Authorization", "Bearer local-dev-token")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("role after restart: status %d, want 200", resp.StatusCode)
	}
}

func TestServeWithConfigAgainstSeparateLocalCloud(t *testing.T) {
	_, cloud := startProcess(t, "local", "--data-dir", t.TempDir(), "--tablestore-listen", "127.0.0.1:0", "--oss-listen", "127.0.0.1:0")
	cfgPath := filepath.Join(t.TempDir(), "executor.json")
	cfg := `{"listen":"127.0.0.1:0","tablestore":{"endpoint":"` + cloud["tablestore"] + `","instance":"local","region":"cn-hangzhou"},` +
		`"oss":{"endpoints":{"cn-hangzhou":"` + cloud["oss"] + `"}}}`
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "serve", "--config", cfgPath, "--data-dir", t.TempDir())
	cmd.Env = append(os.Environ(), "ALIBABA_CLOUD_ACCESS_KEY_ID=local-dev-key", "ALIBABA_CLOUD_ACCESS_KEY_SECRET=local-dev-secret")
	ready := startCmd(t, cmd)
	if ready["api"] == "" || ready["tablestore"] != "" {
		t.Fatalf("serve --config must serve the API only: %v", ready)
	}
	req, _ := http.NewRequest(http.MethodPut, ready["api"]+"/v1/roles/cfg-role",
		strings.NewReader(`{"oss_access_key_id":"local-dev-key","oss_access_key_secret":"local-dev-secret"}`))
	req.Header.Set("Authorization", "Bearer local-dev-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT role through serve --config: status %d", resp.StatusCode)
	}
}

func TestServeConfigErrorsNameTheField(t *testing.T) {
	cases := map[string]string{
		`{"tablestore":{"endpoint":"http://127.0.0.1:1","region":"cn-hangzhou"},"oss":{"endpoints":{"cn-hangzhou":"http://127.0.0.1:2"}}}`:                         "tablestore.instance: required",
		`{"tablestore":{"endpoint":"ftp://x","instance":"i","region":"cn-hangzhou"},"oss":{"endpoints":{"cn-hangzhou":"http://127.0.0.1:2"}}}`:                     "tablestore.endpoint:",
		`{"tablestore":{"endpoint":"http://127.0.0.1:1","instance":"i","region":"cn-hangzhou"},"oss":{"endpoints":{"cn-beijing":"http://127.0.0.1:2"}}}`:           `no endpoint for the instance's region "cn-hangzhou"`,
		`{"tablestore":{"endpoint":"http://127.0.0.1:1","instance":"i","region":"cn-hangzhou"},"oss":{"endpoints":{"cn-hangzhou":"http://127.0.0.1:2"}},"typo":1}`: `unknown field "typo"`,
	}
	for body, want := range cases {
		path := filepath.Join(t.TempDir(), "c.json")
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(binary, "serve", "--config", path)
		cmd.Env = append(os.Environ(), "ALIBABA_CLOUD_ACCESS_KEY_ID=k", "ALIBABA_CLOUD_ACCESS_KEY_SECRET=s")
		out, err := cmd.CombinedOutput()
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) || exitErr.ExitCode() != 2 || !strings.Contains(string(out), want) {
			t.Fatalf("config %s: want exit 2 with %q, got %v:\n%s", body, want, err, out)
		}
	}
}
