// Package localcloud runs the local Alibaba Cloud: a Tablestore-compatible
// endpoint (tables, rows, the Tunnel service) and an OSS-compatible endpoint,
// both spoken to by Alibaba's unmodified SDKs over HTTP.
//
// Start is the one way to run it: the local cloud's own binary
// (executor/cmd/localcloud), `delivery-executor local`, `serve --embedded`,
// the bench and the tests all call it, in the manner of fake-gcs-server's
// NewServerWithOptions. How each endpoint follows the real service, with the
// evidence, is written down in the packages' docs: tablestore, its tunnel
// subpackage, and oss.
package localcloud

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/fault"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/kv"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/oss"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/tunnel"
)

// Config configures a local cloud. Every field but DataDir and Credentials
// has a usable default.
type Config struct {
	// DataDir holds everything: the kv store (unless Store is given) and the
	// OSS object bytes. Everything survives a restart over the same DataDir
	// (required).
	DataDir string
	// Store, when set, is the kv store to keep tables, tunnels and the OSS
	// index in; the caller owns it. Without it Start opens DataDir's store
	// and Close closes it.
	Store *kv.Store

	// TablestoreListen and OSSListen are the listen addresses (default
	// 127.0.0.1:0, a free port each).
	TablestoreListen string
	OSSListen        string

	Instance    string            // Tablestore instance name (default "local")
	Region      string            // region of the instance and of new buckets (default cn-hangzhou)
	Credentials map[string]string // access key id -> secret, for both endpoints (required)
	// Shards is the number of initial partitions of every new table (default 4).
	Shards int
	// StreamRetention is how long the change log (Stream and the tunnels'
	// incremental data) is kept (default 7 days, as in Tablestore); reading
	// older changes fails as the real service's OTSTrimmedDataAccess.
	StreamRetention time.Duration
	// SplitRows, when positive, splits a table partition automatically once
	// it holds more than this many rows; POST /_admin/tables/{table}/split
	// splits one on request either way.
	SplitRows int

	// Faults injects failures into both endpoints and serves /_admin/faults;
	// nil: an injector without rules (the admin route still answers).
	Faults *fault.Injector
	// TunnelClientTimeout, when positive, replaces the heartbeat timeout the
	// tunnel clients announce (tests expire silent workers quickly with it).
	TunnelClientTimeout time.Duration
	Logger              *slog.Logger // default: discard
}

// Cloud is a running local cloud.
type Cloud struct {
	// TablestoreURL and OSSURL are the endpoints' base URLs (http://host:port).
	TablestoreURL string
	OSSURL        string
	Instance      string
	Region        string

	Tablestore *tablestore.Server
	Tunnel     *tunnel.Service
	OSS        *oss.Server
	Faults     *fault.Injector

	store     *kv.Store
	ownsStore bool
	servers   []*http.Server
	errc      chan error
	closeOnce sync.Once
	closeErr  error
}

// Start builds both endpoints over one kv store and serves them; it returns
// once both accept connections. Close stops them.
func Start(ctx context.Context, cfg Config) (c *Cloud, err error) {
	if len(cfg.Credentials) == 0 {
		return nil, errors.New("localcloud: Config.Credentials is required")
	}
	if cfg.DataDir == "" {
		return nil, errors.New("localcloud: Config.DataDir is required")
	}
	cfg = withDefaults(cfg)
	c = &Cloud{Instance: cfg.Instance, Region: cfg.Region, Faults: cfg.Faults, errc: make(chan error, 2), store: cfg.Store}
	defer func() {
		if err != nil {
			_ = c.Close()
		}
	}()
	if c.store == nil {
		if c.store, err = kv.Open(cfg.DataDir); err != nil {
			return nil, fmt.Errorf("localcloud: open store: %w", err)
		}
		c.ownsStore = true
	}
	if err := c.build(cfg); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if c.TablestoreURL, err = c.serve(cfg.TablestoreListen, c.tablestoreHandler(cfg.Faults), cfg.Logger); err != nil {
		return nil, fmt.Errorf("localcloud: tablestore endpoint: %w", err)
	}
	if c.OSSURL, err = c.serve(cfg.OSSListen, cfg.Faults.OSSHandler(c.OSS), cfg.Logger); err != nil {
		return nil, fmt.Errorf("localcloud: oss endpoint: %w", err)
	}
	return c, nil
}

func withDefaults(cfg Config) Config {
	if cfg.TablestoreListen == "" {
		cfg.TablestoreListen = "127.0.0.1:0"
	}
	if cfg.OSSListen == "" {
		cfg.OSSListen = "127.0.0.1:0"
	}
	if cfg.Instance == "" {
		cfg.Instance = tablestore.DefaultInstance
	}
	if cfg.Region == "" {
		cfg.Region = tablestore.DefaultRegion
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Faults == nil {
		cfg.Faults = fault.New(fault.Options{Logger: cfg.Logger.With("component", "fault")})
	}
	return cfg
}

// build makes the three services. The tunnel service reads the Tablestore
// server's storage, and the server hands it the /tunnel/ requests it has
// authenticated, so the server's tunnel handler is bound once both exist.
func (c *Cloud) build(cfg Config) (err error) {
	log := cfg.Logger
	c.Tablestore, err = tablestore.New(tablestore.Config{
		Instance:        cfg.Instance,
		Region:          cfg.Region,
		Credentials:     cfg.Credentials,
		Shards:          cfg.Shards,
		ChangeRetention: cfg.StreamRetention,
		SplitRows:       cfg.SplitRows,
		Store:           c.store,
		Logger:          log.With("component", "tablestore"),
		Tunnel:          http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { c.Tunnel.ServeHTTP(w, r) }),
	})
	if err != nil {
		return fmt.Errorf("localcloud: tablestore: %w", err)
	}
	c.Tunnel, err = tunnel.New(tunnel.Config{
		Source:        tunnel.NewStorageSource(c.Tablestore.Storage()),
		Store:         c.store,
		Instance:      cfg.Instance,
		Logger:        log.With("component", "tunnel"),
		ClientTimeout: cfg.TunnelClientTimeout,
	})
	if err != nil {
		return fmt.Errorf("localcloud: tunnel service: %w", err)
	}
	c.OSS, err = oss.New(oss.Config{
		Region:      cfg.Region,
		Credentials: cfg.Credentials,
		DataDir:     cfg.DataDir,
		Store:       c.store,
		Logger:      log.With("component", "oss"),
	})
	if err != nil {
		return fmt.Errorf("localcloud: oss: %w", err)
	}
	return nil
}

// tablestoreHandler serves the Tablestore endpoint through the fault
// injector, except the table admin paths (partition splits), which a test
// drives and which must not meet injected faults.
func (c *Cloud) tablestoreHandler(faults *fault.Injector) http.Handler {
	faulty := faults.TablestoreHandler(c.Tablestore)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, tablestore.AdminTablesPath) {
			c.Tablestore.ServeHTTP(w, r)
			return
		}
		faulty.ServeHTTP(w, r)
	})
}

// serve listens on addr and serves h (plus GET /healthz) in the background.
func (c *Cloud) serve(addr string, h http.Handler, log *slog.Logger) (string, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{
		Handler:           WithHealth(h),
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	c.servers = append(c.servers, srv)
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			c.errc <- fmt.Errorf("serve %s: %w", l.Addr(), err)
		}
	}()
	return "http://" + l.Addr().String(), nil
}

// Err delivers an error when an endpoint stops serving by itself.
func (c *Cloud) Err() <-chan error { return c.errc }

// Close stops serving (waiting up to 20 s for requests in flight), then
// closes the services and, when Start opened it, the store.
func (c *Cloud) Close() error {
	c.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		var errs []error
		for _, srv := range c.servers {
			if err := srv.Shutdown(ctx); err != nil {
				errs = append(errs, err)
			}
		}
		if c.Tunnel != nil {
			errs = append(errs, c.Tunnel.Close())
		}
		if c.Tablestore != nil {
			errs = append(errs, c.Tablestore.Close())
		}
		if c.OSS != nil {
			errs = append(errs, c.OSS.Close())
		}
		if c.ownsStore && c.store != nil {
			errs = append(errs, c.store.Close())
		}
		c.closeErr = errors.Join(errs...)
	})
	return c.closeErr
}

// WithHealth adds GET /healthz to a handler that does not have it.
func WithHealth(h http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.Handle("/", h)
	return mux
}
