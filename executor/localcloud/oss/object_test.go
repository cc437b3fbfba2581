package oss

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	sdk "github.com/aliyun/aliyun-oss-go-sdk/oss"
)

func TestObjectPutGetHeadDelete(t *testing.T) {
	ts := startServer(t, t.TempDir())
	c := newClient(t, ts.endpoint)
	b := mustBucket(t, c, "objects")

	data := randomBytes(1, 300_000)
	key := "dir/sub dir/obj+1 %41 ü.parquet"
	putBytes(t, b, key, data, sdk.Meta("Author", "alice"), sdk.Meta("run-id", "42"), sdk.CacheControl("no-cache"))

	if got := getAll(t, b, key); !bytes.Equal(got, data) {
		t.Fatalf("GetObject returned %d bytes that differ from the %d put", len(got), len(data))
	}

	// GetObjectToFile verifies the CRC header against the bytes it received.
	dst := filepath.Join(t.TempDir(), "out")
	if err := b.GetObjectToFile(key, dst); err != nil {
		t.Fatalf("GetObjectToFile: %v", err)
	}
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, data) {
		t.Fatal("GetObjectToFile content differs")
	}

	meta, err := b.GetObjectDetailedMeta(key)
	if err != nil {
		t.Fatalf("GetObjectDetailedMeta: %v", err)
	}
	sum := md5.Sum(data)
	wantETag := `"` + strings.ToUpper(hex.EncodeToString(sum[:])) + `"`
	checks := map[string]string{
		"Content-Length":       strconv.Itoa(len(data)),
		"Etag":                 wantETag,
		"X-Oss-Meta-Author":    "alice",
		"X-Oss-Meta-Run-Id":    "42",
		"Cache-Control":        "no-cache",
		"X-Oss-Object-Type":    "Normal",
		"X-Oss-Hash-Crc64ecma": strconv.FormatUint(crcOf(data), 10),
		"Content-Type":         "application/octet-stream",
	}
	for h, want := range checks {
		if got := meta.Get(h); got != want {
			t.Errorf("header %s = %q, want %q", h, got, want)
		}
	}
	if meta.Get("Last-Modified") == "" || meta.Get("X-Oss-Request-Id") == "" {
		t.Errorf("missing Last-Modified or request id: %v", meta)
	}

	basic, err := b.GetObjectMeta(key)
	if err != nil || basic.Get("Etag") != wantETag {
		t.Fatalf("GetObjectMeta = %v, %v", basic, err)
	}
	if ok, err := b.IsObjectExist(key); err != nil || !ok {
		t.Fatalf("IsObjectExist = %v, %v", ok, err)
	}
	if ok, err := b.IsObjectExist("no/such/key"); err != nil || ok {
		t.Fatalf("IsObjectExist(missing) = %v, %v", ok, err)
	}

	// Content type from the key's extension, as the SDK sets it.
	putBytes(t, b, "page.html", []byte("<p>hi</p>"))
	if m, _ := b.GetObjectDetailedMeta("page.html"); m.Get("Content-Type") != "text/html" {
		t.Errorf("html content type = %q", m.Get("Content-Type"))
	}

	// Overwrite replaces content and metadata.
	putBytes(t, b, key, []byte("small"))
	if got := getAll(t, b, key); string(got) != "small" {
		t.Fatalf("after overwrite: %q", got)
	}
	if m, _ := b.GetObjectDetailedMeta(key); m.Get("X-Oss-Meta-Author") != "" {
		t.Error("metadata survived an overwrite without metadata")
	}

	// Delete, then everything about the key is gone; deleting again is fine.
	if err := b.DeleteObject(key); err != nil {
		t.Fatalf("DeleteObject: %v", err)
	}
	if err := b.DeleteObject(key); err != nil {
		t.Fatalf("DeleteObject of a missing key: %v", err)
	}
	_, err = b.GetObject(key)
	wantCode(t, err, http.StatusNotFound, "NoSuchKey")
	// HEAD errors have no body; the SDK decodes x-oss-err.
	_, err = b.GetObjectDetailedMeta(key)
	wantCode(t, err, http.StatusNotFound, "NoSuchKey")

	// Missing bucket.
	missing, _ := c.Bucket("no-such-bucket")
	err = missing.PutObject("k", bytes.NewReader([]byte("x")))
	wantCode(t, err, http.StatusNotFound, "NoSuchBucket")
	_, err = missing.GetObject("k")
	wantCode(t, err, http.StatusNotFound, "NoSuchBucket")
	_, err = missing.ListObjects()
	wantCode(t, err, http.StatusNotFound, "NoSuchBucket")
}

func TestObjectRanges(t *testing.T) {
	ts := startServer(t, t.TempDir())
	c := newClient(t, ts.endpoint)
	b := mustBucket(t, c, "ranges")
	data := randomBytes(2, 1000)
	putBytes(t, b, "r", data)

	cases := []struct {
		opt        sdk.Option
		start, end int
	}{
		{sdk.Range(0, 9), 0, 9},
		{sdk.Range(990, 999), 990, 999},
		{sdk.Range(995, 5000), 995, 999}, // clamped to the object
		{sdk.NormalizedRange("100-"), 100, 999},
		{sdk.NormalizedRange("-5"), 995, 999},
	}
	for _, tc := range cases {
		var hdr http.Header
		got := getAll(t, b, "r", tc.opt, sdk.GetResponseHeader(&hdr))
		if !bytes.Equal(got, data[tc.start:tc.end+1]) {
			t.Errorf("range %d-%d: got %d bytes", tc.start, tc.end, len(got))
		}
		want := "bytes " + strconv.Itoa(tc.start) + "-" + strconv.Itoa(tc.end) + "/1000"
		if hdr.Get("Content-Range") != want {
			t.Errorf("Content-Range = %q, want %q", hdr.Get("Content-Range"), want)
		}
	}
	// An unsatisfiable range returns the whole object, unless standard behaviour is asked for.
	if got := getAll(t, b, "r", sdk.Range(5000, 6000)); !bytes.Equal(got, data) {
		t.Errorf("unsatisfiable range: got %d bytes", len(got))
	}
	_, err := b.GetObject("r", sdk.Range(5000, 6000), sdk.RangeBehavior("standard"))
	wantCode(t, err, http.StatusRequestedRangeNotSatisfiable, "InvalidRange")

	// DownloadFile: HEAD, parallel ranges, whole-object CRC check.
	dst := filepath.Join(t.TempDir(), "dl")
	if err := b.DownloadFile("r", dst, 100, sdk.Routines(3)); err != nil {
		t.Fatalf("DownloadFile: %v", err)
	}
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, data) {
		t.Error("DownloadFile content differs")
	}
}

func TestObjectContentMD5AndForbidOverwrite(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := mustBucket(t, newClient(t, ts.endpoint), "checks")

	// A client that sends Content-MD5 on every write.
	md5Client := newClient(t, ts.endpoint, sdk.EnableMD5(true))
	mb, _ := md5Client.Bucket("checks")
	putBytes(t, mb, "with-md5", []byte("hello md5"))

	wrong := md5.Sum([]byte("something else"))
	err := b.PutObject("bad-md5", bytes.NewReader([]byte("hello")), sdk.ContentMD5(base64.StdEncoding.EncodeToString(wrong[:])))
	wantCode(t, err, http.StatusBadRequest, "InvalidDigest")
	if ok, _ := b.IsObjectExist("bad-md5"); ok {
		t.Fatal("object with a wrong Content-MD5 became visible")
	}
	err = b.PutObject("bad-md5", bytes.NewReader([]byte("hello")), sdk.ContentMD5("not base64!"))
	wantCode(t, err, http.StatusBadRequest, "InvalidDigest")

	putBytes(t, b, "once", []byte("first"), sdk.ForbidOverWrite(true))
	err = b.PutObject("once", bytes.NewReader([]byte("second")), sdk.ForbidOverWrite(true))
	wantCode(t, err, http.StatusConflict, "FileAlreadyExists")
	if got := getAll(t, b, "once"); string(got) != "first" {
		t.Fatalf("refused overwrite changed the object: %q", got)
	}
	// Without the header, overwriting works.
	putBytes(t, b, "once", []byte("second"), sdk.ForbidOverWrite(false))
	if got := getAll(t, b, "once"); string(got) != "second" {
		t.Fatalf("overwrite: %q", got)
	}
	// Copy honours it too.
	_, err = b.CopyObject("with-md5", "once", sdk.ForbidOverWrite(true))
	wantCode(t, err, http.StatusConflict, "FileAlreadyExists")
}

func TestCopyAndDeleteMultiple(t *testing.T) {
	ts := startServer(t, t.TempDir())
	c := newClient(t, ts.endpoint)
	src := mustBucket(t, c, "copy-src")
	dst := mustBucket(t, c, "copy-dst")

	data := randomBytes(3, 5000)
	key := "from/a b+c%.bin"
	putBytes(t, src, key, data, sdk.Meta("k", "v"))

	res, err := src.CopyObject(key, "same-bucket copy")
	if err != nil {
		t.Fatalf("CopyObject: %v", err)
	}
	sum := md5.Sum(data)
	if res.ETag != `"`+strings.ToUpper(hex.EncodeToString(sum[:]))+`"` || res.LastModified.IsZero() {
		t.Errorf("copy result %+v", res)
	}
	if got := getAll(t, src, "same-bucket copy"); !bytes.Equal(got, data) {
		t.Fatal("copy content differs")
	}
	if _, err := dst.CopyObjectFrom("copy-src", key, "other/bucket copy", sdk.MetadataDirective(sdk.MetaReplace), sdk.Meta("k", "replaced")); err != nil {
		t.Fatalf("CopyObjectFrom: %v", err)
	}
	if m, _ := dst.GetObjectDetailedMeta("other/bucket copy"); m.Get("X-Oss-Meta-K") != "replaced" {
		t.Errorf("replaced meta = %q", m.Get("X-Oss-Meta-K"))
	}
	// SetObjectMeta is a copy onto itself with REPLACE.
	if err := src.SetObjectMeta(key, sdk.Meta("k", "set")); err != nil {
		t.Fatalf("SetObjectMeta: %v", err)
	}
	if m, _ := src.GetObjectDetailedMeta(key); m.Get("X-Oss-Meta-K") != "set" {
		t.Errorf("SetObjectMeta meta = %q", m.Get("X-Oss-Meta-K"))
	}
	// Deleting the source leaves the copies intact (separate blobs).
	if err := src.DeleteObject(key); err != nil {
		t.Fatal(err)
	}
	if got := getAll(t, dst, "other/bucket copy"); !bytes.Equal(got, data) {
		t.Fatal("copy lost its content after the source was deleted")
	}
	_, err = src.CopyObject("missing", "x")
	wantCode(t, err, http.StatusNotFound, "NoSuchKey")

	keys := []string{"m/1", "m/2 with space", "m/3+plus", "m/4&<amp>", "m/5 ünïcode", "m/never-existed"}
	for _, k := range keys[:5] {
		putBytes(t, dst, k, []byte(k))
	}
	del, err := dst.DeleteObjects(keys)
	if err != nil {
		t.Fatalf("DeleteObjects: %v", err)
	}
	if strings.Join(del.DeletedObjects, "|") != strings.Join(keys, "|") {
		t.Errorf("DeletedObjects = %q", del.DeletedObjects)
	}
	list, err := dst.ListObjects(sdk.Prefix("m/"))
	if err != nil || len(list.Objects) != 0 {
		t.Fatalf("after DeleteObjects: %+v, %v", list.Objects, err)
	}
	putBytes(t, dst, "q/1", []byte("1"))
	del, err = dst.DeleteObjects([]string{"q/1"}, sdk.DeleteObjectsQuiet(true))
	if err != nil || len(del.DeletedObjects) != 0 {
		t.Fatalf("quiet DeleteObjects = %+v, %v", del, err)
	}
	if ok, _ := dst.IsObjectExist("q/1"); ok {
		t.Fatal("quiet delete did not delete")
	}
}

func TestKeysThatLookLikePaths(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := mustBucket(t, newClient(t, ts.endpoint), "paths")
	// Keys that are legal for OSS but would be dangerous as file names
	// work, and stay inside the data dir (blobs have generated names).
	for _, key := range []string{"a//b", "./x", "x/./y", "~root", "a\\b", "con", "trailing/"} {
		putBytes(t, b, key, []byte(key))
		if got := getAll(t, b, key); string(got) != key {
			t.Errorf("key %q read back %q", key, got)
		}
	}
	// Keys that try to climb out are refused.
	for _, key := range []string{"../escape", "a/../../b", "..", "/abs", "\\abs"} {
		err := b.PutObject(key, bytes.NewReader([]byte("x")))
		wantCode(t, err, http.StatusBadRequest, "InvalidObjectName")
	}
	// Nothing outside DataDir/oss was created.
	entries, err := os.ReadDir(ts.dataDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "oss" {
			t.Errorf("unexpected entry in data dir: %s", e.Name())
		}
	}
}

// Concurrent overwrites, reads, copies and deletes of the same keys: every
// read sees one complete version, and no blob leaks once the dust settles.
func TestConcurrentOverwritesAndReads(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := mustBucket(t, newClient(t, ts.endpoint), "race")
	versions := make([][]byte, 4)
	for i := range versions {
		versions[i] = bytes.Repeat([]byte{byte('a' + i)}, 64<<10+i)
	}
	putBytes(t, b, "hot", versions[0])

	errs := make(chan error, 64)
	done := make(chan struct{})
	var writers, readers sync.WaitGroup
	for w := range 3 {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for i := range 15 {
				v := versions[(w+i)%len(versions)]
				if err := b.PutObject("hot", bytes.NewReader(v)); err != nil {
					errs <- err
					return
				}
				if _, err := b.CopyObject("hot", fmt.Sprintf("copy-%d", w)); err != nil {
					errs <- fmt.Errorf("copy: %w", err)
					return
				}
				_ = b.DeleteObject(fmt.Sprintf("copy-%d", w))
			}
		}()
	}
	for range 2 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				rc, err := b.GetObject("hot")
				if err != nil {
					errs <- fmt.Errorf("get: %w", err)
					return
				}
				got, err := io.ReadAll(rc)
				rc.Close()
				if err != nil {
					errs <- fmt.Errorf("read: %w", err)
					return
				}
				whole := false
				for _, v := range versions {
					whole = whole || bytes.Equal(got, v)
				}
				if !whole {
					errs <- fmt.Errorf("read a mixed or torn version of %d bytes", len(got))
					return
				}
			}
		}()
	}
	writers.Wait()
	close(done)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	refs, err := ts.index.referencedBlobs()
	if err != nil {
		t.Fatal(err)
	}
	if n := countBlobs(t, ts.dataDir); n != len(refs) || n != 1 {
		t.Errorf("%d blob files, %d referenced, want 1", n, len(refs))
	}
}
