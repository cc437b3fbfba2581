package tablestore

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore/otsprotocol"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/kv"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/storage"
)

// Defaults of Config.
const (
	DefaultInstance = "local"
	DefaultRegion   = "cn-hangzhou"
	// MaxBodyBytes bounds request bodies (the real service allows a few MB per row batch).
	MaxBodyBytes = 64 << 20
)

// Config configures a Server.
type Config struct {
	Instance        string            // instance name served (default "local")
	Region          string            // region for V4 signatures (default "cn-hangzhou")
	Credentials     map[string]string // access key id -> secret; required
	Shards          int               // shards of new tables (default 4)
	Store           *kv.Store         // required
	Logger          *slog.Logger      // default slog.Default()
	ChangeRetention time.Duration     // change-log retention (default storage.DefaultChangeRetention, 7 days)
	// SplitRows, when positive, splits a table partition automatically once
	// it holds more rows than this (see storage.Config.SplitRows).
	SplitRows int
	// Tunnel serves requests under /tunnel/ after they are authenticated
	// (nil: they are answered with "Unsupported operation").
	Tunnel http.Handler
	// Now overrides the data clock (write timestamps, TTL, change-log
	// times) for tests; request dates are always checked against the real clock.
	Now func() time.Time
}

// Server is the Tablestore endpoint. It implements http.Handler.
type Server struct {
	cfg      Config
	store    *storage.Store
	verifier *Verifier
	log      *slog.Logger
	reqSeq   atomic.Uint64
	reqBase  string
	ops      map[string]func(*request) (protoadapt.MessageV1, *Error)
	delivery deliverySlot
}

// New returns a Server.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("tablestore: Config.Store is required")
	}
	if len(cfg.Credentials) == 0 {
		return nil, errors.New("tablestore: Config.Credentials is empty")
	}
	if cfg.Instance == "" {
		cfg.Instance = DefaultInstance
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	st, err := storage.Open(cfg.Store, storage.Config{Shards: cfg.Shards, ChangeRetention: cfg.ChangeRetention, SplitRows: cfg.SplitRows, Now: cfg.Now})
	if err != nil {
		return nil, fmt.Errorf("tablestore: %w", err)
	}
	s := &Server{
		cfg:      cfg,
		store:    st,
		verifier: &Verifier{Instance: cfg.Instance, Region: cfg.Region, Credentials: cfg.Credentials},
		log:      cfg.Logger.With("component", "tablestore"),
		reqBase:  fmt.Sprintf("%08x", uint32(time.Now().UnixNano())),
	}
	s.ops = map[string]func(*request) (protoadapt.MessageV1, *Error){
		"/CreateTable":         s.createTable,
		"/ListTable":           s.listTable,
		"/DescribeTable":       s.describeTable,
		"/UpdateTable":         s.updateTable,
		"/DeleteTable":         s.deleteTable,
		"/AddDefinedColumn":    s.addDefinedColumn,
		"/DeleteDefinedColumn": s.deleteDefinedColumn,
		"/PutRow":              s.putRow,
		"/UpdateRow":           s.updateRow,
		"/DeleteRow":           s.deleteRow,
		"/GetRow":              s.getRow,
		"/BatchGetRow":         s.batchGetRow,
		"/BatchWriteRow":       s.batchWriteRow,
		"/GetRange":            s.getRange,
		"/ListStream":          s.listStream,
		"/DescribeStream":      s.describeStream,
		"/GetShardIterator":    s.getShardIterator,
		"/GetStreamRecord":     s.getStreamRecord,
	}
	for uri, op := range s.deliveryOps() {
		s.ops[uri] = op
	}
	return s, nil
}

// Storage returns the data store (for the Tunnel service and the executor).
func (s *Server) Storage() *storage.Store { return s.store }

// Verifier returns the request verifier (signature, MD5, instance).
func (s *Server) Verifier() *Verifier { return s.verifier }

// Instance returns the served instance name.
func (s *Server) Instance() string { return s.cfg.Instance }

// Close releases the server's resources. It does not close the kv store,
// which the caller owns.
func (s *Server) Close() error { return nil }

// Error is a protocol error: HTTP status, OTS error code and message.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func errParam(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "OTSParameterInvalid", Message: fmt.Sprintf(format, args...)}
}

func errAuth(msg string) *Error {
	return &Error{Status: http.StatusForbidden, Code: "OTSAuthFailed", Message: msg}
}

// WriteError writes a protocol error response (protobuf Error body) with the
// request id header.
func WriteError(w http.ResponseWriter, requestID string, e *Error) {
	body, _ := marshal(&otsprotocol.Error{Code: proto.String(e.Code), Message: proto.String(e.Message)})
	w.Header().Set(hdrRequestID, requestID)
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(e.Status)
	_, _ = w.Write(body)
}

// WriteMessage writes a successful protobuf response with the request id.
func WriteMessage(w http.ResponseWriter, requestID string, m protoadapt.MessageV1) error {
	var body []byte
	if m != nil {
		var err error
		if body, err = marshal(m); err != nil {
			return fmt.Errorf("tablestore: marshal response: %w", err)
		}
	}
	sum := md5.Sum(body)
	w.Header().Set(hdrRequestID, requestID)
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Header().Set(hdrContentMD5, base64.StdEncoding.EncodeToString(sum[:]))
	w.Header().Set(hdrDate, time.Now().UTC().Format("2006-01-02T15:04:05.000Z"))
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(body)
	return err
}

// NewRequestID returns a fresh request id.
func (s *Server) NewRequestID() string {
	return fmt.Sprintf("%s-%012x", s.reqBase, s.reqSeq.Add(1))
}

// RequestIDHeader is the response header carrying the request id.
const RequestIDHeader = hdrRequestID

// request is one decoded call.
type request struct {
	ctx      context.Context
	body     []byte
	id       string
	op       string
	started  time.Time
	instance string
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := s.NewRequestID()
	req := &request{ctx: r.Context(), id: id, op: r.URL.Path, started: time.Now(), instance: s.cfg.Instance}
	if r.Method == http.MethodGet && r.URL.Path == "/healthz" {
		// Readiness probe for the process that embeds the endpoint (not
		// part of the Tablestore protocol).
		w.Header().Set(hdrRequestID, id)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
		return
	}
	if strings.HasPrefix(r.URL.Path, AdminTablesPath) {
		w.Header().Set(hdrRequestID, id)
		s.serveAdmin(w, r)
		return
	}
	if r.Method != http.MethodPost {
		s.fail(w, req, &Error{Status: http.StatusMethodNotAllowed, Code: "OTSMethodNotAllowed", Message: "Only POST is allowed, got " + r.Method + "."})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		s.fail(w, req, errParam("Cannot read the request body: %v.", err))
		return
	}
	if len(body) > MaxBodyBytes {
		s.fail(w, req, &Error{Status: http.StatusRequestEntityTooLarge, Code: "OTSRequestBodyTooLarge", Message: fmt.Sprintf("The request body exceeds %d bytes.", MaxBodyBytes)})
		return
	}
	req.body = body
	if e := s.verifier.Verify(r, body); e != nil {
		s.fail(w, req, e)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/tunnel/") {
		if s.cfg.Tunnel == nil {
			s.fail(w, req, errParam("Unsupported operation: %s.", r.URL.Path))
			return
		}
		r2 := r.Clone(r.Context())
		r2.Body = io.NopCloser(bytes.NewReader(body))
		r2.ContentLength = int64(len(body))
		w.Header().Set(hdrRequestID, id)
		s.cfg.Tunnel.ServeHTTP(w, r2)
		return
	}
	op := s.ops[r.URL.Path]
	if op == nil {
		s.fail(w, req, errParam("Unsupported operation: %s.", strings.TrimPrefix(r.URL.Path, "/")))
		return
	}
	resp, e := s.safeCall(op, req)
	if e != nil {
		s.fail(w, req, e)
		return
	}
	if err := WriteMessage(w, id, resp); err != nil {
		s.log.Error("write response", "op", req.op, "request_id", id, "err", err)
		return
	}
	s.log.Debug("request", "op", req.op, "request_id", id, "duration", time.Since(req.started))
}

// safeCall runs an operation and turns a panic (a bug) into an internal
// error instead of a dropped connection.
func (s *Server) safeCall(op func(*request) (protoadapt.MessageV1, *Error), req *request) (resp protoadapt.MessageV1, e *Error) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("panic in operation", "op", req.op, "request_id", req.id, "panic", p)
			resp, e = nil, &Error{Status: http.StatusInternalServerError, Code: "OTSInternalServerError", Message: "Internal server error."}
		}
	}()
	return op(req)
}

func (s *Server) fail(w http.ResponseWriter, req *request, e *Error) {
	level := slog.LevelDebug
	if e.Status >= 500 {
		level = slog.LevelError
	}
	s.log.Log(context.Background(), level, "request failed", "op", req.op, "request_id", req.id, "code", e.Code, "message", e.Message)
	WriteError(w, req.id, e)
}

// marshal and unmarshal bridge the SDK's generated (APIv1) messages to the
// current protobuf runtime. Required fields are checked both ways.
func marshal(m protoadapt.MessageV1) ([]byte, error) { return proto.Marshal(protoadapt.MessageV2Of(m)) }

func unmarshal(b []byte, m protoadapt.MessageV1) error {
	return proto.Unmarshal(b, protoadapt.MessageV2Of(m))
}

// decode unmarshals the request body into m.
func decode(req *request, m protoadapt.MessageV1) *Error {
	if err := unmarshal(req.body, m); err != nil {
		return errParam("Failed to parse the request body as %s: %v.", strings.TrimPrefix(req.op, "/")+"Request", err)
	}
	return nil
}

// storageError maps storage errors to protocol errors.
func storageError(err error) *Error {
	msg := err.Error()
	switch {
	case errors.Is(err, storage.ErrTableNotFound):
		return &Error{Status: http.StatusNotFound, Code: "OTSObjectNotExist", Message: "Requested table does not exist."}
	case errors.Is(err, storage.ErrTableExists):
		return &Error{Status: http.StatusConflict, Code: "OTSObjectAlreadyExist", Message: "Requested table already exists."}
	case errors.Is(err, storage.ErrInvalidPK):
		// "Validate PK size fail. Input: 1, Meta: 2." and "Validate PK name
		// fail. Input: PK2, Meta: PK1." are the real messages
		// (aliyun-tablestore-python-sdk tests/row_op_test.py:190-223); the
		// storage writes them after its sentinel.
		if _, real, ok := strings.Cut(msg, storage.ErrInvalidPK.Error()+": Validate PK"); ok {
			return &Error{Status: http.StatusBadRequest, Code: "OTSInvalidPK", Message: "Validate PK" + real}
		}
		return &Error{Status: http.StatusBadRequest, Code: "OTSInvalidPK", Message: "Primary key schema mismatch: " + msg + "."}
	case errors.Is(err, storage.ErrConditionFailed):
		// Always exactly this message, whatever failed (the Python SDK's
		// tests against the real service compare it:
		// tests/filter_and_condition_update_unitttest.py, row_op_test.py:614).
		return &Error{Status: http.StatusForbidden, Code: "OTSConditionCheckFail", Message: "Condition check failed."}
	case errors.Is(err, storage.ErrInvalidArgument), errors.Is(err, storage.ErrIncrementNotInt64),
		errors.Is(err, storage.ErrColumnExists), errors.Is(err, storage.ErrColumnNotFound):
		return errParam("%s.", msg)
	}
	return &Error{Status: http.StatusInternalServerError, Code: "OTSInternalServerError", Message: "Internal server error: " + msg}
}
