package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel"
	"go.uber.org/zap"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/tunnelrecord"
)

// channelProcessor is one channel's delivery. One goroutine (loop) owns
// the channel's writer: batches from the SDK, age ticks, the memory budget's
// flush requests and the drain on shutdown all reach it through channels, so
// the writer's buffers need no lock and nothing waits on a lock while an
// upload retries. It checkpoints only what the writer has durably
// delivered, never merely what it was handed.
//
// The SDK sees it through the processor AsyncProcessFactory makes (see
// sdkProcessor): the SDK hands binary records only to its own processors,
// and the channel decodes them with tunnelrecord instead of the SDK's
// reflection-bound reader.
type channelProcessor struct {
	runner    *taskRunner
	channelID string
	w         *writer
	decoder   *tunnelrecord.Decoder

	ctx     context.Context
	cancel  context.CancelFunc
	batches chan batchRequest
	drains  chan drainRequest
	done    chan struct{}

	once sync.Once
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

func newChannelProcessor(r *taskRunner, channelID string, w *writer, tickEvery time.Duration) *channelProcessor {
	ctx, cancel := context.WithCancel(r.ctx)
	p := &channelProcessor{runner: r, channelID: channelID, w: w, decoder: tunnelrecord.NewDecoder(), ctx: ctx, cancel: cancel,
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

// sdkProcessor returns the processor the SDK's tunnel worker drives for
// this channel: the SDK's own, asynchronous (it checkpoints nothing by
// itself), asking for binary records and calling back for empty reads too,
// so that the writer sees every token. When the channel finishes or closes,
// the SDK's Shutdown reaches Shutdown here.
func (p *channelProcessor) sdkProcessor(tunnelID, clientID string, cp tunnel.Checkpointer) (tunnel.ChannelProcessor, error) {
	factory := &tunnel.AsyncProcessFactory{
		ProcessFunc:      p.processBinary,
		ShutdownFunc:     func(*tunnel.ChannelContext) { p.Shutdown() },
		Logger:           zap.NewNop(),
		NeedBinaryRecord: true,
		AlwaysCallBack:   true,
	}
	return factory.NewProcessor(tunnelID, clientID, p.channelID, cp)
}

// processBinary decodes one read of the channel and delivers it. The SDK
// calls it from the channel's one reading goroutine, so the decoder is
// never shared.
func (p *channelProcessor) processBinary(ctx *tunnel.ChannelContext, _ []*tunnel.Record) error {
	records, err := p.decoder.Decode(ctx.BinaryRecords)
	if err != nil {
		return fmt.Errorf("channel %s: decode records: %w", p.channelID, err)
	}
	return p.process(records, ctx.NextToken, ctx.IsStreamChannel)
}

// process hands a batch to the channel's goroutine and waits for it: while
// uploads fail (and retry) the SDK reads nothing further, so memory stays
// bounded and nothing is checkpointed past undelivered records.
func (p *channelProcessor) process(records []*tunnel.Record, nextToken string, streamChannel bool) error {
	req := batchRequest{records: records, nextToken: nextToken, stream: streamChannel, result: make(chan error, 1)}
	select {
	case p.batches <- req:
	case <-p.done:
		return errStopped
	}
	return <-req.result
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
