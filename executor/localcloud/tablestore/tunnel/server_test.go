package tunnel

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/storage"
)

// newTestServer serves the tunnel service over HTTP.
func newTestServer(t *testing.T, svc *Service, _ *storage.Store) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/tunnel/", svc)
	return httptest.NewServer(mux)
}
