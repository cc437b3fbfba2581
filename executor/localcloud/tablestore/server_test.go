package tablestore

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/common"
	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"
	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore/otsprotocol"
	"google.golang.org/protobuf/proto"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/kv"
	"github.com/tablestore-delivery/terraform-provider-tablestore/internal/testsupport"
)

const (
	testKeyID  = "test-key"
	testSecret = "test-secret"
)

type env struct {
	t      *testing.T
	dir    string
	kv     *kv.Store
	srv    *Server
	http   *httptest.Server
	client *tablestore.TableStoreClient
	cfg    Config
}

func newEnv(t *testing.T, mutate ...func(*Config)) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir()}
	e.cfg = Config{Credentials: map[string]string{testKeyID: testSecret}, Logger: testsupport.QuietLogger("")}
	for _, m := range mutate {
		m(&e.cfg)
	}
	e.start()
	t.Cleanup(e.stop)
	return e
}

func (e *env) start() {
	e.t.Helper()
	var err error
	if e.kv, err = kv.Open(e.dir); err != nil {
		e.t.Fatal(err)
	}
	cfg := e.cfg
	cfg.Store = e.kv
	if e.srv, err = New(cfg); err != nil {
		e.t.Fatal(err)
	}
	e.http = httptest.NewServer(e.srv)
	e.client = tablestore.NewClient(e.http.URL, "local", testKeyID, testSecret)
}

func (e *env) stop() {
	if e.http == nil {
		return
	}
	e.http.Close()
	_ = e.srv.Close()
	_ = e.kv.Close()
	e.http = nil
}

func (e *env) restart() {
	e.stop()
	e.start()
}

// otsErr asserts err is an OtsError with the code and returns it.
func otsErr(t *testing.T, err error, code string) *tablestore.OtsError {
	t.Helper()
	var oe *tablestore.OtsError
	if !errors.As(err, &oe) {
		t.Fatalf("want OTS error %s, got %v", code, err)
	}
	if oe.Code != code {
		t.Fatalf("want OTS error %s, got %s %q (status %d)", code, oe.Code, oe.Message, oe.HttpStatusCode)
	}
	if oe.RequestId == "" {
		t.Fatalf("error %s has no request id", code)
	}
	return oe
}

// createTable makes a table (pk: id STRING, n INTEGER).
func (e *env) createTable(name string, maxVersions int) {
	e.t.Helper()
	meta := &tablestore.TableMeta{TableName: name}
	meta.AddPrimaryKeyColumn("id", tablestore.PrimaryKeyType_STRING)
	meta.AddPrimaryKeyColumn("n", tablestore.PrimaryKeyType_INTEGER)
	_, err := e.client.CreateTable(&tablestore.CreateTableRequest{
		TableMeta:          meta,
		TableOption:        &tablestore.TableOption{TimeToAlive: -1, MaxVersion: maxVersions},
		ReservedThroughput: &tablestore.ReservedThroughput{},
	})
	if err != nil {
		e.t.Fatalf("CreateTable %s: %v", name, err)
	}
}

func pk(id string, n int64) *tablestore.PrimaryKey {
	p := new(tablestore.PrimaryKey)
	p.AddPrimaryKeyColumn("id", id)
	p.AddPrimaryKeyColumn("n", n)
	return p
}

func (e *env) put(table, id string, n int64, cols map[string]any) {
	e.t.Helper()
	ch := &tablestore.PutRowChange{TableName: table, PrimaryKey: pk(id, n)}
	names := make([]string, 0, len(cols))
	for k := range cols {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		ch.AddColumn(k, cols[k])
	}
	ch.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
	if _, err := e.client.PutRow(&tablestore.PutRowRequest{PutRowChange: ch}); err != nil {
		e.t.Fatalf("PutRow %s/%d: %v", id, n, err)
	}
}

func (e *env) get(table, id string, n int64, maxVersions int32) *tablestore.GetRowResponse {
	e.t.Helper()
	resp, err := e.client.GetRow(&tablestore.GetRowRequest{SingleRowQueryCriteria: &tablestore.SingleRowQueryCriteria{
		TableName: table, PrimaryKey: pk(id, n), MaxVersion: maxVersions,
	}})
	if err != nil {
		e.t.Fatalf("GetRow %s/%d: %v", id, n, err)
	}
	return resp
}

func colValues(cols []*tablestore.AttributeColumn) map[string][]any {
	out := map[string][]any{}
	for _, c := range cols {
		out[c.ColumnName] = append(out[c.ColumnName], c.Value)
	}
	return out
}

func TestTableLifecycle(t *testing.T) {
	e := newEnv(t)
	meta := &tablestore.TableMeta{TableName: "orders"}
	meta.AddPrimaryKeyColumn("shop", tablestore.PrimaryKeyType_STRING)
	meta.AddPrimaryKeyColumn("bin", tablestore.PrimaryKeyType_BINARY)
	meta.AddPrimaryKeyColumnOption("seq", tablestore.PrimaryKeyType_INTEGER, tablestore.AUTO_INCREMENT)
	meta.AddDefinedColumn("amount", tablestore.DefinedColumn_DOUBLE)
	allow := true
	_, err := e.client.CreateTable(&tablestore.CreateTableRequest{
		TableMeta:          meta,
		TableOption:        &tablestore.TableOption{TimeToAlive: 86400 * 7, MaxVersion: 2, DeviationCellVersionInSec: 3600, AllowUpdate: &allow},
		ReservedThroughput: &tablestore.ReservedThroughput{Readcap: 1, Writecap: 2},
		StreamSpec:         &tablestore.StreamSpecification{EnableStream: true, ExpirationTime: 48},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.createTable("alpha", 1)

	_, err = e.client.CreateTable(&tablestore.CreateTableRequest{TableMeta: meta, TableOption: &tablestore.TableOption{TimeToAlive: -1, MaxVersion: 1}, ReservedThroughput: &tablestore.ReservedThroughput{}})
	oe := otsErr(t, err, "OTSObjectAlreadyExist")
	if oe.HttpStatusCode != http.StatusConflict {
		t.Errorf("duplicate table: status %d", oe.HttpStatusCode)
	}

	list, err := e.client.ListTable()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(list.TableNames, ",") != "alpha,orders" {
		t.Fatalf("ListTable = %v", list.TableNames)
	}

	d, err := e.client.DescribeTable(&tablestore.DescribeTableRequest{TableName: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	if d.TableMeta.TableName != "orders" || len(d.TableMeta.SchemaEntry) != 3 {
		t.Fatalf("describe meta: %+v", d.TableMeta)
	}
	if *d.TableMeta.SchemaEntry[1].Type != tablestore.PrimaryKeyType_BINARY || d.TableMeta.SchemaEntry[2].Option == nil || *d.TableMeta.SchemaEntry[2].Option != tablestore.AUTO_INCREMENT {
		t.Fatalf("describe pk schema: %+v %+v", d.TableMeta.SchemaEntry[1], d.TableMeta.SchemaEntry[2])
	}
	if len(d.TableMeta.DefinedColumns) != 1 || d.TableMeta.DefinedColumns[0].ColumnType != tablestore.DefinedColumn_DOUBLE {
		t.Fatalf("describe defined columns: %+v", d.TableMeta.DefinedColumns)
	}
	if d.TableOption.TimeToAlive != 86400*7 || d.TableOption.MaxVersion != 2 || d.TableOption.DeviationCellVersionInSec != 3600 || !*d.TableOption.AllowUpdate {
		t.Fatalf("describe options: %+v", d.TableOption)
	}
	if d.ReservedThroughput.Readcap != 1 || d.ReservedThroughput.Writecap != 2 {
		t.Fatalf("describe throughput: %+v", d.ReservedThroughput)
	}
	if !d.StreamDetails.EnableStream || d.StreamDetails.StreamId == nil || d.StreamDetails.ExpirationTime != 48 || d.StreamDetails.LastEnableTime == 0 {
		t.Fatalf("describe stream: %+v", d.StreamDetails)
	}

	up, err := e.client.UpdateTable(&tablestore.UpdateTableRequest{TableName: "alpha",
		TableOption: &tablestore.TableOption{TimeToAlive: 86400, MaxVersion: 5},
		StreamSpec:  &tablestore.StreamSpecification{EnableStream: true, ExpirationTime: 24}})
	if err != nil {
		t.Fatal(err)
	}
	if up.TableOption.MaxVersion != 5 || up.TableOption.TimeToAlive != 86400 || !up.StreamDetails.EnableStream {
		t.Fatalf("UpdateTable response: %+v %+v", up.TableOption, up.StreamDetails)
	}
	d, err = e.client.DescribeTable(&tablestore.DescribeTableRequest{TableName: "alpha"})
	if err != nil || d.TableOption.MaxVersion != 5 || !d.StreamDetails.EnableStream {
		t.Fatalf("after update: %+v %v", d, err)
	}

	if _, err := e.client.AddDefinedColumn(&tablestore.AddDefinedColumnRequest{TableName: "alpha", DefinedColumns: []*tablestore.DefinedColumnSchema{{Name: "c1", ColumnType: tablestore.DefinedColumn_STRING}, {Name: "c2", ColumnType: tablestore.DefinedColumn_INTEGER}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.DeleteDefinedColumn(&tablestore.DeleteDefinedColumnRequest{TableName: "alpha", DefinedColumns: []string{"c1"}}); err != nil {
		t.Fatal(err)
	}
	d, err = e.client.DescribeTable(&tablestore.DescribeTableRequest{TableName: "alpha"})
	if err != nil || len(d.TableMeta.DefinedColumns) != 1 || d.TableMeta.DefinedColumns[0].Name != "c2" {
		t.Fatalf("defined columns after add/delete: %+v %v", d.TableMeta.DefinedColumns, err)
	}
	_, err = e.client.DeleteDefinedColumn(&tablestore.DeleteDefinedColumnRequest{TableName: "alpha", DefinedColumns: []string{"nope"}})
	otsErr(t, err, "OTSParameterInvalid")

	if _, err := e.client.DeleteTable(&tablestore.DeleteTableRequest{TableName: "alpha"}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.DescribeTable(&tablestore.DescribeTableRequest{TableName: "alpha"})
	oe = otsErr(t, err, "OTSObjectNotExist")
	if oe.HttpStatusCode != http.StatusNotFound {
		t.Errorf("missing table: status %d", oe.HttpStatusCode)
	}
	_, err = e.client.DeleteTable(&tablestore.DeleteTableRequest{TableName: "alpha"})
	otsErr(t, err, "OTSObjectNotExist")

	// Invalid schemas.
	bad := &tablestore.TableMeta{TableName: "bad-name"}
	bad.AddPrimaryKeyColumn("id", tablestore.PrimaryKeyType_STRING)
	_, err = e.client.CreateTable(&tablestore.CreateTableRequest{TableMeta: bad, TableOption: &tablestore.TableOption{TimeToAlive: -1, MaxVersion: 1}, ReservedThroughput: &tablestore.ReservedThroughput{}})
	otsErr(t, err, "OTSParameterInvalid")
	five := &tablestore.TableMeta{TableName: "five"}
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		five.AddPrimaryKeyColumn(n, tablestore.PrimaryKeyType_INTEGER)
	}
	_, err = e.client.CreateTable(&tablestore.CreateTableRequest{TableMeta: five, TableOption: &tablestore.TableOption{TimeToAlive: -1, MaxVersion: 1}, ReservedThroughput: &tablestore.ReservedThroughput{}})
	otsErr(t, err, "OTSParameterInvalid")
}

func TestRowOperations(t *testing.T) {
	e := newEnv(t)
	e.createTable("t", 3)

	// All value types round-trip.
	e.put("t", "a", 1, map[string]any{"i": int64(-7), "d": 2.5, "b": true, "s": "héllo", "bin": []byte{0, 1, 2}})
	got := colValues(e.get("t", "a", 1, 1).Columns)
	if got["i"][0] != int64(-7) || got["d"][0] != 2.5 || got["b"][0] != true || got["s"][0] != "héllo" || !bytes.Equal(got["bin"][0].([]byte), []byte{0, 1, 2}) {
		t.Fatalf("GetRow values: %v", got)
	}
	r := e.get("t", "a", 1, 1)
	if len(r.PrimaryKey.PrimaryKeys) != 2 || r.PrimaryKey.PrimaryKeys[0].Value != "a" || r.PrimaryKey.PrimaryKeys[1].Value != int64(1) {
		t.Fatalf("GetRow pk: %+v", r.PrimaryKey.PrimaryKeys)
	}

	// A missing row comes back empty, not as an error.
	if miss := e.get("t", "zzz", 0, 1); len(miss.Columns) != 0 || len(miss.PrimaryKey.PrimaryKeys) != 0 {
		t.Fatalf("missing row: %+v", miss)
	}

	// Versions: explicit timestamps, max versions of the table (3).
	ch := &tablestore.PutRowChange{TableName: "t", PrimaryKey: pk("v", 1)}
	for ts := int64(1000); ts <= 5000; ts += 1000 {
		ch.AddColumnWithTimestamp("c", ts, ts)
	}
	ch.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
	if _, err := e.client.PutRow(&tablestore.PutRowRequest{PutRowChange: ch}); err != nil {
		t.Fatal(err)
	}
	vs := e.get("t", "v", 1, 10).Columns
	if len(vs) != 3 || vs[0].Timestamp != 5000 || vs[2].Timestamp != 3000 || vs[0].Value != int64(5000) {
		t.Fatalf("versions after put of 5 with max 3: %+v", vs)
	}
	tr, err := e.client.GetRow(&tablestore.GetRowRequest{SingleRowQueryCriteria: &tablestore.SingleRowQueryCriteria{
		TableName: "t", PrimaryKey: pk("v", 1), TimeRange: &tablestore.TimeRange{Start: 3500, End: 5000}}})
	if err != nil || len(tr.Columns) != 1 || tr.Columns[0].Timestamp != 4000 {
		t.Fatalf("time range read: %+v %v", tr, err)
	}
	tr, err = e.client.GetRow(&tablestore.GetRowRequest{SingleRowQueryCriteria: &tablestore.SingleRowQueryCriteria{
		TableName: "t", PrimaryKey: pk("v", 1), TimeRange: &tablestore.TimeRange{Specific: 3000}}})
	if err != nil || len(tr.Columns) != 1 || tr.Columns[0].Value != int64(3000) {
		t.Fatalf("specific time read: %+v %v", tr, err)
	}

	// UpdateRow: put, delete one version, delete all versions, increment with return.
	upd := &tablestore.UpdateRowChange{TableName: "t", PrimaryKey: pk("v", 1)}
	upd.DeleteColumnWithTimestamp("c", 4000)
	upd.PutColumn("p", "new")
	upd.IncrementColumn("cnt", 5)
	upd.SetCondition(tablestore.RowExistenceExpectation_EXPECT_EXIST)
	upd.SetReturnIncrementValue()
	upd.AppendIncrementColumnToReturn("cnt")
	ur, err := e.client.UpdateRow(&tablestore.UpdateRowRequest{UpdateRowChange: upd})
	if err != nil {
		t.Fatal(err)
	}
	if len(ur.Columns) != 1 || ur.Columns[0].ColumnName != "cnt" || ur.Columns[0].Value != int64(5) {
		t.Fatalf("increment return: %+v", ur.Columns)
	}
	upd = &tablestore.UpdateRowChange{TableName: "t", PrimaryKey: pk("v", 1)}
	upd.IncrementColumn("cnt", -2)
	upd.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
	if _, err := e.client.UpdateRow(&tablestore.UpdateRowRequest{UpdateRowChange: upd}); err != nil {
		t.Fatal(err)
	}
	got = colValues(e.get("t", "v", 1, 10).Columns)
	if len(got["c"]) != 2 || got["c"][0] != int64(5000) || got["c"][1] != int64(3000) || got["p"][0] != "new" || got["cnt"][0] != int64(3) {
		t.Fatalf("after update: %v", got)
	}
	upd = &tablestore.UpdateRowChange{TableName: "t", PrimaryKey: pk("v", 1)}
	upd.DeleteColumn("c")
	upd.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
	if _, err := e.client.UpdateRow(&tablestore.UpdateRowRequest{UpdateRowChange: upd}); err != nil {
		t.Fatal(err)
	}
	if got = colValues(e.get("t", "v", 1, 10).Columns); got["c"] != nil || got["p"] == nil {
		t.Fatalf("after delete all versions: %v", got)
	}
	// Increment on a string column fails.
	upd = &tablestore.UpdateRowChange{TableName: "t", PrimaryKey: pk("v", 1)}
	upd.IncrementColumn("p", 1)
	upd.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
	_, err = e.client.UpdateRow(&tablestore.UpdateRowRequest{UpdateRowChange: upd})
	otsErr(t, err, "OTSParameterInvalid")

	// DeleteRow.
	del := &tablestore.DeleteRowChange{TableName: "t", PrimaryKey: pk("v", 1)}
	del.SetCondition(tablestore.RowExistenceExpectation_EXPECT_EXIST)
	if _, err := e.client.DeleteRow(&tablestore.DeleteRowRequest{DeleteRowChange: del}); err != nil {
		t.Fatal(err)
	}
	if r := e.get("t", "v", 1, 1); len(r.Columns) != 0 {
		t.Fatalf("deleted row still readable: %+v", r.Columns)
	}
	_, err = e.client.DeleteRow(&tablestore.DeleteRowRequest{DeleteRowChange: del})
	otsErr(t, err, "OTSConditionCheckFail")

	// Primary key errors and missing tables.
	wrong := new(tablestore.PrimaryKey)
	wrong.AddPrimaryKeyColumn("id", int64(1))
	wrong.AddPrimaryKeyColumn("n", int64(1))
	_, err = e.client.GetRow(&tablestore.GetRowRequest{SingleRowQueryCriteria: &tablestore.SingleRowQueryCriteria{TableName: "t", PrimaryKey: wrong, MaxVersion: 1}})
	otsErr(t, err, "OTSInvalidPK")
	_, err = e.client.GetRow(&tablestore.GetRowRequest{SingleRowQueryCriteria: &tablestore.SingleRowQueryCriteria{TableName: "nope", PrimaryKey: pk("a", 1), MaxVersion: 1}})
	otsErr(t, err, "OTSObjectNotExist")
	miss := &tablestore.PutRowChange{TableName: "nope", PrimaryKey: pk("a", 1)}
	miss.AddColumn("x", int64(1))
	miss.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
	_, err = e.client.PutRow(&tablestore.PutRowRequest{PutRowChange: miss})
	otsErr(t, err, "OTSObjectNotExist")
}

func TestAutoIncrementReturnPK(t *testing.T) {
	e := newEnv(t)
	meta := &tablestore.TableMeta{TableName: "auto"}
	meta.AddPrimaryKeyColumn("part", tablestore.PrimaryKeyType_STRING)
	meta.AddPrimaryKeyColumnOption("seq", tablestore.PrimaryKeyType_INTEGER, tablestore.AUTO_INCREMENT)
	if _, err := e.client.CreateTable(&tablestore.CreateTableRequest{TableMeta: meta, TableOption: &tablestore.TableOption{TimeToAlive: -1, MaxVersion: 1}, ReservedThroughput: &tablestore.ReservedThroughput{}}); err != nil {
		t.Fatal(err)
	}
	var last int64
	for i := range 3 {
		p := new(tablestore.PrimaryKey)
		p.AddPrimaryKeyColumn("part", "p")
		p.AddPrimaryKeyColumnWithAutoIncrement("seq")
		ch := &tablestore.PutRowChange{TableName: "auto", PrimaryKey: p}
		ch.AddColumn("i", int64(i))
		ch.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
		ch.SetReturnPk()
		resp, err := e.client.PutRow(&tablestore.PutRowRequest{PutRowChange: ch})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.PrimaryKey.PrimaryKeys) != 2 {
			t.Fatalf("returned pk: %+v", resp.PrimaryKey.PrimaryKeys)
		}
		seq := resp.PrimaryKey.PrimaryKeys[1].Value.(int64)
		if seq <= last {
			t.Fatalf("auto-increment values not increasing: %d after %d", seq, last)
		}
		last = seq
	}
}

func TestConditions(t *testing.T) {
	e := newEnv(t)
	e.createTable("t", 1)
	e.put("t", "a", 1, map[string]any{"age": int64(30), "name": "ann"})

	putWith := func(cond tablestore.RowExistenceExpectation, filter tablestore.ColumnFilter) error {
		ch := &tablestore.PutRowChange{TableName: "t", PrimaryKey: pk("a", 1)}
		ch.AddColumn("age", int64(31))
		ch.SetCondition(cond)
		if filter != nil {
			ch.SetColumnCondition(filter)
		}
		_, err := e.client.PutRow(&tablestore.PutRowRequest{PutRowChange: ch})
		return err
	}
	oe := otsErr(t, putWith(tablestore.RowExistenceExpectation_EXPECT_NOT_EXIST, nil), "OTSConditionCheckFail")
	if oe.HttpStatusCode != http.StatusForbidden {
		t.Errorf("condition failure status %d", oe.HttpStatusCode)
	}
	// Single-column conditions.
	otsErr(t, putWith(tablestore.RowExistenceExpectation_EXPECT_EXIST, tablestore.NewSingleColumnCondition("age", tablestore.CT_GREATER_THAN, int64(30))), "OTSConditionCheckFail")
	if err := putWith(tablestore.RowExistenceExpectation_EXPECT_EXIST, tablestore.NewSingleColumnCondition("age", tablestore.CT_EQUAL, int64(30))); err != nil {
		t.Fatalf("age == 30 should hold: %v", err)
	}
	// Missing column: passes unless filter_if_missing.
	missing := tablestore.NewSingleColumnCondition("nope", tablestore.CT_EQUAL, "x")
	if err := putWith(tablestore.RowExistenceExpectation_IGNORE, missing); err != nil {
		t.Fatalf("missing column without filter_if_missing should pass: %v", err)
	}
	missing.FilterIfMissing = true
	otsErr(t, putWith(tablestore.RowExistenceExpectation_IGNORE, missing), "OTSConditionCheckFail")
	// Composite: age == 31 AND name == "ann" holds; OR with a false branch too.
	and := tablestore.NewCompositeColumnCondition(tablestore.LO_AND)
	and.AddFilter(tablestore.NewSingleColumnCondition("age", tablestore.CT_EQUAL, int64(31)))
	and.AddFilter(tablestore.NewSingleColumnCondition("name", tablestore.CT_EQUAL, "ann"))
	if err := putWith(tablestore.RowExistenceExpectation_IGNORE, and); err != nil {
		t.Fatalf("composite AND should hold: %v", err)
	}
	not := tablestore.NewCompositeColumnCondition(tablestore.LO_NOT)
	not.AddFilter(tablestore.NewSingleColumnCondition("name", tablestore.CT_EQUAL, "ann"))
	otsErr(t, putWith(tablestore.RowExistenceExpectation_IGNORE, not), "OTSConditionCheckFail")

	// EXPECT_EXIST on a missing row, for Update and Delete.
	upd := &tablestore.UpdateRowChange{TableName: "t", PrimaryKey: pk("missing", 1)}
	upd.PutColumn("x", int64(1))
	upd.SetCondition(tablestore.RowExistenceExpectation_EXPECT_EXIST)
	_, err := e.client.UpdateRow(&tablestore.UpdateRowRequest{UpdateRowChange: upd})
	otsErr(t, err, "OTSConditionCheckFail")
	if r := e.get("t", "missing", 1, 1); len(r.Columns) != 0 {
		t.Fatal("a failed conditional update wrote the row")
	}

	// Column pagination: columns come in name order; skip one, take two.
	e.put("t", "wide", 1, map[string]any{"c1": int64(1), "c2": int64(2), "c3": int64(3), "c4": int64(4)})
	paged, err := e.client.GetRow(&tablestore.GetRowRequest{SingleRowQueryCriteria: &tablestore.SingleRowQueryCriteria{
		TableName: "t", PrimaryKey: pk("wide", 1), MaxVersion: 1, Filter: &tablestore.PaginationFilter{Offset: 1, Limit: 2}}})
	if err != nil || len(paged.Columns) != 2 || paged.Columns[0].ColumnName != "c2" || paged.Columns[1].ColumnName != "c3" {
		t.Fatalf("column pagination: %+v %v", paged, err)
	}

	// Read filters on GetRow.
	resp, err := e.client.GetRow(&tablestore.GetRowRequest{SingleRowQueryCriteria: &tablestore.SingleRowQueryCriteria{
		TableName: "t", PrimaryKey: pk("a", 1), MaxVersion: 1, Filter: tablestore.NewSingleColumnCondition("age", tablestore.CT_LESS_THAN, int64(10))}})
	if err != nil || len(resp.Columns) != 0 {
		t.Fatalf("filtered GetRow: %+v %v", resp, err)
	}
}

func TestBatchOperations(t *testing.T) {
	e := newEnv(t)
	e.createTable("t1", 1)
	e.createTable("t2", 1)
	e.put("t2", "exists", 1, map[string]any{"v": int64(1)})

	req := &tablestore.BatchWriteRowRequest{}
	for i := range 5 {
		ch := &tablestore.PutRowChange{TableName: "t1", PrimaryKey: pk("r", int64(i))}
		ch.AddColumn("v", int64(i*10))
		ch.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
		req.AddRowChange(ch)
	}
	failing := &tablestore.PutRowChange{TableName: "t2", PrimaryKey: pk("exists", 1)}
	failing.AddColumn("v", int64(2))
	failing.SetCondition(tablestore.RowExistenceExpectation_EXPECT_NOT_EXIST)
	req.AddRowChange(failing)
	ok2 := &tablestore.UpdateRowChange{TableName: "t2", PrimaryKey: pk("other", 1)}
	ok2.PutColumn("v", int64(3))
	ok2.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
	req.AddRowChange(ok2)
	del := &tablestore.DeleteRowChange{TableName: "t1", PrimaryKey: pk("r", 4)}
	del.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
	req.AddRowChange(del)
	noTable := &tablestore.PutRowChange{TableName: "ghost", PrimaryKey: pk("x", 1)}
	noTable.AddColumn("v", int64(1))
	noTable.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
	req.AddRowChange(noTable)

	resp, err := e.client.BatchWriteRow(req)
	if err != nil {
		t.Fatal(err)
	}
	t1 := resp.TableToRowsResult["t1"]
	if len(t1) != 6 {
		t.Fatalf("t1 results: %d", len(t1))
	}
	for _, r := range t1 {
		if !r.IsSucceed {
			t.Fatalf("t1 row %d failed: %+v", r.Index, r.Error)
		}
	}
	t2 := resp.TableToRowsResult["t2"]
	if len(t2) != 2 || t2[0].IsSucceed || t2[0].Error.Code != "OTSConditionCheckFail" || t2[0].Error.Message == "" || !t2[1].IsSucceed {
		t.Fatalf("t2 results (positional): %+v", t2)
	}
	if g := resp.TableToRowsResult["ghost"]; len(g) != 1 || g[0].IsSucceed || g[0].Error.Code != "OTSObjectNotExist" {
		t.Fatalf("ghost results: %+v", g)
	}
	// The failed row left the old value.
	if v := colValues(e.get("t2", "exists", 1, 1).Columns)["v"]; v[0] != int64(1) {
		t.Fatalf("failed batch row changed the row: %v", v)
	}
	// The delete after the put of the same row in the batch won.
	if r := e.get("t1", "r", 4, 1); len(r.Columns) != 0 {
		t.Fatalf("row deleted in batch is present: %+v", r.Columns)
	}

	// BatchGetRow over two tables with a missing row and a missing table.
	bg := &tablestore.BatchGetRowRequest{}
	c1 := &tablestore.MultiRowQueryCriteria{TableName: "t1", MaxVersion: 1}
	c1.AddRow(pk("r", 2))
	c1.AddRow(pk("r", 99))
	c1.AddRow(pk("r", 0))
	c2 := &tablestore.MultiRowQueryCriteria{TableName: "t2", MaxVersion: 1}
	c2.AddRow(pk("other", 1))
	c3 := &tablestore.MultiRowQueryCriteria{TableName: "ghost", MaxVersion: 1}
	c3.AddRow(pk("x", 1))
	bg.MultiRowQueryCriteria = append(bg.MultiRowQueryCriteria, c1, c2, c3)
	gr, err := e.client.BatchGetRow(bg)
	if err != nil {
		t.Fatal(err)
	}
	rows := gr.TableToRowsResult["t1"]
	if len(rows) != 3 || !rows[0].IsSucceed || colValues(rows[0].Columns)["v"][0] != int64(20) {
		t.Fatalf("batch get t1: %+v", rows)
	}
	if !rows[1].IsSucceed || len(rows[1].Columns) != 0 || colValues(rows[2].Columns)["v"][0] != int64(0) {
		t.Fatalf("batch get t1 missing/positional: %+v", rows)
	}
	if r := gr.TableToRowsResult["t2"]; len(r) != 1 || colValues(r[0].Columns)["v"][0] != int64(3) {
		t.Fatalf("batch get t2: %+v", r)
	}
	if r := gr.TableToRowsResult["ghost"]; len(r) != 1 || r[0].IsSucceed || r[0].Error.Code != "OTSObjectNotExist" {
		t.Fatalf("batch get ghost: %+v", r)
	}
}

func rangeAll(t *testing.T, e *env, q tablestore.RangeRowQueryCriteria) (rows []*tablestore.Row, pages int) {
	t.Helper()
	for {
		resp, err := e.client.GetRange(&tablestore.GetRangeRequest{RangeRowQueryCriteria: &q})
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, resp.Rows...)
		pages++
		if resp.NextStartPrimaryKey == nil {
			return rows, pages
		}
		q.StartPrimaryKey = resp.NextStartPrimaryKey
		if pages > 1000 {
			t.Fatal("GetRange pagination does not end")
		}
	}
}

func infPK(min bool) *tablestore.PrimaryKey {
	p := new(tablestore.PrimaryKey)
	if min {
		p.AddPrimaryKeyColumnWithMinValue("id")
		p.AddPrimaryKeyColumnWithMinValue("n")
	} else {
		p.AddPrimaryKeyColumnWithMaxValue("id")
		p.AddPrimaryKeyColumnWithMaxValue("n")
	}
	return p
}

func TestGetRange(t *testing.T) {
	e := newEnv(t)
	e.createTable("t", 2)
	ids := []string{"b", "a", "c", "aa", ""}
	req := &tablestore.BatchWriteRowRequest{}
	for _, id := range ids {
		for n := int64(-2); n <= 2; n++ {
			ch := &tablestore.PutRowChange{TableName: "t", PrimaryKey: pk(id, n)}
			ch.AddColumnWithTimestamp("v", n, 1000)
			ch.AddColumnWithTimestamp("v", n*100, 2000)
			ch.AddColumn("id_copy", id)
			ch.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
			req.AddRowChange(ch)
		}
	}
	if _, err := e.client.BatchWriteRow(req); err != nil {
		t.Fatal(err)
	}
	key := func(r *tablestore.Row) string {
		return r.PrimaryKey.PrimaryKeys[0].Value.(string) + "/" + string(rune('0'+r.PrimaryKey.PrimaryKeys[1].Value.(int64)+2))
	}
	var want []string
	sorted := append([]string(nil), ids...)
	sort.Strings(sorted)
	for _, id := range sorted {
		for n := int64(-2); n <= 2; n++ {
			want = append(want, id+"/"+string(rune('0'+n+2)))
		}
	}

	rows, pages := rangeAll(t, e, tablestore.RangeRowQueryCriteria{TableName: "t", StartPrimaryKey: infPK(true), EndPrimaryKey: infPK(false), MaxVersion: 1, Limit: 4})
	var got []string
	for _, r := range rows {
		got = append(got, key(r))
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("forward range:\n got %v\nwant %v", got, want)
	}
	if pages != 7 { // 25 rows, 4 per page
		t.Fatalf("forward range took %d pages, want 7", pages)
	}
	if rows[0].Columns[0].ColumnName != "id_copy" || len(rows[0].Columns) != 2 || rows[0].Columns[1].Value != int64(-200) {
		t.Fatalf("row content: %+v", rows[0].Columns)
	}

	back, _ := rangeAll(t, e, tablestore.RangeRowQueryCriteria{TableName: "t", StartPrimaryKey: infPK(false), EndPrimaryKey: infPK(true), MaxVersion: 1, Direction: tablestore.BACKWARD, Limit: 6})
	if len(back) != len(want) || key(back[0]) != want[len(want)-1] || key(back[len(back)-1]) != want[0] {
		t.Fatalf("backward range: %d rows, first %s", len(back), key(back[0]))
	}

	// Bounded: ["a", 0] <= pk < ["b", INF_MIN): a/0 a/1 a/2 aa/*.
	start := pk("a", 0)
	end := new(tablestore.PrimaryKey)
	end.AddPrimaryKeyColumn("id", "b")
	end.AddPrimaryKeyColumnWithMinValue("n")
	rows, _ = rangeAll(t, e, tablestore.RangeRowQueryCriteria{TableName: "t", StartPrimaryKey: start, EndPrimaryKey: end, MaxVersion: 2, ColumnsToGet: []string{"v"}})
	if len(rows) != 8 {
		t.Fatalf("bounded range: %d rows", len(rows))
	}
	if len(rows[0].Columns) != 2 || rows[0].Columns[0].ColumnName != "v" || rows[0].Columns[0].Timestamp != 2000 || rows[0].Columns[1].Timestamp != 1000 {
		t.Fatalf("columns_to_get/max_versions: %+v", rows[0].Columns)
	}

	// Time range plus filter: rows whose v at ts 1000 is > 0.
	rows, _ = rangeAll(t, e, tablestore.RangeRowQueryCriteria{TableName: "t", StartPrimaryKey: infPK(true), EndPrimaryKey: infPK(false),
		TimeRange: &tablestore.TimeRange{Start: 0, End: 1500}, Filter: tablestore.NewSingleColumnCondition("v", tablestore.CT_GREATER_THAN, int64(0))})
	if len(rows) != 10 {
		t.Fatalf("filtered range: %d rows, want 10", len(rows))
	}
	for _, r := range rows {
		for _, c := range r.Columns {
			if c.ColumnName == "v" && (c.Timestamp != 1000 || c.Value.(int64) <= 0) {
				t.Fatalf("filtered range row: %+v", r.Columns)
			}
		}
	}

	// Errors: start after end, bad limit.
	_, err := e.client.GetRange(&tablestore.GetRangeRequest{RangeRowQueryCriteria: &tablestore.RangeRowQueryCriteria{TableName: "t", StartPrimaryKey: infPK(false), EndPrimaryKey: infPK(true), MaxVersion: 1}})
	otsErr(t, err, "OTSParameterInvalid")
	_, err = e.client.GetRange(&tablestore.GetRangeRequest{RangeRowQueryCriteria: &tablestore.RangeRowQueryCriteria{TableName: "t", StartPrimaryKey: infPK(true), EndPrimaryKey: infPK(false), MaxVersion: 1, Limit: -1}})
	otsErr(t, err, "OTSParameterInvalid")
}

func TestTTLExpiresOldVersions(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	e := newEnv(t, func(c *Config) {
		c.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	})
	meta := &tablestore.TableMeta{TableName: "ttl"}
	meta.AddPrimaryKeyColumn("id", tablestore.PrimaryKeyType_STRING)
	meta.AddPrimaryKeyColumn("n", tablestore.PrimaryKeyType_INTEGER)
	if _, err := e.client.CreateTable(&tablestore.CreateTableRequest{TableMeta: meta, TableOption: &tablestore.TableOption{TimeToAlive: 86400, MaxVersion: 1}, ReservedThroughput: &tablestore.ReservedThroughput{}}); err != nil {
		t.Fatal(err)
	}
	e.put("ttl", "a", 1, map[string]any{"v": int64(1)})
	if len(e.get("ttl", "a", 1, 1).Columns) != 1 {
		t.Fatal("fresh row not readable")
	}
	mu.Lock()
	now = now.Add(25 * time.Hour)
	mu.Unlock()
	if r := e.get("ttl", "a", 1, 1); len(r.Columns) != 0 {
		t.Fatalf("row older than the TTL is still readable: %+v", r.Columns)
	}
}

func TestRestartKeepsData(t *testing.T) {
	e := newEnv(t)
	e.createTable("t", 1)
	e.put("t", "a", 1, map[string]any{"v": "persisted"})
	e.restart()
	if v := colValues(e.get("t", "a", 1, 1).Columns)["v"]; len(v) != 1 || v[0] != "persisted" {
		t.Fatalf("after restart: %v", v)
	}
	list, err := e.client.ListTable()
	if err != nil || len(list.TableNames) != 1 {
		t.Fatalf("tables after restart: %v %v", list, err)
	}
	shards, err := e.srv.Storage().Partitions("local", "t")
	if err != nil || len(shards) != 4 {
		t.Fatalf("partitions after restart: %v %v", shards, err)
	}
}

func TestConcurrentWritersToOneRow(t *testing.T) {
	e := newEnv(t)
	e.createTable("t", 1)
	const writers, each = 8, 15
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for range writers {
		wg.Go(func() {
			for range each {
				upd := &tablestore.UpdateRowChange{TableName: "t", PrimaryKey: pk("hot", 1)}
				upd.IncrementColumn("count", 1)
				upd.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
				if _, err := e.client.UpdateRow(&tablestore.UpdateRowRequest{UpdateRowChange: upd}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if v := colValues(e.get("t", "hot", 1, 1).Columns)["count"]; len(v) != 1 || v[0] != int64(writers*each) {
		t.Fatalf("count = %v, want %d", v, writers*each)
	}
	// Every increment is in the change log, in order per shard.
	shards, _ := e.srv.Storage().Partitions("local", "t")
	var total uint64
	for _, s := range shards {
		total += s.LastSeq
	}
	if total != writers*each {
		t.Fatalf("change log holds %d entries, want %d", total, writers*each)
	}
}

func TestV4SignedClient(t *testing.T) {
	e := newEnv(t)
	cred := common.CreateByCredentials(&common.DefaultCredentials{AccessKeyID: testKeyID, AccessKeySecret: testSecret}, "cn-hangzhou")
	c := tablestore.NewClientWithCredentialsProvider(e.http.URL, "local", cred, nil)
	if _, err := c.ListTable(); err != nil {
		t.Fatalf("V4 client: %v", err)
	}
	wrongRegion := common.CreateByCredentials(&common.DefaultCredentials{AccessKeyID: testKeyID, AccessKeySecret: testSecret}, "cn-shanghai")
	_, err := tablestore.NewClientWithCredentialsProvider(e.http.URL, "local", wrongRegion, nil).ListTable()
	otsErr(t, err, "OTSAuthFailed")
	wrongSecret := common.CreateByCredentials(&common.DefaultCredentials{AccessKeyID: testKeyID, AccessKeySecret: "nope"}, "cn-hangzhou")
	_, err = tablestore.NewClientWithCredentialsProvider(e.http.URL, "local", wrongSecret, nil).ListTable()
	otsErr(t, err, "OTSAuthFailed")
}

func TestAuthErrors(t *testing.T) {
	e := newEnv(t)
	for name, c := range map[string]*tablestore.TableStoreClient{
		"wrong secret":     tablestore.NewClient(e.http.URL, "local", testKeyID, "wrong"),
		"unknown key":      tablestore.NewClient(e.http.URL, "local", "who", testSecret),
		"unknown instance": tablestore.NewClient(e.http.URL, "other", testKeyID, testSecret),
	} {
		_, err := c.ListTable()
		oe := otsErr(t, err, "OTSAuthFailed")
		if oe.HttpStatusCode != http.StatusForbidden {
			t.Errorf("%s: status %d", name, oe.HttpStatusCode)
		}
	}
}

// signedRequest builds a request the way the SDK does (V2), so tests can
// send bodies the SDK would never produce.
func signedRequest(t *testing.T, url, op string, body []byte, tweak func(h http.Header)) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+op, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(body)
	req.Header.Set(hdrDate, time.Now().UTC().Format("2006-01-02T15:04:05.000Z"))
	req.Header.Set(hdrAPIVersion, "2015-12-31")
	req.Header.Set(hdrAccessKeyID, testKeyID)
	req.Header.Set(hdrInstance, "local")
	req.Header.Set(hdrContentMD5, base64.StdEncoding.EncodeToString(sum[:]))
	if tweak != nil {
		tweak(req.Header)
	}
	req.Header.Set(hdrSignature, SignV2(testSecret, StringToSign(op, http.MethodPost, req.Header, tableSignedHeaders)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func readError(t *testing.T, resp *http.Response) (int, *otsprotocol.Error) {
	t.Helper()
	defer resp.Body.Close()
	if resp.Header.Get(hdrRequestID) == "" {
		t.Fatal("response without x-ots-requestid")
	}
	body, _ := io.ReadAll(resp.Body)
	var pe otsprotocol.Error
	if err := unmarshal(body, &pe); err != nil {
		t.Fatalf("error body is not an otsprotocol.Error (status %d): %v", resp.StatusCode, err)
	}
	return resp.StatusCode, &pe
}

func TestMalformedRequests(t *testing.T) {
	e := newEnv(t)
	e.createTable("t", 1)
	good, _ := marshal(&otsprotocol.DescribeTableRequest{TableName: proto.String("t")})
	if resp := signedRequest(t, e.http.URL, "/DescribeTable", good, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("hand-signed request rejected: %d", resp.StatusCode)
	}

	cases := []struct {
		name, op   string
		body       []byte
		tweak      func(http.Header)
		status     int
		code, text string
	}{
		{"bad md5", "/DescribeTable", good, func(h http.Header) { h.Set(hdrContentMD5, "1B2M2Y8AsgTpgAmY7PhCfg==") }, 403, "OTSAuthFailed", "MD5"},
		{"garbage protobuf", "/DescribeTable", []byte{0xff, 0xff, 0xff}, nil, 400, "OTSParameterInvalid", "parse"},
		{"missing required field", "/DescribeTable", []byte{}, nil, 400, "OTSParameterInvalid", "parse"},
		{"unknown operation", "/Frobnicate", good, nil, 400, "OTSParameterInvalid", "Unsupported operation"},
		{"bad date", "/DescribeTable", good, func(h http.Header) { h.Set(hdrDate, "yesterday") }, 400, "OTSParameterInvalid", "date"},
		{"stale date", "/DescribeTable", good, func(h http.Header) { h.Set(hdrDate, "2001-01-01T00:00:00.000Z") }, 403, "OTSAuthFailed", "system time"},
		{"tunnel without service", "/tunnel/create", good, nil, 400, "OTSParameterInvalid", "Unsupported operation"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, pe := readError(t, signedRequest(t, e.http.URL, tc.op, tc.body, tc.tweak))
			if status != tc.status || pe.GetCode() != tc.code || !strings.Contains(pe.GetMessage(), tc.text) {
				t.Fatalf("got %d %s %q, want %d %s containing %q", status, pe.GetCode(), pe.GetMessage(), tc.status, tc.code, tc.text)
			}
		})
	}

	// A PutRow whose PlainBuffer checksum is broken.
	ch := &tablestore.PutRowChange{TableName: "t", PrimaryKey: pk("a", 1)}
	ch.AddColumn("v", "value")
	row := ch.Serialize()
	row[len(row)-1] ^= 0x55
	body, _ := marshal(&otsprotocol.PutRowRequest{TableName: proto.String("t"), Row: row, Condition: &otsprotocol.Condition{RowExistence: otsprotocol.RowExistenceExpectation_IGNORE.Enum()}})
	status, pe := readError(t, signedRequest(t, e.http.URL, "/PutRow", body, nil))
	if status != 400 || pe.GetCode() != "OTSParameterInvalid" || !strings.Contains(pe.GetMessage(), "checksum") {
		t.Fatalf("broken checksum: %d %s %q", status, pe.GetCode(), pe.GetMessage())
	}

	// Health probe.
	resp, err := http.Get(e.http.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz: %d", resp.StatusCode)
	}
	// Non-POST.
	resp, err = http.Get(e.http.URL + "/ListTable")
	if err != nil {
		t.Fatal(err)
	}
	if status, pe := readError(t, resp); status != http.StatusMethodNotAllowed || pe.GetCode() != "OTSMethodNotAllowed" {
		t.Fatalf("GET: %d %s", status, pe.GetCode())
	}
}

func TestTunnelMount(t *testing.T) {
	var gotBody []byte
	var gotPath string
	e := newEnv(t, func(c *Config) {
		c.Tunnel = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			gotPath = r.URL.Path
			gotBody, _ = io.ReadAll(r.Body)
			w.WriteHeader(http.StatusOK)
		})
	})
	body := []byte("tunnel-payload")
	resp := signedRequest(t, e.http.URL, "/tunnel/list", body, nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || gotPath != "/tunnel/list" || string(gotBody) != "tunnel-payload" {
		t.Fatalf("tunnel mount: status %d path %q body %q", resp.StatusCode, gotPath, gotBody)
	}
	if resp.Header.Get(hdrRequestID) == "" {
		t.Fatal("tunnel response without request id")
	}
	gotPath = ""
	resp = signedRequest(t, e.http.URL, "/tunnel/list", body, func(h http.Header) { h.Set(hdrAccessKeyID, "intruder") })
	if status, pe := readError(t, resp); status != 403 || pe.GetCode() != "OTSAuthFailed" || gotPath != "" {
		t.Fatalf("unauthenticated tunnel request: %d %s reached=%q", status, pe.GetCode(), gotPath)
	}
}

// Test vectors of the SDK's own signing tests (v1.8.0 ots_header_test.go).
func TestSignatureVectors(t *testing.T) {
	h := http.Header{}
	h.Set("x-ots-accesskeyid", "credentials_test_id")
	h.Set("x-ots-apiversion", "2015-12-31")
	h.Set("x-ots-contentmd5", "1B2M2Y8AsgTpgAmY7PhCfg==")
	h.Set("x-ots-date", "2024-08-08T03:22:47.8123Z")
	h.Set("x-ots-instancename", "credentials_test")
	sts := StringToSign("/ListTable", "POST", h, tableSignedHeaders)
	if got := SignV2("credentials_test_secret", sts); got != "A940TpusldxW4mUEOFbhrtwctoU=" {
		t.Fatalf("V2 signature %s", got)
	}
	key := SigningKeyV4("credentials_test_secret", "20240808", "cn-hangzhou")
	if key != "RNN1/s8/m45SdD+EzXlvpyGxc4Enu0RiODs1Lg+xFpo=" {
		t.Fatalf("V4 signing key %s", key)
	}
	h.Set("x-ots-signdate", "20240808")
	h.Set("x-ots-signregion", "cn-hangzhou")
	if got := SignV4(key, StringToSign("/ListTable", "POST", h, tableSignedHeaders)); got != "mUSbIuIfN/JuO4/mCOaQZ72JHDc8z6gjPdBpPyAd/ac=" {
		t.Fatalf("V4 signature %s", got)
	}
	// The SDK's exported signer agrees with ours on a fresh header set.
	h2 := http.Header{}
	for k, v := range h {
		h2[k] = v
	}
	h2.Del("x-ots-signdate")
	h2.Del("x-ots-signregion")
	sdkSig, err := tablestore.GetSignature("/PutRow", "POST", &common.DefaultCredentials{AccessKeyID: "id", AccessKeySecret: "s3cret"}, h2)
	if err != nil {
		t.Fatal(err)
	}
	if ours := SignV2("s3cret", StringToSign("/PutRow", "POST", h2, tableSignedHeaders)); ours != sdkSig {
		t.Fatalf("SDK signs %s, we compute %s", sdkSig, ours)
	}
}

// Writes through the SDK land in the per-shard change log with their type,
// resolved timestamps and operations, in commit order.
func TestChangeLogFromSDKWrites(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Shards = 3 })
	e.createTable("t", 3)
	d, err := e.client.DescribeTable(&tablestore.DescribeTableRequest{TableName: "t"})
	if err != nil || d.DescribeTableInnerInfo == nil || d.DescribeTableInnerInfo.ClusterName != "local-shards-3" {
		t.Fatalf("shard count in DescribeTable: %+v %v", d.DescribeTableInnerInfo, err)
	}
	before := time.Now().UnixMicro()
	e.put("t", "row", 1, map[string]any{"a": int64(1), "b": "x"})
	upd := &tablestore.UpdateRowChange{TableName: "t", PrimaryKey: pk("row", 1)}
	upd.PutColumnWithTimestamp("b", "y", 777)
	upd.DeleteColumnWithTimestamp("b", 777)
	upd.DeleteColumn("a")
	upd.IncrementColumn("cnt", 4)
	upd.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
	if _, err := e.client.UpdateRow(&tablestore.UpdateRowRequest{UpdateRowChange: upd}); err != nil {
		t.Fatal(err)
	}
	del := &tablestore.DeleteRowChange{TableName: "t", PrimaryKey: pk("row", 1)}
	del.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
	if _, err := e.client.DeleteRow(&tablestore.DeleteRowRequest{DeleteRowChange: del}); err != nil {
		t.Fatal(err)
	}

	st := e.srv.Storage()
	shards, err := st.Partitions("local", "t")
	if err != nil || len(shards) != 3 {
		t.Fatalf("shards: %v %v", shards, err)
	}
	var found []string
	for _, sh := range shards {
		changes, more, err := st.ReadChanges("local", "t", sh.ID, 0, 100)
		if err != nil || more {
			t.Fatal(err, more)
		}
		for _, c := range changes {
			if c.TimeMicros < before || c.PrimaryKey[0].Value.Bytes == nil || string(c.PrimaryKey[0].Value.Bytes) != "row" {
				t.Fatalf("change %+v", c)
			}
			desc := c.Type.String() + ":"
			for _, cell := range c.Cells {
				desc += cell.Name
				switch {
				case cell.Op == 1:
					desc += "-all"
				case cell.Op == 3:
					desc += "-one@" + itoa(cell.Timestamp)
				case cell.Value != nil && cell.Value.Type == 0:
					desc += "=" + itoa(cell.Value.Int)
				case cell.Value != nil:
					desc += "=" + string(cell.Value.Bytes)
				}
				if cell.Value != nil && !cell.HasTimestamp {
					t.Fatalf("logged put without a resolved timestamp: %+v", cell)
				}
				desc += " "
			}
			found = append(found, strings.TrimSpace(desc))
		}
	}
	want := []string{"PUT:a=1 b=x", "UPDATE:b=y b-one@777 a-all cnt=4", "DELETE:"}
	if strings.Join(found, "|") != strings.Join(want, "|") {
		t.Fatalf("change log:\n got %q\nwant %q", found, want)
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
