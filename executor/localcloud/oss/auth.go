package oss

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Signature verification for every way the OSS Go SDK v3.0.2 signs a
// request: V1 in the Authorization header ("OSS ak:sig"), V1 in the query of a
// presigned URL (OSSAccessKeyId/Expires/Signature), V2 ("OSS2 AccessKeyId:...",
// or x-oss-signature-version=OSS2 in a URL), V4 in the header
// ("OSS4-HMAC-SHA256 Credential=..."), and V4 in the query of a presigned URL
// (x-oss-signature-version=OSS4-HMAC-SHA256 ...). The canonical forms mirror
// oss/auth.go and oss/conn.go of the SDK; the server rebuilds them from the
// decoded request, never from the raw wire path, so escaping differences
// between clients do not matter.

const (
	v4Algorithm     = "OSS4-HMAC-SHA256"
	v4TimeFormat    = "20060102T150405Z"
	v4DayFormat     = "20060102"
	unsignedPayload = "UNSIGNED-PAYLOAD"
)

// v1SignedSubresources are the query keys the SDK includes in a V1
// canonicalized resource (signKeyList in the SDK's conn.go). Every other
// query key (prefix, marker, max-keys, ...) travels unsigned.
var v1SignedSubresources = func() map[string]bool {
	keys := []string{"acl", "uploads", "location", "cors",
		"logging", "website", "referer", "lifecycle",
		"delete", "append", "tagging", "objectMeta",
		"uploadId", "partNumber", "security-token",
		"position", "img", "style", "styleName",
		"replication", "replicationProgress",
		"replicationLocation", "cname", "bucketInfo",
		"comp", "qos", "live", "status", "vod",
		"startTime", "endTime", "symlink",
		"x-oss-process", "response-content-type", "x-oss-traffic-limit",
		"response-content-language", "response-expires",
		"response-cache-control", "response-content-disposition",
		"response-content-encoding", "udf", "udfName", "udfImage",
		"udfId", "udfImageDesc", "udfApplication",
		"udfApplicationLog", "restore", "callback", "callback-var", "qosInfo",
		"policy", "stat", "encryption", "versions", "versioning", "versionId", "requestPayment",
		"x-oss-request-payer", "sequential",
		"inventory", "inventoryId", "continuation-token", "asyncFetch",
		"worm", "wormId", "wormExtend", "withHashContext",
		"x-oss-enable-md5", "x-oss-enable-sha1", "x-oss-enable-sha256",
		"x-oss-hash-ctx", "x-oss-md5-ctx", "transferAcceleration",
		"regionList", "cloudboxes", "x-oss-ac-source-ip", "x-oss-ac-subnet-mask", "x-oss-ac-vpc-id", "x-oss-ac-forward-allow",
		"metaQuery", "resourceGroup", "rtc", "x-oss-async-process", "responseHeader",
	}
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}()

// principal is who a request was authenticated as.
type principal struct {
	AccessKeyID string
	Anonymous   bool
}

// authenticator verifies request signatures against a fixed key table.
type authenticator struct {
	credentials map[string]string
	maxSkew     time.Duration
	now         func() time.Time
}

// authenticate checks the request's signature. target is the bucket and key
// the request addresses (already decoded), query its parsed query.
func (a *authenticator) authenticate(r *http.Request, t target, query url.Values) (principal, *apiError) {
	authz := r.Header.Get("Authorization")
	switch {
	case strings.HasPrefix(authz, "OSS "):
		return a.verifyV1Header(r, t, query, strings.TrimPrefix(authz, "OSS "))
	case strings.HasPrefix(authz, "OSS2 "):
		return a.verifyV2Header(r, t, query, strings.TrimPrefix(authz, "OSS2 "))
	case strings.HasPrefix(authz, v4Algorithm+" "):
		return a.verifyV4Header(r, t, query, strings.TrimPrefix(authz, v4Algorithm+" "))
	case authz != "":
		return principal{}, errInvalidArgument("Authorization header is invalid or uses an unsupported signature version.")
	case query.Has("OSSAccessKeyId") || query.Has("Signature"):
		return a.verifyV1Query(r, t, query)
	case query.Get("x-oss-signature-version") == "OSS2":
		return a.verifyV2Query(r, t, query)
	case query.Get("x-oss-signature-version") == v4Algorithm:
		return a.verifyV4Query(r, t, query)
	case query.Has("x-oss-signature-version"):
		return principal{}, errInvalidArgument("Unsupported signature version %q in the query.", query.Get("x-oss-signature-version"))
	}
	return principal{Anonymous: true}, nil
}

func (a *authenticator) secretFor(accessKeyID string) (string, *apiError) {
	secret, ok := a.credentials[accessKeyID]
	if !ok || accessKeyID == "" {
		e := errorFor(codeInvalidAccessKeyId, "The OSS Access Key Id you provided does not exist in our records.")
		e.Extra = []xmlElement{{"OSSAccessKeyId", accessKeyID}}
		return "", e
	}
	return secret, nil
}

func signatureMismatch(accessKeyID, provided, stringToSign string) *apiError {
	e := errorFor(codeSignatureDoesNotMatch, "The request signature we calculated does not match the signature you provided. Check your key and signing method.")
	e.Extra = []xmlElement{
		{"OSSAccessKeyId", accessKeyID},
		{"SignatureProvided", provided},
		{"StringToSign", stringToSign},
	}
	return e
}

func (a *authenticator) checkSkew(signedAt time.Time) *apiError {
	if a.maxSkew <= 0 {
		return nil
	}
	diff := a.now().Sub(signedAt)
	if diff < 0 {
		diff = -diff
	}
	if diff > a.maxSkew {
		e := errorFor(codeRequestTimeTooSkewed, "The difference between the request time and the current time is too large.")
		e.Extra = []xmlElement{{"RequestTime", signedAt.UTC().Format(http.TimeFormat)}, {"ServerTime", a.now().UTC().Format(http.TimeFormat)}}
		return e
	}
	return nil
}

// verifyHeaderSignature finishes a V1 or V2 Authorization header check once
// its fields are read (the two differ only in what is signed and how): the
// key must be known, the request dated, the signature right and the date
// within the allowed skew, checked in that order.
func (a *authenticator) verifyHeaderSignature(r *http.Request, accessKeyID, provided, stringToSign string, sign func(secret, stringToSign string) string) (principal, *apiError) {
	secret, apiErr := a.secretFor(accessKeyID)
	if apiErr != nil {
		return principal{}, apiErr
	}
	dateText := r.Header.Get("x-oss-date")
	if dateText == "" {
		dateText = r.Header.Get("Date")
	}
	signedAt, err := http.ParseTime(dateText)
	if err != nil {
		return principal{}, errAccessDenied("OSS authentication requires a valid Date.")
	}
	if !hmac.Equal([]byte(sign(secret, stringToSign)), []byte(provided)) {
		return principal{}, signatureMismatch(accessKeyID, provided, stringToSign)
	}
	if apiErr := a.checkSkew(signedAt); apiErr != nil {
		return principal{}, apiErr
	}
	return principal{AccessKeyID: accessKeyID}, nil
}

// ---- V1 ----

func (a *authenticator) verifyV1Header(r *http.Request, t target, query url.Values, credential string) (principal, *apiError) {
	accessKeyID, provided, ok := strings.Cut(credential, ":")
	if !ok {
		return principal{}, errInvalidArgument("Authorization header is invalid: expected OSS <AccessKeyId>:<Signature>.")
	}
	stringToSign := v1StringToSign(r, v1DateLine(r), v1Resource(t, query))
	return a.verifyHeaderSignature(r, accessKeyID, provided, stringToSign, v1Sign)
}

// v1DateLine is what a V1 header signature signs on its date line: the Date
// header, or x-oss-date when the request carries no Date. The Node.js client
// ali-oss 6.23.0 sends only x-oss-date and signs it there
// (lib/common/signUtils.js buildCanonicalString: `expires ||
// headers['x-oss-date']`); the Go SDK sends Date.
func v1DateLine(r *http.Request) string {
	if date := r.Header.Get("Date"); date != "" {
		return date
	}
	return r.Header.Get("x-oss-date")
}

func (a *authenticator) verifyV1Query(r *http.Request, t target, query url.Values) (principal, *apiError) {
	accessKeyID := query.Get("OSSAccessKeyId")
	provided := query.Get("Signature")
	expiresText := query.Get("Expires")
	if accessKeyID == "" || provided == "" || expiresText == "" {
		return principal{}, errAccessDenied("A presigned URL needs OSSAccessKeyId, Expires and Signature.")
	}
	secret, apiErr := a.secretFor(accessKeyID)
	if apiErr != nil {
		return principal{}, apiErr
	}
	expires, err := strconv.ParseInt(expiresText, 10, 64)
	if err != nil {
		return principal{}, errAccessDenied("Invalid Expires in the presigned URL.")
	}
	// A presigned URL signs the expiry time where a header request signs its Date.
	stringToSign := v1StringToSign(r, expiresText, v1Resource(t, query))
	if !hmac.Equal([]byte(v1Sign(secret, stringToSign)), []byte(provided)) {
		return principal{}, signatureMismatch(accessKeyID, provided, stringToSign)
	}
	if a.now().Unix() > expires {
		e := errAccessDenied("Request has expired.")
		e.Extra = []xmlElement{{"Expires", time.Unix(expires, 0).UTC().Format(time.RFC3339)}, {"ServerTime", a.now().UTC().Format(time.RFC3339)}}
		return principal{}, e
	}
	return principal{AccessKeyID: accessKeyID}, nil
}

// v1StringToSign builds VERB\nContent-MD5\nContent-Type\nDate\n<x-oss headers><resource>.
func v1StringToSign(r *http.Request, date, resource string) string {
	type header struct{ name, value string }
	var ossHeaders []header
	for name, values := range r.Header {
		lower := strings.ToLower(name)
		if strings.HasPrefix(lower, "x-oss-") && len(values) > 0 {
			ossHeaders = append(ossHeaders, header{lower, values[0]})
		}
	}
	sort.Slice(ossHeaders, func(i, j int) bool { return ossHeaders[i].name < ossHeaders[j].name })
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(r.Header.Get("Content-MD5"))
	b.WriteByte('\n')
	b.WriteString(r.Header.Get("Content-Type"))
	b.WriteByte('\n')
	b.WriteString(date)
	b.WriteByte('\n')
	for _, h := range ossHeaders {
		b.WriteString(h.name)
		b.WriteByte(':')
		b.WriteString(h.value)
		b.WriteByte('\n')
	}
	b.WriteString(resource)
	return b.String()
}

// v1Resource is /bucket/key plus the signed subresources, raw (unescaped).
func v1Resource(t target, query url.Values) string {
	var b strings.Builder
	b.WriteByte('/')
	if t.Bucket != "" {
		b.WriteString(t.Bucket)
		b.WriteByte('/')
		b.WriteString(t.Key)
	}
	var keys []string
	for k := range query {
		if v1SignedSubresources[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(k)
		if v := query.Get(k); v != "" {
			b.WriteByte('=')
			b.WriteString(v)
		}
	}
	return b.String()
}

func v1Sign(secret, stringToSign string) string {
	h := hmac.New(sha1.New, []byte(secret))
	h.Write([]byte(stringToSign))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// ---- V2 (HMAC-SHA256 over a V1-like string, every query parameter signed) ----

func (a *authenticator) verifyV2Header(r *http.Request, t target, query url.Values, fields string) (principal, *apiError) {
	var accessKeyID, additional, provided string
	for _, field := range strings.Split(fields, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(field), ":")
		switch name {
		case "AccessKeyId":
			accessKeyID = value
		case "AdditionalHeaders":
			additional = value
		case "Signature":
			provided = value
		}
	}
	if accessKeyID == "" || provided == "" {
		return principal{}, errInvalidArgument("Authorization header is invalid: expected OSS2 AccessKeyId:<ak>,Signature:<sig>.")
	}
	stringToSign := v2StringToSign(r, r.Header.Get("Date"), additional, v2Resource(t, v4CanonicalQuery(query, "")))
	return a.verifyHeaderSignature(r, accessKeyID, provided, stringToSign, v2Sign)
}

func (a *authenticator) verifyV2Query(r *http.Request, t target, query url.Values) (principal, *apiError) {
	accessKeyID := query.Get("x-oss-access-key-id")
	provided := query.Get("x-oss-signature")
	expiresText := query.Get("x-oss-expires")
	if accessKeyID == "" || provided == "" || expiresText == "" {
		return principal{}, errAccessDenied("A V2 presigned URL needs x-oss-access-key-id, x-oss-expires and x-oss-signature.")
	}
	secret, apiErr := a.secretFor(accessKeyID)
	if apiErr != nil {
		return principal{}, apiErr
	}
	expires, err := strconv.ParseInt(expiresText, 10, 64)
	if err != nil {
		return principal{}, errAccessDenied("Invalid x-oss-expires in the presigned URL.")
	}
	stringToSign := v2StringToSign(r, expiresText, query.Get("x-oss-additional-headers"), v2Resource(t, v4CanonicalQuery(query, "x-oss-signature")))
	if !hmac.Equal([]byte(v2Sign(secret, stringToSign)), []byte(provided)) {
		return principal{}, signatureMismatch(accessKeyID, provided, stringToSign)
	}
	if a.now().Unix() > expires {
		return principal{}, errAccessDenied("Request has expired.")
	}
	return principal{AccessKeyID: accessKeyID}, nil
}

// v2Resource is the escaped /bucket/key plus every query parameter.
func v2Resource(t target, canonicalQuery string) string {
	var resource string
	if t.Bucket == "" {
		resource = url.QueryEscape("/")
	} else {
		resource = url.QueryEscape("/"+t.Bucket+"/") + v4QueryEscape(t.Key)
	}
	if canonicalQuery != "" {
		resource += "?" + canonicalQuery
	}
	return resource
}

func v2StringToSign(r *http.Request, date, additionalHeaders, resource string) string {
	additional := map[string]bool{}
	var additionalNames []string
	for _, name := range strings.Split(additionalHeaders, ";") {
		name = strings.ToLower(strings.TrimSpace(name))
		if name != "" && !additional[name] {
			additional[name] = true
			additionalNames = append(additionalNames, name)
		}
	}
	sort.Strings(additionalNames)
	type header struct{ name, value string }
	var headers []header
	for name, values := range r.Header {
		lower := strings.ToLower(name)
		if len(values) > 0 && (strings.HasPrefix(lower, "x-oss-") || additional[lower]) {
			headers = append(headers, header{lower, values[0]})
		}
	}
	if additional["host"] && r.Header.Get("Host") == "" {
		headers = append(headers, header{"host", r.Host})
	}
	sort.Slice(headers, func(i, j int) bool { return headers[i].name < headers[j].name })
	var b strings.Builder
	b.WriteString(r.Method + "\n" + r.Header.Get("Content-MD5") + "\n" + r.Header.Get("Content-Type") + "\n" + date + "\n")
	for _, h := range headers {
		b.WriteString(h.name + ":" + h.value + "\n")
	}
	b.WriteString(strings.Join(additionalNames, ";") + "\n")
	b.WriteString(resource)
	return b.String()
}

func v2Sign(secret, stringToSign string) string {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(stringToSign))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// ---- V4 ----

// v4Scope is the parsed Credential of a V4 signature: ak/day/region/product/aliyun_v4_request.
type v4Scope struct {
	AccessKeyID, Day, Region, Product string
}

func parseV4Credential(s string) (v4Scope, bool) {
	parts := strings.Split(s, "/")
	if len(parts) != 5 || parts[4] != "aliyun_v4_request" || parts[0] == "" || len(parts[1]) != 8 || parts[2] == "" || parts[3] == "" {
		return v4Scope{}, false
	}
	return v4Scope{AccessKeyID: parts[0], Day: parts[1], Region: parts[2], Product: parts[3]}, true
}

func (a *authenticator) verifyV4Header(r *http.Request, t target, query url.Values, fields string) (principal, *apiError) {
	var credential, additional, provided string
	for _, field := range strings.Split(fields, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(field), "=")
		switch name {
		case "Credential":
			credential = value
		case "AdditionalHeaders":
			additional = value
		case "Signature":
			provided = value
		}
	}
	scope, ok := parseV4Credential(credential)
	if !ok || provided == "" {
		return principal{}, errInvalidArgument("Authorization header is invalid: expected OSS4-HMAC-SHA256 Credential=<ak>/<day>/<region>/oss/aliyun_v4_request,Signature=<hex>.")
	}
	secret, apiErr := a.secretFor(scope.AccessKeyID)
	if apiErr != nil {
		return principal{}, apiErr
	}
	signDate := r.Header.Get("x-oss-date")
	var signedAt time.Time
	var err error
	if signDate != "" {
		signedAt, err = time.Parse(v4TimeFormat, signDate)
	} else {
		signDate = r.Header.Get("Date")
		signedAt, err = http.ParseTime(signDate)
	}
	if err != nil {
		return principal{}, errAccessDenied("OSS V4 authentication requires a valid x-oss-date or Date header.")
	}
	payloadHash := r.Header.Get("x-oss-content-sha256")
	if payloadHash == "" {
		payloadHash = unsignedPayload
	}
	canonical := v4CanonicalRequest(r, t, v4CanonicalQuery(query, ""), additional, payloadHash)
	stringToSign := v4StringToSign(signDate, scope, canonical)
	if !hmac.Equal([]byte(v4Sign(secret, scope, stringToSign)), []byte(provided)) {
		return principal{}, signatureMismatch(scope.AccessKeyID, provided, stringToSign)
	}
	if apiErr := a.checkSkew(signedAt); apiErr != nil {
		return principal{}, apiErr
	}
	return principal{AccessKeyID: scope.AccessKeyID}, nil
}

func (a *authenticator) verifyV4Query(r *http.Request, t target, query url.Values) (principal, *apiError) {
	scope, ok := parseV4Credential(query.Get("x-oss-credential"))
	provided := query.Get("x-oss-signature")
	signDate := query.Get("x-oss-date")
	if !ok || provided == "" || signDate == "" {
		return principal{}, errAccessDenied("A V4 presigned URL needs x-oss-credential, x-oss-date, x-oss-expires and x-oss-signature.")
	}
	secret, apiErr := a.secretFor(scope.AccessKeyID)
	if apiErr != nil {
		return principal{}, apiErr
	}
	signedAt, err := time.Parse(v4TimeFormat, signDate)
	if err != nil {
		return principal{}, errAccessDenied("Invalid x-oss-date in the presigned URL.")
	}
	expiresIn, err := strconv.ParseInt(query.Get("x-oss-expires"), 10, 64)
	if err != nil || expiresIn < 0 {
		return principal{}, errAccessDenied("Invalid x-oss-expires in the presigned URL.")
	}
	payloadHash := r.Header.Get("x-oss-content-sha256")
	if payloadHash == "" {
		payloadHash = unsignedPayload
	}
	canonical := v4CanonicalRequest(r, t, v4CanonicalQuery(query, "x-oss-signature"), query.Get("x-oss-additional-headers"), payloadHash)
	stringToSign := v4StringToSign(signDate, scope, canonical)
	if !hmac.Equal([]byte(v4Sign(secret, scope, stringToSign)), []byte(provided)) {
		return principal{}, signatureMismatch(scope.AccessKeyID, provided, stringToSign)
	}
	if a.now().After(signedAt.Add(time.Duration(expiresIn) * time.Second)) {
		return principal{}, errAccessDenied("Request has expired.")
	}
	return principal{AccessKeyID: scope.AccessKeyID}, nil
}

// v4QueryEscape is the SDK's value escaping: QueryEscape with %20 for space.
func v4QueryEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// v4CanonicalQuery lists every query parameter (except skip), keys and
// values escaped as the SDK escapes them, sorted by escaped key.
func v4CanonicalQuery(query url.Values, skip string) string {
	type param struct{ key, value string }
	params := make([]param, 0, len(query))
	for k, values := range query {
		if k == skip {
			continue
		}
		v := ""
		if len(values) > 0 {
			v = values[0]
		}
		params = append(params, param{url.QueryEscape(k), v})
	}
	sort.Slice(params, func(i, j int) bool { return params[i].key < params[j].key })
	var b strings.Builder
	for i, p := range params {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.key)
		if p.value != "" {
			b.WriteByte('=')
			b.WriteString(v4QueryEscape(p.value))
		}
	}
	return b.String()
}

// v4CanonicalURI is /, /bucket/ or /bucket/<escaped key with / kept>.
func v4CanonicalURI(t target) string {
	if t.Bucket == "" {
		return "/"
	}
	return "/" + t.Bucket + "/" + strings.ReplaceAll(v4QueryEscape(t.Key), "%2F", "/")
}

func v4CanonicalRequest(r *http.Request, t target, canonicalQuery, additionalHeaders, payloadHash string) string {
	// Content-Type and Content-MD5 are always signed, so the SDK leaves them
	// out of the additional list even when the caller names them.
	additional := map[string]bool{}
	var additionalNames []string
	for _, name := range strings.Split(additionalHeaders, ";") {
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "" || name == "content-type" || name == "content-md5" || additional[name] {
			continue
		}
		additional[name] = true
		additionalNames = append(additionalNames, name)
	}
	sort.Strings(additionalNames)

	type header struct{ name, value string }
	var headers []header
	for name, values := range r.Header {
		lower := strings.ToLower(name)
		if len(values) == 0 {
			continue
		}
		if lower == "content-type" || lower == "content-md5" || strings.HasPrefix(lower, "x-oss-") || additional[lower] {
			headers = append(headers, header{lower, strings.Trim(values[0], " ")})
		}
	}
	// Go's server moves Host out of the header map.
	if additional["host"] && r.Header.Get("Host") == "" {
		headers = append(headers, header{"host", strings.Trim(r.Host, " ")})
	}
	sort.Slice(headers, func(i, j int) bool { return headers[i].name < headers[j].name })

	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(v4CanonicalURI(t))
	b.WriteByte('\n')
	b.WriteString(canonicalQuery)
	b.WriteByte('\n')
	for _, h := range headers {
		b.WriteString(h.name)
		b.WriteByte(':')
		b.WriteString(h.value)
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(additionalNames, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}

func v4StringToSign(signDate string, scope v4Scope, canonicalRequest string) string {
	sum := sha256.Sum256([]byte(canonicalRequest))
	return v4Algorithm + "\n" + signDate + "\n" + scope.Day + "/" + scope.Region + "/" + scope.Product + "/aliyun_v4_request\n" + hex.EncodeToString(sum[:])
}

func v4Sign(secret string, scope v4Scope, stringToSign string) string {
	mac := func(key []byte, data string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(data))
		return h.Sum(nil)
	}
	k := mac([]byte("aliyun_v4"+secret), scope.Day)
	k = mac(k, scope.Region)
	k = mac(k, scope.Product)
	k = mac(k, "aliyun_v4_request")
	return hex.EncodeToString(mac(k, stringToSign))
}
