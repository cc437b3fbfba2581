package oss

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The object sub-resources: ACL, tagging and symlinks. Each changes one
// object record in place (updateObject) or writes a record without bytes.

// updateObject applies change to the record of bucket/key.
func (s *Server) updateObject(bucket, key string, change func(*objectRecord)) *apiError {
	if err := s.meta.UpdateObject(bucket, key, change); err != nil {
		return storeError(err, bucket, key, "")
	}
	return nil
}

// ---- object ACL ----

// objectACLOf is what GetObjectACL answers: "default" (inherit the bucket's)
// unless the object was given its own, as the real service answers.
func objectACLOf(rec *objectRecord) string {
	if rec.ACL == "" {
		return "default"
	}
	return rec.ACL
}

func validObjectACL(acl string) bool { return acl == "default" || validACL(acl) }

func (s *Server) getObjectACL(rc *requestContext) *apiError {
	rec, apiErr := s.lookupObject(rc.target.Bucket, rc.target.Key)
	if apiErr != nil {
		return apiErr
	}
	type policy struct {
		XMLName xml.Name `xml:"AccessControlPolicy"`
		Owner   xmlOwner `xml:"Owner"`
		Grant   string   `xml:"AccessControlList>Grant"`
	}
	return writeXML(rc, http.StatusOK, policy{Owner: theOwner, Grant: objectACLOf(rec)})
}

func (s *Server) putObjectACL(rc *requestContext) *apiError {
	acl := rc.r.Header.Get("x-oss-object-acl")
	if !validObjectACL(acl) {
		return errInvalidArgument("no such object access control exists: %q (x-oss-object-acl must be default, private, public-read or public-read-write)", acl)
	}
	apiErr := s.updateObject(rc.target.Bucket, rc.target.Key, func(rec *objectRecord) {
		rec.ACL = acl
		if acl == "default" {
			rec.ACL = ""
		}
	})
	if apiErr != nil {
		return apiErr
	}
	return writeEmpty(rc, http.StatusOK)
}

// ---- tagging ----

// objectTag is one key/value tag of an object, kept in the caller's order.
type objectTag struct {
	Key   string `json:"k" xml:"Key"`
	Value string `json:"v" xml:"Value"`
}

// The real service's tagging limits (help.aliyun.com "PutObjectTagging"):
// at most 10 tags, keys of 1 to 128 characters, values of at most 256.
const (
	maxObjectTags   = 10
	maxTagKeyLength = 128
	maxTagValLength = 256
)

func validateTags(tags []objectTag) *apiError {
	if len(tags) > maxObjectTags {
		return errInvalidTag("An object can have at most %d tags, got %d.", maxObjectTags, len(tags))
	}
	seen := map[string]bool{}
	for _, t := range tags {
		if n := utf8.RuneCountInString(t.Key); n == 0 || n > maxTagKeyLength {
			return errInvalidTag("A tag key must have 1 to %d characters, got %q.", maxTagKeyLength, t.Key)
		}
		if utf8.RuneCountInString(t.Value) > maxTagValLength {
			return errInvalidTag("A tag value must have at most %d characters (key %q).", maxTagValLength, t.Key)
		}
		if !validTagText(t.Key) || !validTagText(t.Value) {
			return errInvalidTag("Tag keys and values may hold letters, digits, spaces and + - = . _ : / only (key %q).", t.Key)
		}
		if seen[t.Key] {
			return errInvalidTag("The tag key %q appears more than once.", t.Key)
		}
		seen[t.Key] = true
	}
	return nil
}

// validTagText applies the documented tag character set (help.aliyun.com
// "Object tagging": letters, digits, spaces and + - = . _ : /); the Go SDK's
// TestPutObjectTagging expects a key with "&" to be refused.
func validTagText(s string) bool {
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune(" +-=._:/", r) {
			return false
		}
	}
	return true
}

func errInvalidTag(format string, args ...any) *apiError {
	return errorFor(codeInvalidTag, fmt.Sprintf(format, args...))
}

// tagsFromHeader parses x-oss-tagging (k1=v1&k2=v2, URL-encoded), which
// PutObject, CopyObject (with x-oss-tagging-directive: Replace), append and
// InitiateMultipartUpload accept.
func tagsFromHeader(r *http.Request) ([]objectTag, *apiError) {
	raw := r.Header.Get("x-oss-tagging")
	if raw == "" {
		return nil, nil
	}
	var tags []objectTag
	for _, pair := range strings.Split(raw, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		key, err1 := url.QueryUnescape(k)
		value, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			return nil, errInvalidTag("x-oss-tagging is not a valid URL-encoded query: %q", raw)
		}
		tags = append(tags, objectTag{Key: key, Value: value})
	}
	if apiErr := validateTags(tags); apiErr != nil {
		return nil, apiErr
	}
	return tags, nil
}

type xmlTagging struct {
	XMLName xml.Name    `xml:"Tagging"`
	Tags    []objectTag `xml:"TagSet>Tag"`
}

func (s *Server) putObjectTagging(rc *requestContext) *apiError {
	var req xmlTagging
	if apiErr := readXMLBody(rc.r, &req); apiErr != nil {
		return apiErr
	}
	if apiErr := validateTags(req.Tags); apiErr != nil {
		return apiErr
	}
	apiErr := s.updateObject(rc.target.Bucket, rc.target.Key, func(rec *objectRecord) { rec.Tags = req.Tags })
	if apiErr != nil {
		return apiErr
	}
	return writeEmpty(rc, http.StatusOK)
}

func (s *Server) getObjectTagging(rc *requestContext) *apiError {
	rec, apiErr := s.lookupObject(rc.target.Bucket, rc.target.Key)
	if apiErr != nil {
		return apiErr
	}
	return writeXML(rc, http.StatusOK, xmlTagging{Tags: rec.Tags})
}

func (s *Server) deleteObjectTagging(rc *requestContext) *apiError {
	apiErr := s.updateObject(rc.target.Bucket, rc.target.Key, func(rec *objectRecord) { rec.Tags = nil })
	if apiErr != nil {
		return apiErr
	}
	return writeEmpty(rc, http.StatusNoContent)
}

// ---- symlinks ----

const objectTypeSymlink = "Symlink"

// putSymlink writes a symlink record: no bytes, the target key (in the same
// bucket, which need not exist yet) in x-oss-symlink-target, URL-encoded
// by the Go SDK (oss/bucket.go PutSymlink).
func (s *Server) putSymlink(rc *requestContext) *apiError {
	t := rc.target
	raw := rc.r.Header.Get("x-oss-symlink-target")
	targetKey, err := url.QueryUnescape(raw)
	if raw == "" || err != nil {
		return errInvalidArgument("x-oss-symlink-target must name the target object (URL-encoded), got %q", raw)
	}
	if err := validateObjectKey(targetKey); err != nil {
		return errorFor(codeInvalidObjectName, "The symlink target is not valid: "+err.Error())
	}
	if _, apiErr := s.lookupBucket(t.Bucket); apiErr != nil {
		return apiErr
	}
	refuse := forbidOverwrite(rc.r)
	headers, apiErr := objectHeadersFrom(rc.r)
	if apiErr != nil {
		return apiErr
	}
	tags, apiErr := tagsFromHeader(rc.r)
	if apiErr != nil {
		return apiErr
	}
	// Conservative choice (the real service does not document a symlink's
	// ETag): the MD5 of the target key, with the target key's length as size.
	sum := md5.Sum([]byte(targetKey))
	rec := &objectRecord{
		Size: int64(len(targetKey)), ETag: strings.ToUpper(hex.EncodeToString(sum[:])),
		LastModified: time.Now().UTC(), Type: objectTypeSymlink, SymlinkTarget: targetKey,
		Tags: tags, objectHeaders: headers,
	}
	if apiErr := s.commitObject(t.Bucket, t.Key, rec, refuse); apiErr != nil {
		return apiErr
	}
	rc.w.Header().Set("ETag", quoteETag(rec.ETag))
	return writeEmpty(rc, http.StatusOK)
}

func (s *Server) getSymlink(rc *requestContext) *apiError {
	rec, apiErr := s.lookupObject(rc.target.Bucket, rc.target.Key)
	if apiErr != nil {
		return apiErr
	}
	if rec.Type != objectTypeSymlink {
		return errorFor(codeNotSymlink, "The specified object is not a symlink.")
	}
	h := rc.w.Header()
	h.Set("x-oss-symlink-target", url.QueryEscape(rec.SymlinkTarget))
	h.Set("ETag", quoteETag(rec.ETag))
	h.Set("Last-Modified", rec.LastModified.UTC().Format(http.TimeFormat))
	for name, value := range rec.Meta {
		h.Set("x-oss-meta-"+name, value)
	}
	return writeEmpty(rc, http.StatusOK)
}

// errSymlinkTargetMissing is the real service's answer to reading a symlink
// whose target does not exist.
func errSymlinkTargetMissing(key string) *apiError {
	e := errorFor(codeSymlinkTargetNotExist, "The symlink target object does not exist.")
	e.Extra = []xmlElement{{"Key", key}}
	return e
}
