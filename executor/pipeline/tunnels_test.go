package pipeline

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel"
	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel/protocol"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

func describeWith(stage string, expired bool, channels ...[2]string) *tunnel.DescribeTunnelResponse {
	d := &tunnel.DescribeTunnelResponse{Tunnel: &tunnel.TunnelInfo{Stage: stage, Expired: expired}}
	for i, c := range channels {
		// Ids are opaque: nothing may be read from them.
		d.Channels = append(d.Channels, &tunnel.ChannelInfo{ChannelId: strings.Repeat("x", i+1), ChannelType: c[0], ChannelStatus: c[1]})
	}
	return d
}

// TestViewOfFollowsDescribeTunnel: the phase comes from the documented
// stage, channel types and statuses, and Expired is passed on.
func TestViewOfFollowsDescribeTunnel(t *testing.T) {
	base, stream := string(tunnel.ChannelType_BaseData), string(tunnel.ChannelType_Stream)
	for _, tc := range []struct {
		name  string
		mode  task.SyncMode
		desc  *tunnel.DescribeTunnelResponse
		phase task.Phase
		done  bool
	}{
		{"full, no channels yet", task.SyncFull, describeWith("InitBaseDataAndStreamShard", false), task.PhaseFull, false},
		{"full, reading", task.SyncFull, describeWith("ProcessBaseData", false, [2]string{base, "OPEN"}, [2]string{base, "TERMINATED"}), task.PhaseFull, false},
		{"full, done", task.SyncFull, describeWith("ProcessBaseData", false, [2]string{base, "TERMINATED"}, [2]string{base, "TERMINATED"}), task.PhaseFinished, true},
		{"differential, base", task.SyncDifferential, describeWith("ProcessBaseData", false, [2]string{base, "OPEN"}, [2]string{stream, "WAIT"}), task.PhaseFull, false},
		{"differential, base done", task.SyncDifferential, describeWith("ProcessBaseData", false, [2]string{base, "TERMINATED"}, [2]string{stream, "OPEN"}), task.PhaseIncr, false},
		{"differential, stream stage", task.SyncDifferential, describeWith("ProcessStream", false, [2]string{stream, "OPEN"}), task.PhaseIncr, false},
		{"incremental", task.SyncIncremental, describeWith("ProcessStream", false, [2]string{stream, "OPEN"}), task.PhaseIncr, false},
	} {
		v := viewOf(tc.mode, tc.desc)
		if v.phase != tc.phase || v.finished != tc.done || v.expired {
			t.Errorf("%s: %+v, want phase %s finished %v", tc.name, v, tc.phase, tc.done)
		}
	}
	if v := viewOf(task.SyncIncremental, describeWith("ProcessStream", true)); !v.expired {
		t.Error("Expired not passed on")
	}
	if v := viewOf(task.SyncFull, nil); v.phase != "" {
		t.Errorf("no description gave phase %q", v.phase)
	}
}

// TestExpiryWatchNotesTrimmedReads: the SDK's tunnel API, through the
// watch, reading a channel whose data was trimmed: the SDK still gets the
// service's error, and the watch notes the tunnel and channel; other
// errors and other requests are not noted.
func TestExpiryWatchNotesTrimmedReads(t *testing.T) {
	code, message := "OTSTunnelServerUnavailable", "OTSTrimmedDataAccess Requested stream data is already trimmed or does not exist."
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := proto.Marshal(protoadapt.MessageV2Of(&protocol.Error{Code: proto.String(code), Message: proto.String(message)}))
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	watch := newExpiryWatch(http.DefaultTransport)
	api := tunnel.NewTunnelApi(srv.URL, "inst", "id", "secret", &tunnel.TunnelConfig{MaxRetryElapsedTime: time.Millisecond, RequestTimeout: 5 * time.Second, Transport: watch})
	read := func(tunnelID string) error {
		_, err := api.ReadRecords(&tunnel.ReadRecordRequest{TunnelId: tunnelID, ChannelId: "opaque", ClientId: "c", Token: "tok"})
		return err
	}
	start := time.Now()
	var te *tunnel.TunnelError
	if err := read("tun-1"); !errors.As(err, &te) || te.Code != code {
		t.Fatalf("the SDK got %v, want the service's %s", err, code)
	}
	got, ok := watch.refusedSince("tun-1", start)
	if !ok || got.channel != "opaque" || !strings.Contains(got.message, "trimmed") {
		t.Fatalf("refusal not noted: %+v %v", got, ok)
	}
	if _, ok := watch.refusedSince("tun-1", time.Now().Add(time.Second)); ok {
		t.Error("an old refusal counts as recent")
	}
	code, message = "OTSTrimmedDataAccess", "Requested stream data is already trimmed"
	_ = read("tun-2")
	code, message = tunnel.ErrCodeTunnelExpired, "tunnel expired"
	_ = read("tun-3")
	for _, id := range []string{"tun-2", "tun-3"} {
		if _, ok := watch.refusedSince(id, start); !ok {
			t.Errorf("%s: refusal not noted", id)
		}
	}
	code, message = "OTSTunnelServerUnavailable", "server busy"
	_ = read("tun-4")
	code, message = "OTSParameterInvalid", "bad token"
	_ = read("tun-5")
	for _, id := range []string{"tun-4", "tun-5"} {
		if _, ok := watch.refusedSince(id, start); ok {
			t.Errorf("%s: another error was taken for an expiry", id)
		}
	}
	if !strings.Contains(expiredDetail("x"), "delete the task and create it again") {
		t.Error("the detail does not say how to recover")
	}
}
