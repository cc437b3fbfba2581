package objectstore

import (
	"context"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
)

// ObjectInfo describes one stored object as a listing returns it.
type ObjectInfo struct {
	Key          string
	Size         int64
	LastModified time.Time
}

// ListInfo returns up to limit objects under prefix, in key order, with their
// sizes and modification times; truncated is true when more objects exist.
// The status page uses it to show the latest objects a task wrote, so it is
// bounded: a lake with millions of objects must not be listed in full.
func (c *Client) ListInfo(ctx context.Context, bucket, prefix string, limit int) (objects []ObjectInfo, truncated bool, err error) {
	b, err := c.client.Bucket(bucket)
	if err != nil {
		return nil, false, classify("list", bucket, prefix, err)
	}
	token := ""
	for len(objects) < limit {
		if err := ctx.Err(); err != nil {
			return nil, false, err
		}
		opts := []oss.Option{oss.Prefix(prefix), oss.MaxKeys(min(1000, limit-len(objects)))}
		if token != "" {
			opts = append(opts, oss.ContinuationToken(token))
		}
		res, err := b.ListObjectsV2(opts...)
		if err != nil {
			return nil, false, classify("list", bucket, prefix, err)
		}
		for _, o := range res.Objects {
			objects = append(objects, ObjectInfo{Key: o.Key, Size: o.Size, LastModified: o.LastModified})
		}
		if !res.IsTruncated || res.NextContinuationToken == "" {
			return objects, false, nil
		}
		token = res.NextContinuationToken
	}
	return objects, true, nil
}

// ListFolders returns the folders directly under prefix (which should end in
// "/"), in key order, each with its trailing "/": a delimiter listing, so the
// cost is the number of folders, not of the objects inside them.
func (c *Client) ListFolders(ctx context.Context, bucket, prefix string) ([]string, error) {
	b, err := c.client.Bucket(bucket)
	if err != nil {
		return nil, classify("list", bucket, prefix, err)
	}
	var folders []string
	token := ""
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		opts := []oss.Option{oss.Prefix(prefix), oss.Delimiter("/"), oss.MaxKeys(1000)}
		if token != "" {
			opts = append(opts, oss.ContinuationToken(token))
		}
		res, err := b.ListObjectsV2(opts...)
		if err != nil {
			return nil, classify("list", bucket, prefix, err)
		}
		folders = append(folders, res.CommonPrefixes...)
		if !res.IsTruncated || res.NextContinuationToken == "" {
			return folders, nil
		}
		token = res.NextContinuationToken
	}
}
