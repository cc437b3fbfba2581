package pipeline

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// buffer holds the rows of one (channel, kind, partition) not yet in OSS.
type buffer struct {
	kind      string
	partition string    // the evaluated prefix
	rows      *RowBlock // data buffers only
	dirty     bytes.Buffer
	count     int
	size      int
	// firstBatch is the readrecords batch of the oldest row: the checkpoint
	// may not move past the batch before it.
	firstBatch int64
	createdAt  time.Time
	oldestWT   time.Time
	// stream is true when the rows came from a stream channel, whose write
	// times are the rows' commit times (see flushPolicy.dueForAge).
	stream bool
	last   Position
	// attempts are the ids of the uploads tried for this buffer.
	attempts []string
}

func (b *buffer) key() string { return b.kind + "/" + b.partition }

// largestBuffer returns the buffer holding the most bytes.
func (w *writer) largestBuffer() *buffer {
	var largest *buffer
	for _, b := range w.buffers {
		if largest == nil || b.size > largest.size {
			largest = b
		}
	}
	return largest
}

// oldestOpenBuffer returns the buffer created first; among buffers created
// by the same batch, the biggest (it relieves the memory budget most).
func (w *writer) oldestOpenBuffer() *buffer {
	var oldest *buffer
	for _, b := range w.buffers {
		if oldest == nil || b.createdAt.Before(oldest.createdAt) ||
			b.createdAt.Equal(oldest.createdAt) && b.size > oldest.size {
			oldest = b
		}
	}
	return oldest
}

// sortedBuffers returns the buffers oldest first.
func (w *writer) sortedBuffers() []*buffer {
	out := make([]*buffer, 0, len(w.buffers))
	for _, b := range w.buffers {
		out = append(out, b)
	}
	slices.SortStableFunc(out, func(a, b *buffer) int { return a.createdAt.Compare(b.createdAt) })
	return out
}

// evaluate returns the evaluated prefix and the key of its buffer (kind and
// prefix). Both are cached per minute (the finest time variable): rows of
// one read share a handful of minutes, even when an event time column
// spreads them over hours, so most rows find their prefix here without
// evaluating the template again.
func (w *writer) evaluate(kind string, tmpl *task.Template, at time.Time) (partition, bkey string) {
	if tmpl == nil {
		return "", kind + "/"
	}
	minute := tmpl.MinuteOf(at) // in the task's time zone
	cache := &w.prefixCache[0]
	if kind == kindDirty {
		cache = &w.prefixCache[1]
	}
	if e, ok := (*cache)[minute]; ok {
		return e.partition, e.bkey
	}
	if *cache == nil || len(*cache) >= maxCachedPrefixes {
		*cache = make(map[int64]cachedPrefix, 16)
	}
	e := cachedPrefix{partition: tmpl.Evaluate(at)}
	e.bkey = kind + "/" + e.partition
	(*cache)[minute] = e
	return e.partition, e.bkey
}

// maxCachedPrefixes bounds a writer's prefix cache: a day of minutes would
// be 1,440 entries; past the bound the cache starts again.
const maxCachedPrefixes = 256

type cachedPrefix struct {
	partition string
	bkey      string
}

type dirtyRecord struct {
	WriteTime time.Time      `json:"write_time"`
	Column    string         `json:"column"`
	Reason    string         `json:"reason"`
	Row       map[string]any `json:"row"`
}

func dirtyLine(d *Dirty, wt time.Time) ([]byte, error) {
	line, err := json.Marshal(dirtyRecord{WriteTime: wt, Column: d.Column, Reason: d.Reason, Row: d.Row})
	if err != nil {
		return nil, fmt.Errorf("pipeline: encode dirty row: %w", err)
	}
	return append(line, '\n'), nil
}
