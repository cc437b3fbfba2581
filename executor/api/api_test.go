package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/catalog"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/client"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

func apiErr(t *testing.T, err error) *client.APIError {
	t.Helper()
	var ae *client.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an *client.APIError", err)
	}
	return ae
}

func TestAuthRequiredOnEveryV1Route(t *testing.T) {
	e := newEnv(t, ordersCatalog(), nil)
	paths := map[string]string{
		"/v1/roles": http.MethodGet, "/v1/roles/r": http.MethodPut, "/v1/tasks": http.MethodPost,
		"/v1/tasks/orders/x": http.MethodDelete, "/v1/tasks/orders/x/ddl": http.MethodGet, "/v1/nothing": http.MethodGet,
	}
	for path, method := range paths {
		for _, token := range []string{"", "wrong-token", testToken + "x"} {
			resp := e.do(method, path, token, strings.NewReader("{}"))
			var body errorBody
			_ = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized || body.Error.Code != task.CodeUnauthenticated {
				t.Errorf("%s %s with token %q = %d %q, want 401 Unauthenticated", method, path, token, resp.StatusCode, body.Error.Code)
			}
		}
	}
	// The client surfaces it as a typed error.
	bad, _ := client.New(e.baseURL, "nope")
	if _, err := bad.ListTasks(context.Background(), ""); !client.IsUnauthenticated(err) {
		t.Fatalf("ListTasks with a wrong token = %v, want 401", err)
	}
	// Health and metrics need no token.
	if err := bad.Health(context.Background()); err != nil {
		t.Fatalf("Health: %v", err)
	}
	resp := e.do(http.MethodGet, "/metrics", "", nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics = %d", resp.StatusCode)
	}
	// A known route answers with the right token (lower-case scheme too).
	req, _ := http.NewRequest(http.MethodGet, e.baseURL+"/v1/roles", nil)
	req.Header.Set("Authorization", "bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/roles with a lower-case scheme = %d", resp.StatusCode)
	}
}

// TestWrongMethodOnAKnownPathIs405: a path the API serves, asked with a
// method it does not serve there, is 405 MethodNotAllowed with an Allow
// header; an unknown path stays 404, and without a token both stay 401.
func TestWrongMethodOnAKnownPathIs405(t *testing.T) {
	e := newEnv(t, ordersCatalog(), nil)
	for _, c := range []struct {
		method, path, allow string
	}{
		{http.MethodPatch, "/v1/roles", "GET"},
		{http.MethodPost, "/v1/roles/r", "PUT, GET, DELETE"},
		{http.MethodPut, "/v1/tasks", "POST, GET"},
		{http.MethodPost, "/v1/tasks/orders/x", "GET, PATCH, DELETE"},
		{http.MethodDelete, "/v1/tasks/orders/x/ddl", "GET"},
		{http.MethodPost, "/healthz", "GET"},
	} {
		resp := e.do(c.method, c.path, testToken, strings.NewReader("{}"))
		var body errorBody
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || body.Error.Code != task.CodeMethodNotAllowed ||
			resp.Header.Get("Allow") != c.allow || !strings.Contains(body.Error.Message, c.allow) {
			t.Errorf("%s %s = %d %q Allow %q (%q), want 405 %s Allow %q", c.method, c.path, resp.StatusCode,
				body.Error.Code, resp.Header.Get("Allow"), body.Error.Message, task.CodeMethodNotAllowed, c.allow)
		}
		if c.path == "/healthz" {
			continue
		}
		resp = e.do(c.method, c.path, "", strings.NewReader("{}"))
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s %s without a token = %d, want 401", c.method, c.path, resp.StatusCode)
		}
	}
	resp := e.do(http.MethodGet, "/v1/nothing/here", testToken, nil)
	var body errorBody
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || body.Error.Code != task.CodeNotFound {
		t.Errorf("GET /v1/nothing/here = %d %q, want 404 %s", resp.StatusCode, body.Error.Code, task.CodeNotFound)
	}
}

func TestRoles(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, ordersCatalog(), nil)
	const secret = "s3cr3t-value-never-returned"
	role, err := e.client.PutRole(ctx, task.DefaultRoleName, task.RoleInput{
		OSSAccessKeyID: "local-dev-key", OSSAccessKeySecret: secret, Description: "writes the lake"})
	if err != nil {
		t.Fatal(err)
	}
	if role.ARN != "acs:ram::"+task.DefaultAccountID+":role/aliyunserviceroleforotsdatadelivery" {
		t.Fatalf("ARN = %q", role.ARN)
	}
	created := role.CreatedAt
	time.Sleep(5 * time.Millisecond)
	role, err = e.client.PutRole(ctx, task.DefaultRoleName, task.RoleInput{OSSAccessKeyID: "k2", OSSAccessKeySecret: "s2"})
	if err != nil || !role.CreatedAt.Equal(created) || role.Description != "" {
		t.Fatalf("replacing a role = %+v, %v; want created_at kept", role, err)
	}
	rec, err := e.reg.GetRole(ctx, task.DefaultRoleName)
	if err != nil || rec.Credentials.AccessKeyID != "k2" || rec.Credentials.AccessKeySecret != "s2" {
		t.Fatalf("stored credentials = %+v, %v", rec.Credentials, err)
	}
	if _, err := e.client.PutRole(ctx, "writer", task.RoleInput{OSSAccessKeyID: "a", OSSAccessKeySecret: secret}); err != nil {
		t.Fatal(err)
	}
	// The secret never comes back, from any read.
	for _, path := range []string{"/v1/roles", "/v1/roles/writer"} {
		resp := e.do(http.MethodGet, path, testToken, nil)
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || strings.Contains(string(data), secret) || strings.Contains(string(data), "secret") {
			t.Fatalf("GET %s = %d %s: status or a secret leaked", path, resp.StatusCode, data)
		}
	}
	roles, err := e.client.ListRoles(ctx)
	if err != nil || len(roles) != 2 || roles[0].Name != task.DefaultRoleName || roles[1].Name != "writer" {
		t.Fatalf("ListRoles = %+v, %v", roles, err)
	}
	// The access key id (an identifier, not a credential) is returned, so
	// that clients can see it drift.
	if roles[0].OSSAccessKeyID != "k2" || roles[1].OSSAccessKeyID != "a" {
		t.Fatalf("ListRoles key ids = %q, %q; want k2, a", roles[0].OSSAccessKeyID, roles[1].OSSAccessKeyID)
	}
	// A name differing only in case would share the ARN.
	_, err = e.client.PutRole(ctx, "Writer", task.RoleInput{OSSAccessKeyID: "a", OSSAccessKeySecret: "b"})
	if !client.IsConflict(err) || apiErr(t, err).Code != task.CodeRoleAlreadyExists || apiErr(t, err).Field != "name" {
		t.Fatalf("PutRole(Writer) = %v, want 409 RoleAlreadyExists on name", err)
	}
	// Validation names the field.
	for _, c := range []struct {
		name  string
		in    task.RoleInput
		field string
	}{
		{"bad name!", task.RoleInput{OSSAccessKeyID: "a", OSSAccessKeySecret: "b"}, "name"},
		{"ok", task.RoleInput{OSSAccessKeySecret: "b"}, "oss_access_key_id"},
		{"ok", task.RoleInput{OSSAccessKeyID: "a"}, "oss_access_key_secret"},
		{"ok", task.RoleInput{OSSAccessKeyID: "a", OSSAccessKeySecret: "b", Description: strings.Repeat("d", 1025)}, "description"},
	} {
		_, err := e.client.PutRole(ctx, c.name, c.in)
		if !client.IsInvalid(err) || apiErr(t, err).Field != c.field {
			t.Errorf("PutRole(%q, %+v) = %v, want 400 on %s", c.name, c.in, err, c.field)
		}
	}
	resp := e.do(http.MethodPut, "/v1/roles/x", testToken, strings.NewReader(`{"oss_access_key_id":"a","oss_access_key_secret":"b","extra":1}`))
	var body errorBody
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || body.Error.Field != "extra" {
		t.Fatalf("unknown field = %d %+v, want 400 naming extra", resp.StatusCode, body)
	}
	if err := e.client.DeleteRole(ctx, "writer"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.GetRole(ctx, "writer"); !client.IsNotFound(err) || apiErr(t, err).Code != task.CodeRoleNotFound {
		t.Fatalf("GetRole after delete = %v, want 404 RoleNotFound", err)
	}
	if err := e.client.DeleteRole(ctx, "writer"); !client.IsNotFound(err) {
		t.Fatalf("DeleteRole twice = %v, want 404", err)
	}
}

func TestCreateTaskFillsDefaultsAndInitializes(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, ordersCatalog(), nil)
	spec := manualSpec("orders-lake")
	spec.Columns[1].Name = ""
	start := time.Now()
	created, err := e.client.CreateTask(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if created.Status.Phase != task.PhaseInit {
		t.Fatalf("created phase = %s, want INIT", created.Status.Phase)
	}
	want := task.Spec{Name: "orders-lake", Table: "orders", Region: testRegion, Bucket: "lake",
		Prefix: "orders/year=$yyyy/month=$MM/day=$dd", SyncMode: task.SyncDifferential,
		RoleARN: "acs:ram::" + task.DefaultAccountID + ":role/aliyunserviceroleforotsdatadelivery",
		Format:  "parquet", SchemaMode: task.SchemaManual,
		Columns: []task.Column{{Source: "id", Name: "id", Type: task.TypeInt64, Encoding: task.EncodingPlain},
			{Source: "price", Name: "price", Type: task.TypeDouble, Encoding: task.EncodingPlain}},
		Compression: task.CompressionSnappy, FlushIntervalSeconds: 120, TargetObjectSizeMB: 64, TimeZone: "UTC"}
	gotJSON, _ := json.Marshal(created.Spec)
	wantJSON, _ := json.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Fatalf("defaults:\n got %s\nwant %s", gotJSON, wantJSON)
	}
	full := e.waitPhase("orders", "orders-lake", task.PhaseFull)
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("initialization took %v, more than 5 s", d)
	}
	if !slices.Equal(withoutAddedAt(t, full.Status.ResolvedColumns), want.Columns) {
		t.Fatalf("resolved_columns = %+v, want the manual columns", full.Status.ResolvedColumns)
	}
	if ids := e.runner.startedIDs(); !slices.Equal(ids, []string{"orders/orders-lake"}) {
		t.Fatalf("runner started %v", ids)
	}
	if len(e.runner.started[0].Status.ResolvedColumns) != 2 {
		t.Fatal("the runner was started without the resolved columns")
	}

	inc := manualSpec("orders-inc")
	inc.SyncMode = task.SyncIncremental
	if _, err := e.client.CreateTask(ctx, inc); err != nil {
		t.Fatal(err)
	}
	e.waitPhase("orders", "orders-inc", task.PhaseIncr)

	// The same name on the same table conflicts; on another table it is fine.
	_, err = e.client.CreateTask(ctx, spec)
	if !client.IsConflict(err) || apiErr(t, err).Code != task.CodeTaskAlreadyExists || apiErr(t, err).Field != "name" {
		t.Fatalf("duplicate = %v, want 409 TaskAlreadyExists on name", err)
	}
	other := task.Spec{Name: "orders-lake", Table: "events", Bucket: "lake", Prefix: "events"}
	if _, err := e.client.CreateTask(ctx, other); err != nil {
		t.Fatalf("same name on another table: %v", err)
	}

	list, err := e.client.ListTasks(ctx, "orders")
	if err != nil || len(list) != 2 || list[0].Name != "orders-inc" || list[1].Name != "orders-lake" {
		t.Fatalf("ListTasks(orders) = %v, %v", list, err)
	}
	all, err := e.client.ListTasks(ctx, "")
	if err != nil || len(all) != 3 {
		t.Fatalf("ListTasks() = %d tasks, %v; want 3", len(all), err)
	}
	if _, err := e.client.GetTask(ctx, "orders", "missing"); !client.IsNotFound(err) || apiErr(t, err).Code != task.CodeTaskNotFound {
		t.Fatalf("GetTask(missing) = %v, want 404 TaskNotFound", err)
	}
}

func TestAutoSchemaIsResolvedAndStable(t *testing.T) {
	ctx := context.Background()
	cat := ordersCatalog()
	e := newEnv(t, cat, nil)
	if _, err := e.client.CreateTask(ctx, task.Spec{Name: "evt", Table: "events", Bucket: "lake", Prefix: "ev/dt=$yyyy$MM$dd"}); err != nil {
		t.Fatal(err)
	}
	got := e.waitPhase("events", "evt", task.PhaseFull)
	if got.SchemaMode != task.SchemaAuto || len(got.Columns) != 0 {
		t.Fatalf("schema_mode = %s with %d columns, want auto with none", got.SchemaMode, len(got.Columns))
	}
	// PK in key order, then defined columns, then sampled attributes in the
	// order first seen, typed by their first value (value: DOUBLE, not UTF8).
	want := []task.Column{
		{Source: "device", Name: "device", Type: task.TypeUTF8, Encoding: task.EncodingPlain},
		{Source: "seq", Name: "seq", Type: task.TypeInt64, Encoding: task.EncodingPlain},
		{Source: "kind", Name: "kind", Type: task.TypeUTF8, Encoding: task.EncodingPlain},
		{Source: "value", Name: "value", Type: task.TypeDouble, Encoding: task.EncodingPlain},
		{Source: "ok", Name: "ok", Type: task.TypeBool, Encoding: task.EncodingPlain},
		{Source: "raw", Name: "raw", Type: task.TypeBinary, Encoding: task.EncodingPlain},
	}
	if !slices.Equal(withoutAddedAt(t, got.Status.ResolvedColumns), want) {
		t.Fatalf("resolved_columns =\n%+v\nwant\n%+v", got.Status.ResolvedColumns, want)
	}
	// The table's data changes; the resolved schema does not, even after a restart.
	events, _ := cat.DescribeTable(ctx, "events")
	cat.add(events, []catalog.Value{{Column: "zzz", Type: task.TypeInt64}})
	e = e.restart(nil)
	again, err := e.client.GetTask(ctx, "events", "evt")
	if err != nil || !slices.Equal(withoutAddedAt(t, again.Status.ResolvedColumns), want) {
		t.Fatalf("after restart resolved_columns = %+v, %v", again.Status.ResolvedColumns, err)
	}
}

func TestInitializationRetriesAndReportsErrors(t *testing.T) {
	ctx := context.Background()
	cat := ordersCatalog()
	runner := &recordingRunner{failN: 2}
	e := newEnv(t, cat, runner)
	if _, err := e.client.CreateTask(ctx, manualSpec("flaky")); err != nil {
		t.Fatal(err)
	}
	got := e.waitPhase("orders", "flaky", task.PhaseFull)
	if got.Status.ErrorCode != task.ErrNone || got.Status.ErrorDetail != "" {
		t.Fatalf("error not cleared after the runner recovered: %q %q", got.Status.ErrorCode, got.Status.ErrorDetail)
	}

	// An auto task whose table vanishes after creation reports it, and can be
	// deleted although it is still in INIT.
	cat.add(catalogTable("gone"))
	if _, err := e.client.CreateTask(ctx, task.Spec{Name: "gone-task", Table: "gone", Bucket: "lake", Prefix: "g"}); err != nil {
		t.Fatal(err)
	}
	cat.remove("gone")
	// It may have initialized before the table vanished; only check when not.
	deadline := time.Now().Add(5 * time.Second)
	for {
		tk, err := e.client.GetTask(ctx, "gone", "gone-task")
		if err != nil {
			t.Fatal(err)
		}
		if tk.Status.Phase != task.PhaseInit {
			break
		}
		if tk.Status.ErrorCode == task.ErrSourceTableMissing {
			if !strings.Contains(tk.Status.ErrorDetail, "gone") {
				t.Fatalf("error_detail %q does not name the table", tk.Status.ErrorDetail)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no SourceTableMissing error reported")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := e.client.DeleteTask(ctx, "gone", "gone-task"); err != nil {
		t.Fatalf("deleting a task stuck in initialization: %v", err)
	}
}

func TestRuntimeErrorsReportedByPipelinesAreShown(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, ordersCatalog(), nil)
	if _, err := e.client.CreateTask(ctx, manualSpec("errs")); err != nil {
		t.Fatal(err)
	}
	e.waitPhase("orders", "errs", task.PhaseFull)
	synced := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	err := e.reg.UpdateStatus(ctx, "orders", "errs", func(s *task.Status) {
		s.SetError(task.ErrUnauthorized, task.MessageUnauthorized)
		s.RowsDelivered, s.ObjectsWritten, s.BytesWritten, s.RowsDirty = 10, 2, 2048, 1
		s.LastSyncedAt = &synced
		s.CurrentSyncTimestampNs = synced.UnixNano()
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.client.GetTask(ctx, "orders", "errs")
	if err != nil {
		t.Fatal(err)
	}
	st := got.Status
	if st.ErrorCode != task.ErrUnauthorized || st.ErrorDetail != task.MessageUnauthorized || st.RowsDelivered != 10 ||
		st.ObjectsWritten != 2 || st.BytesWritten != 2048 || st.RowsDirty != 1 || st.LastSyncedAt == nil ||
		!st.LastSyncedAt.Equal(synced) || st.CurrentSyncTimestampNs != synced.UnixNano() {
		t.Fatalf("status = %+v", st)
	}
	resp := e.do(http.MethodGet, "/v1/tasks/orders/errs", testToken, nil)
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(data), `"last_synced_at": "2026-11-23T10:00:00Z"`) {
		t.Fatalf("last_synced_at is not RFC 3339 in %s", data)
	}
}

func TestPatch(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, ordersCatalog(), nil)
	if _, err := e.client.CreateTask(ctx, manualSpec("patchy")); err != nil {
		t.Fatal(err)
	}
	e.waitPhase("orders", "patchy", task.PhaseFull)
	flush, size, comp, dirty, arn := 30, 128, task.CompressionZstd, "dirty/orders", "acs:ram::42:role/writer"
	got, err := e.client.UpdateTask(ctx, "orders", "patchy", task.Patch{FlushIntervalSeconds: &flush,
		TargetObjectSizeMB: &size, Compression: &comp, DirtyPrefix: &dirty, RoleARN: &arn})
	if err != nil {
		t.Fatal(err)
	}
	if got.FlushIntervalSeconds != 30 || got.TargetObjectSizeMB != 128 || got.Compression != comp ||
		got.DirtyPrefix != dirty || got.RoleARN != arn || got.Prefix != "orders/year=$yyyy/month=$MM/day=$dd" {
		t.Fatalf("patched task = %+v", got.Spec)
	}
	e.runner.mu.Lock()
	updates := len(e.runner.updated)
	e.runner.mu.Unlock()
	if updates != 1 {
		t.Fatalf("runner got %d updates, want 1", updates)
	}
	stored, _ := e.client.GetTask(ctx, "orders", "patchy")
	if stored.FlushIntervalSeconds != 30 {
		t.Fatal("patch not stored")
	}

	// Immutable fields are refused naming the field; their current value is accepted.
	for field, value := range map[string]string{
		"bucket": `"other"`, "prefix": `"x"`, "sync_mode": `"full"`, "name": `"x2x"`, "table": `"events"`,
		"region": `"cn-beijing"`, "schema_mode": `"auto"`, "format": `"csv"`, "columns": `[]`,
		"event_time_column": `{"name":"ts","format":"Unix"}`, "time_zone": `"Asia/Shanghai"`,
	} {
		resp := e.do(http.MethodPatch, "/v1/tasks/orders/patchy", testToken, strings.NewReader(`{"`+field+`":`+value+`}`))
		var body errorBody
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || body.Error.Code != task.CodeImmutableField || body.Error.Field != field ||
			!strings.HasPrefix(body.Error.Message, field+":") {
			t.Errorf("PATCH %s = %d %+v, want 400 ImmutableField naming it", field, resp.StatusCode, body.Error)
		}
	}
	resp := e.do(http.MethodPatch, "/v1/tasks/orders/patchy", testToken,
		strings.NewReader(`{"bucket":"lake","event_time_column":null,"flush_interval_seconds":45}`))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PATCH with unchanged immutable fields = %d, want 200", resp.StatusCode)
	}
	for body, field := range map[string]string{
		`{"flush_interval_seconds":0}`:      "flush_interval_seconds",
		`{"target_object_size_mb":2048}`:    "target_object_size_mb",
		`{"compression":"lz4"}`:             "compression",
		`{"dirty_prefix":"orders/x"}`:       "dirty_prefix",
		`{"role_arn":"arn:aws:iam::1:x"}`:   "role_arn",
		`{"status":{}}`:                     "status",
		`{"flush_interval_seconds":"fast"}`: "flush_interval_seconds",
	} {
		resp := e.do(http.MethodPatch, "/v1/tasks/orders/patchy", testToken, strings.NewReader(body))
		var eb errorBody
		_ = json.NewDecoder(resp.Body).Decode(&eb)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || eb.Error.Field != field {
			t.Errorf("PATCH %s = %d %+v, want 400 on %s", body, resp.StatusCode, eb.Error, field)
		}
	}
	if _, err := e.client.UpdateTask(ctx, "orders", "nope", task.Patch{FlushIntervalSeconds: &flush}); !client.IsNotFound(err) {
		t.Fatalf("PATCH missing task = %v, want 404", err)
	}
}

func TestDeleteDuringInitIsRefused(t *testing.T) {
	ctx := context.Background()
	runner := &recordingRunner{gate: make(chan struct{})}
	e := newEnv(t, ordersCatalog(), runner)
	if _, err := e.client.CreateTask(ctx, manualSpec("slow")); err != nil {
		t.Fatal(err)
	}
	err := e.client.DeleteTask(ctx, "orders", "slow")
	if !client.IsConflict(err) || !client.IsInitializing(err) {
		t.Fatalf("DELETE during INIT = %v, want 409 TaskInitializing", err)
	}
	if _, err := e.client.GetTask(ctx, "orders", "slow"); err != nil {
		t.Fatalf("the refused delete removed the task: %v", err)
	}
	close(runner.gate)
	e.waitPhase("orders", "slow", task.PhaseFull)
	if err := e.client.DeleteTask(ctx, "orders", "slow"); err != nil {
		t.Fatalf("DELETE after INIT: %v", err)
	}
	runner.mu.Lock()
	stopped := slices.Clone(runner.stopped)
	runner.mu.Unlock()
	if !slices.Equal(stopped, []string{"orders/slow"}) {
		t.Fatalf("runner stopped %v, want the deleted task", stopped)
	}
	if _, err := e.client.GetTask(ctx, "orders", "slow"); !client.IsNotFound(err) {
		t.Fatalf("GetTask after delete = %v, want 404", err)
	}
	if err := e.client.DeleteTask(ctx, "orders", "slow"); !client.IsNotFound(err) {
		t.Fatalf("second delete = %v, want 404", err)
	}
}

func TestEverythingPersistsAcrossRestart(t *testing.T) {
	ctx := context.Background()
	runner := &recordingRunner{}
	e := newEnv(t, ordersCatalog(), runner)
	if _, err := e.client.PutRole(ctx, "writer", task.RoleInput{OSSAccessKeyID: "id", OSSAccessKeySecret: "sec"}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"one", "two", "done"} {
		if _, err := e.client.CreateTask(ctx, manualSpec(name)); err != nil {
			t.Fatal(err)
		}
		e.waitPhase("orders", name, task.PhaseFull)
	}
	if err := e.reg.UpdateStatus(ctx, "orders", "done", func(s *task.Status) { s.Phase = task.PhaseFinished }); err != nil {
		t.Fatal(err)
	}
	// A task caught in INIT when the executor stops.
	runner.mu.Lock()
	runner.gate = make(chan struct{})
	runner.mu.Unlock()
	if _, err := e.client.CreateTask(ctx, manualSpec("pending")); err != nil {
		t.Fatal(err)
	}
	flush := 99
	if _, err := e.client.UpdateTask(ctx, "orders", "one", task.Patch{FlushIntervalSeconds: &flush}); err != nil {
		t.Fatal(err)
	}

	next := &recordingRunner{}
	e = e.restart(next)
	e.waitPhase("orders", "pending", task.PhaseFull)
	deadline := time.Now().Add(5 * time.Second)
	for {
		ids := next.startedIDs()
		slices.Sort(ids)
		if slices.Equal(ids, []string{"orders/one", "orders/pending", "orders/two"}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after restart the runner started %v, want one, pending, two (not the finished task)", ids)
		}
		time.Sleep(10 * time.Millisecond)
	}
	one, err := e.client.GetTask(ctx, "orders", "one")
	if err != nil || one.FlushIntervalSeconds != 99 || one.Status.Phase != task.PhaseFull {
		t.Fatalf("task one after restart = %+v, %v", one, err)
	}
	done, err := e.client.GetTask(ctx, "orders", "done")
	if err != nil || done.Status.Phase != task.PhaseFinished {
		t.Fatalf("finished task after restart = %+v, %v", done, err)
	}
	role, err := e.client.GetRole(ctx, "writer")
	if err != nil || role.ARN != task.RoleARN(task.DefaultAccountID, "writer") {
		t.Fatalf("role after restart = %+v, %v", role, err)
	}
	rec, err := e.reg.GetRole(ctx, "writer")
	if err != nil || rec.Credentials.AccessKeySecret != "sec" {
		t.Fatalf("role secret after restart = %+v, %v", rec.Credentials, err)
	}
}

func TestMetrics(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, ordersCatalog(), nil)
	if _, err := e.client.CreateTask(ctx, manualSpec("metered")); err != nil {
		t.Fatal(err)
	}
	e.waitPhase("orders", "metered", task.PhaseFull)
	if err := e.reg.UpdateStatus(ctx, "orders", "metered", func(s *task.Status) {
		s.SetError(task.ErrInvalidOssBucket, task.MessageInvalidOssBucket)
	}); err != nil {
		t.Fatal(err)
	}
	_, _ = e.client.GetTask(ctx, "orders", "missing")
	resp := e.do(http.MethodGet, "/metrics", "", nil)
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(data)
	for _, want := range []string{
		`delivery_tasks{error_code="InvalidOssBucket",phase="FULL"} 1`,
		`delivery_tasks{error_code="",phase="FULL"} 0`,
		`delivery_tasks{error_code="",phase="INIT"} 0`,
		`delivery_api_requests_total{route="POST /v1/tasks",status="201"} 1`,
		`delivery_api_requests_total{route="GET /v1/tasks/{table}/{name}",status="404"} 1`,
		`delivery_registry_up 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
