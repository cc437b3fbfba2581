package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/state"
)

// slots gives each channel of a task that runs a writer a compact, durable
// writer slot: the ConcurrentID in its object names. A slot is taken from
// 0 up, the lowest free one; a channel keeps its slot across restarts and
// across executors until it finishes, and a finished channel frees it for
// the next channel, whose SequenceIDs continue the slot's (the seq/,
// intent/ and count/ keys of the journal are per slot). So a table read by
// four channels at a time writes ConcurrentIDs 0–3, a differential task's
// stream channels reuse the slots of its finished base channels, and a
// partition split that makes more channels run at once adds a slot.
//
// In the task's PipelineState:
//
//	cid/<channel>  the channel's slot
//	slot/<n>       the channel holding slot n
//
// Both are written together by a conditional step (ApplyIf) that expects
// both absent, so that several executors sharing the task through the
// registry never give one slot to two channels, nor two slots to one.
type slots struct {
	ps state.PipelineState
}

func cidKey(channel string) string { return "cid/" + channel }
func slotKey(n int) string         { return "slot/" + strconv.Itoa(n) }

// maxSlotTries bounds the retries of a slot take that keeps losing races
// to other executors (each loss means another channel got a slot).
const maxSlotTries = 64

// take returns the channel's slot, taking the lowest free one on first use.
func (s slots) take(ctx context.Context, channel string) (int, error) {
	for range maxSlotTries {
		n, ok, err := s.held(ctx, channel)
		if err != nil {
			return 0, err
		}
		if ok {
			if err := s.confirm(ctx, channel, n); err == nil || !errors.Is(err, state.ErrConflict) {
				return n, err
			}
			continue // the record was stale and is gone: take a slot
		}
		taken, err := s.taken(ctx)
		if err != nil {
			return 0, err
		}
		n = 0
		for taken[n] {
			n++
		}
		err = s.ps.ApplyIf(ctx,
			map[string][]byte{cidKey(channel): nil, slotKey(n): nil},
			map[string][]byte{cidKey(channel): []byte(strconv.Itoa(n)), slotKey(n): []byte(channel)}, nil)
		if err == nil {
			return n, nil
		}
		if !errors.Is(err, state.ErrConflict) {
			return 0, fmt.Errorf("journal: take a writer slot for channel %s: %w", channel, err)
		}
		// Another executor took that slot, or gave this channel one: look again.
	}
	return 0, fmt.Errorf("journal: no writer slot for channel %s after %d conflicting tries", channel, maxSlotTries)
}

// confirm makes sure slot n, which cid/<channel> names, is recorded as the
// channel's. A journal written before slots were recorded (cid/ alone)
// gets its slot/<n>; if another channel holds n, the stale cid/ record is
// dropped and ErrConflict returned, so that the channel takes a free slot.
func (s slots) confirm(ctx context.Context, channel string, n int) error {
	v, ok, err := s.ps.Get(ctx, slotKey(n))
	switch {
	case err != nil:
		return err
	case ok && string(v) == channel:
		return nil
	case !ok:
		// ErrConflict: someone else changed either meanwhile; look again.
		return s.ps.ApplyIf(ctx, map[string][]byte{slotKey(n): nil, cidKey(channel): []byte(strconv.Itoa(n))},
			map[string][]byte{slotKey(n): []byte(channel)}, nil)
	}
	err = s.ps.ApplyIf(ctx, map[string][]byte{cidKey(channel): []byte(strconv.Itoa(n))}, nil, []string{cidKey(channel)})
	if err != nil && !errors.Is(err, state.ErrConflict) {
		return err
	}
	return state.ErrConflict
}

// held returns the slot the channel holds, if any.
func (s slots) held(ctx context.Context, channel string) (int, bool, error) {
	v, ok, err := s.ps.Get(ctx, cidKey(channel))
	if err != nil || !ok {
		return 0, false, err
	}
	n, err := strconv.Atoi(string(v))
	if err != nil || n < 0 {
		return 0, false, fmt.Errorf("journal: corrupt %s: %q", cidKey(channel), v)
	}
	return n, true, nil
}

// taken returns the slots held by channels.
func (s slots) taken(ctx context.Context) (map[int]bool, error) {
	out := map[int]bool{}
	err := s.ps.Scan(ctx, "slot/", func(key string, _ []byte) error {
		if n, err := strconv.Atoi(strings.TrimPrefix(key, "slot/")); err == nil {
			out[n] = true
		}
		return nil
	})
	return out, err
}

// release frees a finished channel's slot. Its writer has committed every
// upload (no intent is left on the slot). A slot the channel no longer
// holds is left alone.
func (s slots) release(ctx context.Context, channel string, n int) error {
	err := s.ps.ApplyIf(ctx,
		map[string][]byte{cidKey(channel): []byte(strconv.Itoa(n)), slotKey(n): []byte(channel)},
		nil, []string{cidKey(channel), slotKey(n)})
	if err != nil && !errors.Is(err, state.ErrConflict) {
		return fmt.Errorf("journal: free writer slot %d of channel %s: %w", n, channel, err)
	}
	return nil
}
