package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"
	"github.com/parquet-go/parquet-go"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/client"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// TestLocalFaultFlagsAndAdminEndpoint starts `local` with --fault-* flags and
// checks that the official SDKs see the injected failures, that /healthz
// stays up, and that PUT /_admin/faults changes the rules of the running
// process.
func TestLocalFaultFlagsAndAdminEndpoint(t *testing.T) {
	t.Parallel() // its own process, data dir and ports
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
	// The table admin endpoint (partition splits) is not subject to faults:
	// a missing table is its own 404, not an injected throttle.
	split, err := http.Post(ready["tablestore"]+"/_admin/tables/missing/split", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	splitBody, _ := io.ReadAll(split.Body)
	_ = split.Body.Close()
	if split.StatusCode != http.StatusNotFound || !strings.Contains(string(splitBody), "does not exist") {
		t.Fatalf("POST /_admin/tables/missing/split under faults: %d %s", split.StatusCode, splitBody)
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
	// With --config there is no local cloud to inject faults into.
	stderr.Reset()
	code = run([]string{"serve", "--config", "does-not-matter.json", "--listen", "127.0.0.1:0", "--fault-oss-error-rate", "0.1"}, io.Discard, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), "only with --embedded") {
		t.Fatalf("serve --config with a fault flag: exit %d, stderr %q", code, stderr.String())
	}
}

// TestEmbeddedDeliveryUnderFaultFlags runs `serve --embedded` with 5% of
// its OSS calls and 5% of its tunnel calls failing (flags), delivers a
// table through the API, then makes OSS unavailable for a while through the
// admin endpoint, and finally reads every object back: each row exactly
// once.
func TestEmbeddedDeliveryUnderFaultFlags(t *testing.T) {
	t.Parallel() // its own process, data dir and ports
	args := append([]string{"serve", "--embedded", "--data-dir", t.TempDir(), "--fault-seed", "11",
		"--fault-oss-error-rate", "0.02", "--fault-oss-throttle-rate", "0.01", "--fault-oss-reset-rate", "0.01", "--fault-oss-lost-response-rate", "0.01",
		"--fault-tunnel-error-rate", "0.03", "--fault-tunnel-reset-rate", "0.02"}, freeAddrs()...)
	_, ready := startProcess(t, args...)
	ctx := context.Background()
	ots := tablestore.NewClient(ready["tablestore"], "local", devAccessKeyID, devAccessKeySecret)
	meta := &tablestore.TableMeta{TableName: "orders"}
	meta.AddPrimaryKeyColumn("id", tablestore.PrimaryKeyType_INTEGER)
	if _, err := ots.CreateTable(&tablestore.CreateTableRequest{TableMeta: meta,
		TableOption: &tablestore.TableOption{TimeToAlive: -1, MaxVersion: 1}, ReservedThroughput: &tablestore.ReservedThroughput{}}); err != nil {
		t.Fatal(err)
	}
	want := map[int64]string{}
	write := func(from, to int64) {
		for start := from; start < to; start += 200 {
			req := &tablestore.BatchWriteRowRequest{}
			for id := start; id < min(start+200, to); id++ {
				pk := &tablestore.PrimaryKey{}
				pk.AddPrimaryKeyColumn("id", id)
				ch := &tablestore.PutRowChange{TableName: "orders", PrimaryKey: pk}
				want[id] = fmt.Sprintf("value-%d", id)
				ch.AddColumn("v", want[id])
				ch.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
				req.AddRowChange(ch)
			}
			if _, err := ots.BatchWriteRow(req); err != nil {
				t.Fatal(err)
			}
		}
	}
	write(0, 3000)
	setFaults := func(body string) {
		req, _ := http.NewRequest(http.MethodPut, ready["oss"]+"/_admin/faults", strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("PUT /_admin/faults: %d", resp.StatusCode)
		}
	}
	// The bucket is made without faults; they come back right after.
	setFaults(`{"rules":{}}`)
	ossClient, err := oss.New(ready["oss"], devAccessKeyID, devAccessKeySecret)
	if err != nil {
		t.Fatal(err)
	}
	if err := ossClient.CreateBucket("lake"); err != nil {
		t.Fatal(err)
	}
	fivePercent := `{"rules":{"oss":{"error_rate":0.02,"throttle_rate":0.01,"reset_rate":0.01,"lost_response_rate":0.01},` +
		`"tunnel":{"error_rate":0.03,"reset_rate":0.02}}}`
	setFaults(fivePercent)

	api, err := client.New(ready["api"], devAPIToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.PutRole(ctx, task.DefaultRoleName, task.RoleInput{OSSAccessKeyID: devAccessKeyID, OSSAccessKeySecret: devAccessKeySecret}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.CreateTask(ctx, task.Spec{Name: "orders-lake", Table: "orders", Bucket: "lake", Prefix: "orders/$yyyy",
		SyncMode: task.SyncDifferential, FlushIntervalSeconds: 1,
		Columns: []task.Column{{Source: "id", Type: task.TypeInt64}, {Source: "v", Type: task.TypeUTF8}}}); err != nil {
		t.Fatal(err)
	}
	write(3000, 5000)
	ossErrors := func() int64 {
		resp, err := http.Get(ready["oss"] + "/_admin/faults")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var doc struct {
			Counts map[string]struct {
				Errors int64 `json:"errors"`
			} `json:"counts"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
			t.Fatal(err)
		}
		return doc.Counts["oss"].Errors
	}
	waitDelivered := func(n int64) {
		t.Helper()
		deadline := time.Now().Add(90 * time.Second)
		for {
			got, err := api.GetTask(ctx, "orders", "orders-lake")
			if err != nil {
				t.Fatal(err)
			}
			if got.Status.RowsDelivered >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d rows delivered: %+v", got.Status.RowsDelivered, n, got.Status)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	// Once the stream is being delivered, OSS is unavailable for 4 s while
	// rows keep coming.
	waitDelivered(5000)
	before := ossErrors()
	setFaults(`{"rules":{"oss":{"error_rate":1}}}`)
	write(5000, 6000)
	time.Sleep(4 * time.Second)
	setFaults(fivePercent)
	if failed := ossErrors() - before; failed < 1 {
		t.Fatalf("only %d OSS calls failed during the outage: it tested nothing", failed)
	}
	waitDelivered(int64(len(want)))
	// Read back without faults.
	req, _ := http.NewRequest(http.MethodGet, ready["oss"]+"/_admin/faults", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	counts, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	setFaults(`{"rules":{}}`)
	t.Logf("fault injector: %s", strings.TrimSpace(string(counts)))

	bucket, err := ossClient.Bucket("lake")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]int{}
	marker := ""
	for {
		list, err := bucket.ListObjects(oss.Prefix("orders/"), oss.Marker(marker))
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range list.Objects {
			rc, err := bucket.GetObject(o.Key)
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(rc)
			_ = rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			type deliveredRow struct {
				ID *int64  `parquet:"id,optional"`
				V  *string `parquet:"v,optional"`
			}
			rows, err := parquet.Read[deliveredRow](bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatalf("object %s: %v", o.Key, err)
			}
			for _, r := range rows {
				if r.ID == nil || r.V == nil || want[*r.ID] != *r.V {
					t.Fatalf("object %s holds an unexpected row %+v", o.Key, r)
				}
				seen[*r.ID]++
			}
		}
		if !list.IsTruncated {
			break
		}
		marker = list.NextMarker
	}
	lost, dup := 0, 0
	for id := range want {
		switch seen[id] {
		case 0:
			lost++
		case 1:
		default:
			dup++
		}
	}
	t.Logf("%d rows checked: %d lost, %d duplicated", len(want), lost, dup)
	if lost+dup > 0 {
		t.Fatalf("%d rows lost, %d duplicated", lost, dup)
	}
	if !strings.Contains(string(counts), `"errors":`) {
		t.Fatalf("no fault counts: %s", counts)
	}
}
