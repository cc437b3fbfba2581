package oss

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// In-process administration for tests, demos and fault injection. The SDK
// path (PUT /bucket/) does the same over HTTP.

// RequestInfo describes an authenticated request to a FaultFunc.
type RequestInfo struct {
	Method string
	Bucket string
	Key    string
	Query  url.Values
}

// Fault is an error the server answers instead of serving a request.
type Fault struct {
	Status  int    // HTTP status, e.g. 503
	Code    string // OSS error code, e.g. "ServiceUnavailable"
	Message string
}

func (f *Fault) apiError() *apiError {
	status := f.Status
	if status == 0 {
		status = http.StatusServiceUnavailable
	}
	code := f.Code
	if code == "" {
		code = "ServiceUnavailable"
	}
	return newError(status, code, f.Message)
}

// FaultFunc decides, per authenticated request, whether to fail it.
// Returning nil serves the request normally.
type FaultFunc func(RequestInfo) *Fault

// SetFault installs f (nil removes it). It applies to requests that passed
// authentication, so credential tests are unaffected.
func (s *Server) SetFault(f FaultFunc) {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	s.fault = f
}

func (s *Server) currentFault() FaultFunc {
	s.faultMu.RLock()
	defer s.faultMu.RUnlock()
	return s.fault
}

// ErrBucketExists is returned by CreateBucket for an existing bucket.
var ErrBucketExists = errors.New("oss: bucket already exists")

// CreateBucket creates a private bucket in region (the server's region if
// empty). It fails with ErrBucketExists if the bucket exists.
func (s *Server) CreateBucket(name, region string) error {
	if !validBucketName(name) {
		return fmt.Errorf("oss: invalid bucket name %q", name)
	}
	if region == "" {
		region = s.region
	}
	if !validRegion(region) {
		return fmt.Errorf("oss: invalid region %q", region)
	}
	rec := bucketRecord{Name: name, Region: region, CreationDate: time.Now().UTC(), StorageClass: "Standard", Redundancy: "LRS", ACL: "private"}
	_, created, err := s.meta.CreateBucket(rec)
	if err == nil && !created {
		err = ErrBucketExists
	}
	return err
}

// BucketRegion returns the region of a bucket, or "" and false if it does not exist.
func (s *Server) BucketRegion(name string) (string, bool) {
	rec, err := s.meta.Bucket(name)
	if err != nil {
		return "", false
	}
	return rec.Region, true
}
