package tunnel

import (
	"errors"
	"testing"
	"time"

	sdktunnel "github.com/aliyun/aliyun-tablestore-go-sdk/tunnel"
	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel/protocol"

	"github.com/tablestore-delivery/terraform-provider-tablestore/internal/testsupport"
)

func tunnelErrorCode(t *testing.T, err error) string {
	t.Helper()
	var te *sdktunnel.TunnelError
	if !errors.As(err, &te) {
		t.Fatalf("expected a TunnelError, got %T %v", err, err)
	}
	return te.Code
}

// The error codes the SDK reacts to: unknown tunnels stop the daemon,
// unknown/expired clients get 410, stale checkpoint sequence numbers get
// OTSSequenceNumberNotMatch, duplicate names OTSTunnelExist.
func TestProtocolErrors(t *testing.T) {
	e := newEnv(t, Config{}, 2)
	e.createTable("errs")
	id := e.createTunnel("errs", "t1", sdktunnel.TunnelTypeStream)

	if _, err := e.tc.CreateTunnel(&sdktunnel.CreateTunnelRequest{TableName: "errs", TunnelName: "t1", Type: sdktunnel.TunnelTypeStream}); tunnelErrorCode(t, err) != sdktunnel.ErrCodeTunnelExist {
		t.Fatalf("duplicate tunnel: %v", err)
	}
	if _, err := e.tc.CreateTunnel(&sdktunnel.CreateTunnelRequest{TableName: "missing", TunnelName: "x", Type: sdktunnel.TunnelTypeStream}); tunnelErrorCode(t, err) != sdktunnel.ErrCodeParamInvalid {
		t.Fatalf("tunnel on a missing table: %v", err)
	}

	// A daemon on an unknown tunnel stops with OTSParameterInvalid.
	var c collector
	d := startDaemon(e.tc, "no-such-tunnel", c.factory())
	select {
	case err := <-d.done:
		if tunnelErrorCode(t, err) != sdktunnel.ErrCodeParamInvalid {
			t.Fatalf("daemon on unknown tunnel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("daemon on an unknown tunnel kept running")
	}

	api := sdktunnel.NewTunnelApi(e.srv.URL, testInstance, testKeyID, testSecret, nil)
	channel := channelsOf(e.describe("errs", "t1"), "Stream")[0]
	if _, _, err := api.GetCheckpoint(id, "ghost-client", channel); tunnelErrorCode(t, err) != sdktunnel.ErrCodeResourceGone {
		t.Fatalf("getcheckpoint of an unknown client: %v", err)
	}
	if _, err := api.ReadRecords(&sdktunnel.ReadRecordRequest{TunnelId: id, ClientId: "ghost-client", ChannelId: channel, Token: "x"}); tunnelErrorCode(t, err) != sdktunnel.ErrCodeResourceGone {
		t.Fatalf("readrecords of an unknown client: %v", err)
	}

	// With a real worker holding the channels, a checkpoint with a stale
	// sequence number is refused with the code the SDK resynchronises on.
	live := startDaemon(e.tc, id, c.factory())
	defer live.stop(t)
	var owner string
	testsupport.WaitUntil(t, 10*time.Second, "channel owned", func() bool {
		for _, ch := range e.describe("errs", "t1").Channels {
			if ch.ChannelId == channel && ch.ClientId != "" {
				owner = ch.ClientId
				return true
			}
		}
		return false
	})
	token, seq, err := api.GetCheckpoint(id, owner, channel)
	if err != nil {
		t.Fatal(err)
	}
	if err := api.Checkpoint(id, owner, channel, token, seq); tunnelErrorCode(t, err) != sdktunnel.ErrCodeSequenceNotMatch {
		t.Fatalf("checkpoint with a stale sequence number: %v", err)
	}
	if err := api.Checkpoint(id, owner, channel, "not a token", seq+100); tunnelErrorCode(t, err) != sdktunnel.ErrCodeParamInvalid {
		t.Fatalf("checkpoint with a garbage token: %v", err)
	}
	if err := api.Checkpoint(id, "ghost-client", channel, token, seq+100); tunnelErrorCode(t, err) != sdktunnel.ErrCodeResourceGone {
		t.Fatalf("checkpoint of an unknown client: %v", err)
	}
	if _, err := api.ReadRecords(&sdktunnel.ReadRecordRequest{TunnelId: id, ClientId: owner, ChannelId: channel, Token: "garbage"}); tunnelErrorCode(t, err) != sdktunnel.ErrCodeParamInvalid {
		t.Fatalf("readrecords with a garbage token: %v", err)
	}

	// Deleting the tunnel stops its daemon (heartbeats get OTSParameterInvalid).
	if _, err := e.tc.DeleteTunnel(&sdktunnel.DeleteTunnelRequest{TableName: "errs", TunnelName: "t1"}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-live.done:
		live.done <- err // let the deferred stop return
		if tunnelErrorCode(t, err) != sdktunnel.ErrCodeParamInvalid {
			t.Fatalf("daemon of a deleted tunnel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("daemon of a deleted tunnel kept running")
	}
}

// List, GetRpo, GetRpoByOffset and Schedule (suspend, resume, terminate).
func TestListRpoAndSchedule(t *testing.T) {
	e := newEnv(t, Config{}, 2)
	e.createTable("meta")
	e.putRows("meta", 0, 10)
	id := e.createTunnel("meta", "ops", sdktunnel.TunnelTypeBaseStream)
	other := e.createTunnel("meta", "other", sdktunnel.TunnelTypeBaseData)

	list, err := e.tc.ListTunnel(&sdktunnel.ListTunnelRequest{TableName: "meta"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Tunnels) != 2 || list.Tunnels[0].TunnelId != id || list.Tunnels[1].TunnelId != other ||
		list.Tunnels[0].TunnelType != TypeBaseAndStream || list.Tunnels[0].CreateTime.After(time.Now()) {
		t.Fatalf("list: %+v", list.Tunnels)
	}
	if l, err := e.tc.ListTunnel(&sdktunnel.ListTunnelRequest{TableName: "nothing"}); err != nil || len(l.Tunnels) != 0 {
		t.Fatalf("list of another table: %v %v", l, err)
	}

	var c collector
	d := startDaemon(e.tc, id, c.factory())
	defer d.stop(t)
	testsupport.WaitUntil(t, 10*time.Second, "stream stage", func() bool {
		return e.describe("meta", "ops").Tunnel.Stage == StageStream
	})
	rpo, err := e.tc.GetRpo(&sdktunnel.GetRpoRequest{TunnelId: id})
	if err != nil {
		t.Fatal(err)
	}
	var baseCount int64
	for chID, info := range rpo.RpoInfos[id] {
		if e.partitionOf(id, chID) == "" {
			t.Fatalf("rpo of an unknown channel %s", chID)
		}
		if info.ChannelTyp == sdktunnel.ChannelType_BaseData {
			baseCount += info.TotalCount
		}
	}
	if baseCount != 10 || rpo.TunnelRpoInfos[id] == nil {
		t.Fatalf("rpo: base channels report %d records, want 10; tunnel entry %+v", baseCount, rpo.TunnelRpoInfos[id])
	}
	if byOffset, err := e.tc.GetRpoByOffset(&sdktunnel.GetRpoRequest{TunnelId: id}); err != nil || byOffset.TunnelId != id {
		t.Fatalf("rpo by offset: %+v %v", byOffset, err)
	}

	// Suspend one stream channel: its owner lets go and nobody gets it.
	streams := channelsOf(e.describe("meta", "ops"), "Stream")
	suspended := streams[0]
	if _, err := e.tc.Schedule(&sdktunnel.ScheduleRequest{TunnelId: id, Channels: []*sdktunnel.ScheduleChannel{sdktunnel.SuspendChannel(suspended)}}); err != nil {
		t.Fatal(err)
	}
	status := func(chID string) (string, string) {
		for _, ch := range e.describe("meta", "ops").Channels {
			if ch.ChannelId == chID {
				return ch.ChannelStatus, ch.ClientId
			}
		}
		t.Fatalf("channel %s missing", chID)
		return "", ""
	}
	testsupport.WaitUntil(t, 10*time.Second, "suspended channel released", func() bool {
		s, owner := status(suspended)
		return s == StatusClose && owner == ""
	})
	time.Sleep(500 * time.Millisecond)
	if s, owner := status(suspended); s != StatusClose || owner != "" {
		t.Fatalf("suspended channel was handed out again: %s %s", s, owner)
	}
	if _, err := e.tc.Schedule(&sdktunnel.ScheduleRequest{TunnelId: id, Channels: []*sdktunnel.ScheduleChannel{{ChannelId: suspended, ChannelStatus: protocol.ChannelStatus_OPEN}}}); err != nil {
		t.Fatal(err)
	}
	testsupport.WaitUntil(t, 10*time.Second, "resumed channel reassigned", func() bool {
		s, owner := status(suspended)
		return s == StatusOpen && owner != ""
	})
	// Terminate the other: it is finished and never handed out again.
	done := streams[1]
	if _, err := e.tc.Schedule(&sdktunnel.ScheduleRequest{TunnelId: id, Channels: []*sdktunnel.ScheduleChannel{sdktunnel.TerminateChannel(done)}}); err != nil {
		t.Fatal(err)
	}
	testsupport.WaitUntil(t, 10*time.Second, "terminated channel", func() bool {
		s, owner := status(done)
		return s == StatusTerminated && owner == ""
	})
	time.Sleep(500 * time.Millisecond)
	if s, _ := status(done); s != StatusTerminated {
		t.Fatalf("terminated channel came back as %s", s)
	}
}
