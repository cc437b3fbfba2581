package reliability

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/client"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"

	"github.com/tablestore-delivery/terraform-provider-tablestore/internal/testsupport"
)

var (
	buildOnce     sync.Once
	executorPath  string
	buildErr      error
	executorBuild = "github.com/tablestore-delivery/terraform-provider-tablestore/executor/cmd/delivery-executor"
)

// executorBinary builds delivery-executor once per test binary.
func executorBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "reliability-bin")
		if err != nil {
			buildErr = err
			return
		}
		executorPath = filepath.Join(dir, "delivery-executor")
		if out, err := exec.Command("go", "build", "-o", executorPath, executorBuild).CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build delivery-executor: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return executorPath
}

// process is one running `delivery-executor serve --embedded`.
type process struct {
	cmd   *exec.Cmd
	urls  map[string]string
	api   *client.Client
	ots   *tablestore.TableStoreClient
	oss   *oss.Client
	stder *testsupport.LockedBuffer
}

func startProcess(t *testing.T, dataDir string, extra ...string) *process {
	t.Helper()
	args := append([]string{"serve", "--embedded", "--data-dir", dataDir,
		"--listen", "127.0.0.1:0", "--tablestore-listen", "127.0.0.1:0", "--oss-listen", "127.0.0.1:0"}, extra...)
	p := &process{cmd: exec.Command(executorBinary(t), args...), stder: &testsupport.LockedBuffer{}}
	p.cmd.Stderr = p.stder
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.cmd.Process.Kill(); _ = p.cmd.Wait() })
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "ready ") {
				lines <- sc.Text()
			}
		}
		close(lines)
	}()
	select {
	case line, ok := <-lines:
		if !ok {
			t.Fatalf("no ready line; stderr:\n%s", p.stder.String())
		}
		p.urls = map[string]string{}
		for _, f := range strings.Fields(strings.TrimPrefix(line, "ready ")) {
			k, v, _ := strings.Cut(f, "=")
			p.urls[k] = v
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("no ready line within 60 s; stderr:\n%s", p.stder.String())
	}
	if p.api, err = client.New(p.urls["api"], "local-dev-token"); err != nil {
		t.Fatal(err)
	}
	p.ots = tablestore.NewClient(p.urls["tablestore"], instance, "local-dev-key", "local-dev-secret")
	if p.oss, err = oss.New(p.urls["oss"], "local-dev-key", "local-dev-secret"); err != nil {
		t.Fatal(err)
	}
	return p
}

// kill ends the process with SIGKILL: no flush, no shutdown.
func (p *process) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
}

// TestKillNineUnderFaults delivers a table with `serve --embedded` while 5%
// of its OSS and tunnel calls fail, kills the process with SIGKILL in the
// middle (several times with DELIVERY_LONG), restarts it on the same data
// dir and keeps writing: every row must be in the bucket exactly once.
func TestKillNineUnderFaults(t *testing.T) {
	t.Parallel() // its own process and data dir; mostly waits
	kills := pick(1, 4)
	perPhase := int64(pick(2000, 10000))
	dataDir := t.TempDir()
	faultFlags := []string{"--fault-seed", "5", "--fault-oss-error-rate", "0.03", "--fault-oss-lost-response-rate", "0.02",
		"--fault-tunnel-error-rate", "0.03", "--fault-tunnel-reset-rate", "0.02"}
	p := startProcess(t, dataDir, faultFlags...)
	ctx := context.Background()

	// The stack's helpers write rows and read objects through this
	// process's endpoints; the bucket is created through the faulty OSS
	// endpoint, hence the retries.
	s := &stack{t: t}
	s.ots0 = p.ots
	s.createTable("orders")
	if err := retry(func() error { return p.oss.CreateBucket("lake") }); err != nil {
		t.Fatal(err)
	}
	if _, err := p.api.PutRole(ctx, task.DefaultRoleName, task.RoleInput{OSSAccessKeyID: "local-dev-key", OSSAccessKeySecret: "local-dev-secret"}); err != nil {
		t.Fatal(err)
	}
	want := s.putRows("orders", 0, perPhase, 0)
	if _, err := p.api.CreateTask(ctx, task.Spec{Name: "orders-lake", Table: "orders", Bucket: "lake", Prefix: "orders",
		SyncMode: task.SyncDifferential, Columns: columns, FlushIntervalSeconds: 1, TargetObjectSizeMB: 1}); err != nil {
		t.Fatal(err)
	}
	delivered := func() int64 {
		got, err := p.api.GetTask(ctx, "orders", "orders-lake")
		if err != nil {
			return -1
		}
		return got.Status.RowsDelivered
	}
	next := perPhase
	var before int64
	for k := 1; k <= kills; k++ {
		// Rows arrive in a few batches; once this process has delivered
		// some of them, the kill lands while the rest are in flight.
		for range 4 {
			want = append(want, s.putRows("orders", next, next+perPhase/4, int64(k))...)
			next += perPhase / 4
			time.Sleep(200 * time.Millisecond)
		}
		testsupport.WaitFor(t, time.Minute, "progress before the kill", func() string {
			if n := delivered(); n <= before {
				return fmt.Sprintf("%d rows delivered, %d before this process", n, before)
			}
			return ""
		})
		before = delivered()
		t.Logf("kill %d: SIGKILL with %d of %d rows reported delivered", k, before, next)
		p.kill(t)
		p = startProcess(t, dataDir, faultFlags...)
		s.ots0 = p.ots
	}
	want = append(want, s.putRows("orders", next, next+perPhase/2, int64(kills+1))...)
	next += perPhase / 2

	testsupport.WaitFor(t, pick(2*time.Minute, 8*time.Minute), "every row delivered after the restarts", func() string {
		if n := delivered(); n < next {
			return fmt.Sprintf("%d of %d rows delivered", n, next)
		}
		return ""
	})
	s.oss0 = p.oss
	// Reading back goes through the faulty OSS endpoint: switch faults off.
	if err := clearFaults(p.urls["oss"]); err != nil {
		t.Fatal(err)
	}
	got := deliveredRows(t, s.objects("lake", "orders/"))
	checkExactlyOnce(t, fmt.Sprintf("delivery across %d SIGKILLs under faults", kills), want, got)
}

func retry(call func() error) error {
	var err error
	for range 20 {
		if err = call(); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

func clearFaults(base string) error {
	req, err := http.NewRequest(http.MethodDelete, base+"/_admin/faults", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("DELETE /_admin/faults: %d", resp.StatusCode)
	}
	return nil
}
