package oss

import (
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// AppendObject (POST /<bucket>/<key>?append&position=N), as the real service
// answers it (help.aliyun.com "AppendObject"; the Go SDK's TestAppendObject
// and TestAppendObjectNegative in oss/bucket_test.go):
//   - the first append (position 0, no object) creates an Appendable object
//     with the request's headers, metadata, ACL and tags;
//   - a later append must name the current length as position, else 409
//     PositionNotEqualToLength with x-oss-next-append-position; its
//     metadata headers are ignored but x-oss-object-acl is applied;
//   - an existing object of another type answers 409 ObjectNotAppendable;
//   - every success answers x-oss-next-append-position and the whole
//     object's x-oss-hash-crc64ecma.
//
// An append rewrites the object into a new blob (old bytes + new bytes), so
// blobs stay immutable; appends to one server are serialised.

const objectTypeAppendable = "Appendable"

func errPositionNotEqualToLength() *apiError {
	return errorFor(codePositionNotEqualToLength, "Position is not equal to file length.")
}

func (s *Server) appendObject(rc *requestContext) *apiError {
	t := rc.target
	position, err := strconv.ParseInt(rc.query.Get("position"), 10, 64)
	if err != nil || position < 0 {
		return errInvalidArgument("position must be a non-negative integer, got %q", rc.query.Get("position"))
	}
	if _, apiErr := s.lookupBucket(t.Bucket); apiErr != nil {
		return apiErr
	}
	// The body is read before the append lock is taken: no lock waits on
	// the network.
	headers, tags, pending, apiErr := s.readUpload(rc.r)
	if apiErr != nil {
		return apiErr
	}
	defer s.blobs.discard(pending)

	s.appendMu.Lock()
	defer s.appendMu.Unlock()
	old, apiErr := s.lookupObject(t.Bucket, t.Key)
	switch {
	case apiErr != nil && apiErr.Code != string(codeNoSuchKey):
		return apiErr
	case apiErr != nil: // a new object
		old = nil
	case old.Type != objectTypeAppendable:
		return errorFor(codeObjectNotAppendable, "The object is not appendable.")
	}
	length := int64(0)
	if old != nil {
		length = old.Size
	}
	if position != length {
		rc.w.Header().Set("x-oss-next-append-position", formatPosition(length))
		return errPositionNotEqualToLength()
	}
	whole, apiErr := s.appendedBlob(old, pending)
	if apiErr != nil {
		return apiErr
	}
	blob, err := s.blobs.commit(whole)
	if err != nil {
		s.blobs.discard(whole)
		return errInternal(err)
	}
	rec := &objectRecord{
		Blob: blob, Size: whole.digest.Size, CRC64: whole.digest.CRC64,
		ETag:         strings.ToUpper(hex.EncodeToString(whole.digest.MD5[:])),
		LastModified: time.Now().UTC(), Type: objectTypeAppendable, Tags: tags, objectHeaders: headers,
	}
	if old != nil {
		acl := old.ACL
		if headers.ACL != "" {
			acl = headers.ACL
		}
		rec.objectHeaders, rec.Tags = old.objectHeaders, old.Tags
		rec.ACL = acl
	}
	if apiErr := s.commitObject(t.Bucket, t.Key, rec, false); apiErr != nil {
		s.blobs.remove(blob)
		return apiErr
	}
	h := rc.w.Header()
	h.Set("ETag", quoteETag(rec.ETag))
	h.Set("x-oss-next-append-position", formatPosition(rec.Size))
	h.Set("x-oss-hash-crc64ecma", strconv.FormatUint(rec.CRC64, 10))
	return writeEmpty(rc, http.StatusOK)
}

// appendedBlob writes old's bytes followed by the appended ones into a new
// pending blob, hashing the whole object as it goes.
func (s *Server) appendedBlob(old *objectRecord, appended *pendingBlob) (*pendingBlob, *apiError) {
	tail, err := os.Open(appended.tmpPath)
	if err != nil {
		return nil, errInternal(err)
	}
	defer tail.Close()
	src := io.Reader(tail)
	size := appended.digest.Size
	if old != nil {
		s.blobs.removal.RLock()
		head, err := s.blobs.open(old.Blob)
		s.blobs.removal.RUnlock()
		if err != nil {
			return nil, errInternal(err)
		}
		defer head.Close()
		src = io.MultiReader(head, tail)
		size += old.Size
	}
	p, err := s.blobs.write(src, size)
	if err != nil {
		return nil, errInternal(err)
	}
	return p, nil
}

func formatPosition(n int64) string { return strconv.FormatInt(n, 10) }
