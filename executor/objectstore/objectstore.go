// Package objectstore writes and reads delivered objects through the official
// Alibaba Cloud OSS Go SDK. It is the only package of the executor that imports
// the SDK, so the rest of the code deals with three outcomes only: success, a
// classified permanent problem the user must fix (rejected credentials, a
// missing or foreign bucket), or a transient failure worth retrying.
package objectstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
)

// Kind classifies an object store failure by what has to happen next.
type Kind int

const (
	// KindTransient failures (network, 5xx, throttling) are retried as they are.
	KindTransient Kind = iota
	// KindUnauthorized means the credentials were rejected: the role must be fixed.
	KindUnauthorized
	// KindInvalidBucket means the bucket is missing or lives in another region.
	KindInvalidBucket
	// KindNotFound means the object does not exist (only for reads and heads).
	KindNotFound
	// KindExists means a create-only upload found the key taken.
	KindExists
)

func (k Kind) String() string {
	switch k {
	case KindUnauthorized:
		return "unauthorized"
	case KindInvalidBucket:
		return "invalid-bucket"
	case KindNotFound:
		return "not-found"
	case KindExists:
		return "exists"
	default:
		return "transient"
	}
}

// Error is a classified object store failure.
type Error struct {
	Kind   Kind
	Op     string
	Bucket string
	Key    string
	Err    error
}

func (e *Error) Error() string {
	target := e.Bucket
	if e.Key != "" {
		target += "/" + e.Key
	}
	return fmt.Sprintf("objectstore: %s oss://%s (%s): %v", e.Op, target, e.Kind, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the classification of err; errors that did not come from this
// package count as transient.
func KindOf(err error) Kind {
	var oe *Error
	if errors.As(err, &oe) {
		return oe.Kind
	}
	return KindTransient
}

// Credentials are the access key pair used to sign OSS requests.
type Credentials struct {
	AccessKeyID     string
	AccessKeySecret string
}

// Config describes how to reach one OSS endpoint (one region).
type Config struct {
	// Endpoint is the region's OSS endpoint, e.g. "http://127.0.0.1:8472" or
	// "https://oss-cn-hangzhou.aliyuncs.com".
	Endpoint string
	// Region is the region the endpoint serves, e.g. "cn-hangzhou"; buckets
	// whose location is another region are rejected as invalid.
	Region      string
	Credentials Credentials
	// MultipartThreshold is the object size from which uploads use multipart
	// upload; zero means DefaultMultipartThreshold.
	MultipartThreshold int64
	// PartSize is the size of each multipart part; zero means DefaultPartSize.
	PartSize int64
	// Timeout bounds each HTTP request; zero means the SDK's defaults.
	Timeout time.Duration
}

const (
	// DefaultMultipartThreshold: objects from this size up are uploaded in parts.
	DefaultMultipartThreshold = 32 << 20
	// DefaultPartSize is the size of each part of a multipart upload.
	DefaultPartSize = 8 << 20
	// minPartSize is OSS's lower bound for every part but the last.
	minPartSize = 100 << 10
)

// Client talks to one OSS endpoint with one set of credentials.
type Client struct {
	cfg    Config
	client *oss.Client
}

// New creates a client. It does not contact the endpoint.
func New(cfg Config) (*Client, error) {
	if cfg.Endpoint == "" {
		return nil, errors.New("objectstore: empty endpoint")
	}
	if cfg.MultipartThreshold <= 0 {
		cfg.MultipartThreshold = DefaultMultipartThreshold
	}
	if cfg.PartSize <= 0 {
		cfg.PartSize = DefaultPartSize
	}
	if cfg.PartSize < minPartSize {
		cfg.PartSize = minPartSize
	}
	opts := []oss.ClientOption{}
	if isLocalHost(cfg.Endpoint) {
		// localhost names are not IPs, so the SDK would otherwise put the
		// bucket into the host name.
		opts = append(opts, oss.ForcePathStyle(true))
	}
	if cfg.Timeout > 0 {
		secs := int64(cfg.Timeout / time.Second)
		if secs < 1 {
			secs = 1
		}
		opts = append(opts, oss.Timeout(secs, secs))
	}
	c, err := oss.New(cfg.Endpoint, cfg.Credentials.AccessKeyID, cfg.Credentials.AccessKeySecret, opts...)
	if err != nil {
		return nil, fmt.Errorf("objectstore: create client for %s: %w", cfg.Endpoint, err)
	}
	return &Client{cfg: cfg, client: c}, nil
}

func isLocalHost(endpoint string) bool {
	host := endpoint
	if i := strings.Index(host, "://"); i >= 0 {
		host = host[i+3:]
	}
	return host == "localhost" || strings.HasPrefix(host, "localhost:")
}

// CheckBucket verifies that the bucket exists, that the credentials may use
// it, and that it lives in the client's region.
func (c *Client) CheckBucket(ctx context.Context, bucket string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	info, err := c.client.GetBucketInfo(bucket)
	if err != nil {
		return classify("check bucket", bucket, "", err)
	}
	if c.cfg.Region != "" && !sameRegion(info.BucketInfo.Location, c.cfg.Region) {
		return &Error{Kind: KindInvalidBucket, Op: "check bucket", Bucket: bucket,
			Err: fmt.Errorf("bucket is in %q, the task's region is %q", info.BucketInfo.Location, c.cfg.Region)}
	}
	return nil
}

// sameRegion compares an OSS location ("oss-cn-hangzhou") with a region
// ("cn-hangzhou"), accepting either spelling on both sides.
func sameRegion(location, region string) bool {
	return strings.TrimPrefix(location, "oss-") == strings.TrimPrefix(region, "oss-")
}

// PutOptions qualify an upload.
type PutOptions struct {
	ContentType string
	// CreateOnly refuses to replace an existing object (the error is of
	// kind KindExists).
	CreateOnly bool
	// Metadata becomes x-oss-meta-* user metadata.
	Metadata map[string]string
}

// Put stores data under key, in one request or, from the multipart threshold
// on, in parts. The object becomes visible atomically when the call succeeds.
func (c *Client) Put(ctx context.Context, bucket, key string, data []byte, contentType string) error {
	return c.PutWith(ctx, bucket, key, data, PutOptions{ContentType: contentType})
}

// PutWith is Put with options.
func (c *Client) PutWith(ctx context.Context, bucket, key string, data []byte, po PutOptions) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b, err := c.client.Bucket(bucket)
	if err != nil {
		return classify("put", bucket, key, err)
	}
	opts := []oss.Option{}
	if po.ContentType != "" {
		opts = append(opts, oss.ContentType(po.ContentType))
	}
	if po.CreateOnly {
		opts = append(opts, oss.ForbidOverWrite(true))
	}
	for k, v := range po.Metadata {
		opts = append(opts, oss.Meta(k, v))
	}
	if int64(len(data)) < c.cfg.MultipartThreshold {
		if err := b.PutObject(key, bytes.NewReader(data), opts...); err != nil {
			return classify("put", bucket, key, err)
		}
		return nil
	}
	return c.putMultipart(ctx, b, bucket, key, data, opts)
}

func (c *Client) putMultipart(ctx context.Context, b *oss.Bucket, bucket, key string, data []byte, opts []oss.Option) error {
	imur, err := b.InitiateMultipartUpload(key, opts...)
	if err != nil {
		return classify("initiate multipart", bucket, key, err)
	}
	var parts []oss.UploadPart
	for offset, number := int64(0), 1; offset < int64(len(data)); number++ {
		if err := ctx.Err(); err != nil {
			_ = b.AbortMultipartUpload(imur)
			return err
		}
		end := min(offset+c.cfg.PartSize, int64(len(data)))
		part, err := b.UploadPart(imur, bytes.NewReader(data[offset:end]), end-offset, number)
		if err != nil {
			_ = b.AbortMultipartUpload(imur)
			return classify(fmt.Sprintf("upload part %d", number), bucket, key, err)
		}
		parts = append(parts, part)
		offset = end
	}
	if _, err := b.CompleteMultipartUpload(imur, parts); err != nil {
		_ = b.AbortMultipartUpload(imur)
		return classify("complete multipart", bucket, key, err)
	}
	return nil
}

// Exists reports whether the object exists.
func (c *Client) Exists(ctx context.Context, bucket, key string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	b, err := c.client.Bucket(bucket)
	if err != nil {
		return false, classify("head", bucket, key, err)
	}
	ok, err := b.IsObjectExist(key)
	if err != nil {
		return false, classify("head", bucket, key, err)
	}
	return ok, nil
}

// Metadata returns an object's user metadata (names lower-cased, without
// the x-oss-meta- prefix); ok is false when the object does not exist.
func (c *Client) Metadata(ctx context.Context, bucket, key string) (meta map[string]string, ok bool, err error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	b, err := c.client.Bucket(bucket)
	if err != nil {
		return nil, false, classify("head", bucket, key, err)
	}
	h, err := b.GetObjectDetailedMeta(key)
	if err != nil {
		if e := classify("head", bucket, key, err); KindOf(e) == KindNotFound {
			return nil, false, nil
		} else {
			return nil, false, e
		}
	}
	meta = map[string]string{}
	for name, values := range h {
		lower := strings.ToLower(name)
		if strings.HasPrefix(lower, "x-oss-meta-") && len(values) > 0 {
			meta[strings.TrimPrefix(lower, "x-oss-meta-")] = values[0]
		}
	}
	return meta, true, nil
}

// Delete removes the object; deleting a missing object succeeds.
func (c *Client) Delete(ctx context.Context, bucket, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b, err := c.client.Bucket(bucket)
	if err != nil {
		return classify("delete", bucket, key, err)
	}
	if err := b.DeleteObject(key); err != nil {
		if KindOf(classify("delete", bucket, key, err)) == KindNotFound {
			return nil
		}
		return classify("delete", bucket, key, err)
	}
	return nil
}

// Get reads a whole object.
func (c *Client) Get(ctx context.Context, bucket, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b, err := c.client.Bucket(bucket)
	if err != nil {
		return nil, classify("get", bucket, key, err)
	}
	rc, err := b.GetObject(key)
	if err != nil {
		return nil, classify("get", bucket, key, err)
	}
	defer func() { _ = rc.Close() }()
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, classify("get", bucket, key, err)
	}
	return data, nil
}

// List returns the keys under prefix, in key order.
func (c *Client) List(ctx context.Context, bucket, prefix string) ([]string, error) {
	b, err := c.client.Bucket(bucket)
	if err != nil {
		return nil, classify("list", bucket, prefix, err)
	}
	var keys []string
	token := ""
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		opts := []oss.Option{oss.Prefix(prefix), oss.MaxKeys(1000)}
		if token != "" {
			opts = append(opts, oss.ContinuationToken(token))
		}
		res, err := b.ListObjectsV2(opts...)
		if err != nil {
			return nil, classify("list", bucket, prefix, err)
		}
		for _, o := range res.Objects {
			keys = append(keys, o.Key)
		}
		if !res.IsTruncated || res.NextContinuationToken == "" {
			return keys, nil
		}
		token = res.NextContinuationToken
	}
}

// classify maps an SDK error to a Kind.
func classify(op, bucket, key string, err error) error {
	kind := KindTransient
	var se oss.ServiceError
	var sep *oss.ServiceError
	switch {
	case errors.As(err, &se):
		kind = kindOfService(se.Code, se.StatusCode)
	case errors.As(err, &sep):
		kind = kindOfService(sep.Code, sep.StatusCode)
	default:
		// The SDK reports some failures (e.g. HEAD without a body) as plain
		// errors carrying the status code in their text.
		msg := err.Error()
		switch {
		case strings.Contains(msg, "StatusCode=403"):
			kind = KindUnauthorized
		case strings.Contains(msg, "StatusCode=404"):
			kind = KindNotFound
		}
	}
	return &Error{Kind: kind, Op: op, Bucket: bucket, Key: key, Err: err}
}

func kindOfService(code string, status int) Kind {
	switch code {
	case "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "InvalidSecurityToken",
		"SecurityTokenExpired", "UserDisable":
		return KindUnauthorized
	case "NoSuchBucket", "InvalidBucketName", "AccessDeniedByBucketLocation":
		return KindInvalidBucket
	case "NoSuchKey", "NoSuchUpload":
		return KindNotFound
	case "FileAlreadyExists":
		return KindExists
	}
	switch status {
	case http.StatusForbidden, http.StatusUnauthorized:
		return KindUnauthorized
	case http.StatusNotFound:
		return KindNotFound
	}
	return KindTransient
}
