package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/client"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// Credentials of the benchmark's own local cloud and executor: loopback only,
// passed explicitly so that the caller's environment does not change them.
const (
	accessKeyID     = "bench-key"
	accessKeySecret = "bench-secret"
	apiToken        = "bench-token"
	instanceName    = "local"
	regionName      = "cn-hangzhou"
	bucketName      = "lake"
	// statusInterval is the executors' pipeline.status_interval: the
	// resolution of every time the bench reads from task status.
	statusInterval = 100 * time.Millisecond
)

// process is one started delivery-executor subcommand.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	urls    map[string]string // from its "ready k=v ..." line
	exited  chan error        // receives Wait's result once
	done    bool
	// lines receives the stdout lines after the ready line (a few are
	// kept; the bench's own child process reports its result this way).
	lines chan string
	// stdin is the child's standard input when it was started with one.
	stdin io.WriteCloser
}

// startProcess runs `binary args...` with its stderr in logPath and waits for
// the ready line the subcommands print on stdout once they serve.
func startProcess(ctx context.Context, name, binary, logPath string, env []string, args ...string) (*process, error) {
	return launch(ctx, name, binary, logPath, env, false, args)
}

// launch is startProcess, with a pipe to the child's stdin when withStdin.
func launch(ctx context.Context, name, binary, logPath string, env []string, withStdin bool, args []string) (*process, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("bench: %s log: %w", name, err)
	}
	defer func() { _ = logFile.Close() }() // the child holds its own descriptor
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = logFile
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("bench: %s stdout: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, exited: make(chan error, 1), lines: make(chan string, 16)}
	if withStdin {
		if p.stdin, err = cmd.StdinPipe(); err != nil {
			return nil, fmt.Errorf("bench: %s stdin: %w", name, err)
		}
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: start %s: %w", name, err)
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		readySeen := false
		for sc.Scan() {
			line := sc.Text()
			if !readySeen && strings.HasPrefix(line, "ready ") {
				readySeen = true
				ready <- line
				continue
			}
			select {
			case p.lines <- line:
			default: // nobody reads this process's further output
			}
		}
		p.exited <- cmd.Wait()
	}()
	select {
	case line := <-ready:
		p.urls = parseReadyLine(line)
		return p, nil
	case err := <-p.exited:
		p.done = true
		return nil, fmt.Errorf("bench: %s exited before it was ready (%w); log:\n%s", name, err, tail(logPath))
	case <-time.After(60 * time.Second):
		_ = p.stop()
		return nil, fmt.Errorf("bench: %s not ready within 60 s; log:\n%s", name, tail(logPath))
	case <-ctx.Done():
		_ = p.stop()
		return nil, ctx.Err()
	}
}

// parseReadyLine reads "ready api=http://... tablestore=... instance=local".
func parseReadyLine(line string) map[string]string {
	urls := map[string]string{}
	for _, f := range strings.Fields(strings.TrimPrefix(line, "ready ")) {
		if k, v, ok := strings.Cut(f, "="); ok {
			urls[k] = v
		}
	}
	return urls
}

// alive reports an early exit as an error carrying the end of the log.
func (p *process) alive() error {
	if p.done {
		return fmt.Errorf("bench: %s is not running", p.name)
	}
	select {
	case err := <-p.exited:
		p.done = true
		return fmt.Errorf("bench: %s exited (%w); log:\n%s", p.name, err, tail(p.logPath))
	default:
		return nil
	}
}

// cpuMeter starts measuring the process's CPU time.
func (p *process) cpuMeter() (cpuMeter, error) { return startCPUMeter(p.cmd.Process.Pid) }

// peakRSS is the process's VmHWM: the most resident memory it ever had.
func (p *process) peakRSS() (int64, error) {
	return readVmHWM(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
}

// readVmHWM reads the "VmHWM:  1234 kB" line of a /proc/<pid>/status file.
func readVmHWM(path string) (int64, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("bench: peak RSS: %w", err)
	}
	return parseVmHWM(raw)
}

func parseVmHWM(status []byte) (int64, error) {
	for _, line := range bytes.Split(status, []byte("\n")) {
		rest, ok := bytes.CutPrefix(line, []byte("VmHWM:"))
		if !ok {
			continue
		}
		fields := strings.Fields(string(rest))
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, fmt.Errorf("bench: unexpected VmHWM line %q", line)
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil || kb < 0 || kb > 1<<40 { // beyond 1 PiB: not a real figure, and << 10 would overflow
			return 0, fmt.Errorf("bench: unexpected VmHWM line %q", line)
		}
		return kb << 10, nil
	}
	return 0, errors.New("bench: no VmHWM line in the process status")
}

// stop sends SIGTERM and waits (30 s, then SIGKILL).
func (p *process) stop() error {
	if p == nil || p.done {
		return nil
	}
	p.done = true
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.exited:
		if err != nil {
			return fmt.Errorf("bench: %s exit: %w", p.name, err)
		}
		return nil
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		killed := <-p.exited
		return fmt.Errorf("bench: %s did not stop within 30 s of SIGTERM; killed: %w", p.name, killed)
	}
}

// tail returns the end of a log file for error messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// startCloud runs `delivery-executor local` on free ports and a fresh dir.
func (r *runner) startCloud(ctx context.Context) (*cloudProcess, error) {
	dir, err := r.newDir("cloud")
	if err != nil {
		return nil, err
	}
	p, err := startProcess(ctx, "local cloud", r.cfg.Binary, filepath.Join(r.work, "cloud.log"), nil,
		"local", "--data-dir", dir,
		"--tablestore-listen", "127.0.0.1:0", "--oss-listen", "127.0.0.1:0",
		"--tablestore-shards", strconv.Itoa(r.sizes.Shards),
		"--instance", instanceName, "--region", regionName,
		"--access-key-id", accessKeyID, "--access-key-secret", accessKeySecret,
		"--log-level", "warn")
	if err != nil {
		return nil, err
	}
	r.procs = append(r.procs, p)
	if p.urls["tablestore"] == "" || p.urls["oss"] == "" {
		return nil, fmt.Errorf("bench: local cloud ready line lacks URLs: %v", p.urls)
	}
	return newCloudProcess(p)
}

// executorProcess is a `delivery-executor serve --config` process and its
// REST client.
type executorProcess struct {
	*process
	api     *client.Client
	roleARN string
}

// startExecutor runs `serve --config` against the local cloud on a fresh
// data dir and registers the delivery role.
func (r *runner) startExecutor(ctx context.Context, name string) (*executorProcess, error) {
	dir, err := r.newDir(name)
	if err != nil {
		return nil, err
	}
	config := map[string]any{
		"listen":   "127.0.0.1:0",
		"data_dir": filepath.Join(dir, "data"),
		"tablestore": map[string]string{
			"endpoint": r.cloud.urls["tablestore"], "instance": instanceName, "region": regionName,
		},
		"oss": map[string]any{"endpoints": map[string]string{regionName: r.cloud.urls["oss"]}},
		// Task status refreshes every 100 ms instead of every second, so
		// that the full sync's time is not rounded up to a whole second.
		"pipeline": map[string]string{"status_interval": statusInterval.String()},
	}
	raw, err := json.MarshalIndent(config, "", "  ")
	if err != nil {
		return nil, err
	}
	configPath := filepath.Join(dir, "config.json")
	if err := os.WriteFile(configPath, raw, 0o600); err != nil {
		return nil, fmt.Errorf("bench: executor config: %w", err)
	}
	env := []string{
		"ALIBABA_CLOUD_ACCESS_KEY_ID=" + accessKeyID,
		"ALIBABA_CLOUD_ACCESS_KEY_SECRET=" + accessKeySecret,
		"DELIVERY_SECRET_KEY=", // a random key kept in the fresh data dir
	}
	env = append(env, r.cfg.ExecutorEnv...)
	p, err := startProcess(ctx, "executor "+name, r.cfg.Binary, filepath.Join(r.work, name+".log"), env,
		"serve", "--config", configPath, "--token", apiToken, "--log-level", "warn")
	if err != nil {
		return nil, err
	}
	r.procs = append(r.procs, p)
	if p.urls["api"] == "" {
		return nil, fmt.Errorf("bench: executor ready line lacks the API URL: %v", p.urls)
	}
	api, err := client.New(p.urls["api"], apiToken)
	if err != nil {
		return nil, err
	}
	role, err := api.PutRole(ctx, task.DefaultRoleName, task.RoleInput{
		OSSAccessKeyID: accessKeyID, OSSAccessKeySecret: accessKeySecret, Description: "benchmark",
	})
	if err != nil {
		return nil, fmt.Errorf("bench: put role: %w", err)
	}
	return &executorProcess{process: p, api: api, roleARN: role.ARN}, nil
}

// waitTask polls the task every interval until done returns true, the
// process exits, the task reports an error, or the timeout passes.
func (e *executorProcess) waitTask(ctx context.Context, table, name string, interval, timeout time.Duration,
	done func(task.Status) bool) (task.Status, error) {
	deadline := time.Now().Add(timeout)
	var last task.Status
	for {
		t, err := e.api.GetTask(ctx, table, name)
		if err != nil {
			return last, fmt.Errorf("bench: get task %s/%s: %w", table, name, err)
		}
		last = t.Status
		if done(last) {
			return last, nil
		}
		if last.ErrorCode != "" {
			return last, fmt.Errorf("bench: task %s/%s failed: %s: %s", table, name, last.ErrorCode, last.ErrorDetail)
		}
		if err := e.alive(); err != nil {
			return last, err
		}
		if time.Now().After(deadline) {
			return last, fmt.Errorf("bench: task %s/%s: timed out after %s in phase %s with %d rows delivered",
				table, name, timeout, last.Phase, last.RowsDelivered)
		}
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case <-time.After(interval):
		}
	}
}
