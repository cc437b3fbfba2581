package pipeline

import (
	"math"
	"strings"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel"
)

// replayFilter recognises the records of one channel that are already in
// OSS, when the channel is read again from an older checkpoint after a
// restart, and tells the writer to skip them.
//
// Stream records carry sequence info (epoch, timestamp, row index) that
// the service repeats when they are read again; a record at or below its
// partition's committed watermark is a replay.
//
// Base records carry no sequence info (tunnel.Record: "SequenceInfo is nil
// when it is a base data record"; the SDK's exactlyOnce sample: "Only
// incremental data has SequenceInfo"), and the filter ignores any they do
// carry. It relies on one thing only: a base channel delivers its rows in
// strictly increasing primary-key order (its checkpoint token is a
// primary-key cursor). Then every row of a partition up to the primary key
// of the partition's last delivered row is in OSS, and a replayed row with
// a key at or below that watermark is skipped. The filter checks the order
// as rows arrive; a row whose key is not greater than the one before breaks
// the assumption, and from then on the channel skips nothing (at least
// once rather than a lost row) — see orderBroken.
type replayFilter struct {
	// watermarks are the committed positions by "<kind>/<partition>".
	watermarks map[string]Position
	// ordinal numbers records that have no usable position.
	ordinal int64
	// lastKey is the key of the base record before, in this run.
	lastKey Key
	// unordered is set once the channel broke primary-key order; then
	// nothing is skipped (the flag is kept in the journal).
	unordered bool
	// onOrderBroken learns the first violation.
	onOrderBroken func(prev, cur Key)
}

// isBaseChannel tells whether records come from a base (full data)
// channel: the SDK's streamChannel flag, or the "BaseData_" prefix of the
// channel id, which the SDK itself relies on (tunnel/channel.go
// ChannelDial) and which is the only thing a channel id tells.
func isBaseChannel(channelID string, streamChannel bool) bool {
	return !streamChannel || strings.HasPrefix(channelID, "BaseData_")
}

// position returns a record's position and whether it may be used to
// recognise a replay.
func (f *replayFilter) position(rec *tunnel.Record, base bool) (Position, bool) {
	if base {
		k, ok := keyOf(rec)
		if !ok {
			return f.unstable(), false
		}
		if f.lastKey != nil && k.Compare(f.lastKey) <= 0 && !f.unordered {
			f.unordered = true
			if f.onOrderBroken != nil {
				f.onOrderBroken(f.lastKey, k)
			}
		}
		f.lastKey = k
		return Position{Key: k}, !f.unordered
	}
	if si := rec.SequenceInfo; si != nil {
		return Position{Epoch: si.Epoch, Timestamp: si.Timestamp, RowIndex: si.RowIndex}, true
	}
	// Without sequence info a replayed record cannot be recognised: such
	// records are delivered at least once.
	return f.unstable(), false
}

func (f *replayFilter) unstable() Position {
	f.ordinal++
	return Position{Timestamp: math.MinInt64, RowIndex: int32(f.ordinal)}
}

// replayed tells whether a record at pos in the buffer bkey is already in
// OSS.
func (f *replayFilter) replayed(bkey string, pos Position, stable bool) bool {
	if !stable || f.unordered {
		return false
	}
	wm, ok := f.watermarks[bkey]
	return ok && !wm.Less(pos)
}

// delivered moves a buffer's watermark after its upload committed.
func (f *replayFilter) delivered(bkey string, last Position) {
	if f.watermarks == nil {
		f.watermarks = map[string]Position{}
	}
	f.watermarks[bkey] = last
}

// stale returns the watermarks below a checkpointed position: records read
// again from that checkpoint all come after it, so they match nothing.
func (f *replayFilter) stale(checkpointed Position) []string {
	var keys []string
	for k, wm := range f.watermarks {
		if wm.Less(checkpointed) {
			keys = append(keys, k)
		}
	}
	return keys
}

func (f *replayFilter) forget(keys []string) {
	for _, k := range keys {
		delete(f.watermarks, k)
	}
}
