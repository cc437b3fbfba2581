package adminhttp

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestFromLoopback(t *testing.T) {
	for addr, want := range map[string]bool{"127.0.0.1:5000": true, "[::1]:5000": true, "10.1.2.3:5000": false, "192.0.2.1:80": false, "garbage": false} {
		r := httptest.NewRequest(http.MethodPost, "/_admin/faults", nil)
		r.RemoteAddr = addr
		if got := FromLoopback(r); got != want {
			t.Errorf("FromLoopback(%s) = %v, want %v", addr, got, want)
		}
	}
}

func TestErrorIsJSONWithTheStatus(t *testing.T) {
	w := httptest.NewRecorder()
	Error(w, http.StatusForbidden, "loopback only")
	var body map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != http.StatusForbidden || body["error"] != "loopback only" ||
		w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("answer %d %q %q (%v)", w.Code, w.Header().Get("Content-Type"), w.Body.String(), err)
	}
}
