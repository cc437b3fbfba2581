package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel"
	"github.com/parquet-go/parquet-go"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/pipeline"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// fullSync runs the baselines, then a differential task's full sync on a
// fresh executor, and records the executor's peak RSS.
func (r *runner) fullSync(ctx context.Context) error {
	n := r.sizes.FullSyncRows
	fs := &r.report.FullSync
	fs.Rows, fs.Shards = n, r.sizes.Shards

	r.progress("baseline: raw SDK tunnel read of %d rows", n)
	cloudCPU, err := r.cloud.cpuMeter()
	if err != nil {
		return err
	}
	raw, err := r.cloud.rawTunnelRead(ctx, fullTable, "bench-raw", n)
	if err != nil {
		return err
	}
	fs.RawTunnelRowsPerSec = float64(n) / raw.Seconds()
	tunnelCPU, err := cloudCPU.seconds()
	if err != nil {
		return err
	}
	r.report.LocalCloud.TunnelCPUSecondsPerMillionRows = perMillionRows(tunnelCPU, n)

	r.progress("baseline: GetRange scan of %d rows, 5,000 a call", n)
	scanned, scan, scanCPU, err := r.cloud.getRangeScan(fullTable)
	if err != nil {
		return err
	}
	if scanned != n {
		return fmt.Errorf("bench: GetRange scan read %d rows of %d", scanned, n)
	}
	r.report.LocalCloud.GetRangeRowsPerSec = float64(n) / scan.Seconds()
	r.report.LocalCloud.GetRangeCPUSecondsPerMillionRows = perMillionRows(scanCPU, n)

	r.progress("baseline: naive export of %d rows (GetRange, parquet-go, PutObject every 64 MiB) in its own process", n)
	naive, err := r.runNaiveExport(ctx, fullTable)
	if err != nil {
		return err
	}
	if naive.result.Rows != n {
		return fmt.Errorf("bench: the naive export wrote %d rows of %d", naive.result.Rows, n)
	}
	fs.NaiveExportSeconds = naive.elapsed.Seconds()
	fs.NaiveExportRowsPerSec = float64(n) / naive.elapsed.Seconds()
	fs.NaiveExportObjects, fs.NaiveExportBytes = naive.result.Objects, naive.result.Bytes
	fs.NaiveCPUSecondsPerMillionRows = perMillionRows(naive.cpuSeconds, n)
	fs.NaiveCloudCPUSecondsPerMillionRows = perMillionRows(naive.cloudCPUSeconds, n)

	r.progress("baseline: parquet-go from memory, and the pipeline's conversion stage, on %d rows", n)
	conv, err := measureConversion(n, r.sizes.EventHours)
	if err != nil {
		return err
	}
	fs.RawParquetRowsPerSec = conv.rawParquetRowsPerSec
	fs.RawParquetDefaultEncodingRowsPerSec = conv.rawParquetDefaultRowsPerSec
	fs.ConversionRowsPerSec = conv.pipelineRowsPerSec

	ex, err := r.startExecutor(ctx, "executor-1")
	if err != nil {
		return err
	}
	r.exec = ex
	r.progress("full sync: differential task over %d rows, %d shards, %d hourly partitions", n, r.sizes.Shards, r.sizes.EventHours)
	spec := taskSpec("full", fullTable, ex.roleARN, 120*time.Second, r.sizes.TargetObjectSizeMB)
	execCPU, err := ex.cpuMeter()
	if err != nil {
		return err
	}
	if cloudCPU, err = r.cloud.cpuMeter(); err != nil {
		return err
	}
	start := time.Now()
	if _, err := ex.api.CreateTask(ctx, spec); err != nil {
		return fmt.Errorf("bench: create task: %w", err)
	}
	var leftInit, allRows time.Duration
	var execSeconds, cloudSeconds float64
	var cpuErr error
	st, err := ex.waitTask(ctx, fullTable, spec.Name, 20*time.Millisecond, 30*time.Minute, func(s task.Status) bool {
		if leftInit == 0 && s.Phase != task.PhaseInit {
			leftInit = time.Since(start)
		}
		if allRows == 0 && s.RowsDelivered >= int64(n) {
			allRows = time.Since(start)
			// CPU up to the last row, not the idle wait for phase INCR.
			var e1, e2 error
			execSeconds, e1 = execCPU.seconds()
			cloudSeconds, e2 = cloudCPU.seconds()
			cpuErr = errors.Join(e1, e2)
		}
		return s.Phase == task.PhaseIncr && s.RowsDelivered >= int64(n)
	})
	if err != nil {
		return err
	}
	if cpuErr != nil {
		return cpuErr
	}
	fs.ExecutorCPUSecondsPerMillionRows = perMillionRows(execSeconds, n)
	fs.CloudCPUSecondsPerMillionRows = perMillionRows(cloudSeconds, n)
	// The full sync is done when every row is in OSS; the switch of the
	// tunnel to its stream channels follows at the SDK worker's next
	// heartbeat, and is reported on its own.
	r.report.InitSeconds = leftInit.Seconds()
	fs.Seconds = allRows.Seconds()
	fs.SecondsUntilIncremental = time.Since(start).Seconds()
	fs.RowsPerSec = float64(n) / allRows.Seconds()
	fs.RowsDelivered = st.RowsDelivered
	if fs.RSS, err = ex.peakRSS(); err != nil {
		return err
	}
	r.report.MemoryGrowth.RowsSmall, r.report.MemoryGrowth.RSSSmall = n, fs.RSS

	objects, err := r.cloud.listObjects(bucketName, spec.Name+"/")
	if err != nil {
		return err
	}
	stats, err := objectStats(objects, spec.Name)
	if err != nil {
		return err
	}
	fs.Objects, fs.ObjectBytes, fs.Groups = stats.objects, stats.bytes, stats.groups
	fs.MinObjectBytesExcludingTails = stats.minExcludingTails
	fs.ObjectsBelow4MiBExcludingTails = stats.smallExcludingTails
	if err := ex.api.DeleteTask(ctx, fullTable, spec.Name); err != nil {
		return fmt.Errorf("bench: delete the full-sync task: %w", err)
	}
	return nil
}

// quietLogConfig silences the SDK tunnel worker's own logging.
var quietLogConfig = func() zap.Config {
	c := tunnel.DefaultLogConfig
	c.Level = zap.NewAtomicLevelAt(zap.FatalLevel)
	c.Sampling = nil
	return c
}()

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
func (discard) Sync() error                 { return nil }

// rawTunnelRead is the baseline: a BaseData tunnel consumed by the SDK's
// tunnel worker whose processor only counts the decoded records.
func (c *cloudProcess) rawTunnelRead(ctx context.Context, table, name string, want int) (time.Duration, error) {
	tc := tunnel.NewTunnelClient(c.urls["tablestore"], instanceName, accessKeyID, accessKeySecret)
	resp, err := tc.CreateTunnel(&tunnel.CreateTunnelRequest{TableName: table, TunnelName: name, Type: tunnel.TunnelTypeBaseData})
	if err != nil {
		return 0, fmt.Errorf("bench: create tunnel: %w", err)
	}
	defer func() {
		_, _ = tc.DeleteTunnel(&tunnel.DeleteTunnelRequest{TableName: table, TunnelName: name})
	}()
	var got atomic.Int64
	done := make(chan struct{})
	var once sync.Once
	start := time.Now()
	worker, err := tc.NewTunnelWorker(resp.TunnelId, &tunnel.TunnelWorkerConfig{
		// The executor's pipelines use the same heartbeat (pipeline.Config).
		HeartbeatInterval: 5 * time.Second, HeartbeatTimeout: 30 * time.Second,
		LogConfig: &quietLogConfig, LogWriteSyncer: zapcore.AddSync(discard{}),
		ProcessorFactory: &tunnel.SimpleProcessFactory{
			// Without a logger of its own the factory logs to
			// ./tunnelClient.log (tunnel.DefaultSyncer).
			Logger:     zap.NewNop(),
			CpInterval: time.Second,
			ProcessFunc: func(_ *tunnel.ChannelContext, records []*tunnel.Record) error {
				if got.Add(int64(len(records))) >= int64(want) {
					once.Do(func() { close(done) })
				}
				return nil
			},
		},
	})
	if err != nil {
		return 0, fmt.Errorf("bench: tunnel worker: %w", err)
	}
	defer worker.Shutdown()
	go func() { _ = worker.ConnectAndWorking() }()
	select {
	case <-done:
		return time.Since(start), nil
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-time.After(30 * time.Minute):
		return 0, fmt.Errorf("bench: raw tunnel read got %d of %d records in 30 minutes", got.Load(), want)
	}
}

// conversionRates are the in-memory figures of one run.
type conversionRates struct {
	// rawParquetRowsPerSec is parquet-go's generic writer from Go structs,
	// writing the file the task writes: the same columns, PLAIN encoding and
	// snappy.
	rawParquetRowsPerSec float64
	// rawParquetDefaultRowsPerSec is the same writer with parquet-go's own
	// choice of encodings (DELTA_LENGTH_BYTE_ARRAY for strings and
	// binaries), for reference.
	rawParquetDefaultRowsPerSec float64
	// pipelineRowsPerSec is the pipeline's conversion stage from tunnel
	// records: Mapper.MapTo, RowBlock.Append and Encoder.EncodeBlock.
	pipelineRowsPerSec float64
}

// plainRow is benchRow as the task writes it: every column optional (a
// pointer) and PLAIN-encoded, so that the baseline writes the same file as
// the pipeline.
type plainRow struct {
	ID        *string  `parquet:"id,plain"`
	User      *string  `parquet:"user,plain"`
	City      *string  `parquet:"city,plain"`
	Quantity  *int64   `parquet:"quantity,plain"`
	Amount    *float64 `parquet:"amount,plain"`
	Paid      *bool    `parquet:"paid,plain"`
	EventTime *int64   `parquet:"event_time,plain"`
	Payload   *[]byte  `parquet:"payload,plain"`
}

func (r benchRow) plain() plainRow {
	return plainRow{&r.ID, &r.User, &r.City, &r.Quantity, &r.Amount, &r.Paid, &r.EventTime, &r.Payload}
}

// conversionChunk is how many rows go into one Parquet file on both sides.
const conversionChunk = 20_000

// measureConversion times, on the same generated rows, parquet-go writing
// them from memory to memory (snappy, one file per chunk) and the pipeline's
// conversion stage (tunnel record → row → Parquet file of the same chunk).
// Only the conversion is timed, not building the inputs.
func measureConversion(n, hours int) (conversionRates, error) {
	cols := taskSpec("conv", fullTable, "", time.Second, 1)
	cols.ApplyDefaults()
	for _, c := range cols.Columns {
		if c.Encoding != task.EncodingPlain {
			return conversionRates{}, fmt.Errorf("bench: column %s is %s; the baseline writes PLAIN", c.Name, c.Encoding)
		}
	}
	mapper, err := pipeline.NewMapper(cols.Columns, cols.EventTimeColumn)
	if err != nil {
		return conversionRates{}, err
	}
	encoder, err := pipeline.NewEncoder(cols.Columns, cols.Compression)
	if err != nil {
		return conversionRates{}, err
	}
	base := eventBase(hours)
	var buf bytes.Buffer
	values := make([]any, mapper.Columns())
	pipelineChunk := func(records []*tunnel.Record) error {
		_, err := convertRecords(mapper, encoder, values, records)
		return err
	}
	chunk := func(lo, hi int) (rows []benchRow, plain []plainRow, records []*tunnel.Record) {
		rows, plain, records = make([]benchRow, 0, hi-lo), make([]plainRow, 0, hi-lo), make([]*tunnel.Record, 0, hi-lo)
		for i := lo; i < hi; i++ {
			row := makeRow(i, base, hours)
			rows = append(rows, row)
			plain = append(plain, row.plain())
			records = append(records, row.record())
		}
		return rows, plain, records
	}
	// One untimed round first: parquet-go builds its writer for a Go type
	// by reflection on first use, which would otherwise weigh on a small
	// run (--quick) and not on a large one.
	rows, plain, records := chunk(0, min(n, 1000))
	if err := errors.Join(writeGeneric(&buf, plain), writeGeneric(&buf, rows), pipelineChunk(records)); err != nil {
		return conversionRates{}, err
	}
	var rawTime, rawDefaultTime, pipeTime time.Duration
	for lo := 0; lo < n; lo += conversionChunk {
		rows, plain, records := chunk(lo, min(lo+conversionChunk, n))

		start := time.Now()
		if err := writeGeneric(&buf, plain); err != nil {
			return conversionRates{}, err
		}
		rawTime += time.Since(start)

		start = time.Now()
		if err := writeGeneric(&buf, rows); err != nil {
			return conversionRates{}, err
		}
		rawDefaultTime += time.Since(start)

		start = time.Now()
		if err := pipelineChunk(records); err != nil {
			return conversionRates{}, err
		}
		pipeTime += time.Since(start)
	}
	return conversionRates{
		rawParquetRowsPerSec:        float64(n) / rawTime.Seconds(),
		rawParquetDefaultRowsPerSec: float64(n) / rawDefaultTime.Seconds(),
		pipelineRowsPerSec:          float64(n) / pipeTime.Seconds(),
	}, nil
}

// convertRecords is the pipeline's conversion stage on one chunk, as the
// writer runs it: each record mapped into values, copied into a block, and
// the block encoded as one Parquet file.
func convertRecords(mapper *pipeline.Mapper, encoder *pipeline.Encoder, values []any, records []*tunnel.Record) ([]byte, error) {
	now := time.Now()
	block := encoder.NewBlock()
	defer block.Release()
	for _, rec := range records {
		m := mapper.MapTo(values, rec, now)
		if m.Dirty != nil {
			return nil, fmt.Errorf("bench: generated row is dirty: %s: %s", m.Dirty.Column, m.Dirty.Reason)
		}
		if _, err := block.Append(m.Row.Values); err != nil {
			return nil, fmt.Errorf("bench: pipeline block: %w", err)
		}
	}
	data, err := encoder.EncodeBlock(block)
	if err != nil {
		return nil, fmt.Errorf("bench: pipeline encode: %w", err)
	}
	return data, nil
}

// writeGeneric writes rows as one snappy Parquet file into buf with
// parquet-go's generic writer.
func writeGeneric[T any](buf *bytes.Buffer, rows []T) error {
	buf.Reset()
	w := parquet.NewGenericWriter[T](buf, parquet.Compression(&parquet.Snappy))
	if _, err := w.Write(rows); err != nil {
		return fmt.Errorf("bench: parquet-go write: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("bench: parquet-go close: %w", err)
	}
	return nil
}

// record is the row as the tunnel SDK hands it to a processor.
func (r benchRow) record() *tunnel.Record {
	ts := time.Now().UnixMilli()
	col := func(name string, v any) *tunnel.RecordColumn {
		return &tunnel.RecordColumn{Type: tunnel.RCT_Put, Name: &name, Value: v, Timestamp: &ts}
	}
	return &tunnel.Record{
		Type:       tunnel.AT_Put,
		Timestamp:  ts * 1000,
		PrimaryKey: &tunnel.PrimaryKey{PrimaryKeys: []*tunnel.PrimaryKeyColumn{{ColumnName: "id", Value: r.ID}}},
		Columns: []*tunnel.RecordColumn{
			col("user", r.User), col("city", r.City), col("quantity", r.Quantity), col("amount", r.Amount),
			col("paid", r.Paid), col("event_time", r.EventTime), col("payload", r.Payload),
		},
	}
}

// objectInfo is one listed object.
type objectInfo struct {
	key  string
	size int64
}

// listObjects lists every object under prefix.
func (c *cloudProcess) listObjects(bucket, prefix string) ([]objectInfo, error) {
	b, err := c.oss.Bucket(bucket)
	if err != nil {
		return nil, fmt.Errorf("bench: bucket: %w", err)
	}
	var out []objectInfo
	token := ""
	for {
		opts := []oss.Option{oss.Prefix(prefix), oss.MaxKeys(1000)}
		if token != "" {
			opts = append(opts, oss.ContinuationToken(token))
		}
		res, err := b.ListObjectsV2(opts...)
		if err != nil {
			return nil, fmt.Errorf("bench: list objects under %q: %w", prefix, err)
		}
		for _, o := range res.Objects {
			out = append(out, objectInfo{key: o.Key, size: o.Size})
		}
		if !res.IsTruncated {
			return out, nil
		}
		token = res.NextContinuationToken
	}
}

// objectName is a delivered object's key split into its parts:
// <partition>/<task>_<ConcurrentID>_<partition with _>__<SequenceID>.
type objectName struct {
	partition    string
	concurrentID int
	sequenceID   int64
}

func parseObjectKey(key, taskName string) (objectName, error) {
	slash := strings.LastIndexByte(key, '/')
	if slash < 0 {
		return objectName{}, fmt.Errorf("bench: object key %q has no folder", key)
	}
	partition, base := key[:slash], key[slash+1:]
	rest, ok := strings.CutPrefix(base, taskName+"_")
	if !ok {
		return objectName{}, fmt.Errorf("bench: object %q is not named after task %q", key, taskName)
	}
	cid, rest, ok := strings.Cut(rest, "_")
	if !ok {
		return objectName{}, fmt.Errorf("bench: object %q lacks a ConcurrentID", key)
	}
	sep := strings.LastIndex(rest, "__")
	if sep < 0 {
		return objectName{}, fmt.Errorf("bench: object %q lacks a SequenceID", key)
	}
	concurrentID, err1 := strconv.Atoi(cid)
	sequenceID, err2 := strconv.ParseInt(rest[sep+2:], 10, 64)
	if err1 != nil || err2 != nil {
		return objectName{}, fmt.Errorf("bench: object %q: ConcurrentID or SequenceID is not a number", key)
	}
	return objectName{partition: partition, concurrentID: concurrentID, sequenceID: sequenceID}, nil
}

// objectSizeStats summarises a task's objects. The last object of each
// (ConcurrentID, partition) is the tail that closes its group, and may be
// small by nature; every other object should be at least the recommended
// size.
type objectSizeStats struct {
	objects, groups     int
	bytes               int64
	minExcludingTails   *int64 // nil when every group holds one object
	smallExcludingTails int    // non-tail objects under 4 MiB
}

const recommendedObjectBytes = 4 << 20

func objectStats(objects []objectInfo, taskName string) (objectSizeStats, error) {
	type group struct {
		partition string
		cid       int
	}
	type sized struct {
		seq  int64
		size int64
	}
	groups := map[group][]sized{}
	var st objectSizeStats
	for _, o := range objects {
		name, err := parseObjectKey(o.key, taskName)
		if err != nil {
			return st, err
		}
		g := group{name.partition, name.concurrentID}
		groups[g] = append(groups[g], sized{name.sequenceID, o.size})
		st.objects++
		st.bytes += o.size
	}
	st.groups = len(groups)
	for _, objs := range groups {
		sort.Slice(objs, func(i, j int) bool { return objs[i].seq < objs[j].seq })
		for _, o := range objs[:len(objs)-1] {
			if st.minExcludingTails == nil || o.size < *st.minExcludingTails {
				size := o.size
				st.minExcludingTails = &size
			}
			if o.size < recommendedObjectBytes {
				st.smallExcludingTails++
			}
		}
	}
	return st, nil
}
