package tunnel

import (
	"fmt"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel/protocol"
)

// addBaseChannels snapshots the table and gives the tunnel one base channel
// per partition of the snapshot and, for BaseAndStream, one waiting stream
// channel per partition that starts right after the snapshot.
func (s *Service) addBaseChannels(t *tunnelState) *apiError {
	snapID, snapParts, err := s.cfg.Source.CreateSnapshot(t.Instance, t.Table)
	if err != nil {
		return errUnavailable(fmt.Errorf("snapshot of %q: %w", t.Table, err))
	}
	// Listed after the snapshot, so every partition it covers is known.
	parts, err := s.cfg.Source.Partitions(t.Instance, t.Table)
	if err != nil {
		_ = s.cfg.Source.ReleaseSnapshot(snapID)
		return errUnavailable(fmt.Errorf("partitions of %q: %w", t.Table, err))
	}
	byID := make(map[string]Partition, len(parts))
	for _, p := range parts {
		byID[p.ID] = p
	}
	t.SnapshotID = snapID
	t.Stage = StageBaseData
	for _, sp := range snapParts {
		p := byID[sp.ID]
		tok, err := baseToken{}.encode()
		if err != nil {
			return errUnavailable(err)
		}
		t.Channels = append(t.Channels, &channelState{
			ID: newChannelID(channelBaseKind), Kind: channelBaseKind, Partition: sp.ID, Parent: p.Parent, Epoch: p.Epoch,
			Status: StatusClose, Checkpoint: tok,
		})
	}
	if t.Type == TypeBaseAndStream {
		for _, sp := range snapParts {
			p := byID[sp.ID]
			if e := s.addStreamChannel(t, p, sp.Seq); e != nil {
				return e
			}
		}
		s.followSplits(t, parts)
	}
	return nil
}

// addStreamChannels gives a Stream tunnel its channels: with LATEST one per
// open partition from its current end; with EARLIEST or a start offset also
// one per split partition that still holds changes within retention, each
// from its oldest retained change (changes before the start offset are
// skipped while reading).
func (s *Service) addStreamChannels(t *tunnelState, parts []Partition) *apiError {
	latest := t.StartOffsetNs == 0 && t.StartFlag == int32(protocol.StartOffsetFlag_LATEST)
	for _, p := range parts {
		after := p.FirstSeq - 1
		switch {
		case latest && !p.Open:
			continue
		case latest:
			after = p.LastSeq
		case !p.Open && p.FirstSeq > p.LastSeq:
			continue
		}
		if e := s.addStreamChannel(t, p, after); e != nil {
			return e
		}
	}
	return nil
}

// addStreamChannel adds the stream channel of a partition, starting after the
// given change; it waits while mustWait says so.
func (s *Service) addStreamChannel(t *tunnelState, p Partition, afterSeq uint64) *apiError {
	tok, err := streamToken{afterSeq: afterSeq, lastRowIndex: -1}.encode()
	if err != nil {
		return errUnavailable(err)
	}
	ch := &channelState{
		ID: newChannelID(channelStrKind), Kind: channelStrKind, Partition: p.ID, Parent: p.Parent, Epoch: p.Epoch,
		Status: StatusClose, Checkpoint: tok,
	}
	t.Channels = append(t.Channels, ch)
	if t.mustWait(ch) {
		ch.Status = StatusWait
	}
	return nil
}

// followSplits adds a stream channel for every partition split from one the
// tunnel reads (its stream then continues in the children, read from their
// first change once the parent's channel is TERMINATED), and reports whether
// it added any. Callers hold s.mu.
func (s *Service) followSplits(t *tunnelState, parts []Partition) bool {
	added := false
	for again := true; again; {
		again = false
		for _, p := range parts {
			if p.Parent == "" || t.streamChannel(p.ID) != nil || t.streamChannel(p.Parent) == nil {
				continue
			}
			if e := s.addStreamChannel(t, p, 0); e != nil {
				s.log.Warn("add channel for split partition", "tunnel", t.ID, "partition", p.ID, "err", e)
				return added
			}
			s.log.Info("tunnel channel added for split partition", "tunnel", t.ID, "partition", p.ID, "parent", p.Parent)
			added, again = true, true
		}
	}
	return added
}

// syncPartitions looks for partitions split since the tunnel last looked and
// adds their channels; it reports whether the tunnel changed. Callers hold
// s.mu.
func (s *Service) syncPartitions(t *tunnelState) bool {
	if t.Type == TypeBaseData {
		return false
	}
	parts, err := s.cfg.Source.Partitions(t.Instance, t.Table)
	if err != nil {
		s.log.Debug("list partitions", "tunnel", t.ID, "err", err)
		return false
	}
	return s.followSplits(t, parts)
}
