package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/client"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// Development credentials of the embedded executor (printed by it at start).
const (
	accessKeyID     = "local-dev-key"
	accessKeySecret = "local-dev-secret"
	apiToken        = "local-dev-token"
	instance        = "local"
	region          = "cn-hangzhou"
	tableName       = "orders"
	bucketName      = "lake"
	taskName        = "orders-lake" // as in examples/quickstart/main.tf
)

type demo struct {
	opts   options
	out    io.Writer
	errOut io.Writer

	tmp         string
	binDir      string
	executor    *exec.Cmd
	executorLog string
	exited      chan error
	urls        map[string]string // api, tablestore, oss

	tablestore *tablestore.TableStoreClient
	bucket     *oss.Bucket
	api        *client.Client
	step       int
}

func (d *demo) say(format string, args ...any) {
	d.step++
	fmt.Fprintf(d.out, "\n== %d. %s\n", d.step, fmt.Sprintf(format, args...))
}

func (d *demo) run(ctx context.Context) error {
	start := time.Now()
	var err error
	if d.tmp, err = os.MkdirTemp("", "delivery-demo-"); err != nil {
		return err
	}
	d.binDir = filepath.Join(d.opts.repoRoot, "build", "demo")

	d.say("build the provider and the executor into %s", d.binDir)
	if err := d.build(ctx); err != nil {
		return err
	}
	tf, err := d.findTerraform(ctx)
	if err != nil {
		return err
	}

	d.say("start delivery-executor serve --embedded on a fresh data dir")
	if err := d.startExecutor(ctx); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "executor API  %s\nTablestore    %s (instance %s)\nOSS           %s\nstatus page   %s/ui\n",
		d.urls["api"], d.urls["tablestore"], instance, d.urls["oss"], d.urls["api"])

	d.say("create table %q and load %d sample orders with the Tablestore SDK", tableName, d.opts.rows)
	d.tablestore = tablestore.NewClient(d.urls["tablestore"], instance, accessKeyID, accessKeySecret)
	if err := d.createTable(); err != nil {
		return err
	}
	loadStart := time.Now()
	if err := d.writeOrders(ctx, 0, d.opts.rows, time.Now().Add(-30*24*time.Hour), 30*24*time.Hour); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "wrote %s rows in %s\n", groupDigits(int64(d.opts.rows)), time.Since(loadStart).Round(time.Millisecond))

	d.say("create bucket %q with the OSS SDK", bucketName)
	if err := d.createBucket(); err != nil {
		return err
	}

	d.say("apply examples/quickstart with %s", tf.describe)
	if d.api, err = client.New(d.urls["api"], apiToken); err != nil {
		return err
	}
	outputs, err := d.terraformApply(ctx, tf)
	if err != nil {
		return err
	}
	created, err := d.api.GetTask(ctx, tableName, taskName)
	if err != nil {
		return fmt.Errorf("task created by terraform: %w", err)
	}
	fmt.Fprintf(d.out, "task %s created: phase %s, %d columns resolved from the table\n", outputs.TaskID, created.Status.Phase, len(created.Status.ResolvedColumns))

	d.say("full sync: deliver the %s existing rows", groupDigits(int64(d.opts.rows)))
	if err := d.waitDelivered(ctx, int64(d.opts.rows), true); err != nil {
		return err
	}

	d.say("incremental phase: write %s more rows and watch them arrive", groupDigits(int64(d.opts.extraRows)))
	if err := d.writeOrders(ctx, d.opts.rows, d.opts.extraRows, time.Now().Add(-time.Hour), time.Hour); err != nil {
		return err
	}
	total := int64(d.opts.rows + d.opts.extraRows)
	if err := d.waitDelivered(ctx, total, false); err != nil {
		return err
	}

	d.say("task status (delivery-executor status / tasks describe)")
	if err := d.runCLI(ctx, "status"); err != nil {
		return err
	}
	if err := d.runCLI(ctx, "tasks", "describe", tableName+"/"+taskName); err != nil {
		return err
	}
	d.say("the same task through the Tablestore SDK's delivery API (as on the managed service)")
	if err := d.describeThroughSDK(); err != nil {
		return err
	}

	d.say("delivered objects in oss://%s/%s/", bucketName, tableName)
	lakeDir := filepath.Join(d.tmp, "lake")
	objects, err := d.downloadObjects(ctx, lakeDir)
	if err != nil {
		return err
	}
	printObjects(d.out, objects)

	d.say("DDL statement (terraform output create_table_ddl)")
	fmt.Fprintln(d.out, strings.TrimSpace(outputs.DDL))

	d.say("query the delivered data and compare with the source table")
	source, err := d.countSource(ctx)
	if err != nil {
		return err
	}
	result, err := d.query(ctx, lakeDir, objects)
	if err != nil {
		return err
	}
	fmt.Fprintf(d.out, "source table %q:       %s rows\n", tableName, groupDigits(source))
	fmt.Fprintf(d.out, "delivered (%s): %s rows, %s distinct order ids\n", result.engine, groupDigits(result.rows), groupDigits(result.distinct))
	for _, p := range result.partitions {
		fmt.Fprintf(d.out, "  %s\n", p)
	}
	if result.rows != source || result.distinct != source || source != total {
		return fmt.Errorf("counts differ: source %d rows (expected %d written), delivered %d rows with %d distinct ids", source, total, result.rows, result.distinct)
	}
	fmt.Fprintf(d.out, "\nOK: every source row was delivered exactly once (%s rows) in %s.\n", groupDigits(source), time.Since(start).Round(time.Second))

	if d.opts.hold {
		fmt.Fprintf(d.out, "\nThe executor keeps running: status page %s/ui. Press Ctrl-C to stop.\n", d.urls["api"])
		<-ctx.Done()
	}
	return nil
}

// build compiles the provider and the executor.
func (d *demo) build(ctx context.Context) error {
	for _, b := range []struct{ out, pkg string }{
		{"terraform-provider-tablestore", "."},
		{"delivery-executor", "./executor/cmd/delivery-executor"},
	} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(d.binDir, b.out), b.pkg)
		cmd.Dir = d.opts.repoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %w\n%s", b.pkg, err, out)
		}
		fmt.Fprintf(d.out, "built %s\n", filepath.Join(d.binDir, b.out))
	}
	return nil
}

type terraformCLI struct {
	path     string
	describe string
}

// findTerraform returns the CLI to apply the quickstart with: the flag,
// terraform or tofu on PATH, ./bin/tofu, or OpenTofu built into ./bin/tofu.
func (d *demo) findTerraform(ctx context.Context) (terraformCLI, error) {
	path := d.opts.terraform
	if path == "" {
		for _, name := range []string{"terraform", "tofu"} {
			if p, err := exec.LookPath(name); err == nil {
				path = p
				break
			}
		}
	}
	if path == "" {
		path = filepath.Join(d.opts.repoRoot, "bin", "tofu")
		if _, err := os.Stat(path); err != nil {
			fmt.Fprintln(d.out, "no terraform or tofu on PATH: building OpenTofu into ./bin/tofu (a few minutes the first time)")
			cmd := exec.CommandContext(ctx, "make", "bin/tofu")
			cmd.Dir, cmd.Stdout, cmd.Stderr = d.opts.repoRoot, d.out, d.errOut
			if err := cmd.Run(); err != nil {
				return terraformCLI{}, fmt.Errorf("build OpenTofu (make bin/tofu): %w", err)
			}
		}
	}
	if resolved, err := exec.LookPath(path); err == nil {
		path = resolved
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs // terraform runs in another directory
	}
	version := exec.CommandContext(ctx, path, "version")
	version.Env = append(os.Environ(), "CHECKPOINT_DISABLE=1")
	out, err := version.Output()
	if err != nil {
		return terraformCLI{}, fmt.Errorf("%s version: %w", path, err)
	}
	// The version line, past any warning about the user's CLI configuration.
	describe := filepath.Base(path)
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "Terraform v") || strings.HasPrefix(line, "OpenTofu v") {
			describe = strings.TrimSpace(line)
			break
		}
	}
	fmt.Fprintf(d.out, "using %s (%s)\n", path, describe)
	return terraformCLI{path: path, describe: describe}, nil
}

// startExecutor starts the embedded executor on free ports and reads its
// ready line.
func (d *demo) startExecutor(ctx context.Context) error {
	d.executorLog = filepath.Join(d.tmp, "executor.log")
	logFile, err := os.Create(d.executorLog)
	if err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(d.binDir, "delivery-executor"), "serve", "--embedded",
		"--data-dir", filepath.Join(d.tmp, "data"),
		"--listen", "127.0.0.1:0", "--tablestore-listen", "127.0.0.1:0", "--oss-listen", "127.0.0.1:0",
		"--log-level", "warn")
	cmd.Stderr = logFile
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start executor: %w", err)
	}
	_ = logFile.Close() // the child holds its own descriptor
	d.executor = cmd
	d.exited = make(chan error, 1)
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "ready ") {
				ready <- sc.Text()
			}
		}
		d.exited <- cmd.Wait()
	}()
	select {
	case line := <-ready:
		d.urls = map[string]string{}
		for _, f := range strings.Fields(strings.TrimPrefix(line, "ready ")) {
			k, v, _ := strings.Cut(f, "=")
			d.urls[k] = v
		}
		if d.urls["api"] == "" || d.urls["tablestore"] == "" || d.urls["oss"] == "" {
			return fmt.Errorf("executor ready line lacks URLs: %q", line)
		}
		fmt.Fprintln(d.out, line)
		return nil
	case err := <-d.exited:
		d.exited <- err
		return fmt.Errorf("executor exited before it was ready (%w); log:\n%s", err, tail(d.executorLog))
	case <-time.After(60 * time.Second):
		return fmt.Errorf("executor not ready within 60 s; log:\n%s", tail(d.executorLog))
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (d *demo) createBucket() error {
	c, err := oss.New(d.urls["oss"], accessKeyID, accessKeySecret)
	if err != nil {
		return fmt.Errorf("oss client: %w", err)
	}
	if err := c.CreateBucket(bucketName); err != nil {
		return fmt.Errorf("create bucket: %w", err)
	}
	if d.bucket, err = c.Bucket(bucketName); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "bucket oss://%s created in %s\n", bucketName, region)
	return nil
}

type quickstartOutputs struct {
	TaskID string
	DDL    string
}

// terraformApply applies examples/quickstart with a CLI configuration whose
// dev_overrides point at the freshly built provider: no registry is asked.
func (d *demo) terraformApply(ctx context.Context, tf terraformCLI) (quickstartOutputs, error) {
	work := filepath.Join(d.tmp, "quickstart")
	if err := os.MkdirAll(work, 0o755); err != nil {
		return quickstartOutputs{}, err
	}
	src, err := os.ReadFile(filepath.Join(d.opts.repoRoot, "examples", "quickstart", "main.tf"))
	if err != nil {
		return quickstartOutputs{}, err
	}
	if err := os.WriteFile(filepath.Join(work, "main.tf"), src, 0o644); err != nil {
		return quickstartOutputs{}, err
	}
	cliConfig := filepath.Join(d.tmp, "terraformrc")
	rc := fmt.Sprintf("provider_installation {\n  dev_overrides {\n    %q = %q\n  }\n  direct {}\n}\n", "tablestore-delivery/tablestore", d.binDir)
	if err := os.WriteFile(cliConfig, []byte(rc), 0o644); err != nil {
		return quickstartOutputs{}, err
	}
	env := append(os.Environ(), "TF_CLI_CONFIG_FILE="+cliConfig, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1",
		"TF_INPUT=0", "TF_VAR_endpoint="+d.urls["api"], "TF_VAR_token="+apiToken, "TF_VAR_table="+tableName, "TF_VAR_bucket="+bucketName)
	runTF := func(stdout io.Writer, args ...string) error {
		cmd := exec.CommandContext(ctx, tf.path, args...)
		cmd.Dir, cmd.Env, cmd.Stdout = work, env, stdout
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s %s: %w\n%s", filepath.Base(tf.path), args[0], err, stderr.String())
		}
		return nil
	}
	fmt.Fprintf(d.out, "%s apply -auto-approve  (dev_overrides → %s)\n", filepath.Base(tf.path), d.binDir)
	// Show what Terraform does, not the outputs it prints at the end (they
	// follow in their own steps).
	applyOut := &prefixWriter{w: d.out, prefix: "  │ ", until: "Outputs:"}
	if err := runTF(applyOut, "apply", "-auto-approve", "-no-color"); err != nil {
		return quickstartOutputs{}, err
	}
	var raw strings.Builder
	if err := runTF(&raw, "output", "-json"); err != nil {
		return quickstartOutputs{}, err
	}
	var outs map[string]struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal([]byte(raw.String()), &outs); err != nil {
		return quickstartOutputs{}, fmt.Errorf("decode terraform output: %w", err)
	}
	var q quickstartOutputs
	for name, dst := range map[string]*string{"task_id": &q.TaskID, "create_table_ddl": &q.DDL} {
		v, ok := outs[name]
		if !ok {
			return q, fmt.Errorf("terraform output lacks %q", name)
		}
		if err := json.Unmarshal(v.Value, dst); err != nil {
			return q, fmt.Errorf("terraform output %q: %w", name, err)
		}
	}
	return q, nil
}

// waitDelivered polls the task until it delivered want rows (and, for the
// full sync, reached the incremental phase), drawing a progress bar.
func (d *demo) waitDelivered(ctx context.Context, want int64, fullSync bool) error {
	started := time.Now()
	tty := isTerminal(d.out)
	var lastPrint time.Time
	var last task.Task
	for {
		t, err := d.api.GetTask(ctx, tableName, taskName)
		if err != nil {
			return fmt.Errorf("get task: %w", err)
		}
		last = *t
		done := t.Status.RowsDelivered >= want && (!fullSync || t.Status.Phase == task.PhaseIncr)
		if tty || done || time.Since(lastPrint) >= 3*time.Second {
			line := fmt.Sprintf("%-5s %s %5.1f%%  %s / %s rows  %d objects  %s", t.Status.Phase,
				progressBar(t.Status.RowsDelivered, want, 30), percentOf(t.Status.RowsDelivered, want),
				groupDigits(t.Status.RowsDelivered), groupDigits(want), t.Status.ObjectsWritten,
				time.Since(started).Round(time.Second))
			if t.Status.ErrorCode != "" {
				line += "  error " + string(t.Status.ErrorCode) + ": " + t.Status.ErrorDetail
			}
			if tty {
				fmt.Fprintf(d.out, "\r%-110s", line)
			} else {
				fmt.Fprintln(d.out, line)
			}
			lastPrint = time.Now()
		}
		if done {
			if tty {
				fmt.Fprintln(d.out)
			}
			return nil
		}
		if t.Status.RowsDelivered > want {
			return fmt.Errorf("task delivered %d rows, more than the %d written", t.Status.RowsDelivered, want)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d rows (task at %d, phase %s, error %q): %w", want, last.Status.RowsDelivered, last.Status.Phase, last.Status.ErrorCode, ctx.Err())
		case err := <-d.exited:
			d.exited <- err
			return fmt.Errorf("executor exited (%w); log:\n%s", err, tail(d.executorLog))
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// runCLI runs the executor's own command line against the running executor.
func (d *demo) runCLI(ctx context.Context, args ...string) error {
	fmt.Fprintf(d.out, "$ delivery-executor %s\n", strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, filepath.Join(d.binDir, "delivery-executor"), args...)
	cmd.Env = append(os.Environ(), "TABLESTORE_DELIVERY_ENDPOINT="+d.urls["api"], "TABLESTORE_DELIVERY_TOKEN="+apiToken)
	cmd.Stdout, cmd.Stderr = d.out, d.errOut
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("delivery-executor %s: %w", strings.Join(args, " "), err)
	}
	return nil
}

// cleanup stops the executor (SIGTERM, then a kill after 30 s) and removes
// the temporary directory unless --keep.
func (d *demo) cleanup() error {
	var errs []error
	if d.executor != nil && d.executor.Process != nil {
		fmt.Fprintln(d.out, "\nstopping the executor")
		_ = d.executor.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-d.exited:
			if err != nil {
				errs = append(errs, fmt.Errorf("executor exit: %w", err))
			}
		case <-time.After(30 * time.Second):
			_ = d.executor.Process.Kill()
			if err := <-d.exited; err != nil {
				fmt.Fprintf(d.errOut, "executor killed: %v\n", err)
			}
			errs = append(errs, errors.New("executor did not stop within 30 s of SIGTERM; killed"))
		}
	}
	if d.tmp != "" {
		if d.opts.keep {
			fmt.Fprintf(d.out, "kept %s (executor.log, data/, quickstart/, lake/)\n", d.tmp)
		} else if err := os.RemoveAll(d.tmp); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// tail returns the end of a log file for error messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// prefixWriter indents another program's output line by line.
type prefixWriter struct {
	w      io.Writer
	prefix string
	until  string // stop copying at a line starting with this (empty: never)
	midLn  bool
	done   bool
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line == "" || p.done {
			continue
		}
		if p.until != "" && !p.midLn && strings.HasPrefix(line, p.until) {
			p.done = true
			continue
		}
		if !p.midLn {
			if _, err := io.WriteString(p.w, p.prefix); err != nil {
				return 0, err
			}
		}
		if _, err := io.WriteString(p.w, line); err != nil {
			return 0, err
		}
		p.midLn = !strings.HasSuffix(line, "\n")
	}
	return len(b), nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0 && os.Getenv("CI") == ""
}

func progressBar(done, total int64, width int) string {
	filled := width
	if total > 0 && done < total {
		// In floating point: width*done may overflow int64 for huge counts.
		filled = min(width, max(0, int(float64(width)*float64(done)/float64(total))))
	}
	return "[" + strings.Repeat("#", filled) + strings.Repeat(".", width-filled) + "]"
}

func percentOf(done, total int64) float64 {
	if total <= 0 {
		return 0
	}
	return min(100, 100*float64(done)/float64(total))
}

func groupDigits(n int64) string {
	if n < 0 {
		return "-" + groupDigits(-n)
	}
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}
