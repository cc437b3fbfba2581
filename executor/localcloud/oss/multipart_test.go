package oss

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"hash/crc64"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	sdk "github.com/aliyun/aliyun-oss-go-sdk/oss"
)

func TestMultipartUploadLifecycle(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := mustBucket(t, newClient(t, ts.endpoint), "multi")

	key := "out/part file+1.parquet"
	data := randomBytes(7, 2*minPartSize+1234)
	chunks := [][]byte{data[:minPartSize], data[minPartSize : 2*minPartSize], data[2*minPartSize:]}

	imur, err := b.InitiateMultipartUpload(key, sdk.Meta("origin", "multipart"))
	if err != nil {
		t.Fatalf("InitiateMultipartUpload: %v", err)
	}
	if imur.Key != key || imur.Bucket != "multi" || imur.UploadID == "" {
		t.Fatalf("initiate result %+v", imur)
	}
	var parts []sdk.UploadPart
	// Upload out of order and re-upload one part: the last upload of a number wins.
	for _, n := range []int{3, 1, 2} {
		p, err := b.UploadPart(imur, bytes.NewReader(chunks[n-1]), int64(len(chunks[n-1])), n)
		if err != nil {
			t.Fatalf("UploadPart(%d): %v", n, err)
		}
		sum := md5.Sum(chunks[n-1])
		if p.ETag != `"`+strings.ToUpper(hex.EncodeToString(sum[:]))+`"` {
			t.Errorf("part %d ETag = %q", n, p.ETag)
		}
		parts = append(parts, p)
	}
	if _, err := b.UploadPart(imur, bytes.NewReader([]byte("junk")), 4, 2); err != nil {
		t.Fatalf("re-upload part 2: %v", err)
	}
	p2, err := b.UploadPart(imur, bytes.NewReader(chunks[1]), int64(len(chunks[1])), 2)
	if err != nil {
		t.Fatal(err)
	}
	parts[2] = p2

	listed, err := b.ListUploadedParts(imur)
	if err != nil {
		t.Fatalf("ListUploadedParts: %v", err)
	}
	if listed.Key != key || len(listed.UploadedParts) != 3 || listed.UploadedParts[0].PartNumber != 1 || listed.UploadedParts[2].Size != len(chunks[2]) {
		t.Fatalf("ListUploadedParts = %+v", listed)
	}
	page, err := b.ListUploadedParts(imur, sdk.MaxParts(2))
	if err != nil || !page.IsTruncated || len(page.UploadedParts) != 2 || page.NextPartNumberMarker != "2" {
		t.Fatalf("parts page 1 = %+v, %v", page, err)
	}
	page, err = b.ListUploadedParts(imur, sdk.MaxParts(2), sdk.PartNumberMarker(2))
	if err != nil || page.IsTruncated || len(page.UploadedParts) != 1 || page.UploadedParts[0].PartNumber != 3 {
		t.Fatalf("parts page 2 = %+v, %v", page, err)
	}

	uploads, err := b.ListMultipartUploads()
	if err != nil || len(uploads.Uploads) != 1 || uploads.Uploads[0].Key != key || uploads.Uploads[0].UploadID != imur.UploadID {
		t.Fatalf("ListMultipartUploads = %+v, %v", uploads, err)
	}
	if ok, _ := b.IsObjectExist(key); ok {
		t.Fatal("object visible before complete")
	}

	// Validation failures leave the upload intact.
	badETag := append([]sdk.UploadPart(nil), parts...)
	badETag[0].ETag = `"00000000000000000000000000000000"`
	_, err = b.CompleteMultipartUpload(imur, badETag)
	wantCode(t, err, http.StatusBadRequest, "InvalidPart")
	_, err = b.CompleteMultipartUpload(imur, []sdk.UploadPart{parts[0], {PartNumber: 9, ETag: parts[0].ETag}})
	wantCode(t, err, http.StatusBadRequest, "InvalidPart")
	// The SDK sorts parts, so a wrong order can only be a duplicate.
	_, err = b.CompleteMultipartUpload(imur, []sdk.UploadPart{parts[1], parts[1]})
	wantCode(t, err, http.StatusBadRequest, "InvalidPartOrder")
	_, err = b.CompleteMultipartUpload(sdk.InitiateMultipartUploadResult{Bucket: "multi", Key: key, UploadID: "0123"}, parts)
	wantCode(t, err, http.StatusNotFound, "NoSuchUpload")

	var respHeader http.Header
	res, err := b.CompleteMultipartUpload(imur, parts, sdk.GetResponseHeader(&respHeader))
	if err != nil {
		t.Fatalf("CompleteMultipartUpload: %v", err)
	}
	if res.Key != key || !strings.HasSuffix(res.ETag, `-3"`) {
		t.Errorf("complete result %+v", res)
	}
	if got := respHeader.Get("X-Oss-Hash-Crc64ecma"); got != strconv.FormatUint(crcOf(data), 10) {
		t.Errorf("complete CRC = %s, want %d", got, crcOf(data))
	}
	if got := getAll(t, b, key); !bytes.Equal(got, data) {
		t.Fatal("assembled object differs")
	}
	meta, err := b.GetObjectDetailedMeta(key)
	if err != nil || meta.Get("X-Oss-Meta-Origin") != "multipart" || meta.Get("X-Oss-Object-Type") != "Multipart" ||
		meta.Get("X-Oss-Hash-Crc64ecma") != strconv.FormatUint(crcOf(data), 10) {
		t.Errorf("multipart object meta = %v, %v", meta, err)
	}
	// The upload is gone.
	_, err = b.ListUploadedParts(imur)
	wantCode(t, err, http.StatusNotFound, "NoSuchUpload")
	if u, _ := b.ListMultipartUploads(); len(u.Uploads) != 0 {
		t.Errorf("uploads left: %+v", u.Uploads)
	}
}

func TestMultipartEntityTooSmallAbortAndForbidOverwrite(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := mustBucket(t, newClient(t, ts.endpoint), "multi-errors")

	imur, err := b.InitiateMultipartUpload("small")
	if err != nil {
		t.Fatal(err)
	}
	p1, err := b.UploadPart(imur, bytes.NewReader([]byte("tiny")), 4, 1)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := b.UploadPart(imur, bytes.NewReader([]byte("tail")), 4, 2)
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.CompleteMultipartUpload(imur, []sdk.UploadPart{p1, p2})
	wantCode(t, err, http.StatusBadRequest, "EntityTooSmall")
	// A single small part is fine: only non-last parts have a minimum.
	if _, err := b.CompleteMultipartUpload(imur, []sdk.UploadPart{p1}); err != nil {
		t.Fatalf("complete with one small part: %v", err)
	}
	if got := getAll(t, b, "small"); string(got) != "tiny" {
		t.Fatalf("got %q", got)
	}

	// Abort removes the upload; further use answers NoSuchUpload.
	imur2, err := b.InitiateMultipartUpload("aborted")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.UploadPart(imur2, bytes.NewReader([]byte("x")), 1, 1); err != nil {
		t.Fatal(err)
	}
	if err := b.AbortMultipartUpload(imur2); err != nil {
		t.Fatalf("AbortMultipartUpload: %v", err)
	}
	wantCode(t, b.AbortMultipartUpload(imur2), http.StatusNotFound, "NoSuchUpload")
	_, err = b.UploadPart(imur2, bytes.NewReader([]byte("x")), 1, 1)
	wantCode(t, err, http.StatusNotFound, "NoSuchUpload")
	// An upload id is bound to its key.
	_, err = b.UploadPart(sdk.InitiateMultipartUploadResult{Bucket: imur.Bucket, Key: "other", UploadID: imur2.UploadID}, bytes.NewReader([]byte("x")), 1, 1)
	wantCode(t, err, http.StatusNotFound, "NoSuchUpload")
	_, err = b.UploadPart(imur2, bytes.NewReader([]byte("x")), 1, 10001)
	wantCode(t, err, http.StatusBadRequest, "InvalidArgument")

	// Forbid overwrite on complete.
	imur3, err := b.InitiateMultipartUpload("small")
	if err != nil {
		t.Fatal(err)
	}
	p, err := b.UploadPart(imur3, bytes.NewReader([]byte("new")), 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.CompleteMultipartUpload(imur3, []sdk.UploadPart{p}, sdk.ForbidOverWrite(true))
	wantCode(t, err, http.StatusConflict, "FileAlreadyExists")
	if got := getAll(t, b, "small"); string(got) != "tiny" {
		t.Fatalf("refused complete changed the object: %q", got)
	}

	// All part files of finished and aborted uploads are gone from disk.
	if err := b.AbortMultipartUpload(imur3); err != nil {
		t.Fatal(err)
	}
	refs, err := ts.index.referencedBlobs()
	if err != nil {
		t.Fatal(err)
	}
	onDisk := countBlobs(t, ts.dataDir)
	if onDisk != len(refs) || onDisk != 1 {
		t.Errorf("%d blob files on disk, %d referenced, want exactly 1 (the object)", onDisk, len(refs))
	}
}

func countBlobs(t testing.TB, dataDir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(filepath.Join(dataDir, "oss", "blobs"), func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestUploadPartCopy(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := mustBucket(t, newClient(t, ts.endpoint), "part-copy")
	data := randomBytes(8, 3*minPartSize)
	putBytes(t, b, "source", data)
	imur, err := b.InitiateMultipartUpload("dest")
	if err != nil {
		t.Fatal(err)
	}
	var parts []sdk.UploadPart
	for i := range 3 {
		p, err := b.UploadPartCopy(imur, "part-copy", "source", int64(i*minPartSize), minPartSize, i+1)
		if err != nil {
			t.Fatalf("UploadPartCopy(%d): %v", i+1, err)
		}
		parts = append(parts, p)
	}
	if _, err := b.CompleteMultipartUpload(imur, parts); err != nil {
		t.Fatal(err)
	}
	if got := getAll(t, b, "dest"); !bytes.Equal(got, data) {
		t.Fatal("copied parts differ")
	}
}

// TestUploadFileLarge drives the SDK's parallel uploader (bucket.UploadFile)
// and verifies the result by CRC (the SDK checks the whole-object CRC in
// DownloadFile) and by MD5, in 4 MiB parts over 4 connections: 200 MiB with
// DELIVERY_LONG=1 (3-15 s on a busy 2-core machine), 32 MiB otherwise.
func TestUploadFileLarge(t *testing.T) {
	size := 32 << 20
	if os.Getenv("DELIVERY_LONG") != "" {
		size = 200 << 20
	}
	dir := t.TempDir()
	ts := startServer(t, filepath.Join(dir, "data"))
	b := mustBucket(t, newClient(t, ts.endpoint), "big")

	// Write the source file in chunks without holding it all twice.
	src := filepath.Join(dir, "source.bin")
	f, err := os.Create(src)
	if err != nil {
		t.Fatal(err)
	}
	srcMD5, srcCRC := md5.New(), crc64.New(crc64.MakeTable(crc64.ECMA))
	for i := 0; i < size; i += 4 << 20 {
		chunk := randomBytes(uint64(i), min(4<<20, size-i))
		if _, err := io.MultiWriter(f, srcMD5, srcCRC).Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	key := "big/object.bin"
	if err := b.UploadFile(key, src, 4<<20, sdk.Routines(4)); err != nil {
		t.Fatalf("UploadFile: %v", err)
	}
	meta, err := b.GetObjectDetailedMeta(key)
	if err != nil {
		t.Fatal(err)
	}
	if meta.Get("Content-Length") != strconv.Itoa(size) || meta.Get("X-Oss-Hash-Crc64ecma") != strconv.FormatUint(srcCRC.Sum64(), 10) {
		t.Fatalf("uploaded object: length %s crc %s, want %d and %d", meta.Get("Content-Length"), meta.Get("X-Oss-Hash-Crc64ecma"), size, srcCRC.Sum64())
	}
	dst := filepath.Join(dir, "download.bin")
	if err := b.DownloadFile(key, dst, 8<<20, sdk.Routines(4)); err != nil {
		t.Fatalf("DownloadFile (CRC-checked): %v", err)
	}
	got, err := os.Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	dstMD5 := md5.New()
	if _, err := io.Copy(dstMD5, got); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%x", dstMD5.Sum(nil)) != fmt.Sprintf("%x", srcMD5.Sum(nil)) {
		t.Fatal("downloaded MD5 differs from the source")
	}
}
