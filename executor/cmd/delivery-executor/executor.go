package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/api"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/catalog"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/kv"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/pipeline"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/state"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/ui"
)

// executorDeps is what the executor needs from its surroundings, whether the
// local cloud runs in the same process (serve --embedded) or the endpoints
// come from a configuration file (serve --config).
type executorDeps struct {
	store              *kv.Store
	secretKey          []byte
	token              string
	accountID          string
	tablestoreEndpoint string
	instance           string
	region             string
	accessKeyID        string
	accessKeySecret    string
	ossEndpoints       map[string]string
	rowCounter         ui.RowCounter
	log                *slog.Logger
	// scaleOut, when set, keeps the registry in a Tablestore table shared
	// with other executors instead of the kv store.
	scaleOut *scaleOutDeps
	// heartbeatInterval and heartbeatTimeout of the tunnel workers, and how
	// often task status is refreshed (0: the pipeline's defaults).
	heartbeatInterval, heartbeatTimeout time.Duration
	statusInterval                      time.Duration
}

// scaleOutDeps configures an executor that shares its registry with others.
type scaleOutDeps struct {
	table             string
	reconcileInterval time.Duration // default 2 s
}

// openRegistry returns the kv-store registry, or the shared Tablestore one.
func openRegistry(d executorDeps) (state.Registry, error) {
	if d.scaleOut == nil {
		return state.NewBolt(d.store, d.secretKey)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return state.NewTablestore(ctx, state.TablestoreConfig{
		Endpoint: d.tablestoreEndpoint, Instance: d.instance,
		AccessKeyID: d.accessKeyID, AccessKeySecret: d.accessKeySecret,
		Table: d.scaleOut.table, SecretKey: d.secretKey,
	})
}

// executor is the running control plane, pipelines and status page.
type executor struct {
	handler   http.Handler // the API with /ui mounted
	pipelines *pipeline.Manager
	api       *api.Server
	page      *ui.Page
}

func startExecutor(d executorDeps) (ex *executor, err error) {
	ex = &executor{}
	defer func() {
		if err != nil {
			err = errors.Join(err, ex.Close())
		}
	}()
	registry, err := openRegistry(d)
	if err != nil {
		return nil, fmt.Errorf("open registry: %w", err)
	}
	metrics := prometheus.NewRegistry()
	metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	tables, err := catalog.NewTablestore(catalog.Config{
		Endpoint:        d.tablestoreEndpoint,
		Instance:        d.instance,
		AccessKeyID:     d.accessKeyID,
		AccessKeySecret: d.accessKeySecret,
	})
	if err != nil {
		return nil, fmt.Errorf("connect catalog: %w", err)
	}
	pipelineCfg := pipeline.Config{
		Registry:           registry,
		TablestoreEndpoint: d.tablestoreEndpoint,
		Instance:           d.instance,
		AccessKeyID:        d.accessKeyID,
		AccessKeySecret:    d.accessKeySecret,
		OSSEndpoints:       d.ossEndpoints,
		Logger:             d.log.With("component", "pipeline"),
		Metrics:            metrics,
		MemoryBudgetBytes:  bufferBudget(),
		HeartbeatInterval:  d.heartbeatInterval,
		HeartbeatTimeout:   d.heartbeatTimeout,
		StatusInterval:     d.statusInterval,
	}
	apiCfg := api.Config{
		Token:     d.token,
		Registry:  registry,
		Catalog:   tables,
		Region:    d.region,
		AccountID: d.accountID,
		Logger:    d.log.With("component", "api"),
		Metrics:   metrics,
		// Auto schemas pick up new defined columns within the status
		// refresh interval.
		SchemaRefreshInterval: d.statusInterval,
	}
	if so := d.scaleOut; so != nil {
		apiCfg.ReconcileInterval = so.reconcileInterval
		if apiCfg.ReconcileInterval <= 0 {
			apiCfg.ReconcileInterval = 2 * time.Second
		}
	}
	ex.pipelines, err = pipeline.New(pipelineCfg)
	if err != nil {
		return nil, fmt.Errorf("start pipelines: %w", err)
	}
	apiCfg.Runner = ex.pipelines
	ex.api, err = api.New(apiCfg)
	if err != nil {
		return nil, fmt.Errorf("start api: %w", err)
	}
	ex.page, err = newStatusPage(registry, d.rowCounter, d.ossEndpoints, d.log.With("component", "ui"))
	if err != nil {
		return nil, err
	}
	// /ui is the read-only status page; every other path is the API. The
	// page asks for the API token unless it is the development token, which
	// is public and only accepted on loopback anyway.
	page := http.Handler(ex.page)
	if d.token != devAPIToken {
		page = ui.RequireToken(ex.page, d.token)
	}
	ex.handler = ui.Mount(page, ex.api)
	return ex, nil
}

// Close stops the status page, the API's lifecycle work, then the pipelines
// (which flush what they can and leave the rest to their checkpoints).
func (ex *executor) Close() error {
	var errs []error
	if ex.page != nil {
		errs = append(errs, ex.page.Close())
	}
	if ex.api != nil {
		errs = append(errs, ex.api.Close())
	}
	if ex.pipelines != nil {
		errs = append(errs, ex.pipelines.Close())
	}
	return errors.Join(errs...)
}
