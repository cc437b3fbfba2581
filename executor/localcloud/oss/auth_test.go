package oss

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	sdk "github.com/aliyun/aliyun-oss-go-sdk/oss"
)

// Vectors from the SDK's own conn_test.go (reproduced independently).
func TestV1SignatureVector(t *testing.T) {
	r := httptest.NewRequest(http.MethodPut, "http://examplebucket.oss-cn-hangzhou.aliyuncs.com/nelson", nil)
	r.Header.Set("Content-MD5", "eB5eJF1ptWaXm4bijSPyxw==")
	r.Header.Set("Content-Type", "text/html")
	r.Header.Set("Date", "Wed, 28 Dec 2022 10:27:41 GMT")
	r.Header.Set("x-oss-date", "Wed, 28 Dec 2022 10:27:41 GMT")
	r.Header.Set("x-oss-meta-author", "alice")
	r.Header.Set("x-oss-meta-magic", "abracadabra")
	tgt := target{Bucket: "examplebucket", Key: "nelson"}
	a := &authenticator{credentials: map[string]string{"ak": "sk"}, now: func() time.Time { return time.Date(2022, 12, 28, 10, 30, 0, 0, time.UTC) }, maxSkew: 15 * time.Minute}

	for _, tc := range []struct {
		query url.Values
		sig   string
	}{
		{url.Values{}, "kSHKmLxlyEAKtZPkJhG9bZb5k7M="},
		{url.Values{"acl": {""}, "max-keys": {"10"}}, "/afkugFbmWDQ967j1vr6zygBLQk="}, // max-keys is not signed
	} {
		r.Header.Set("Authorization", "OSS ak:"+tc.sig)
		if p, apiErr := a.authenticate(r, tgt, tc.query); apiErr != nil || p.AccessKeyID != "ak" {
			t.Errorf("query %v: %v", tc.query, apiErr)
		}
		r.Header.Set("Authorization", "OSS ak:"+strings.Replace(tc.sig, "k", "j", 1))
		if _, apiErr := a.authenticate(r, tgt, tc.query); apiErr == nil || apiErr.Code != "SignatureDoesNotMatch" {
			t.Errorf("tampered signature accepted: %v", apiErr)
		}
	}
}

func TestV4SignatureVector(t *testing.T) {
	r := httptest.NewRequest(http.MethodPut, "http://bucket.oss-cn-hangzhou.aliyuncs.com/1234%2B-/123/1.txt", nil)
	r.Header.Set("x-oss-head1", "value")
	r.Header.Set("abc", "value")
	r.Header.Set("ZAbc", "value")
	r.Header.Set("XYZ", "value")
	r.Header.Set("content-type", "text/plain")
	r.Header.Set("x-oss-content-sha256", "UNSIGNED-PAYLOAD")
	r.Header.Set("x-oss-date", "20231216T162057Z")
	r.Header.Set("Date", "Sat, 16 Dec 2023 16:20:57 GMT")
	r.Header.Set("Authorization", "OSS4-HMAC-SHA256 Credential=ak/20231216/cn-hangzhou/oss/aliyun_v4_request,Signature=e21d18daa82167720f9b1047ae7e7f1ce7cb77a31e8203a7d5f4624fa0284afe")
	query := url.Values{"param1": {"value1"}, "+param1": {"value3"}, "|param1": {"value4"}, "+param2": {""}, "|param2": {""}, "param2": {""}}
	a := &authenticator{credentials: map[string]string{"ak": "sk"}, now: func() time.Time { return time.Date(2023, 12, 16, 16, 21, 0, 0, time.UTC) }, maxSkew: 15 * time.Minute}
	tgt := target{Bucket: "bucket", Key: "1234+-/123/1.txt"}
	if _, apiErr := a.authenticate(r, tgt, query); apiErr != nil {
		t.Fatalf("vector rejected: %v %v", apiErr, apiErr.Extra)
	}
	query.Set("param1", "changed")
	if _, apiErr := a.authenticate(r, tgt, query); apiErr == nil || apiErr.Code != "SignatureDoesNotMatch" {
		t.Fatalf("changed query accepted: %v", apiErr)
	}
	// Too far from the server clock.
	query.Set("param1", "value1")
	a.now = func() time.Time { return time.Date(2023, 12, 16, 18, 0, 0, 0, time.UTC) }
	if _, apiErr := a.authenticate(r, tgt, query); apiErr == nil || apiErr.Code != "RequestTimeTooSkewed" {
		t.Fatalf("skewed request: %v", apiErr)
	}
}

func TestWrongCredentials(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := mustBucket(t, newClient(t, ts.endpoint), "secured")
	putBytes(t, b, "k", []byte("v"))

	for name, opts := range map[string][]sdk.ClientOption{
		"v1": nil,
		"v2": {sdk.AuthVersion(sdk.AuthV2)},
		"v4": {sdk.AuthVersion(sdk.AuthV4), sdk.Region("cn-hangzhou")},
	} {
		t.Run(name, func(t *testing.T) {
			unknown := newClientAs(t, ts.endpoint, "nobody", testSK, opts...)
			_, err := unknown.ListBuckets()
			wantCode(t, err, http.StatusForbidden, "InvalidAccessKeyId")
			ub, _ := unknown.Bucket("secured")
			err = ub.PutObject("k", bytes.NewReader([]byte("evil")))
			wantCode(t, err, http.StatusForbidden, "InvalidAccessKeyId")

			wrong := newClientAs(t, ts.endpoint, testAK, "wrong-secret", opts...)
			_, err = wrong.GetBucketInfo("secured")
			wantCode(t, err, http.StatusForbidden, "SignatureDoesNotMatch")
			wb, _ := wrong.Bucket("secured")
			_, err = wb.GetObject("k")
			wantCode(t, err, http.StatusForbidden, "SignatureDoesNotMatch")
			// HEAD: no body, the error travels in x-oss-err.
			_, err = wb.GetObjectDetailedMeta("k")
			wantCode(t, err, http.StatusForbidden, "SignatureDoesNotMatch")
			_, err = wrong.IsBucketExist("secured")
			wantCode(t, err, http.StatusForbidden, "SignatureDoesNotMatch")
			if got := getAll(t, b, "k"); string(got) != "v" {
				t.Fatalf("object changed by a rejected request: %q", got)
			}
		})
	}

	// A second configured key works for the same account.
	other := newClientAs(t, ts.endpoint, "second-key", "second-secret")
	ob, _ := other.Bucket("secured")
	if got := getAll(t, ob, "k"); string(got) != "v" {
		t.Fatalf("second key read %q", got)
	}

	// Clock skew, seen from a server whose clock is an hour ahead.
	ts.auth.now = func() time.Time { return time.Now().Add(time.Hour) }
	_, err := b.GetObject("k")
	wantCode(t, err, http.StatusForbidden, "RequestTimeTooSkewed")
}

func TestAnonymousAccess(t *testing.T) {
	ts := startServer(t, t.TempDir())
	c := newClient(t, ts.endpoint)
	b := mustBucket(t, c, "anon")
	putBytes(t, b, "doc.txt", []byte("public?"))

	resp, err := http.Get(ts.endpoint + "/anon/doc.txt")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var e struct {
		Code      string `xml:"Code"`
		RequestID string `xml:"RequestId"`
	}
	if err := xml.Unmarshal(body, &e); err != nil || resp.StatusCode != http.StatusForbidden || e.Code != "AccessDenied" || e.RequestID != resp.Header.Get("x-oss-request-id") {
		t.Fatalf("anonymous GET of a private object: %d %s", resp.StatusCode, body)
	}
	resp, err = http.Get(ts.endpoint + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("anonymous ListBuckets: %d", resp.StatusCode)
	}

	if err := c.SetBucketACL("anon", sdk.ACLPublicRead); err != nil {
		t.Fatal(err)
	}
	resp, err = http.Get(ts.endpoint + "/anon/doc.txt")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "public?" {
		t.Fatalf("anonymous GET of a public-read object: %d %q", resp.StatusCode, body)
	}
	req, _ := http.NewRequest(http.MethodPut, ts.endpoint+"/anon/doc.txt", strings.NewReader("overwritten"))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("anonymous PUT into a public-read bucket: %d", resp.StatusCode)
	}
}

func TestSignedClientsEndToEnd(t *testing.T) {
	ts := startServer(t, t.TempDir())
	for name, opts := range map[string][]sdk.ClientOption{
		"v4":                    {sdk.AuthVersion(sdk.AuthV4), sdk.Region("cn-hangzhou")},
		"v4-additional-headers": {sdk.AuthVersion(sdk.AuthV4), sdk.Region("cn-hangzhou"), sdk.AdditionalHeaders([]string{"host", "user-agent"})},
		"v2-additional-headers": {sdk.AuthVersion(sdk.AuthV2), sdk.AdditionalHeaders([]string{"host", "user-agent"})},
	} {
		t.Run(name, func(t *testing.T) { signedClientEndToEnd(t, newClient(t, ts.endpoint, opts...)) })
	}
}

func signedClientEndToEnd(t *testing.T, c *sdk.Client) {
	b := mustBucket(t, c, "v4-bucket")
	if ok, err := c.IsBucketExist("v4-bucket"); err != nil || !ok {
		t.Fatalf("IsBucketExist = %v, %v", ok, err)
	}
	if info, err := c.GetBucketInfo("v4-bucket"); err != nil || info.BucketInfo.Location != "oss-cn-hangzhou" {
		t.Fatalf("GetBucketInfo = %+v, %v", info, err)
	}
	data := randomBytes(11, 250_000)
	key := "v4/dir/a b+c%d ü.parquet"
	putBytes(t, b, key, data, sdk.Meta("x", "y"))
	if got := getAll(t, b, key, sdk.Range(10, 19)); !bytes.Equal(got, data[10:20]) {
		t.Fatal("ranged V4 GET differs")
	}
	res, err := b.ListObjectsV2(sdk.Prefix("v4/"), sdk.Delimiter("/"))
	if err != nil || len(res.CommonPrefixes) != 1 || res.CommonPrefixes[0] != "v4/dir/" {
		t.Fatalf("V4 ListObjectsV2 = %+v, %v", res, err)
	}
	res, err = b.ListObjectsV2(sdk.MaxKeys(1), sdk.ContinuationToken(""), sdk.StartAfter("v4/"))
	if err != nil || len(res.Objects) != 1 {
		t.Fatalf("V4 list with start-after = %+v, %v", res, err)
	}
	imur, err := b.InitiateMultipartUpload("v4/multi")
	if err != nil {
		t.Fatal(err)
	}
	p1, err := b.UploadPart(imur, bytes.NewReader(data[:minPartSize]), minPartSize, 1)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := b.UploadPart(imur, bytes.NewReader(data[minPartSize:]), int64(len(data)-minPartSize), 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.CompleteMultipartUpload(imur, []sdk.UploadPart{p1, p2}); err != nil {
		t.Fatalf("V4 complete: %v", err)
	}
	if got := getAll(t, b, "v4/multi"); !bytes.Equal(got, data) {
		t.Fatal("V4 multipart object differs")
	}
	if _, err := b.DeleteObjects([]string{key, "v4/multi"}); err != nil {
		t.Fatalf("V4 DeleteObjects: %v", err)
	}
	if err := c.DeleteBucket("v4-bucket"); err != nil {
		t.Fatalf("V4 DeleteBucket: %v", err)
	}
}

func TestPresignedURLs(t *testing.T) {
	ts := startServer(t, t.TempDir())
	for name, opts := range map[string][]sdk.ClientOption{
		"v1": nil,
		"v2": {sdk.AuthVersion(sdk.AuthV2)},
		"v4": {sdk.AuthVersion(sdk.AuthV4), sdk.Region("cn-hangzhou")},
	} {
		t.Run(name, func(t *testing.T) {
			c := newClient(t, ts.endpoint, opts...)
			b := mustBucket(t, c, "presign-"+name)
			key := "shared/file name+1.txt"

			putURL, err := b.SignURL(key, sdk.HTTPPut, 600)
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest(http.MethodPut, putURL, strings.NewReader("uploaded via URL"))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("presigned PUT: %d %s", resp.StatusCode, body)
			}

			getURL, err := b.SignURL(key, sdk.HTTPGet, 600)
			if err != nil {
				t.Fatal(err)
			}
			marker := map[string]string{"v1": "OSSAccessKeyId=", "v2": "x-oss-signature-version=OSS2", "v4": "x-oss-signature-version=OSS4-HMAC-SHA256"}[name]
			if !strings.Contains(getURL, marker) || !strings.Contains(putURL, marker) {
				t.Fatalf("URLs are not %s-signed: %s", name, getURL)
			}
			resp, err = http.Get(getURL)
			if err != nil {
				t.Fatal(err)
			}
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || string(body) != "uploaded via URL" {
				t.Fatalf("presigned GET: %d %q", resp.StatusCode, body)
			}

			// The SDK's own URL helpers agree.
			rc, err := b.GetObjectWithURL(getURL)
			if err != nil {
				t.Fatalf("GetObjectWithURL: %v", err)
			}
			rc.Close()

			// A URL for one key does not open another.
			tampered := strings.Replace(getURL, "file%20name", "other%20name", 1)
			resp, err = http.Get(tampered)
			if err != nil {
				t.Fatal(err)
			}
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "SignatureDoesNotMatch") {
				t.Fatalf("tampered URL: %d %s", resp.StatusCode, body)
			}

			// Expiry, seen from a server clock an hour later.
			ts.auth.now = func() time.Time { return time.Now().Add(time.Hour) }
			defer func() { ts.auth.now = time.Now }()
			resp, err = http.Get(getURL)
			if err != nil {
				t.Fatal(err)
			}
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "AccessDenied") || !strings.Contains(string(body), "expired") {
				t.Fatalf("expired URL: %d %s", resp.StatusCode, body)
			}
		})
	}
}

func TestAddressingStyles(t *testing.T) {
	srv, err := New(Config{Credentials: map[string]string{testAK: testSK}, DataDir: t.TempDir(), VirtualHostSuffix: "oss.localtest"})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer func() { hs.Close(); srv.Close() }()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(hs.URL, "http://"))

	// localhost needs forced path style.
	c := newClient(t, "http://localhost:"+port, sdk.ForcePathStyle(true))
	b := mustBucket(t, c, "styles")
	putBytes(t, b, "a/b.txt", []byte("path style"))

	// Virtual-host style: Host is styles.oss.localtest:port; dial 127.0.0.1.
	dialer := &net.Dialer{}
	httpClient := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return dialer.DialContext(ctx, network, "127.0.0.1:"+port)
	}}}
	vc := newClient(t, "http://oss.localtest:"+port, sdk.HTTPClient(httpClient))
	vb, _ := vc.Bucket("styles")
	if got := getAll(t, vb, "a/b.txt"); string(got) != "path style" {
		t.Fatalf("virtual-host GET = %q", got)
	}
	putBytes(t, vb, "c d.txt", []byte("virtual host"))
	if got := getAll(t, b, "c d.txt"); string(got) != "virtual host" {
		t.Fatalf("path-style read of a virtual-host write = %q", got)
	}
}
