package tunnel

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	sdktunnel "github.com/aliyun/aliyun-tablestore-go-sdk/tunnel"

	"github.com/tablestore-delivery/terraform-provider-tablestore/internal/testsupport"
)

// statusRecorder remembers the HTTP status of the last readrecords answer.
type statusRecorder struct {
	mu     sync.Mutex
	status int
}

func (s *statusRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && strings.HasSuffix(r.URL.Path, "/tunnel/readrecords") {
		s.mu.Lock()
		s.status = resp.StatusCode
		s.mu.Unlock()
	}
	return resp, err
}

func (s *statusRecorder) last() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

// A stream channel whose next changes are past the change log's retention
// answers as the real service does (HTTP 400, OTSTunnelServerUnavailable,
// "OTSTrimmedDataAccess ..."), and DescribeTunnel shows Expired; a tunnel
// that has read everything it could is not expired.
func TestRetentionExpiry(t *testing.T) {
	const retention = 1500 * time.Millisecond
	e := newEnvRetention(t, Config{}, 1, retention)
	e.createTable("old")
	id := e.createTunnel("old", "behind", sdktunnel.TunnelTypeStream)
	e.putRows("old", 0, 50)
	e.createTunnel("old", "current", sdktunnel.TunnelTypeStream) // starts after the 50 rows
	if e.describe("old", "behind").Tunnel.Expired {
		t.Fatal("expired before the retention passed")
	}
	time.Sleep(retention + 500*time.Millisecond)
	if !e.describe("old", "behind").Tunnel.Expired {
		t.Fatal("a tunnel whose unread changes are past retention is not marked Expired")
	}
	if e.describe("old", "current").Tunnel.Expired {
		t.Fatal("a tunnel with nothing unread is marked Expired")
	}

	var c collector
	d := startDaemon(e.tc, id, c.factory())
	defer d.stop(t)
	rec := &statusRecorder{}
	api := sdktunnel.NewTunnelApi(e.srv.URL, testInstance, testKeyID, testSecret, &sdktunnel.TunnelConfig{MaxRetryElapsedTime: 300 * time.Millisecond, Transport: rec})
	var last error
	testsupport.WaitUntil(t, 20*time.Second, "the trimmed-data answer", func() bool {
		var owner, channel string
		for _, ch := range e.describe("old", "behind").Channels {
			owner, channel = ch.ClientId, ch.ChannelId
		}
		if owner == "" {
			return false
		}
		token, _, err := api.GetCheckpoint(id, owner, channel)
		if err != nil {
			last = err
			return false
		}
		_, last = api.ReadRecords(&sdktunnel.ReadRecordRequest{TunnelId: id, ClientId: owner, ChannelId: channel, Token: token})
		var te *sdktunnel.TunnelError
		return errors.As(last, &te) && te.Code == sdktunnel.ErrCodeServerUnavailable
	})
	var te *sdktunnel.TunnelError
	errors.As(last, &te)
	if !strings.HasPrefix(te.Message, "OTSTrimmedDataAccess Requested stream data is already trimmed or does not exist.") || rec.last() != http.StatusBadRequest {
		t.Fatalf("trimmed read answered %d %q", rec.last(), te.Message)
	}
	if c.count() != 0 {
		t.Fatalf("the worker received %d records past retention", c.count())
	}
}
