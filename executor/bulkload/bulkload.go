// Package bulkload writes many rows into a Tablestore table through the
// official SDK: parallel BatchWriteRow calls, each retrying the rows the
// service did not take. The demo and the benchmarks load their sample tables
// with it.
package bulkload

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"
)

// MaxBatchRows is the service's limit of rows per BatchWriteRow call.
const MaxBatchRows = 200

// Load writes the rows row(i) for i in [from, from+n) into table, in batches
// of batchRows (at most MaxBatchRows) sent by writers goroutines. It stops at
// the first batch that fails for good, or when ctx ends.
func Load(ctx context.Context, c *tablestore.TableStoreClient, table string, from, n, batchRows, writers int,
	row func(i int) tablestore.RowChange) error {
	if batchRows < 1 || batchRows > MaxBatchRows || writers < 1 {
		return fmt.Errorf("bulkload: batch rows %d (1-%d) and writers %d (>= 1) out of range", batchRows, MaxBatchRows, writers)
	}
	batches := make(chan [2]int)
	errs := make(chan error, writers)
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				req := &tablestore.BatchWriteRowRequest{}
				for i := b[0]; i < b[1]; i++ {
					req.AddRowChange(row(i))
				}
				if err := WriteBatch(c, table, req); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var err error
feed:
	for lo := from; lo < from+n; lo += batchRows {
		select {
		case batches <- [2]int{lo, min(lo+batchRows, from+n)}:
		case err = <-errs:
			break feed
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(batches)
	wg.Wait()
	close(errs)
	if err == nil {
		err = <-errs
	}
	return err
}

// WriteBatch sends one batch of rows of table and retries, with a growing
// pause, the rows the service did not take.
func WriteBatch(c *tablestore.TableStoreClient, table string, req *tablestore.BatchWriteRowRequest) error {
	for attempt := 0; ; attempt++ {
		resp, err := c.BatchWriteRow(req)
		if err != nil {
			return fmt.Errorf("batch write: %w", err)
		}
		retry := &tablestore.BatchWriteRowRequest{}
		var lastErr error
		for _, r := range resp.TableToRowsResult[table] {
			if !r.IsSucceed {
				retry.AddRowChange(req.RowChangesGroupByTable[table][r.Index])
				lastErr = fmt.Errorf("%s: %s", r.Error.Code, r.Error.Message)
			}
		}
		if lastErr == nil {
			return nil
		}
		if attempt >= 5 {
			return fmt.Errorf("batch write: rows still failing after retries: %w", lastErr)
		}
		time.Sleep(time.Duration(attempt+1) * 100 * time.Millisecond)
		req = retry
	}
}
