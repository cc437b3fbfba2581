package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/objectstore"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/state"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// Config wires a Manager.
type Config struct {
	// Registry holds the tasks, roles and the pipelines' journals. Required.
	Registry state.Registry
	// TablestoreEndpoint and Instance locate the source instance; the
	// credentials sign tunnel requests. Required.
	TablestoreEndpoint string
	Instance           string
	AccessKeyID        string
	AccessKeySecret    string
	// OSSEndpoints maps a region (e.g. "cn-hangzhou") to its OSS endpoint. A
	// task whose region has none reports InvalidOssBucket.
	OSSEndpoints map[string]string
	// RoleLookup returns the OSS credentials of a role ARN; default: the
	// Registry's roles. Return an *objectstore.Error of kind
	// KindUnauthorized when the role does not exist.
	RoleLookup func(ctx context.Context, arn string) (objectstore.Credentials, error)
	Logger     *slog.Logger
	// Metrics receives the pipelines' collectors (nil: not exported).
	Metrics prometheus.Registerer
	// MemoryBudgetBytes bounds the rows buffered by all pipelines; past it
	// the oldest buffers are written early. Default 256 MiB.
	MemoryBudgetBytes int64
	// HeartbeatInterval and HeartbeatTimeout of the tunnel workers;
	// defaults 5 s and 30 s.
	HeartbeatInterval time.Duration
	HeartbeatTimeout  time.Duration
	// StatusInterval is how often task status is refreshed; default 1 s.
	StatusInterval time.Duration
	// TickInterval is how often buffers are checked for age; default
	// min(250 ms, flush interval / 8), so a buffer is written at most that
	// long after it is due (a tick with nothing due costs a map walk).
	TickInterval time.Duration
	// MultipartThreshold and PartSize tune large uploads (objectstore defaults).
	MultipartThreshold int64
	PartSize           int64
	// RetryBase and RetryMax bound the backoff of failed uploads (200 ms, 10 s).
	RetryBase, RetryMax time.Duration
	// StreamPollMax caps the pause between reads of an idle stream channel
	// (the SDK backs off up to this long when a read returns little);
	// default 500 ms. It bounds the delay a change waits before it is read.
	StreamPollMax time.Duration
	// DrainTimeout bounds how long Close spends writing buffered rows (and
	// checkpointing them) before it abandons the rest to be read again from
	// the checkpoints; default 10 s, negative: abandon at once.
	DrainTimeout time.Duration
	// TransientGrace is how long transient failures are retried before the
	// task shows InternalError; default 15 s.
	TransientGrace time.Duration
}

// Manager runs the pipelines of all tasks of one executor.
type Manager struct {
	cfg     Config
	log     *slog.Logger
	client  tunnel.TunnelClient
	budget  *memoryBudget
	metrics *metrics

	mu      sync.Mutex
	runners map[string]*taskRunner
	closed  bool
}

// New creates a Manager; it starts nothing until Start is called.
func New(cfg Config) (*Manager, error) {
	switch {
	case cfg.Registry == nil:
		return nil, errors.New("pipeline: Registry is required")
	case cfg.TablestoreEndpoint == "" || cfg.Instance == "":
		return nil, errors.New("pipeline: TablestoreEndpoint and Instance are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MemoryBudgetBytes <= 0 {
		cfg.MemoryBudgetBytes = 256 << 20
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = 5 * time.Second
	}
	if cfg.HeartbeatTimeout <= cfg.HeartbeatInterval {
		cfg.HeartbeatTimeout = max(30*time.Second, 3*cfg.HeartbeatInterval)
	}
	if cfg.StatusInterval <= 0 {
		cfg.StatusInterval = time.Second
	}
	if cfg.StreamPollMax <= 0 {
		cfg.StreamPollMax = 500 * time.Millisecond
	}
	if cfg.DrainTimeout == 0 {
		cfg.DrainTimeout = 10 * time.Second
	}
	if cfg.TransientGrace <= 0 {
		// Long enough to ride out a blip (the SDKs and our own backoff
		// retry meanwhile), short enough that an outage shows in the
		// status well within the default two-minute flush interval.
		cfg.TransientGrace = 15 * time.Second
	}
	budget := &memoryBudget{limit: cfg.MemoryBudgetBytes}
	met, err := newMetrics(cfg.Metrics, budget)
	if err != nil {
		return nil, fmt.Errorf("pipeline: register metrics: %w", err)
	}
	tc := tunnel.NewTunnelClientWithConfig(cfg.TablestoreEndpoint, cfg.Instance, cfg.AccessKeyID, cfg.AccessKeySecret,
		&tunnel.TunnelConfig{MaxRetryElapsedTime: 20 * time.Second, RequestTimeout: 30 * time.Second, Transport: newTransport()})
	return &Manager{cfg: cfg, log: cfg.Logger, client: tc, budget: budget, metrics: met, runners: map[string]*taskRunner{}}, nil
}

// TunnelName is the name of the tunnel a task reads its table through.
func TunnelName(taskName string) string { return "delivery_" + taskName }

func taskKey(table, name string) string { return table + "/" + name }

// Start creates the task's tunnel if needed (synchronously) and starts its
// pipeline; starting a running task restarts it with the new definition.
func (m *Manager) Start(ctx context.Context, t task.Task) error {
	plan, err := compile(t)
	if err != nil {
		return err
	}
	tunnelID, err := m.ensureTunnel(ctx, t)
	if err != nil {
		return err
	}
	key := taskKey(t.Table, t.Name)
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return errors.New("pipeline: manager is closed")
	}
	old := m.runners[key]
	delete(m.runners, key)
	m.mu.Unlock()
	if old != nil {
		old.stop()
	}
	if t.Status.Phase == task.PhaseFinished {
		return nil
	}
	r := newTaskRunner(m, t, plan, tunnelID)
	m.mu.Lock()
	m.runners[key] = r
	m.mu.Unlock()
	r.run()
	return nil
}

// Update restarts a running pipeline with the task's new mutable settings;
// buffered rows are read again from the checkpoints, so nothing is lost or
// doubled.
func (m *Manager) Update(ctx context.Context, t task.Task) error {
	m.mu.Lock()
	r := m.runners[taskKey(t.Table, t.Name)]
	m.mu.Unlock()
	if r == nil {
		return nil
	}
	return m.Start(ctx, t)
}

// Stop stops the task's pipeline and deletes its tunnel; delivered objects
// stay.
func (m *Manager) Stop(ctx context.Context, table, name string) error {
	key := taskKey(table, name)
	m.mu.Lock()
	r := m.runners[key]
	delete(m.runners, key)
	m.mu.Unlock()
	if r != nil {
		r.stop()
		m.metrics.forgetTask(key)
	}
	_, err := m.client.DeleteTunnel(&tunnel.DeleteTunnelRequest{TableName: table, TunnelName: TunnelName(name)})
	if err != nil && !isNotExist(err) {
		return fmt.Errorf("pipeline: delete tunnel of %s: %w", key, err)
	}
	return nil
}

// Close stops every pipeline without deleting anything: buffered rows are
// abandoned and read again from the checkpoints on the next start.
func (m *Manager) Close() error {
	m.mu.Lock()
	m.closed = true
	runners := m.runners
	m.runners = map[string]*taskRunner{}
	m.mu.Unlock()
	var wg sync.WaitGroup
	for _, r := range runners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.drain(m.cfg.DrainTimeout)
			r.stop()
		}()
	}
	wg.Wait()
	return nil
}

func isNotExist(err error) bool {
	var te *tunnel.TunnelError
	if errors.As(err, &te) {
		return te.Code == tunnel.ErrCodeParamInvalid && strings.Contains(strings.ToLower(te.Message), "not exist") ||
			strings.Contains(te.Code, "NotExist") || strings.Contains(strings.ToLower(te.Message), "not found")
	}
	return false
}

// ensureTunnel returns the task's tunnel id, creating the tunnel when the
// table has none of that name.
func (m *Manager) ensureTunnel(ctx context.Context, t task.Task) (string, error) {
	name := TunnelName(t.Name)
	desc, err := m.client.DescribeTunnel(&tunnel.DescribeTunnelRequest{TableName: t.Table, TunnelName: name})
	if err == nil && desc.Tunnel != nil {
		return desc.Tunnel.TunnelId, nil
	}
	if err != nil && !isNotExist(err) {
		return "", fmt.Errorf("pipeline: describe tunnel %s of table %s: %w", name, t.Table, err)
	}
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	typ := tunnel.TunnelTypeBaseStream
	switch t.SyncMode {
	case task.SyncFull:
		typ = tunnel.TunnelTypeBaseData
	case task.SyncIncremental:
		typ = tunnel.TunnelTypeStream
	}
	resp, err := m.client.CreateTunnel(&tunnel.CreateTunnelRequest{TableName: t.Table, TunnelName: name, Type: typ})
	if err != nil {
		return "", fmt.Errorf("pipeline: create %s tunnel %s on table %s: %w", typ, name, t.Table, err)
	}
	return resp.TunnelId, nil
}

// plan is a task compiled for its writers.
type plan struct {
	mapper  *Mapper
	encoder *Encoder
	prefix  *task.Template
	dirty   *task.Template
	flush   time.Duration
	target  int
}

func compile(t task.Task) (*plan, error) {
	cols := t.Status.ResolvedColumns
	if len(cols) == 0 {
		cols = t.Columns
	}
	mapper, err := NewMapper(cols, t.EventTimeColumn)
	if err != nil {
		return nil, err
	}
	enc, err := NewEncoder(cols, t.Compression)
	if err != nil {
		return nil, err
	}
	prefix, err := task.ParsePrefix(t.Prefix)
	if err != nil {
		return nil, fmt.Errorf("pipeline: prefix %q: %w", t.Prefix, err)
	}
	var dirty *task.Template
	if t.DirtyPrefix != "" {
		if dirty, err = task.ParsePrefix(t.DirtyPrefix); err != nil {
			return nil, fmt.Errorf("pipeline: dirty prefix %q: %w", t.DirtyPrefix, err)
		}
	}
	flush := time.Duration(t.FlushIntervalSeconds) * time.Second
	if flush <= 0 {
		flush = 120 * time.Second
	}
	target := t.TargetObjectSizeMB << 20
	if target <= 0 {
		target = 64 << 20
	}
	return &plan{mapper: mapper, encoder: enc, prefix: prefix, dirty: dirty, flush: flush, target: target}, nil
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
			if err := p.w.drain(ctx); err != nil {
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
// channel, in the channel's writer slot (the ConcurrentID in object names).
// Channel ids are opaque: nothing is read from them.
func (r *taskRunner) NewProcessor(_, _, channelID string, cp tunnel.Checkpointer) (tunnel.ChannelProcessor, error) {
	slot, err := r.slots.take(r.ctx, channelID)
	if err != nil {
		return nil, err
	}
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
		TaskName: r.t.Name, Slot: slot, Channel: channelID,
		Mapper: r.plan.mapper, Encoder: r.plan.encoder, Prefix: r.plan.prefix, DirtyPrefix: r.plan.dirty,
		FlushInterval: r.plan.flush, TargetBytes: r.plan.target,
		Journal: r.journal, Sink: r.sink, Checkpoint: checkpointFunc(cp),
		Budget: r.m.budget, Reporter: r, Metrics: r.m.metrics,
		Logger:    r.log.With("channel", channelID),
		RetryBase: r.m.cfg.RetryBase, RetryMax: r.m.cfg.RetryMax,
		Slots: r.slots,
	})
	p := newChannelProcessor(r, channelID, w, tick)
	r.mu.Lock()
	r.processors[channelID] = p
	r.mu.Unlock()
	return p, nil
}

func (r *taskRunner) forgetProcessor(p *channelProcessor) {
	r.mu.Lock()
	if r.processors[p.channelID] == p {
		delete(r.processors, p.channelID)
	}
	r.mu.Unlock()
}

// uploadFailed implements reporter: user-fixable failures show at once,
// transient ones only once they have lasted TransientGrace.
func (r *taskRunner) uploadFailed(err error) {
	code, detail := errorCodeOf(err)
	r.errMu.Lock()
	defer r.errMu.Unlock()
	now := time.Now()
	if r.failingSince.IsZero() {
		r.failingSince = now
	}
	if code == task.ErrNone {
		if now.Sub(r.failingSince) < r.m.cfg.TransientGrace {
			return
		}
		code = task.ErrInternal
	}
	r.errCode, r.errDetail = code, detail
	r.m.metrics.failure(r.key, string(code))
}

func (r *taskRunner) uploadSucceeded(Counters) {
	r.errMu.Lock()
	r.errCode, r.errDetail, r.failingSince = task.ErrNone, "", time.Time{}
	r.lastSynced = time.Now()
	r.uploadedSincePublish = true
	r.errMu.Unlock()
}

// statusLoop publishes the task's phase, counters, progress and errors.
func (r *taskRunner) statusLoop() {
	t := time.NewTicker(r.m.cfg.StatusInterval)
	defer t.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-t.C:
		}
		if err := r.publishStatus(); err != nil {
			if errors.Is(err, state.ErrNotFound) {
				return
			}
			r.log.Warn("status update failed", "err", err)
		}
	}
}

func (r *taskRunner) publishStatus() error {
	ctx := r.ctx
	counters, err := r.journal.counters(ctx)
	if err != nil {
		return err
	}
	phase, finishedAll := r.tunnelPhase()
	// Per-channel progress; the task's sync time is the oldest of its
	// stream channels'.
	now := time.Now()
	var syncedThrough time.Time
	r.mu.Lock()
	for id, p := range r.processors {
		durable, stream, buffered := p.w.progress()
		r.m.metrics.channelProgress(r.key, id, durable, stream, buffered, now)
		if stream && !durable.IsZero() && (syncedThrough.IsZero() || durable.Before(syncedThrough)) {
			syncedThrough = durable
		}
	}
	r.mu.Unlock()
	r.errMu.Lock()
	code, detail, lastSynced, uploaded := r.errCode, r.errDetail, r.lastSynced, r.uploadedSincePublish
	r.uploadedSincePublish = false
	r.errMu.Unlock()
	err = r.m.cfg.Registry.UpdateStatus(ctx, r.t.Table, r.t.Name, func(s *task.Status) {
		s.RowsDelivered = counters.RowsDelivered
		s.RowsDirty = counters.RowsDirty
		s.ObjectsWritten = counters.ObjectsWritten
		s.BytesWritten = counters.BytesWritten
		if s.Phase != task.PhaseInit && phase != "" && phaseRank(phase) > phaseRank(s.Phase) {
			s.Phase = phase
		}
		if !lastSynced.IsZero() {
			ls := lastSynced.UTC()
			s.LastSyncedAt = &ls
		}
		if ns := syncedThrough.UnixNano(); !syncedThrough.IsZero() && ns > s.CurrentSyncTimestampNs {
			s.CurrentSyncTimestampNs = ns
		}
		switch {
		case code != task.ErrNone:
			s.SetError(code, detail)
		case uploaded && isPipelineError(s.ErrorCode):
			s.ClearError()
		}
	})
	if err != nil {
		if uploaded { // keep the evidence for the next publication
			r.errMu.Lock()
			r.uploadedSincePublish = true
			r.errMu.Unlock()
		}
		return err
	}
	if finishedAll && r.t.SyncMode == task.SyncFull {
		// A finished full sync has nothing more to read.
		go func() {
			r.mu.Lock()
			w := r.worker
			r.mu.Unlock()
			r.cancel()
			if w != nil {
				w.Shutdown()
			}
		}()
	}
	return nil
}

func isPipelineError(c task.ErrorCode) bool {
	return c == task.ErrUnauthorized || c == task.ErrInvalidOssBucket || c == task.ErrInternal
}

func phaseRank(p task.Phase) int {
	switch p {
	case task.PhaseInit:
		return 0
	case task.PhaseFull:
		return 1
	case task.PhaseIncr, task.PhaseFinished:
		return 2
	}
	return -1
}

// tunnelPhase derives the task's phase from its tunnel's channels: a full
// sync is finished when every channel is terminated; a differential one is
// incremental once every base channel is.
func (r *taskRunner) tunnelPhase() (task.Phase, bool) {
	desc, err := r.m.client.DescribeTunnel(&tunnel.DescribeTunnelRequest{TableName: r.t.Table, TunnelName: TunnelName(r.t.Name)})
	if err != nil || desc.Tunnel == nil {
		return "", false
	}
	base, baseDone := 0, 0
	for _, ch := range desc.Channels {
		if ch.ChannelType == string(tunnel.ChannelType_BaseData) {
			base++
			if ch.ChannelStatus == "TERMINATED" {
				baseDone++
			}
		}
	}
	switch r.t.SyncMode {
	case task.SyncFull:
		if base > 0 && baseDone == base {
			return task.PhaseFinished, true
		}
		return task.PhaseFull, false
	case task.SyncIncremental:
		return task.PhaseIncr, false
	default:
		if (base > 0 && baseDone == base) || desc.Tunnel.Stage == "ProcessStream" {
			return task.PhaseIncr, false
		}
		return task.PhaseFull, false
	}
}
