package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/fault"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/kv"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/oss"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/tunnel"
)

// localCloud is the running Tablestore (with Tunnel) and OSS endpoints.
type localCloud struct {
	tablestoreListener net.Listener
	ossListener        net.Listener
	tablestore         *tablestore.Server
	tunnel             *tunnel.Service
	oss                *oss.Server
	// faults wraps both endpoints (no faults unless --fault-* flags or
	// PUT /_admin/faults ask for them).
	faults *fault.Injector
}

// startLocalCloud listens on the local cloud's addresses and builds its
// servers over the shared kv store. Nothing is served until the caller passes
// endpoints() to serveEndpoints.
func startLocalCloud(cfg localCloudConfig, store *kv.Store, log *slog.Logger) (lc *localCloud, err error) {
	lc = &localCloud{}
	defer func() {
		if err != nil {
			_ = lc.Close()
		}
	}()
	if lc.tablestoreListener, err = listen("tablestore", cfg.tablestoreListen); err != nil {
		return nil, err
	}
	if lc.ossListener, err = listen("oss", cfg.ossListen); err != nil {
		return nil, err
	}
	credentials := map[string]string{cfg.accessKeyID: cfg.accessKeySecret}
	if lc.faults, err = cfg.faults.Injector(fault.Options{Logger: log.With("component", "fault")}); err != nil {
		return nil, err
	}

	// The tunnel service reads the Tablestore server's storage, and the server
	// hands it the /tunnel/ requests it has authenticated: bind it late.
	tunnelHandler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { lc.tunnel.ServeHTTP(w, r) })
	lc.tablestore, err = tablestore.New(tablestore.Config{
		Instance:    cfg.instance,
		Region:      cfg.region,
		Credentials: credentials,
		Shards:      cfg.shards,
		Store:       store,
		Logger:      log.With("component", "tablestore"),
		Tunnel:      tunnelHandler,
	})
	if err != nil {
		return nil, fmt.Errorf("start local tablestore: %w", err)
	}
	lc.tunnel, err = tunnel.New(tunnel.Config{
		Source:   tunnel.NewStorageSource(lc.tablestore.Storage()),
		Store:    store,
		Instance: cfg.instance,
		Logger:   log.With("component", "tunnel"),
	})
	if err != nil {
		return nil, fmt.Errorf("start local tunnel service: %w", err)
	}
	lc.oss, err = oss.New(oss.Config{
		Region:      cfg.region,
		Credentials: credentials,
		DataDir:     cfg.dataDir,
		Store:       store,
		Logger:      log.With("component", "oss"),
	})
	if err != nil {
		return nil, fmt.Errorf("start local oss: %w", err)
	}
	return lc, nil
}

func (lc *localCloud) tablestoreURL() string { return baseURL(lc.tablestoreListener) }
func (lc *localCloud) ossURL() string        { return baseURL(lc.ossListener) }

func (lc *localCloud) endpoints() []endpoint {
	return []endpoint{
		{name: "tablestore", listener: lc.tablestoreListener, handler: withHealth(lc.faults.TablestoreHandler(lc.tablestore))},
		{name: "oss", listener: lc.ossListener, handler: withHealth(lc.faults.OSSHandler(lc.oss))},
	}
}

// Close stops the servers; the listeners are closed by the HTTP servers, or
// here when start-up failed before serving.
func (lc *localCloud) Close() error {
	var errs []error
	if lc.tunnel != nil {
		errs = append(errs, lc.tunnel.Close())
	}
	if lc.tablestore != nil {
		errs = append(errs, lc.tablestore.Close())
	}
	if lc.oss != nil {
		errs = append(errs, lc.oss.Close())
	}
	for _, l := range []net.Listener{lc.tablestoreListener, lc.ossListener} {
		if l != nil {
			if err := l.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func runLocal(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("local", flag.ContinueOnError)
	var cfg localCloudConfig
	cfg.register(fs)
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	var profiles pprofListen
	profiles.register(fs)
	if ok, code := parseFlags(fs, args, stderr); !ok {
		return code
	}
	log, err := newLogger(stderr, *logLevel)
	if err == nil {
		err = cfg.validate()
	}
	if err == nil {
		_, err = profiles.start(log)
	}
	if err != nil {
		fmt.Fprintln(stderr, "delivery-executor local:", err)
		return 2
	}
	if err := serveLocal(cfg, log, stdout); err != nil {
		fmt.Fprintln(stderr, "delivery-executor local:", err)
		return 1
	}
	return 0
}

func serveLocal(cfg localCloudConfig, log *slog.Logger, stdout io.Writer) (err error) {
	store, err := kv.Open(cfg.dataDir)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, store.Close()) }()
	lc, err := startLocalCloud(cfg, store, log)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, lc.Close()) }()
	logCredentials(log, cfg, "")
	cloud := startServing(log, lc.endpoints()...)
	defer cloud.shutdown()
	return waitForStop(context.Background(), log, stdout, []*serving{cloud},
		"instance="+cfg.instance, "region="+cfg.region)
}

// logCredentials prints the development credentials, and only those: a
// configured secret is never logged.
func logCredentials(log *slog.Logger, cfg localCloudConfig, apiToken string) {
	if cfg.accessKeyID == devAccessKeyID && cfg.accessKeySecret == devAccessKeySecret {
		log.Info("development credentials (loopback only)", "access_key_id", devAccessKeyID, "access_key_secret", devAccessKeySecret)
	} else {
		log.Info("local cloud credentials from configuration", "access_key_id", cfg.accessKeyID)
	}
	if apiToken == devAPIToken {
		log.Info("development API token (loopback only)", "token", devAPIToken)
	}
}
