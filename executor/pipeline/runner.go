package pipeline

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// plan is a task compiled for its writers.
type plan struct {
	columns []task.Column
	mapper  *Mapper
	encoder *Encoder
	prefix  *task.Template
	dirty   *task.Template
	flush   time.Duration
	target  int
}

func compile(t task.Task) (*plan, error) {
	cols := planColumns(t)
	mapper, err := NewMapper(cols, t.EventTimeColumn)
	if err != nil {
		return nil, err
	}
	enc, err := NewEncoder(cols, t.Compression)
	if err != nil {
		return nil, err
	}
	loc, err := t.Location()
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	prefix, err := task.ParsePrefix(t.Prefix)
	if err != nil {
		return nil, fmt.Errorf("pipeline: prefix %q: %w", t.Prefix, err)
	}
	prefix = prefix.In(loc)
	var dirty *task.Template
	if t.DirtyPrefix != "" {
		if dirty, err = task.ParsePrefix(t.DirtyPrefix); err != nil {
			return nil, fmt.Errorf("pipeline: dirty prefix %q: %w", t.DirtyPrefix, err)
		}
		dirty = dirty.In(loc)
	}
	flush := time.Duration(t.FlushIntervalSeconds) * time.Second
	if flush <= 0 {
		flush = 120 * time.Second
	}
	target := t.TargetObjectSizeMB << 20
	if target <= 0 {
		target = 64 << 20
	}
	return &plan{columns: cols, mapper: mapper, encoder: enc, prefix: prefix, dirty: dirty, flush: flush, target: target}, nil
}

// planColumns are the columns a task's rows are written with: the resolved
// ones (which grow when columns are appended), else those of the spec.
func planColumns(t task.Task) []task.Column {
	if len(t.Status.ResolvedColumns) > 0 {
		return t.Status.ResolvedColumns
	}
	return t.Columns
}

// sameColumn compares what a column writes (not when it was added).
func sameColumn(a, b task.Column) bool {
	return a.Source == b.Source && a.Name == b.Name && a.Type == b.Type && a.Encoding == b.Encoding
}

// taskRunner runs one task: a tunnel worker (restarted when it fails), a
// writer per channel, and the status loop.
type taskRunner struct {
	m        *Manager
	t        task.Task
	key      string
	plan     *plan
	tunnelID string
	log      *slog.Logger
	journal  journal
	slots    slots
	sink     *ossSink

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu         sync.Mutex
	processors map[string]*channelProcessor
	worker     tunnel.TunnelWorker

	errMu        sync.Mutex
	errCode      task.ErrorCode
	errDetail    string
	failingSince time.Time
	lastSynced   time.Time
	// uploadedSincePublish is this executor's evidence that the task's
	// destination works now: an upload succeeded since the last status
	// publication. Only such evidence clears a stored error, so that with
	// several executors one that has not tried (yet) does not clear the
	// error another one is seeing.
	uploadedSincePublish bool
	// expiryCounted: the stream's expiry is in the error metric (once).
	// Only the status loop uses it.
	expiryCounted bool
}

func newTaskRunner(m *Manager, t task.Task, p *plan, tunnelID string) *taskRunner {
	ctx, cancel := context.WithCancel(context.Background())
	key := taskKey(t.Table, t.Name)
	ps := m.cfg.Registry.PipelineState(t.Table, t.Name)
	return &taskRunner{
		m: m, t: t, key: key, plan: p, tunnelID: tunnelID,
		log:     m.log.With("task", key),
		journal: journal{ps: ps},
		slots:   slots{ps: ps},
		sink:    &ossSink{m: m, bucket: t.Bucket, region: t.Region, role: t.RoleARN},
		ctx:     ctx, cancel: cancel,
		processors: map[string]*channelProcessor{},
	}
}

func (r *taskRunner) run() {
	r.wg.Add(2)
	go func() { defer r.wg.Done(); r.workLoop() }()
	go func() { defer r.wg.Done(); r.statusLoop() }()
}

// stop ends the task's pipeline here. The writers stop first — an upload
// in flight completes or fails before Shutdown returns — and only then does
// the worker tell the tunnel service it leaves, which hands the channels to
// other executors: a new owner never meets an upload still in flight.
func (r *taskRunner) stop() {
	r.cancel()
	r.shutdownProcessors()
	r.mu.Lock()
	w := r.worker
	r.mu.Unlock()
	if w != nil {
		w.Shutdown()
	}
	r.wg.Wait()
	r.shutdownProcessors() // any the SDK created meanwhile (they stop at once)
}

// drain writes what the task's writers buffer and checkpoints it, giving
// up (safely: the rest is read again later) when the timeout passes.
func (r *taskRunner) drain(timeout time.Duration) {
	if timeout <= 0 {
		return
	}
	ctx, cancel := context.WithTimeout(r.ctx, timeout)
	defer cancel()
	r.mu.Lock()
	procs := make([]*channelProcessor, 0, len(r.processors))
	for _, p := range r.processors {
		procs = append(procs, p)
	}
	r.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.drain(ctx); err != nil {
				r.log.Info("shutdown left buffered rows to be read again", "channel", p.channelID, "err", err)
			}
		}()
	}
	wg.Wait()
}

func (r *taskRunner) shutdownProcessors() {
	r.mu.Lock()
	procs := make([]*channelProcessor, 0, len(r.processors))
	for _, p := range r.processors {
		procs = append(procs, p)
	}
	r.mu.Unlock()
	for _, p := range procs {
		p.Shutdown()
	}
}

// workLoop keeps a tunnel worker connected until the runner stops.
func (r *taskRunner) workLoop() {
	delay := 200 * time.Millisecond
	for r.ctx.Err() == nil {
		w, err := r.m.client.NewTunnelWorker(r.tunnelID, &tunnel.TunnelWorkerConfig{
			HeartbeatInterval: r.m.cfg.HeartbeatInterval,
			HeartbeatTimeout:  r.m.cfg.HeartbeatTimeout,
			ProcessorFactory:  r,
			LogConfig:         &quietZapConfig,
			LogWriteSyncer:    zapcore.AddSync(io.Discard),
			BackoffConfig:     &tunnel.ChannelBackoffConfig{MaxDelay: r.m.cfg.StreamPollMax},
		})
		if err == nil {
			r.mu.Lock()
			r.worker = w
			r.mu.Unlock()
			if r.ctx.Err() != nil {
				w.Shutdown()
				return
			}
			err = w.ConnectAndWorking()
			w.Shutdown()
		}
		if r.ctx.Err() != nil {
			return
		}
		r.log.Warn("tunnel worker stopped; reconnecting", "in", delay, "err", err)
		select {
		case <-r.ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(delay*2, 10*time.Second)
	}
}

var quietZapConfig = func() zap.Config {
	c := tunnel.DefaultLogConfig
	c.Level = zap.NewAtomicLevelAt(zap.FatalLevel)
	c.Sampling = nil
	return c
}()

// NewProcessor implements tunnel.ChannelProcessorFactory: a writer for the
// channel, which takes the channel's writer slot (the ConcurrentID in object
// names) when it starts. Channel ids are opaque: nothing is read from them.
func (r *taskRunner) NewProcessor(tunnelID, clientID, channelID string, cp tunnel.Checkpointer) (tunnel.ChannelProcessor, error) {
	r.mu.Lock()
	old := r.processors[channelID]
	r.mu.Unlock()
	if old != nil {
		old.Shutdown() // never two writers on one channel
	}
	tick := r.m.cfg.TickInterval
	if tick <= 0 {
		tick = min(250*time.Millisecond, r.plan.flush/8)
	}
	w := newWriter(writerConfig{
		TaskName: r.t.Name, Channel: channelID,
		Mapper: r.plan.mapper, Encoder: r.plan.encoder, Prefix: r.plan.prefix, DirtyPrefix: r.plan.dirty,
		FlushInterval: r.plan.flush, TargetBytes: r.plan.target,
		Journal: r.journal, Sink: r.sink, Checkpoint: checkpointFunc(cp),
		Budget: r.m.budget, Reporter: r, Metrics: r.m.metrics,
		Logger:    r.log.With("channel", channelID),
		RetryBase: r.m.cfg.RetryBase, RetryMax: r.m.cfg.RetryMax,
		Slots: r.slots,
	})
	p := newChannelProcessor(r, channelID, w, tick)
	sdkp, err := p.sdkProcessor(tunnelID, clientID, cp)
	if err != nil {
		p.Shutdown()
		return nil, fmt.Errorf("channel %s: %w", channelID, err)
	}
	r.mu.Lock()
	r.processors[channelID] = p
	r.mu.Unlock()
	return sdkp, nil
}

func (r *taskRunner) forgetProcessor(p *channelProcessor) {
	r.mu.Lock()
	if r.processors[p.channelID] == p {
		delete(r.processors, p.channelID)
	}
	r.mu.Unlock()
}
