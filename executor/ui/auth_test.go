package ui

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestRequireTokenAcceptsBearerOrBasicPassword(t *testing.T) {
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("page")) })
	srv := httptest.NewServer(Mount(RequireToken(page, "s3cret-token"), http.NotFoundHandler()))
	defer srv.Close()
	for _, c := range []struct {
		name string
		set  func(r *http.Request)
		want int
	}{
		{"no credentials", func(*http.Request) {}, http.StatusUnauthorized},
		{"right bearer", func(r *http.Request) { r.Header.Set("Authorization", "Bearer s3cret-token") }, http.StatusOK},
		{"lower-case scheme", func(r *http.Request) { r.Header.Set("Authorization", "bearer s3cret-token") }, http.StatusOK},
		{"wrong bearer", func(r *http.Request) { r.Header.Set("Authorization", "Bearer s3cret-tokenx") }, http.StatusUnauthorized},
		{"empty bearer", func(r *http.Request) { r.Header.Set("Authorization", "Bearer ") }, http.StatusUnauthorized},
		{"basic, any user", func(r *http.Request) { r.SetBasicAuth("anyone", "s3cret-token") }, http.StatusOK},
		{"basic, wrong password", func(r *http.Request) { r.SetBasicAuth("s3cret-token", "nope") }, http.StatusUnauthorized},
		{"other scheme", func(r *http.Request) { r.Header.Set("Authorization", "Token s3cret-token") }, http.StatusUnauthorized},
	} {
		for _, path := range []string{"/ui", "/ui/status.json"} {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
			c.set(req)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.want {
				t.Errorf("%s %s: %d, want %d", c.name, path, resp.StatusCode, c.want)
			}
			if c.want == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s %s: 401 without WWW-Authenticate, so a browser would not prompt", c.name, path)
			}
		}
	}
	// Paths outside /ui are not the page's to guard.
	resp, err := http.Get(srv.URL + "/v1/tasks")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("/v1/tasks went through the page's guard: %d", resp.StatusCode)
	}
}
