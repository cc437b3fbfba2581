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

// baseTsLead is how far (µs) before the snapshot instant base records are
// numbered: base record k of a shard gets timestamp BaseTs + k>>31 and row
// index k & (2^31-1), so up to 1024·2^31 rows per shard stay strictly below
// the snapshot instant, and stream records (write time ≥ snapshot instant,
// clamped to at least BaseTs+baseTsLead-1) always sort after them.
const baseTsLead = 1025

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
	ranges, err := s.cfg.Source.Shards(instance, table)
	shards := len(ranges)
	if errors.Is(err, ErrTableNotFound) {
		return nil, errParam("table %q does not exist", table)
	}
	if err != nil {
		return nil, errUnavailable(fmt.Errorf("shards of %q: %w", table, err))
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
		StreamStart:  make([]uint64, shards),
	}
	if cfg := spec.GetStreamTunnelConfig(); cfg != nil {
		t.StartFlag = int32(cfg.GetFlag())
		t.StartOffsetNs = cfg.GetStartOffset()
		t.EndOffsetNs = cfg.GetEndOffset()
	}
	withBase := typ != TypeStream
	if withBase {
		t.BaseTs = now.UnixMicro() - baseTsLead
		snapID, perShard, err := s.cfg.Source.CreateSnapshot(instance, table)
		if err != nil {
			return nil, errUnavailable(fmt.Errorf("snapshot of %q: %w", table, err))
		}
		if len(perShard) != shards {
			_ = s.cfg.Source.ReleaseSnapshot(snapID)
			return nil, errUnavailable(fmt.Errorf("snapshot of %q has %d shards, table has %d", table, len(perShard), shards))
		}
		t.SnapshotID = snapID
		copy(t.StreamStart, perShard)
		t.Stage = StageBaseData
	} else {
		t.Stage = StageStream
		for shard, r := range ranges {
			if t.StartOffsetNs == 0 && t.StartFlag == int32(protocol.StartOffsetFlag_LATEST) {
				t.StreamStart[shard] = r.LastSeq
			} else {
				// EARLIEST and startOffset read the retained log from its
				// beginning; records before startOffset are skipped while reading.
				t.StreamStart[shard] = r.FirstSeq - 1
			}
		}
	}
	if withBase {
		for shard := range shards {
			tok, err := baseToken{baseTs: t.BaseTs}.encode()
			if err != nil {
				return nil, errUnavailable(err)
			}
			t.Channels = append(t.Channels, &channelState{
				ID: ChannelID(channelBaseKind, t.ID, shard), Kind: channelBaseKind, Shard: shard,
				Status: StatusClose, Checkpoint: tok,
			})
		}
	}
	if typ != TypeBaseData {
		status := StatusClose
		lastTs := int64(0)
		if withBase {
			status = StatusWait
			lastTs = t.BaseTs + baseTsLead - 1
		}
		for shard := range shards {
			tok, err := streamToken{afterSeq: t.StreamStart[shard], lastTs: lastTs, lastRowIndex: -1}.encode()
			if err != nil {
				return nil, errUnavailable(err)
			}
			t.Channels = append(t.Channels, &channelState{
				ID: ChannelID(channelStrKind, t.ID, shard), Kind: channelStrKind, Shard: shard,
				Status: status, Checkpoint: tok,
			})
		}
	}
	if err := s.persist(t); err != nil {
		if t.SnapshotID != "" {
			_ = s.cfg.Source.ReleaseSnapshot(t.SnapshotID)
		}
		return nil, errUnavailable(err)
	}
	s.tunnels[t.ID] = t
	s.log.Info("tunnel created", "tunnel", t.ID, "name", name, "table", table, "type", typ, "shards", shards)
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
		Expired:          proto.Bool(false),
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

// rpoMillis is the progress of a channel as a Unix time in milliseconds: the
// sequence timestamp of its last checkpoint (0 before the first one).
func rpoMillis(ch *channelState) int64 {
	if ch.CheckpointTs <= 0 {
		return 0
	}
	return ch.CheckpointTs / 1000
}

// tunnelRpo is the smallest progress over the channels of the current stage
// that are not finished (0 when nothing was checkpointed yet).
func tunnelRpo(t *tunnelState) int64 {
	var rpo int64 = -1
	for _, ch := range t.Channels {
		if ch.Status == StatusTerminated || ch.Status == StatusWait {
			continue
		}
		if r := rpoMillis(ch); rpo < 0 || r < rpo {
			rpo = r
		}
	}
	if rpo < 0 {
		return 0
	}
	return rpo
}

func (s *Service) describe(instance string, req *protocol.DescribeTunnelRequest) (*protocol.DescribeTunnelResponse, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, e := s.byName(instance, req.GetTableName(), req.GetTunnelName(), req.GetTunnelId())
	if e != nil {
		return nil, e
	}
	s.expireClients(t)
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
			ChannelRpo:    proto.Int64(rpoMillis(ch)),
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
	for _, other := range t.Channels {
		if other.Kind == channelBaseKind && other.Status != StatusTerminated {
			return
		}
	}
	// Every base channel is done: the snapshot is no longer needed, and the
	// stream channels start exactly where the snapshot ends.
	s.freeSnapshot(t)
	if t.Type == TypeBaseAndStream && t.Stage != StageStream {
		t.Stage = StageStream
		for _, other := range t.Channels {
			if other.Kind == channelStrKind && other.Status == StatusWait {
				other.Status = StatusClose
			}
		}
		s.log.Info("tunnel switched to stream stage", "tunnel", t.ID)
	}
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
		channels[ch.ID] = &rpoLatency{ChannelTyp: ch.Kind, Status: ch.Status, TotalCount: delivered, AccessTime: nowMs, RpoTime: rpoMillis(ch)}
	}
	rpoInfos, err := json.Marshal(map[string]map[string]*rpoLatency{t.ID: channels})
	if err != nil {
		return nil, errUnavailable(err)
	}
	tunnelInfos, err := json.Marshal(map[string]*tunnelRpoLatency{t.ID: {Status: t.Stage, TotalCount: total, AccessTime: nowMs, RpoTime: tunnelRpo(t)}})
	if err != nil {
		return nil, errUnavailable(err)
	}
	resp := &protocol.GetRpoResponse{RpoInfos: rpoInfos, TunnelRpoInfos: tunnelInfos}
	if byOffset {
		resp.TunnelId = proto.String(t.ID)
	}
	return resp, nil
}
