package oss

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/kv"
)

// DefaultRegion is the region buckets are created in unless a request names another.
const DefaultRegion = "cn-hangzhou"

// Config configures a Server.
type Config struct {
	// Region is the server's own region (default cn-hangzhou). Buckets are
	// created here unless the create request names another region, either
	// with <LocationConstraint>oss-REGION</LocationConstraint> in the
	// CreateBucketConfiguration body (client.CreateBucketXml) or with the
	// header x-oss-bucket-region: REGION (oss.SetHeader on CreateBucket).
	Region string
	// Credentials maps access key id to secret. Every key acts as the one
	// account that owns all buckets.
	Credentials map[string]string
	// DataDir holds object bytes (under DataDir/oss) and, without Store, the index.
	DataDir string
	// Store, when set, holds the object index (top-level buckets prefixed
	// "oss/"); the caller owns and closes it. Without it the server opens
	// its own store in DataDir/oss/index and closes it in Close.
	Store *kv.Store
	// Logger receives one line per failed request and start-up notes.
	Logger *slog.Logger
	// VirtualHostSuffix enables virtual-host addressing: a request whose
	// Host is <bucket>.<VirtualHostSuffix>[:port] addresses <bucket>.
	// Empty means path-style only.
	VirtualHostSuffix string
	// MaxClockSkew bounds |now - request date| for header-signed requests
	// (default 15 minutes, as OSS; negative disables the check).
	MaxClockSkew time.Duration
}

// Server is the OSS-compatible endpoint. It is safe for concurrent use.
type Server struct {
	region    string
	logger    *slog.Logger
	vhost     string
	auth      *authenticator
	blobs     *blobStore
	index     *index    // the bbolt index: opened, prepared and closed here
	meta      metaStore // what the handlers use of it
	ownsStore bool

	// appendMu serialises AppendObject's read-check-write of an object.
	appendMu sync.Mutex

	faultMu sync.RWMutex
	fault   FaultFunc

	closeOnce sync.Once
	closeErr  error
}

// New opens (or creates) the store under cfg.DataDir and returns a server.
func New(cfg Config) (*Server, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("oss: Config.DataDir is required")
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	if !validRegion(cfg.Region) {
		return nil, fmt.Errorf("oss: invalid region %q", cfg.Region)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxClockSkew == 0 {
		cfg.MaxClockSkew = 15 * time.Minute
	}
	creds := make(map[string]string, len(cfg.Credentials))
	for k, v := range cfg.Credentials {
		creds[k] = v
	}
	blobs, err := newBlobStore(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	store := cfg.Store
	owns := false
	if store == nil {
		store, err = kv.Open(filepath.Join(cfg.DataDir, "oss", "index"))
		if err != nil {
			return nil, fmt.Errorf("oss: open index: %w", err)
		}
		owns = true
	}
	ix := &index{store: store}
	s := &Server{
		region:    cfg.Region,
		logger:    cfg.Logger,
		vhost:     strings.ToLower(cfg.VirtualHostSuffix),
		auth:      &authenticator{credentials: creds, maxSkew: cfg.MaxClockSkew, now: time.Now},
		blobs:     blobs,
		index:     ix,
		meta:      ix,
		ownsStore: owns,
	}
	if err := s.recover(); err != nil {
		if owns {
			_ = store.Close()
		}
		return nil, err
	}
	return s, nil
}

// recover prepares the index and removes what a crash may have left behind.
func (s *Server) recover() error {
	if err := s.index.init(); err != nil {
		return fmt.Errorf("oss: prepare index: %w", err)
	}
	refs, err := s.index.referencedBlobs()
	if err != nil {
		return err
	}
	removed, err := s.blobs.sweep(refs)
	if err != nil {
		return err
	}
	if removed > 0 {
		s.logger.Info("oss: removed unreferenced files left by an interrupted write", "count", removed)
	}
	return nil
}

// Close releases the index if the server opened it. Requests in flight
// should be drained (http.Server.Shutdown) before.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		if s.ownsStore {
			s.closeErr = s.index.store.Close()
		}
	})
	return s.closeErr
}

// Region returns the server's region.
func (s *Server) Region() string { return s.region }

// target is what a request addresses.
type target struct {
	Bucket string
	Key    string
}

// requestContext carries what every handler needs.
type requestContext struct {
	w         http.ResponseWriter
	r         *http.Request
	requestID string
	target    target
	query     url.Values
	principal principal
}

func newRequestID() string {
	var raw [12]byte
	_, _ = rand.Read(raw[:])
	return strings.ToUpper(hex.EncodeToString(raw[:]))
}

// ServeHTTP implements http.Handler. Mount it as the listener's handler
// itself, not under an http.ServeMux: a mux cleans paths and would redirect
// legal object keys such as "a//b" or "x/../y".
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	requestID := newRequestID()
	w.Header().Set("x-oss-request-id", requestID)
	w.Header().Set("Server", "AliyunOSS")
	w.Header().Set("Date", time.Now().UTC().Format(http.TimeFormat))
	defer func() {
		if v := recover(); v != nil {
			if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(v)
			}
			s.logger.Error("oss: handler panic", "request_id", requestID, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			writeError(w, r, requestID, errInternal(fmt.Errorf("unexpected server fault")))
		}
	}()
	if isHealthCheck(r) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write([]byte("ok\n"))
		}
		return
	}
	if apiErr := s.serve(w, r, requestID); apiErr != nil {
		level := slog.LevelDebug
		if apiErr.Status >= 500 {
			level = slog.LevelError
		}
		s.logger.Log(r.Context(), level, "oss: request failed", "request_id", requestID, "method", r.Method, "path", r.URL.Path, "status", apiErr.Status, "code", apiErr.Code, "message", apiErr.Message)
		drainBody(r)
		writeError(w, r, requestID, apiErr)
	}
}

// maxErrorDrain bounds how much of an unread body is consumed before an
// error answer.
const maxErrorDrain = 64 << 20

// drainBody reads what is left of a request body before an error is sent.
// OSS may answer early, but clients then race: the SDK's progress tracker
// is written by the transport's body writer while the caller already reads
// the response, which the race detector reports in callers' tests. Reading
// the body first gives every client a plain, in-order error.
func drainBody(r *http.Request) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxErrorDrain))
	}
}

// isHealthCheck recognises an unsigned GET or HEAD of /healthz. It would
// otherwise be an anonymous listing of a bucket named "healthz", which is
// always refused, so answering it shadows nothing a client could do.
func isHealthCheck(r *http.Request) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) && r.URL.Path == "/healthz" &&
		r.URL.RawQuery == "" && r.Header.Get("Authorization") == ""
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, requestID string) *apiError {
	t, apiErr := s.parseTarget(r)
	if apiErr != nil {
		return apiErr
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return errInvalidArgument("The query string is malformed: %v", err)
	}
	p, apiErr := s.auth.authenticate(r, t, query)
	if apiErr != nil {
		return apiErr
	}
	rc := &requestContext{w: w, r: r, requestID: requestID, target: t, query: query, principal: p}
	if p.Anonymous {
		if apiErr := s.allowAnonymous(rc); apiErr != nil {
			return apiErr
		}
	}
	if f := s.currentFault(); f != nil {
		if fault := f(RequestInfo{Method: r.Method, Bucket: t.Bucket, Key: t.Key, Query: query}); fault != nil {
			return fault.apiError()
		}
	}
	switch {
	case t.Bucket == "":
		return s.serveService(rc)
	case t.Key == "":
		return s.serveBucket(rc)
	default:
		return s.serveObject(rc)
	}
}

// parseTarget finds bucket and key, path style (/bucket/key) or virtual-host
// style (Host: bucket.<suffix>). Keys come from the decoded path, where the
// SDK's %2F has become "/".
func (s *Server) parseTarget(r *http.Request) (target, *apiError) {
	path := r.URL.Path
	if !strings.HasPrefix(path, "/") {
		return target{}, errInvalidArgument("The request path must start with /.")
	}
	path = path[1:]
	var t target
	if bucket := s.virtualHostBucket(r.Host); bucket != "" {
		t = target{Bucket: bucket, Key: path}
	} else {
		bucket, key, _ := strings.Cut(path, "/")
		t = target{Bucket: bucket, Key: key}
	}
	if (t.Bucket != "" || t.Key != "") && !validBucketName(t.Bucket) {
		return target{}, errorFor(codeInvalidBucketName, "The specified bucket is not valid.")
	}
	if t.Key != "" {
		if err := validateObjectKey(t.Key); err != nil {
			return target{}, errorFor(codeInvalidObjectName, "The specified object is not valid: "+err.Error())
		}
	}
	return t, nil
}

// virtualHostBucket reads the bucket from a virtual-hosted Host header:
// <bucket>.<Config.VirtualHostSuffix>, or <bucket>.<suffix> for the suffix
// forms clients send to an IP endpoint: an OSS domain (ali-oss 6.23.0 sends
// Host: <bucket>.oss-<region>.aliyuncs.com with path /<key> when its endpoint
// is an IP, lib/common/utils/createRequest.js), an IP literal or localhost
// (the Go SDK's UseCname with a <bucket>.<ip> endpoint). Any other host is
// path style: a bare IP, localhost or a name of the operator's choosing.
func (s *Server) virtualHostBucket(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(host)
	bucket, rest, found := strings.Cut(host, ".")
	if !found || !validBucketName(bucket) {
		return ""
	}
	switch {
	case s.vhost != "" && rest == s.vhost:
	case strings.HasSuffix(rest, ".aliyuncs.com") && strings.Count(rest, ".") >= 2:
		// <bucket>.oss-<region>[-internal].aliyuncs.com; the endpoint itself
		// (oss-<region>.aliyuncs.com) has one label fewer and addresses the service.
	case net.ParseIP(rest) != nil, rest == "localhost":
	default:
		return ""
	}
	return bucket
}

func (s *Server) serveService(rc *requestContext) *apiError {
	switch rc.r.Method {
	case http.MethodGet:
		if sub := unservedSubresource(rc.query); sub != "" {
			return notImplemented(sub)
		}
		return s.listBuckets(rc)
	default:
		return errMethodNotAllowed()
	}
}

func (s *Server) serveBucket(rc *requestContext) *apiError {
	q := rc.query
	switch rc.r.Method {
	case http.MethodPut:
		if q.Has("acl") {
			return s.putBucketACL(rc)
		}
		if sub := unservedSubresource(q); sub != "" {
			return notImplemented(sub)
		}
		return s.createBucket(rc)
	case http.MethodDelete:
		if sub := unservedSubresource(q); sub != "" {
			return notImplemented(sub)
		}
		return s.deleteBucket(rc)
	case http.MethodGet:
		switch {
		case q.Has("bucketInfo"):
			return s.getBucketInfo(rc)
		case q.Has("location"):
			return s.getBucketLocation(rc)
		case q.Has("acl"):
			return s.getBucketACL(rc)
		case q.Has("stat"):
			return s.getBucketStat(rc)
		case q.Has("uploads"):
			return s.listMultipartUploads(rc)
		case q.Has("versions"):
			return s.listObjectVersions(rc)
		}
		if sub := unservedSubresource(q); sub != "" {
			return notImplemented(sub)
		}
		if q.Get("list-type") == "2" {
			return s.listObjectsV2(rc)
		}
		return s.listObjectsV1(rc)
	case http.MethodPost:
		if q.Has("delete") {
			return s.deleteMultipleObjects(rc)
		}
		return notImplemented(firstSubresource(q))
	case http.MethodHead:
		return s.headBucket(rc)
	default:
		return errMethodNotAllowed()
	}
}

func (s *Server) serveObject(rc *requestContext) *apiError {
	q := rc.query
	switch rc.r.Method {
	case http.MethodPut:
		switch {
		case q.Has("partNumber") || q.Has("uploadId"):
			return s.uploadPart(rc)
		case q.Has("acl"):
			return s.putObjectACL(rc)
		case q.Has("tagging"):
			return s.putObjectTagging(rc)
		case q.Has("symlink"):
			return s.putSymlink(rc)
		}
		if sub := unservedSubresource(q); sub != "" {
			return notImplemented(sub)
		}
		if rc.r.Header.Get("x-oss-copy-source") != "" {
			return s.copyObject(rc)
		}
		return s.putObject(rc)
	case http.MethodGet:
		switch {
		case q.Has("uploadId"):
			return s.listParts(rc)
		case q.Has("acl"):
			return s.getObjectACL(rc)
		case q.Has("tagging"):
			return s.getObjectTagging(rc)
		case q.Has("symlink"):
			return s.getSymlink(rc)
		case q.Has("objectMeta"):
			return s.getObject(rc, false)
		}
		if sub := unservedSubresource(q); sub != "" {
			return notImplemented(sub)
		}
		return s.getObject(rc, true)
	case http.MethodHead:
		return s.getObject(rc, false)
	case http.MethodDelete:
		switch {
		case q.Has("uploadId"):
			return s.abortMultipartUpload(rc)
		case q.Has("tagging"):
			return s.deleteObjectTagging(rc)
		}
		if sub := unservedSubresource(q); sub != "" {
			return notImplemented(sub)
		}
		return s.deleteObject(rc)
	case http.MethodPost:
		switch {
		case q.Has("uploads"):
			return s.initiateMultipartUpload(rc)
		case q.Has("uploadId"):
			return s.completeMultipartUpload(rc)
		case q.Has("append"):
			return s.appendObject(rc)
		default:
			return notImplemented(firstSubresource(q))
		}
	default:
		return errMethodNotAllowed()
	}
}

// plainParameters are the query keys that never name a sub-resource: those
// of a listing, of a presigned URL's signature and of a GET's response
// header overrides. Every other key names an operation; one this server does
// not serve must not fall through to a listing or a plain object read.
var plainParameters = map[string]bool{
	"prefix": true, "marker": true, "max-keys": true, "delimiter": true, "encoding-type": true,
	"list-type": true, "continuation-token": true, "start-after": true, "fetch-owner": true,
	"OSSAccessKeyId": true, "Expires": true, "Signature": true, "security-token": true,
	"response-content-type": true, "response-content-language": true, "response-expires": true,
	"response-cache-control": true, "response-content-disposition": true, "response-content-encoding": true,
}

// unservedSubresource returns a query key naming an operation this server
// does not serve ("" when there is none). Keys of the x-oss- family carry
// signatures and options of served operations.
func unservedSubresource(q url.Values) string {
	for k := range q {
		if plainParameters[k] || strings.HasPrefix(strings.ToLower(k), "x-oss-") {
			continue
		}
		if k == "versionId" && q.Get(k) == "null" {
			// The one version of an object in an unversioned bucket, as
			// ListObjectVersions reports it.
			continue
		}
		return k
	}
	return ""
}

func firstSubresource(q url.Values) string {
	if sub := unservedSubresource(q); sub != "" {
		return sub
	}
	return "(none)"
}

// notImplemented is the answer to an operation this server does not serve
// (issue 18: out of scope, or not built yet).
func notImplemented(subresource string) *apiError {
	return errorFor(codeNotImplemented, fmt.Sprintf("The local OSS endpoint does not implement this operation (sub-resource %q).", subresource))
}
