package oss

import (
	"bytes"
	"net/http"
	"testing"
)

// Errors decided before the body is read (missing bucket, bad signature)
// must reach the SDK as service errors, not as broken connections, even
// when the client is still sending a large body.
func TestEarlyErrorsOnLargeBodies(t *testing.T) {
	ts := startServer(t, t.TempDir())
	c := newClient(t, ts.endpoint)
	mustBucket(t, c, "exists")
	body := randomBytes(5, 16<<20)
	for range 3 {
		missing, _ := c.Bucket("missing-bucket")
		wantCode(t, missing.PutObject("big", bytes.NewReader(body)), http.StatusNotFound, "NoSuchBucket")
		bad, _ := newClientAs(t, ts.endpoint, testAK, "wrong").Bucket("exists")
		wantCode(t, bad.PutObject("big", bytes.NewReader(body)), http.StatusForbidden, "SignatureDoesNotMatch")
	}
}
