package oss

import (
	"bytes"
	"io"
	"net/http"
	"testing"
)

func TestFaultInjection(t *testing.T) {
	ts := startServer(t, t.TempDir())
	c := newClient(t, ts.endpoint)
	b := mustBucket(t, c, "faulty")
	var seen []RequestInfo
	ts.SetFault(func(info RequestInfo) *Fault {
		seen = append(seen, info)
		if info.Method == http.MethodPut && info.Key == "flaky" {
			return &Fault{Status: http.StatusServiceUnavailable, Code: "ServiceUnavailable", Message: "injected"}
		}
		return nil
	})
	err := b.PutObject("flaky", bytes.NewReader([]byte("x")))
	wantCode(t, err, http.StatusServiceUnavailable, "ServiceUnavailable")
	putBytes(t, b, "fine", []byte("x"))
	if len(seen) != 2 || seen[0].Bucket != "faulty" || seen[1].Key != "fine" {
		t.Errorf("fault hook saw %+v", seen)
	}
	// Rejected credentials never reach the hook.
	_, err = newClientAs(t, ts.endpoint, testAK, "bad").ListBuckets()
	wantCode(t, err, http.StatusForbidden, "SignatureDoesNotMatch")
	if len(seen) != 2 {
		t.Errorf("hook saw an unauthenticated request")
	}
	ts.SetFault(nil)
	putBytes(t, b, "flaky", []byte("x"))
	if ok, _ := b.IsObjectExist("flaky"); !ok {
		t.Error("object missing after the fault was removed")
	}
}

func TestHealthz(t *testing.T) {
	ts := startServer(t, t.TempDir())
	resp, err := http.Get(ts.endpoint + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "ok\n" || resp.Header.Get("x-oss-request-id") == "" {
		t.Fatalf("healthz: %d %q", resp.StatusCode, body)
	}
	// A bucket named healthz still works for signed requests.
	b := mustBucket(t, newClient(t, ts.endpoint), "healthz")
	putBytes(t, b, "k", []byte("v"))
	if res, err := b.ListObjects(); err != nil || len(res.Objects) != 1 {
		t.Fatalf("signed listing of bucket healthz: %+v, %v", res, err)
	}
}
