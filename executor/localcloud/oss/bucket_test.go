package oss

import (
	"net/http"
	"strings"
	"testing"

	sdk "github.com/aliyun/aliyun-oss-go-sdk/oss"
)

func TestBucketCreateInfoLocationListDelete(t *testing.T) {
	ts := startServer(t, t.TempDir())
	c := newClient(t, ts.endpoint)

	for _, name := range []string{"lake", "lake-archive", "alpha", "zeta"} {
		if err := c.CreateBucket(name); err != nil {
			t.Fatalf("CreateBucket(%s): %v", name, err)
		}
	}
	// Creating your own bucket again succeeds, as on OSS.
	if err := c.CreateBucket("lake"); err != nil {
		t.Fatalf("re-create own bucket: %v", err)
	}

	// IsBucketExist goes through ListBuckets(prefix, max-keys=1).
	for name, want := range map[string]bool{"lake": true, "lake-archive": true, "lak": false, "nope": false, "zeta": true} {
		got, err := c.IsBucketExist(name)
		if err != nil {
			t.Fatalf("IsBucketExist(%s): %v", name, err)
		}
		if got != want {
			t.Errorf("IsBucketExist(%s) = %v, want %v", name, got, want)
		}
	}

	info, err := c.GetBucketInfo("lake")
	if err != nil {
		t.Fatalf("GetBucketInfo: %v", err)
	}
	if info.BucketInfo.Name != "lake" || info.BucketInfo.Location != "oss-cn-hangzhou" || info.BucketInfo.ACL != "private" ||
		info.BucketInfo.StorageClass != "Standard" || info.BucketInfo.CreationDate.IsZero() || info.BucketInfo.SseRule.SSEAlgorithm != "" {
		t.Errorf("unexpected bucket info: %+v", info.BucketInfo)
	}
	loc, err := c.GetBucketLocation("lake")
	if err != nil || loc != "oss-cn-hangzhou" {
		t.Errorf("GetBucketLocation = %q, %v", loc, err)
	}
	acl, err := c.GetBucketACL("lake")
	if err != nil || acl.ACL != "private" {
		t.Errorf("GetBucketACL = %+v, %v", acl, err)
	}
	if err := c.SetBucketACL("alpha", sdk.ACLPublicRead); err != nil {
		t.Fatalf("SetBucketACL: %v", err)
	}
	if acl, _ := c.GetBucketACL("alpha"); acl.ACL != "public-read" {
		t.Errorf("ACL after set = %q", acl.ACL)
	}

	_, err = c.GetBucketInfo("missing-bucket")
	wantCode(t, err, http.StatusNotFound, "NoSuchBucket")

	// Listing: sorted, prefix, marker, max-keys, truncation.
	res, err := c.ListBuckets()
	if err != nil {
		t.Fatalf("ListBuckets: %v", err)
	}
	var names []string
	for _, b := range res.Buckets {
		names = append(names, b.Name)
		if b.Location != "oss-cn-hangzhou" || b.Region != "cn-hangzhou" || b.CreationDate.IsZero() {
			t.Errorf("bucket entry %+v", b)
		}
	}
	if got := strings.Join(names, ","); got != "alpha,lake,lake-archive,zeta" {
		t.Errorf("ListBuckets = %s", got)
	}
	page, err := c.ListBuckets(sdk.MaxKeys(2))
	if err != nil || len(page.Buckets) != 2 || !page.IsTruncated || page.NextMarker != "lake" {
		t.Fatalf("first page = %+v, %v", page, err)
	}
	page, err = c.ListBuckets(sdk.MaxKeys(2), sdk.Marker(page.NextMarker))
	if err != nil || len(page.Buckets) != 2 || page.Buckets[0].Name != "lake-archive" || page.IsTruncated {
		t.Fatalf("second page = %+v, %v", page, err)
	}
	page, err = c.ListBuckets(sdk.Prefix("lake"))
	if err != nil || len(page.Buckets) != 2 {
		t.Fatalf("prefix page = %+v, %v", page, err)
	}

	// Delete refuses a non-empty bucket, then succeeds once emptied.
	b, _ := c.Bucket("lake")
	putBytes(t, b, "a/file.txt", []byte("x"))
	wantCode(t, c.DeleteBucket("lake"), http.StatusConflict, "BucketNotEmpty")
	if err := b.DeleteObject("a/file.txt"); err != nil {
		t.Fatalf("DeleteObject: %v", err)
	}
	imur, err := b.InitiateMultipartUpload("pending")
	if err != nil {
		t.Fatalf("InitiateMultipartUpload: %v", err)
	}
	wantCode(t, c.DeleteBucket("lake"), http.StatusConflict, "BucketNotEmpty")
	if err := b.AbortMultipartUpload(imur); err != nil {
		t.Fatalf("AbortMultipartUpload: %v", err)
	}
	if err := c.DeleteBucket("lake"); err != nil {
		t.Fatalf("DeleteBucket: %v", err)
	}
	if ok, _ := c.IsBucketExist("lake"); ok {
		t.Error("bucket still exists after delete")
	}
	wantCode(t, c.DeleteBucket("lake"), http.StatusNotFound, "NoSuchBucket")
}

func TestBucketInOtherRegion(t *testing.T) {
	ts := startServer(t, t.TempDir())
	c := newClient(t, ts.endpoint)

	// Through the body: CreateBucketConfiguration/LocationConstraint.
	xml := `<CreateBucketConfiguration><StorageClass>Standard</StorageClass><LocationConstraint>oss-cn-shanghai</LocationConstraint></CreateBucketConfiguration>`
	if err := c.CreateBucketXml("shanghai-lake", xml); err != nil {
		t.Fatalf("CreateBucketXml: %v", err)
	}
	// Through a header the SDK can add to CreateBucket.
	if err := c.CreateBucket("beijing-lake", sdk.SetHeader("x-oss-bucket-region", "cn-beijing")); err != nil {
		t.Fatalf("CreateBucket with region header: %v", err)
	}
	// In process.
	if err := ts.CreateBucket("sg-lake", "ap-southeast-1"); err != nil {
		t.Fatalf("admin CreateBucket: %v", err)
	}
	if err := ts.CreateBucket("sg-lake", ""); err == nil {
		t.Fatal("admin CreateBucket of an existing bucket succeeded")
	}
	for bucket, want := range map[string]string{"shanghai-lake": "oss-cn-shanghai", "beijing-lake": "oss-cn-beijing", "sg-lake": "oss-ap-southeast-1"} {
		info, err := c.GetBucketInfo(bucket)
		if err != nil {
			t.Fatalf("GetBucketInfo(%s): %v", bucket, err)
		}
		if info.BucketInfo.Location != want {
			t.Errorf("%s location = %q, want %q", bucket, info.BucketInfo.Location, want)
		}
	}
	if region, ok := ts.BucketRegion("beijing-lake"); !ok || region != "cn-beijing" {
		t.Errorf("BucketRegion = %q, %v", region, ok)
	}
	// Asking for the same name in another region conflicts.
	wantCode(t, c.CreateBucket("shanghai-lake"), http.StatusConflict, "BucketAlreadyExists")
}

func TestBucketNameValidation(t *testing.T) {
	ts := startServer(t, t.TempDir())
	// The SDK refuses invalid names itself, so speak HTTP directly.
	if _, err := newClient(t, ts.endpoint).Bucket("UPPER_case"); err == nil {
		t.Fatal("the SDK accepted an invalid bucket name")
	}
	for _, path := range []string{"/UPPER_case/", "//key-without-bucket", "/ab/", "/-dash/x"} {
		resp, err := http.Get(ts.endpoint + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("x-oss-request-id") == "" {
			t.Errorf("%s: status %d, want 400 InvalidBucketName", path, resp.StatusCode)
		}
	}
}
