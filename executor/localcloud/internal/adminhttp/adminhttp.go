// Package adminhttp holds what the local cloud's admin routes share
// (/_admin/faults on both listeners, /_admin/tables/{table}/split on the
// Tablestore one): they answer loopback clients only, with JSON errors. They
// are test tools, never part of the Alibaba protocols.
package adminhttp

import (
	"encoding/json"
	"net"
	"net/http"
)

// FromLoopback reports whether the request comes from a loopback address.
func FromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Error answers {"error": message} with status.
func Error(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": message})
}
