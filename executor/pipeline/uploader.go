package pipeline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"time"

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

// uploader writes a channel's objects exactly once, under the journal's
// protocol: record an intent (allocating the slot's next SequenceID), upload
// create-only with an attempt id, commit (drop the intent, move the
// partition's watermark and the counters). Failed steps retry with capped
// exponential backoff until they succeed or the channel stops.
type uploader struct {
	taskName string
	channel  string
	slot     int
	journal  journal
	sink     Sink
	// noDirty: dirty rows are counted but not written.
	noDirty   bool
	reporter  reporter
	metrics   *metrics
	logger    *slog.Logger
	retryBase time.Duration
	retryMax  time.Duration
}

// upload is one buffer's bytes on their way to OSS.
type upload struct {
	kind        string
	partition   string
	data        []byte
	contentType string
	rows        int
	last        Position
	// attempts are the ids of the uploads tried for these bytes.
	attempts *[]string
}

func newAttemptID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// retry runs fn until it succeeds, reporting failures, with capped
// exponential backoff; it gives up only when ctx ends.
func (u *uploader) retry(ctx context.Context, fn func() error) error {
	delay := u.retryBase
	for {
		err := fn()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return errStopped
		}
		u.reporter.uploadFailed(err)
		u.logger.Warn("delivery step failed; retrying", "channel", u.channel, "in", delay, "err", err)
		select {
		case <-ctx.Done():
			return errStopped
		case <-time.After(delay):
		}
		delay = min(delay*2, u.retryMax)
	}
}

// resolve settles the slot's leftover intent of a kind. If the object made
// it to OSS from one of the intent's attempts (all of which carried the
// same bytes) the upload is committed. If there is no object the intent is
// dropped and its SequenceID reused. If the key holds an object of some
// other writer (one that lost the channel and uploaded late), that object
// is left alone and the SequenceID skipped. It returns the intent when it
// was committed.
func (u *uploader) resolve(ctx context.Context, kind string) (*Intent, error) {
	in, err := u.journal.pending(ctx, u.slot, kind)
	if err != nil || in == nil {
		return nil, err
	}
	attempt, exists, err := u.sink.Attempt(ctx, in.Key)
	if err != nil {
		return nil, fmt.Errorf("resolve upload in flight %s: %w", in.Key, err)
	}
	if !exists || !slices.Contains(in.Attempts, attempt) {
		if err := u.journal.abandon(ctx, *in, !exists); err != nil {
			return nil, err
		}
		if exists {
			u.logger.Warn("an upload in flight found its key taken by another writer; skipping that SequenceID", "key", in.Key)
		} else {
			u.logger.Info("dropped an upload that never completed", "key", in.Key)
		}
		return nil, nil
	}
	delta, err := u.journal.commit(ctx, *in)
	if err != nil {
		return nil, err
	}
	u.reporter.uploadSucceeded(delta)
	u.logger.Info("committed an upload found complete in OSS", "key", in.Key)
	return in, nil
}

// put delivers one upload, retrying until it is committed or ctx ends.
// Before trying, it settles an intent a previous attempt left; that may
// turn out to be this very upload, already delivered.
func (u *uploader) put(ctx context.Context, up upload) error {
	return u.retry(ctx, func() error { return u.putOnce(ctx, up) })
}

func (u *uploader) putOnce(ctx context.Context, up upload) error {
	in := Intent{Slot: u.slot, Kind: up.kind, Channel: u.channel, Partition: up.partition,
		Last: up.last, Rows: int64(up.rows), Bytes: int64(len(up.data))}
	if up.kind == kindDirty && u.noDirty {
		in.Bytes = 0
		delta, err := u.journal.commit(ctx, in)
		if err != nil {
			return err
		}
		u.reporter.uploadSucceeded(delta)
		return nil
	}
	// A previous attempt may have left its intent; its object may even be
	// in OSS (a timeout after the upload completed).
	resolved, err := u.resolve(ctx, up.kind)
	if err != nil {
		return err
	}
	if resolved != nil && resolved.Channel == u.channel && resolved.Partition == up.partition && resolved.Last.equal(up.last) {
		return nil // that attempt delivered these very rows
	}
	// Every attempt at these rows uploads the same bytes; the intent lists
	// them all, so an earlier attempt that lands late still counts as ours.
	attempt := newAttemptID()
	*up.attempts = append(*up.attempts, attempt)
	in.Attempts = slices.Clone(*up.attempts)
	in, err = u.journal.begin(ctx, in, func(seq int64) string {
		return task.ObjectKey(up.partition, u.taskName, u.slot, seq)
	})
	if err != nil {
		return err
	}
	if err := u.sink.Put(ctx, in.Key, up.data, up.contentType, attempt); err != nil {
		return err
	}
	delta, err := u.journal.commit(ctx, in)
	if err != nil {
		return err
	}
	u.reporter.uploadSucceeded(delta)
	u.metrics.object(u.taskName, up.kind, len(up.data))
	return nil
}
