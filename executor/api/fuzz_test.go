package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzRequestBodies sends arbitrary bodies to the create, patch and role
// endpoints: the server must answer with a documented client status or
// success, never a 5xx or a panic.
func FuzzRequestBodies(f *testing.F) {
	for _, s := range []string{
		`{"name":"fz-task","table":"orders","bucket":"lake","prefix":"p/$yyyy","columns":[{"source":"id","type":"INT64"}]}`,
		`{"name":"fz-auto","table":"events","bucket":"lake","prefix":"e"}`,
		`{"flush_interval_seconds":60,"bucket":"lake"}`,
		`{"oss_access_key_id":"a","oss_access_key_secret":"b"}`,
		`{"columns":[{"source":"id","type":"INT64","encoding":"PLAIN"}],"event_time_column":null}`,
		`[]`, `null`, `{"a":1}{}`, "\x00", `{"flush_interval_seconds":1e400}`,
	} {
		f.Add(s)
	}
	e := newEnv(f, ordersCatalog(), nil)
	f.Fuzz(func(t *testing.T, body string) {
		for _, target := range []struct{ method, path string }{
			{http.MethodPost, "/v1/tasks"},
			{http.MethodPatch, "/v1/tasks/orders/fz-task"},
			{http.MethodPut, "/v1/roles/fz-role"},
		} {
			req := httptest.NewRequest(target.method, target.path, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+testToken)
			rec := httptest.NewRecorder()
			e.server.ServeHTTP(rec, req)
			switch rec.Code {
			case http.StatusOK, http.StatusCreated, http.StatusBadRequest, http.StatusNotFound, http.StatusConflict:
			default:
				t.Fatalf("%s %s with %q = %d: %s", target.method, target.path, body, rec.Code, rec.Body.String())
			}
			if !strings.Contains(rec.Header().Get("Content-Type"), "application/json") {
				t.Fatalf("%s %s answered %q", target.method, target.path, rec.Header().Get("Content-Type"))
			}
		}
	})
}
