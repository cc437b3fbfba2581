package main

import (
	"context"
	"crypto/subtle"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/api"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/catalog"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/kv"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/pipeline"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/state"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/ui"
)

type serveConfig struct {
	localCloudConfig
	embedded  bool
	listen    string
	token     string
	secretKey string
	logLevel  string
}

func runServe(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var cfg serveConfig
	cfg.register(fs)
	fs.BoolVar(&cfg.embedded, "embedded", false, "also run the local cloud (Tablestore + OSS) in this process and deliver from/to it")
	configFile := fs.String("config", "", "configuration file for real Tablestore/OSS endpoints (not available yet)")
	fs.StringVar(&cfg.listen, "listen", "127.0.0.1:8470", "address of the executor API (port 0 picks a free port)")
	fs.StringVar(&cfg.token, "token", envOr(envAPIToken, devAPIToken), "bearer token of the executor API (env "+envAPIToken+")")
	fs.StringVar(&cfg.secretKey, "secret-key", envOr(envSecretKey, ""), "passphrase that encrypts role secrets at rest (env "+envSecretKey+"); default: a random key kept in the data dir")
	fs.StringVar(&cfg.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	if ok, code := parseFlags(fs, args, stderr); !ok {
		return code
	}
	log, err := newLogger(stderr, cfg.logLevel)
	if err == nil {
		err = cfg.validate(*configFile)
	}
	if err != nil {
		fmt.Fprintln(stderr, "delivery-executor serve:", err)
		return 2
	}
	if err := serveEmbedded(cfg, log, stdout); err != nil {
		fmt.Fprintln(stderr, "delivery-executor serve:", err)
		return 1
	}
	return 0
}

func (c *serveConfig) validate(configFile string) error {
	if configFile != "" {
		return errors.New("--config: running against real Alibaba Cloud endpoints is not implemented yet; use --embedded")
	}
	if !c.embedded {
		return errors.New("--embedded: required (the executor currently runs only against its embedded local cloud)")
	}
	if c.token == "" {
		return errors.New("--token: must not be empty")
	}
	if err := checkListenAddr("--listen", c.listen, subtle.ConstantTimeCompare([]byte(c.token), []byte(devAPIToken)) == 1,
		"the development API token; set "+envAPIToken); err != nil {
		return err
	}
	return c.localCloudConfig.validate()
}

// serveEmbedded runs the local cloud and the executor (API, registry,
// pipelines) in one process over one kv store.
func serveEmbedded(cfg serveConfig, log *slog.Logger, stdout io.Writer) (err error) {
	store, err := kv.Open(cfg.dataDir)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, store.Close()) }()

	lc, err := startLocalCloud(cfg.localCloudConfig, store, log)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, lc.Close()) }()
	apiListener, err := listen("api", cfg.listen)
	if err != nil {
		return err
	}
	// The executor reaches the local cloud over HTTP like any client: serve it first.
	cloud := startServing(log, lc.endpoints()...)
	defer cloud.shutdown() // runs after the pipelines have drained (defers run last-in first-out)

	secretKey, err := loadSecretKey(cfg)
	if err != nil {
		return err
	}
	registry, err := state.NewBolt(store, secretKey)
	if err != nil {
		return fmt.Errorf("open registry: %w", err)
	}
	metrics := prometheus.NewRegistry()
	metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	tables, err := catalog.NewTablestore(catalog.Config{
		Endpoint:        lc.tablestoreURL(),
		Instance:        cfg.instance,
		AccessKeyID:     cfg.accessKeyID,
		AccessKeySecret: cfg.accessKeySecret,
	})
	if err != nil {
		return fmt.Errorf("connect catalog: %w", err)
	}
	pipelines, err := pipeline.New(pipeline.Config{
		Registry:           registry,
		TablestoreEndpoint: lc.tablestoreURL(),
		Instance:           cfg.instance,
		AccessKeyID:        cfg.accessKeyID,
		AccessKeySecret:    cfg.accessKeySecret,
		OSSEndpoints:       map[string]string{cfg.region: lc.ossURL()},
		Logger:             log.With("component", "pipeline"),
		Metrics:            metrics,
	})
	if err != nil {
		return fmt.Errorf("start pipelines: %w", err)
	}
	defer func() { err = errors.Join(err, pipelines.Close()) }()
	apiServer, err := api.New(api.Config{
		Token:    cfg.token,
		Registry: registry,
		Catalog:  tables,
		Runner:   pipelines,
		Region:   cfg.region,
		Logger:   log.With("component", "api"),
		Metrics:  metrics,
	})
	if err != nil {
		return fmt.Errorf("start api: %w", err)
	}
	defer func() { err = errors.Join(err, apiServer.Close()) }()
	statusPage, err := newStatusPage(registry, lc.tablestoreURL(), cfg.instance, cfg.accessKeyID, cfg.accessKeySecret,
		map[string]string{cfg.region: lc.ossURL()}, log.With("component", "ui"))
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, statusPage.Close()) }()
	// /ui is the read-only status page (no token: it shows no secrets); every
	// other path is the API.
	executorAPI := startServing(log, endpoint{name: "api", listener: apiListener, handler: ui.Mount(statusPage, apiServer)})
	defer executorAPI.shutdown()

	logCredentials(log, cfg.localCloudConfig, cfg.token)
	return waitForStop(context.Background(), log, stdout, []*serving{executorAPI, cloud},
		"instance="+cfg.instance, "region="+cfg.region)
}

// loadSecretKey returns the key that seals role secrets: derived from the
// configured passphrase, or a random key kept in the data dir.
func loadSecretKey(cfg serveConfig) ([]byte, error) {
	if cfg.secretKey != "" {
		return state.KeyFromPassphrase(cfg.secretKey), nil
	}
	key, err := state.LoadOrCreateKeyFile(filepath.Join(cfg.dataDir, "secret.key"))
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return key, nil
}
