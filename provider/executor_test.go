package provider

// The acceptance tests' harness: every test runs its own real executor
// (`delivery-executor serve --embedded`) on its own data dir and ports, and a
// real Terraform or OpenTofu CLI drives the provider against it.

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/client"

	"github.com/tablestore-delivery/terraform-provider-tablestore/internal/testsupport"
)

// Development credentials of the embedded executor (loopback only).
const (
	testToken     = "local-dev-token"
	testKeyID     = "local-dev-key"
	testKeySecret = "local-dev-secret"
	testInstance  = "local"
)

// executorBinary is built once per test binary, by the first test that
// needs an executor (the plan-time validation tests do not).
var (
	executorBinary   string
	buildExecutor    sync.Once
	buildExecutorErr error
)

// testAccProtoV6ProviderFactories serves the provider in-process to the CLI.
var testAccProtoV6ProviderFactories = map[string]func() (tfprotov6.ProviderServer, error){
	"tablestore": providerserver.NewProtocol6WithError(New("test")()),
}

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	if os.Getenv("TF_ACC") == "" {
		return m.Run()
	}
	prepareCLIEnvironment()

	dir, err := os.MkdirTemp("", "provider-acc-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "acceptance tests: temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	executorBinary = filepath.Join(dir, "delivery-executor")
	return m.Run()
}

// prepareCLIEnvironment makes a plain `TF_ACC=1 go test` work offline: it
// picks a CLI when TF_ACC_TERRAFORM_PATH is not set (terraform on PATH, else
// the OpenTofu built into bin/), and drops a TF_CLI_CONFIG_FILE that points
// nowhere (the CLI would print a warning terraform-exec cannot parse).
func prepareCLIEnvironment() {
	if f := os.Getenv("TF_CLI_CONFIG_FILE"); f != "" {
		if _, err := os.Stat(f); err != nil {
			os.Unsetenv("TF_CLI_CONFIG_FILE")
		}
	}
	if os.Getenv("TF_ACC_TERRAFORM_PATH") != "" {
		return
	}
	if p, err := exec.LookPath("terraform"); err == nil {
		os.Setenv("TF_ACC_TERRAFORM_PATH", p)
		return
	}
	if tofu, err := filepath.Abs(filepath.Join("..", "bin", "tofu")); err == nil {
		if _, err := os.Stat(tofu); err == nil {
			os.Setenv("TF_ACC_TERRAFORM_PATH", tofu)
			os.Setenv("TF_ACC_PROVIDER_NAMESPACE", "hashicorp")
			os.Setenv("TF_ACC_PROVIDER_HOST", "registry.opentofu.org")
		}
	}
}

// testExecutor is one running `delivery-executor serve --embedded`.
type testExecutor struct {
	APIURL        string
	TablestoreURL string
	OSSURL        string
	Client        *client.Client
}

// startExecutor starts an executor for one test and stops it when the test
// ends. Its output goes to the test log on failure.
func startExecutor(t *testing.T) *testExecutor {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		// The same rule resource.Test applies: acceptance tests need TF_ACC.
		t.Skip("acceptance test; set TF_ACC=1 (make testacc)")
	}
	buildExecutor.Do(func() {
		// A prebuilt binary (e.g. from `make build`) saves the build.
		if prebuilt := os.Getenv("DELIVERY_EXECUTOR_BINARY"); prebuilt != "" {
			executorBinary = prebuilt
			return
		}
		build := exec.Command("go", "build", "-o", executorBinary,
			"github.com/tablestore-delivery/terraform-provider-tablestore/executor/cmd/delivery-executor")
		out, err := build.CombinedOutput()
		if err != nil {
			buildExecutorErr = fmt.Errorf("building delivery-executor: %w\n%s", err, out)
		}
	})
	if buildExecutorErr != nil {
		t.Fatal(buildExecutorErr)
	}
	dataDir := t.TempDir()
	cmd := exec.Command(executorBinary, "serve", "--embedded",
		"--data-dir", dataDir,
		"--listen", "127.0.0.1:0",
		"--tablestore-listen", "127.0.0.1:0",
		"--oss-listen", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var logs testsupport.LockedBuffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting delivery-executor: %v", err)
	}
	t.Cleanup(func() {
		// SIGTERM lets it drain; kill it if it does not stop in time.
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("delivery-executor output:\n%s", logs.String())
		}
	})

	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			logs.WriteString(line + "\n")
			if strings.HasPrefix(line, "ready ") {
				ready <- line
				break
			}
		}
		_, _ = io.Copy(&logs, stdout)
	}()
	var line string
	select {
	case line = <-ready:
	case <-time.After(60 * time.Second):
		t.Fatalf("delivery-executor printed no ready line within 60s; output:\n%s", logs.String())
	}

	e := &testExecutor{}
	for _, field := range strings.Fields(line) {
		key, value, ok := strings.Cut(field, "=")
		if !ok {
			continue
		}
		switch key {
		case "api":
			e.APIURL = value
		case "tablestore":
			e.TablestoreURL = value
		case "oss":
			e.OSSURL = value
		}
	}
	if e.APIURL == "" || e.TablestoreURL == "" || e.OSSURL == "" {
		t.Fatalf("ready line lacks api=, tablestore= or oss=: %q", line)
	}
	e.Client, err = client.New(e.APIURL, testToken)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// providerBlock configures the provider for this executor. Test configs
// carry no required_providers block, so OpenTofu resolves the provider
// through TF_ACC_PROVIDER_NAMESPACE/HOST like Terraform does.
func (e *testExecutor) providerBlock() string {
	return fmt.Sprintf(`
provider "tablestore" {
  endpoint = %q
  token    = %q
}
`, e.APIURL, testToken)
}

// createTable creates a source table in the executor's local Tablestore with
// the official SDK, as a user would before applying a task.
func (e *testExecutor) createTable(t *testing.T, name string) {
	t.Helper()
	c := tablestore.NewClient(e.TablestoreURL, testInstance, testKeyID, testKeySecret)
	meta := new(tablestore.TableMeta)
	meta.TableName = name
	meta.AddPrimaryKeyColumn("id", tablestore.PrimaryKeyType_INTEGER)
	req := &tablestore.CreateTableRequest{
		TableMeta:          meta,
		TableOption:        &tablestore.TableOption{TimeToAlive: -1, MaxVersion: 1},
		ReservedThroughput: &tablestore.ReservedThroughput{},
	}
	if _, err := c.CreateTable(req); err != nil {
		t.Fatalf("creating table %s: %v", name, err)
	}
}

// putRows writes rows (id, price, note) with BatchWriteRow so that tasks
// have something to deliver and automatic schemas something to sample.
func (e *testExecutor) putRows(t *testing.T, table string, n int) {
	t.Helper()
	c := tablestore.NewClient(e.TablestoreURL, testInstance, testKeyID, testKeySecret)
	const batch = 200
	for first := 1; first <= n; first += batch {
		req := &tablestore.BatchWriteRowRequest{}
		for i := first; i < first+batch && i <= n; i++ {
			pk := new(tablestore.PrimaryKey)
			pk.AddPrimaryKeyColumn("id", int64(i))
			change := &tablestore.PutRowChange{TableName: table, PrimaryKey: pk}
			change.AddColumn("price", float64(i)*1.5)
			change.AddColumn("note", fmt.Sprintf("row %d", i))
			change.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
			req.AddRowChange(change)
		}
		resp, err := c.BatchWriteRow(req)
		if err != nil {
			t.Fatalf("writing rows %d.. into %s: %v", first, table, err)
		}
		for _, rows := range resp.TableToRowsResult {
			for _, r := range rows {
				if !r.IsSucceed {
					t.Fatalf("writing a row into %s: %v", table, r.Error)
				}
			}
		}
	}
}
