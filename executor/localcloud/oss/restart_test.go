package oss

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	sdk "github.com/aliyun/aliyun-oss-go-sdk/oss"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/kv"
)

func TestRestartKeepsEverythingAcknowledged(t *testing.T) {
	dataDir := t.TempDir()
	ts := startServer(t, dataDir)
	c := newClient(t, ts.endpoint)
	b := mustBucket(t, c, "durable")
	if err := c.CreateBucket("elsewhere", sdk.SetHeader("x-oss-bucket-region", "cn-shanghai")); err != nil {
		t.Fatal(err)
	}

	objects := map[string][]byte{}
	for i := range 20 {
		key := fmt.Sprintf("obj/%02d with space", i)
		objects[key] = randomBytes(uint64(100+i), 1000*i+1)
		putBytes(t, b, key, objects[key], sdk.Meta("n", fmt.Sprint(i)))
	}
	// A completed multipart object and an upload left pending.
	big := randomBytes(200, minPartSize+77)
	imur, err := b.InitiateMultipartUpload("multi/done")
	if err != nil {
		t.Fatal(err)
	}
	p1, _ := b.UploadPart(imur, bytes.NewReader(big[:minPartSize]), minPartSize, 1)
	p2, _ := b.UploadPart(imur, bytes.NewReader(big[minPartSize:]), 77, 2)
	if _, err := b.CompleteMultipartUpload(imur, []sdk.UploadPart{p1, p2}); err != nil {
		t.Fatal(err)
	}
	objects["multi/done"] = big
	pending, err := b.InitiateMultipartUpload("multi/pending")
	if err != nil {
		t.Fatal(err)
	}
	pp1, err := b.UploadPart(pending, bytes.NewReader(big[:minPartSize]), minPartSize, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Deleted objects stay deleted.
	putBytes(t, b, "deleted", []byte("gone"))
	if err := b.DeleteObject("deleted"); err != nil {
		t.Fatal(err)
	}
	ts.stop()

	// What a crash mid-write leaves: a temporary file and a renamed blob
	// whose index commit never happened. Neither may surface or survive.
	tmpLeftover := filepath.Join(dataDir, "oss", "tmp", "put-123")
	orphan := filepath.Join(dataDir, "oss", "blobs", "ab", "ab000000000000000000000000000000")
	if err := os.MkdirAll(filepath.Dir(orphan), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{tmpLeftover, orphan} {
		if err := os.WriteFile(p, []byte("torn"), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	ts2 := startServer(t, dataDir)
	c2 := newClient(t, ts2.endpoint)
	b2, _ := c2.Bucket("durable")
	for key, want := range objects {
		if got := getAll(t, b2, key); !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes after restart, want %d", key, len(got), len(want))
		}
	}
	if m, err := b2.GetObjectDetailedMeta("obj/07 with space"); err != nil || m.Get("X-Oss-Meta-N") != "7" {
		t.Errorf("metadata after restart: %v %v", m, err)
	}
	if ok, _ := b2.IsObjectExist("deleted"); ok {
		t.Error("a deleted object came back")
	}
	if info, err := c2.GetBucketInfo("elsewhere"); err != nil || info.BucketInfo.Location != "oss-cn-shanghai" {
		t.Errorf("bucket region after restart: %+v %v", info, err)
	}
	// The pending upload can be finished after the restart.
	pp2, err := b2.UploadPart(pending, bytes.NewReader(big[minPartSize:]), 77, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b2.CompleteMultipartUpload(pending, []sdk.UploadPart{pp1, pp2}); err != nil {
		t.Fatalf("complete after restart: %v", err)
	}
	if got := getAll(t, b2, "multi/pending"); !bytes.Equal(got, big) {
		t.Error("upload finished after restart differs")
	}
	for _, p := range []string{tmpLeftover, orphan} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("crash leftover %s survived the restart (%v)", p, err)
		}
	}
	refs, err := ts2.index.referencedBlobs()
	if err != nil {
		t.Fatal(err)
	}
	if n := countBlobs(t, dataDir); n != len(refs) {
		t.Errorf("%d blob files for %d index references", n, len(refs))
	}
}

func TestSharedStore(t *testing.T) {
	dataDir := t.TempDir()
	store, err := kv.Open(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	srv, err := New(Config{Credentials: map[string]string{testAK: testSK}, DataDir: dataDir, Store: store, Region: "cn-beijing"})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.CreateBucket("shared", ""); err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	// The caller's store stays open and holds the index under oss/ buckets.
	srv2, err := New(Config{Credentials: map[string]string{testAK: testSK}, DataDir: dataDir, Store: store})
	if err != nil {
		t.Fatalf("second server on a still-open shared store: %v", err)
	}
	if region, ok := srv2.BucketRegion("shared"); !ok || region != "cn-beijing" {
		t.Fatalf("bucket in shared store: %q %v", region, ok)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "oss", "index")); !os.IsNotExist(err) {
		t.Error("a private index was created although a store was given")
	}
}

// A client that dies mid-body must leave nothing visible and nothing behind.
func TestTornUploadIsInvisible(t *testing.T) {
	ts := startServer(t, t.TempDir())
	c := newClient(t, ts.endpoint)
	b := mustBucket(t, c, "torn")
	if err := c.SetBucketACL("torn", sdk.ACLPublicReadWrite); err != nil {
		t.Fatal(err)
	}
	putBytes(t, b, "victim", []byte("old content"))

	conn, err := net.Dial("tcp", ts.http.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "PUT /torn/victim HTTP/1.1\r\nHost: %s\r\nContent-Length: 100000\r\n\r\n", ts.http.Listener.Addr())
	_, _ = conn.Write(bytes.Repeat([]byte("x"), 5000))
	_ = conn.Close()

	deadline := time.Now().Add(5 * time.Second)
	for {
		entries, err := os.ReadDir(filepath.Join(ts.dataDir, "oss", "tmp"))
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("temporary file of a torn upload still present: %v", entries)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := getAll(t, b, "victim"); string(got) != "old content" {
		t.Fatalf("torn upload changed the object: %q", got)
	}
	// A complete anonymous PUT into the public-read-write bucket works.
	req, _ := http.NewRequest(http.MethodPut, ts.endpoint+"/torn/victim", bytes.NewReader([]byte("new content")))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(getAll(t, b, "victim")) != "new content" {
		t.Fatalf("complete PUT: %d", resp.StatusCode)
	}
}
