package pipeline

import "sync"

// objectBuffers keeps the storage of uploaded data objects for the next
// encodes. A channel writes an object of up to the target size (8 MiB by
// default) at every flush; allocating each anew means clearing megabytes
// and, once the collector has handed the pages back to the system, faulting
// them in again (in a failing incremental ramp trial of the bench, 16% of
// the executor's CPU). A sync.Pool lets the collector drop what idle
// channels no longer use.
var objectBuffers sync.Pool // of *[]byte

// objectBuffer returns an empty buffer with room for an object of about
// estimate bytes.
func objectBuffer(estimate int) []byte {
	want := estimate + estimate/8 + 64<<10
	if p, ok := objectBuffers.Get().(*[]byte); ok && cap(*p) >= want {
		return (*p)[:0]
	}
	return make([]byte, 0, want)
}

// recycleObjectBuffer hands an object's storage back for another encode.
// Only storage nothing reads any more may come back: the caller's upload
// has returned, after a single attempt (a failed attempt's transport may
// still be reading its body).
func recycleObjectBuffer(b []byte) {
	b = b[:0]
	objectBuffers.Put(&b)
}

// objectEstimate is the expected encoded size of a data buffer: its size
// in memory scaled by the channel's learnt ratio, or that size itself
// before there is one.
func (w *writer) objectEstimate(b *buffer) int {
	if w.encodedRatio == 0 {
		return b.size
	}
	return int(w.encodedRatio.scale(b.size))
}
