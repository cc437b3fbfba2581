package pipeline

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// Sink stores one task's objects in its bucket.
type Sink interface {
	// Put creates the object, tagged with the upload attempt's id; it must
	// never replace an existing object (a late upload of a writer that lost
	// its channel must not overwrite a committed one).
	Put(ctx context.Context, key string, data []byte, contentType, attempt string) error
	// Attempt returns the attempt id an object was tagged with; exists is
	// false when there is no object.
	Attempt(ctx context.Context, key string) (attempt string, exists bool, err error)
}

// reporter learns about the outcome of uploads, to keep the task's status.
type reporter interface {
	uploadFailed(err error)
	uploadSucceeded(delta Counters)
}

// memoryBudget bounds the bytes buffered by all writers of the executor.
type memoryBudget struct {
	limit int64
	used  atomic.Int64

	mu      sync.Mutex
	writers map[*writer]struct{}
}

// register makes a writer a candidate when the budget looks for the
// oldest buffer; writers register while their channel runs.
func (m *memoryBudget) register(w *writer) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.writers == nil {
		m.writers = map[*writer]struct{}{}
	}
	m.writers[w] = struct{}{}
}

func (m *memoryBudget) unregister(w *writer) {
	if m == nil {
		return
	}
	m.mu.Lock()
	delete(m.writers, w)
	m.mu.Unlock()
}

// oldestWriter returns the registered writer holding the oldest buffer.
func (m *memoryBudget) oldestWriter() *writer {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var best *writer
	var bestAt time.Time
	for w := range m.writers {
		w.progressMu.Lock()
		at := w.progOldest
		w.progressMu.Unlock()
		if !at.IsZero() && (best == nil || at.Before(bestAt)) {
			best, bestAt = w, at
		}
	}
	return best
}

// budgetWait is how long a writer over the budget waits for the writer with
// the oldest buffer to write it before it writes its own oldest instead.
var budgetWait = 500 * time.Millisecond

func (m *memoryBudget) add(n int64) int64 {
	if m == nil {
		return 0
	}
	return m.used.Add(n)
}

func (m *memoryBudget) over() bool { return m != nil && m.limit > 0 && m.used.Load() > m.limit }

// writerConfig is everything one channel's writer needs.
type writerConfig struct {
	TaskName string
	// Slot is the writer slot the channel holds (slots.go): the
	// ConcurrentID of its objects, whose SequenceIDs it continues.
	Slot        int
	Channel     string
	Mapper      *Mapper
	Encoder     *Encoder
	Prefix      *task.Template
	DirtyPrefix *task.Template // nil: dirty rows are counted but not written
	// FlushInterval is the age of a buffer's oldest row at which the buffer
	// is written whatever its size.
	FlushInterval time.Duration
	// TargetBytes is the buffered size at which a buffer is written.
	TargetBytes int
	Journal     journal
	Sink        Sink
	// Checkpoint advances the channel's tunnel checkpoint.
	Checkpoint func(token string) error
	Budget     *memoryBudget
	Reporter   reporter
	Metrics    *metrics
	Logger     *slog.Logger
	// Now is the clock; tests may replace it.
	Now func() time.Time
	// RetryBase and RetryMax bound the backoff between failed uploads.
	RetryBase, RetryMax time.Duration
	// Slots frees the channel's slot when the channel finishes (nil
	// PipelineState: the slot is not the writer's to free).
	Slots slots
}

// buffer holds the rows of one (writer, kind, partition) not yet in OSS.
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
	// times are the rows' commit times (see flushDue).
	stream bool
	last   Position
	// attempts are the ids of the uploads tried for this buffer.
	attempts []string
}

func newAttemptID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (b *buffer) key() string { return b.kind + "/" + b.partition }

type batchMark struct {
	no    int64
	token string
	// last is the position of the batch's newest record with sequence
	// info; hasLast is false when it has none.
	last    Position
	hasLast bool
}

// writer turns one tunnel channel's records into objects, and advances the
// channel's checkpoint only past records that are durably in OSS (or that
// were already there, when replayed).
type writer struct {
	cfg writerConfig

	mu       sync.Mutex
	started  bool
	replay   replayFilter
	buffers  map[string]*buffer
	batchNo  int64
	marks    []batchMark
	lastCpNo int64
	lastCpAt time.Time
	finished bool
	// durableThrough is the newest write time before which every record of
	// the channel is in OSS (or dirty and counted), while nothing is buffered.
	durableThrough time.Time
	stream         bool
	prefixCache    [2]prefixCacheEntry
	// values is the slice every record is mapped into before its row is
	// copied into a buffer's block.
	values []any
	// encodedRatio is the Parquet size of the writer's data objects over
	// their size in memory (RowBlock.Bytes), learnt from the objects
	// written so far; zero until the first data buffer reaches the target.
	// Buffers are cut on their size scaled by it, so that objects come out
	// near TargetBytes, while the memory budget counts the size in memory.
	encodedRatio float64

	// progressMu guards a copy of the progress figures, so that status
	// readers never wait for an upload that holds mu while it retries.
	progressMu  sync.Mutex
	progDurable time.Time
	progStream  bool
	progRows    int
	progOldest  time.Time // creation of the oldest buffer; zero when none

	flushReq chan struct{}
}

// publishProgress copies the progress figures; callers hold mu.
func (w *writer) publishProgress() {
	rows := 0
	var oldest time.Time
	for _, b := range w.buffers {
		rows += b.count
		if oldest.IsZero() || b.createdAt.Before(oldest) {
			oldest = b.createdAt
		}
	}
	w.progressMu.Lock()
	w.progDurable, w.progStream, w.progRows, w.progOldest = w.durableThrough, w.stream, rows, oldest
	w.progressMu.Unlock()
}

func newWriter(cfg writerConfig) *writer {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = 200 * time.Millisecond
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = 10 * time.Second
	}
	return &writer{cfg: cfg, buffers: map[string]*buffer{}, flushReq: make(chan struct{}, 1)}
}

// start resolves what a previous run of this writer left in flight and loads
// the watermarks; it retries until it succeeds or ctx ends.
func (w *writer) start(ctx context.Context) error {
	if w.started {
		return nil
	}
	for _, kind := range []string{kindData, kindDirty} {
		if err := w.retry(ctx, func() error {
			_, err := w.resolvePending(ctx, kind)
			return err
		}); err != nil {
			return err
		}
	}
	var wms map[string]Position
	var unordered bool
	if err := w.retry(ctx, func() error {
		var err error
		if wms, err = w.cfg.Journal.watermarks(ctx, w.cfg.Channel); err != nil {
			return err
		}
		unordered, err = w.cfg.Journal.unordered(ctx, w.cfg.Channel)
		return err
	}); err != nil {
		return err
	}
	w.replay = replayFilter{watermarks: wms, unordered: unordered, onOrderBroken: w.orderBroken}
	w.started = true
	return nil
}

// resolvePending settles the writer's leftover intent of a kind. If the
// object made it to OSS from one of the intent's attempts (all of which
// carried the same bytes) the upload is committed. If there is no object
// the intent is dropped and its SequenceID reused. If the key holds an
// object of some other writer (one that lost the channel and uploaded
// late), that object is left alone and the SequenceID skipped. It returns
// the intent when it was committed.
func (w *writer) resolvePending(ctx context.Context, kind string) (*Intent, error) {
	in, err := w.cfg.Journal.pending(ctx, w.cfg.Slot, kind)
	if err != nil || in == nil {
		return nil, err
	}
	attempt, exists, err := w.cfg.Sink.Attempt(ctx, in.Key)
	if err != nil {
		return nil, fmt.Errorf("resolve upload in flight %s: %w", in.Key, err)
	}
	if !exists || !slices.Contains(in.Attempts, attempt) {
		if err := w.cfg.Journal.abandon(ctx, *in, !exists); err != nil {
			return nil, err
		}
		if exists {
			w.cfg.Logger.Warn("an upload in flight found its key taken by another writer; skipping that SequenceID", "key", in.Key)
		} else {
			w.cfg.Logger.Info("dropped an upload that never completed", "key", in.Key)
		}
		return nil, nil
	}
	delta, err := w.cfg.Journal.commit(ctx, *in)
	if err != nil {
		return nil, err
	}
	if w.started && in.Channel == w.cfg.Channel {
		w.replay.delivered(in.Kind+"/"+in.Partition, in.Last)
	}
	w.cfg.Reporter.uploadSucceeded(delta)
	w.cfg.Logger.Info("committed an upload found complete in OSS", "key", in.Key)
	return in, nil
}

// retry runs fn until it succeeds, reporting failures, with capped
// exponential backoff; it gives up only when ctx ends.
func (w *writer) retry(ctx context.Context, fn func() error) error {
	delay := w.cfg.RetryBase
	for {
		err := fn()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return errStopped
		}
		w.cfg.Reporter.uploadFailed(err)
		w.cfg.Logger.Warn("delivery step failed; retrying", "channel", w.cfg.Channel, "in", delay, "err", err)
		select {
		case <-ctx.Done():
			return errStopped
		case <-time.After(delay):
		}
		delay = min(delay*2, w.cfg.RetryMax)
	}
}

// process buffers one readrecords batch. nextToken is where the channel
// resumes after this batch.
func (w *writer) process(ctx context.Context, records []*tunnel.Record, nextToken string, stream bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	defer w.publishProgress()
	if ctx.Err() != nil {
		return errStopped // shut down: buffering more would leak budget
	}
	if err := w.start(ctx); err != nil {
		return err
	}
	w.stream = stream
	base := isBaseChannel(w.cfg.Channel, stream)
	w.batchNo++
	batch := w.batchNo
	now := w.cfg.Now()
	var newestWT time.Time
	var buffered, dirty, ignored, replayed int
	mark := batchMark{no: batch, token: nextToken}
	defer func() {
		w.cfg.Metrics.records(w.cfg.TaskName, w.cfg.Channel, "buffered", buffered)
		w.cfg.Metrics.records(w.cfg.TaskName, w.cfg.Channel, "dirty", dirty)
		w.cfg.Metrics.records(w.cfg.TaskName, w.cfg.Channel, "ignored", ignored)
		w.cfg.Metrics.records(w.cfg.TaskName, w.cfg.Channel, "replayed", replayed)
	}()
	for _, rec := range records {
		if rec == nil {
			continue
		}
		pos, stable := w.replay.position(rec, base)
		if stable {
			mark.last, mark.hasLast = pos, true
		}
		wt := WriteTime(rec, stream)
		if wt.After(newestWT) {
			newestWT = wt
		}
		if w.values == nil {
			w.values = make([]any, w.cfg.Mapper.Columns())
		}
		mapped := w.cfg.Mapper.MapTo(w.values, rec, wt)
		if mapped.Skip {
			ignored++
			continue
		}
		kind, tmpl := kindData, w.cfg.Prefix
		at := mapped.PartitionTime
		if mapped.Dirty != nil {
			kind, tmpl, at = kindDirty, w.cfg.DirtyPrefix, wt
		}
		partition := w.evaluate(kind, tmpl, at)
		bkey := kind + "/" + partition
		if w.replay.replayed(bkey, pos, stable) {
			replayed++
			continue
		}
		b := w.buffers[bkey]
		if b == nil {
			b = &buffer{kind: kind, partition: partition, firstBatch: batch, createdAt: now, oldestWT: wt, stream: stream}
			if kind == kindData {
				b.rows = w.cfg.Encoder.NewBlock()
			}
			w.buffers[bkey] = b
		}
		size := 0
		if mapped.Dirty != nil {
			line, err := dirtyLine(mapped.Dirty, wt)
			if err != nil {
				return err
			}
			b.dirty.Write(line)
			size = len(line)
			dirty++
		} else {
			n, err := b.rows.Append(mapped.Row.Values)
			if err != nil {
				// The mapper checked every value against its column: a
				// failure here is a bug, not dirty data.
				return fmt.Errorf("pipeline: buffer a row for %s: %w", partition, err)
			}
			size = n
			buffered++
		}
		b.count++
		b.size += size
		b.last = pos
		if wt.Before(b.oldestWT) {
			b.oldestWT = wt
		}
		w.cfg.Budget.add(int64(size))
		full, err := w.fullForSize(b)
		if err != nil {
			return err
		}
		if full {
			if err := w.flush(ctx, b); err != nil {
				return err
			}
		}
	}
	if err := w.relieveBudget(ctx); err != nil {
		return err
	}
	w.marks = append(w.marks, mark)
	if len(w.buffers) == 0 {
		// Nothing waits: everything read so far is settled. An empty read of
		// a stream means the channel has caught up to about now.
		if len(records) == 0 && stream {
			w.durableThrough = now
		} else if newestWT.After(w.durableThrough) {
			w.durableThrough = newestWT
		}
	}
	if nextToken == tunnel.FinishTag {
		for _, b := range w.sortedBuffers() {
			if err := w.flush(ctx, b); err != nil {
				return err
			}
		}
		return w.finish(ctx)
	}
	_ = w.advanceCheckpoint(false)
	return nil
}

// finish ends a channel whose every record is in OSS: it frees the
// channel's writer slot for the next channel, checkpoints the finish, and
// then forgets the channel's watermarks. The slot goes first: after a crash
// before the checkpoint the channel is read again, takes a slot again and
// skips its replayed rows by its watermarks, which are still there;
// checkpointing first could leave a finished channel holding a slot for
// ever.
func (w *writer) finish(ctx context.Context) error {
	if w.cfg.Slots.ps != nil {
		if err := w.retry(ctx, func() error { return w.cfg.Slots.release(ctx, w.cfg.Channel, w.cfg.Slot) }); err != nil {
			return err
		}
	}
	if err := w.advanceCheckpoint(true); err != nil {
		return err
	}
	w.finished = true
	if err := w.cfg.Journal.forgetChannel(ctx, w.cfg.Channel); err != nil {
		w.cfg.Logger.Warn("could not forget a finished channel's watermarks", "err", err)
	}
	return nil
}

// relieveBudget brings the buffered bytes of all writers back under the
// budget. This writer's own buffers that are worth an object (see
// worthAnObject) are written first, largest first: that takes no waiting,
// and in a full sync, where every channel's buffers grow together, it is
// what brings the budget back. Otherwise the oldest buffers go first: the
// writer holding the executor's oldest buffer is asked to write it; if that
// does not help soon enough (or this writer holds it), this writer writes its
// own oldest buffers.
func (w *writer) relieveBudget(ctx context.Context) error {
	for w.cfg.Budget.over() {
		b := w.largestBuffer()
		if b == nil || !w.worthAnObject(b) {
			break
		}
		if err := w.flush(ctx, b); err != nil {
			return err
		}
	}
	if !w.cfg.Budget.over() {
		return nil
	}
	w.publishProgress()
	if other := w.cfg.Budget.oldestWriter(); other != nil && other != w {
		other.requestFlush()
		deadline := time.Now().Add(budgetWait)
		for w.cfg.Budget.over() && time.Now().Before(deadline) {
			select {
			case <-ctx.Done():
				return errStopped
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	for w.cfg.Budget.over() {
		oldest := w.oldestBuffer()
		if oldest == nil {
			break
		}
		if err := w.flush(ctx, oldest); err != nil {
			return err
		}
	}
	return nil
}

// drain writes every buffer and checkpoints, for a graceful shutdown.
func (w *writer) drain(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	defer w.publishProgress()
	if !w.started || w.finished {
		return nil
	}
	for _, b := range w.sortedBuffers() {
		if err := w.flush(ctx, b); err != nil {
			return err
		}
	}
	return w.advanceCheckpoint(true)
}

// requestFlush asks the writer to write its oldest buffer (see
// flushRequested); it never blocks.
func (w *writer) requestFlush() {
	select {
	case w.flushReq <- struct{}{}:
	default:
	}
}

// flushRequested delivers the budget's requests to write the oldest buffer.
func (w *writer) flushRequested() <-chan struct{} { return w.flushReq }

// flushOldest writes the writer's oldest buffer, on the budget's request.
func (w *writer) flushOldest(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	defer w.publishProgress()
	if !w.started || ctx.Err() != nil {
		return nil
	}
	if b := w.oldestBuffer(); b != nil {
		if err := w.flush(ctx, b); err != nil {
			return err
		}
	}
	return w.advanceCheckpoint(false)
}

// evaluate returns the evaluated prefix, cached per minute (the finest
// time variable) since consecutive records nearly always share it.
func (w *writer) evaluate(kind string, tmpl *task.Template, at time.Time) string {
	if tmpl == nil {
		return ""
	}
	minute := at.Unix() / 60
	if at.Unix() < 0 && at.Unix()%60 != 0 {
		minute--
	}
	c := &w.prefixCache[0]
	if kind == kindDirty {
		c = &w.prefixCache[1]
	}
	if c.valid && c.minute == minute {
		return c.value
	}
	c.value, c.minute, c.valid = tmpl.Evaluate(at), minute, true
	return c.value
}

type prefixCacheEntry struct {
	valid  bool
	minute int64
	value  string
}

// orderBroken is called when a base channel delivers a primary key not
// greater than the one before: the order the replay filter relies on does
// not hold, so the channel stops skipping replays (at least once rather
// than a lost row), and says so in the log, the metrics and the journal
// (so that its next run does not skip either).
func (w *writer) orderBroken(prev, cur Key) {
	w.cfg.Logger.Warn("a base channel delivered rows out of primary-key order; replayed rows of this channel will be delivered again rather than skipped",
		"channel", w.cfg.Channel, "previous_key", prev.String(), "key", cur.String())
	w.cfg.Metrics.orderViolation(w.cfg.TaskName, w.cfg.Channel)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.cfg.Journal.markUnordered(ctx, w.cfg.Channel); err != nil {
		w.cfg.Logger.Warn("recording the order violation failed", "channel", w.cfg.Channel, "err", err)
	}
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

// tick writes the buffers whose oldest row has waited FlushInterval, so a
// quiet partition does not sit in memory, and moves the checkpoint. It runs
// several times a second, so a tick with nothing due allocates nothing.
func (w *writer) tick(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.started || w.finished {
		return nil
	}
	now := w.cfg.Now()
	due := false
	for _, b := range w.buffers {
		if w.flushDue(b, now) {
			due = true
			break
		}
	}
	if due {
		defer w.publishProgress()
		for _, b := range w.sortedBuffers() {
			if w.flushDue(b, now) {
				if err := w.flush(ctx, b); err != nil {
					return err
				}
			}
		}
	}
	return w.advanceCheckpoint(false)
}

// flushDue tells whether a buffer has waited FlushInterval. A stream
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
func (w *writer) flushDue(b *buffer, now time.Time) bool {
	if b.stream {
		return now.Sub(b.oldestWT) >= w.cfg.FlushInterval && now.Sub(b.createdAt) >= w.minOpen()
	}
	return now.Sub(b.createdAt) >= w.cfg.FlushInterval
}

// minOpen is the least time a stream buffer stays open: a quarter of the
// flush interval, at most one second.
func (w *writer) minOpen() time.Duration {
	return min(w.cfg.FlushInterval/4, time.Second)
}

// minEncodedRatio and maxEncodedRatio bound the learnt ratio, so that one
// odd object (a nearly empty one, or rows that compress to nothing) cannot
// make the writer keep many times the target in memory or cut tiny objects.
const (
	minEncodedRatio = 1.0 / 16
	maxEncodedRatio = 4.0
)

// fullForSize tells whether a buffer has reached TargetBytes and must be
// written. Dirty rows are kept as the bytes that are written, so their size
// is exact. Data rows are kept in a RowBlock, whose size is about their
// plain-encoded size before compression; it is scaled by the ratio learnt
// from the writer's objects. The first time a data buffer's size reaches the
// target, the writer has no ratio yet: it encodes that buffer once to learn
// one, so that its first object is as large as the later ones.
func (w *writer) fullForSize(b *buffer) (bool, error) {
	if b.kind != kindData {
		return b.size >= w.cfg.TargetBytes, nil
	}
	if w.encodedRatio == 0 {
		if b.size < w.cfg.TargetBytes {
			return false, nil
		}
		data, err := w.cfg.Encoder.EncodeBlock(b.rows)
		if err != nil {
			return false, fmt.Errorf("pipeline: encode %d rows for %s to measure their size: %w", b.count, b.partition, err)
		}
		w.learnEncodedRatio(len(data), b.size)
	}
	return float64(b.size)*w.encodedRatio >= float64(w.cfg.TargetBytes), nil
}

// learnEncodedRatio folds one encoded data object into the writer's
// encoded/in-memory ratio. Objects much smaller than the target (flushed
// for age) are left out: Parquet's fixed overhead per file and per page
// dominates them and would make the ratio look larger than it is for the
// full objects it is used for.
func (w *writer) learnEncodedRatio(encoded, inMemory int) {
	if inMemory <= 0 || inMemory < w.cfg.TargetBytes/4 {
		return
	}
	ratio := min(max(float64(encoded)/float64(inMemory), minEncodedRatio), maxEncodedRatio)
	if w.encodedRatio == 0 {
		w.encodedRatio = ratio
		return
	}
	// A moving average follows a change in the rows (longer strings, say)
	// without letting one object swing it.
	w.encodedRatio = 0.75*w.encodedRatio + 0.25*ratio
}

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

// worthAnObject tells whether a buffer would make an object of at least half
// the target size, by the ratio learnt so far (or by its size in memory
// before there is one, which overstates it).
func (w *writer) worthAnObject(b *buffer) bool {
	size := float64(b.size)
	if b.kind == kindData && w.encodedRatio > 0 {
		size *= w.encodedRatio
	}
	return size >= float64(w.cfg.TargetBytes)/2
}

// oldestBuffer returns the buffer created first; among buffers created by
// the same batch, the biggest (it relieves the memory budget most).
func (w *writer) oldestBuffer() *buffer {
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
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].createdAt.Before(out[j-1].createdAt); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// flush writes one buffer to OSS exactly once, retrying until it succeeds or
// the writer stops, then forgets it.
func (w *writer) flush(ctx context.Context, b *buffer) error {
	var data []byte
	contentType := "application/vnd.apache.parquet"
	if b.kind == kindData {
		var err error
		if data, err = w.cfg.Encoder.EncodeBlock(b.rows); err != nil {
			// The rows were validated against the schema: failing here is
			// a bug, not something a retry fixes.
			return fmt.Errorf("pipeline: encode %d rows for %s: %w", b.count, b.partition, err)
		}
		w.learnEncodedRatio(len(data), b.size)
	} else {
		data = b.dirty.Bytes()
		contentType = "application/x-ndjson"
	}
	noObject := b.kind == kindDirty && w.cfg.DirtyPrefix == nil
	err := w.retry(ctx, func() error { return w.flushOnce(ctx, b, data, contentType, noObject) })
	if err != nil {
		return err
	}
	w.replay.delivered(b.key(), b.last)
	w.forget(b)
	if len(w.buffers) == 0 || b.oldestWT.After(w.durableThrough) {
		w.refreshDurable()
	}
	return nil
}

func (w *writer) flushOnce(ctx context.Context, b *buffer, data []byte, contentType string, noObject bool) error {
	in := Intent{Slot: w.cfg.Slot, Kind: b.kind, Channel: w.cfg.Channel, Partition: b.partition,
		Last: b.last, Rows: int64(b.count), Bytes: int64(len(data))}
	if noObject {
		in.Bytes = 0
		delta, err := w.cfg.Journal.commit(ctx, in)
		if err != nil {
			return err
		}
		w.cfg.Reporter.uploadSucceeded(delta)
		return nil
	}
	// A previous attempt may have left its intent; its object may even be
	// in OSS (a timeout after the upload completed).
	resolved, err := w.resolvePending(ctx, b.kind)
	if err != nil {
		return err
	}
	if resolved != nil && resolved.Channel == w.cfg.Channel && resolved.Partition == b.partition && resolved.Last.equal(b.last) {
		return nil // that attempt delivered this very buffer
	}
	// Every attempt at this buffer uploads the same bytes; the intent lists
	// them all, so an earlier attempt that lands late still counts as ours.
	attempt := newAttemptID()
	b.attempts = append(b.attempts, attempt)
	in.Attempts = append([]string(nil), b.attempts...)
	prefix := b.partition
	in, err = w.cfg.Journal.begin(ctx, in, func(seq int64) string {
		return task.ObjectKey(prefix, w.cfg.TaskName, w.cfg.Slot, seq)
	})
	if err != nil {
		return err
	}
	if err := w.cfg.Sink.Put(ctx, in.Key, data, contentType, attempt); err != nil {
		return err
	}
	delta, err := w.cfg.Journal.commit(ctx, in)
	if err != nil {
		return err
	}
	w.cfg.Reporter.uploadSucceeded(delta)
	w.cfg.Metrics.object(w.cfg.TaskName, b.kind, len(data))
	return nil
}

// refreshDurable recomputes durableThrough after buffers went away.
func (w *writer) refreshDurable() {
	oldest := time.Time{}
	for _, b := range w.buffers {
		if oldest.IsZero() || b.oldestWT.Before(oldest) {
			oldest = b.oldestWT
		}
	}
	if oldest.IsZero() {
		return
	}
	if t := oldest.Add(-time.Microsecond); t.After(w.durableThrough) {
		w.durableThrough = t
	}
}

// advanceCheckpoint moves the tunnel checkpoint to the newest batch all of
// whose records are settled. Unless forced, it checkpoints at most once a
// second.
func (w *writer) advanceCheckpoint(force bool) error {
	if len(w.marks) == 0 {
		return nil
	}
	target := w.batchNo
	for _, b := range w.buffers {
		if b.firstBatch-1 < target {
			target = b.firstBatch - 1
		}
	}
	idx := -1
	for i, m := range w.marks {
		if m.no <= target {
			idx = i
		}
	}
	if idx < 0 || w.marks[idx].no <= w.lastCpNo {
		return nil
	}
	now := w.cfg.Now()
	if !force && now.Sub(w.lastCpAt) < time.Second {
		return nil
	}
	mark := w.marks[idx]
	if err := w.cfg.Checkpoint(mark.token); err != nil {
		w.cfg.Logger.Warn("tunnel checkpoint failed; will retry", "channel", w.cfg.Channel, "err", err)
		return fmt.Errorf("pipeline: checkpoint channel %s: %w", w.cfg.Channel, err)
	}
	w.lastCpNo = mark.no
	w.lastCpAt = now
	w.marks = append(w.marks[:0], w.marks[idx+1:]...)
	if mark.hasLast {
		w.pruneWatermarks(mark.last)
	}
	return nil
}

// pruneWatermarks forgets the watermarks below the checkpoint: records
// replayed from it all come after it, so those watermarks can no longer
// match anything. This keeps the journal from growing with every partition
// ever written. A failure only postpones the pruning.
func (w *writer) pruneWatermarks(checkpointed Position) {
	if len(w.replay.watermarks) < pruneThreshold {
		return
	}
	stale := w.replay.stale(checkpointed)
	if len(stale) == 0 {
		return
	}
	keys := make([]string, len(stale))
	for i, k := range stale {
		keys[i] = watermarkPrefix(w.cfg.Channel) + k
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.cfg.Journal.ps.Apply(ctx, nil, keys); err != nil {
		w.cfg.Logger.Warn("pruning watermarks failed", "err", err)
		return
	}
	w.replay.forget(stale)
}

// pruneThreshold is the number of watermarks a writer keeps before it
// prunes those below its checkpoint.
var pruneThreshold = 64

// progress reports the channel's durable write time and buffered rows.
func (w *writer) progress() (durable time.Time, stream bool, buffered int) {
	w.progressMu.Lock()
	defer w.progressMu.Unlock()
	return w.progDurable, w.progStream, w.progRows
}

// release gives the writer's buffered bytes back to the budget when it is
// abandoned; the rows are read again from the checkpoint.
func (w *writer) release() {
	w.cfg.Budget.unregister(w)
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, b := range w.buffers {
		w.forget(b)
	}
	w.publishProgress()
}

// forget drops a buffer that is written (or abandoned): its bytes go back to
// the budget and its block's chunks to the pool.
func (w *writer) forget(b *buffer) {
	delete(w.buffers, b.key())
	w.cfg.Budget.add(-int64(b.size))
	if b.rows != nil {
		b.rows.Release()
	}
}
