package pipeline

import "time"

// checkpointTracker moves a channel's tunnel checkpoint only past batches
// all of whose records are acknowledged: in OSS (an upload committed),
// counted as dirty, ignored, or recognised as replays. Every readrecords
// batch is numbered; a buffer remembers the batch of its oldest row, and
// the checkpoint may go up to the batch before the oldest such batch of
// all the channel's open buffers.
type checkpointTracker struct {
	batchNo int64
	marks   []batchMark
	lastNo  int64
	lastAt  time.Time
}

// batchMark is where a batch ends.
type batchMark struct {
	no    int64
	token string
	// last is the position of the batch's newest record usable to
	// recognise replays; hasLast is false when it has none.
	last    Position
	hasLast bool
}

// begin numbers the next batch.
func (t *checkpointTracker) begin() int64 {
	t.batchNo++
	return t.batchNo
}

// end records where a batch ends (its next token).
func (t *checkpointTracker) end(m batchMark) { t.marks = append(t.marks, m) }

// checkpointEvery is how often a channel checkpoints at most, unless forced.
const checkpointEvery = time.Second

// next returns the newest mark the checkpoint may move to, given the
// first batch of the oldest open buffer (0: none is open). Unless forced it
// answers at most once per checkpointEvery.
func (t *checkpointTracker) next(oldestOpen int64, now time.Time, force bool) (batchMark, bool) {
	target := t.batchNo
	if oldestOpen > 0 {
		target = oldestOpen - 1
	}
	idx := -1
	for i, m := range t.marks {
		if m.no <= target {
			idx = i
		}
	}
	if idx < 0 || t.marks[idx].no <= t.lastNo {
		return batchMark{}, false
	}
	if !force && now.Sub(t.lastAt) < checkpointEvery {
		return batchMark{}, false
	}
	return t.marks[idx], true
}

// done records that the checkpoint moved to m.
func (t *checkpointTracker) done(m batchMark, now time.Time) {
	t.lastNo, t.lastAt = m.no, now
	i := 0
	for i < len(t.marks) && t.marks[i].no <= m.no {
		i++
	}
	t.marks = append(t.marks[:0], t.marks[i:]...)
}
