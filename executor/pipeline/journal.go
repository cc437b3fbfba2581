package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/state"
)

// The journal makes uploads exactly-once. Everything lives in the task's
// PipelineState, under these keys:
//
//	seq/<slot>/<kind>                  last SequenceID allocated to the slot
//	intent/<slot>/<kind>               the upload in flight (at most one per slot and kind)
//	wm/<channel>/<kind>/<partition>    position of the newest record delivered for that partition
//	count/<slot>                       delivered counters of the slot
//	unordered/<channel>                the base channel broke primary-key order (replays are not skipped)
//	cid/<channel>, slot/<n>            the writer slots of the running channels (slots.go)
//
// A flush first writes its intent (allocating the SequenceID), then uploads
// the object, then commits: the intent disappears and the partition's
// watermark and the counters move, in one atomic Apply. A writer that starts
// again resolves a leftover intent from the object store (see uploader.resolve)
// before it reads anything, and skips replayed records at or below their
// partition's watermark, so each record ends up in exactly one object.

// Object kinds a writer produces, each with its own SequenceID series.
const (
	kindData  = "data"
	kindDirty = "dirty"
)

// Intent is an upload about to happen or in flight.
type Intent struct {
	Slot      int      `json:"slot"`
	Kind      string   `json:"kind"`
	Seq       int64    `json:"seq"`
	Key       string   `json:"key"`
	Channel   string   `json:"channel"`
	Partition string   `json:"partition"`
	Last      Position `json:"last"`
	Rows      int64    `json:"rows"`
	Bytes     int64    `json:"bytes"`
	// Attempts are the ids of every upload tried for these rows, the
	// current one last; the object is tagged with the id of the one that
	// created it.
	Attempts []string `json:"attempts,omitempty"`
}

// Counters are what a writer has delivered.
type Counters struct {
	RowsDelivered  int64 `json:"rows_delivered"`
	RowsDirty      int64 `json:"rows_dirty"`
	ObjectsWritten int64 `json:"objects_written"`
	BytesWritten   int64 `json:"bytes_written"`
}

func (c *Counters) add(o Counters) {
	c.RowsDelivered += o.RowsDelivered
	c.RowsDirty += o.RowsDirty
	c.ObjectsWritten += o.ObjectsWritten
	c.BytesWritten += o.BytesWritten
}

// journal reads and writes one task's journal.
type journal struct {
	ps state.PipelineState
}

func seqKey(slot int, kind string) string    { return fmt.Sprintf("seq/%d/%s", slot, kind) }
func intentKey(slot int, kind string) string { return fmt.Sprintf("intent/%d/%s", slot, kind) }
func countKey(slot int) string               { return fmt.Sprintf("count/%d", slot) }
func watermarkPrefix(channel string) string  { return "wm/" + channel + "/" }
func watermarkKey(channel, kind, partition string) string {
	return watermarkPrefix(channel) + kind + "/" + partition
}

// lastSeq returns the last SequenceID allocated to a writer (0 if none).
func (j journal) lastSeq(ctx context.Context, slot int, kind string) (int64, error) {
	v, ok, err := j.ps.Get(ctx, seqKey(slot, kind))
	if err != nil || !ok {
		return 0, err
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("journal: corrupt %s: %w", seqKey(slot, kind), err)
	}
	return n, nil
}

// begin allocates the next SequenceID of the writer, lets name turn it into
// the object key, and durably records the intent.
func (j journal) begin(ctx context.Context, in Intent, name func(seq int64) string) (Intent, error) {
	last, err := j.lastSeq(ctx, in.Slot, in.Kind)
	if err != nil {
		return Intent{}, err
	}
	in.Seq = last + 1
	in.Key = name(in.Seq)
	body, err := json.Marshal(in)
	if err != nil {
		return Intent{}, fmt.Errorf("journal: encode intent: %w", err)
	}
	puts := map[string][]byte{
		seqKey(in.Slot, in.Kind):    []byte(strconv.FormatInt(in.Seq, 10)),
		intentKey(in.Slot, in.Kind): body,
	}
	if err := j.ps.Apply(ctx, puts, nil); err != nil {
		return Intent{}, fmt.Errorf("journal: record intent for %s: %w", in.Key, err)
	}
	return in, nil
}

// pending returns the writer's leftover intent of a kind, if any.
func (j journal) pending(ctx context.Context, slot int, kind string) (*Intent, error) {
	v, ok, err := j.ps.Get(ctx, intentKey(slot, kind))
	if err != nil || !ok {
		return nil, err
	}
	var in Intent
	if err := json.Unmarshal(v, &in); err != nil {
		return nil, fmt.Errorf("journal: corrupt intent %s: %w", intentKey(slot, kind), err)
	}
	return &in, nil
}

// commit records a finished upload: the intent goes, the watermark and the
// writer's counters move.
func (j journal) commit(ctx context.Context, in Intent) (Counters, error) {
	total, err := j.writerCounters(ctx, in.Slot)
	if err != nil {
		return Counters{}, err
	}
	delta := Counters{BytesWritten: in.Bytes}
	if in.Key != "" { // dirty rows without a dirty prefix are only counted
		delta.ObjectsWritten = 1
	}
	if in.Kind == kindDirty {
		delta.RowsDirty = in.Rows
	} else {
		delta.RowsDelivered = in.Rows
	}
	total.add(delta)
	counts, err := json.Marshal(total)
	if err != nil {
		return Counters{}, fmt.Errorf("journal: encode counters: %w", err)
	}
	wm, err := json.Marshal(in.Last)
	if err != nil {
		return Counters{}, fmt.Errorf("journal: encode watermark: %w", err)
	}
	puts := map[string][]byte{
		watermarkKey(in.Channel, in.Kind, in.Partition): wm,
		countKey(in.Slot): counts,
	}
	if err := j.ps.Apply(ctx, puts, []string{intentKey(in.Slot, in.Kind)}); err != nil {
		return Counters{}, fmt.Errorf("journal: commit %s: %w", in.Key, err)
	}
	return delta, nil
}

// abandon drops an intent whose upload did not land. When reuse is set (no
// object at all) its SequenceID is freed so that numbering stays dense;
// otherwise the key is taken and the SequenceID stays used.
func (j journal) abandon(ctx context.Context, in Intent, reuse bool) error {
	puts := map[string][]byte{}
	last, err := j.lastSeq(ctx, in.Slot, in.Kind)
	if err != nil {
		return err
	}
	if reuse && last == in.Seq {
		puts[seqKey(in.Slot, in.Kind)] = []byte(strconv.FormatInt(in.Seq-1, 10))
	}
	if err := j.ps.Apply(ctx, puts, []string{intentKey(in.Slot, in.Kind)}); err != nil {
		return fmt.Errorf("journal: abandon %s: %w", in.Key, err)
	}
	return nil
}

// watermarks returns the committed positions of a channel by partition key
// ("<kind>/<partition>").
func (j journal) watermarks(ctx context.Context, channel string) (map[string]Position, error) {
	out := map[string]Position{}
	prefix := watermarkPrefix(channel)
	err := j.ps.Scan(ctx, prefix, func(key string, value []byte) error {
		var p Position
		if err := json.Unmarshal(value, &p); err != nil {
			return fmt.Errorf("journal: corrupt watermark %s: %w", key, err)
		}
		out[strings.TrimPrefix(key, prefix)] = p
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (j journal) writerCounters(ctx context.Context, slot int) (Counters, error) {
	var c Counters
	v, ok, err := j.ps.Get(ctx, countKey(slot))
	if err != nil || !ok {
		return c, err
	}
	if err := json.Unmarshal(v, &c); err != nil {
		return c, fmt.Errorf("journal: corrupt counters %s: %w", countKey(slot), err)
	}
	return c, nil
}

// counters sums the counters of every writer of the task.
func (j journal) counters(ctx context.Context) (Counters, error) {
	var total Counters
	err := j.ps.Scan(ctx, "count/", func(key string, value []byte) error {
		var c Counters
		if err := json.Unmarshal(value, &c); err != nil {
			return fmt.Errorf("journal: corrupt counters %s: %w", key, err)
		}
		total.add(c)
		return nil
	})
	return total, err
}

var errStopped = errors.New("pipeline: writer stopped")

func unorderedKey(channel string) string { return "unordered/" + channel }

// unordered tells whether a base channel was seen breaking primary-key
// order (see replayFilter).
func (j journal) unordered(ctx context.Context, channel string) (bool, error) {
	_, ok, err := j.ps.Get(ctx, unorderedKey(channel))
	return ok, err
}

func (j journal) markUnordered(ctx context.Context, channel string) error {
	if err := j.ps.Apply(ctx, map[string][]byte{unorderedKey(channel): []byte("1")}, nil); err != nil {
		return fmt.Errorf("journal: record that channel %s is out of order: %w", channel, err)
	}
	return nil
}

// forgetChannel drops what the journal keeps for a finished channel (its
// watermarks and order flag): it will never be read again.
func (j journal) forgetChannel(ctx context.Context, channel string) error {
	deletes := []string{unorderedKey(channel)}
	err := j.ps.Scan(ctx, watermarkPrefix(channel), func(key string, _ []byte) error {
		deletes = append(deletes, key)
		return nil
	})
	if err == nil {
		err = j.ps.Apply(ctx, nil, deletes)
	}
	if err != nil {
		return fmt.Errorf("journal: forget finished channel %s: %w", channel, err)
	}
	return nil
}
