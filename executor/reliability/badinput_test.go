package reliability

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"
	sdktunnel "github.com/aliyun/aliyun-tablestore-go-sdk/tunnel"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"

	"github.com/tablestore-delivery/terraform-provider-tablestore/internal/testsupport"
)

// The bad-input tests back the table in docs/bad-input.md: each subtest
// sends one bad input and checks the exact answer (status and code) the
// official clients, or raw HTTP, get back.

// TestBadInputAPI sends bad requests to the executor API.
func TestBadInputAPI(t *testing.T) {
	t.Parallel()
	s := startStack(t, stackOptions{})
	s.createTable("orders")
	s.createBucket("lake")
	s.putRole()
	good := `{"name":"orders-lake","table":"orders","bucket":"lake","prefix":"orders","sync_mode":"full",` +
		`"columns":[{"source":"id","type":"INT64"}]}`
	s.rawAPI(t, http.MethodPost, "/v1/tasks", good, apiToken, http.StatusCreated, "", "")
	testsupport.WaitFor(t, 30*time.Second, "the task to initialize", func() string {
		if st := s.status("orders", "orders-lake"); st.Phase == task.PhaseInit {
			return "still INIT"
		}
		return ""
	})
	withField := func(field, value string) string {
		var m map[string]any
		_ = json.Unmarshal([]byte(good), &m)
		var v any
		if err := json.Unmarshal([]byte(value), &v); err != nil {
			t.Fatalf("bad case value %s: %v", value, err)
		}
		m["name"] = "other-task"
		m[field] = v
		b, _ := json.Marshal(m)
		return string(b)
	}
	cases := []struct {
		name, method, path, body, token string
		status                          int
		code, field                     string
	}{
		{"no token", http.MethodGet, "/v1/tasks", "", "", 401, task.CodeUnauthenticated, ""},
		{"wrong token", http.MethodGet, "/v1/tasks", "", "not-the-token", 401, task.CodeUnauthenticated, ""},
		{"token differing in the last byte", http.MethodGet, "/v1/tasks", "", apiToken[:len(apiToken)-1] + "X", 401, task.CodeUnauthenticated, ""},
		{"malformed JSON", http.MethodPost, "/v1/tasks", `{"name":`, apiToken, 400, task.CodeInvalidArgument, "body"},
		{"unknown field", http.MethodPost, "/v1/tasks", withField("colour", `"red"`), apiToken, 400, task.CodeInvalidArgument, ""},
		{"wrong JSON type", http.MethodPost, "/v1/tasks", withField("flush_interval_seconds", `"soon"`), apiToken, 400, task.CodeInvalidArgument, "flush_interval_seconds"},
		{"two JSON documents", http.MethodPost, "/v1/tasks", good + `{}`, apiToken, 400, task.CodeInvalidArgument, "body"},
		{"body over 1 MiB", http.MethodPost, "/v1/tasks", `{"name":"` + strings.Repeat("a", 1<<20) + `"}`, apiToken, 400, task.CodeInvalidArgument, "body"},
		{"invalid task name", http.MethodPost, "/v1/tasks", withField("name", `"Orders_Lake"`), apiToken, 400, task.CodeInvalidArgument, "name"},
		{"missing table", http.MethodPost, "/v1/tasks", withField("table", `"nope"`), apiToken, 400, task.CodeInvalidArgument, "table"},
		{"prefix with ..", http.MethodPost, "/v1/tasks", withField("prefix", `"a/../b"`), apiToken, 400, task.CodeInvalidArgument, "prefix"},
		{"prefix unknown variable", http.MethodPost, "/v1/tasks", withField("prefix", `"a/$yy"`), apiToken, 400, task.CodeInvalidArgument, "prefix"},
		{"bucket name", http.MethodPost, "/v1/tasks", withField("bucket", `"Lake_1"`), apiToken, 400, task.CodeInvalidArgument, "bucket"},
		{"column type", http.MethodPost, "/v1/tasks", withField("columns", `[{"source":"id","type":"FLOAT"}]`), apiToken, 400, task.CodeInvalidArgument, "columns[0].type"},
		{"task name taken", http.MethodPost, "/v1/tasks", good, apiToken, 409, task.CodeTaskAlreadyExists, ""},
		{"unknown task", http.MethodGet, "/v1/tasks/orders/nope", "", apiToken, 404, task.CodeTaskNotFound, ""},
		{"PATCH an immutable field", http.MethodPatch, "/v1/tasks/orders/orders-lake", `{"bucket":"other"}`, apiToken, 400, task.CodeImmutableField, "bucket"},
		{"PATCH out of range", http.MethodPatch, "/v1/tasks/orders/orders-lake", `{"flush_interval_seconds":0}`, apiToken, 400, task.CodeInvalidArgument, "flush_interval_seconds"},
		{"DDL without dialect", http.MethodGet, "/v1/tasks/orders/orders-lake/ddl", "", apiToken, 400, task.CodeInvalidArgument, "dialect"},
		{"role name", http.MethodPut, "/v1/roles/-bad", `{"oss_access_key_id":"k","oss_access_key_secret":"s"}`, apiToken, 400, task.CodeInvalidArgument, "name"},
		{"role without key id", http.MethodPut, "/v1/roles/writer", `{"oss_access_key_id":"","oss_access_key_secret":"s"}`, apiToken, 400, task.CodeInvalidArgument, "oss_access_key_id"},
		{"unknown role", http.MethodGet, "/v1/roles/nobody", "", apiToken, 404, task.CodeRoleNotFound, ""},
		{"unknown route", http.MethodGet, "/v2/tasks", "", apiToken, 404, task.CodeNotFound, ""},
		// A known path with a method it is not served with.
		{"wrong method", http.MethodPut, "/v1/tasks", "{}", apiToken, 405, task.CodeMethodNotAllowed, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s.rawAPI(t, c.method, c.path, c.body, c.token, c.status, c.code, c.field)
		})
	}
}

// rawAPI sends one request and checks status, error code and field.
func (s *stack) rawAPI(t *testing.T, method, path, body, token string, status int, code, field string) {
	t.Helper()
	req, err := http.NewRequest(method, s.apiURL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, status, raw)
	}
	if code == "" {
		return
	}
	var e struct {
		Error struct {
			Code, Message, Field string
		} `json:"error"`
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatalf("%s %s: error body is not JSON: %s", method, path, raw)
	}
	if e.Error.Code != code || field != "" && e.Error.Field != field {
		t.Fatalf("%s %s: code %q field %q (%s), want %q %q", method, path, e.Error.Code, e.Error.Field, e.Error.Message, code, field)
	}
}

// TestBadInputTablestore sends bad requests to the local Tablestore and
// Tunnel endpoints with the official SDK, and a few raw ones.
func TestBadInputTablestore(t *testing.T) {
	t.Parallel()
	s := startStack(t, stackOptions{})
	s.createTable("orders")
	cfg := tablestore.NewDefaultTableStoreConfig()
	cfg.MaxRetryTime = 0
	client := func(key, secret string) *tablestore.TableStoreClient {
		return tablestore.NewClientWithConfig(strings.TrimSuffix(s.cleanOTS, "/"), instance, key, secret, "", cfg)
	}
	putRow := func(c *tablestore.TableStoreClient, table string, pkValue any, cond tablestore.RowExistenceExpectation) error {
		pk := &tablestore.PrimaryKey{}
		pk.AddPrimaryKeyColumn("id", pkValue)
		ch := &tablestore.PutRowChange{TableName: table, PrimaryKey: pk}
		ch.AddColumn("v", int64(1))
		ch.SetCondition(cond)
		_, err := c.PutRow(&tablestore.PutRowRequest{PutRowChange: ch})
		return err
	}
	good := client(cloudKeyID, cloudSecret)
	meta := &tablestore.TableMeta{TableName: "orders"}
	meta.AddPrimaryKeyColumn("id", tablestore.PrimaryKeyType_INTEGER)
	createAgain := &tablestore.CreateTableRequest{TableMeta: meta, TableOption: &tablestore.TableOption{TimeToAlive: -1, MaxVersion: 1},
		ReservedThroughput: &tablestore.ReservedThroughput{}}
	cases := []struct {
		name   string
		call   func() error
		status int
		code   string
	}{
		{"wrong secret", func() error { _, err := client(cloudKeyID, "wrong").ListTable(); return err }, 403, "OTSAuthFailed"},
		{"unknown access key", func() error { _, err := client("nobody", cloudSecret).ListTable(); return err }, 403, "OTSAuthFailed"},
		{"missing table", func() error { return putRow(good, "nope", int64(1), tablestore.RowExistenceExpectation_IGNORE) }, 404, "OTSObjectNotExist"},
		{"table exists", func() error { _, err := good.CreateTable(createAgain); return err }, 409, "OTSObjectAlreadyExist"},
		{"primary key of the wrong type", func() error { return putRow(good, "orders", "one", tablestore.RowExistenceExpectation_IGNORE) }, 400, "OTSInvalidPK"},
		{"condition fails", func() error { return putRow(good, "orders", int64(7), tablestore.RowExistenceExpectation_EXPECT_EXIST) }, 403, "OTSConditionCheckFail"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.call()
			var oe *tablestore.OtsError
			if !errors.As(err, &oe) || oe.HttpStatusCode != c.status || oe.Code != c.code {
				t.Fatalf("got %v, want %d %s", err, c.status, c.code)
			}
		})
	}
	t.Run("unsigned garbage", func(t *testing.T) {
		resp, err := http.Post(s.cleanOTS+"/PutRow", "application/x-protobuf", bytes.NewReader([]byte{0xff, 0x00, 0x13, 0x37}))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		// The answer is a protobuf Error: code and message as strings.
		if resp.StatusCode != http.StatusBadRequest || !bytes.Contains(body, []byte("OTSParameterInvalid")) ||
			!bytes.Contains(body, []byte("Missing header")) {
			t.Fatalf("status %d %q, want 400 OTSParameterInvalid naming the missing header", resp.StatusCode, body)
		}
	})
	t.Run("tunnel read of an unknown tunnel", func(t *testing.T) {
		api := sdktunnel.NewTunnelApi(s.cleanOTS, instance, cloudKeyID, cloudSecret, &sdktunnel.TunnelConfig{MaxRetryElapsedTime: time.Second})
		_, err := api.ReadRecords(&sdktunnel.ReadRecordRequest{TunnelId: "no-such-tunnel", ClientId: "c", ChannelId: "ch", Token: "bm90IGEgdG9rZW4="})
		var te *sdktunnel.TunnelError
		if !errors.As(err, &te) || te.Code != sdktunnel.ErrCodeParamInvalid {
			t.Fatalf("got %v, want %s", err, sdktunnel.ErrCodeParamInvalid)
		}
	})
}

// TestBadInputOSS sends bad requests to the local OSS with the official SDK.
func TestBadInputOSS(t *testing.T) {
	t.Parallel()
	s := startStack(t, stackOptions{})
	s.createBucket("lake")
	bucket, err := s.oss0.Bucket("lake")
	if err != nil {
		t.Fatal(err)
	}
	if err := bucket.PutObject("a/b.parquet", strings.NewReader("data")); err != nil {
		t.Fatal(err)
	}
	other := func(key, secret string) *oss.Bucket {
		c, err := oss.New(s.cleanOSS, key, secret)
		if err != nil {
			t.Fatal(err)
		}
		b, err := c.Bucket("lake")
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	missing, _ := s.oss0.Bucket("no-such-bucket")
	getErr := func(b *oss.Bucket, key string, opts ...oss.Option) error {
		rc, err := b.GetObject(key, opts...)
		if err == nil {
			_ = rc.Close()
		}
		return err
	}
	cases := []struct {
		name   string
		call   func() error
		status int
		code   string
	}{
		{"wrong secret", func() error { return getErr(other(cloudKeyID, "wrong"), "a/b.parquet") }, 403, "SignatureDoesNotMatch"},
		{"unknown access key", func() error { return getErr(other("nobody", "x"), "a/b.parquet") }, 403, "InvalidAccessKeyId"},
		{"missing key", func() error { return getErr(bucket, "a/none") }, 404, "NoSuchKey"},
		{"missing bucket", func() error { return getErr(missing, "a/b.parquet") }, 404, "NoSuchBucket"},
		{"key over 1023 bytes", func() error { return bucket.PutObject(strings.Repeat("k", 1024), strings.NewReader("x")) }, 400, "InvalidObjectName"},
		{"wrong Content-MD5", func() error {
			return bucket.PutObject("md5", strings.NewReader("data"), oss.ContentMD5("1B2M2Y8AsgTpgAmY7PhCfg=="))
		}, 400, "InvalidDigest"},
		{"delete a non-empty bucket", func() error { return s.oss0.DeleteBucket("lake") }, 409, "BucketNotEmpty"},
		{"complete an unknown part", func() error {
			imur, err := bucket.InitiateMultipartUpload("mp")
			if err != nil {
				return err
			}
			_, err = bucket.CompleteMultipartUpload(imur, []oss.UploadPart{{PartNumber: 1, ETag: `"0123456789abcdef0123456789abcdef"`}})
			return err
		}, 400, "InvalidPart"},
		{"unsupported bucket configuration", func() error {
			return s.oss0.SetBucketLifecycle("lake", []oss.LifecycleRule{{ID: "r", Prefix: "a", Status: "Enabled", Expiration: &oss.LifecycleExpiration{Days: 1}}})
		}, 501, "NotImplemented"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.call()
			var se oss.ServiceError
			if !errors.As(err, &se) || se.StatusCode != c.status || se.Code != c.code {
				t.Fatalf("got %v, want %d %s", err, c.status, c.code)
			}
		})
	}
	t.Run("anonymous read of a private bucket", func(t *testing.T) {
		resp, err := http.Get(s.cleanOSS + "/lake/a/b.parquet")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || !bytes.Contains(body, []byte("<Code>AccessDenied</Code>")) {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
	})
	t.Run("range past the end is ignored", func(t *testing.T) {
		// Like OSS without x-oss-range-behavior: standard, an unsatisfiable
		// range returns the whole object.
		rc, err := bucket.GetObject("a/b.parquet", oss.NormalizedRange("100-200"))
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		_ = rc.Close()
		if string(data) != "data" {
			t.Fatalf("got %q, want the whole object", data)
		}
	})
	t.Run("create an existing bucket of the same owner", func(t *testing.T) {
		if err := s.oss0.CreateBucket("lake"); err != nil {
			t.Fatalf("got %v, want success (idempotent for its owner)", err)
		}
	})
	t.Run("invalid bucket name", func(t *testing.T) {
		// The SDK checks bucket names itself; raw HTTP reaches the server.
		resp, err := http.DefaultClient.Do(mustRequest(t, http.MethodPut, s.cleanOSS+"/Bad_Bucket"))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !bytes.Contains(body, []byte("<Code>InvalidBucketName</Code>")) {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
	})
}

func mustRequest(t *testing.T, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}
