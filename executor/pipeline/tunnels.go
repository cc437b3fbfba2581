package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// TunnelName is the name of the tunnel a task reads its table through.
func TunnelName(taskName string) string { return "delivery_" + taskName }

func isNotExist(err error) bool {
	var te *tunnel.TunnelError
	if errors.As(err, &te) {
		return te.Code == tunnel.ErrCodeParamInvalid && strings.Contains(strings.ToLower(te.Message), "not exist") ||
			strings.Contains(te.Code, "NotExist") || strings.Contains(strings.ToLower(te.Message), "not found")
	}
	return false
}

// ensureTunnel returns the task's tunnel id, creating the tunnel when the
// table has none of that name.
func (m *Manager) ensureTunnel(ctx context.Context, t task.Task) (string, error) {
	name := TunnelName(t.Name)
	desc, err := m.client.DescribeTunnel(&tunnel.DescribeTunnelRequest{TableName: t.Table, TunnelName: name})
	if err == nil && desc.Tunnel != nil {
		return desc.Tunnel.TunnelId, nil
	}
	if err != nil && !isNotExist(err) {
		return "", fmt.Errorf("pipeline: describe tunnel %s of table %s: %w", name, t.Table, err)
	}
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	typ := tunnel.TunnelTypeBaseStream
	switch t.SyncMode {
	case task.SyncFull:
		typ = tunnel.TunnelTypeBaseData
	case task.SyncIncremental:
		typ = tunnel.TunnelTypeStream
	}
	resp, err := m.client.CreateTunnel(&tunnel.CreateTunnelRequest{TableName: t.Table, TunnelName: name, Type: typ})
	if err != nil {
		return "", fmt.Errorf("pipeline: create %s tunnel %s on table %s: %w", typ, name, t.Table, err)
	}
	return resp.TunnelId, nil
}

// tunnelView is a task's tunnel as DescribeTunnel documents it: the tunnel's
// Stage (InitBaseDataAndStreamShard, ProcessBaseData, ProcessStream), its
// Expired flag, and each channel's type (BaseData or Stream) and status.
// Channel ids are not looked at.
type tunnelView struct {
	phase    task.Phase // "" when unknown
	finished bool       // a full sync has read everything
	expired  bool
}

// Documented tunnel stages and channel statuses.
const (
	stageProcessStream = "ProcessStream"
	statusTerminated   = "TERMINATED"
)

// viewOf derives the task's phase from its tunnel: a full sync is finished
// when every base channel is terminated; a differential one is incremental
// once the tunnel's stage is ProcessStream or every base channel is
// terminated; an incremental one is incremental from the start.
func viewOf(mode task.SyncMode, desc *tunnel.DescribeTunnelResponse) tunnelView {
	if desc == nil || desc.Tunnel == nil {
		return tunnelView{}
	}
	v := tunnelView{expired: desc.Tunnel.Expired}
	base, baseDone := 0, 0
	for _, ch := range desc.Channels {
		if ch != nil && ch.ChannelType == string(tunnel.ChannelType_BaseData) {
			base++
			if ch.ChannelStatus == statusTerminated {
				baseDone++
			}
		}
	}
	baseFinished := base > 0 && baseDone == base
	switch mode {
	case task.SyncFull:
		v.phase, v.finished = task.PhaseFull, baseFinished
		if baseFinished {
			v.phase = task.PhaseFinished
		}
	case task.SyncIncremental:
		v.phase = task.PhaseIncr
	default:
		v.phase = task.PhaseFull
		if baseFinished || desc.Tunnel.Stage == stageProcessStream {
			v.phase = task.PhaseIncr
		}
	}
	return v
}
