package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud"
)

// envPprofListen names the environment variable that sets --pprof-listen, so
// that `delivery-executor bench --executor-env` can turn profiling on in the
// executors it starts.
const envPprofListen = "DELIVERY_PPROF_LISTEN"

// pprofListen is the opt-in --pprof-listen flag: Go's runtime profiles
// (net/http/pprof) on a listener of their own, loopback only, so that a
// profile of a running executor needs neither the API token nor a rebuild.
type pprofListen struct {
	addr string
}

func (p *pprofListen) register(fs *flag.FlagSet) {
	fs.StringVar(&p.addr, "pprof-listen", envOr(envPprofListen, ""),
		"loopback address serving Go's profiles under /debug/pprof/ (env "+envPprofListen+"); default: off")
}

// start listens and serves the profiles until the process exits, and
// returns the address it listens on; it is a no-op when the flag is empty.
func (p *pprofListen) start(log *slog.Logger) (string, error) {
	if p.addr == "" {
		return "", nil
	}
	host, _, err := net.SplitHostPort(p.addr)
	if err != nil {
		return "", fmt.Errorf("--pprof-listen: %w", err)
	}
	if !localcloud.IsLoopback(host) {
		return "", fmt.Errorf("--pprof-listen: %q is not a loopback address (profiles are not authenticated)", p.addr)
	}
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		return "", fmt.Errorf("--pprof-listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 30 * time.Second}
	log.Info("serving Go profiles", "url", "http://"+ln.Addr().String()+"/debug/pprof/")
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("profile listener stopped", "err", err)
		}
	}()
	return ln.Addr().String(), nil
}
