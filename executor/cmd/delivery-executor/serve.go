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

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/deliveryapi"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/kv"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/state"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/ui"
)

type serveConfig struct {
	localCloudConfig
	embedded   bool
	configFile string
	listen     string
	token      string
	secretKey  string
	logLevel   string
	tls        apiTLS // --tls-cert, --tls-key
	memLimit   memoryLimit
	pprof      pprofListen
}

func runServe(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var cfg serveConfig
	cfg.Register(fs)
	fs.BoolVar(&cfg.embedded, "embedded", false, "also run the local cloud (Tablestore + OSS) in this process and deliver from/to it")
	fs.StringVar(&cfg.configFile, "config", "", "JSON configuration file naming the Tablestore instance and OSS endpoints to use instead of the embedded local cloud")
	fs.StringVar(&cfg.listen, "listen", "127.0.0.1:8470", "address of the executor API (port 0 picks a free port)")
	fs.StringVar(&cfg.token, "token", envOr(envAPIToken, devAPIToken), "bearer token of the executor API (env "+envAPIToken+")")
	fs.StringVar(&cfg.secretKey, "secret-key", envOr(envSecretKey, ""), "passphrase that encrypts role secrets at rest (env "+envSecretKey+"); default: a random key kept in the data dir")
	fs.StringVar(&cfg.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	cfg.tls.register(fs)
	cfg.memLimit.register(fs)
	cfg.pprof.register(fs)
	if ok, code := parseFlags(fs, args, stderr); !ok {
		return code
	}
	explicit := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { explicit[f.Name] = true })
	log, err := newLogger(stderr, cfg.logLevel)
	var file *fileConfig
	if err == nil {
		file, err = cfg.resolve(explicit)
	}
	if err != nil {
		fmt.Fprintln(stderr, "delivery-executor serve:", err)
		return 2
	}
	cfg.memLimit.apply(log)
	if _, err := cfg.pprof.start(log); err != nil {
		fmt.Fprintln(stderr, "delivery-executor serve:", err)
		return 2
	}
	if file != nil {
		err = serveWithConfig(cfg, file, log, stdout)
	} else {
		err = serveEmbedded(cfg, log, stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "delivery-executor serve:", err)
		return 1
	}
	return 0
}

// resolve checks the flags and, in --config mode, loads the file; explicit
// --listen and --data-dir flags win over the file.
func (c *serveConfig) resolve(explicit map[string]bool) (*fileConfig, error) {
	if c.token == "" {
		return nil, errors.New("--token: must not be empty")
	}
	if err := c.tls.load(); err != nil {
		return nil, err
	}
	devToken := subtle.ConstantTimeCompare([]byte(c.token), []byte(devAPIToken)) == 1
	switch {
	case c.embedded && c.configFile != "":
		return nil, errors.New("--config: cannot be combined with --embedded")
	case c.embedded:
		if err := checkListenAddr("--listen", c.listen, devToken, "the development API token; set "+envAPIToken); err != nil {
			return nil, err
		}
		return nil, c.Validate()
	case c.configFile != "":
		if rules, err := c.Faults.Rules(); err != nil || len(rules) > 0 {
			return nil, errors.New("--fault-*: only with --embedded (faults are injected into the embedded local cloud)")
		}
		file, err := loadFileConfig(c.configFile)
		if err != nil {
			return nil, err
		}
		if !explicit["listen"] {
			c.listen = file.Listen
		}
		if !explicit["data-dir"] {
			c.DataDir = file.DataDir
		}
		if err := checkListenAddr("--listen", c.listen, devToken, "the development API token; set "+envAPIToken); err != nil {
			return nil, err
		}
		return file, nil
	default:
		return nil, errors.New("--embedded or --config: one is required (the embedded local cloud, or a file naming real endpoints)")
	}
}

// serveEmbedded runs the local cloud and the executor (API, registry,
// pipelines, status page) in one process over one kv store.
func serveEmbedded(cfg serveConfig, log *slog.Logger, stdout io.Writer) (err error) {
	store, err := kv.Open(cfg.DataDir)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, store.Close()) }()
	secretKey, err := loadSecretKey(cfg)
	if err != nil {
		return err
	}

	cloudCfg, err := cfg.Config(log)
	if err != nil {
		return err
	}
	cloudCfg.Store = store
	// The executor reaches the local cloud over HTTP like any client: start it
	// first, and stop it last (deferred calls run last-in first-out), after
	// the pipelines have drained.
	cloud, err := localcloud.Start(context.Background(), cloudCfg)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, cloud.Close()) }()
	apiListener, err := listen("api", cfg.listen)
	if err != nil {
		return err
	}
	apiListener = cfg.tls.wrap(apiListener)

	ex, err := startExecutor(executorDeps{
		store:              store,
		secretKey:          secretKey,
		token:              cfg.token,
		tablestoreEndpoint: cloud.TablestoreURL,
		instance:           cfg.Instance,
		region:             cfg.Region,
		accessKeyID:        cfg.AccessKeyID,
		accessKeySecret:    cfg.AccessKeySecret,
		ossEndpoints:       map[string]string{cfg.Region: cloud.OSSURL},
		rowCounter:         storageRowCounter{store: cloud.Tablestore.Storage(), instance: cfg.Instance},
		log:                log,
	})
	if err != nil {
		_ = apiListener.Close()
		return err
	}
	defer func() { err = errors.Join(err, ex.Close()) }()
	// The managed service's delivery API on the local Tablestore endpoint,
	// answered by this executor's control plane (unbound again before the
	// executor closes).
	cloud.Tablestore.SetDeliveryBackend(deliveryapi.New(ex.api, map[string]string{cfg.Region: cloud.OSSURL}))
	defer cloud.Tablestore.SetDeliveryBackend(nil)
	executorAPI := startServing(log, endpoint{name: "api", listener: apiListener, handler: ex.handler})
	defer executorAPI.shutdown()

	cfg.LogCredentials(log)
	if cfg.token == devAPIToken {
		log.Info("development API token (loopback only)", "token", devAPIToken)
	}
	ready := append(executorAPI.urls(), "tablestore="+cloud.TablestoreURL, "oss="+cloud.OSSURL, "instance="+cfg.Instance, "region="+cfg.Region)
	return waitForStop(context.Background(), log, stdout, ready, executorAPI.errc, cloud.Err())
}

// serveWithConfig runs the executor against the endpoints of a configuration
// file; its own state stays in the kv store under the data dir.
func serveWithConfig(cfg serveConfig, file *fileConfig, log *slog.Logger, stdout io.Writer) (err error) {
	store, err := kv.Open(cfg.DataDir)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, store.Close()) }()
	scaleOut, err := scaleOutFromFile(cfg, file)
	if err != nil {
		return err
	}
	durations, err := file.durations()
	if err != nil {
		return err
	}
	secretKey, err := loadSecretKey(cfg)
	if err != nil {
		return err
	}
	apiListener, err := listen("api", cfg.listen)
	if err != nil {
		return err
	}
	apiListener = cfg.tls.wrap(apiListener)
	ts := file.Tablestore
	counter, err := ui.NewTablestoreCounter(ts.Endpoint, ts.Instance, ts.AccessKeyID, ts.AccessKeySecret)
	if err != nil {
		_ = apiListener.Close()
		return fmt.Errorf("row counter: %w", err)
	}
	ex, err := startExecutor(executorDeps{
		store:              store,
		secretKey:          secretKey,
		token:              cfg.token,
		accountID:          file.AccountID,
		tablestoreEndpoint: ts.Endpoint,
		instance:           ts.Instance,
		region:             ts.Region,
		accessKeyID:        ts.AccessKeyID,
		accessKeySecret:    ts.AccessKeySecret,
		ossEndpoints:       file.OSS.Endpoints,
		rowCounter:         counter,
		log:                log,
		scaleOut:           scaleOut,
		heartbeatInterval:  durations.heartbeatInterval,
		heartbeatTimeout:   durations.heartbeatTimeout,
		statusInterval:     durations.statusInterval,
	})
	if err != nil {
		_ = apiListener.Close()
		return err
	}
	defer func() { err = errors.Join(err, ex.Close()) }()
	executorAPI := startServing(log, endpoint{name: "api", listener: apiListener, handler: ex.handler})
	defer executorAPI.shutdown()
	if cfg.token == devAPIToken {
		log.Info("development API token (loopback only)", "token", devAPIToken)
	}
	log.Info("serving with configuration", "tablestore", ts.Endpoint, "instance", ts.Instance, "region", ts.Region)
	return waitForStop(context.Background(), log, stdout,
		append(executorAPI.urls(), "instance="+ts.Instance, "region="+ts.Region), executorAPI.errc)
}

// loadSecretKey returns the key that seals role secrets: derived from the
// configured passphrase, or a random key kept in the data dir.
func loadSecretKey(cfg serveConfig) ([]byte, error) {
	if cfg.secretKey != "" {
		return state.KeyFromPassphrase(cfg.secretKey), nil
	}
	key, err := state.LoadOrCreateKeyFile(filepath.Join(cfg.DataDir, "secret.key"))
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return key, nil
}

// scaleOutFromFile returns the shared-registry settings of a configuration
// file whose state store is "tablestore" (nil for the embedded store).
// Executors sharing a registry must seal role secrets with one key, so the
// key must come from the configuration, not from each data dir.
func scaleOutFromFile(cfg serveConfig, file *fileConfig) (*scaleOutDeps, error) {
	durations, err := file.durations()
	if err != nil {
		return nil, err
	}
	if file.State.Store != stateStoreTablestore {
		return nil, nil
	}
	if cfg.secretKey == "" {
		return nil, fmt.Errorf(`state.store "tablestore": --secret-key (or %s) is required, the same for every executor`, envSecretKey)
	}
	return &scaleOutDeps{table: file.State.Table, reconcileInterval: durations.reconcile}, nil
}
