package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The "state" and "pipeline" objects of the configuration file: defaults,
// the shared store, and the errors that name the field.
func TestFileConfigStateAndPipeline(t *testing.T) {
	t.Setenv(envCloudAccessKeyID, "id")
	t.Setenv(envCloudAccessKeySecret, "secret")
	write := func(extra string) string {
		path := filepath.Join(t.TempDir(), "c.json")
		body := `{"tablestore": {"endpoint": "http://127.0.0.1:1", "instance": "i", "region": "cn-hangzhou"},
			"oss": {"endpoints": {"cn-hangzhou": "http://127.0.0.1:2"}}` + extra + `}`
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	c, err := loadFileConfig(write(""))
	if err != nil {
		t.Fatal(err)
	}
	if c.State.Store != stateStoreEmbedded {
		t.Fatalf("default state store = %q, want embedded", c.State.Store)
	}
	if so, err := scaleOutFromFile(serveConfig{}, c); so != nil || err != nil {
		t.Fatalf("embedded store gives scale-out settings %+v, %v", so, err)
	}

	c, err = loadFileConfig(write(`, "state": {"store": "tablestore", "table": "shared_state", "reconcile_interval": "500ms"},
		"pipeline": {"heartbeat_interval": "1s", "heartbeat_timeout": "4s", "status_interval": "100ms"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := scaleOutFromFile(serveConfig{}, c); err == nil || !strings.Contains(err.Error(), "--secret-key") {
		t.Fatalf("shared store without a secret key = %v, want an error naming --secret-key", err)
	}
	so, err := scaleOutFromFile(serveConfig{secretKey: "k"}, c)
	if err != nil || so == nil || so.table != "shared_state" || so.reconcileInterval != 500*time.Millisecond {
		t.Fatalf("scale-out settings = %+v, %v", so, err)
	}
	if d, err := c.durations(); err != nil || d.heartbeatInterval != time.Second || d.heartbeatTimeout != 4*time.Second ||
		d.statusInterval != 100*time.Millisecond {
		t.Fatalf("pipeline durations = %+v, %v", d, err)
	}

	for extra, field := range map[string]string{
		`, "state": {"store": "etcd"}`:                                          "state.store",
		`, "state": {"table": "x"}`:                                             "state.table",
		`, "state": {"store": "tablestore", "reconcile_interval": "soon"}`:      "state.reconcile_interval",
		`, "pipeline": {"heartbeat_interval": "5s", "heartbeat_timeout": "2s"}`: "pipeline.heartbeat_timeout",
		`, "pipeline": {"heartbeat_interval": "-1s"}`:                           "pipeline.heartbeat_interval",
		`, "pipeline": {"status_interval": "0s"}`:                               "pipeline.status_interval",
		`, "state": {"store": "tablestore", "reconcile": "1s"}`:                 "unknown field",
	} {
		if _, err := loadFileConfig(write(extra)); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("config with %s: error %v, want one naming %s", extra, err, field)
		}
	}
}
