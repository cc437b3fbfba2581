package oss

import (
	"slices"
	"sort"
	"testing"

	sdk "github.com/aliyun/aliyun-oss-go-sdk/oss"
)

// listKeys are chosen to exercise URL encoding (space, +, %, &, <, non-ASCII,
// control characters) and delimiter roll-up.
var listKeys = []string{
	"a.txt",
	"b/1.parquet",
	"b/2 two.parquet",
	"b/c/deep.parquet",
	"b/c/deeper/x",
	"d+plus/%25/x",
	"d+plus/y",
	"e&<amp>\"q\"",
	"f ünï/z",
	"g\x01ctl",
	"h/",
}

func sortedCopy(keys []string) []string {
	out := slices.Clone(keys)
	sort.Strings(out)
	return out
}

func TestListObjectsV1(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := mustBucket(t, newClient(t, ts.endpoint), "listing")
	for _, k := range listKeys {
		putBytes(t, b, k, []byte(k))
	}

	all, err := b.ListObjects(sdk.MaxKeys(1000))
	if err != nil {
		t.Fatalf("ListObjects: %v", err)
	}
	var got []string
	for _, o := range all.Objects {
		got = append(got, o.Key)
		if o.Size != int64(len(o.Key)) || o.ETag == "" || o.LastModified.IsZero() || o.Type != "Normal" || o.StorageClass != "Standard" {
			t.Errorf("entry %+v", o)
		}
	}
	if !slices.Equal(got, sortedCopy(listKeys)) {
		t.Fatalf("keys = %q, want %q", got, sortedCopy(listKeys))
	}

	// Paging with marker and max-keys visits every key once, in order.
	var paged []string
	marker := ""
	for pages := 0; ; pages++ {
		if pages > 20 {
			t.Fatal("paging does not end")
		}
		res, err := b.ListObjects(sdk.MaxKeys(3), sdk.Marker(marker))
		if err != nil {
			t.Fatalf("ListObjects page: %v", err)
		}
		for _, o := range res.Objects {
			paged = append(paged, o.Key)
		}
		if !res.IsTruncated {
			break
		}
		marker = res.NextMarker
	}
	if !slices.Equal(paged, sortedCopy(listKeys)) {
		t.Fatalf("paged keys = %q", paged)
	}

	// Delimiter at the root.
	res, err := b.ListObjects(sdk.Delimiter("/"))
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, o := range res.Objects {
		files = append(files, o.Key)
	}
	if want := []string{"a.txt", "e&<amp>\"q\"", "g\x01ctl"}; !slices.Equal(files, want) {
		t.Errorf("root files = %q, want %q", files, want)
	}
	if want := []string{"b/", "d+plus/", "f ünï/", "h/"}; !slices.Equal(res.CommonPrefixes, want) {
		t.Errorf("root prefixes = %q, want %q", res.CommonPrefixes, want)
	}

	// Prefix plus delimiter.
	res, err = b.ListObjects(sdk.Prefix("b/"), sdk.Delimiter("/"))
	if err != nil {
		t.Fatal(err)
	}
	files = files[:0]
	for _, o := range res.Objects {
		files = append(files, o.Key)
	}
	if want := []string{"b/1.parquet", "b/2 two.parquet"}; !slices.Equal(files, want) || !slices.Equal(res.CommonPrefixes, []string{"b/c/"}) {
		t.Errorf("b/ listing = %q %q", files, res.CommonPrefixes)
	}
	if res.Prefix != "b/" || res.Delimiter != "/" {
		t.Errorf("echoed prefix/delimiter = %q %q", res.Prefix, res.Delimiter)
	}

	// Paging across common prefixes: max-keys counts prefixes too.
	var entries []string
	marker = ""
	for pages := 0; ; pages++ {
		if pages > 20 {
			t.Fatal("paging does not end")
		}
		res, err := b.ListObjects(sdk.Delimiter("/"), sdk.MaxKeys(2), sdk.Marker(marker))
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range res.Objects {
			entries = append(entries, o.Key)
		}
		entries = append(entries, res.CommonPrefixes...)
		if n := len(res.Objects) + len(res.CommonPrefixes); n > 2 {
			t.Fatalf("page with %d entries", n)
		}
		if !res.IsTruncated {
			break
		}
		marker = res.NextMarker
	}
	sort.Strings(entries)
	if want := []string{"a.txt", "b/", "d+plus/", "e&<amp>\"q\"", "f ünï/", "g\x01ctl", "h/"}; !slices.Equal(entries, want) {
		t.Errorf("delimited paging = %q, want %q", entries, want)
	}

	// Special characters in prefix and marker travel URL-encoded both ways.
	res, err = b.ListObjects(sdk.Prefix("d+plus/%"))
	if err != nil || len(res.Objects) != 1 || res.Objects[0].Key != "d+plus/%25/x" || res.Prefix != "d+plus/%" {
		t.Errorf("prefix with + and %%: %+v, %v", res, err)
	}
}

func TestListObjectsV2(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := mustBucket(t, newClient(t, ts.endpoint), "listing-v2")
	for _, k := range listKeys {
		putBytes(t, b, k, []byte(k))
	}

	var paged []string
	token := ""
	for pages := 0; ; pages++ {
		if pages > 20 {
			t.Fatal("paging does not end")
		}
		opts := []sdk.Option{sdk.MaxKeys(4)}
		if token != "" {
			opts = append(opts, sdk.ContinuationToken(token))
		}
		res, err := b.ListObjectsV2(opts...)
		if err != nil {
			t.Fatalf("ListObjectsV2: %v", err)
		}
		for _, o := range res.Objects {
			paged = append(paged, o.Key)
			if o.Owner.ID != "" {
				t.Error("owner returned without fetch-owner")
			}
		}
		if !res.IsTruncated {
			break
		}
		if res.NextContinuationToken == "" {
			t.Fatal("truncated page without a continuation token")
		}
		token = res.NextContinuationToken
	}
	if !slices.Equal(paged, sortedCopy(listKeys)) {
		t.Fatalf("paged = %q", paged)
	}

	res, err := b.ListObjectsV2(sdk.StartAfter("b/c/deep.parquet"), sdk.Prefix("b/"), sdk.FetchOwner(true))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Objects) != 1 || res.Objects[0].Key != "b/c/deeper/x" || res.Objects[0].Owner.ID == "" || res.StartAfter != "b/c/deep.parquet" {
		t.Errorf("start-after listing = %+v", res)
	}
	res, err = b.ListObjectsV2(sdk.Delimiter("/"), sdk.Prefix("d+plus/"))
	if err != nil || !slices.Equal(res.CommonPrefixes, []string{"d+plus/%25/"}) || len(res.Objects) != 1 {
		t.Errorf("v2 delimiter = %+v, %v", res, err)
	}
	_, err = b.ListObjectsV2(sdk.ContinuationToken("!!not-base64!!"))
	if err == nil {
		t.Error("a malformed continuation token was accepted")
	}
	_, err = b.ListObjects(sdk.MaxKeys(5000))
	if se := serviceError(t, err); se.Code != "InvalidArgument" {
		t.Errorf("max-keys 5000: %v", err)
	}
}

func TestWalkSkipsCommonPrefixEfficiently(t *testing.T) {
	if got := successor("b/"); got != "b0" {
		t.Errorf("successor(b/) = %q", got)
	}
	if got := successor("a\xff"); got != "b" {
		t.Errorf("successor(a\\xff) = %q", got)
	}
	if got := successor("\xff\xff"); got != "" {
		t.Errorf("successor(ff ff) = %q", got)
	}
}

func TestListObjectVersionsAndUploadsWithDelimiter(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := mustBucket(t, newClient(t, ts.endpoint), "versions")
	for _, k := range []string{"a 1", "dir/x", "dir/y"} {
		putBytes(t, b, k, []byte(k))
	}
	res, err := b.ListObjectVersions(sdk.Delimiter("/"))
	if err != nil {
		t.Fatalf("ListObjectVersions: %v", err)
	}
	if len(res.ObjectVersions) != 1 || res.ObjectVersions[0].Key != "a 1" || res.ObjectVersions[0].VersionId != "null" ||
		!res.ObjectVersions[0].IsLatest || !slices.Equal(res.CommonPrefixes, []string{"dir/"}) {
		t.Errorf("versions = %+v", res)
	}

	for _, k := range []string{"up/1", "up/2", "up/sub/3", "other"} {
		if _, err := b.InitiateMultipartUpload(k); err != nil {
			t.Fatal(err)
		}
	}
	uploads, err := b.ListMultipartUploads(sdk.Prefix("up/"), sdk.Delimiter("/"))
	if err != nil {
		t.Fatalf("ListMultipartUploads: %v", err)
	}
	var keys []string
	for _, u := range uploads.Uploads {
		keys = append(keys, u.Key)
	}
	if !slices.Equal(keys, []string{"up/1", "up/2"}) || !slices.Equal(uploads.CommonPrefixes, []string{"up/sub/"}) {
		t.Errorf("uploads = %q, prefixes %q", keys, uploads.CommonPrefixes)
	}
	page, err := b.ListMultipartUploads(sdk.MaxUploads(2))
	if err != nil || len(page.Uploads) != 2 || !page.IsTruncated {
		t.Fatalf("first uploads page = %+v, %v", page, err)
	}
	rest, err := b.ListMultipartUploads(sdk.KeyMarker(page.NextKeyMarker), sdk.UploadIDMarker(page.NextUploadIDMarker))
	if err != nil || len(rest.Uploads) != 2 || rest.IsTruncated || rest.Uploads[0].Key != "up/2" {
		t.Fatalf("second uploads page = %+v, %v", rest, err)
	}
}
