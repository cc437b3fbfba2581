package tunnel

import (
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	sdktunnel "github.com/aliyun/aliyun-tablestore-go-sdk/tunnel"

	"github.com/tablestore-delivery/terraform-provider-tablestore/internal/testsupport"
)

// owners returns channel count per owning client, and whether every channel
// of the given kind is OPEN and owned.
func owners(d *sdktunnel.DescribeTunnelResponse, kind string) (map[string]int, bool) {
	out := map[string]int{}
	all := true
	for _, ch := range d.Channels {
		if ch.ChannelType != kind {
			continue
		}
		if ch.ChannelStatus != StatusOpen || ch.ClientId == "" {
			all = false
			continue
		}
		out[ch.ClientId]++
	}
	return out, all
}

func balanced(d *sdktunnel.DescribeTunnelResponse, kind string, clients, channels int) bool {
	own, all := owners(d, kind)
	if !all || len(own) != clients {
		return false
	}
	for _, n := range own {
		if n < channels/clients || n > (channels+clients-1)/clients {
			return false
		}
	}
	return true
}

// deliveries returns how many records were delivered in total and how many
// distinct positions they cover: (channel, sequence) for stream records,
// (channel, primary key) for base records, which carry no sequence.
func deliveries(recs []received) (total, distinct int) {
	type key struct {
		ch  string
		ts  int64
		idx int32
	}
	seen := map[key]bool{}
	for _, r := range recs {
		if si := r.rec.SequenceInfo; si != nil {
			seen[key{r.channel, si.Timestamp, si.RowIndex}] = true
		} else {
			seen[key{r.channel, pkID(r.rec), -1}] = true
		}
	}
	return len(recs), len(seen)
}

// Two and three workers share the channels evenly; stopping one hands its
// channels to the others, which resume from the last checkpoint (no record
// is delivered twice after a clean stop).
func TestWorkersShareChannelsAndTakeOver(t *testing.T) {
	// A generous shutdown grace keeps the test deterministic on a loaded
	// machine: the stopped worker's final checkpoints must land first.
	e := newEnv(t, Config{ShutdownGrace: 2 * time.Second}, 6)
	e.createTable("shared")
	id := e.createTunnel("shared", "share", sdktunnel.TunnelTypeStream)
	var c collector
	a := startDaemon(e.tc, id, c.factory())
	defer a.stop(t)
	b := startDaemon(e.tc, id, c.factory())
	defer b.stop(t)
	testsupport.WaitUntil(t, 15*time.Second, "two workers with 3 channels each", func() bool {
		return balanced(e.describe("shared", "share"), "Stream", 2, 6)
	})
	cc := startDaemon(e.tc, id, c.factory())
	testsupport.WaitUntil(t, 15*time.Second, "three workers with 2 channels each", func() bool {
		return balanced(e.describe("shared", "share"), "Stream", 3, 6)
	})

	e.putRows("shared", 0, 600)
	testsupport.WaitUntil(t, 15*time.Second, "first batch", func() bool { return c.count() >= 600 })
	clientsBefore, _ := owners(e.describe("shared", "share"), "Stream")
	time.Sleep(500 * time.Millisecond) // let checkpoints (every 100 ms) catch up
	cc.stop(t)
	testsupport.WaitUntil(t, 15*time.Second, "the two remaining workers to take over", func() bool {
		return balanced(e.describe("shared", "share"), "Stream", 2, 6)
	})
	clientsAfter, _ := owners(e.describe("shared", "share"), "Stream")
	for id := range clientsAfter {
		if _, ok := clientsBefore[id]; !ok {
			t.Fatalf("channels went to an unknown client %s", id)
		}
	}
	e.putRows("shared", 600, 1200)
	testsupport.WaitUntil(t, 15*time.Second, "second batch", func() bool { return c.count() >= 1200 })
	time.Sleep(300 * time.Millisecond)
	recs := c.snapshot()
	checkSequences(t, recs)
	seen := map[int64]bool{}
	for _, r := range recs {
		seen[pkID(r.rec)] = true
	}
	if len(seen) != 1200 {
		t.Fatalf("%d distinct rows delivered, want 1200", len(seen))
	}
	if total, distinct := deliveries(recs); total != distinct {
		t.Fatalf("%d deliveries for %d records: the new owners did not resume from the checkpoint", total, distinct)
	}
}

// cutTransport fails every request while cut is set, like a worker whose
// network (or process) is gone.
type cutTransport struct{ cut atomic.Bool }

func (c *cutTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if c.cut.Load() {
		return nil, errors.New("worker cut off")
	}
	return http.DefaultTransport.RoundTrip(r)
}

// A worker that stops heart-beating loses its channels after its timeout;
// the remaining worker takes them over from their last checkpoints.
func TestSilentWorkerLosesChannelsAfterTimeout(t *testing.T) {
	e := newEnv(t, Config{}, 4)
	e.createTable("silent")
	id := e.createTunnel("silent", "s", sdktunnel.TunnelTypeStream)
	var c collector
	live := startDaemon(e.tc, id, c.factory())
	defer live.stop(t)
	cut := &cutTransport{}
	conf := *sdktunnel.DefaultTunnelConfig
	conf.Transport = cut
	deadClient := sdktunnel.NewTunnelClientWithConfig(e.srv.URL, testInstance, testKeyID, testSecret, &conf)
	dead := startDaemon(deadClient, id, c.factory())
	defer dead.stop(t)
	testsupport.WaitUntil(t, 15*time.Second, "two workers", func() bool {
		return balanced(e.describe("silent", "s"), "Stream", 2, 4)
	})
	e.putRows("silent", 0, 400)
	testsupport.WaitUntil(t, 15*time.Second, "first rows", func() bool { return c.count() >= 400 })
	time.Sleep(300 * time.Millisecond)

	cut.cut.Store(true)
	start := time.Now()
	testsupport.WaitUntil(t, 15*time.Second, "the live worker to own every channel", func() bool {
		return balanced(e.describe("silent", "s"), "Stream", 1, 4)
	})
	// The worker announced a 2 s timeout; it must not lose its channels
	// much earlier than that.
	if took := time.Since(start); took < time.Second {
		t.Fatalf("channels were taken after %v, before the client's 2 s timeout", took)
	}
	e.putRows("silent", 400, 800)
	testsupport.WaitUntil(t, 15*time.Second, "rows after the take-over", func() bool { return c.count() >= 800 })
	recs := c.snapshot()
	checkSequences(t, recs)
	seen := map[int64]bool{}
	for _, r := range recs {
		seen[pkID(r.rec)] = true
	}
	if len(seen) != 800 {
		t.Fatalf("%d distinct rows, want 800", len(seen))
	}
}

// A server restart in the middle loses no checkpoint: after the restart a new
// worker resumes exactly where the checkpoints were.
func TestRestartKeepsCheckpoints(t *testing.T) {
	e := newEnv(t, Config{}, 4)
	e.createTable("restart")
	e.putRows("restart", 0, 300)
	id := e.createTunnel("restart", "r", sdktunnel.TunnelTypeBaseStream)
	var c collector
	// The first worker's network is cut after the restart so that its SDK
	// stops retrying the vanished server quickly.
	cut := &cutTransport{}
	conf := *sdktunnel.DefaultTunnelConfig
	conf.Transport = cut
	d := startDaemon(sdktunnel.NewTunnelClientWithConfig(e.srv.URL, testInstance, testKeyID, testSecret, &conf), id, c.factory())
	testsupport.WaitUntil(t, 15*time.Second, "stream stage", func() bool {
		return e.describe("restart", "r").Tunnel.Stage == StageStream
	})
	e.putRows("restart", 300, 500)
	testsupport.WaitUntil(t, 15*time.Second, "checkpoints covering every stream record", func() bool {
		var n int64
		for _, ch := range e.describe("restart", "r").Channels {
			if ch.ChannelType == "Stream" {
				n += describeCount(t, e, id, ch.ChannelId)
			}
		}
		return n == 200
	})
	before := e.describe("restart", "r")

	// Kill the server under the running worker, then stop the worker.
	e.restart()
	cut.cut.Store(true)
	d.stop(t)
	after := e.describe("restart", "r")
	if after.Tunnel.Stage != StageStream || len(after.Channels) != len(before.Channels) {
		t.Fatalf("after restart: stage %s, %d channels", after.Tunnel.Stage, len(after.Channels))
	}
	for i, ch := range after.Channels {
		if ch.ChannelId != before.Channels[i].ChannelId || ch.ChannelRPO != before.Channels[i].ChannelRPO {
			t.Fatalf("channel %s changed across the restart: %+v -> %+v", ch.ChannelId, before.Channels[i], ch)
		}
	}
	delivered := c.count()
	e.putRows("restart", 500, 600)
	d2 := startDaemon(e.tc, id, c.factory())
	defer d2.stop(t)
	testsupport.WaitUntil(t, 15*time.Second, "rows after the restart", func() bool { return c.count() >= delivered+100 })
	time.Sleep(300 * time.Millisecond)
	recs := c.snapshot()
	checkSequences(t, recs)
	newRecs := recs[delivered:]
	if len(newRecs) != 100 {
		t.Fatalf("after the restart %d records arrived, want exactly the 100 new ones", len(newRecs))
	}
	for _, r := range newRecs {
		if id := pkID(r.rec); id < 500 {
			t.Fatalf("row %d re-delivered after the restart despite its checkpoint", id)
		}
	}
}

// describeCount returns the records a channel's checkpoint covers, as
// GetRpo reports them.
func describeCount(t *testing.T, e *env, tunnelID, channelID string) int64 {
	t.Helper()
	rpo, err := e.tc.GetRpo(&sdktunnel.GetRpoRequest{TunnelId: tunnelID})
	if err != nil {
		t.Fatalf("get rpo: %v", err)
	}
	info := rpo.RpoInfos[tunnelID][channelID]
	if info == nil {
		t.Fatalf("GetRpo has no entry for channel %s", channelID)
	}
	return info.TotalCount
}

// A worker that outlives a server restart (same address) is told its client
// is gone (410), reconnects through its daemon and carries on from the
// checkpoints: nothing is lost.
func TestWorkerSurvivesServerRestart(t *testing.T) {
	e := newEnv(t, Config{}, 4)
	e.createTable("survive")
	id := e.createTunnel("survive", "s", sdktunnel.TunnelTypeStream)
	var c collector
	d := startDaemon(e.tc, id, c.factory())
	defer d.stop(t)
	testsupport.WaitUntil(t, 15*time.Second, "channels owned", func() bool {
		return balanced(e.describe("survive", "s"), "Stream", 1, 4)
	})
	e.putRows("survive", 0, 200)
	testsupport.WaitUntil(t, 15*time.Second, "rows before the restart", func() bool { return c.count() >= 200 })
	oldOwners, _ := owners(e.describe("survive", "s"), "Stream")

	e.restartSameAddress()
	e.putRows("survive", 200, 400)
	testsupport.WaitUntil(t, 30*time.Second, "rows after the restart", func() bool {
		seen := map[int64]bool{}
		for _, r := range c.snapshot() {
			seen[pkID(r.rec)] = true
		}
		return len(seen) == 400
	})
	newOwners, all := owners(e.describe("survive", "s"), "Stream")
	for id := range newOwners {
		if _, ok := oldOwners[id]; ok {
			t.Fatalf("client %s survived the restart; it must have reconnected", id)
		}
	}
	if !all || len(newOwners) != 1 {
		t.Fatalf("after the restart: owners %v, all open %v", newOwners, all)
	}
	checkSequences(t, c.snapshot())
}
