package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/bulkload"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// Tables of a run: the full sync's, the latency scenario's, the write
// ceiling's (no task reads it) and the memory scenario's large one.
const (
	fullTable    = "bench_full"
	latencyTable = "bench_latency"
	ceilingTable = "bench_ceiling"
	largeTable   = "bench_large"
)

// Load batches: the service's limit per BatchWriteRow is 200 rows.
const (
	loadBatchRows = 200
	loadWriters   = 8
	payloadBytes  = 128
)

// benchRow is one generated row: 8 columns of about 200 bytes of values.
type benchRow struct {
	ID        string  `parquet:"id"`
	User      string  `parquet:"user"`
	City      string  `parquet:"city"`
	Quantity  int64   `parquet:"quantity"`
	Amount    float64 `parquet:"amount"`
	Paid      bool    `parquet:"paid"`
	EventTime int64   `parquet:"event_time"`
	Payload   []byte  `parquet:"payload"`
}

var cities = []string{"Hangzhou", "Shanghai", "Beijing", "Shenzhen", "Singapore", "Tokyo", "Frankfurt", "London"}

// makeRow builds row i of a table deterministically: every scenario and
// baseline sees the same data. Event times spread over hours hours from
// base, so the rows fall into that many hourly partitions.
func makeRow(i int, base time.Time, hours int) benchRow {
	rng := rand.New(rand.NewPCG(uint64(i), 0x6265_6e63_68))
	payload := make([]byte, payloadBytes)
	for j := 0; j < payloadBytes; j += 8 {
		v := rng.Uint64()
		for k := 0; k < 8 && j+k < payloadBytes; k++ {
			payload[j+k] = byte(v >> (8 * k))
		}
	}
	return benchRow{
		ID:        rowID(i),
		User:      fmt.Sprintf("user-%016x", rng.Uint64()),
		City:      cities[rng.IntN(len(cities))],
		Quantity:  1 + rng.Int64N(50),
		Amount:    float64(rng.IntN(10_000_00)) / 100,
		Paid:      rng.IntN(10) != 0,
		EventTime: base.Unix() + rng.Int64N(int64(hours)*3600),
		Payload:   payload,
	}
}

// rowID is the primary key of row i; the local cloud shards by its hash.
func rowID(i int) string { return fmt.Sprintf("r%09d", i) }

// parseRowID is rowID's inverse (-1 when s is not a row id).
func parseRowID(s string) int { return parseRowIDBytes([]byte(s)) }

// parseRowIDBytes is parseRowID of an id's bytes.
func parseRowIDBytes(s []byte) int {
	if len(s) != 10 || s[0] != 'r' {
		return -1
	}
	n := 0
	for _, c := range s[1:] {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// valueBytes is the row's size as Tablestore counts data: its values.
func (r benchRow) valueBytes() int {
	return len(r.ID) + len(r.User) + len(r.City) + 8 + 8 + 1 + 8 + len(r.Payload)
}

func (r benchRow) change(table string) *tablestore.PutRowChange {
	pk := new(tablestore.PrimaryKey)
	pk.AddPrimaryKeyColumn("id", r.ID)
	c := &tablestore.PutRowChange{TableName: table, PrimaryKey: pk}
	c.AddColumn("user", r.User)
	c.AddColumn("city", r.City)
	c.AddColumn("quantity", r.Quantity)
	c.AddColumn("amount", r.Amount)
	c.AddColumn("paid", r.Paid)
	c.AddColumn("event_time", r.EventTime)
	c.AddColumn("payload", r.Payload)
	c.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
	return c
}

// columns are the tasks' manual columns (all 8, in the row's order).
func columns() []task.Column {
	return []task.Column{
		{Source: "id", Type: task.TypeUTF8},
		{Source: "user", Type: task.TypeUTF8},
		{Source: "city", Type: task.TypeUTF8},
		{Source: "quantity", Type: task.TypeInt64},
		{Source: "amount", Type: task.TypeDouble},
		{Source: "paid", Type: task.TypeBool},
		{Source: "event_time", Type: task.TypeInt64},
		{Source: "payload", Type: task.TypeBinary},
	}
}

// taskSpec is a differential task over table with hourly partitions from the
// event_time column.
func taskSpec(name, table, roleARN string, flush time.Duration, targetMB int) task.Spec {
	return task.Spec{
		Name: name, Table: table, Region: regionName, Bucket: bucketName,
		Prefix:               name + "/dt=$yyyy-$MM-$dd/hour=$HH",
		SyncMode:             task.SyncDifferential,
		RoleARN:              roleARN,
		SchemaMode:           task.SchemaManual,
		Columns:              columns(),
		EventTimeColumn:      &task.EventTimeColumn{Name: "event_time", Format: task.TimeUnix},
		FlushIntervalSeconds: int(flush / time.Second),
		TargetObjectSizeMB:   targetMB,
	}
}

// cloudProcess is the local cloud process and SDK clients of its endpoints.
type cloudProcess struct {
	*process
	tablestore *tablestore.TableStoreClient
	oss        *oss.Client
}

func newCloudProcess(p *process) (*cloudProcess, error) {
	ossClient, err := oss.New(p.urls["oss"], accessKeyID, accessKeySecret)
	if err != nil {
		return nil, fmt.Errorf("bench: oss client: %w", err)
	}
	return &cloudProcess{
		process:    p,
		tablestore: tablestore.NewClient(p.urls["tablestore"], instanceName, accessKeyID, accessKeySecret),
		oss:        ossClient,
	}, nil
}

func (c *cloudProcess) createTable(name string) error {
	meta := &tablestore.TableMeta{TableName: name}
	meta.AddPrimaryKeyColumn("id", tablestore.PrimaryKeyType_STRING)
	_, err := c.tablestore.CreateTable(&tablestore.CreateTableRequest{
		TableMeta:          meta,
		TableOption:        &tablestore.TableOption{TimeToAlive: -1, MaxVersion: 1},
		ReservedThroughput: &tablestore.ReservedThroughput{},
	})
	if err != nil {
		return fmt.Errorf("bench: create table %q: %w", name, err)
	}
	return nil
}

func (c *cloudProcess) createBucket(name string) error {
	if err := c.oss.CreateBucket(name); err != nil {
		return fmt.Errorf("bench: create bucket %q: %w", name, err)
	}
	return nil
}

// LoadResult describes a data load.
type LoadResult struct {
	Rows         int     `json:"rows"`
	Seconds      float64 `json:"seconds"`
	RowsPerSec   float64 `json:"rows_per_sec"`
	MeanRowBytes float64 `json:"mean_row_bytes"`
}

// eventBase is where the generated event times start: hours ago, at an hour
// boundary, so that a run's partitions are exactly EventHours folders.
func eventBase(hours int) time.Time {
	return time.Now().UTC().Truncate(time.Hour).Add(-time.Duration(hours) * time.Hour)
}

// load writes rows [from, from+n) into table with parallel BatchWriteRow
// calls of 200 rows.
func (c *cloudProcess) load(ctx context.Context, table string, from, n, hours int) (LoadResult, error) {
	base := eventBase(hours)
	start := time.Now()
	var valueBytes atomic.Int64
	err := bulkload.Load(ctx, c.tablestore, table, from, n, loadBatchRows, loadWriters, func(i int) tablestore.RowChange {
		row := makeRow(i, base, hours)
		valueBytes.Add(int64(row.valueBytes()))
		return row.change(table)
	})
	if err != nil {
		return LoadResult{}, fmt.Errorf("bench: load %s: %w", table, err)
	}
	elapsed := time.Since(start).Seconds()
	return LoadResult{Rows: n, Seconds: elapsed, RowsPerSec: float64(n) / elapsed,
		MeanRowBytes: float64(valueBytes.Load()) / float64(n)}, nil
}
