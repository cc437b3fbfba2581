package pipeline

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// memoryBudget bounds the bytes buffered by all channels of the executor.
// Channels add what they buffer and give it back when it is written or
// abandoned; a channel that pushes the total past the limit relieves it
// (writer.relieveBudget), asking the channel with the executor's oldest
// buffer to write it. The budget holds no channel's state: members publish
// the age of their oldest buffer, and requests reach them through their
// own goroutine.
type memoryBudget struct {
	limit int64
	used  atomic.Int64

	mu       sync.Mutex // guards members and released; held only briefly
	members  map[budgetMember]struct{}
	released chan struct{} // closed (and replaced) when bytes are given back
}

// budgetMember is a channel holding buffers under the budget.
type budgetMember interface {
	// oldestBuffer is when the member's oldest buffer was opened; zero
	// when it holds none. It is read from other goroutines.
	oldestBuffer() time.Time
	// requestFlush asks the member to write its oldest buffer soon; it
	// never blocks.
	requestFlush()
}

// budgetWait is how long a channel over the budget waits for the channel
// with the oldest buffer to write it before it writes its own oldest.
var budgetWait = 500 * time.Millisecond

// register makes a member a candidate when the budget looks for the
// oldest buffer; members register while their channel runs.
func (m *memoryBudget) register(w budgetMember) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.members == nil {
		m.members = map[budgetMember]struct{}{}
	}
	m.members[w] = struct{}{}
}

func (m *memoryBudget) unregister(w budgetMember) {
	if m == nil {
		return
	}
	m.mu.Lock()
	delete(m.members, w)
	m.mu.Unlock()
}

// add counts n more buffered bytes (n < 0: given back) and returns the
// total.
func (m *memoryBudget) add(n int64) int64 {
	if m == nil {
		return 0
	}
	total := m.used.Add(n)
	if n < 0 {
		m.mu.Lock()
		if m.released != nil {
			close(m.released)
			m.released = nil
		}
		m.mu.Unlock()
	}
	return total
}

func (m *memoryBudget) over() bool { return m != nil && m.limit > 0 && m.used.Load() > m.limit }

// oldest returns the registered member holding the oldest buffer.
func (m *memoryBudget) oldest() budgetMember {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	members := make([]budgetMember, 0, len(m.members))
	for w := range m.members {
		members = append(members, w)
	}
	m.mu.Unlock()
	var best budgetMember
	var bestAt time.Time
	for _, w := range members {
		if at := w.oldestBuffer(); !at.IsZero() && (best == nil || at.Before(bestAt)) {
			best, bestAt = w, at
		}
	}
	return best
}

// waitUnder waits until the total is within the limit, for at most d; it
// tells whether it is. Waiting needs no lock: it is woken whenever bytes
// are given back.
func (m *memoryBudget) waitUnder(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for m.over() {
		m.mu.Lock()
		if m.released == nil {
			m.released = make(chan struct{})
		}
		released := m.released
		m.mu.Unlock()
		if !m.over() { // given back meanwhile
			return true
		}
		select {
		case <-released:
		case <-timer.C:
			return !m.over()
		case <-ctx.Done():
			return false
		}
	}
	return true
}
