package pipeline

import (
	"context"
	"testing"
	"time"
)

// TestCheckpointTrackerStopsBeforeTheOldestOpenBuffer: the checkpoint moves
// to the newest batch before the oldest open buffer's first batch, at most
// once a second unless forced, and never back.
func TestCheckpointTrackerStopsBeforeTheOldestOpenBuffer(t *testing.T) {
	var tr checkpointTracker
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 1; i <= 5; i++ {
		no := tr.begin()
		tr.end(batchMark{no: no, token: string(rune('a' + i - 1))})
	}
	if _, ok := tr.next(1, now, true); ok {
		t.Fatal("checkpoint offered although the first batch has an open buffer")
	}
	m, ok := tr.next(4, now, false)
	if !ok || m.token != "c" {
		t.Fatalf("next = %+v %v, want batch 3 (c)", m, ok)
	}
	tr.done(m, now)
	if _, ok := tr.next(0, now.Add(500*time.Millisecond), false); ok {
		t.Fatal("checkpointed twice within a second")
	}
	m, ok = tr.next(0, now.Add(500*time.Millisecond), true)
	if !ok || m.token != "e" {
		t.Fatalf("forced next = %+v %v, want the last batch (e)", m, ok)
	}
	tr.done(m, now)
	if len(tr.marks) != 0 {
		t.Fatalf("%d marks kept after checkpointing them all", len(tr.marks))
	}
	if _, ok := tr.next(0, now.Add(time.Hour), true); ok {
		t.Fatal("checkpoint offered again with no new batch")
	}
}

// TestFlushPolicy: size by the learnt ratio (unknown until learnt, for data
// past a quarter of the target), age from the write time for stream buffers with a
// floor on how long they stay open, from the read time for base buffers.
func TestFlushPolicy(t *testing.T) {
	p := flushPolicy{target: 1000, interval: 8 * time.Second}
	data := &buffer{kind: kindData, size: 1500}
	if full, known := p.full(data, 0); full || known {
		t.Errorf("data past the target with no ratio: full %v known %v, want unknown", full, known)
	}
	if full, known := p.full(&buffer{kind: kindData, size: 300}, 0); full || known {
		t.Errorf("data of a sample's size (a quarter of the target) with no ratio: full %v known %v, want unknown", full, known)
	}
	if full, known := p.full(&buffer{kind: kindData, size: 240}, 0); full || !known {
		t.Errorf("data under a quarter of the target in memory: full %v known %v", full, known)
	}
	if full, _ := p.full(data, 0.5); full {
		t.Error("1500 bytes at ratio 0.5 counted as full for a 1000-byte target")
	}
	if full, _ := p.full(&buffer{kind: kindDirty, size: 1000}, 0.1); !full {
		t.Error("dirty bytes are exact: 1000 of 1000 is full")
	}
	if !p.worthAnObject(data, 0.5) || p.worthAnObject(&buffer{kind: kindData, size: 900}, 0.5) {
		t.Error("worthAnObject does not use half the target by the ratio")
	}
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	stream := &buffer{stream: true, oldestWT: now.Add(-time.Minute), createdAt: now.Add(-p.minOpen() / 2)}
	if p.dueForAge(stream, now) {
		t.Error("a stream buffer opened just now is due (backlog floor)")
	}
	stream.createdAt = now.Add(-p.minOpen())
	if !p.dueForAge(stream, now) {
		t.Error("a stream buffer with rows written a minute ago is not due")
	}
	base := &buffer{oldestWT: now.Add(-24 * time.Hour), createdAt: now.Add(-time.Second)}
	if p.dueForAge(base, now) {
		t.Error("a base buffer ages from its old write time, not from when it was read")
	}
	if r := encodedRatio(0).learn(100, 1000, 1000); r != 0.1 {
		t.Errorf("first ratio %v, want 0.1", r)
	}
	if r := encodedRatio(0.1).learn(5, 100, 1000); r != 0.1 {
		t.Errorf("a small object moved the ratio to %v", r)
	}
	if r := encodedRatio(0).learn(1, 100000, 1000); r != minEncodedRatio {
		t.Errorf("ratio %v not bounded below", r)
	}
}

type fakeMember struct {
	oldest   time.Time
	requests int
}

func (f *fakeMember) oldestBuffer() time.Time { return f.oldest }
func (f *fakeMember) requestFlush()           { f.requests++ }

// TestMemoryBudgetPicksOldestAndWakesWaiters: the member with the oldest
// buffer is chosen, and a waiter wakes as soon as bytes are given back
// (no polling).
func TestMemoryBudgetPicksOldestAndWakesWaiters(t *testing.T) {
	b := &memoryBudget{limit: 100}
	now := time.Now()
	young, old, empty := &fakeMember{oldest: now}, &fakeMember{oldest: now.Add(-time.Minute)}, &fakeMember{}
	for _, m := range []*fakeMember{young, old, empty} {
		b.register(m)
	}
	if got := b.oldest(); got != budgetMember(old) {
		t.Fatalf("oldest member %v, want the one with the older buffer", got)
	}
	b.unregister(old)
	if got := b.oldest(); got != budgetMember(young) {
		t.Fatalf("after unregistering, oldest %v", got)
	}
	b.add(150)
	if !b.over() {
		t.Fatal("150 of 100 is not over")
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		b.add(-100)
	}()
	start := time.Now()
	if !b.waitUnder(context.Background(), 5*time.Second) {
		t.Fatal("waitUnder gave up although bytes were given back")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("waitUnder took %v to notice", d)
	}
	b.add(100)
	if b.waitUnder(context.Background(), 30*time.Millisecond) {
		t.Fatal("waitUnder says under budget while over")
	}
}
