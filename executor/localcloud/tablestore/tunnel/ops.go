package tunnel

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel/protocol"
	"google.golang.org/protobuf/proto"
)

func (s *Service) create(instance string, req *protocol.CreateTunnelRequest) (*protocol.CreateTunnelResponse, *apiError) {
	spec := req.GetTunnel()
	table, name := spec.GetTableName(), spec.GetTunnelName()
	if table == "" || name == "" {
		return nil, errParam("table_name and tunnel_name are required")
	}
	var typ string
	switch spec.GetTunnelType() {
	case protocol.TunnelType_BaseData:
		typ = TypeBaseData
	case protocol.TunnelType_Stream:
		typ = TypeStream
	case protocol.TunnelType_BaseAndStream:
		typ = TypeBaseAndStream
	default:
		return nil, errParam("unknown tunnel type %v", spec.GetTunnelType())
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tunnels {
		if t.Instance == instance && t.Table == table && t.Name == name {
			return nil, &apiError{http.StatusConflict, "OTSTunnelExist", fmt.Sprintf("tunnel %q already exists on table %q", name, table)}
		}
	}
	parts, err := s.cfg.Source.Partitions(instance, table)
	if errors.Is(err, ErrTableNotFound) {
		return nil, errParam("table %q does not exist", table)
	}
	if err != nil {
		return nil, errUnavailable(fmt.Errorf("partitions of %q: %w", table, err))
	}
	now := s.now()
	t := &tunnelState{
		ID:           newID(),
		Name:         name,
		Instance:     instance,
		Table:        table,
		Type:         typ,
		CreateTimeNs: now.UnixNano(),
		Clients:      make(map[string]*clientState),
		Stage:        StageStream,
	}
	if cfg := spec.GetStreamTunnelConfig(); cfg != nil {
		t.StartFlag = int32(cfg.GetFlag())
		t.StartOffsetNs = cfg.GetStartOffset()
		t.EndOffsetNs = cfg.GetEndOffset()
	}
	var e *apiError
	if typ == TypeStream {
		e = s.addStreamChannels(t, parts)
	} else {
		e = s.addBaseChannels(t)
	}
	if e == nil {
		if err := s.persist(t); err != nil {
			e = errUnavailable(err)
		}
	}
	if e != nil {
		if t.SnapshotID != "" {
			_ = s.cfg.Source.ReleaseSnapshot(t.SnapshotID)
		}
		return nil, e
	}
	s.tunnels[t.ID] = t
	s.log.Info("tunnel created", "tunnel", t.ID, "name", name, "table", table, "type", typ, "channels", len(t.Channels))
	return &protocol.CreateTunnelResponse{TunnelId: proto.String(t.ID)}, nil
}

// byName finds a tunnel of a table by name (or by id when given); callers hold s.mu.
func (s *Service) byName(instance, table, name, id string) (*tunnelState, *apiError) {
	for _, t := range s.tunnels {
		if t.Instance != instance || t.Table != table {
			continue
		}
		if (id != "" && t.ID == id) || (id == "" && t.Name == name) {
			return t, nil
		}
	}
	return nil, errParam("tunnel %q of table %q does not exist", name, table)
}

func (s *Service) deleteTunnel(instance string, req *protocol.DeleteTunnelRequest) (*protocol.DeleteTunnelResponse, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, e := s.byName(instance, req.GetTableName(), req.GetTunnelName(), req.GetTunnelId())
	if e != nil {
		return nil, e
	}
	if err := s.unpersist(t.ID); err != nil {
		return nil, errUnavailable(err)
	}
	delete(s.tunnels, t.ID)
	s.freeSnapshot(t)
	s.log.Info("tunnel deleted", "tunnel", t.ID)
	return &protocol.DeleteTunnelResponse{}, nil
}

func (s *Service) freeSnapshot(t *tunnelState) {
	if t.SnapshotID == "" || t.SnapshotFreed {
		return
	}
	if err := s.cfg.Source.ReleaseSnapshot(t.SnapshotID); err != nil {
		s.log.Warn("release snapshot", "tunnel", t.ID, "snapshot", t.SnapshotID, "err", err)
		return
	}
	t.SnapshotFreed = true
}

func (s *Service) tunnelInfo(t *tunnelState) *protocol.TunnelInfo {
	info := &protocol.TunnelInfo{
		TunnelId:         proto.String(t.ID),
		TunnelType:       proto.String(t.Type),
		TableName:        proto.String(t.Table),
		InstanceName:     proto.String(t.Instance),
		StreamId:         proto.String(t.Instance + "/" + t.Table),
		Stage:            proto.String(t.Stage),
		Expired:          proto.Bool(t.Expired),
		TunnelName:       proto.String(t.Name),
		Public:           proto.Bool(false),
		CreateTime:       proto.Int64(t.CreateTimeNs),
		Status:           protocol.TunnelStatus_Normal.Enum(),
		StatusUpdateTime: proto.Int64(t.CreateTimeNs),
	}
	if t.Type != TypeBaseData {
		cfg := &protocol.StreamTunnelConfig{}
		if t.StartOffsetNs != 0 {
			cfg.StartOffset = proto.Uint64(t.StartOffsetNs)
		} else {
			cfg.Flag = protocol.StartOffsetFlag(t.StartFlag).Enum()
		}
		if t.EndOffsetNs != 0 {
			cfg.EndOffset = proto.Uint64(t.EndOffsetNs)
		}
		info.StreamTunnelConfig = cfg
	}
	return info
}

func (s *Service) sortedTunnels() []*tunnelState {
	out := make([]*tunnelState, 0, len(s.tunnels))
	for _, t := range s.tunnels {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].CreateTimeNs != out[j].CreateTimeNs {
			return out[i].CreateTimeNs < out[j].CreateTimeNs
		}
		return out[i].ID < out[j].ID
	})
	return out
}

func (s *Service) list(instance string, req *protocol.ListTunnelRequest) *protocol.ListTunnelResponse {
	s.mu.Lock()
	defer s.mu.Unlock()
	resp := &protocol.ListTunnelResponse{}
	for _, t := range s.sortedTunnels() {
		if t.Instance != instance || (req.GetTableName() != "" && t.Table != req.GetTableName()) {
			continue
		}
		resp.Tunnels = append(resp.Tunnels, s.tunnelInfo(t))
	}
	return resp
}

// rpoNanos is the progress of a stream channel as a Unix time in
// nanoseconds, as DescribeTunnel's channel_rpo carries it: the sequence
// timestamp of its last checkpoint (0 before the first one, and always for
// base channels, whose records carry no sequence information).
func rpoNanos(ch *channelState) int64 {
	if ch.Kind != channelStrKind || ch.CheckpointTs <= 0 {
		return 0
	}
	return ch.CheckpointTs * 1000
}

// tunnelRpo is the smallest progress over the stream channels that run (not
// waiting, not finished); 0 when there is none or nothing was checkpointed.
func tunnelRpo(t *tunnelState) int64 {
	var rpo int64 = -1
	for _, ch := range t.Channels {
		if ch.Kind != channelStrKind || ch.Status == StatusTerminated || ch.Status == StatusWait {
			continue
		}
		if r := rpoNanos(ch); rpo < 0 || r < rpo {
			rpo = r
		}
	}
	if rpo < 0 {
		return 0
	}
	return rpo
}

// checkExpired marks the tunnel expired when an unfinished stream channel's
// next changes are past the change log's retention; callers hold s.mu.
func (s *Service) checkExpired(t *tunnelState) bool {
	if t.Expired {
		return false
	}
	for _, ch := range t.Channels {
		if ch.Kind != channelStrKind || ch.Status == StatusTerminated {
			continue
		}
		tok, err := parseStreamToken(ch.Checkpoint)
		if err != nil {
			continue
		}
		if _, _, err := s.cfg.Source.ReadChanges(t.Instance, t.Table, ch.Partition, tok.afterSeq, 1); errors.Is(err, ErrChangesExpired) {
			t.Expired = true
			s.log.Warn("tunnel expired: a channel's next changes are past retention", "tunnel", t.ID, "channel", ch.ID)
			return true
		}
	}
	return false
}

func (s *Service) describe(instance string, req *protocol.DescribeTunnelRequest) (*protocol.DescribeTunnelResponse, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, e := s.byName(instance, req.GetTableName(), req.GetTunnelName(), req.GetTunnelId())
	if e != nil {
		return nil, e
	}
	changed := s.expireClients(t)
	if s.syncPartitions(t) {
		changed = true
	}
	if s.checkExpired(t) {
		changed = true
	}
	if changed {
		if err := s.persist(t); err != nil {
			return nil, errUnavailable(err)
		}
	}
	resp := &protocol.DescribeTunnelResponse{Tunnel: s.tunnelInfo(t), TunnelRpo: proto.Int64(tunnelRpo(t))}
	for _, ch := range t.Channels {
		status := ch.Status
		delivered := ch.Delivered
		if delivered < 0 {
			delivered = 0
		}
		resp.Channels = append(resp.Channels, &protocol.ChannelInfo{
			ChannelId:     proto.String(ch.ID),
			ChannelType:   proto.String(ch.Kind),
			ChannelStatus: proto.String(status),
			ClientId:      proto.String(ch.Owner),
			ChannelRpo:    proto.Int64(rpoNanos(ch)),
			ChannelCount:  proto.Int64(delivered),
		})
	}
	return resp, nil
}

func (s *Service) connect(instance string, req *protocol.ConnectRequest) (*protocol.ConnectResponse, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, e := s.tunnelFor(instance, req.GetTunnelId())
	if e != nil {
		return nil, e
	}
	tag := req.GetClientConfig().GetClientTag()
	id := newID()
	if tag != "" {
		// The tag (the worker's host name) is part of the id so that Describe,
		// which only has a client_id field, shows who owns a channel.
		id = strings.ReplaceAll(tag, "_", "-") + "_" + id
	}
	c := &clientState{ID: id, Tag: tag, TimeoutSec: req.GetClientConfig().GetTimeout(), lastHeartbeat: s.now()}
	t.Clients[id] = c
	if err := s.persist(t); err != nil {
		delete(t.Clients, id)
		return nil, errUnavailable(err)
	}
	s.log.Info("tunnel client connected", "tunnel", t.ID, "client", id)
	return &protocol.ConnectResponse{ClientId: proto.String(id)}, nil
}

func (s *Service) shutdown(instance string, req *protocol.ShutdownRequest) (*protocol.ShutdownResponse, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, e := s.tunnelFor(instance, req.GetTunnelId())
	if e != nil {
		return nil, e
	}
	if _, ok := t.Clients[req.GetClientId()]; !ok {
		// Already expired or shut down: nothing left to release.
		return &protocol.ShutdownResponse{}, nil
	}
	held := s.now().Add(s.cfg.ShutdownGrace)
	for _, ch := range t.Channels {
		if ch.Owner == req.GetClientId() {
			ch.heldUntil = held
		}
	}
	s.dropClient(t, req.GetClientId())
	if err := s.persist(t); err != nil {
		return nil, errUnavailable(err)
	}
	s.log.Info("tunnel client shut down", "tunnel", t.ID, "client", req.GetClientId())
	return &protocol.ShutdownResponse{}, nil
}

func (s *Service) heartbeat(instance string, req *protocol.HeartbeatRequest) (*protocol.HeartbeatResponse, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, e := s.tunnelFor(instance, req.GetTunnelId())
	if e != nil {
		return nil, e
	}
	changed := s.expireClients(t)
	if s.syncPartitions(t) {
		changed = true
	}
	c, e := s.liveClient(t, req.GetClientId())
	if e != nil {
		if changed {
			_ = s.persist(t)
		}
		return nil, e
	}
	c.lastHeartbeat = s.now()

	// 1. Adopt the client's newer view of the channels it owns.
	for _, rep := range req.GetChannels() {
		ch := t.channel(rep.GetChannelId())
		if ch == nil || ch.Owner != c.ID || rep.GetVersion() <= ch.Version {
			continue
		}
		changed = true
		ch.Version = rep.GetVersion()
		switch rep.GetStatus() {
		case protocol.ChannelStatus_CLOSE:
			ch.LastOwner, ch.Owner = ch.Owner, ""
			ch.Status = StatusClose
		case protocol.ChannelStatus_TERMINATED:
			s.terminate(t, ch)
		case protocol.ChannelStatus_OPEN, protocol.ChannelStatus_CLOSING:
			ch.Status = StatusOpen
			if rep.GetStatus() == protocol.ChannelStatus_CLOSING {
				ch.Status = StatusClosing
			}
		}
	}

	// 2. Balance: every live client gets an even share of the assignable
	// channels; this client sheds what exceeds its share and takes unowned
	// channels up to it. The others converge on their own heartbeats.
	if s.balance(t, c.ID) {
		changed = true
	}
	if changed {
		if err := s.persist(t); err != nil {
			return nil, errUnavailable(err)
		}
	}

	resp := &protocol.HeartbeatResponse{}
	for _, ch := range t.Channels {
		if ch.Owner != c.ID {
			continue
		}
		status := protocol.ChannelStatus_OPEN
		if ch.Status == StatusClosing {
			status = protocol.ChannelStatus_CLOSING
		}
		resp.Channels = append(resp.Channels, &protocol.Channel{
			ChannelId: proto.String(ch.ID),
			Version:   proto.Int64(ch.Version),
			Status:    status.Enum(),
		})
	}
	return resp, nil
}

// terminate marks a channel finished for good and advances the tunnel's
// stage when the last base channel ends; callers hold s.mu.
func (s *Service) terminate(t *tunnelState, ch *channelState) {
	if ch.Owner != "" {
		ch.LastOwner = ch.Owner
	}
	ch.Owner = ""
	ch.Status = StatusTerminated
	ch.Suspended = false
	ch.Checkpoint = FinishedToken
	if ch.FinalDelivered > ch.Delivered {
		ch.Delivered, ch.CheckpointTs = ch.FinalDelivered, ch.FinalTs
	}
	s.log.Info("tunnel channel terminated", "tunnel", t.ID, "channel", ch.ID)
	if !t.baseDone() {
		return
	}
	// Every base channel is done: the snapshot is no longer needed, the
	// stream channels start exactly where the snapshot ends, and a finished
	// parent's children may run.
	s.freeSnapshot(t)
	if t.Stage != StageStream {
		t.Stage = StageStream
		s.log.Info("tunnel switched to stream stage", "tunnel", t.ID)
	}
	t.openWaiting()
}

// balance adjusts the channels of one client toward its fair share and
// reports whether anything changed; callers hold s.mu.
func (s *Service) balance(t *tunnelState, clientID string) bool {
	ids := t.sortedClientIDs()
	var total int
	for _, ch := range t.Channels {
		if ch.assignable() {
			total++
		}
	}
	if len(ids) == 0 {
		return false
	}
	quota := total / len(ids)
	for i, id := range ids {
		if id == clientID && i < total%len(ids) {
			quota++
		}
	}
	var mine []*channelState
	for _, ch := range t.Channels {
		if ch.Owner == clientID && ch.Status == StatusOpen {
			mine = append(mine, ch)
		}
	}
	changed := false
	// Shed the newest-numbered channels first, so that a stable set stays put.
	for len(mine) > quota {
		ch := mine[len(mine)-1]
		mine = mine[:len(mine)-1]
		ch.Status = StatusClosing
		ch.Version++
		changed = true
	}
	held := len(mine)
	for _, ch := range t.Channels {
		if ch.Owner == clientID && ch.Status == StatusClosing {
			held++ // still counts until the client lets go
		}
	}
	now := s.now()
	for _, ch := range t.Channels {
		if held >= quota {
			break
		}
		if ch.Owner == "" && ch.Status == StatusClose && !ch.Suspended && !now.Before(ch.heldUntil) {
			ch.Owner = clientID
			ch.Status = StatusOpen
			ch.Version++
			held++
			changed = true
		}
	}
	return changed
}

func (s *Service) getCheckpoint(instance string, req *protocol.GetCheckpointRequest) (*protocol.GetCheckpointResponse, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, e := s.tunnelFor(instance, req.GetTunnelId())
	if e != nil {
		return nil, e
	}
	if _, e := s.liveClient(t, req.GetClientId()); e != nil {
		return nil, e
	}
	ch := t.channel(req.GetChannelId())
	if ch == nil {
		return nil, errParam("channel %q does not exist", req.GetChannelId())
	}
	return &protocol.GetCheckpointResponse{Checkpoint: proto.String(ch.Checkpoint), SequenceNumber: proto.Int64(ch.Seq)}, nil
}

func (s *Service) checkpoint(instance string, req *protocol.CheckpointRequest) (*protocol.CheckpointResponse, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, e := s.tunnelFor(instance, req.GetTunnelId())
	if e != nil {
		return nil, e
	}
	ch := t.channel(req.GetChannelId())
	if ch == nil {
		return nil, errParam("channel %q does not exist", req.GetChannelId())
	}
	client := req.GetClientId()
	// The owner checkpoints; so does the previous owner of a channel nobody
	// holds yet, because the SDK flushes the final checkpoint of a closed
	// channel after it reported CLOSE or even after /tunnel/shutdown.
	if ch.Owner != client && (ch.Owner != "" || ch.LastOwner != client) {
		if _, ok := t.Clients[client]; !ok {
			return nil, errGone(client)
		}
		return nil, errParam("channel %q is not owned by client %q", ch.ID, client)
	}
	if ch.Status == StatusTerminated {
		// A late checkpoint of a finished channel changes nothing.
		return &protocol.CheckpointResponse{}, nil
	}
	if req.GetSequenceNumber() <= ch.Seq {
		return nil, &apiError{http.StatusBadRequest, "OTSSequenceNumberNotMatch",
			fmt.Sprintf("sequence number %d of channel %q is not after the stored %d", req.GetSequenceNumber(), ch.ID, ch.Seq)}
	}
	token := req.GetCheckpoint()
	if token != FinishedToken {
		var err error
		if ch.Kind == channelBaseKind {
			_, err = parseBaseToken(token)
		} else {
			_, err = parseStreamToken(token)
		}
		if err != nil {
			return nil, errParam("invalid checkpoint for channel %q: %v", ch.ID, err)
		}
	}
	prev := *ch
	ch.Checkpoint = token
	ch.Seq = req.GetSequenceNumber()
	if delivered, ts := tokenProgress(token); delivered >= 0 {
		ch.Delivered, ch.CheckpointTs = delivered, ts
	} else if ch.FinalDelivered > ch.Delivered {
		ch.Delivered, ch.CheckpointTs = ch.FinalDelivered, ch.FinalTs
	}
	if err := s.persist(t); err != nil {
		*ch = prev
		return nil, errUnavailable(err)
	}
	return &protocol.CheckpointResponse{}, nil
}

func (s *Service) schedule(instance string, req *protocol.ScheduleRequest) (*protocol.ScheduleResponse, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, e := s.tunnelFor(instance, req.GetTunnelId())
	if e != nil {
		return nil, e
	}
	for _, want := range req.GetChannels() {
		if t.channel(want.GetChannelId()) == nil {
			return nil, errParam("channel %q does not exist", want.GetChannelId())
		}
	}
	for _, want := range req.GetChannels() {
		ch := t.channel(want.GetChannelId())
		switch want.GetStatus() {
		case protocol.ChannelStatus_OPEN: // resume
			ch.Suspended = false
		case protocol.ChannelStatus_CLOSING, protocol.ChannelStatus_CLOSE: // suspend
			if ch.Status == StatusTerminated {
				continue
			}
			ch.Suspended = true
			if ch.Owner != "" && ch.Status == StatusOpen {
				ch.Status = StatusClosing
				ch.Version++
			}
		case protocol.ChannelStatus_TERMINATED: // skip as finished
			if ch.Status != StatusTerminated {
				ch.Version++
				s.terminate(t, ch)
			}
		}
	}
	if err := s.persist(t); err != nil {
		return nil, errUnavailable(err)
	}
	return &protocol.ScheduleResponse{}, nil
}

type rpoLatency struct {
	ChannelTyp string
	Status     string
	TotalCount int64
	AccessTime int64
	RpoTime    int64
}

type tunnelRpoLatency struct {
	Status     string
	TotalCount int64
	AccessTime int64
	RpoTime    int64
}

func (s *Service) getRpo(instance string, req *protocol.GetRpoRequest, byOffset bool) (*protocol.GetRpoResponse, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, e := s.tunnelFor(instance, req.GetTunnelId())
	if e != nil {
		return nil, e
	}
	nowMs := s.now().UnixMilli()
	channels := make(map[string]*rpoLatency, len(t.Channels))
	var total int64
	for _, ch := range t.Channels {
		delivered := max(ch.Delivered, 0)
		total += delivered
		channels[ch.ID] = &rpoLatency{ChannelTyp: ch.Kind, Status: ch.Status, TotalCount: delivered, AccessTime: nowMs, RpoTime: rpoNanos(ch) / 1e6}
	}
	rpoInfos, err := json.Marshal(map[string]map[string]*rpoLatency{t.ID: channels})
	if err != nil {
		return nil, errUnavailable(err)
	}
	tunnelInfos, err := json.Marshal(map[string]*tunnelRpoLatency{t.ID: {Status: t.Stage, TotalCount: total, AccessTime: nowMs, RpoTime: tunnelRpo(t) / 1e6}})
	if err != nil {
		return nil, errUnavailable(err)
	}
	resp := &protocol.GetRpoResponse{RpoInfos: rpoInfos, TunnelRpoInfos: tunnelInfos}
	if byOffset {
		resp.TunnelId = proto.String(t.ID)
	}
	return resp, nil
}
