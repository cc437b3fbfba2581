package main

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"
)

// TestLocalFaultFlagsAndAdminEndpoint starts `local` with --fault-* flags and
// checks that the official SDKs see the injected failures, that /healthz
// stays up, and that PUT /_admin/faults changes the rules of the running
// process.
func TestLocalFaultFlagsAndAdminEndpoint(t *testing.T) {
	args := []string{"local", "--data-dir", t.TempDir(), "--tablestore-listen", "127.0.0.1:0", "--oss-listen", "127.0.0.1:0",
		"--fault-oss-error-rate", "1", "--fault-tablestore-throttle-rate", "1", "--fault-seed", "3"}
	_, ready := startProcess(t, args...)
	ossClient, err := oss.New(ready["oss"], devAccessKeyID, devAccessKeySecret)
	if err != nil {
		t.Fatal(err)
	}
	var se oss.ServiceError
	if err := ossClient.CreateBucket("lake"); !errors.As(err, &se) || se.Code != "InternalError" || se.StatusCode != http.StatusInternalServerError {
		t.Fatalf("CreateBucket with --fault-oss-error-rate 1: %v", err)
	}
	cfg := tablestore.NewDefaultTableStoreConfig()
	cfg.MaxRetryTime = 0
	ots := tablestore.NewClientWithConfig(ready["tablestore"], "local", devAccessKeyID, devAccessKeySecret, "", cfg)
	var oe *tablestore.OtsError
	if _, err := ots.ListTable(); !errors.As(err, &oe) || oe.Code != "OTSServerBusy" {
		t.Fatalf("ListTable with --fault-tablestore-throttle-rate 1: %v", err)
	}
	for _, name := range []string{"tablestore", "oss"} {
		resp, err := http.Get(ready[name] + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s /healthz under faults: %d", name, resp.StatusCode)
		}
	}
	// Clear the rules through the admin endpoint of the OSS listener; the
	// Tablestore listener shares them.
	req, _ := http.NewRequest(http.MethodPut, ready["oss"]+"/_admin/faults", strings.NewReader(`{"rules":{}}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"errors":1`) || !strings.Contains(string(body), `"throttles":1`) {
		t.Fatalf("PUT /_admin/faults: %d %s", resp.StatusCode, body)
	}
	if err := ossClient.CreateBucket("lake"); err != nil {
		t.Fatalf("CreateBucket after clearing the faults: %v", err)
	}
	if _, err := ots.ListTable(); err != nil {
		t.Fatalf("ListTable after clearing the faults: %v", err)
	}
}

func TestFaultFlagsValidated(t *testing.T) {
	var stderr strings.Builder
	code := run([]string{"local", "--data-dir", t.TempDir(), "--tablestore-listen", "127.0.0.1:0", "--oss-listen", "127.0.0.1:0",
		"--fault-tunnel-error-rate", "1.5"}, io.Discard, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), "--fault-tunnel") {
		t.Fatalf("exit %d, stderr %q: want 2 naming --fault-tunnel", code, stderr.String())
	}
}
