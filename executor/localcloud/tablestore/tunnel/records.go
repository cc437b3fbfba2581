package tunnel

import (
	"errors"
	"fmt"
	"math"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel/protocol"
	"google.golang.org/protobuf/proto"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/plainbuffer"
)

// readTarget is what a ReadRecords call needs to know about its channel,
// copied out under the lock so that the storage read runs without it.
type readTarget struct {
	kind       string
	partition  string
	epoch      int32
	instance   string
	table      string
	snapshotID string
	minMicros  int64 // stream: skip records written before (startOffset)
	endMicros  int64 // stream: finish at records written from (endOffset); 0 = never
	maxRecords int
	maxBytes   int
	nowMicros  int64
	channelID  string
	tunnelID   string
	terminated bool
}

func (s *Service) readRecords(instance string, req *protocol.ReadRecordsRequest) (*protocol.ReadRecordsResponse, *apiError) {
	target, e := s.readTarget(instance, req)
	if e != nil {
		return nil, e
	}
	if target.terminated || req.GetToken() == FinishedToken {
		return &protocol.ReadRecordsResponse{NextToken: proto.String(FinishedToken), MayMoreRecord: proto.Bool(false)}, nil
	}
	if target.kind == channelBaseKind {
		return s.readBase(target, req.GetToken())
	}
	return s.readStream(target, req.GetToken())
}

func (s *Service) readTarget(instance string, req *protocol.ReadRecordsRequest) (readTarget, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, e := s.tunnelFor(instance, req.GetTunnelId())
	if e != nil {
		return readTarget{}, e
	}
	if _, e := s.liveClient(t, req.GetClientId()); e != nil {
		return readTarget{}, e
	}
	ch := t.channel(req.GetChannelId())
	if ch == nil {
		return readTarget{}, errParam("channel %q does not exist", req.GetChannelId())
	}
	target := readTarget{
		kind: ch.Kind, partition: ch.Partition, epoch: ch.Epoch, instance: t.Instance, table: t.Table,
		snapshotID: t.SnapshotID,
		minMicros:  int64(t.StartOffsetNs / 1000), endMicros: int64(t.EndOffsetNs / 1000),
		maxRecords: s.cfg.MaxRecordsPerRead, maxBytes: s.cfg.MaxBytesPerRead,
		nowMicros: s.now().UnixMicro(), channelID: ch.ID, tunnelID: t.ID,
	}
	if ch.Status == StatusTerminated {
		target.terminated = true
		return target, nil
	}
	if ch.Owner != req.GetClientId() || (ch.Status != StatusOpen && ch.Status != StatusClosing) {
		return readTarget{}, errParam("channel %q is not open for client %q", ch.ID, req.GetClientId())
	}
	return target, nil
}

func (s *Service) readBase(target readTarget, token string) (*protocol.ReadRecordsResponse, *apiError) {
	tok, err := parseBaseToken(token)
	if err != nil {
		return nil, errParam("invalid token for channel %q: %v", target.channelID, err)
	}
	var cursor []byte
	if tok.lastKey != nil {
		cursor = s.cfg.Source.SnapshotCursor(tok.lastKey)
	}
	records, more, err := s.cfg.Source.ScanSnapshot(target.snapshotID, target.partition, cursor, target.maxRecords)
	if errors.Is(err, ErrTableNotFound) {
		// Retrying cannot help: answer with a non-retryable error.
		return nil, errParam("channel %q: %v", target.channelID, err)
	}
	if err != nil {
		return nil, errUnavailable(fmt.Errorf("scan snapshot of %s partition %s: %w", target.table, target.partition, err))
	}
	// Base records carry no row extension (the real service sends sequence
	// information with stream records only): the source's records are sent
	// as they are.
	resp := &protocol.ReadRecordsResponse{Records: make([]*protocol.Record, 0, len(records))}
	put := protocol.ActionType_PUT_ROW
	batch := make([]protocol.Record, len(records)) // one allocation, not one per record
	size := 0
	stoppedBySize := false
	for i, rec := range records {
		batch[i].ActionType, batch[i].Record = &put, rec
		resp.Records = append(resp.Records, &batch[i])
		tok.delivered++
		size += len(rec)
		if size >= target.maxBytes && i < len(records)-1 {
			stoppedBySize = true
			break
		}
	}
	if n := len(resp.Records); n > 0 {
		// The token resumes after the last record's key: decode that one row.
		last, err := plainbuffer.DecodeRow(resp.Records[n-1].Record)
		if err != nil {
			return nil, errUnavailable(fmt.Errorf("snapshot record of %s partition %s: %w", target.table, target.partition, err))
		}
		tok.lastKey = last.PrimaryKey
	}
	if !stoppedBySize && !more {
		s.noteFinal(target, tok.delivered, 0)
		resp.NextToken = proto.String(FinishedToken)
		resp.MayMoreRecord = proto.Bool(false)
		return resp, nil
	}
	next, err := tok.encode()
	if err != nil {
		return nil, errUnavailable(err)
	}
	resp.NextToken = proto.String(next)
	resp.MayMoreRecord = proto.Bool(true)
	return resp, nil
}

func (s *Service) readStream(target readTarget, token string) (*protocol.ReadRecordsResponse, *apiError) {
	tok, err := parseStreamToken(token)
	if err != nil {
		return nil, errParam("invalid token for channel %q: %v", target.channelID, err)
	}
	changes, more, err := s.cfg.Source.ReadChanges(target.instance, target.table, target.partition, tok.afterSeq, target.maxRecords)
	if errors.Is(err, ErrChangesExpired) {
		s.markExpired(target)
		return nil, errTrimmed()
	}
	if errors.Is(err, ErrTableNotFound) {
		return nil, errParam("channel %q: %v", target.channelID, err)
	}
	if err != nil {
		return nil, errUnavailable(fmt.Errorf("read change log of %s partition %s: %w", target.table, target.partition, err))
	}
	resp := &protocol.ReadRecordsResponse{Records: make([]*protocol.Record, 0, len(changes))}
	batch := make([]protocol.Record, len(changes)) // one allocation, not one per record
	// The records share their action types' values, one of each per answer.
	actions := map[protocol.ActionType]*protocol.ActionType{}
	// Room for every record: the stored rows and their extensions.
	need := 0
	for i := range changes {
		need += len(changes[i].Row) + plainbuffer.ExtensionSize
	}
	arena := recordArena{buf: make([]byte, 0, min(need, arenaChunk))}
	size := 0
	finished := false
	for i := range changes {
		c := &changes[i]
		if target.endMicros > 0 && c.TimeMicros >= target.endMicros {
			finished = true
			break
		}
		tok.afterSeq = c.Seq
		if c.TimeMicros < target.minMicros {
			continue
		}
		// The timestamp never goes backwards within a channel, and equal
		// timestamps get consecutive row indexes; both come from the token, so
		// re-reading from any checkpoint numbers records identically.
		ts := max(c.TimeMicros, tok.lastTs)
		idx := int64(0)
		if ts == tok.lastTs {
			idx = tok.lastRowIndex + 1
			if idx > math.MaxInt32 {
				ts, idx = ts+1, 0
			}
		}
		tok.lastTs, tok.lastRowIndex = ts, idx
		tok.delivered++
		buf, action, err := encodeChange(&arena, c, &plainbuffer.SequenceInfo{Epoch: target.epoch, Timestamp: ts, RowIndex: int32(idx)})
		if err != nil {
			return nil, errUnavailable(fmt.Errorf("change log of %s partition %s: %w", target.table, target.partition, err))
		}
		rec := &batch[len(resp.Records)]
		if actions[action] == nil {
			actions[action] = action.Enum()
		}
		rec.ActionType, rec.Record = actions[action], buf
		resp.Records = append(resp.Records, rec)
		size += len(buf)
		if size >= target.maxBytes && i < len(changes)-1 {
			more = true
			break
		}
	}
	if !finished && !more && target.endMicros > 0 && target.nowMicros > target.endMicros {
		// Caught up, and anything written from now on is past the end offset.
		finished = true
	}
	if !finished && !more {
		// Caught up with a split partition: its log ends here, and the
		// children's channels continue once this one is TERMINATED.
		ended, e := s.partitionEnded(target, tok.afterSeq)
		if e != nil {
			return nil, e
		}
		finished = ended
	}
	if finished {
		s.noteFinal(target, tok.delivered, tok.lastTs)
		resp.NextToken = proto.String(FinishedToken)
		resp.MayMoreRecord = proto.Bool(false)
		return resp, nil
	}
	next, err := tok.encode()
	if err != nil {
		return nil, errUnavailable(err)
	}
	resp.NextToken = proto.String(next)
	resp.MayMoreRecord = proto.Bool(more)
	return resp, nil
}

// encodeChange renders a change-log entry as a one-row PlainBuffer record:
// the stored row with the sequence extension added when its cells are already
// in the shape a record carries (as the storage writes them), otherwise the
// decoded row with its cells put in that shape and encoded again. Both give
// the same bytes for the same change.
func encodeChange(arena *recordArena, c *Change, seq *plainbuffer.SequenceInfo) ([]byte, protocol.ActionType, error) {
	action := protocol.ActionType_PUT_ROW
	switch c.Kind {
	case ChangeDelete:
		action = protocol.ActionType_DELETE_ROW
	case ChangeUpdate:
		action = protocol.ActionType_UPDATE_ROW
	}
	if buf, ok := arena.appendStored(c, seq); ok {
		return buf, action, nil
	}
	stored, err := plainbuffer.DecodeRow(c.Row)
	if err != nil {
		return nil, action, fmt.Errorf("change %d: %w", c.Seq, err)
	}
	row := plainbuffer.Row{PrimaryKey: stored.PrimaryKey, Extension: seq}
	if c.Kind == ChangeDelete {
		row.Deleted = true
	} else {
		row.Cells = recordCells(stored.Cells, c.TimeMicros)
	}
	return arena.encode(&row), action, nil
}

// recordCells returns the cells as tunnel records carry them: put cells with
// a value and a timestamp (ms), delete-one with a timestamp, delete-all
// without. Increments are resolved by the storage into puts; a stray one is
// sent as a put. The input is copied only when something must change.
func recordCells(cells []plainbuffer.Cell, writeMicros int64) []plainbuffer.Cell {
	needsFix := false
	for i := range cells {
		c := &cells[i]
		if c.Op == plainbuffer.OpIncrement || (c.Op == plainbuffer.OpPut && !c.HasTimestamp) ||
			(c.Op == plainbuffer.OpDeleteAllVersions && (c.HasTimestamp || c.Value != nil)) {
			needsFix = true
			break
		}
	}
	if !needsFix {
		return cells
	}
	out := make([]plainbuffer.Cell, len(cells))
	copy(out, cells)
	for i := range out {
		c := &out[i]
		switch c.Op {
		case plainbuffer.OpIncrement:
			c.Op = plainbuffer.OpPut
			fallthrough
		case plainbuffer.OpPut:
			if !c.HasTimestamp {
				c.HasTimestamp, c.Timestamp = true, writeMicros/1000
			}
		case plainbuffer.OpDeleteAllVersions:
			c.HasTimestamp, c.Timestamp, c.Value = false, 0, nil
		}
	}
	return out
}

// noteFinal remembers a channel's final record count and timestamp for
// progress reporting once its "finished" token is checkpointed.
func (s *Service) noteFinal(target readTarget, delivered, ts int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.tunnels[target.tunnelID]; ok {
		if ch := t.channel(target.channelID); ch != nil && delivered > ch.FinalDelivered {
			ch.FinalDelivered, ch.FinalTs = delivered, ts
		}
	}
}

// recordArena encodes the records of one answer into shared chunks instead
// of one allocation per record; the protobuf marshalling copies them out.
type recordArena struct {
	buf []byte
}

const arenaChunk = 256 << 10

// encode returns the one-row PlainBuffer (header and row) of r. Returned
// slices never overlap: later rows are appended after them (or, when append
// moves to a larger array, the earlier slices keep the old one).
func (a *recordArena) encode(r *plainbuffer.Row) []byte {
	if cap(a.buf)-len(a.buf) < 4<<10 {
		a.buf = make([]byte, 0, arenaChunk)
	}
	start := len(a.buf)
	a.buf = plainbuffer.AppendRow(plainbuffer.AppendHeader(a.buf), r)
	return a.buf[start:len(a.buf):len(a.buf)]
}

// appendStored adds the change's stored row with the sequence extension, when
// the row is what the record carries as it is: a delete's row is its primary
// key and delete marker, a put's or an update's has no delete marker, and
// every cell has a record's shape (plainbuffer.AppendStreamRecord).
func (a *recordArena) appendStored(c *Change, seq *plainbuffer.SequenceInfo) ([]byte, bool) {
	if cap(a.buf)-len(a.buf) < len(c.Row)+plainbuffer.ExtensionSize {
		a.buf = make([]byte, 0, max(arenaChunk, len(c.Row)+plainbuffer.ExtensionSize))
	}
	start := len(a.buf)
	buf, shape, ok := plainbuffer.AppendStreamRecord(a.buf, c.Row, seq)
	if !ok || shape.Deleted != (c.Kind == ChangeDelete) || (shape.Deleted && shape.Cells > 0) {
		return nil, false
	}
	a.buf = buf
	return a.buf[start:len(a.buf):len(a.buf)], true
}

// partitionEnded reports whether a channel's partition was split and has no
// change after afterSeq (a split partition's log takes no more changes).
func (s *Service) partitionEnded(target readTarget, afterSeq uint64) (bool, *apiError) {
	parts, err := s.cfg.Source.Partitions(target.instance, target.table)
	if err != nil {
		return false, errUnavailable(fmt.Errorf("partitions of %s: %w", target.table, err))
	}
	for _, p := range parts {
		if p.ID == target.partition {
			return !p.Open && afterSeq >= p.LastSeq, nil
		}
	}
	return false, nil
}

// markExpired notes that a tunnel's stream reached past retention, for
// DescribeTunnel's Expired flag.
func (s *Service) markExpired(target readTarget) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.tunnels[target.tunnelID]; ok && !t.Expired {
		t.Expired = true
		s.log.Warn("tunnel expired: a channel's next changes are past retention", "tunnel", t.ID, "channel", target.channelID)
		if err := s.persist(t); err != nil {
			s.log.Error("persist expiry", "tunnel", t.ID, "err", err)
		}
	}
}
