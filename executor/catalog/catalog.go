// Package catalog is what the executor's control plane needs to know about
// the source Tablestore instance: whether a table exists, its primary key and
// defined columns, and a sample of its rows to infer an automatic schema.
// Tablestore talks to the instance through the official Go SDK.
package catalog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// ErrTableNotFound is returned (wrapped) for a table the instance lacks.
var ErrTableNotFound = errors.New("catalog: table not found")

// Column is a source column with its delivered type.
type Column struct {
	Name string
	Type task.ColumnType
}

// Table describes a source table.
type Table struct {
	Name       string
	PrimaryKey []Column // in key order
	Defined    []Column // defined (typed) attribute columns, in table order
}

// Value is one attribute of a sampled row, typed as delivered (nil when the
// SDK returned a type the project does not deliver).
type Value struct {
	Column string
	Type   task.ColumnType
}

// Catalog answers questions about the source instance.
type Catalog interface {
	// DescribeTable returns the table's schema; ErrTableNotFound (wrapped)
	// when the instance has no such table.
	DescribeTable(ctx context.Context, table string) (Table, error)
	// SampleAttributes returns the attribute columns of up to limit rows
	// read from the start of the table, row by row, each with the type of
	// its value.
	SampleAttributes(ctx context.Context, table string, limit int) ([][]Value, error)
}

// Config locates the source instance.
type Config struct {
	Endpoint        string // e.g. http://127.0.0.1:8471
	Instance        string
	AccessKeyID     string
	AccessKeySecret string
	// Timeout bounds one call including the SDK's own retries (default 10 s).
	Timeout time.Duration
}

// Tablestore is the Catalog of a Tablestore instance.
type Tablestore struct {
	client  *tablestore.TableStoreClient
	timeout time.Duration
}

var _ Catalog = (*Tablestore)(nil)

// NewTablestore returns the catalog of the configured instance.
func NewTablestore(cfg Config) (*Tablestore, error) {
	if cfg.Endpoint == "" || cfg.Instance == "" {
		return nil, errors.New("catalog: endpoint and instance are required")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	sdkCfg := tablestore.NewDefaultTableStoreConfig()
	// Answers from the control plane must come quickly; the SDK's default
	// is ten retries over many seconds.
	sdkCfg.RetryTimes = 3
	sdkCfg.MaxRetryTime = cfg.Timeout / 2
	sdkCfg.HTTPTimeout.ConnectionTimeout = 3 * time.Second
	sdkCfg.HTTPTimeout.RequestTimeout = cfg.Timeout / 2
	client := tablestore.NewClientWithConfig(cfg.Endpoint, cfg.Instance, cfg.AccessKeyID, cfg.AccessKeySecret, "", sdkCfg)
	return &Tablestore{client: client, timeout: cfg.Timeout}, nil
}

// call runs an SDK call (which takes no context) so that the caller returns
// when ctx ends; the call itself is bounded by the SDK's timeouts.
func call[T any](ctx context.Context, timeout time.Duration, fn func() (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := fn()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

func isNotExist(err error) bool {
	var oe *tablestore.OtsError
	return errors.As(err, &oe) && oe.Code == "OTSObjectNotExist"
}

// DescribeTable implements Catalog.
func (c *Tablestore) DescribeTable(ctx context.Context, table string) (Table, error) {
	resp, err := call(ctx, c.timeout, func() (*tablestore.DescribeTableResponse, error) {
		return c.client.DescribeTable(&tablestore.DescribeTableRequest{TableName: table})
	})
	if err != nil {
		if isNotExist(err) {
			return Table{}, fmt.Errorf("table %q: %w", table, ErrTableNotFound)
		}
		return Table{}, fmt.Errorf("catalog: describe table %q: %w", table, err)
	}
	if resp == nil || resp.TableMeta == nil {
		return Table{}, fmt.Errorf("catalog: describe table %q: answer without table meta", table)
	}
	t := Table{Name: resp.TableMeta.TableName}
	for _, pk := range resp.TableMeta.SchemaEntry {
		if pk == nil || pk.Name == nil || pk.Type == nil {
			return Table{}, fmt.Errorf("catalog: describe table %q: incomplete primary key schema", table)
		}
		typ, ok := primaryKeyType(*pk.Type)
		if !ok {
			return Table{}, fmt.Errorf("catalog: table %q: primary key %q has unknown type %d", table, *pk.Name, *pk.Type)
		}
		t.PrimaryKey = append(t.PrimaryKey, Column{Name: *pk.Name, Type: typ})
	}
	for _, dc := range resp.TableMeta.DefinedColumns {
		if dc == nil {
			continue
		}
		typ, ok := definedColumnType(dc.ColumnType)
		if !ok {
			return Table{}, fmt.Errorf("catalog: table %q: defined column %q has unknown type %d", table, dc.Name, dc.ColumnType)
		}
		t.Defined = append(t.Defined, Column{Name: dc.Name, Type: typ})
	}
	return t, nil
}

func primaryKeyType(t tablestore.PrimaryKeyType) (task.ColumnType, bool) {
	switch t {
	case tablestore.PrimaryKeyType_INTEGER:
		return task.TypeInt64, true
	case tablestore.PrimaryKeyType_STRING:
		return task.TypeUTF8, true
	case tablestore.PrimaryKeyType_BINARY:
		return task.TypeBinary, true
	}
	return "", false
}

func definedColumnType(t tablestore.DefinedColumnType) (task.ColumnType, bool) {
	switch t {
	case tablestore.DefinedColumn_INTEGER:
		return task.TypeInt64, true
	case tablestore.DefinedColumn_DOUBLE:
		return task.TypeDouble, true
	case tablestore.DefinedColumn_BOOLEAN:
		return task.TypeBool, true
	case tablestore.DefinedColumn_STRING:
		return task.TypeUTF8, true
	case tablestore.DefinedColumn_BINARY:
		return task.TypeBinary, true
	}
	return "", false
}

// ValueType returns the delivered type of a value as the SDK decodes it.
func ValueType(v any) (task.ColumnType, bool) {
	switch v.(type) {
	case int64:
		return task.TypeInt64, true
	case float64:
		return task.TypeDouble, true
	case bool:
		return task.TypeBool, true
	case string:
		return task.TypeUTF8, true
	case []byte:
		return task.TypeBinary, true
	}
	return "", false
}

// SampleAttributes implements Catalog: one GetRange from the table's first
// row, latest versions only.
func (c *Tablestore) SampleAttributes(ctx context.Context, table string, limit int) ([][]Value, error) {
	desc, err := c.DescribeTable(ctx, table)
	if err != nil {
		return nil, err
	}
	start, end := new(tablestore.PrimaryKey), new(tablestore.PrimaryKey)
	for _, pk := range desc.PrimaryKey {
		start.AddPrimaryKeyColumnWithMinValue(pk.Name)
		end.AddPrimaryKeyColumnWithMaxValue(pk.Name)
	}
	var rows [][]Value
	for len(rows) < limit && start != nil {
		criteria := &tablestore.RangeRowQueryCriteria{
			TableName:       table,
			StartPrimaryKey: start,
			EndPrimaryKey:   end,
			Direction:       tablestore.FORWARD,
			MaxVersion:      1,
			Limit:           int32(min(limit-len(rows), 5000)),
		}
		resp, err := call(ctx, c.timeout, func() (*tablestore.GetRangeResponse, error) {
			return c.client.GetRange(&tablestore.GetRangeRequest{RangeRowQueryCriteria: criteria})
		})
		if err != nil {
			if isNotExist(err) {
				return nil, fmt.Errorf("table %q: %w", table, ErrTableNotFound)
			}
			return nil, fmt.Errorf("catalog: sample rows of %q: %w", table, err)
		}
		for _, row := range resp.Rows {
			if row == nil {
				continue
			}
			values := make([]Value, 0, len(row.Columns))
			for _, col := range row.Columns {
				if col == nil || col.Value == nil {
					continue
				}
				typ, _ := ValueType(col.Value)
				values = append(values, Value{Column: col.ColumnName, Type: typ})
			}
			rows = append(rows, values)
		}
		if len(resp.Rows) == 0 {
			break
		}
		start = resp.NextStartPrimaryKey
	}
	return rows, nil
}

// DefaultSampleRows is how many rows ResolveAutoSchema reads.
const DefaultSampleRows = 1000

// ResolveAutoSchema returns the automatic schema of a table: its primary key
// columns with their types, then its defined columns, then the attribute
// columns seen in a sample of up to sampleRows rows that are neither, in the
// order first seen, each typed by its first value (values of types the
// project does not deliver are skipped). Encodings are PLAIN; destination
// names equal source names.
func ResolveAutoSchema(ctx context.Context, c Catalog, table string, sampleRows int) ([]task.Column, error) {
	desc, err := c.DescribeTable(ctx, table)
	if err != nil {
		return nil, err
	}
	var cols []task.Column
	seen := map[string]bool{}
	add := func(name string, typ task.ColumnType) {
		if seen[name] {
			return
		}
		seen[name] = true
		cols = append(cols, task.Column{Source: name, Name: name, Type: typ, Encoding: task.EncodingPlain})
	}
	for _, pk := range desc.PrimaryKey {
		add(pk.Name, pk.Type)
	}
	for _, dc := range desc.Defined {
		add(dc.Name, dc.Type)
	}
	if sampleRows <= 0 {
		return cols, nil
	}
	rows, err := c.SampleAttributes(ctx, table, sampleRows)
	if err != nil {
		return nil, err
	}
	for _, row := range rows {
		for _, v := range row {
			if v.Type != "" {
				add(v.Column, v.Type)
			}
		}
	}
	return cols, nil
}
