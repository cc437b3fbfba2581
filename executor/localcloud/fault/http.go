package fault

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/internal/adminhttp"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel/protocol"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore"
)

// AdminPath is where the rules are read and changed on a wrapped endpoint.
const AdminPath = "/_admin/faults"

// maxAdminBody bounds a PUT /_admin/faults body; a rule set is a few hundred
// bytes.
const maxAdminBody = 64 << 10

// OSSHandler wraps the OSS endpoint: every request is an OSS call.
func (in *Injector) OSSHandler(next http.Handler) http.Handler {
	return in.wrap(next, func(*http.Request) Target { return OSS })
}

// TablestoreHandler wraps the Tablestore endpoint: requests under /tunnel/
// are Tunnel calls, the others Tablestore calls.
func (in *Injector) TablestoreHandler(next http.Handler) http.Handler {
	return in.wrap(next, func(r *http.Request) Target {
		if strings.HasPrefix(r.URL.Path, "/tunnel/") {
			return Tunnel
		}
		return Tablestore
	})
}

func (in *Injector) wrap(next http.Handler, classify func(*http.Request) Target) http.Handler {
	admin := in.AdminHandler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == AdminPath:
			admin.ServeHTTP(w, r)
			return
		case r.URL.Path == "/healthz" && r.Method == http.MethodGet:
			next.ServeHTTP(w, r)
			return
		}
		target := classify(r)
		kind, delay := in.decide(target)
		if delay > 0 {
			timer := time.NewTimer(delay)
			select {
			case <-timer.C:
			case <-r.Context().Done():
				timer.Stop()
				return
			}
		}
		switch kind {
		case KindError, KindThrottle:
			in.log.Debug("fault injected", "target", target, "kind", kind, "method", r.Method, "path", r.URL.Path)
			writeFault(w, r, target, kind)
		case KindReset:
			in.log.Debug("fault injected", "target", target, "kind", kind, "method", r.Method, "path", r.URL.Path)
			resetConnection(w)
		case KindLostResponse:
			in.log.Debug("fault injected", "target", target, "kind", kind, "method", r.Method, "path", r.URL.Path)
			next.ServeHTTP(&discardWriter{header: http.Header{}}, r)
			resetConnection(w)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// writeFault answers an error or throttling fault in the target's protocol.
func writeFault(w http.ResponseWriter, r *http.Request, target Target, kind Kind) {
	requestID := newRequestID()
	const injected = " (injected by the local cloud's fault injector)"
	switch target {
	case OSS:
		status, code, msg := http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again."
		if kind == KindThrottle {
			status, code, msg = http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate."
		}
		writeOSSError(w, r, requestID, status, code, msg+injected)
	case Tablestore:
		e := &tablestore.Error{Status: http.StatusInternalServerError, Code: "OTSInternalServerError", Message: "Internal server error." + injected}
		if kind == KindThrottle {
			e = &tablestore.Error{Status: http.StatusServiceUnavailable, Code: "OTSServerBusy", Message: "Server is busy." + injected}
		}
		tablestore.WriteError(w, requestID, e)
	case Tunnel:
		// The tunnel SDK retries OTSTunnelServerUnavailable by itself; other
		// codes fail the call and are recovered by the worker's daemon.
		code, msg := "OTSTunnelServerUnavailable", "Tunnel server is unavailable."
		if kind == KindThrottle {
			code, msg = "OTSServerBusy", "Server is busy."
		}
		body, _ := proto.Marshal(protoadapt.MessageV2Of(&protocol.Error{Code: proto.String(code), Message: proto.String(msg + injected)}))
		w.Header().Set(tablestore.RequestIDHeader, requestID)
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write(body)
	}
}

// writeOSSError writes the OSS error document; HEAD answers carry it
// base64-encoded in x-oss-err like the real service, since they have no body.
func writeOSSError(w http.ResponseWriter, r *http.Request, requestID string, status int, code, message string) {
	type errorDoc struct {
		XMLName   xml.Name `xml:"Error"`
		Code      string   `xml:"Code"`
		Message   string   `xml:"Message"`
		RequestID string   `xml:"RequestId"`
		HostID    string   `xml:"HostId"`
	}
	out, err := xml.Marshal(errorDoc{Code: code, Message: message, RequestID: requestID, HostID: r.Host})
	if err != nil {
		out = []byte("<Error><Code>InternalError</Code></Error>")
	}
	body := append([]byte(xml.Header), out...)
	h := w.Header()
	h.Set("x-oss-request-id", requestID)
	h.Set("Content-Type", "application/xml")
	if r.Method == http.MethodHead {
		h.Set("x-oss-err", base64.StdEncoding.EncodeToString(body))
		h.Set("Content-Length", "0")
		w.WriteHeader(status)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// resetConnection drops the client's connection with a TCP RST, as a crashed
// or overloaded server would. Without a hijackable connection (HTTP/2) the
// handler panics with http.ErrAbortHandler, which net/http answers by
// resetting the stream.
func resetConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0) // close with RST, not FIN
	}
	_ = conn.Close()
}

// discardWriter swallows the answer of a request whose response is "lost".
type discardWriter struct {
	header http.Header
}

func (d *discardWriter) Header() http.Header         { return d.header }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "FAULT" + strings.ToUpper(hex.EncodeToString(b[:]))
}

// AdminDocument is the body of GET and PUT /_admin/faults.
type AdminDocument struct {
	// Rules per target; on PUT, targets left out get no faults.
	Rules map[Target]Rule `json:"rules"`
	// Counts per target (GET only; ignored on PUT).
	Counts map[Target]Counts `json:"counts,omitempty"`
}

// DecodeAdminDocument parses and checks a PUT /_admin/faults body.
func DecodeAdminDocument(body []byte) (map[Target]Rule, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var doc AdminDocument
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("malformed fault rules: %w", err)
	}
	if dec.More() {
		return nil, errors.New("malformed fault rules: trailing data after the JSON document")
	}
	if doc.Rules == nil {
		doc.Rules = map[Target]Rule{}
	}
	for t, r := range doc.Rules {
		if !t.valid() {
			return nil, fmt.Errorf("unknown target %q (want one of %s)", t, targetNames())
		}
		if err := r.Validate(); err != nil {
			return nil, fmt.Errorf("%s: %w", t, err)
		}
	}
	return doc.Rules, nil
}

// AdminHandler serves the rules at AdminPath: GET returns rules and counts,
// PUT replaces the rules ({"rules": {"oss": {"error_rate": 0.05}}}), DELETE
// clears them. Clients not on a loopback address get 403: the rules let
// anyone who can reach the endpoint take it down.
func (in *Injector) AdminHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !adminhttp.FromLoopback(r) {
			adminhttp.Error(w, http.StatusForbidden, "the fault admin endpoint answers loopback clients only")
			return
		}
		switch r.Method {
		case http.MethodGet:
		case http.MethodPut:
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAdminBody))
			if err != nil {
				adminhttp.Error(w, http.StatusRequestEntityTooLarge, "fault rules: body too large or unreadable")
				return
			}
			rules, err := DecodeAdminDocument(body)
			if err == nil {
				err = in.Replace(rules)
			}
			if err != nil {
				adminhttp.Error(w, http.StatusBadRequest, err.Error())
				return
			}
		case http.MethodDelete:
			_ = in.Replace(nil)
		default:
			w.Header().Set("Allow", "GET, PUT, DELETE")
			adminhttp.Error(w, http.StatusMethodNotAllowed, "method not allowed: use GET, PUT or DELETE")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(AdminDocument{Rules: in.Rules(), Counts: in.Counts()})
	})
}
