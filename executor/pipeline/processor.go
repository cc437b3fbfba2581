package pipeline

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel"
)

// channelProcessor is the SDK's view of one channel. One goroutine (loop)
// owns the channel's writer: batches from the SDK, age ticks, the memory
// budget's flush requests and the drain on shutdown all reach it through
// channels, so the writer's buffers need no lock and nothing waits on a
// lock while an upload retries. Unlike the SDK's SimpleProcessFactory,
// which checkpoints every batch it has handed to the callback, it
// checkpoints only what the writer has durably delivered.
type channelProcessor struct {
	runner    *taskRunner
	channelID string
	w         *writer

	ctx     context.Context
	cancel  context.CancelFunc
	batches chan batchRequest
	drains  chan drainRequest
	done    chan struct{}

	once     sync.Once
	finished atomic.Bool
}

type batchRequest struct {
	records   []*tunnel.Record
	nextToken string
	stream    bool
	result    chan error
}

type drainRequest struct {
	ctx    context.Context
	result chan error
}

var _ tunnel.ChannelProcessor = (*channelProcessor)(nil)

func newChannelProcessor(r *taskRunner, channelID string, w *writer, tickEvery time.Duration) *channelProcessor {
	ctx, cancel := context.WithCancel(r.ctx)
	p := &channelProcessor{runner: r, channelID: channelID, w: w, ctx: ctx, cancel: cancel,
		batches: make(chan batchRequest), drains: make(chan drainRequest), done: make(chan struct{})}
	w.cfg.Budget.register(w)
	go p.loop(tickEvery)
	return p
}

// loop is the only goroutine that touches the writer. When the channel
// stops, it abandons what is buffered: the records are read again from the
// last checkpoint by whoever gets the channel next.
func (p *channelProcessor) loop(tickEvery time.Duration) {
	defer close(p.done)
	defer p.w.release()
	t := time.NewTicker(tickEvery)
	defer t.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return
		case req := <-p.batches:
			req.result <- p.w.process(p.ctx, req.records, req.nextToken, req.stream)
		case req := <-p.drains:
			req.result <- p.w.drain(req.ctx)
		case <-t.C:
			if err := p.w.tick(p.ctx); err != nil && !errors.Is(err, errStopped) {
				p.runner.log.Warn("age-based flush failed", "channel", p.channelID, "err", err)
			}
		case <-p.w.flushRequested():
			if err := p.w.flushOldest(p.ctx); err != nil && !errors.Is(err, errStopped) {
				p.runner.log.Warn("memory-budget flush failed", "channel", p.channelID, "err", err)
			}
		}
	}
}

// Process hands a batch to the channel's goroutine and waits for it: while
// uploads fail (and retry) the SDK reads nothing further, so memory stays
// bounded and nothing is checkpointed past undelivered records.
func (p *channelProcessor) Process(records []*tunnel.Record, _ []byte, _ int, nextToken, _ string, streamChannel bool, _ tunnel.ParallelReleaseManager) error {
	req := batchRequest{records: records, nextToken: nextToken, stream: streamChannel, result: make(chan error, 1)}
	select {
	case p.batches <- req:
	case <-p.done:
		return errStopped
	}
	if err := <-req.result; err != nil {
		return err
	}
	if nextToken == tunnel.FinishTag {
		p.SetFinished(true)
	}
	return nil
}

// drain writes what the channel buffers and checkpoints it, for a graceful
// shutdown, until ctx ends.
func (p *channelProcessor) drain(ctx context.Context) error {
	req := drainRequest{ctx: ctx, result: make(chan error, 1)}
	select {
	case p.drains <- req:
	case <-p.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-req.result
}

// Shutdown stops the channel's goroutine and waits for it, so an upload in
// flight has stopped before it returns: two writers never work on one
// channel.
func (p *channelProcessor) Shutdown() {
	p.once.Do(func() {
		p.cancel()
		<-p.done
		p.runner.forgetProcessor(p)
	})
}

func (p *channelProcessor) Error() bool { return false }

func (p *channelProcessor) Finished() bool { return p.finished.Load() }

func (p *channelProcessor) SetFinished(v bool) { p.finished.Store(v) }

// CommitToken is for asynchronous processors; the writer checkpoints itself.
func (p *channelProcessor) CommitToken(token string) error { return p.w.cfg.Checkpoint(token) }

// checkpointFunc adapts the SDK's Checkpointer, retrying once on a sequence
// mismatch (the checkpointer re-reads the sequence number on that error).
func checkpointFunc(cp tunnel.Checkpointer) func(string) error {
	return func(token string) error {
		err := cp.Checkpoint(token)
		var te *tunnel.TunnelError
		if errors.As(err, &te) && te.Code == tunnel.ErrCodeSequenceNotMatch {
			err = cp.Checkpoint(token)
		}
		return err
	}
}
