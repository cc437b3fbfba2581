package tunnel

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel/protocol"
	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/kv"
)

// Defaults of Config.
const (
	DefaultMaxRecordsPerRead = 1000
	DefaultMaxBytesPerRead   = 4 << 20
	DefaultShutdownGrace     = 500 * time.Millisecond
	defaultClientTimeout     = 300 * time.Second
	maxRequestBody           = 8 << 20
)

// bucketTunnels is the kv bucket holding one JSON document per tunnel.
const bucketTunnels = "tunnel/tunnels"

// Config configures the tunnel service.
type Config struct {
	// Source gives access to tables, change logs and snapshots (required).
	Source Source
	// Store persists tunnels, channels, clients and checkpoints (required).
	Store *kv.Store
	// Instance is used when a request carries no x-ots-instancename header.
	Instance string
	Logger   *slog.Logger
	// ClientTimeout, when positive, replaces the heartbeat timeout clients
	// announce in /tunnel/connect (tests use it to expire workers quickly).
	ClientTimeout time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// MaxRecordsPerRead and MaxBytesPerRead bound one ReadRecords answer.
	MaxRecordsPerRead int
	MaxBytesPerRead   int
	// ExpiryInterval is how often clients are checked for missed heartbeats
	// (1 s when zero).
	ExpiryInterval time.Duration
	// ShutdownGrace is how long channels released by /tunnel/shutdown wait
	// for the client's final checkpoints before another client gets them
	// (DefaultShutdownGrace when zero, none when negative).
	ShutdownGrace time.Duration
}

// Service is the Tablestore Tunnel service: an http.Handler for the
// /tunnel/<op> paths of the Tablestore endpoint. Requests must already be
// authenticated.
type Service struct {
	cfg Config
	log *slog.Logger
	now func() time.Time

	mu      sync.Mutex
	tunnels map[string]*tunnelState // by tunnel id

	stop chan struct{}
	done chan struct{}
}

// New opens the service, loading the persisted tunnels from the store.
func New(cfg Config) (*Service, error) {
	if cfg.Source == nil {
		return nil, errors.New("tunnel: Config.Source is required")
	}
	if cfg.Store == nil {
		return nil, errors.New("tunnel: Config.Store is required")
	}
	if cfg.MaxRecordsPerRead <= 0 {
		cfg.MaxRecordsPerRead = DefaultMaxRecordsPerRead
	}
	if cfg.MaxBytesPerRead <= 0 {
		cfg.MaxBytesPerRead = DefaultMaxBytesPerRead
	}
	if cfg.ExpiryInterval <= 0 {
		cfg.ExpiryInterval = time.Second
	}
	if cfg.ShutdownGrace == 0 {
		cfg.ShutdownGrace = DefaultShutdownGrace
	}
	s := &Service{
		cfg:     cfg,
		log:     cfg.Logger,
		now:     cfg.Now,
		tunnels: make(map[string]*tunnelState),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if err := s.load(); err != nil {
		return nil, err
	}
	go s.expiryLoop()
	return s, nil
}

// Close stops the background work. The store is not closed (the caller owns it).
func (s *Service) Close() error {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
	return nil
}

func (s *Service) load() error {
	return s.cfg.Store.View(func(tx *bolt.Tx) error {
		b, err := kv.Bucket(tx, bucketTunnels)
		if err != nil || b == nil {
			return err
		}
		return b.ForEach(func(k, v []byte) error {
			var t tunnelState
			if err := json.Unmarshal(v, &t); err != nil {
				return fmt.Errorf("tunnel: load tunnel %s: %w", k, err)
			}
			// Clients do not survive a restart: their channels are free at
			// once (a worker that outlived the server gets 410 and its daemon
			// reconnects), instead of being held for the clients' heartbeat
			// timeout (300 s by default), which would stall an executor
			// restarted together with its local cloud.
			t.Clients = make(map[string]*clientState)
			for _, ch := range t.Channels {
				if ch.Owner != "" {
					ch.release()
				}
			}
			s.adoptLegacyChannels(&t)
			s.tunnels[t.ID] = &t
			return nil
		})
	})
}

// adoptLegacyChannels maps the channels of a tunnel persisted before
// partitions existed (they name a shard number) to the shards' initial
// partitions, listed first and in shard order. Their ids stay as they were.
func (s *Service) adoptLegacyChannels(t *tunnelState) {
	var parts []Partition
	for _, ch := range t.Channels {
		if ch.Partition != "" {
			continue
		}
		if parts == nil {
			var err error
			if parts, err = s.cfg.Source.Partitions(t.Instance, t.Table); err != nil {
				s.log.Warn("map legacy tunnel channels", "tunnel", t.ID, "err", err)
				return
			}
		}
		if ch.LegacyShard < len(parts) && parts[ch.LegacyShard].Parent == "" {
			ch.Partition = parts[ch.LegacyShard].ID
		}
	}
}

// persist writes a tunnel's state; callers hold s.mu.
func (s *Service) persist(t *tunnelState) error {
	doc, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("tunnel: encode state of %s: %w", t.ID, err)
	}
	err = s.cfg.Store.Update(func(tx *bolt.Tx) error {
		b, err := kv.Bucket(tx, bucketTunnels)
		if err != nil {
			return err
		}
		return b.Put([]byte(t.ID), doc)
	})
	if err != nil {
		return fmt.Errorf("tunnel: persist %s: %w", t.ID, err)
	}
	return nil
}

func (s *Service) unpersist(id string) error {
	return s.cfg.Store.Update(func(tx *bolt.Tx) error {
		b, err := kv.Bucket(tx, bucketTunnels)
		if err != nil {
			return err
		}
		return b.Delete([]byte(id))
	})
}

func (s *Service) expiryLoop() {
	defer close(s.done)
	tick := time.NewTicker(s.cfg.ExpiryInterval)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
			s.mu.Lock()
			for _, t := range s.tunnels {
				if s.expireClients(t) {
					if err := s.persist(t); err != nil {
						s.log.Error("persist after client expiry", "tunnel", t.ID, "err", err)
					}
				}
			}
			s.mu.Unlock()
		}
	}
}

// ---- HTTP ----

// apiError is a protocol error answer.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func errParam(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "OTSParameterInvalid", fmt.Sprintf(format, args...)}
}

func errGone(clientID string) *apiError {
	return &apiError{http.StatusGone, "OTSResourceGone", fmt.Sprintf("client %q is unknown or expired", clientID)}
}

// errTrimmed is the real service's answer to a read whose next stream data
// is past retention: HTTP 400, code OTSTunnelServerUnavailable, the message
// starting with OTSTrimmedDataAccess (see the ledger in doc.go).
func errTrimmed() *apiError {
	return &apiError{http.StatusBadRequest, "OTSTunnelServerUnavailable", "OTSTrimmedDataAccess Requested stream data is already trimmed or does not exist."}
}

func errUnavailable(err error) *apiError {
	return &apiError{http.StatusServiceUnavailable, "OTSTunnelServerUnavailable", err.Error()}
}

// ServeHTTP answers POST /tunnel/<op>.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if w.Header().Get("x-ots-requestid") == "" {
		w.Header().Set("x-ots-requestid", newID())
	}
	op, ok := strings.CutPrefix(r.URL.Path, "/tunnel/")
	if !ok || r.Method != http.MethodPost {
		writeError(w, "", errParam("unsupported request %s %s", r.Method, r.URL.Path))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
	if err != nil {
		writeError(w, "", errParam("read body: %v", err))
		return
	}
	if len(body) > maxRequestBody {
		writeError(w, "", errParam("request body too large"))
		return
	}
	instance := r.Header.Get("x-ots-instancename")
	if instance == "" {
		instance = s.cfg.Instance
	}
	resp, tunnelID, aerr := s.dispatch(op, instance, body)
	if aerr != nil {
		if aerr.status >= 500 {
			s.log.Warn("tunnel request failed", "op", op, "tunnel", tunnelID, "code", aerr.code, "err", aerr.message)
		} else {
			s.log.Debug("tunnel request rejected", "op", op, "tunnel", tunnelID, "code", aerr.code, "err", aerr.message)
		}
		writeError(w, tunnelID, aerr)
		return
	}
	out, err := marshalAnswer(resp)
	if err != nil {
		writeError(w, tunnelID, &apiError{http.StatusInternalServerError, "OTSInternalServerError", err.Error()})
		return
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

func writeError(w http.ResponseWriter, tunnelID string, e *apiError) {
	pe := &protocol.Error{Code: proto.String(e.code), Message: proto.String(e.message)}
	if tunnelID != "" {
		pe.TunnelId = proto.String(tunnelID)
	}
	out, _ := proto.Marshal(protoadapt.MessageV2Of(pe))
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(e.status)
	_, _ = w.Write(out)
}

func decode(body []byte, m protoadapt.MessageV1) *apiError {
	if err := proto.Unmarshal(body, protoadapt.MessageV2Of(m)); err != nil {
		return errParam("malformed request: %v", err)
	}
	return nil
}

func (s *Service) dispatch(op, instance string, body []byte) (protoadapt.MessageV1, string, *apiError) {
	switch op {
	case "create":
		var req protocol.CreateTunnelRequest
		if e := decode(body, &req); e != nil {
			return nil, "", e
		}
		resp, e := s.create(instance, &req)
		return resp, "", e
	case "delete":
		var req protocol.DeleteTunnelRequest
		if e := decode(body, &req); e != nil {
			return nil, "", e
		}
		resp, e := s.deleteTunnel(instance, &req)
		return resp, req.GetTunnelId(), e
	case "list":
		var req protocol.ListTunnelRequest
		if e := decode(body, &req); e != nil {
			return nil, "", e
		}
		return s.list(instance, &req), "", nil
	case "describe":
		var req protocol.DescribeTunnelRequest
		if e := decode(body, &req); e != nil {
			return nil, "", e
		}
		resp, e := s.describe(instance, &req)
		return resp, req.GetTunnelId(), e
	case "connect":
		var req protocol.ConnectRequest
		if e := decode(body, &req); e != nil {
			return nil, "", e
		}
		resp, e := s.connect(instance, &req)
		return resp, req.GetTunnelId(), e
	case "heartbeat":
		var req protocol.HeartbeatRequest
		if e := decode(body, &req); e != nil {
			return nil, "", e
		}
		resp, e := s.heartbeat(instance, &req)
		return resp, req.GetTunnelId(), e
	case "shutdown":
		var req protocol.ShutdownRequest
		if e := decode(body, &req); e != nil {
			return nil, "", e
		}
		resp, e := s.shutdown(instance, &req)
		return resp, req.GetTunnelId(), e
	case "getcheckpoint":
		var req protocol.GetCheckpointRequest
		if e := decode(body, &req); e != nil {
			return nil, "", e
		}
		resp, e := s.getCheckpoint(instance, &req)
		return resp, req.GetTunnelId(), e
	case "checkpoint":
		var req protocol.CheckpointRequest
		if e := decode(body, &req); e != nil {
			return nil, "", e
		}
		resp, e := s.checkpoint(instance, &req)
		return resp, req.GetTunnelId(), e
	case "readrecords":
		var req protocol.ReadRecordsRequest
		if e := decode(body, &req); e != nil {
			return nil, "", e
		}
		resp, e := s.readRecords(instance, &req)
		return resp, req.GetTunnelId(), e
	case "schedule":
		var req protocol.ScheduleRequest
		if e := decode(body, &req); e != nil {
			return nil, "", e
		}
		resp, e := s.schedule(instance, &req)
		return resp, req.GetTunnelId(), e
	case "getrpo", "getrpobyoffset":
		var req protocol.GetRpoRequest
		if e := decode(body, &req); e != nil {
			return nil, "", e
		}
		resp, e := s.getRpo(instance, &req, op == "getrpobyoffset")
		return resp, req.GetTunnelId(), e
	case "switch":
		// Cross-cluster switching does not exist locally; accept it as a no-op.
		var req protocol.SwitchTunnelRequest
		if e := decode(body, &req); e != nil {
			return nil, "", e
		}
		return &protocol.SwitchTunnelResponse{}, "", nil
	}
	return nil, "", errParam("unknown tunnel operation %q", op)
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// tunnelFor returns a tunnel of the instance by id; callers hold s.mu.
func (s *Service) tunnelFor(instance, id string) (*tunnelState, *apiError) {
	t, ok := s.tunnels[id]
	if !ok || t.Instance != instance {
		return nil, errParam("tunnel %q does not exist", id)
	}
	return t, nil
}

// liveClient returns a connected client, answering 410 for unknown or expired
// ones; callers hold s.mu.
func (s *Service) liveClient(t *tunnelState, clientID string) (*clientState, *apiError) {
	c, ok := t.Clients[clientID]
	if !ok {
		return nil, errGone(clientID)
	}
	if s.clientExpired(c, s.now()) {
		return nil, errGone(clientID)
	}
	return c, nil
}

func (s *Service) clientTimeout(c *clientState) time.Duration {
	if s.cfg.ClientTimeout > 0 {
		return s.cfg.ClientTimeout
	}
	if c.TimeoutSec > 0 {
		return time.Duration(c.TimeoutSec) * time.Second
	}
	return defaultClientTimeout
}

func (s *Service) clientExpired(c *clientState, now time.Time) bool {
	return now.Sub(c.lastHeartbeat) > s.clientTimeout(c)
}

// expireClients drops clients that missed their heartbeat timeout and frees
// their channels; it reports whether anything changed. Callers hold s.mu.
func (s *Service) expireClients(t *tunnelState) bool {
	now := s.now()
	changed := false
	for id, c := range t.Clients {
		if s.clientExpired(c, now) {
			s.log.Info("tunnel client expired", "tunnel", t.ID, "client", id)
			s.dropClient(t, id)
			changed = true
		}
	}
	return changed
}

func (s *Service) dropClient(t *tunnelState, clientID string) {
	delete(t.Clients, clientID)
	for _, ch := range t.Channels {
		if ch.Owner == clientID {
			ch.release()
		}
	}
}
