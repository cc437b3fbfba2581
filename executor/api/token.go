package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// Token is the executor's API token as the checks hold it: its SHA-256
// digest, so that comparing a presented token is constant-time in its length
// too.
type Token [sha256.Size]byte

// NewToken returns the token to check presented ones against.
func NewToken(token string) Token { return sha256.Sum256([]byte(token)) }

// Matches tells whether presented is the token.
func (t Token) Matches(presented string) bool {
	got := sha256.Sum256([]byte(presented))
	return subtle.ConstantTimeCompare(got[:], t[:]) == 1
}

// BearerToken returns the request's bearer token (the scheme in any case);
// ok is false when the Authorization header holds none.
func BearerToken(r *http.Request) (token string, ok bool) {
	h := r.Header.Get("Authorization")
	const scheme = "Bearer "
	if len(h) <= len(scheme) || !strings.EqualFold(h[:len(scheme)], scheme) {
		return "", false
	}
	return strings.TrimSpace(h[len(scheme):]), true
}
