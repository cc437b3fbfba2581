package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"
	"github.com/parquet-go/parquet-go"
)

// The naive export is issue 17's baseline: the script a user writes in an
// afternoon instead of running a delivery task. One thread pages through the
// table with GetRange, 5,000 rows a call, writes the rows with parquet-go's
// generic writer from a Go struct (its default layout, snappy like the
// task), and puts an object every 64 MiB. It runs as its own process
// (`delivery-executor bench naive-export`), so that its CPU time is read
// from /proc exactly as the executor's is.
const (
	naivePageRows    = 5000
	naiveObjectBytes = 64 << 20
	naivePrefix      = "naive/"
)

// NaiveExportCommand is the bench subcommand that runs the naive export.
const NaiveExportCommand = "naive-export"

// naiveResult is what the naive export process reports on its "done" line.
type naiveResult struct {
	Rows    int   `json:"rows"`
	Objects int   `json:"objects"`
	Bytes   int64 `json:"bytes"`
}

// NaiveExportMain is `delivery-executor bench naive-export`: it connects,
// prints "ready", waits for a line on stdin, exports the table, prints
// "done <json>", and exits when stdin closes, so that the parent reads the
// process's CPU time before and after the export alone. Credentials come
// from ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET.
func NaiveExportMain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench "+NaiveExportCommand, flag.ContinueOnError)
	fs.SetOutput(stderr)
	tsURL := fs.String("tablestore", "", "Tablestore endpoint")
	ossURL := fs.String("oss", "", "OSS endpoint")
	instance := fs.String("instance", instanceName, "Tablestore instance")
	table := fs.String("table", "", "table to export")
	bucket := fs.String("bucket", "", "bucket to put the objects in")
	prefix := fs.String("prefix", naivePrefix, "object key prefix")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "naive export:", err)
		return 1
	}
	if *tsURL == "" || *ossURL == "" || *table == "" || *bucket == "" {
		return fail(errors.New("--tablestore, --oss, --table and --bucket are required"))
	}
	id, secret := os.Getenv("ALIBABA_CLOUD_ACCESS_KEY_ID"), os.Getenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET")
	ts := tablestore.NewClient(*tsURL, *instance, id, secret)
	ossClient, err := oss.New(*ossURL, id, secret)
	if err != nil {
		return fail(err)
	}
	b, err := ossClient.Bucket(*bucket)
	if err != nil {
		return fail(err)
	}
	fmt.Fprintln(stdout, "ready naive-export=1")
	in := bufio.NewScanner(stdin)
	if !in.Scan() {
		return fail(errors.New("stdin closed before the start line"))
	}
	stopProfile, err := startNaiveProfile()
	if err != nil {
		return fail(err)
	}
	res, err := naiveExport(ts, b, *table, *prefix)
	stopProfile()
	if err != nil {
		return fail(err)
	}
	raw, err := json.Marshal(res)
	if err != nil {
		return fail(err)
	}
	fmt.Fprintf(stdout, "done %s\n", raw)
	for in.Scan() { // wait for the parent to have read the CPU time
	}
	return 0
}

// envNaiveCPUProfile names a file for a CPU profile of the naive export (the
// executors and the local cloud serve theirs with DELIVERY_PPROF_LISTEN; this
// process lives only for the export).
const envNaiveCPUProfile = "DELIVERY_BENCH_NAIVE_CPUPROFILE"

func startNaiveProfile() (stop func(), err error) {
	path := os.Getenv(envNaiveCPUProfile)
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", envNaiveCPUProfile, err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("%s: %w", envNaiveCPUProfile, err)
	}
	return func() { pprof.StopCPUProfile(); _ = f.Close() }, nil
}

// naiveExport is the script itself, written plainly on purpose.
func naiveExport(ts *tablestore.TableStoreClient, b *oss.Bucket, table, prefix string) (naiveResult, error) {
	var res naiveResult
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[benchRow](&buf, parquet.Compression(&parquet.Snappy))
	pending := 0
	put := func() error {
		if err := w.Close(); err != nil {
			return fmt.Errorf("parquet close: %w", err)
		}
		key := fmt.Sprintf("%spart-%05d.parquet", prefix, res.Objects)
		if err := b.PutObject(key, bytes.NewReader(buf.Bytes())); err != nil {
			return fmt.Errorf("put %s: %w", key, err)
		}
		res.Objects++
		res.Bytes += int64(buf.Len())
		buf.Reset()
		w.Reset(&buf)
		pending = 0
		return nil
	}
	start := new(tablestore.PrimaryKey)
	start.AddPrimaryKeyColumnWithMinValue("id")
	end := new(tablestore.PrimaryKey)
	end.AddPrimaryKeyColumnWithMaxValue("id")
	rows := make([]benchRow, 0, naivePageRows)
	for start != nil {
		resp, err := ts.GetRange(&tablestore.GetRangeRequest{RangeRowQueryCriteria: &tablestore.RangeRowQueryCriteria{
			TableName: table, StartPrimaryKey: start, EndPrimaryKey: end,
			MaxVersion: 1, Direction: tablestore.FORWARD, Limit: naivePageRows,
		}})
		if err != nil {
			return res, fmt.Errorf("get range: %w", err)
		}
		rows = rows[:0]
		for _, r := range resp.Rows {
			row, err := benchRowFromTablestore(r)
			if err != nil {
				return res, err
			}
			rows = append(rows, row)
		}
		if _, err := w.Write(rows); err != nil {
			return res, fmt.Errorf("parquet write: %w", err)
		}
		// One row group per page, so that the buffer's length tells the
		// object's size.
		if err := w.Flush(); err != nil {
			return res, fmt.Errorf("parquet flush: %w", err)
		}
		res.Rows += len(rows)
		pending += len(rows)
		if buf.Len() >= naiveObjectBytes {
			if err := put(); err != nil {
				return res, err
			}
		}
		start = resp.NextStartPrimaryKey
	}
	if pending > 0 {
		if err := put(); err != nil {
			return res, err
		}
	}
	return res, nil
}

// benchRowFromTablestore reads a GetRange row back into the struct.
func benchRowFromTablestore(r *tablestore.Row) (benchRow, error) {
	var row benchRow
	if r.PrimaryKey == nil || len(r.PrimaryKey.PrimaryKeys) != 1 {
		return row, errors.New("row without its one primary key column")
	}
	id, ok := r.PrimaryKey.PrimaryKeys[0].Value.(string)
	if !ok {
		return row, fmt.Errorf("primary key id is %T, want a string", r.PrimaryKey.PrimaryKeys[0].Value)
	}
	row.ID = id
	for _, c := range r.Columns {
		var ok bool
		switch c.ColumnName {
		case "user":
			row.User, ok = c.Value.(string)
		case "city":
			row.City, ok = c.Value.(string)
		case "quantity":
			row.Quantity, ok = c.Value.(int64)
		case "amount":
			row.Amount, ok = c.Value.(float64)
		case "paid":
			row.Paid, ok = c.Value.(bool)
		case "event_time":
			row.EventTime, ok = c.Value.(int64)
		case "payload":
			row.Payload, ok = c.Value.([]byte)
		default:
			ok = true
		}
		if !ok {
			return row, fmt.Errorf("row %s: column %s is %T", id, c.ColumnName, c.Value)
		}
	}
	return row, nil
}

// naiveRun is the naive export's figures as the parent measured them.
type naiveRun struct {
	result     naiveResult
	elapsed    time.Duration
	cpuSeconds float64
	// cloudCPUSeconds is the local cloud's CPU time over the same span:
	// serving GetRange and storing the objects.
	cloudCPUSeconds float64
}

// runNaiveExport starts the naive export process against table and times
// its export from the start line to its done line.
func (r *runner) runNaiveExport(ctx context.Context, table string) (naiveRun, error) {
	env := []string{"ALIBABA_CLOUD_ACCESS_KEY_ID=" + accessKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET=" + accessKeySecret}
	p, err := launch(ctx, "naive export", r.cfg.Binary, filepath.Join(r.work, "naive-export.log"), env, true,
		[]string{"bench", NaiveExportCommand, "--tablestore", r.cloud.urls["tablestore"], "--oss", r.cloud.urls["oss"],
			"--instance", instanceName, "--table", table, "--bucket", bucketName, "--prefix", naivePrefix})
	if err != nil {
		return naiveRun{}, err
	}
	r.procs = append(r.procs, p)
	cpu, err := p.cpuMeter()
	if err != nil {
		return naiveRun{}, err
	}
	cloudCPU, err := r.cloud.cpuMeter()
	if err != nil {
		return naiveRun{}, err
	}
	start := time.Now()
	if _, err := fmt.Fprintln(p.stdin, "start"); err != nil {
		return naiveRun{}, fmt.Errorf("bench: start the naive export: %w", err)
	}
	var line string
	select {
	case line = <-p.lines:
	case err := <-p.exited:
		p.done = true
		return naiveRun{}, fmt.Errorf("bench: naive export exited (%w); log:\n%s", err, tail(p.logPath))
	case <-ctx.Done():
		return naiveRun{}, ctx.Err()
	case <-time.After(30 * time.Minute):
		return naiveRun{}, errors.New("bench: naive export not done in 30 minutes")
	}
	run := naiveRun{elapsed: time.Since(start)}
	if run.cpuSeconds, err = cpu.seconds(); err != nil {
		return run, err
	}
	if run.cloudCPUSeconds, err = cloudCPU.seconds(); err != nil {
		return run, err
	}
	raw, ok := strings.CutPrefix(line, "done ")
	if !ok {
		return run, fmt.Errorf("bench: naive export said %q, want its done line", line)
	}
	if err := json.Unmarshal([]byte(raw), &run.result); err != nil {
		return run, fmt.Errorf("bench: naive export's result: %w", err)
	}
	return run, p.finish()
}

// finish closes the child's stdin and waits for it to exit by itself.
func (p *process) finish() error {
	if p.stdin != nil {
		_ = p.stdin.Close()
	}
	select {
	case err := <-p.exited:
		p.done = true
		if err != nil {
			return fmt.Errorf("bench: %s exit: %w; log:\n%s", p.name, err, tail(p.logPath))
		}
		return nil
	case <-time.After(30 * time.Second):
		return p.stop()
	}
}

// getRangeScan reads the whole table with GetRange, 5,000 rows a call, in
// one thread through the SDK, which decodes every row; the reference for
// local_cloud.tunnel_vs_getrange. It returns the rows read and the local
// cloud's CPU time over the scan.
func (c *cloudProcess) getRangeScan(table string) (rows int, elapsed time.Duration, cloudCPUSeconds float64, err error) {
	cpu, err := c.cpuMeter()
	if err != nil {
		return 0, 0, 0, err
	}
	startTime := time.Now()
	start := new(tablestore.PrimaryKey)
	start.AddPrimaryKeyColumnWithMinValue("id")
	end := new(tablestore.PrimaryKey)
	end.AddPrimaryKeyColumnWithMaxValue("id")
	for start != nil {
		resp, err := c.tablestore.GetRange(&tablestore.GetRangeRequest{RangeRowQueryCriteria: &tablestore.RangeRowQueryCriteria{
			TableName: table, StartPrimaryKey: start, EndPrimaryKey: end,
			MaxVersion: 1, Direction: tablestore.FORWARD, Limit: naivePageRows,
		}})
		if err != nil {
			return rows, 0, 0, fmt.Errorf("bench: get range of %s: %w", table, err)
		}
		rows += len(resp.Rows)
		start = resp.NextStartPrimaryKey
	}
	elapsed = time.Since(startTime)
	cloudCPUSeconds, err = cpu.seconds()
	return rows, elapsed, cloudCPUSeconds, err
}
