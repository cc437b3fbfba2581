package pipeline

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel"
	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel/protocol"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"
)

// Retention expiry. A stream keeps its changes for a limited time (at most
// seven days); a channel whose checkpoint is older than that cannot be read
// on: the service refuses its reads with "OTSTrimmedDataAccess Requested
// stream data is already trimmed or does not exist." (Alibaba's FAQ on
// OTSTrimmedDataAccess; the answer's code is OTSTunnelServerUnavailable, the
// trimmed-data code leads its message), or, for the tunnel, with
// OTSTunnelExpired (which the SDK defines), and DescribeTunnel reports the
// tunnel Expired. The SDK's tunnel worker swallows read errors (it closes
// the channel and dials it again), so the executor learns of them on the
// wire: expiryWatch is the tunnel client's transport and notes the tunnels
// whose reads are refused that way. The task then shows StreamExpired with
// how to recover, while its other channels keep delivering.

// trimmedCode names the service's answer to a read past the retention; it
// comes as the error's code or leading its message.
const trimmedCode = "OTSTrimmedDataAccess"

// pastRetention tells whether a service error refuses a read past the
// stream's retention.
func pastRetention(code, message string) bool {
	return code == trimmedCode || code == tunnel.ErrCodeTunnelExpired || strings.Contains(message, trimmedCode)
}

// expiryWatch passes the tunnel client's requests through and remembers,
// per tunnel id, the last time a read was refused as past the retention.
type expiryWatch struct {
	next http.RoundTripper

	mu      sync.Mutex
	refused map[string]expiredRead
}

type expiredRead struct {
	at      time.Time
	channel string
	message string
}

func newExpiryWatch(next http.RoundTripper) *expiryWatch {
	return &expiryWatch{next: next, refused: map[string]expiredRead{}}
}

func (w *expiryWatch) RoundTrip(req *http.Request) (*http.Response, error) {
	if !strings.HasSuffix(req.URL.Path, "/tunnel/readrecords") || req.Body == nil {
		return w.next.RoundTrip(req)
	}
	// The read request names the tunnel and channel; keep a copy.
	body, err := io.ReadAll(req.Body)
	_ = req.Body.Close()
	if err != nil {
		return nil, err
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	resp, err := w.next.RoundTrip(req)
	if err != nil || resp.StatusCode < 300 {
		return resp, err
	}
	answer, rerr := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(answer))
	if rerr != nil {
		return resp, nil //nolint:nilerr // only watching: the SDK gets the answer (and its read error) as it came
	}
	var pe protocol.Error
	if proto.Unmarshal(answer, protoadapt.MessageV2Of(&pe)) != nil || !pastRetention(pe.GetCode(), pe.GetMessage()) {
		return resp, nil //nolint:nilerr // not a trimmed-data answer: passed through unchanged
	}
	var rr protocol.ReadRecordsRequest
	if proto.Unmarshal(body, protoadapt.MessageV2Of(&rr)) == nil {
		w.mu.Lock()
		w.refused[rr.GetTunnelId()] = expiredRead{at: time.Now(), channel: rr.GetChannelId(), message: pe.GetCode() + ": " + pe.GetMessage()}
		w.mu.Unlock()
	}
	return resp, nil
}

// refusedSince returns the last read of the tunnel refused as past the
// retention at or after since.
func (w *expiryWatch) refusedSince(tunnelID string, since time.Time) (expiredRead, bool) {
	if w == nil {
		return expiredRead{}, false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	r, ok := w.refused[tunnelID]
	return r, ok && !r.at.Before(since)
}

// expiredDetail is the error detail of a task whose stream expired.
func expiredDetail(cause string) string {
	return "The stream data this task still had to deliver is older than the table's stream retention and was trimmed (" + cause +
		"); those changes cannot be delivered. Rows already in OSS stay, and channels that can still be read keep delivering. " +
		"To recover: delete the task and create it again (with sync_mode differential it first delivers the table's full data " +
		"again, then its changes), or restore the missing period from a backup."
}
