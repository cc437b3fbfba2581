package pipeline

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel"
)

// channelProcessor is the SDK's view of one channel's writer. Unlike the
// SDK's SimpleProcessFactory, which checkpoints every batch it has handed to
// the callback, it checkpoints only what the writer has durably delivered.
type channelProcessor struct {
	runner    *taskRunner
	channelID string
	w         *writer

	ctx      context.Context
	cancel   context.CancelFunc
	done     chan struct{}
	once     sync.Once
	finished atomic.Bool
}

var _ tunnel.ChannelProcessor = (*channelProcessor)(nil)

func newChannelProcessor(r *taskRunner, channelID string, w *writer, tickEvery time.Duration) *channelProcessor {
	ctx, cancel := context.WithCancel(r.ctx)
	p := &channelProcessor{runner: r, channelID: channelID, w: w, ctx: ctx, cancel: cancel, done: make(chan struct{})}
	w.cfg.Budget.register(w)
	go p.tickLoop(tickEvery)
	return p
}

// tickLoop flushes buffers by age even when no records arrive.
func (p *channelProcessor) tickLoop(every time.Duration) {
	defer close(p.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return
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

// Process buffers a batch; it blocks while uploads fail (retrying), which
// stops the channel from reading further: memory stays bounded and nothing
// is checkpointed past undelivered records.
func (p *channelProcessor) Process(records []*tunnel.Record, _ []byte, _ int, nextToken, _ string, streamChannel bool, _ tunnel.ParallelReleaseManager) error {
	if err := p.w.process(p.ctx, records, nextToken, streamChannel); err != nil {
		return err
	}
	if nextToken == tunnel.FinishTag {
		p.SetFinished(true)
	}
	return nil
}

// Shutdown abandons what is buffered: the records are read again from the
// last checkpoint by whoever gets the channel next. It waits for an upload
// in flight to stop, so two writers never work on one channel.
func (p *channelProcessor) Shutdown() {
	p.once.Do(func() {
		p.cancel()
		<-p.done
		p.w.release() // takes the writer's lock: waits for a Process call in progress
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
