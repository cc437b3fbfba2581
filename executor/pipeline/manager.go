package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel"
	"github.com/prometheus/client_golang/prometheus"

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
	expiry  *expiryWatch

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
	expiry := newExpiryWatch(newTransport())
	tc := tunnel.NewTunnelClientWithConfig(cfg.TablestoreEndpoint, cfg.Instance, cfg.AccessKeyID, cfg.AccessKeySecret,
		&tunnel.TunnelConfig{MaxRetryElapsedTime: 20 * time.Second, RequestTimeout: 30 * time.Second, Transport: expiry})
	return &Manager{cfg: cfg, log: cfg.Logger, client: tc, budget: budget, metrics: met, expiry: expiry,
		runners: map[string]*taskRunner{}}, nil
}

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
// doubled. When the columns change, what is buffered is first written with
// the columns its rows were read with (a drain), so rows read from then on
// get the new columns and objects already written keep theirs.
func (m *Manager) Update(ctx context.Context, t task.Task) error {
	m.mu.Lock()
	r := m.runners[taskKey(t.Table, t.Name)]
	m.mu.Unlock()
	if r == nil {
		return nil
	}
	if !slices.EqualFunc(r.plan.columns, planColumns(t), sameColumn) {
		r.drain(m.cfg.DrainTimeout)
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
