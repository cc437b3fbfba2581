package tablestore

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"sort"
	"strings"
	"time"
)

// Header names of the protocol (lower case).
const (
	hdrDate        = "x-ots-date"
	hdrAPIVersion  = "x-ots-apiversion"
	hdrAccessKeyID = "x-ots-accesskeyid"
	hdrContentMD5  = "x-ots-contentmd5"
	hdrInstance    = "x-ots-instancename"
	hdrSignature   = "x-ots-signature"
	hdrSignatureV4 = "x-ots-signaturev4"
	hdrSignRegion  = "x-ots-signregion"
	hdrSignDate    = "x-ots-signdate"
	hdrRequestID   = "x-ots-requestid"
)

// The x-ots headers each official client signs (besides the signature
// headers themselves). A client only signs headers from its own list, so the
// verifier tries both lists: a header outside the list was not signed.
var (
	tableSignedHeaders = []string{
		"x-ots-accesskeyid", "x-ots-admin-target-userid", "x-ots-admin-task-type", "x-ots-apiversion",
		"x-ots-charge-for-admin", "x-ots-contentmd5", "x-ots-date", "x-ots-instancename",
		"x-ots-issecuretransport", "x-ots-playeraccountid", "x-ots-request-compress-size",
		"x-ots-request-compress-type", "x-ots-request-priority", "x-ots-request-search-tag",
		"x-ots-request-tag", "x-ots-response-compress-type", "x-ots-sdk-traceid", "x-ots-signdate",
		"x-ots-signregion", "x-ots-sourceip", "x-ots-ststoken", "x-ots-tunnel-type",
	}
	tunnelSignedHeaders = []string{
		"x-ots-accesskeyid", "x-ots-apiversion", "x-ots-contentmd5", "x-ots-date", "x-ots-instancename",
		"x-ots-issecuretransport", "x-ots-request-compress-size", "x-ots-request-compress-type",
		"x-ots-response-compress-type", "x-ots-signdate", "x-ots-signregion", "x-ots-sourceip",
		"x-ots-ststoken", "x-ots-trace-id", "x-ots-tunnel-type",
	}
)

// maxClockSkew is how far x-ots-date may be from the server's clock (the real
// service allows about 15 minutes).
const maxClockSkew = 15 * time.Minute

// StringToSign builds the canonical string both signature versions sign:
// uri, method, an empty query string, then the signed x-ots headers sorted by
// name as "name:value\n" (empty values skipped).
func StringToSign(uri, method string, header http.Header, signed []string) string {
	names := make([]string, 0, len(signed))
	names = append(names, signed...)
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(uri)
	b.WriteString("\n")
	b.WriteString(method)
	b.WriteString("\n\n")
	for _, name := range names {
		vals := header.Values(name)
		if len(vals) != 1 {
			continue
		}
		v := strings.TrimSpace(vals[0])
		if v == "" {
			continue
		}
		b.WriteString(name)
		b.WriteString(":")
		b.WriteString(v)
		b.WriteString("\n")
	}
	return b.String()
}

// SignV2 returns the default (HMAC-SHA1) signature.
func SignV2(secret, stringToSign string) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(stringToSign))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// SigningKeyV4 derives the V4 signing key (as the base64 string the client
// uses as HMAC key) from the secret, the signing date (YYYYMMDD) and region.
func SigningKeyV4(secret, date, region string) string {
	mac := func(key []byte, data string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(data))
		return m.Sum(nil)
	}
	k := mac([]byte("aliyun_v4"+secret), date)
	k = mac(k, region)
	k = mac(k, "ots")
	k = mac(k, "aliyun_v4_request")
	return base64.StdEncoding.EncodeToString(k)
}

// SignV4 returns the V4 (HMAC-SHA256) signature for a derived signing key.
func SignV4(signingKey, stringToSign string) string {
	m := hmac.New(sha256.New, []byte(signingKey))
	m.Write([]byte(stringToSign + "ots"))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Verifier checks the authentication of Tablestore (and Tunnel) requests.
type Verifier struct {
	Instance    string
	Region      string            // V4 signatures must be made for this region (empty: any)
	Credentials map[string]string // access key id -> secret
	Now         func() time.Time
}

// Verify checks a request whose body was already read: required headers,
// date, access key, instance, content MD5 and signature (V2 or V4). It
// returns a protocol error (*Error) on failure.
func (v *Verifier) Verify(r *http.Request, body []byte) *Error {
	h := r.Header
	for _, name := range []string{hdrDate, hdrAPIVersion, hdrAccessKeyID, hdrContentMD5, hdrInstance} {
		if h.Get(name) == "" {
			return errParam("Missing header: %s.", name)
		}
	}
	if h.Get(hdrSignature) == "" && h.Get(hdrSignatureV4) == "" {
		return errParam("Missing header: %s.", hdrSignature)
	}
	date := h.Get(hdrDate)
	// The Go SDK's date layout is malformed after the seconds: parse only
	// the first 19 characters.
	if len(date) < 19 {
		return errParam("Invalid date format: %s.", date)
	}
	t, err := time.Parse("2006-01-02T15:04:05", date[:19])
	if err != nil {
		return errParam("Invalid date format: %s.", date)
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	if d := now().Sub(t); d > maxClockSkew || d < -maxClockSkew {
		return &Error{Status: http.StatusForbidden, Code: "OTSAuthFailed", Message: "Mismatch between system time and x-ots-date: " + date + "."}
	}
	secret, ok := v.Credentials[h.Get(hdrAccessKeyID)]
	if !ok {
		return errAuth("The AccessKeyID does not exist.")
	}
	if h.Get(hdrInstance) != v.Instance {
		return errAuth("The instance is not found.")
	}
	sum := md5.Sum(body)
	if h.Get(hdrContentMD5) != base64.StdEncoding.EncodeToString(sum[:]) {
		return errAuth("Mismatch between MD5 value of request body and x-ots-contentmd5 in header.")
	}
	lists := [][]string{tableSignedHeaders, tunnelSignedHeaders}
	if strings.HasPrefix(r.URL.Path, "/tunnel/") {
		lists[0], lists[1] = lists[1], lists[0]
	}
	var want func(string) string
	got := h.Get(hdrSignature)
	if sig4 := h.Get(hdrSignatureV4); sig4 != "" {
		got = sig4
		if h.Get(hdrSignDate) == "" || h.Get(hdrSignRegion) == "" {
			return errParam("Missing header: %s.", hdrSignDate)
		}
		if v.Region != "" && h.Get(hdrSignRegion) != v.Region {
			return errAuth("Signature mismatch: the request is signed for region " + h.Get(hdrSignRegion) + ", this endpoint serves " + v.Region + ".")
		}
		key := SigningKeyV4(secret, h.Get(hdrSignDate), h.Get(hdrSignRegion))
		want = func(s string) string { return SignV4(key, s) }
	} else {
		want = func(s string) string { return SignV2(secret, s) }
	}
	for _, list := range lists {
		expected := want(StringToSign(r.URL.Path, r.Method, h, list))
		if hmac.Equal([]byte(expected), []byte(got)) {
			return nil
		}
	}
	return errAuth("Signature mismatch.")
}
