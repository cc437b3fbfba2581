package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

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
	// Slots gives the channel its slot when it starts and frees it when the
	// channel finishes (nil PipelineState: Slot is given and not the
	// writer's to free).
	Slots slots
}

// channelProgress is a snapshot of a channel's progress, published for the
// status loop, the metrics and the memory budget.
type channelProgress struct {
	// durable is the newest write time before which every record of the
	// channel is in OSS (or dirty and counted).
	durable  time.Time
	stream   bool
	buffered int
	// oldest is when the oldest open buffer was opened; zero when none.
	oldest time.Time
}

// writer turns one tunnel channel's records into objects: a record's path
// through it reads top to bottom in process. Its state belongs to one
// goroutine (the channel's, see channelProcessor): nothing in it is locked,
// and no lock is held while it uploads. Other goroutines see only the
// progress snapshot it publishes, and reach it only through requestFlush.
type writer struct {
	cfg      writerConfig
	policy   flushPolicy
	uploader *uploader
	tracker  checkpointTracker
	replay   replayFilter

	started  bool
	finished bool
	buffers  map[string]*buffer
	// durableThrough is the newest write time before which every record of
	// the channel is in OSS (or dirty and counted), while nothing is buffered.
	durableThrough time.Time
	stream         bool
	prefixCache    [2]map[int64]cachedPrefix
	// values is the slice every record is mapped into before its row is
	// copied into a buffer's block.
	values       []any
	encodedRatio encodedRatio

	progress atomic.Pointer[channelProgress]
	flushReq chan struct{}
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
	w := &writer{cfg: cfg, buffers: map[string]*buffer{}, flushReq: make(chan struct{}, 1),
		policy: flushPolicy{target: cfg.TargetBytes, interval: cfg.FlushInterval},
		uploader: &uploader{taskName: cfg.TaskName, channel: cfg.Channel, slot: cfg.Slot, journal: cfg.Journal,
			sink: cfg.Sink, noDirty: cfg.DirtyPrefix == nil, reporter: cfg.Reporter, metrics: cfg.Metrics,
			logger: cfg.Logger, retryBase: cfg.RetryBase, retryMax: cfg.RetryMax},
	}
	w.progress.Store(&channelProgress{})
	return w
}

// start takes the channel's writer slot, resolves what a previous run left
// in flight on the slot and loads the channel's watermarks; it retries until
// it succeeds or ctx ends.
func (w *writer) start(ctx context.Context) error {
	if w.started {
		return nil
	}
	if w.cfg.Slots.ps != nil {
		// Taken on the first batch, not when the SDK dials the channel: a
		// channel dialled only to find it finished never holds a slot.
		var slot int
		if err := w.uploader.retry(ctx, func() error {
			var err error
			slot, err = w.cfg.Slots.take(ctx, w.cfg.Channel)
			return err
		}); err != nil {
			return err
		}
		w.cfg.Slot, w.uploader.slot = slot, slot
	}
	wms := map[string]Position{}
	for _, kind := range []string{kindData, kindDirty} {
		if err := w.uploader.retry(ctx, func() error {
			in, err := w.uploader.resolve(ctx, kind)
			if in != nil && in.Channel == w.cfg.Channel {
				wms[in.Kind+"/"+in.Partition] = in.Last
			}
			return err
		}); err != nil {
			return err
		}
	}
	var unordered bool
	if err := w.uploader.retry(ctx, func() error {
		stored, err := w.cfg.Journal.watermarks(ctx, w.cfg.Channel)
		if err != nil {
			return err
		}
		for k, p := range stored {
			wms[k] = p // a just-committed intent is in the journal too
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

// process takes one readrecords batch through the writer: each record is
// mapped to a row (or found dirty, or ignored), given its partition, checked
// against the replay filter and buffered; full buffers are written; the
// memory budget is relieved; and the checkpoint moves past what is settled.
// nextToken is where the channel resumes after this batch.
func (w *writer) process(ctx context.Context, records []*tunnel.Record, nextToken string, stream bool) error {
	defer w.publishProgress()
	if ctx.Err() != nil {
		return errStopped // shut down: buffering more would leak budget
	}
	if err := w.start(ctx); err != nil {
		return err
	}
	w.stream = stream
	base := isBaseChannel(w.cfg.Channel, stream)
	batch := w.tracker.begin()
	now := w.cfg.Now()
	var newestWT time.Time
	var n outcomes
	defer n.report(w.cfg.Metrics, w.cfg.TaskName, w.cfg.Channel)
	mark := batchMark{no: batch, token: nextToken}
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
		if err := w.take(ctx, rec, pos, stable, wt, batch, now, &n); err != nil {
			return err
		}
	}
	if err := w.relieveBudget(ctx); err != nil {
		return err
	}
	w.tracker.end(mark)
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

// outcomes counts what became of a batch's records.
type outcomes struct{ buffered, dirty, ignored, replayed int }

func (n *outcomes) report(m *metrics, taskName, channel string) {
	m.records(taskName, channel, "buffered", n.buffered)
	m.records(taskName, channel, "dirty", n.dirty)
	m.records(taskName, channel, "ignored", n.ignored)
	m.records(taskName, channel, "replayed", n.replayed)
}

// take maps one record and buffers it in its partition's buffer, writing
// the buffer when it is full.
func (w *writer) take(ctx context.Context, rec *tunnel.Record, pos Position, stable bool, wt time.Time, batch int64, now time.Time, n *outcomes) error {
	if w.values == nil {
		w.values = make([]any, w.cfg.Mapper.Columns())
	}
	mapped := w.cfg.Mapper.MapTo(w.values, rec, wt)
	if mapped.Skip {
		n.ignored++
		return nil
	}
	kind, tmpl := kindData, w.cfg.Prefix
	at := mapped.PartitionTime
	if mapped.Dirty != nil {
		kind, tmpl, at = kindDirty, w.cfg.DirtyPrefix, wt
	}
	partition, bkey := w.evaluate(kind, tmpl, at)
	if w.replay.replayed(bkey, pos, stable) {
		n.replayed++
		return nil
	}
	b := w.buffers[bkey]
	if b == nil {
		b = &buffer{kind: kind, partition: partition, firstBatch: batch, createdAt: now, oldestWT: wt, stream: w.stream}
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
		n.dirty++
	} else {
		added, err := b.rows.Append(mapped.Row.Values)
		if err != nil {
			// The mapper checked every value against its column: a
			// failure here is a bug, not dirty data.
			return fmt.Errorf("pipeline: buffer a row for %s: %w", partition, err)
		}
		size = added
		n.buffered++
	}
	b.count++
	b.size += size
	b.last = pos
	if wt.Before(b.oldestWT) {
		b.oldestWT = wt
	}
	w.cfg.Budget.add(int64(size))
	full, err := w.fullForSize(b)
	if err != nil || !full {
		return err
	}
	return w.flush(ctx, b)
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
		if err := w.uploader.retry(ctx, func() error { return w.cfg.Slots.release(ctx, w.cfg.Channel, w.cfg.Slot) }); err != nil {
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

// relieveBudget brings the buffered bytes of all channels back under the
// budget. This channel's own buffers that are worth an object are written
// first, largest first: that takes no waiting, and in a full sync, where
// every channel's buffers grow together, it is what brings the budget back.
// Otherwise the oldest buffers go first: the channel holding the executor's
// oldest buffer is asked to write it; if that does not help soon enough (or
// this channel holds it), this channel writes its own oldest buffers.
func (w *writer) relieveBudget(ctx context.Context) error {
	budget := w.cfg.Budget
	for budget.over() {
		b := w.largestBuffer()
		if b == nil || !w.policy.worthAnObject(b, w.encodedRatio) {
			break
		}
		if err := w.flush(ctx, b); err != nil {
			return err
		}
	}
	if !budget.over() {
		return nil
	}
	w.publishProgress()
	if other := budget.oldest(); other != nil && other != budgetMember(w) {
		other.requestFlush()
		if !budget.waitUnder(ctx, budgetWait) && ctx.Err() != nil {
			return errStopped
		}
	}
	for budget.over() {
		oldest := w.oldestOpenBuffer()
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

// requestFlush implements budgetMember: it asks the channel to write its
// oldest buffer (see flushRequested); it never blocks.
func (w *writer) requestFlush() {
	select {
	case w.flushReq <- struct{}{}:
	default:
	}
}

// oldestBuffer implements budgetMember from the published snapshot.
func (w *writer) oldestBuffer() time.Time { return w.progress.Load().oldest }

// flushRequested delivers the budget's requests to write the oldest buffer.
func (w *writer) flushRequested() <-chan struct{} { return w.flushReq }

// flushOldest writes the channel's oldest buffer, on the budget's request.
func (w *writer) flushOldest(ctx context.Context) error {
	defer w.publishProgress()
	if !w.started || ctx.Err() != nil {
		return nil
	}
	if b := w.oldestOpenBuffer(); b != nil {
		if err := w.flush(ctx, b); err != nil {
			return err
		}
	}
	return w.advanceCheckpoint(false)
}

// tick writes the buffers that have waited the flush interval, so a quiet
// partition does not sit in memory, and moves the checkpoint. It runs
// several times a second, so a tick with nothing due allocates nothing.
func (w *writer) tick(ctx context.Context) error {
	if !w.started || w.finished {
		return nil
	}
	now := w.cfg.Now()
	due := false
	for _, b := range w.buffers {
		if w.policy.dueForAge(b, now) {
			due = true
			break
		}
	}
	if due {
		defer w.publishProgress()
		for _, b := range w.sortedBuffers() {
			if w.policy.dueForAge(b, now) {
				if err := w.flush(ctx, b); err != nil {
					return err
				}
			}
		}
	}
	return w.advanceCheckpoint(false)
}

// minOpen is the least time a stream buffer stays open (flushPolicy).
func (w *writer) minOpen() time.Duration { return w.policy.minOpen() }

// fullForSize tells whether a buffer has reached the target and must be
// written. Dirty rows are kept as the bytes that are written, so their size
// is exact. Data rows are kept in a RowBlock, whose size is about their
// plain-encoded size before compression; it is scaled by the ratio learnt
// from the channel's objects. The first time a data buffer's size reaches
// the target, there is no ratio yet: the buffer is encoded once to learn
// one, so that the first object is as large as the later ones.
func (w *writer) fullForSize(b *buffer) (bool, error) {
	full, known := w.policy.full(b, w.encodedRatio)
	if known {
		return full, nil
	}
	data, err := w.cfg.Encoder.EncodeBlockTo(objectBuffer(b.size), b.rows)
	if err != nil {
		return false, fmt.Errorf("pipeline: encode %d rows for %s to measure their size: %w", b.count, b.partition, err)
	}
	w.encodedRatio = w.encodedRatio.learn(len(data), b.size, w.cfg.TargetBytes)
	recycleObjectBuffer(data)
	full, _ = w.policy.full(b, w.encodedRatio)
	return full, nil
}

// flush writes one buffer to OSS exactly once, retrying until it succeeds
// or the channel stops, then forgets it.
func (w *writer) flush(ctx context.Context, b *buffer) error {
	up := upload{kind: b.kind, partition: b.partition, rows: b.count, last: b.last, attempts: &b.attempts,
		contentType: "application/vnd.apache.parquet"}
	if b.kind == kindData {
		data, err := w.cfg.Encoder.EncodeBlockTo(objectBuffer(w.objectEstimate(b)), b.rows)
		if err != nil {
			// The rows were validated against the schema: failing here is
			// a bug, not something a retry fixes.
			return fmt.Errorf("pipeline: encode %d rows for %s: %w", b.count, b.partition, err)
		}
		w.encodedRatio = w.encodedRatio.learn(len(data), b.size, w.cfg.TargetBytes)
		up.data = data
	} else {
		up.data, up.contentType = b.dirty.Bytes(), "application/x-ndjson"
	}
	if err := w.uploader.put(ctx, up); err != nil {
		return err
	}
	if b.kind == kindData && len(b.attempts) <= 1 {
		recycleObjectBuffer(up.data)
	}
	w.replay.delivered(b.key(), b.last)
	w.forget(b)
	if len(w.buffers) == 0 || b.oldestWT.After(w.durableThrough) {
		w.refreshDurable()
	}
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
// whose records are settled (checkpointTracker). Unless forced, it
// checkpoints at most once a second.
func (w *writer) advanceCheckpoint(force bool) error {
	var oldestOpen int64
	for _, b := range w.buffers {
		if oldestOpen == 0 || b.firstBatch < oldestOpen {
			oldestOpen = b.firstBatch
		}
	}
	now := w.cfg.Now()
	mark, ok := w.tracker.next(oldestOpen, now, force)
	if !ok {
		return nil
	}
	if err := w.cfg.Checkpoint(mark.token); err != nil {
		w.cfg.Logger.Warn("tunnel checkpoint failed; will retry", "channel", w.cfg.Channel, "err", err)
		return fmt.Errorf("pipeline: checkpoint channel %s: %w", w.cfg.Channel, err)
	}
	w.tracker.done(mark, now)
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

// publishProgress stores a snapshot of the channel's progress.
func (w *writer) publishProgress() {
	p := &channelProgress{durable: w.durableThrough, stream: w.stream}
	for _, b := range w.buffers {
		p.buffered += b.count
		if p.oldest.IsZero() || b.createdAt.Before(p.oldest) {
			p.oldest = b.createdAt
		}
	}
	w.progress.Store(p)
}

// snapshot returns the channel's last published progress; any goroutine
// may call it.
func (w *writer) snapshot() channelProgress { return *w.progress.Load() }

// release gives the channel's buffered bytes back to the budget when it is
// abandoned; the rows are read again from the checkpoint.
func (w *writer) release() {
	w.cfg.Budget.unregister(w)
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
