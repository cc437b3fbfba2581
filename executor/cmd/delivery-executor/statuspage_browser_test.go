package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/ui"
)

// findChromium returns Debian's chromium (or another Chromium build named by
// $CHROMIUM). CI installs it, so there its absence fails the test; a
// developer machine without it skips.
func findChromium(t *testing.T) string {
	t.Helper()
	candidates := []string{os.Getenv("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed: the status page browser test needs it (apt-get install -y chromium; .ci/run installs it)")
	}
	t.Skip("chromium is not installed (apt-get install -y chromium); skipping the browser test outside CI")
	return ""
}

// headless runs chromium without a sandbox (tests run as root in CI), GPU,
// network side traffic or profile reuse, and returns its stdout.
func headless(t *testing.T, chromium string, args ...string) []byte {
	t.Helper()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--hide-scrollbars", "--user-data-dir=" + t.TempDir()}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, append(base, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return stdout.Bytes()
}

// TestStatusPageInBrowser loads /ui of a running executor with a delivering
// task in a real headless Chromium and checks what a person sees; it leaves a
// screenshot in build/ui-screenshot.png.
func TestStatusPageInBrowser(t *testing.T) {
	chromium := findChromium(t)
	args := append([]string{"serve", "--embedded", "--data-dir", t.TempDir()}, freeAddrs()...)
	_, ready := startProcess(t, args...)
	const rows = 2000
	deliveringTask(t, ready, "orders", "orders-lake", rows)

	// Wait until the sampler has lag points for the chart and has listed
	// the objects.
	deadline := time.Now().Add(45 * time.Second)
	for {
		s := pageStatus(t, ready["api"])
		if len(s.Tasks) == 1 && lagSamples(s.Tasks[0]) >= 2 && len(s.Tasks[0].Objects) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status page data not ready within 45 s: %+v", s)
		}
		time.Sleep(500 * time.Millisecond)
	}

	pageURL := ready["api"] + "/ui"
	dom := string(headless(t, chromium, "--virtual-time-budget=3000", "--dump-dom", pageURL))
	checks := []struct{ what, pattern string }{
		{"task name", `class="task-name">orders-lake<`},
		{"phase", `data-phase="INCR"[^>]*>INCR<`},
		{"rows delivered counter", `data-counter="rows_delivered">2,000<`},
		{"objects written counter", `data-counter="objects_written">[1-9][0-9,]*<`},
		{"last synced time", `last synced 20\d\d-\d\d-\d\d \d\d:\d\d:\d\d UTC`},
		{"lag", `lag \d+(\.\d+)?m?s`},
		{"lag chart with a line", `<svg class="lag-chart"[^>]*>\s*<polyline points="[0-9.]+,[0-9.]+ [0-9.]+,[0-9.]+`},
		{"latest object row", `<tr class="object"><td><code>orders/year=\d{4}/month=\d\d/day=\d\d/orders-lake_\d+_orders_year=\d{4}_month=\d\d_day=\d\d__\d+</code>`},
	}
	for _, c := range checks {
		if !regexp.MustCompile(c.pattern).MatchString(dom) {
			t.Errorf("page lacks the %s (/%s/); DOM:\n%s", c.what, c.pattern, dom)
		}
	}
	if strings.Contains(dom, devAccessKeySecret) || strings.Contains(dom, devAPIToken) {
		t.Error("the status page shows a secret")
	}

	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(root, "build", "ui-screenshot.png")
	if err := os.MkdirAll(filepath.Dir(shot), 0o755); err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(shot)
	headless(t, chromium, "--virtual-time-budget=3000", "--window-size=1280,900", "--screenshot="+shot, pageURL)
	data, err := os.ReadFile(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 900 {
		t.Fatalf("screenshot is %v, want 1280x900", b)
	}
	// A blank page is one colour; the rendered page has many.
	colours := map[uint32]bool{}
	for y := 0; y < 900; y += 7 {
		for x := 0; x < 1280; x += 7 {
			r, g, b, _ := img.At(x, y).RGBA()
			colours[r>>8<<16|g>>8<<8|b>>8] = true
		}
	}
	if len(colours) < 8 {
		t.Fatalf("screenshot looks blank (%d colours)", len(colours))
	}
	t.Logf("screenshot: %s", shot)
}

func pageStatus(t *testing.T, api string) ui.Status {
	t.Helper()
	resp, err := http.Get(api + "/ui/status.json") // no token: with the development token the page is open
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /ui/status.json: status %d", resp.StatusCode)
	}
	var s ui.Status
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func lagSamples(v ui.TaskView) int {
	n := 0
	for _, s := range v.History {
		if s.LagSeconds != nil {
			n++
		}
	}
	return n
}
