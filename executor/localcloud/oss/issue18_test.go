package oss

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	sdk "github.com/aliyun/aliyun-oss-go-sdk/oss"
)

// Tests for the gaps of issue 18, each driving the real Go SDK over HTTP, or
// raw signed HTTP where the Go SDK cannot express the request (the Node.js
// client's x-oss-date-only V1 signature, its virtual-hosted Host header).

// aliOSSStyleRequest builds a V1-signed request the way ali-oss 6.23.0 does
// (lib/common/signUtils.js): no Date header, x-oss-date on the date line and
// among the x-oss-* headers, resource /<bucket>/<key>.
func aliOSSStyleRequest(t *testing.T, method, url, host, bucket, key string, body []byte) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		r.Host = host
	}
	date := time.Now().UTC().Format(http.TimeFormat)
	r.Header.Set("x-oss-date", date)
	r.Header.Set("Content-Type", "text/plain")
	resource := "/" + bucket + "/" + key
	stringToSign := method + "\n\ntext/plain\n" + date + "\nx-oss-date:" + date + "\n" + resource
	mac := hmac.New(sha1.New, []byte(testSK))
	mac.Write([]byte(stringToSign))
	r.Header.Set("Authorization", "OSS "+testAK+":"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	r.Header.Del("Date")
	return r
}

func do(t *testing.T, r *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatalf("%s %s: %v", r.Method, r.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func TestV1SignatureWithXOSSDateOnly(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := mustBucket(t, newClient(t, ts.endpoint), "node-v1")

	resp, body := do(t, aliOSSStyleRequest(t, http.MethodPut, ts.endpoint+"/node-v1/hello.txt", "", "node-v1", "hello.txt", []byte("hi")))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT signed over x-oss-date: %d %s", resp.StatusCode, body)
	}
	if got := getAll(t, b, "hello.txt"); string(got) != "hi" {
		t.Fatalf("object = %q", got)
	}

	// The date line must be the x-oss-date value: signing another date fails.
	r := aliOSSStyleRequest(t, http.MethodGet, ts.endpoint+"/node-v1/hello.txt", "", "node-v1", "hello.txt", nil)
	r.Header.Set("x-oss-date", time.Now().Add(-time.Minute).UTC().Format(http.TimeFormat))
	if resp, body := do(t, r); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "SignatureDoesNotMatch") {
		t.Fatalf("tampered x-oss-date: %d %s", resp.StatusCode, body)
	}
}

func TestVirtualHostedStyleFromHost(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := mustBucket(t, newClient(t, ts.endpoint), "vhost-bucket")

	// ali-oss with an IP endpoint: Host <bucket>.oss-<region>.aliyuncs.com, path /<key>.
	for _, host := range []string{"vhost-bucket.oss-cn-hangzhou.aliyuncs.com", "vhost-bucket.127.0.0.1"} {
		key := "from-" + strings.ReplaceAll(host, ".", "-")
		resp, body := do(t, aliOSSStyleRequest(t, http.MethodPut, ts.endpoint+"/"+key, host, "vhost-bucket", key, []byte(host)))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("PUT with Host %s: %d %s", host, resp.StatusCode, body)
		}
		if got := getAll(t, b, key); string(got) != host {
			t.Fatalf("object %s = %q", key, got)
		}
	}
	// The OSS endpoint itself (no bucket label) addresses the service: a
	// path-style request through it still works.
	resp, body := do(t, aliOSSStyleRequest(t, http.MethodGet, ts.endpoint+"/vhost-bucket/from-vhost-bucket-127-0-0-1", "oss-cn-hangzhou.aliyuncs.com", "vhost-bucket", "from-vhost-bucket-127-0-0-1", nil))
	if resp.StatusCode != http.StatusOK || body != "vhost-bucket.127.0.0.1" {
		t.Fatalf("path style through the OSS domain: %d %s", resp.StatusCode, body)
	}
}

func TestObjectACL(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := mustBucket(t, newClient(t, ts.endpoint), "object-acl")
	putBytes(t, b, "k", []byte("v"))

	res, err := b.GetObjectACL("k")
	if err != nil || res.ACL != "default" {
		t.Fatalf("GetObjectACL of a new object = %q, %v; the real service answers default", res.ACL, err)
	}
	if err := b.SetObjectACL("k", sdk.ACLPublicRead); err != nil {
		t.Fatalf("SetObjectACL: %v", err)
	}
	if res, err = b.GetObjectACL("k"); err != nil || res.ACL != "public-read" {
		t.Fatalf("GetObjectACL after set = %q, %v", res.ACL, err)
	}
	// The object ACL lets an anonymous reader in although the bucket is private.
	if resp, body := do(t, mustRequest(t, http.MethodGet, ts.endpoint+"/object-acl/k")); resp.StatusCode != http.StatusOK || body != "v" {
		t.Fatalf("anonymous GET of a public-read object: %d %s", resp.StatusCode, body)
	}
	if err := b.SetObjectACL("k", sdk.ACLType("default")); err != nil {
		t.Fatalf("SetObjectACL default: %v", err)
	}
	if res, _ = b.GetObjectACL("k"); res.ACL != "default" {
		t.Fatalf("after default: %q", res.ACL)
	}
	wantCode(t, b.SetObjectACL("k", sdk.ACLType("everyone")), http.StatusBadRequest, "InvalidArgument")
	_, err = b.GetObjectACL("missing")
	wantCode(t, err, http.StatusNotFound, "NoSuchKey")
	if err := b.PutObject("with-acl", strings.NewReader("x"), sdk.ObjectACL(sdk.ACLPrivate)); err != nil {
		t.Fatal(err)
	}
	if res, _ = b.GetObjectACL("with-acl"); res.ACL != "private" {
		t.Fatalf("ACL given at put = %q", res.ACL)
	}
}

func mustRequest(t *testing.T, method, url string) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestAppendObject(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := mustBucket(t, newClient(t, ts.endpoint), "appends")

	next, err := b.AppendObject("log", strings.NewReader("hello "), 0, sdk.Meta("first", "1"), sdk.ObjectACL(sdk.ACLPublicRead))
	if err != nil || next != 6 {
		t.Fatalf("first append: next %d, %v", next, err)
	}
	// The SDK checks the whole object's CRC against the one it computed when
	// given the previous CRC; a wrong combined CRC fails here.
	res, err := b.DoAppendObject(&sdk.AppendObjectRequest{ObjectKey: "log", Reader: strings.NewReader("world"), Position: next},
		[]sdk.Option{sdk.InitCRC(crcOf([]byte("hello "))), sdk.Meta("second", "2"), sdk.ObjectACL(sdk.ACLPrivate)})
	if err != nil || res.NextPosition != 11 {
		t.Fatalf("second append: %+v, %v", res, err)
	}
	if got := getAll(t, b, "log"); string(got) != "hello world" {
		t.Fatalf("object = %q", got)
	}
	meta, err := b.GetObjectDetailedMeta("log")
	if err != nil {
		t.Fatal(err)
	}
	if meta.Get("X-Oss-Object-Type") != "Appendable" || meta.Get("X-Oss-Next-Append-Position") != "11" ||
		meta.Get("X-Oss-Meta-First") != "1" || meta.Get("X-Oss-Meta-Second") != "" {
		t.Fatalf("metadata after two appends: %v", meta)
	}
	if acl, _ := b.GetObjectACL("log"); acl.ACL != "private" {
		t.Fatalf("a later append's ACL applies: %q", acl.ACL)
	}

	var hdr http.Header
	_, err = b.AppendObject("log", strings.NewReader("x"), 3, sdk.GetResponseHeader(&hdr))
	wantCode(t, err, http.StatusConflict, "PositionNotEqualToLength")
	if hdr.Get("X-Oss-Next-Append-Position") != "11" {
		t.Fatalf("x-oss-next-append-position on a wrong position = %q", hdr.Get("X-Oss-Next-Append-Position"))
	}
	putBytes(t, b, "normal", []byte("n"))
	_, err = b.AppendObject("normal", strings.NewReader("x"), 1)
	wantCode(t, err, http.StatusConflict, "ObjectNotAppendable")
	_, err = b.AppendObject("fresh", strings.NewReader("x"), 5)
	wantCode(t, err, http.StatusConflict, "PositionNotEqualToLength")
}

func TestSymlink(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := mustBucket(t, newClient(t, ts.endpoint), "links")

	if err := b.PutSymlink("link", "dir/target"); err != nil {
		t.Fatalf("PutSymlink before the target exists: %v", err)
	}
	_, err := b.GetObject("link")
	wantCode(t, err, http.StatusNotFound, "SymlinkTargetNotExist")
	putBytes(t, b, "dir/target", []byte("target bytes"))
	if got := getAll(t, b, "link"); string(got) != "target bytes" {
		t.Fatalf("GET through the symlink = %q", got)
	}
	meta, err := b.GetSymlink("link")
	if err != nil || meta.Get(sdk.HTTPHeaderOssSymlinkTarget) != "dir/target" {
		t.Fatalf("GetSymlink = %v, %v", meta, err)
	}
	_, err = b.GetSymlink("dir/target")
	wantCode(t, err, http.StatusBadRequest, "NotSymlink")
	lor, err := b.ListObjects()
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]string{}
	for _, o := range lor.Objects {
		types[o.Key] = o.Type
	}
	if types["link"] != "Symlink" || types["dir/target"] != "Normal" {
		t.Fatalf("listed types %v", types)
	}
	if err := b.DeleteObject("link"); err != nil {
		t.Fatal(err)
	}
	if got := getAll(t, b, "dir/target"); string(got) != "target bytes" {
		t.Fatalf("deleting the symlink touched the target: %q", got)
	}
}

func TestObjectTagging(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := mustBucket(t, newClient(t, ts.endpoint), "tags")
	putBytes(t, b, "k", []byte("v"), sdk.SetTagging(sdk.Tagging{Tags: []sdk.Tag{{Key: "a b", Value: "1+2"}}}))

	got, err := b.GetObjectTagging("k")
	if err != nil || len(got.Tags) != 1 || got.Tags[0].Key != "a b" || got.Tags[0].Value != "1+2" {
		t.Fatalf("tags set at put: %+v, %v", got, err)
	}
	want := sdk.Tagging{Tags: []sdk.Tag{{Key: "k1", Value: "v1"}, {Key: "k2", Value: ""}}}
	if err := b.PutObjectTagging("k", want); err != nil {
		t.Fatalf("PutObjectTagging: %v", err)
	}
	if got, err = b.GetObjectTagging("k"); err != nil || len(got.Tags) != 2 || got.Tags[0].Key != "k1" || got.Tags[0].Value != "v1" || got.Tags[1].Key != "k2" || got.Tags[1].Value != "" {
		t.Fatalf("GetObjectTagging = %+v, %v", got, err)
	}
	if meta, _ := b.GetObjectDetailedMeta("k"); meta.Get("X-Oss-Tagging-Count") != "2" {
		t.Fatalf("x-oss-tagging-count = %q", meta.Get("X-Oss-Tagging-Count"))
	}
	var eleven []sdk.Tag
	for i := range 11 {
		eleven = append(eleven, sdk.Tag{Key: fmt.Sprint("t", i), Value: "v"})
	}
	wantCode(t, b.PutObjectTagging("k", sdk.Tagging{Tags: eleven}), http.StatusBadRequest, "InvalidTag")
	wantCode(t, b.PutObjectTagging("k", sdk.Tagging{Tags: []sdk.Tag{{Key: "a&b", Value: "v"}}}), http.StatusBadRequest, "InvalidTag")

	// CopyObject keeps the source's tags unless x-oss-tagging-directive: Replace.
	if _, err := b.CopyObject("k", "copied", sdk.SetTagging(sdk.Tagging{Tags: []sdk.Tag{{Key: "new", Value: "1"}}})); err != nil {
		t.Fatal(err)
	}
	if got, _ = b.GetObjectTagging("copied"); len(got.Tags) != 2 || got.Tags[0].Key != "k1" {
		t.Fatalf("copied tags %+v, want the source's", got)
	}
	if _, err := b.CopyObject("k", "replaced", sdk.SetTagging(sdk.Tagging{Tags: []sdk.Tag{{Key: "new", Value: "1"}}}), sdk.TaggingDirective(sdk.TaggingReplace)); err != nil {
		t.Fatal(err)
	}
	if got, _ = b.GetObjectTagging("replaced"); len(got.Tags) != 1 || got.Tags[0].Key != "new" {
		t.Fatalf("replaced tags %+v", got)
	}
	if err := b.DeleteObjectTagging("k"); err != nil {
		t.Fatalf("DeleteObjectTagging: %v", err)
	}
	if got, _ = b.GetObjectTagging("k"); len(got.Tags) != 0 {
		t.Fatalf("tags after delete: %+v", got)
	}
	wantCode(t, b.PutObjectTagging("missing", want), http.StatusNotFound, "NoSuchKey")
}

func TestMultipartETagFromHexPartETags(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := mustBucket(t, newClient(t, ts.endpoint), "mpu-etag")
	imur, err := b.InitiateMultipartUpload("big")
	if err != nil {
		t.Fatal(err)
	}
	var parts []sdk.UploadPart
	h := md5.New()
	for n, size := range []int{minPartSize, 1000} {
		data := randomBytes(uint64(n+1), size)
		p, err := b.UploadPart(imur, bytes.NewReader(data), int64(size), n+1)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, p)
		sum := md5.Sum(data)
		h.Write([]byte(strings.ToUpper(hex.EncodeToString(sum[:]))))
	}
	want := `"` + strings.ToUpper(hex.EncodeToString(h.Sum(nil))) + `-2"`
	res, err := b.CompleteMultipartUpload(imur, parts)
	if err != nil || res.ETag != want {
		t.Fatalf("ETag = %q (%v), want %s", res.ETag, err, want)
	}
	if meta, _ := b.GetObjectDetailedMeta("big"); meta.Get("ETag") != want {
		t.Fatalf("HEAD ETag = %q", meta.Get("ETag"))
	}
}

func TestCopySourceDateConditions(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := mustBucket(t, newClient(t, ts.endpoint), "copy-cond")
	putBytes(t, b, "src", randomBytes(7, 1000))
	past, future := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)

	_, err := b.CopyObject("src", "dst", sdk.CopySourceIfModifiedSince(future))
	wantStatus(t, err, http.StatusNotModified)
	_, err = b.CopyObject("src", "dst", sdk.CopySourceIfUnmodifiedSince(past))
	wantCode(t, err, http.StatusPreconditionFailed, "PreconditionFailed")
	if ok, _ := b.IsObjectExist("dst"); ok {
		t.Fatal("a failed condition still copied")
	}
	if _, err := b.CopyObject("src", "dst", sdk.CopySourceIfModifiedSince(past), sdk.CopySourceIfUnmodifiedSince(future)); err != nil {
		t.Fatalf("conditions that hold: %v", err)
	}

	imur, err := b.InitiateMultipartUpload("parts")
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.UploadPartCopy(imur, "copy-cond", "src", 0, 100, 1, sdk.CopySourceIfModifiedSince(future))
	wantStatus(t, err, http.StatusNotModified)
	_, err = b.UploadPartCopy(imur, "copy-cond", "src", 0, 100, 1, sdk.CopySourceIfUnmodifiedSince(past))
	wantCode(t, err, http.StatusPreconditionFailed, "PreconditionFailed")
	if _, err := b.UploadPartCopy(imur, "copy-cond", "src", 0, 100, 1, sdk.CopySourceIfUnmodifiedSince(future)); err != nil {
		t.Fatalf("UploadPartCopy with a condition that holds: %v", err)
	}
}

// wantStatus checks an error's HTTP status. The SDK reports a 304 as a
// plain error naming the status, not as a ServiceError.
func wantStatus(t *testing.T, err error, status int) {
	t.Helper()
	if err == nil {
		t.Fatalf("want status %d, got success", status)
	}
	var se sdk.ServiceError
	if errors.As(err, &se) {
		if se.StatusCode != status {
			t.Fatalf("want status %d, got %d %s", status, se.StatusCode, se.Code)
		}
		return
	}
	if !strings.Contains(err.Error(), strconv.Itoa(status)) {
		t.Fatalf("want status %d, got %v", status, err)
	}
}

func TestDeleteObjectsWithCharacterReferences(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := mustBucket(t, newClient(t, ts.endpoint), "charrefs")
	keys := []string{"form\ffeed", "bell\x07and\x1f", "plain<&>", "literal\uFDD0sentinel"}
	for _, k := range keys {
		putBytes(t, b, k, []byte("x"))
	}
	// The SDK sends "\f" as &#x0C; (oss/utils.go EscapeXml).
	res, err := b.DeleteObjects(keys)
	if err != nil {
		t.Fatalf("DeleteObjects: %v", err)
	}
	if len(res.DeletedObjects) != len(keys) {
		t.Fatalf("deleted %q", res.DeletedObjects)
	}
	for _, k := range keys {
		if ok, err := b.IsObjectExist(k); err != nil || ok {
			t.Fatalf("%q still exists (%v)", k, err)
		}
	}
}

func TestPutObjectConditions(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := mustBucket(t, newClient(t, ts.endpoint), "put-cond")
	past := time.Now().Add(-time.Hour)

	// The SDK's TestPutObjectType expects this to fail (no object to compare).
	err := b.PutObject("k", strings.NewReader("v"), sdk.IfModifiedSince(past))
	wantCode(t, err, http.StatusPreconditionFailed, "PreconditionFailed")
	if ok, _ := b.IsObjectExist("k"); ok {
		t.Fatal("a failed condition still wrote the object")
	}
	putBytes(t, b, "k", []byte("v1"))
	meta, _ := b.GetObjectDetailedMeta("k")
	wantCode(t, b.PutObject("k", strings.NewReader("v2"), sdk.IfMatch(`"00000000000000000000000000000000"`)), http.StatusPreconditionFailed, "PreconditionFailed")
	if err := b.PutObject("k", strings.NewReader("v2"), sdk.IfMatch(meta.Get("ETag"))); err != nil {
		t.Fatalf("If-Match that holds: %v", err)
	}
	if got := getAll(t, b, "k"); string(got) != "v2" {
		t.Fatalf("object = %q", got)
	}
	// InitiateMultipartUpload ignores the conditions (the SDK's TestMultipartNegative).
	if _, err := b.InitiateMultipartUpload("k", sdk.IfModifiedSince(time.Now().Add(time.Hour))); err != nil {
		t.Fatalf("InitiateMultipartUpload with If-Modified-Since: %v", err)
	}
}

func TestUnservedSubresourcesAnswerNotImplemented(t *testing.T) {
	ts := startServer(t, t.TempDir())
	c := newClient(t, ts.endpoint)
	b := mustBucket(t, c, "subs")
	putBytes(t, b, "k", []byte("v"))

	calls := map[string]func() error{
		"ListLiveChannel":         func() error { _, err := b.ListLiveChannel(); return err },
		"GetBucketRequestPayment": func() error { _, err := c.GetBucketRequestPayment("subs"); return err },
		"GetBucketResourceGroup":  func() error { _, err := c.GetBucketResourceGroup("subs"); return err },
		"GetBucketAccessMonitor":  func() error { _, err := c.GetBucketAccessMonitor("subs"); return err },
		"GetBucketQosInfo":        func() error { _, err := c.GetBucketQosInfo("subs"); return err },
		"GetUserQoSInfo":          func() error { _, err := c.GetUserQoSInfo(); return err },
		"DescribeRegions":         func() error { _, err := c.DescribeRegions(); return err },
		"GetBucketCORS":           func() error { _, err := c.GetBucketCORS("subs"); return err },
		"GetBucketVersioning":     func() error { _, err := c.GetBucketVersioning("subs"); return err },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) { wantCode(t, call(), http.StatusNotImplemented, "NotImplemented") })
	}
	// versionId=null names the one version of an unversioned object.
	if got := getAll(t, b, "k", sdk.VersionId("null")); string(got) != "v" {
		t.Fatalf("GET versionId=null = %q", got)
	}
	_, err := b.GetObject("k", sdk.VersionId("CAEQARiBgID"))
	wantCode(t, err, http.StatusNotImplemented, "NotImplemented")
	// A listing with only listing parameters is still a listing.
	if lor, err := b.ListObjects(sdk.Prefix("k"), sdk.MaxKeys(10)); err != nil || len(lor.Objects) != 1 {
		t.Fatalf("ListObjects: %+v, %v", lor, err)
	}
}

func TestGetBucketStat(t *testing.T) {
	ts := startServer(t, t.TempDir())
	c := newClient(t, ts.endpoint)
	b := mustBucket(t, c, "stats")
	putBytes(t, b, "a", make([]byte, 100))
	putBytes(t, b, "b", make([]byte, 23))
	if _, err := b.InitiateMultipartUpload("c"); err != nil {
		t.Fatal(err)
	}
	st, err := c.GetBucketStat("stats")
	if err != nil {
		t.Fatalf("GetBucketStat: %v", err)
	}
	if st.ObjectCount != 2 || st.Storage != 123 || st.MultipartUploadCount != 1 || st.StandardObjectCount != 2 {
		t.Fatalf("stat = %+v", st)
	}
	if age := time.Now().Unix() - st.LastModifiedTime; age < 0 || age > 60 {
		t.Fatalf("LastModifiedTime %d is %s ago", st.LastModifiedTime, strconv.FormatInt(age, 10))
	}
	_, err = c.GetBucketStat("no-such-bucket")
	wantCode(t, err, http.StatusNotFound, "NoSuchBucket")
}

func TestBucketEndpointsAndListPrefix(t *testing.T) {
	ts := startServer(t, t.TempDir())
	c := newClient(t, ts.endpoint)
	mustBucket(t, c, "endpoints")
	info, err := c.GetBucketInfo("endpoints")
	if err != nil {
		t.Fatal(err)
	}
	if info.BucketInfo.ExtranetEndpoint != "oss-cn-hangzhou.aliyuncs.com" || info.BucketInfo.IntranetEndpoint != "oss-cn-hangzhou-internal.aliyuncs.com" {
		t.Fatalf("endpoints %q %q", info.BucketInfo.ExtranetEndpoint, info.BucketInfo.IntranetEndpoint)
	}
	_, err = c.IsBucketExist("BucketNameInvalid")
	wantCode(t, err, http.StatusBadRequest, "InvalidArgument")
	if ok, err := c.IsBucketExist("endpoints"); err != nil || !ok {
		t.Fatalf("IsBucketExist: %v %v", ok, err)
	}
}

func TestInvalidServerSideEncryptionValue(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := mustBucket(t, newClient(t, ts.endpoint), "sse")
	putBytes(t, b, "k", []byte("v"))
	wantCode(t, b.SetObjectMeta("k", sdk.ServerSideEncryption("invalid")), http.StatusBadRequest, "InvalidEncryptionAlgorithmError")
	wantCode(t, b.PutObject("k2", strings.NewReader("v"), sdk.ServerSideEncryption("rot13")), http.StatusBadRequest, "InvalidEncryptionAlgorithmError")
}

func TestContentMD5OnHead(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := mustBucket(t, newClient(t, ts.endpoint), "md5s")
	data := randomBytes(3, minPartSize+10)
	sum := md5.Sum(data)
	want := base64.StdEncoding.EncodeToString(sum[:])
	putBytes(t, b, "put", data)
	if meta, _ := b.GetObjectDetailedMeta("put"); meta.Get("Content-MD5") != want {
		t.Fatalf("Content-MD5 of a put object = %q, want %q", meta.Get("Content-MD5"), want)
	}
	for _, sequential := range []bool{true, false} {
		key := fmt.Sprint("mpu-", sequential)
		var opts []sdk.Option
		if sequential {
			opts = append(opts, sdk.Sequential())
		}
		imur, err := b.InitiateMultipartUpload(key, opts...)
		if err != nil {
			t.Fatal(err)
		}
		p1, err := b.UploadPart(imur, bytes.NewReader(data[:minPartSize]), minPartSize, 1)
		if err != nil {
			t.Fatal(err)
		}
		p2, err := b.UploadPart(imur, bytes.NewReader(data[minPartSize:]), 10, 2)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.CompleteMultipartUpload(imur, []sdk.UploadPart{p1, p2}); err != nil {
			t.Fatal(err)
		}
		got := ""
		if meta, _ := b.GetObjectDetailedMeta(key); meta != nil {
			got = meta.Get("Content-MD5")
		}
		if sequential && got != want || !sequential && got != "" {
			t.Fatalf("sequential=%v: Content-MD5 %q", sequential, got)
		}
	}
}

// TestMultipartETagMatchesRealService uploads the SDK's sample picture in
// 100 KiB parts, as the SDK's TestDownloadRoutineWithRecovery does, and
// expects the ETag the real service gave it there (oss/download_test.go:206).
func TestMultipartETagMatchesRealService(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/aliyun/aliyun-oss-go-sdk").Output()
	if err != nil {
		t.Skipf("cannot locate the OSS SDK module: %v", err)
	}
	sample := filepath.Join(strings.TrimSpace(string(out)), "sample", "BingWallpaper-2015-11-07.jpg")
	if _, err := os.Stat(sample); err != nil {
		t.Skipf("no SDK sample file: %v", err)
	}
	ts := startServer(t, t.TempDir())
	b := mustBucket(t, newClient(t, ts.endpoint), "sample")
	if err := b.UploadFile("picture", sample, 100*1024, sdk.Routines(3)); err != nil {
		t.Fatalf("UploadFile: %v", err)
	}
	meta, err := b.GetObjectDetailedMeta("picture")
	if err != nil {
		t.Fatal(err)
	}
	if got := meta.Get("ETag"); got != `"2351E662233817A7AE974D8C5B0876DD-5"` {
		t.Fatalf("ETag = %s, the real service's is \"2351E662233817A7AE974D8C5B0876DD-5\"", got)
	}
}

func TestErrorTable(t *testing.T) {
	for code, status := range statusOf {
		if e := errorFor(code, "m"); e.Status != status || e.Code != string(code) || e.Message != "m" {
			t.Errorf("errorFor(%s) = %+v", code, e)
		}
	}
	if e := errorFor(errorCode("NoSuchThing"), "m"); e.Status != http.StatusInternalServerError || e.Code != "InternalError" {
		t.Errorf("unregistered code answered %+v", e)
	}
}

// A client that declares Content-Length 100 but has more to send writes the
// 100 bytes and then closes the connection; the SDK's
// TestPutObjectWithLimitReaderLen expects no object to appear.
func TestPutObjectAbandonedByClientLeavesNothing(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := mustBucket(t, newClient(t, ts.endpoint), "abandoned")
	err := b.PutObject("k", &lyingLength{Reader: strings.NewReader(strings.Repeat("x", 1023)), n: 100})
	if err == nil {
		t.Fatal("the SDK accepted a body longer than its length")
	}
	// The server may still be finishing the request it got; give it time
	// to decide before checking.
	time.Sleep(300 * time.Millisecond)
	if ok, err := b.IsObjectExist("k"); err != nil || ok {
		t.Fatalf("an abandoned upload was stored (exists=%v, %v)", ok, err)
	}
}

// lyingLength reports a length shorter than its content (the SDK's
// readerLenStub).
type lyingLength struct {
	io.Reader
	n int
}

func (l *lyingLength) Len() int { return l.n }
