package pipeline

import (
	"net"
	"net/http"
	"time"
)

// newTransport returns the HTTP transport of the tunnel client: the SDK's
// default shares http.DefaultTransport, whose two idle connections per host
// are too few for a worker polling many channels at once.
func newTransport() *http.Transport {
	return &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
	}
}
