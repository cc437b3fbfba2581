package oss

import (
	"bytes"
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
