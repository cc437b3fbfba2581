package objectstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud"
	localoss "github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/oss"
)

const (
	keyID  = "objectstore-key"
	secret = "objectstore-secret"
)

// startOSS starts the local cloud and returns its OSS server (to create
// buckets and set faults) and the OSS endpoint, served over HTTP.
func startOSS(t *testing.T) (*localoss.Server, string) {
	t.Helper()
	lc, err := localcloud.Start(context.Background(), localcloud.Config{DataDir: t.TempDir(),
		Region: "cn-hangzhou", Credentials: map[string]string{keyID: secret}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lc.Close() })
	return lc.OSS, lc.OSSURL
}

func newClient(t *testing.T, endpoint, id, sec string, threshold int64) *Client {
	t.Helper()
	c, err := New(Config{Endpoint: endpoint, Region: "cn-hangzhou", Credentials: Credentials{AccessKeyID: id, AccessKeySecret: sec},
		MultipartThreshold: threshold, PartSize: 100 << 10})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPutGetExistsDeleteList(t *testing.T) {
	srv, url := startOSS(t)
	if err := srv.CreateBucket("bucket1", "cn-hangzhou"); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, url, keyID, secret, 0)
	ctx := context.Background()
	if err := c.CheckBucket(ctx, "bucket1"); err != nil {
		t.Fatalf("check bucket: %v", err)
	}
	data := []byte("PAR1 not really")
	if err := c.Put(ctx, "bucket1", "a/x__1", data, "application/vnd.apache.parquet"); err != nil {
		t.Fatal(err)
	}
	ok, err := c.Exists(ctx, "bucket1", "a/x__1")
	if err != nil || !ok {
		t.Fatalf("exists = %v, %v", ok, err)
	}
	if ok, err := c.Exists(ctx, "bucket1", "a/x__2"); err != nil || ok {
		t.Fatalf("missing object: exists = %v, %v", ok, err)
	}
	got, err := c.Get(ctx, "bucket1", "a/x__1")
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("get = %q, %v", got, err)
	}
	keys, err := c.List(ctx, "bucket1", "a/")
	if err != nil || len(keys) != 1 || keys[0] != "a/x__1" {
		t.Fatalf("list = %v, %v", keys, err)
	}
	if err := c.Delete(ctx, "bucket1", "a/x__1"); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, "bucket1", "a/x__1"); err != nil {
		t.Fatalf("deleting a missing object: %v", err)
	}
	if _, err := c.Get(ctx, "bucket1", "a/x__1"); KindOf(err) != KindNotFound {
		t.Fatalf("get deleted object: %v (kind %v)", err, KindOf(err))
	}
}

func TestMultipartUpload(t *testing.T) {
	srv, url := startOSS(t)
	if err := srv.CreateBucket("bucket1", "cn-hangzhou"); err != nil {
		t.Fatal(err)
	}
	var parts int
	srv.SetFault(func(r localoss.RequestInfo) *localoss.Fault {
		if r.Query.Has("partNumber") {
			parts++
		}
		return nil
	})
	c := newClient(t, url, keyID, secret, 256<<10)
	data := make([]byte, 1<<20+12345)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Put(ctx, "bucket1", "big", data, ""); err != nil {
		t.Fatal(err)
	}
	got, err := c.Get(ctx, "bucket1", "big")
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("multipart object differs (%d bytes, %v)", len(got), err)
	}
	if parts != 11 {
		t.Errorf("uploaded in %d parts, want 11 of 100 KiB", parts)
	}
}

func TestErrorClassification(t *testing.T) {
	srv, url := startOSS(t)
	if err := srv.CreateBucket("here", "cn-hangzhou"); err != nil {
		t.Fatal(err)
	}
	if err := srv.CreateBucket("there", "cn-shanghai"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	good := newClient(t, url, keyID, secret, 0)
	cases := []struct {
		name string
		err  error
		want Kind
	}{
		{"wrong secret", newClient(t, url, keyID, "nope", 0).Put(ctx, "here", "k", []byte("x"), ""), KindUnauthorized},
		{"unknown key", newClient(t, url, "who", secret, 0).CheckBucket(ctx, "here"), KindUnauthorized},
		{"unknown key on head", func() error { _, err := newClient(t, url, "who", secret, 0).Exists(ctx, "here", "k"); return err }(), KindUnauthorized},
		{"missing bucket", good.Put(ctx, "nowhere", "k", []byte("x"), ""), KindInvalidBucket},
		{"missing bucket check", good.CheckBucket(ctx, "nowhere"), KindInvalidBucket},
		{"other region", good.CheckBucket(ctx, "there"), KindInvalidBucket},
	}
	for _, c := range cases {
		if c.err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		var oe *Error
		if !errors.As(c.err, &oe) || oe.Kind != c.want {
			t.Errorf("%s: %v classified %v, want %v", c.name, c.err, KindOf(c.err), c.want)
		}
	}
	// A server-side failure is transient.
	srv.SetFault(func(localoss.RequestInfo) *localoss.Fault {
		return &localoss.Fault{Status: 503, Code: "ServiceUnavailable", Message: "try later"}
	})
	if err := good.Put(ctx, "here", "k", []byte("x"), ""); err == nil || KindOf(err) != KindTransient {
		t.Errorf("503: %v classified %v", err, KindOf(err))
	}
}

func TestKindOfServiceErrors(t *testing.T) {
	for code, want := range map[string]Kind{
		"InvalidAccessKeyId": KindUnauthorized, "SignatureDoesNotMatch": KindUnauthorized, "AccessDenied": KindUnauthorized,
		"NoSuchBucket": KindInvalidBucket, "NoSuchKey": KindNotFound, "InternalError": KindTransient,
	} {
		err := classify("op", "b", "k", oss.ServiceError{Code: code, StatusCode: 400})
		if KindOf(err) != want {
			t.Errorf("%s: %v, want %v", code, KindOf(err), want)
		}
	}
	if KindOf(errors.New("plain")) != KindTransient {
		t.Error("foreign errors must be transient")
	}
	if !sameRegion("oss-cn-hangzhou", "cn-hangzhou") || sameRegion("oss-cn-shanghai", "cn-hangzhou") {
		t.Error("region comparison")
	}
}

func TestCreateOnlyAndMetadata(t *testing.T) {
	srv, url := startOSS(t)
	if err := srv.CreateBucket("bucket1", "cn-hangzhou"); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, url, keyID, secret, 0)
	ctx := context.Background()
	first := PutOptions{CreateOnly: true, Metadata: map[string]string{"attempt": "a1"}}
	if err := c.PutWith(ctx, "bucket1", "k", []byte("one"), first); err != nil {
		t.Fatal(err)
	}
	second := PutOptions{CreateOnly: true, Metadata: map[string]string{"attempt": "a2"}}
	if err := c.PutWith(ctx, "bucket1", "k", []byte("two"), second); KindOf(err) != KindExists {
		t.Fatalf("second create-only put: %v (kind %v)", err, KindOf(err))
	}
	meta, ok, err := c.Metadata(ctx, "bucket1", "k")
	if err != nil || !ok || meta["attempt"] != "a1" {
		t.Fatalf("metadata = %v, %v, %v", meta, ok, err)
	}
	if got, _ := c.Get(ctx, "bucket1", "k"); string(got) != "one" {
		t.Fatalf("object replaced: %q", got)
	}
	if _, ok, err := c.Metadata(ctx, "bucket1", "missing"); ok || err != nil {
		t.Fatalf("missing object: ok=%v err=%v", ok, err)
	}
	// Multipart uploads honour create-only too.
	big := newClient(t, url, keyID, secret, 150<<10)
	if err := big.PutWith(ctx, "bucket1", "k", make([]byte, 300<<10), second); KindOf(err) != KindExists {
		t.Fatalf("multipart create-only over an existing key: %v", err)
	}
}
