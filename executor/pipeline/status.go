package pipeline

import (
	"errors"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/state"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

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
	view := r.tunnelState()
	phase, finishedAll := view.phase, view.finished
	expired, why := r.expiry(view)
	// Per-channel progress; the task's sync time is the oldest of its
	// stream channels'.
	now := time.Now()
	var syncedThrough time.Time
	r.mu.Lock()
	for id, p := range r.processors {
		pr := p.w.snapshot()
		r.m.metrics.channelProgress(r.key, id, pr.durable, pr.stream, pr.buffered, now)
		if pr.stream && !pr.durable.IsZero() && (syncedThrough.IsZero() || pr.durable.Before(syncedThrough)) {
			syncedThrough = pr.durable
		}
	}
	r.mu.Unlock()
	r.errMu.Lock()
	code, detail, lastSynced, uploaded := r.errCode, r.errDetail, r.lastSynced, r.uploadedSincePublish
	r.uploadedSincePublish = false
	r.errMu.Unlock()
	if code == task.ErrNone && expired {
		// Sticky: the trimmed changes stay lost; recovery is recreating
		// the task (see expiredDetail). Upload errors show first, since
		// they stop what can still be delivered.
		code, detail = task.ErrStreamExpired, expiredDetail(why)
		if !r.expiryCounted {
			r.m.metrics.failure(r.key, string(code))
			r.expiryCounted = true
		}
	}
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

// tunnelState is what DescribeTunnel says; zero when it could not be
// asked.
func (r *taskRunner) tunnelState() tunnelView {
	desc, err := r.m.client.DescribeTunnel(&tunnel.DescribeTunnelRequest{TableName: r.t.Table, TunnelName: TunnelName(r.t.Name)})
	if err != nil {
		return tunnelView{}
	}
	return viewOf(r.t.SyncMode, desc)
}

// expiry tells whether the task's stream expired: DescribeTunnel says so,
// or a read of one of its channels was refused as past the retention
// lately (the SDK dials a refused channel again every few heartbeats).
func (r *taskRunner) expiry(view tunnelView) (bool, string) {
	if view.expired {
		return true, "DescribeTunnel reports the tunnel expired"
	}
	window := max(time.Minute, 6*r.m.cfg.HeartbeatInterval)
	if read, ok := r.m.expiry.refusedSince(r.tunnelID, time.Now().Add(-window)); ok {
		return true, "reading channel " + read.channel + " was refused: " + read.message
	}
	return false, ""
}
