package main

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

func TestPprofListenServesProfilesOnLoopbackOnly(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	for _, addr := range []string{"0.0.0.0:0", "192.0.2.1:0", "no-port"} {
		p := pprofListen{addr: addr}
		if _, err := p.start(log); err == nil || !strings.Contains(err.Error(), "--pprof-listen") {
			t.Errorf("start(%q) = %v, want an error naming --pprof-listen", addr, err)
		}
	}
	off := pprofListen{}
	if addr, err := off.start(log); addr != "" || err != nil {
		t.Errorf("an empty flag started a listener: %q, %v", addr, err)
	}
	on := pprofListen{addr: "127.0.0.1:0"}
	addr, err := on.start(log)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "goroutine profile") {
		t.Errorf("goroutine profile: %d %.200s", resp.StatusCode, body)
	}
}
