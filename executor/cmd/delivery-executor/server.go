package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// endpoint is one HTTP listener the process serves.
type endpoint struct {
	name     string // as printed in the ready line: api, tablestore, oss
	listener net.Listener
	handler  http.Handler
}

// listen opens a TCP listener; port 0 picks a free port.
func listen(name, addr string) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for %s on %s: %w", name, addr, err)
	}
	return l, nil
}

// baseURL is the http URL of a listener, with port 0 resolved.
func baseURL(l net.Listener) string { return listenerScheme(l) + "://" + l.Addr().String() }

// serving is a set of endpoints being served.
type serving struct {
	log       *slog.Logger
	endpoints []endpoint
	servers   []*http.Server
	errc      chan error
}

// startServing serves every endpoint in the background. Components that call
// each other over HTTP (the executor calls the local cloud) can be built once
// their peers answer.
func startServing(log *slog.Logger, endpoints ...endpoint) *serving {
	s := &serving{log: log, errc: make(chan error, 8)}
	s.add(endpoints...)
	return s
}

func (s *serving) add(endpoints ...endpoint) {
	for _, ep := range endpoints {
		srv := &http.Server{
			Handler:           ep.handler,
			ReadHeaderTimeout: 30 * time.Second,
			ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		}
		s.endpoints = append(s.endpoints, ep)
		s.servers = append(s.servers, srv)
		go func() {
			if err := srv.Serve(ep.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.errc <- fmt.Errorf("serve %s: %w", ep.name, err)
			}
		}()
	}
}

// urls are the group's "name=URL" words for the ready line.
func (s *serving) urls() []string {
	var out []string
	for _, ep := range s.endpoints {
		out = append(out, ep.name+"="+baseURL(ep.listener))
	}
	return out
}

// waitForStop prints the ready line (words joined by spaces after "ready")
// and blocks until ctx is cancelled, SIGINT/SIGTERM arrives or a server
// reports a failure. The caller then shuts everything down in dependency
// order: the executor first (its pipelines flush to the local cloud or
// abandon buffers to the last checkpoint, never half-written), the local
// cloud last.
func waitForStop(ctx context.Context, log *slog.Logger, stdout io.Writer, ready []string, failures ...<-chan error) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(stdout, "ready %s\n", strings.Join(ready, " "))
	failed := make(chan error, len(failures))
	for _, f := range failures {
		go func() {
			select {
			case err := <-f:
				failed <- err
			case <-ctx.Done():
			}
		}()
	}
	select {
	case <-ctx.Done():
		log.Info("shutting down")
		return nil
	case err := <-failed:
		log.Error("server failed", "err", err)
		return err
	}
}

func (s *serving) shutdown() {
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i, srv := range s.servers {
		if err := srv.Shutdown(shutdownCtx); err != nil {
			s.log.Warn("shutdown", "endpoint", s.endpoints[i].name, "err", err)
		}
	}
}

func newLogger(stderr io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: l})), nil
}
