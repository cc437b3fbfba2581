package tunnel

import (
	"math/rand"
	"os"
	"testing"
	"time"

	sdktunnel "github.com/aliyun/aliyun-tablestore-go-sdk/tunnel"

	"github.com/tablestore-delivery/terraform-provider-tablestore/internal/testsupport"
)

// A differential tunnel under churn: rows are written before, during and after
// the base phase while workers come and go (clean stops and silent ones) and
// partitions split.
// Every row version must arrive (at least once), re-deliveries must repeat the
// sequence info exactly, and the last delivered state of every row must match
// the table.
func TestLongChurn(t *testing.T) {
	if os.Getenv("DELIVERY_LONG") == "" {
		t.Skip("long test; set DELIVERY_LONG=1")
	}
	e := newEnv(t, Config{MaxRecordsPerRead: 200}, 4)
	e.createTable("churn")
	e.putRows("churn", 0, 20000)
	id := e.createTunnel("churn", "c", sdktunnel.TunnelTypeBaseStream)
	var c collector
	c.delay = 2 * time.Millisecond

	rng := rand.New(rand.NewSource(1))
	type worker struct {
		d   *daemon
		cut *cutTransport
	}
	var workers []worker
	start := func() {
		cut := &cutTransport{}
		conf := *sdktunnel.DefaultTunnelConfig
		conf.Transport = cut
		tc := sdktunnel.NewTunnelClientWithConfig(e.srv.URL, testInstance, testKeyID, testSecret, &conf)
		workers = append(workers, worker{startDaemon(tc, id, c.factory()), cut})
	}
	start()
	start()
	final := map[int64]int64{}
	next := int64(20000)
	splits := 0
	deadline := time.Now().Add(40 * time.Second)
	for round := 0; time.Now().Before(deadline); round++ {
		// Writes: new rows and updates of old ones, the value n = round.
		var ops []op
		for range 50 {
			id := rng.Int63n(next)
			if rng.Intn(4) == 0 {
				id = next
				next++
			}
			dup := false
			for _, o := range ops {
				dup = dup || o.id == id
			}
			if dup {
				continue
			}
			ops = append(ops, op{kind: ChangePut, id: id, value: "r", n: int64(round + 1)})
			final[id] = int64(round + 1)
		}
		e.write("churn", ops...)
		switch rng.Intn(7) {
		case 3:
			if splits < 8 {
				e.split("churn", "")
				splits++
			}
		case 0:
			start()
		case 1:
			if len(workers) > 1 {
				i := rng.Intn(len(workers))
				workers[i].d.stop(t)
				workers = append(workers[:i], workers[i+1:]...)
			}
		case 2:
			if len(workers) > 1 {
				i := rng.Intn(len(workers))
				workers[i].cut.cut.Store(true)
				go workers[i].d.d.Close() // its SDK may take a while to give up
				workers = append(workers[:i], workers[i+1:]...)
				start()
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	testsupport.WaitUntil(t, 60*time.Second, "every row's final version", func() bool {
		last := map[int64]int64{}
		for _, r := range c.snapshot() {
			last[pkID(r.rec)] = column(r.rec, "n").Value.(int64)
		}
		for id, n := range final {
			if last[id] != n {
				return false
			}
		}
		return true
	})
	for _, w := range workers {
		w.d.stop(t)
	}
	recs := c.snapshot()
	checkSequences(t, recs)
	total, distinct := deliveries(recs)
	clients := map[string]bool{}
	for _, r := range recs {
		clients[r.client] = true
	}
	if len(clients) < 3 {
		t.Fatalf("only %d clients delivered records: no churn happened", len(clients))
	}
	if splits == 0 {
		t.Fatal("no partition split happened")
	}
	t.Logf("%d deliveries of %d distinct records by %d clients (%d rows, %d updated, %d splits)", total, distinct, len(clients), next, len(final), splits)
}
