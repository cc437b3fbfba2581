package oss

import (
	"bytes"
	"errors"
	"hash/crc64"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http/httptest"
	"testing"

	sdk "github.com/aliyun/aliyun-oss-go-sdk/oss"
)

const (
	testAK = "test-access-key"
	testSK = "test-access-secret"
)

// testServer is a Server behind a real HTTP listener on 127.0.0.1:0.
type testServer struct {
	*Server
	http     *httptest.Server
	endpoint string
	dataDir  string
}

func startServer(t testing.TB, dataDir string) *testServer {
	t.Helper()
	srv, err := New(Config{
		Credentials: map[string]string{testAK: testSK, "second-key": "second-secret"},
		DataDir:     dataDir,
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	hs := httptest.NewServer(srv)
	ts := &testServer{Server: srv, http: hs, endpoint: hs.URL, dataDir: dataDir}
	t.Cleanup(ts.stop)
	return ts
}

func (ts *testServer) stop() {
	if ts.http != nil {
		ts.http.Close()
		ts.http = nil
		_ = ts.Close()
	}
}

func newClient(t testing.TB, endpoint string, opts ...sdk.ClientOption) *sdk.Client {
	t.Helper()
	return newClientAs(t, endpoint, testAK, testSK, opts...)
}

func newClientAs(t testing.TB, endpoint, ak, sk string, opts ...sdk.ClientOption) *sdk.Client {
	t.Helper()
	c, err := sdk.New(endpoint, ak, sk, opts...)
	if err != nil {
		t.Fatalf("oss.New: %v", err)
	}
	return c
}

func mustBucket(t testing.TB, c *sdk.Client, name string) *sdk.Bucket {
	t.Helper()
	if err := c.CreateBucket(name); err != nil {
		t.Fatalf("CreateBucket(%s): %v", name, err)
	}
	b, err := c.Bucket(name)
	if err != nil {
		t.Fatalf("Bucket(%s): %v", name, err)
	}
	return b
}

// serviceError extracts the SDK's ServiceError or fails the test.
func serviceError(t testing.TB, err error) sdk.ServiceError {
	t.Helper()
	var se sdk.ServiceError
	if !errors.As(err, &se) {
		t.Fatalf("want an oss.ServiceError, got %T: %v", err, err)
	}
	return se
}

func wantCode(t testing.TB, err error, status int, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want error %d %s, got success", status, code)
	}
	se := serviceError(t, err)
	if se.StatusCode != status || se.Code != code {
		t.Fatalf("want %d %s, got %d %q (%s)", status, code, se.StatusCode, se.Code, se.Message)
	}
	if se.RequestID == "" {
		t.Fatalf("error without request id: %v", err)
	}
}

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for j := range 8 {
			out[i+j] = byte(v >> (8 * j))
		}
	}
	for i := n - n%8; i < n; i++ {
		out[i] = byte(r.Uint32())
	}
	return out
}

func crcOf(data []byte) uint64 { return crc64.Checksum(data, crc64.MakeTable(crc64.ECMA)) }

func getAll(t testing.TB, b *sdk.Bucket, key string, opts ...sdk.Option) []byte {
	t.Helper()
	rc, err := b.GetObject(key, opts...)
	if err != nil {
		t.Fatalf("GetObject(%q): %v", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %q: %v", key, err)
	}
	return data
}

func putBytes(t testing.TB, b *sdk.Bucket, key string, data []byte, opts ...sdk.Option) {
	t.Helper()
	if err := b.PutObject(key, bytes.NewReader(data), opts...); err != nil {
		t.Fatalf("PutObject(%q): %v", key, err)
	}
}
