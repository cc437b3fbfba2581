package ui

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// RequireToken lets through to page only the requests that carry the
// executor's API token: as a bearer token (what the CLI's status command
// sends) or as the password of HTTP basic authentication (what a browser
// sends after prompting for it; the user name is ignored). The page shows no
// secret, but it does show every task's table, bucket, prefix and errors,
// which an executor listening beyond loopback must not hand to anyone who
// asks.
func RequireToken(page http.Handler, token string) http.Handler {
	want := sha256.Sum256([]byte(token))
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

func carriesToken(r *http.Request, want [sha256.Size]byte) bool {
	var got string
	if _, password, ok := r.BasicAuth(); ok {
		got = password
	} else {
		h := r.Header.Get("Authorization")
		const scheme = "Bearer "
		if len(h) <= len(scheme) || !strings.EqualFold(h[:len(scheme)], scheme) {
			return false
		}
		got = strings.TrimSpace(h[len(scheme):])
	}
	// Comparing digests keeps the comparison constant-time in the length too.
	sum := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(sum[:], want[:]) == 1
}
