package ui

import (
	"net/http"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/api"
)

// RequireToken lets through to page only the requests that carry the
// executor's API token: as a bearer token (what the CLI's status command
// sends) or as the password of HTTP basic authentication (what a browser
// sends after prompting for it; the user name is ignored). The page shows no
// secret, but it does show every task's table, bucket, prefix and errors,
// which an executor listening beyond loopback must not hand to anyone who
// asks.
func RequireToken(page http.Handler, token string) http.Handler {
	want := api.NewToken(token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if carriesToken(r, want) {
			page.ServeHTTP(w, r)
			return
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="delivery-executor status page", charset="UTF-8"`)
		http.Error(w, "the status page needs the executor's API token: as a bearer token, or as the password of basic authentication",
			http.StatusUnauthorized)
	})
}

func carriesToken(r *http.Request, want api.Token) bool {
	presented, ok := api.BearerToken(r)
	if _, password, basic := r.BasicAuth(); basic {
		presented, ok = password, true
	}
	return ok && want.Matches(presented)
}
