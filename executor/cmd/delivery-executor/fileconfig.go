package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sort"
	"time"
)

// Environment variables for the source instance's credentials in
// `serve --config` mode: Alibaba Cloud's usual names.
const (
	envCloudAccessKeyID     = "ALIBABA_CLOUD_ACCESS_KEY_ID"
	envCloudAccessKeySecret = "ALIBABA_CLOUD_ACCESS_KEY_SECRET"
)

// fileConfig is the configuration file of `serve --config`: real (or any
// separately running) Tablestore and OSS endpoints instead of the embedded
// local cloud. Unknown fields are refused so that typos do not pass silently.
//
//	{
//	  "listen": "127.0.0.1:8470",
//	  "data_dir": "/var/lib/delivery-executor",
//	  "account_id": "1234567890123456",
//	  "tablestore": {
//	    "endpoint": "https://my-instance.cn-hangzhou.ots.aliyuncs.com",
//	    "instance": "my-instance",
//	    "region": "cn-hangzhou"
//	  },
//	  "oss": {"endpoints": {"cn-hangzhou": "https://oss-cn-hangzhou.aliyuncs.com"}}
//	}
//
// The Tablestore credentials come from ALIBABA_CLOUD_ACCESS_KEY_ID and
// ALIBABA_CLOUD_ACCESS_KEY_SECRET, or from "access_key_id" /
// "access_key_secret" in the "tablestore" object (then keep the file mode
// 0600). OSS credentials are per delivery role, set through the API.
type fileConfig struct {
	Listen     string `json:"listen"`
	DataDir    string `json:"data_dir"`
	AccountID  string `json:"account_id"`
	Tablestore struct {
		Endpoint        string `json:"endpoint"`
		Instance        string `json:"instance"`
		Region          string `json:"region"`
		AccessKeyID     string `json:"access_key_id"`
		AccessKeySecret string `json:"access_key_secret"`
	} `json:"tablestore"`
	OSS struct {
		Endpoints map[string]string `json:"endpoints"`
	} `json:"oss"`
	State    stateFileConfig    `json:"state"`
	Pipeline pipelineFileConfig `json:"pipeline"`
}

// stateFileConfig selects where tasks, roles and journals live:
//
//	"state": {"store": "embedded"}                                   (default: the kv store in data_dir)
//	"state": {"store": "tablestore", "table": "delivery_state",
//	          "reconcile_interval": "2s"}                            (shared by several executors)
//
// With "tablestore" the table is created in the source instance when
// missing, every executor pointing at it runs a tunnel worker for every
// task, and all of them must share the secret key (--secret-key or
// DELIVERY_SECRET_KEY) that seals role secrets.
type stateFileConfig struct {
	Store             string `json:"store"`
	Table             string `json:"table"`
	ReconcileInterval string `json:"reconcile_interval"`
}

// Values of stateFileConfig.Store.
const (
	stateStoreEmbedded   = "embedded"
	stateStoreTablestore = "tablestore"
)

// pipelineFileConfig tunes the tunnel workers, e.g. shorter heartbeats so
// that the channels of a dead executor move on sooner, and how often task
// status is refreshed:
//
//	"pipeline": {"heartbeat_interval": "1s", "heartbeat_timeout": "5s", "status_interval": "1s"}
type pipelineFileConfig struct {
	HeartbeatInterval string `json:"heartbeat_interval"`
	HeartbeatTimeout  string `json:"heartbeat_timeout"`
	StatusInterval    string `json:"status_interval"`
}

// fileDurations are the file's durations; 0 means the default.
type fileDurations struct {
	reconcile                           time.Duration
	heartbeatInterval, heartbeatTimeout time.Duration
	statusInterval                      time.Duration
}

// durations parses the state and pipeline durations ("" is 0: the default).
func (c *fileConfig) durations() (fileDurations, error) {
	var errs []error
	parse := func(field, v string) time.Duration {
		if v == "" {
			return 0
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("%s: %q is not a positive duration such as \"2s\"", field, v))
		}
		return d
	}
	d := fileDurations{
		reconcile:         parse("state.reconcile_interval", c.State.ReconcileInterval),
		heartbeatInterval: parse("pipeline.heartbeat_interval", c.Pipeline.HeartbeatInterval),
		heartbeatTimeout:  parse("pipeline.heartbeat_timeout", c.Pipeline.HeartbeatTimeout),
		statusInterval:    parse("pipeline.status_interval", c.Pipeline.StatusInterval),
	}
	if d.heartbeatInterval > 0 && d.heartbeatTimeout > 0 && d.heartbeatTimeout <= d.heartbeatInterval {
		errs = append(errs, errors.New("pipeline.heartbeat_timeout: must be longer than pipeline.heartbeat_interval"))
	}
	return d, errors.Join(errs...)
}

// loadFileConfig reads and validates a configuration file; errors name the field.
func loadFileConfig(path string) (*fileConfig, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	var c fileConfig
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("--config %s: %w", path, err)
	}
	if c.Tablestore.AccessKeyID == "" {
		c.Tablestore.AccessKeyID = os.Getenv(envCloudAccessKeyID)
	}
	if c.Tablestore.AccessKeySecret == "" {
		c.Tablestore.AccessKeySecret = os.Getenv(envCloudAccessKeySecret)
	}
	if c.Listen == "" {
		c.Listen = "127.0.0.1:8470"
	}
	if c.DataDir == "" {
		c.DataDir = "./.delivery-data"
	}
	if c.State.Store == "" {
		c.State.Store = stateStoreEmbedded
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("--config %s: %w", path, err)
	}
	return &c, nil
}

func (c *fileConfig) validate() error {
	var errs []error
	if err := checkURL(c.Tablestore.Endpoint); err != nil {
		errs = append(errs, fmt.Errorf("tablestore.endpoint: %w", err))
	}
	if c.Tablestore.Instance == "" {
		errs = append(errs, errors.New("tablestore.instance: required"))
	}
	if c.Tablestore.Region == "" {
		errs = append(errs, errors.New("tablestore.region: required (OSS buckets must be in the instance's region)"))
	}
	if c.Tablestore.AccessKeyID == "" || c.Tablestore.AccessKeySecret == "" {
		errs = append(errs, fmt.Errorf("tablestore.access_key_id/access_key_secret: required, from %s and %s or the file",
			envCloudAccessKeyID, envCloudAccessKeySecret))
	}
	if len(c.OSS.Endpoints) == 0 {
		errs = append(errs, errors.New("oss.endpoints: at least one region → endpoint entry is required"))
	}
	regions := make([]string, 0, len(c.OSS.Endpoints))
	for r := range c.OSS.Endpoints {
		regions = append(regions, r)
	}
	sort.Strings(regions)
	for _, r := range regions {
		if err := checkURL(c.OSS.Endpoints[r]); err != nil {
			errs = append(errs, fmt.Errorf("oss.endpoints[%q]: %w", r, err))
		}
	}
	if _, ok := c.OSS.Endpoints[c.Tablestore.Region]; c.Tablestore.Region != "" && len(c.OSS.Endpoints) > 0 && !ok {
		errs = append(errs, fmt.Errorf("oss.endpoints: no endpoint for the instance's region %q", c.Tablestore.Region))
	}
	switch c.State.Store {
	case stateStoreEmbedded:
		if c.State.Table != "" {
			errs = append(errs, errors.New(`state.table: only used with "store": "tablestore"`))
		}
	case stateStoreTablestore:
	default:
		errs = append(errs, fmt.Errorf(`state.store: %q must be "embedded" or "tablestore"`, c.State.Store))
	}
	if _, err := c.durations(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func checkURL(s string) error {
	if s == "" {
		return errors.New("required")
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("not a URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q must be an http:// or https:// URL with a host", s)
	}
	return nil
}
