package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
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
)

// syncBuffer collects a process's stderr while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestRoleSecretNeverLeaks runs `serve --embedded` at debug level with a
// role whose OSS secret is unique, drives every role endpoint, a task that
// delivers rows, bad role bodies, /metrics and the status page, then
// checks that the secret appears in no API answer (bodies and headers),
// not in /metrics, not in the process's logs, and not in any file of the
// data dir (it is stored encrypted).
func TestRoleSecretNeverLeaks(t *testing.T) {
	t.Parallel() // its own process, data dir and ports
	const (
		keyID  = "leak-test-key"
		secret = "leak-test-secret-5b9d1e7f0a2c4e68"
		token  = "leak-test-api-token-12345"
	)
	dataDir := t.TempDir()
	cmd := exec.Command(binary, append([]string{"serve", "--embedded", "--data-dir", dataDir, "--log-level", "debug"}, freeAddrs()...)...)
	// The local cloud accepts the same key pair the role carries, so the
	// delivery really signs with the secret.
	cmd.Env = append(os.Environ(), envAccessKeyID+"="+keyID, envAccessKeySecret+"="+secret, envAPIToken+"="+token)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := false
	t.Cleanup(func() {
		if !exited {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	ready := readReadyLine(t, stdout, &stderr)
	apiURL := ready["api"]

	var answers []string // every API answer, headers and body
	call := func(method, path, body string, auth bool) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, apiURL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if auth {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var head strings.Builder
		_ = resp.Header.Write(&head)
		answers = append(answers, fmt.Sprintf("%s %s -> %d\n%s\n%s", method, path, resp.StatusCode, head.String(), b))
		return resp.StatusCode, string(b)
	}
	mustCall := func(method, path, body string, want int) string {
		t.Helper()
		code, b := call(method, path, body, true)
		if code != want {
			t.Fatalf("%s %s: %d %s, want %d", method, path, code, b, want)
		}
		return b
	}

	// Source table and bucket through the official SDKs.
	ots := tablestore.NewClient(ready["tablestore"], "local", keyID, secret)
	meta := &tablestore.TableMeta{TableName: "orders"}
	meta.AddPrimaryKeyColumn("id", tablestore.PrimaryKeyType_INTEGER)
	if _, err := ots.CreateTable(&tablestore.CreateTableRequest{TableMeta: meta,
		TableOption: &tablestore.TableOption{TimeToAlive: -1, MaxVersion: 1}, ReservedThroughput: &tablestore.ReservedThroughput{}}); err != nil {
		t.Fatal(err)
	}
	putRow := func(id int64) {
		pk := &tablestore.PrimaryKey{}
		pk.AddPrimaryKeyColumn("id", id)
		ch := &tablestore.PutRowChange{TableName: "orders", PrimaryKey: pk}
		ch.AddColumn("note", fmt.Sprintf("row %d", id))
		ch.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
		if _, err := ots.PutRow(&tablestore.PutRowRequest{PutRowChange: ch}); err != nil {
			t.Fatal(err)
		}
	}
	for id := range int64(20) {
		putRow(id)
	}
	ossClient, err := oss.New(ready["oss"], keyID, secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := ossClient.CreateBucket("lake"); err != nil {
		t.Fatal(err)
	}

	roleBody := `{"oss_access_key_id":"` + keyID + `","oss_access_key_secret":"` + secret + `","description":"leak test"}`
	mustCall(http.MethodPut, "/v1/roles/writer", roleBody, http.StatusOK)
	mustCall(http.MethodPut, "/v1/roles/writer", roleBody, http.StatusOK) // replace
	mustCall(http.MethodGet, "/v1/roles/writer", "", http.StatusOK)
	mustCall(http.MethodGet, "/v1/roles", "", http.StatusOK)
	// Bad role bodies carrying the secret: the errors must not echo it.
	for _, bad := range []string{
		`{"oss_access_key_id":"` + keyID + `","oss_access_key_secret":"` + secret + `","surprise":1}`,
		`{"oss_access_key_id":"` + keyID + `","oss_access_key_secret":"` + secret + `","description":5}`,
		`{"oss_access_key_id":"","oss_access_key_secret":"` + secret + `"}`,
		`{"oss_access_key_id":"` + keyID + `","oss_access_key_secret":"` + secret + `"`,
		`{"oss_access_key_id":"` + keyID + `","oss_access_key_secret":"` + secret + `"} {}`,
		`{"oss_access_key_id":"` + keyID + `","oss_access_key_secret":["` + secret + `"]}`,
	} {
		if code, b := call(http.MethodPut, "/v1/roles/writer", bad, true); code != http.StatusBadRequest {
			t.Errorf("bad role body %s: %d %s, want 400", bad, code, b)
		}
	}
	if code, _ := call(http.MethodPut, "/v1/roles/Bad_Name!", roleBody, true); code != http.StatusBadRequest {
		t.Errorf("role with an invalid name: %d, want 400", code)
	}
	if code, _ := call(http.MethodPut, "/v1/roles/writer", roleBody, false); code != http.StatusUnauthorized {
		t.Errorf("role without a token: %d, want 401", code)
	}

	arn := "acs:ram::1000000000000001:role/writer"
	mustCall(http.MethodPost, "/v1/tasks", `{"name":"orders-lake","table":"orders","bucket":"lake","prefix":"orders",`+
		`"sync_mode":"full","role_arn":"`+arn+`","flush_interval_seconds":1}`, http.StatusCreated)
	deadline := time.Now().Add(60 * time.Second)
	for {
		b := mustCall(http.MethodGet, "/v1/tasks/orders/orders-lake", "", http.StatusOK)
		var got struct {
			Status struct {
				RowsDelivered int64 `json:"rows_delivered"`
			} `json:"status"`
		}
		if err := json.Unmarshal([]byte(b), &got); err != nil {
			t.Fatalf("task answer: %v: %s", err, b)
		}
		if got.Status.RowsDelivered == 20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("task did not deliver 20 rows: %s", b)
		}
		time.Sleep(200 * time.Millisecond)
	}
	mustCall(http.MethodGet, "/v1/tasks", "", http.StatusOK)
	mustCall(http.MethodGet, "/v1/tasks/orders/orders-lake/ddl?dialect=hive", "", http.StatusOK)
	if code, _ := call(http.MethodGet, "/metrics", "", false); code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	// The status page asks for the API token (this is not the development
	// one); its answers go into the leak check too.
	for _, path := range []string{"/ui", "/ui/status.json"} {
		if code, _ := call(http.MethodGet, path, "", false); code != http.StatusUnauthorized {
			t.Errorf("GET %s without the token: %d, want 401", path, code)
		}
		if !strings.Contains(mustCall(http.MethodGet, path, "", http.StatusOK), "orders-lake") {
			t.Errorf("GET %s with the token does not show the task", path)
		}
	}
	call(http.MethodGet, "/openapi.yaml", "", false)
	mustCall(http.MethodDelete, "/v1/tasks/orders/orders-lake", "", http.StatusNoContent)
	mustCall(http.MethodDelete, "/v1/roles/writer", "", http.StatusNoContent)
	call(http.MethodGet, "/v1/roles/writer", "", true)

	for _, a := range answers {
		if strings.Contains(a, secret) {
			t.Errorf("an API answer holds the role secret:\n%s", a)
		}
	}
	metricsSeen := false
	for _, a := range answers {
		if strings.HasPrefix(a, "GET /metrics -> 200") && strings.Contains(a, "delivery_") {
			metricsSeen = true
		}
	}
	if !metricsSeen {
		t.Error("/metrics exported no delivery_ metrics: nothing was checked")
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	exited = true
	logs := stderr.String()
	if !strings.Contains(logs, "level=DEBUG") || !strings.Contains(logs, "role stored") {
		t.Fatalf("the captured logs miss the debug output and the role events; nothing was checked:\n%s", logs)
	}
	if strings.Contains(logs, secret) {
		for _, line := range strings.Split(logs, "\n") {
			if strings.Contains(line, secret) {
				t.Errorf("log line holds the role secret: %s", line)
			}
		}
	}
	// At rest: no file under the data dir holds the secret in the clear.
	files := 0
	err = filepath.WalkDir(dataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		if bytes.Contains(data, []byte(secret)) {
			t.Errorf("%s holds the role secret in the clear", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatal("the data dir is empty: nothing was checked")
	}
}

// readReadyLine reads the process's stdout up to its ready line.
func readReadyLine(t *testing.T, stdout io.Reader, stderr *syncBuffer) map[string]string {
	t.Helper()
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "ready ") {
				lines <- sc.Text()
				_, _ = io.Copy(io.Discard, stdout)
				return
			}
		}
		close(lines)
	}()
	select {
	case line, ok := <-lines:
		if !ok {
			t.Fatalf("no ready line; stderr:\n%s", stderr.String())
		}
		fields := map[string]string{}
		for _, f := range strings.Fields(strings.TrimPrefix(line, "ready ")) {
			k, v, _ := strings.Cut(f, "=")
			fields[k] = v
		}
		return fields
	case <-time.After(30 * time.Second):
		t.Fatal(errors.New("no ready line within 30 s; stderr:\n" + stderr.String()))
	}
	return nil
}
