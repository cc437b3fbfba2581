package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/objectstore"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/state"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// ossSink writes one task's objects with the credentials of the task's role,
// looked up for every upload burst so that a role added or fixed later takes
// effect without a restart.
type ossSink struct {
	m      *Manager
	bucket string
	region string
	role   string

	mu        sync.Mutex
	client    *objectstore.Client
	creds     objectstore.Credentials
	checkedAt time.Time
	lookedAt  time.Time
}

// bucketCheckEvery is how long a successful bucket check (existence,
// credentials, region) is trusted before the next upload checks again.
const bucketCheckEvery = 30 * time.Second

func (s *ossSink) get(ctx context.Context) (*objectstore.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if s.client == nil || now.Sub(s.lookedAt) > 2*time.Second {
		creds, err := s.m.lookupRole(ctx, s.role)
		if err != nil {
			return nil, err
		}
		s.lookedAt = now
		if s.client == nil || creds != s.creds {
			endpoint, ok := s.m.cfg.OSSEndpoints[s.region]
			if !ok {
				return nil, &objectstore.Error{Kind: objectstore.KindInvalidBucket, Op: "resolve endpoint", Bucket: s.bucket,
					Err: fmt.Errorf("no OSS endpoint is configured for region %q", s.region)}
			}
			c, err := objectstore.New(objectstore.Config{Endpoint: endpoint, Region: s.region, Credentials: creds,
				MultipartThreshold: s.m.cfg.MultipartThreshold, PartSize: s.m.cfg.PartSize})
			if err != nil {
				return nil, err
			}
			s.client, s.creds, s.checkedAt = c, creds, time.Time{}
		}
	}
	if now.Sub(s.checkedAt) > bucketCheckEvery {
		if err := s.client.CheckBucket(ctx, s.bucket); err != nil {
			return nil, err
		}
		s.checkedAt = now
	}
	return s.client, nil
}

// failed makes the next upload check the bucket and credentials again.
func (s *ossSink) failed() {
	s.mu.Lock()
	s.checkedAt = time.Time{}
	s.lookedAt = time.Time{}
	s.mu.Unlock()
}

// attemptMeta is the user metadata naming the upload attempt that created
// a delivered object.
const attemptMeta = "delivery-attempt"

func (s *ossSink) Put(ctx context.Context, key string, data []byte, contentType, attempt string) error {
	c, err := s.get(ctx)
	if err != nil {
		return err
	}
	err = c.PutWith(ctx, s.bucket, key, data, objectstore.PutOptions{
		ContentType: contentType, CreateOnly: true, Metadata: map[string]string{attemptMeta: attempt},
	})
	if err != nil && objectstore.KindOf(err) != objectstore.KindExists {
		s.failed()
	}
	return err
}

func (s *ossSink) Attempt(ctx context.Context, key string) (string, bool, error) {
	c, err := s.get(ctx)
	if err != nil {
		return "", false, err
	}
	meta, ok, err := c.Metadata(ctx, s.bucket, key)
	if err != nil {
		s.failed()
		return "", false, err
	}
	return meta[attemptMeta], ok, nil
}

// lookupRole returns the OSS credentials of a role ARN.
func (m *Manager) lookupRole(ctx context.Context, arn string) (objectstore.Credentials, error) {
	if m.cfg.RoleLookup != nil {
		return m.cfg.RoleLookup(ctx, arn)
	}
	rec, err := m.cfg.Registry.RoleByARN(ctx, arn)
	if errors.Is(err, state.ErrNotFound) {
		return objectstore.Credentials{}, &objectstore.Error{Kind: objectstore.KindUnauthorized, Op: "look up role",
			Err: fmt.Errorf("role %q does not exist", arn)}
	}
	if err != nil {
		return objectstore.Credentials{}, fmt.Errorf("look up role %q: %w", arn, err)
	}
	return objectstore.Credentials{AccessKeyID: rec.Credentials.AccessKeyID, AccessKeySecret: rec.Credentials.AccessKeySecret}, nil
}

// errorCodeOf maps a delivery failure to the task's error code; transient
// failures map to no code.
func errorCodeOf(err error) (task.ErrorCode, string) {
	switch objectstore.KindOf(err) {
	case objectstore.KindUnauthorized:
		return task.ErrUnauthorized, task.MessageUnauthorized + " " + err.Error()
	case objectstore.KindInvalidBucket:
		return task.ErrInvalidOssBucket, task.MessageInvalidOssBucket + " " + err.Error()
	}
	return task.ErrNone, err.Error()
}
