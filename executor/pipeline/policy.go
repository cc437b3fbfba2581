package pipeline

import "time"

// flushPolicy decides when a buffer is written for its size or its age
// (the memory budget and a channel's end are the other reasons).
type flushPolicy struct {
	// target is the object size to aim at (target_object_size_mb).
	target int
	// interval is the age at which a buffer is written whatever its size
	// (flush_interval_seconds).
	interval time.Duration
}

// dueForAge tells whether a buffer has waited the flush interval. A stream
// buffer's age counts from its oldest row's write time (the commit time the
// stream record carries), so the time the row took to be read counts too:
// the flush interval bounds the delay from a write to its object. A base
// (full-sync) buffer's age counts from when its first row was read, because
// a base row's write time is its newest cell version, which may be years
// old and says nothing about how long the row has been waiting. The rule
// does not depend on the partitioning: an event-time partition's buffer
// ages by write time like any other.
//
// A stream buffer also stays open for at least minOpen after its first row
// was read. In a steady stream that never delays a flush (rows are read well
// within the interval of their write), but when a channel catches up on a
// backlog every row is already older than the interval, and without the floor
// each partition would be cut into an object at every tick.
func (p flushPolicy) dueForAge(b *buffer, now time.Time) bool {
	if b.stream {
		return now.Sub(b.oldestWT) >= p.interval && now.Sub(b.createdAt) >= p.minOpen()
	}
	return now.Sub(b.createdAt) >= p.interval
}

// minOpen is the least time a stream buffer stays open: a quarter of the
// flush interval, at most one second.
func (p flushPolicy) minOpen() time.Duration {
	return min(p.interval/4, time.Second)
}

// full tells whether a buffer reached the target by its expected encoded
// size; known is false for a data buffer of a sample's size (see
// ratioSample) while no ratio is learnt yet: the caller measures the ratio
// by encoding that buffer once.
func (p flushPolicy) full(b *buffer, r encodedRatio) (full, known bool) {
	if b.kind != kindData {
		return b.size >= p.target, true
	}
	if r == 0 {
		return false, b.size < p.ratioSample()
	}
	return r.scale(b.size) >= float64(p.target), true
}

// ratioSample is the size in memory at which a data buffer is encoded once
// to learn the ratio: the smallest sample learn accepts. Encoding a quarter
// of the target instead of all of it makes the measuring encode a quarter
// as costly; at 2 MiB Parquet's fixed overhead is already well under 1%.
func (p flushPolicy) ratioSample() int { return p.target / 4 }

// worthAnObject tells whether a buffer would make an object of at least half
// the target size, by the ratio learnt so far (or by its size in memory
// before there is one, which overstates it).
func (p flushPolicy) worthAnObject(b *buffer, r encodedRatio) bool {
	size := float64(b.size)
	if b.kind == kindData && r > 0 {
		size = r.scale(b.size)
	}
	return size >= float64(p.target)/2
}

// encodedRatio is the Parquet size of a channel's data objects over their
// size in memory (RowBlock.Bytes), learnt from the objects written so far;
// zero until the first data buffer reaches the target. Buffers are cut on
// their size scaled by it, so that objects come out near the target, while
// the memory budget counts the size in memory.
type encodedRatio float64

// minEncodedRatio and maxEncodedRatio bound the learnt ratio, so that one
// odd object (a nearly empty one, or rows that compress to nothing) cannot
// make the writer keep many times the target in memory or cut tiny objects.
const (
	minEncodedRatio = 1.0 / 16
	maxEncodedRatio = 4.0
)

func (r encodedRatio) scale(inMemory int) float64 { return float64(inMemory) * float64(r) }

// learn folds one encoded data object into the ratio. Objects much smaller
// than the target (flushed for age) are left out: Parquet's fixed overhead
// per file and per page dominates them and would make the ratio look larger
// than it is for the full objects it is used for.
func (r encodedRatio) learn(encoded, inMemory, target int) encodedRatio {
	if inMemory <= 0 || inMemory < target/4 {
		return r
	}
	ratio := encodedRatio(min(max(float64(encoded)/float64(inMemory), minEncodedRatio), maxEncodedRatio))
	if r == 0 {
		return ratio
	}
	// A moving average follows a change in the rows (longer strings, say)
	// without letting one object swing it.
	return 0.75*r + 0.25*ratio
}
