package oss

import (
	"bufio"
	"bytes"
	"hash/crc64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestCRC64Combine(t *testing.T) {
	table := crc64.MakeTable(crc64.ECMA)
	data := randomBytes(42, 1<<20+13)
	for _, split := range []int{0, 1, 7, 4096, 100 << 10, len(data) - 1, len(data)} {
		a, b := data[:split], data[split:]
		got := crc64Combine(crc64.Checksum(a, table), crc64.Checksum(b, table), int64(len(b)))
		if want := crc64.Checksum(data, table); got != want {
			t.Errorf("split %d: combine = %d, want %d", split, got, want)
		}
	}
	// Many parts folded left, as CompleteMultipartUpload does.
	var crc uint64
	for off := 0; off < len(data); off += 100_003 {
		part := data[off:min(off+100_003, len(data))]
		crc = crc64Combine(crc, crc64.Checksum(part, table), int64(len(part)))
	}
	if want := crc64.Checksum(data, table); crc != want {
		t.Errorf("folded parts = %d, want %d", crc, want)
	}
}

func TestParseRange(t *testing.T) {
	for _, tc := range []struct {
		header     string
		size       int64
		ok         bool
		start, end int64
	}{
		{"bytes=0-0", 10, true, 0, 0},
		{"bytes=2-5", 10, true, 2, 5},
		{"bytes=5-", 10, true, 5, 9},
		{"bytes=-3", 10, true, 7, 9},
		{"bytes=-30", 10, true, 0, 9},
		{"bytes=8-100", 10, true, 8, 9},
		{"bytes=10-12", 10, false, 0, 0},
		{"bytes=5-2", 10, false, 0, 0},
		{"bytes=0-1,3-4", 10, false, 0, 0},
		{"items=0-1", 10, false, 0, 0},
		{"bytes=-0", 10, false, 0, 0},
		{"bytes=0-", 0, false, 0, 0},
		{"bytes=x-y", 10, false, 0, 0},
	} {
		r, ok := parseRange(tc.header, tc.size)
		if ok != tc.ok || ok && (r.start != tc.start || r.end != tc.end) {
			t.Errorf("parseRange(%q, %d) = %v %v, want %v %d-%d", tc.header, tc.size, r, ok, tc.ok, tc.start, tc.end)
		}
	}
}

func FuzzParseRange(f *testing.F) {
	f.Add("bytes=0-9", int64(100))
	f.Add("bytes=-5", int64(3))
	f.Add("bytes=9223372036854775807-", int64(10))
	f.Fuzz(func(t *testing.T, header string, size int64) {
		if size < 0 {
			size = -size
		}
		r, ok := parseRange(header, size)
		if ok && (r.start < 0 || r.end < r.start || r.end >= size) {
			t.Fatalf("parseRange(%q, %d) = %+v outside the object", header, size, r)
		}
	})
}

func FuzzValidateObjectKey(f *testing.F) {
	for _, seed := range []string{"a/b", "../x", "a/../b", "/abs", "\\abs", "a\x00b", "ok key+%", "\xff", strings.Repeat("k", 1024), "a/..", "..\\x"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if validateObjectKey(key) != nil {
			return
		}
		if key == "" || len(key) > maxKeyLength || !utf8.ValidString(key) || strings.ContainsRune(key, 0) ||
			key[0] == '/' || key[0] == '\\' {
			t.Fatalf("accepted invalid key %q", key)
		}
		for _, seg := range strings.FieldsFunc(key, func(r rune) bool { return r == '/' || r == '\\' }) {
			if seg == ".." {
				t.Fatalf("accepted key with a .. segment: %q", key)
			}
		}
	})
}

// FuzzServe feeds raw HTTP requests to the handler (bypassing the recover in
// ServeHTTP, so any panic fails). With sign set, the request is given a
// valid V1 signature first, so fuzzing reaches past authentication into
// every handler.
func FuzzServe(f *testing.F) {
	seeds := []string{
		"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
		"PUT /fuzz-bucket/a%2Fb HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nx-oss-meta-a: b\r\n\r\nabc",
		"GET /fuzz-bucket/a%2Fb HTTP/1.1\r\nHost: h\r\nRange: bytes=1-\r\n\r\n",
		"HEAD /fuzz-bucket/missing?objectMeta HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET /fuzz-bucket/?encoding-type=url&prefix=a&delimiter=%2F&max-keys=2&marker=a HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET /fuzz-bucket/?list-type=2&continuation-token=YQ&start-after=b HTTP/1.1\r\nHost: h\r\n\r\n",
		"POST /fuzz-bucket/?delete&encoding-type=url HTTP/1.1\r\nHost: h\r\nContent-Length: 63\r\n\r\n<Delete><Quiet>false</Quiet><Object><Key>a</Key></Object></Delete>",
		"POST /fuzz-bucket/k?uploads HTTP/1.1\r\nHost: h\r\n\r\n",
		"PUT /fuzz-bucket/k?partNumber=1&uploadId=ABC HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx",
		"POST /fuzz-bucket/k?uploadId=ABC HTTP/1.1\r\nHost: h\r\nContent-Length: 95\r\n\r\n<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"E\"</ETag></Part></CompleteMultipartUpload>",
		"PUT /fuzz-bucket/copy HTTP/1.1\r\nHost: h\r\nx-oss-copy-source: /fuzz-bucket/a%2Fb\r\n\r\n",
		"PUT /new-bucket/ HTTP/1.1\r\nHost: h\r\nContent-Length: 90\r\n\r\n<CreateBucketConfiguration><LocationConstraint>oss-cn-x</LocationConstraint></CreateBucketConfiguration>",
		"GET /fuzz-bucket/k HTTP/1.1\r\nHost: h\r\nAuthorization: OSS4-HMAC-SHA256 Credential=a/b/c/d/e,Signature=00\r\n\r\n",
		"GET /fuzz-bucket/k?OSSAccessKeyId=x&Expires=1&Signature=y HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET /fuzz-bucket/k?x-oss-signature-version=OSS4-HMAC-SHA256&x-oss-credential=a%2F20240101%2Fr%2Foss%2Faliyun_v4_request&x-oss-date=20240101T000000Z&x-oss-expires=9&x-oss-signature=00 HTTP/1.1\r\nHost: h\r\n\r\n",
		"DELETE /fuzz-bucket/ HTTP/1.1\r\nHost: h\r\n\r\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	srv, err := New(Config{Credentials: map[string]string{testAK: testSK}, DataDir: f.TempDir()})
	if err != nil {
		f.Fatal(err)
	}
	defer srv.Close()
	if err := srv.CreateBucket("fuzz-bucket", ""); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte, sign bool) {
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			return
		}
		req.RemoteAddr = "127.0.0.1:1"
		if sign {
			if tgt, apiErr := srv.parseTarget(req); apiErr == nil {
				if q, err := url.ParseQuery(req.URL.RawQuery); err == nil {
					date := time.Now().UTC().Format(http.TimeFormat)
					req.Header.Del("x-oss-date")
					req.Header.Set("Date", date)
					req.Header.Set("Authorization", "OSS "+testAK+":"+v1Sign(testSK, v1StringToSign(req, date, v1Resource(tgt, q))))
				}
			}
		}
		rec := httptest.NewRecorder()
		if apiErr := srv.serve(rec, req, "FUZZ"); apiErr != nil {
			if apiErr.Status < 300 || apiErr.Status > 599 || apiErr.Code == "" {
				t.Fatalf("bad error shape %+v", apiErr)
			}
			writeError(rec, req, "FUZZ", apiErr)
		}
	})
}
