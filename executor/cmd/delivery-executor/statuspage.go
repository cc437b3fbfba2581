package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	bolt "go.etcd.io/bbolt"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/kv"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/plainbuffer"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/storage"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/state"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/ui"
)

// newStatusPage builds the read-only status page served at /ui on the API
// listener. It reads the registry in process, estimates source table sizes
// with counter for the full-sync progress bar, and lists the latest objects
// through the region's OSS endpoint with each task's role.
func newStatusPage(registry state.Registry, counter ui.RowCounter, ossEndpoints map[string]string, log *slog.Logger) (*ui.Page, error) {
	page, err := ui.New(ui.Config{
		Registry:     registry,
		OSSEndpoints: ossEndpoints,
		Counter:      counter,
		Logger:       log,
	})
	if err != nil {
		return nil, fmt.Errorf("status page: %w", err)
	}
	return page, nil
}

// storageRowCounter counts a table of the embedded local Tablestore in
// process: the same answer as a GetRange count over the SDK
// (ui.TablestoreCounter, for real instances), without encoding every row for
// HTTP while the full sync reads the same table.
type storageRowCounter struct {
	store    *storage.Store
	instance string
}

func (c storageRowCounter) CountRows(ctx context.Context, table string) (int64, error) {
	if n, ok := c.countKeys(table); ok {
		return n, nil
	}
	return c.scan(ctx, table)
}

// countKeys counts the keys of the table's per-shard row buckets (bbolt
// walks its pages without decoding a row: milliseconds for a million rows).
// It relies on the storage's bucket layout (ots/tables/<instance>/<table>/
// s<shard>/rows); when that is not found it reports !ok and the caller scans.
func (c storageRowCounter) countKeys(table string) (rows int64, ok bool) {
	meta, err := c.store.DescribeTable(c.instance, table)
	if err != nil {
		return 0, false
	}
	err = c.store.KV().View(func(tx *bolt.Tx) error {
		for shard := range meta.Shards {
			b, err := kv.Bucket(tx, "ots/tables", c.instance, table, fmt.Sprintf("s%04d", shard), "rows")
			if err != nil {
				return err
			}
			if b == nil {
				return errors.New("no rows bucket")
			}
			rows += int64(b.Stats().KeyN)
		}
		return nil
	})
	return rows, err == nil && meta.Shards > 0
}

// scan counts the rows with range reads of the first primary key column.
func (c storageRowCounter) scan(ctx context.Context, table string) (int64, error) {
	meta, err := c.store.DescribeTable(c.instance, table)
	if err != nil {
		return 0, fmt.Errorf("describe table %q: %w", table, err)
	}
	start := make([]plainbuffer.Cell, len(meta.PrimaryKey))
	end := make([]plainbuffer.Cell, len(meta.PrimaryKey))
	for i, pk := range meta.PrimaryKey {
		start[i] = plainbuffer.Cell{Name: pk.Name, Value: plainbuffer.InfMin()}
		end[i] = plainbuffer.Cell{Name: pk.Name, Value: plainbuffer.InfMax()}
	}
	var rows int64
	for start != nil {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		res, err := c.store.GetRange(c.instance, storage.RangeRequest{
			Table: table, Start: start, End: end,
			ReadOptions: storage.ReadOptions{Columns: []string{meta.PrimaryKey[0].Name}, MaxVersions: 1},
		})
		if err != nil {
			return 0, fmt.Errorf("count rows of %q: %w", table, err)
		}
		rows += int64(len(res.Rows))
		start = res.NextStart
	}
	return rows, nil
}
