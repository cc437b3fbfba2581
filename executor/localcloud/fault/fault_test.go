package fault_test

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"
	sdktunnel "github.com/aliyun/aliyun-tablestore-go-sdk/tunnel"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/fault"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/kv"
	localoss "github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/oss"
	localots "github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore"
	localtunnel "github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/tunnel"
)

const (
	keyID    = "fault-test-key"
	secret   = "fault-test-secret"
	instance = "local"
	region   = "cn-hangzhou"
)

// cloud is the real local cloud behind the fault injector, served over HTTP.
type cloud struct {
	inj     *fault.Injector
	oss     *localoss.Server
	otsURL  string
	ossURL  string
	ots     *tablestore.TableStoreClient
	ossc    *oss.Client
	bare    *oss.Client // the same OSS server without the injector
	tunnels sdktunnel.TunnelClient
}

func startCloud(t testing.TB) *cloud {
	t.Helper()
	dir := t.TempDir()
	store, err := kv.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	log := slog.New(slog.DiscardHandler)
	creds := map[string]string{keyID: secret}
	var svc *localtunnel.Service
	ots, err := localots.New(localots.Config{Instance: instance, Region: region, Credentials: creds, Store: store, Logger: log,
		Tunnel: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { svc.ServeHTTP(w, r) })})
	if err != nil {
		t.Fatal(err)
	}
	svc, err = localtunnel.New(localtunnel.Config{Source: localtunnel.NewStorageSource(ots.Storage()), Store: store, Instance: instance, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Close() })
	ossSrv, err := localoss.New(localoss.Config{Region: region, Credentials: creds, DataDir: dir, Store: store, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ossSrv.Close() })
	c := &cloud{inj: fault.New(fault.Options{Seed: 7, Logger: log}), oss: ossSrv}
	otsHTTP := httptest.NewServer(c.inj.TablestoreHandler(ots))
	ossHTTP := httptest.NewServer(c.inj.OSSHandler(ossSrv))
	bareHTTP := httptest.NewServer(ossSrv)
	t.Cleanup(otsHTTP.Close)
	t.Cleanup(ossHTTP.Close)
	t.Cleanup(bareHTTP.Close)
	c.otsURL, c.ossURL = otsHTTP.URL, ossHTTP.URL
	cfg := tablestore.NewDefaultTableStoreConfig()
	cfg.MaxRetryTime = 300 * time.Millisecond
	c.ots = tablestore.NewClientWithConfig(otsHTTP.URL, instance, keyID, secret, "", cfg)
	if c.ossc, err = oss.New(ossHTTP.URL, keyID, secret, oss.Timeout(5, 10)); err != nil {
		t.Fatal(err)
	}
	if c.bare, err = oss.New(bareHTTP.URL, keyID, secret, oss.Timeout(5, 10)); err != nil {
		t.Fatal(err)
	}
	c.tunnels = sdktunnel.NewTunnelClientWithConfig(otsHTTP.URL, instance, keyID, secret,
		&sdktunnel.TunnelConfig{MaxRetryElapsedTime: 500 * time.Millisecond, RequestTimeout: 5 * time.Second})
	return c
}

func (c *cloud) set(t *testing.T, target fault.Target, r fault.Rule) {
	t.Helper()
	if err := c.inj.Set(target, r); err != nil {
		t.Fatal(err)
	}
}

func TestOSSFaultsSpeakTheOSSProtocol(t *testing.T) {
	c := startCloud(t)
	if err := c.ossc.CreateBucket("lake"); err != nil {
		t.Fatal(err)
	}
	bucket, err := c.ossc.Bucket("lake")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		rule   fault.Rule
		status int
		code   string
	}{
		{fault.Rule{ErrorRate: 1}, 500, "InternalError"},
		{fault.Rule{ThrottleRate: 1}, 503, "SlowDown"},
	} {
		c.set(t, fault.OSS, tc.rule)
		err := bucket.PutObject("k", strings.NewReader("v"))
		var se oss.ServiceError
		if !errors.As(err, &se) || se.StatusCode != tc.status || se.Code != tc.code || se.RequestID == "" {
			t.Errorf("PutObject with %+v: got %v, want %d %s", tc.rule, err, tc.status, tc.code)
		}
		// HEAD errors travel in x-oss-err; the SDK must still see the code.
		_, err = bucket.GetObjectDetailedMeta("k")
		if !errors.As(err, &se) || se.StatusCode != tc.status {
			t.Errorf("HEAD with %+v: got %v, want status %d", tc.rule, err, tc.status)
		}
	}
	c.set(t, fault.OSS, fault.Rule{})
	if _, err := bucket.GetObjectMeta("k"); err == nil {
		t.Fatal("an object was stored although every PUT failed")
	}
	got := c.inj.Counts()[fault.OSS]
	if got.Errors != 2 || got.Throttles != 2 || got.Requests < 5 {
		t.Errorf("counts = %+v, want 2 errors, 2 throttles, at least 5 requests", got)
	}
}

func TestOSSResetAndLostResponse(t *testing.T) {
	c := startCloud(t)
	if err := c.ossc.CreateBucket("lake"); err != nil {
		t.Fatal(err)
	}
	bucket, err := c.ossc.Bucket("lake")
	if err != nil {
		t.Fatal(err)
	}
	c.set(t, fault.OSS, fault.Rule{ResetRate: 1})
	if err := bucket.PutObject("reset", strings.NewReader("v")); err == nil {
		t.Fatal("PutObject through a reset connection succeeded")
	}
	c.set(t, fault.OSS, fault.Rule{LostResponseRate: 1})
	if err := bucket.PutObject("lost", strings.NewReader("v")); err == nil {
		t.Fatal("PutObject whose answer was lost succeeded")
	}
	c.set(t, fault.OSS, fault.Rule{})
	if _, err := bucket.GetObjectMeta("reset"); err == nil {
		t.Error("a request reset before it was served stored its object")
	}
	// A lost response happens after the request took effect.
	if _, err := bucket.GetObjectMeta("lost"); err != nil {
		t.Errorf("the object whose answer was lost is missing: %v", err)
	}
	if got := c.inj.Counts()[fault.OSS]; got.Resets < 1 || got.LostResponses < 1 {
		t.Errorf("counts = %+v", got)
	}
}

func TestTablestoreFaultsRetriedBySDK(t *testing.T) {
	c := startCloud(t)
	meta := &tablestore.TableMeta{TableName: "t"}
	meta.AddPrimaryKeyColumn("id", tablestore.PrimaryKeyType_INTEGER)
	create := &tablestore.CreateTableRequest{TableMeta: meta, TableOption: &tablestore.TableOption{TimeToAlive: -1, MaxVersion: 1},
		ReservedThroughput: &tablestore.ReservedThroughput{}}
	c.set(t, fault.Tablestore, fault.Rule{ThrottleRate: 1})
	_, err := c.ots.CreateTable(create)
	var oe *tablestore.OtsError
	if !errors.As(err, &oe) || oe.Code != "OTSServerBusy" || oe.HttpStatusCode != 503 {
		t.Fatalf("CreateTable under full throttling: %v (%T)", err, err)
	}
	c.set(t, fault.Tablestore, fault.Rule{ErrorRate: 1})
	_, err = c.ots.DescribeTable(&tablestore.DescribeTableRequest{TableName: "t"})
	if !errors.As(err, &oe) || oe.Code != "OTSInternalServerError" || oe.HttpStatusCode != 500 {
		t.Fatalf("DescribeTable under full errors: %v", err)
	}
	// Half the calls throttled: the SDK retries OTSServerBusy and succeeds.
	c.set(t, fault.Tablestore, fault.Rule{ThrottleRate: 0.5})
	cfg := tablestore.NewDefaultTableStoreConfig()
	patient := tablestore.NewClientWithConfig(c.otsURL, instance, keyID, secret, "", cfg)
	if _, err := patient.CreateTable(create); err != nil {
		t.Fatalf("CreateTable with 50%% throttling: %v", err)
	}
	for i := range 20 {
		pk := &tablestore.PrimaryKey{}
		pk.AddPrimaryKeyColumn("id", int64(i))
		ch := &tablestore.PutRowChange{TableName: "t", PrimaryKey: pk}
		ch.AddColumn("v", int64(i))
		ch.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
		if _, err := patient.PutRow(&tablestore.PutRowRequest{PutRowChange: ch}); err != nil {
			t.Fatalf("PutRow %d with 50%% throttling: %v", i, err)
		}
	}
	if got := c.inj.Counts()[fault.Tablestore]; got.Throttles < 5 || got.Errors < 1 {
		t.Errorf("counts = %+v: want several throttles and errors", got)
	}
	if c.inj.Counts()[fault.Tunnel].Requests != 0 {
		t.Error("Tablestore calls were counted as tunnel calls")
	}
}

func TestTunnelFaults(t *testing.T) {
	c := startCloud(t)
	meta := &tablestore.TableMeta{TableName: "t"}
	meta.AddPrimaryKeyColumn("id", tablestore.PrimaryKeyType_INTEGER)
	if _, err := c.ots.CreateTable(&tablestore.CreateTableRequest{TableMeta: meta,
		TableOption: &tablestore.TableOption{TimeToAlive: -1, MaxVersion: 1}, ReservedThroughput: &tablestore.ReservedThroughput{}}); err != nil {
		t.Fatal(err)
	}
	// Faults on the tunnel target leave plain Tablestore calls alone.
	c.set(t, fault.Tunnel, fault.Rule{ErrorRate: 1})
	if _, err := c.ots.DescribeTable(&tablestore.DescribeTableRequest{TableName: "t"}); err != nil {
		t.Fatalf("DescribeTable with tunnel faults only: %v", err)
	}
	// ReadRecords honours the configured retry time (other tunnel calls
	// retry for 35 s); the fault comes before the request is looked at, so
	// its ids need not exist.
	api := sdktunnel.NewTunnelApi(c.otsURL, instance, keyID, secret,
		&sdktunnel.TunnelConfig{MaxRetryElapsedTime: 500 * time.Millisecond, RequestTimeout: 5 * time.Second})
	read := &sdktunnel.ReadRecordRequest{TunnelId: "tunnel", ClientId: "client", ChannelId: "channel", Token: "token"}
	_, err := api.ReadRecords(read)
	var te *sdktunnel.TunnelError
	if !errors.As(err, &te) || te.Code != sdktunnel.ErrCodeServerUnavailable || !te.Temporary() {
		t.Fatalf("ReadRecords under tunnel errors: %v, want a temporary %s", err, sdktunnel.ErrCodeServerUnavailable)
	}
	c.set(t, fault.Tunnel, fault.Rule{ThrottleRate: 1})
	_, err = c.tunnels.ListTunnel(&sdktunnel.ListTunnelRequest{TableName: "t"})
	if !errors.As(err, &te) || te.Code != "OTSServerBusy" {
		t.Fatalf("ListTunnel under tunnel throttling: %v", err)
	}
	c.set(t, fault.Tunnel, fault.Rule{ResetRate: 1})
	if _, err = api.ReadRecords(read); err == nil || errors.As(err, &te) {
		t.Fatalf("ReadRecords through reset connections: %v, want a transport error", err)
	}
	// A third of the calls failing with a retryable error: the SDK gets through.
	c.set(t, fault.Tunnel, fault.Rule{ErrorRate: 0.3})
	patient := sdktunnel.NewTunnelClient(c.otsURL, instance, keyID, secret)
	for range 10 {
		if _, err := patient.ListTunnel(&sdktunnel.ListTunnelRequest{TableName: "t"}); err != nil {
			t.Fatalf("ListTunnel with 30%% retryable errors: %v", err)
		}
	}
	got := c.inj.Counts()[fault.Tunnel]
	if got.Errors < 2 || got.Throttles < 1 || got.Resets < 1 {
		t.Errorf("tunnel counts = %+v", got)
	}
}

func TestLatencyAndHealthz(t *testing.T) {
	c := startCloud(t)
	c.set(t, fault.OSS, fault.Rule{ErrorRate: 1, LatencyRate: 1, Latency: fault.Duration(150 * time.Millisecond)})
	start := time.Now()
	_, err := c.ossc.ListBuckets()
	if elapsed := time.Since(start); err == nil || elapsed < 150*time.Millisecond {
		t.Errorf("ListBuckets: err %v after %s, want an error after at least 150ms", err, elapsed)
	}
	// Readiness probes are never faulted.
	resp, err := http.Get(c.ossURL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("healthz under full OSS errors: %d", resp.StatusCode)
	}
	if got := c.inj.Counts()[fault.OSS]; got.Delayed != 1 || got.Errors != 1 {
		t.Errorf("counts = %+v, want 1 delayed error", got)
	}
}

func TestRatesAreHonoured(t *testing.T) {
	c := startCloud(t)
	c.set(t, fault.Tablestore, fault.Rule{ErrorRate: 0.05, ThrottleRate: 0.05})
	h := c.inj.TablestoreHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	const n = 10000
	for range n {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/GetRow", nil))
	}
	got := c.inj.Counts()[fault.Tablestore]
	// 5% of 10,000 is 500 with a standard deviation of about 22: 400-600
	// is more than 4 sigma either side.
	for name, v := range map[string]int64{"errors": got.Errors, "throttles": got.Throttles} {
		if v < 400 || v > 600 {
			t.Errorf("%s = %d of %d, want about 500", name, v, n)
		}
	}
	if got.Requests != n {
		t.Errorf("requests = %d, want %d", got.Requests, n)
	}
}

func TestAdminEndpoint(t *testing.T) {
	c := startCloud(t)
	put := func(body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPut, c.ossURL+fault.AdminPath, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := put(`{"rules":{"oss":{"error_rate":1},"tunnel":{"throttle_rate":0.2,"latency":"20ms","latency_rate":0.5}}}`); code != 200 ||
		!strings.Contains(body, `"error_rate":1`) || !strings.Contains(body, `"latency":"20ms"`) {
		t.Fatalf("PUT rules: %d %s", code, body)
	}
	if _, err := c.ossc.ListBuckets(); err == nil {
		t.Fatal("rules set through the admin endpoint were not applied")
	}
	rules := c.inj.Rules()
	if rules[fault.OSS].ErrorRate != 1 || rules[fault.Tunnel].ThrottleRate != 0.2 || time.Duration(rules[fault.Tunnel].Latency) != 20*time.Millisecond {
		t.Fatalf("rules = %+v", rules)
	}
	// The admin path on the Tablestore endpoint is the same injector.
	resp, err := http.Get(c.otsURL + fault.AdminPath)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"errors":1`) {
		t.Fatalf("GET on the Tablestore endpoint: %d %s", resp.StatusCode, b)
	}
	for _, bad := range []string{
		`{"rules":{"oss":{"error_rate":1.5}}}`,
		`{"rules":{"oss":{"error_rate":0.6,"reset_rate":0.6}}}`,
		`{"rules":{"s3":{"error_rate":0.1}}}`,
		`{"rules":{"oss":{"latency":"-1s"}}}`,
		`{"rules":{"oss":{"latency_rate":0.5}}}`,
		`{"rules":{"oss":{"eror_rate":0.1}}}`,
		`{"rules":`,
		`{"rules":{}} {}`,
	} {
		if code, body := put(bad); code != http.StatusBadRequest || !strings.Contains(body, `"error"`) {
			t.Errorf("PUT %s: %d %s, want 400 with an error", bad, code, body)
		}
	}
	// Bad requests changed nothing.
	if c.inj.Rules()[fault.OSS].ErrorRate != 1 {
		t.Fatal("a rejected PUT changed the rules")
	}
	req, _ := http.NewRequest(http.MethodDelete, c.ossURL+fault.AdminPath, nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if len(c.inj.Rules()) != 0 {
		t.Fatalf("DELETE left rules %+v", c.inj.Rules())
	}
	if _, err := c.ossc.ListBuckets(); err != nil {
		t.Fatalf("after DELETE: %v", err)
	}
	// Only loopback clients may change the rules.
	rec := httptest.NewRecorder()
	remote := httptest.NewRequest(http.MethodPut, fault.AdminPath, bytes.NewReader([]byte(`{"rules":{"oss":{"error_rate":1}}}`)))
	remote.RemoteAddr = "192.0.2.10:40000"
	c.inj.AdminHandler().ServeHTTP(rec, remote)
	if rec.Code != http.StatusForbidden || len(c.inj.Rules()) != 0 {
		t.Fatalf("PUT from a non-loopback address: %d, rules %+v", rec.Code, c.inj.Rules())
	}
	rec = httptest.NewRecorder()
	post := httptest.NewRequest(http.MethodPost, fault.AdminPath, nil)
	post.RemoteAddr = "127.0.0.1:40000"
	c.inj.AdminHandler().ServeHTTP(rec, post)
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, PUT, DELETE" {
		t.Fatalf("POST: %d, Allow %q", rec.Code, rec.Header().Get("Allow"))
	}
}
