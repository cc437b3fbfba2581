package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net"
)

// apiTLS is the optional TLS of the executor API (--tls-cert, --tls-key).
// The local cloud's endpoints stay plain HTTP: they serve loopback clients
// that the official SDKs point at http:// endpoints.
type apiTLS struct {
	certFile, keyFile string
	config            *tls.Config // nil: plain HTTP
}

func (a *apiTLS) register(fs *flag.FlagSet) {
	fs.StringVar(&a.certFile, "tls-cert", "", "PEM certificate (chain) of the executor API; serves HTTPS when set with --tls-key")
	fs.StringVar(&a.keyFile, "tls-key", "", "PEM private key of --tls-cert")
}

// load reads the key pair; both flags or neither must be set.
func (a *apiTLS) load() error {
	switch {
	case a.certFile == "" && a.keyFile == "":
		return nil
	case a.certFile == "" || a.keyFile == "":
		return errors.New("--tls-cert and --tls-key: set both or neither")
	}
	pair, err := tls.LoadX509KeyPair(a.certFile, a.keyFile)
	if err != nil {
		return fmt.Errorf("--tls-cert/--tls-key: %w", err)
	}
	a.config = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	return nil
}

// wrap returns l itself, or l serving TLS when a key pair is configured.
func (a *apiTLS) wrap(l net.Listener) net.Listener {
	if a.config == nil {
		return l
	}
	return &tlsListener{Listener: tls.NewListener(l, a.config)}
}

// tlsListener marks a listener that serves TLS, so that the ready line
// prints an https:// URL for it.
type tlsListener struct{ net.Listener }

// listenerScheme is "https" for a TLS listener, else "http".
func listenerScheme(l net.Listener) string {
	if _, ok := l.(*tlsListener); ok {
		return "https"
	}
	return "http"
}
