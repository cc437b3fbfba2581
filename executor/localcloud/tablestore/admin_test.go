package tablestore

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func adminSplit(t *testing.T, e *env, table, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(e.http.URL+AdminTablesPath+table+"/split", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("split answer is not JSON: %v", err)
	}
	return resp.StatusCode, out
}

// POST /_admin/tables/{table}/split splits the busiest partition (or the one
// named) and names parent and children; rows stay readable, the split
// survives a restart, and bad requests get clear errors.
func TestAdminSplit(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Shards = 1 })
	e.createTable("t", 1)
	for i := range 40 {
		e.put("t", fmt.Sprintf("k%02d", i), 1, map[string]any{"v": int64(i)})
	}
	code, out := adminSplit(t, e, "t", "")
	children, _ := out["children"].([]any)
	if code != http.StatusOK || out["parent"] == "" || len(children) != 2 || out["table"] != "t" || out["parentRows"] != float64(40) {
		t.Fatalf("split: %d %v", code, out)
	}
	code, again := adminSplit(t, e, "t", `{"partition": "`+children[1].(string)+`"}`)
	if code != http.StatusOK || again["parent"] != children[1] {
		t.Fatalf("split of a named child: %d %v", code, again)
	}
	if code, out := adminSplit(t, e, "t", `{"partition": "`+children[1].(string)+`"}`); code != http.StatusBadRequest || !strings.Contains(out["error"].(string), "already split") {
		t.Fatalf("split of a split partition: %d %v", code, out)
	}
	if code, out := adminSplit(t, e, "t", `{"partition": 3}`); code != http.StatusBadRequest || out["error"] == "" {
		t.Fatalf("split with a bad body: %d %v", code, out)
	}
	if code, out := adminSplit(t, e, "t", `{"partition": "nope"}`); code != http.StatusNotFound {
		t.Fatalf("split of an unknown partition: %d %v", code, out)
	}
	if code, out := adminSplit(t, e, "missing", ""); code != http.StatusNotFound {
		t.Fatalf("split of a missing table: %d %v", code, out)
	}
	resp, err := http.Get(e.http.URL + AdminTablesPath + "t/split")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET split: %d", resp.StatusCode)
	}
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, AdminTablesPath+"t/split", nil)
	r.RemoteAddr = "192.0.2.7:4000"
	e.srv.ServeHTTP(w, r)
	if w.Code != http.StatusForbidden {
		t.Fatalf("split from a non-loopback client: %d", w.Code)
	}

	e.restart()
	parts, err := e.srv.Storage().Partitions("local", "t")
	if err != nil || len(parts) != 5 {
		t.Fatalf("partitions after restart: %d %v", len(parts), err)
	}
	for i := range 40 {
		if v := colValues(e.get("t", fmt.Sprintf("k%02d", i), 1, 1).Columns)["v"]; len(v) != 1 || v[0] != int64(i) {
			t.Fatalf("row %d after splits: %v", i, v)
		}
	}
}
