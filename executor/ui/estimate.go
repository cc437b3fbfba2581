package ui

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"
)

// RowCounter estimates how many rows a source table holds. The status page
// and `delivery-executor status` divide a full sync's delivered rows by it to
// draw a progress bar.
type RowCounter interface {
	CountRows(ctx context.Context, table string) (int64, error)
}

// TablestoreCounter counts a table's rows through the official SDK with
// GetRange, reading only the first primary key column. Tablestore has no
// cheap row count, so the count is a scan: the page runs it once per task,
// when someone first reads the status during the full sync, and shows it as an
// estimate (rows written during the scan may or may not be included).
type TablestoreCounter struct {
	client *tablestore.TableStoreClient
	// MaxRows stops counting past this many rows (the estimate is then
	// unknown): scanning a huge table only to draw a bar is not worth it.
	MaxRows int64
}

// NewTablestoreCounter returns a counter for one Tablestore instance.
func NewTablestoreCounter(endpoint, instance, accessKeyID, accessKeySecret string) (*TablestoreCounter, error) {
	if endpoint == "" || instance == "" {
		return nil, errors.New("ui: row counter needs an endpoint and an instance")
	}
	sdkCfg := tablestore.NewDefaultTableStoreConfig()
	sdkCfg.RetryTimes = 3
	sdkCfg.MaxRetryTime = 5 * time.Second
	return &TablestoreCounter{
		client:  tablestore.NewClientWithConfig(endpoint, instance, accessKeyID, accessKeySecret, "", sdkCfg),
		MaxRows: 20_000_000,
	}, nil
}

// ErrTooManyRows means the table is larger than the counter's MaxRows.
var ErrTooManyRows = errors.New("ui: table too large to count")

// CountRows implements RowCounter.
func (c *TablestoreCounter) CountRows(ctx context.Context, table string) (int64, error) {
	desc, err := c.client.DescribeTable(&tablestore.DescribeTableRequest{TableName: table})
	if err != nil {
		return 0, fmt.Errorf("describe table %q: %w", table, err)
	}
	if desc.TableMeta == nil || len(desc.TableMeta.SchemaEntry) == 0 {
		return 0, fmt.Errorf("describe table %q: no primary key in the answer", table)
	}
	start, end := new(tablestore.PrimaryKey), new(tablestore.PrimaryKey)
	for _, pk := range desc.TableMeta.SchemaEntry {
		start.AddPrimaryKeyColumnWithMinValue(*pk.Name)
		end.AddPrimaryKeyColumnWithMaxValue(*pk.Name)
	}
	firstKey := *desc.TableMeta.SchemaEntry[0].Name
	var rows int64
	for start != nil {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		resp, err := c.client.GetRange(&tablestore.GetRangeRequest{RangeRowQueryCriteria: &tablestore.RangeRowQueryCriteria{
			TableName:       table,
			StartPrimaryKey: start,
			EndPrimaryKey:   end,
			Direction:       tablestore.FORWARD,
			MaxVersion:      1,
			Limit:           5000,
			ColumnsToGet:    []string{firstKey},
		}})
		if err != nil {
			return 0, fmt.Errorf("count rows of %q: %w", table, err)
		}
		rows += int64(len(resp.Rows))
		if c.MaxRows > 0 && rows > c.MaxRows {
			return 0, ErrTooManyRows
		}
		start = resp.NextStartPrimaryKey
	}
	return rows, nil
}
