package tablestore

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"
	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore/otsprotocol"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"

	pb "github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/plainbuffer"
)

// Behaviours of the real service that Alibaba's own clients and tests rely
// on (see the ledger in doc.go).

// postRaw sends a signed protobuf request and returns the status and body.
func postRaw(t *testing.T, e *env, op string, m protoadapt.MessageV1) (int, []byte) {
	t.Helper()
	body, err := marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	resp := signedRequest(t, e.http.URL, op, body, nil)
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// The Node.js SDK sizes buffers by an estimate that over-counts INF_MIN /
// INF_MAX / PK_AUTO_INCR values and cell timestamps, and sends the
// zero-filled spare tail: full-table GetRange and PutRow must work.
func TestZeroPaddedPlainBuffers(t *testing.T) {
	e := newEnv(t)
	e.createTable("t", 3)
	row := pb.EncodeRow(&pb.Row{
		PrimaryKey: []pb.Cell{{Name: "id", Value: pb.String("a")}, {Name: "n", Value: pb.Int(1)}},
		Cells:      []pb.Cell{{Name: "c", Value: pb.String("v"), HasTimestamp: true, Timestamp: 1700000000000}},
	})
	code, body := postRaw(t, e, "/PutRow", (&otsprotocol.PutRowRequest{
		TableName: proto.String("t"), Row: append(row, make([]byte, 9)...),
		Condition: &otsprotocol.Condition{RowExistence: otsprotocol.RowExistenceExpectation_IGNORE.Enum()},
	}))
	if code != http.StatusOK {
		t.Fatalf("padded PutRow: %d %q", code, body)
	}
	bound := func(v *pb.Value) []byte {
		b := pb.EncodeRow(&pb.Row{PrimaryKey: []pb.Cell{{Name: "id", Value: v}, {Name: "n", Value: v}}})
		return append(b, 0, 0) // one spare byte per INF value, as npm tablestore 5.6.5 sends
	}
	code, body = postRaw(t, e, "/GetRange", (&otsprotocol.GetRangeRequest{
		TableName: proto.String("t"), Direction: otsprotocol.Direction_FORWARD.Enum(), MaxVersions: proto.Int32(1),
		InclusiveStartPrimaryKey: bound(pb.InfMin()), ExclusiveEndPrimaryKey: bound(pb.InfMax()),
	}))
	if code != http.StatusOK {
		t.Fatalf("padded full-table GetRange: %d %q", code, body)
	}
	var out otsprotocol.GetRangeResponse
	if err := unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	rows, err := pb.DecodeRows(out.GetRows())
	if err != nil || len(rows) != 1 || string(rows[0].Cells[0].Value.Bytes) != "v" || rows[0].Cells[0].Timestamp != 1700000000000 {
		t.Fatalf("GetRange rows %+v, %v", rows, err)
	}
	// Anything but zeros after the row is still refused.
	code, _ = postRaw(t, e, "/PutRow", (&otsprotocol.PutRowRequest{
		TableName: proto.String("t"), Row: append(append([]byte{}, row...), 0, 7),
		Condition: &otsprotocol.Condition{RowExistence: otsprotocol.RowExistenceExpectation_IGNORE.Enum()},
	}))
	if code != http.StatusBadRequest {
		t.Fatalf("garbage after the row: status %d, want 400", code)
	}
}

func atomicPut(table, id string, n int64, cond tablestore.RowExistenceExpectation) *tablestore.PutRowChange {
	ch := &tablestore.PutRowChange{TableName: table, PrimaryKey: pk(id, n)}
	ch.AddColumn("c", n)
	ch.SetCondition(cond)
	return ch
}

func TestAtomicBatchWriteRow(t *testing.T) {
	e := newEnv(t)
	e.createTable("t", 1)
	write := func(changes ...tablestore.RowChange) []tablestore.RowResult {
		t.Helper()
		req := &tablestore.BatchWriteRowRequest{IsAtomic: true}
		for _, c := range changes {
			req.AddRowChange(c)
		}
		resp, err := e.client.BatchWriteRow(req)
		if err != nil {
			t.Fatalf("atomic BatchWriteRow: %v", err)
		}
		return resp.TableToRowsResult["t"]
	}
	exists := func(id string, n int64) bool { return len(e.get("t", id, n, 1).Columns) > 0 }

	// One partition key: applied, every row.
	res := write(atomicPut("t", "p", 1, tablestore.RowExistenceExpectation_IGNORE), atomicPut("t", "p", 2, tablestore.RowExistenceExpectation_IGNORE))
	if len(res) != 2 || !res[0].IsSucceed || !res[1].IsSucceed || !exists("p", 1) || !exists("p", 2) {
		t.Fatalf("same partition key: %+v", res)
	}
	// Two partition keys: every row fails, nothing written.
	res = write(atomicPut("t", "q", 1, tablestore.RowExistenceExpectation_IGNORE), atomicPut("t", "r", 1, tablestore.RowExistenceExpectation_IGNORE))
	for _, r := range res {
		if r.IsSucceed || r.Error.Code != "OTSParameterInvalid" || !strings.Contains(r.Error.Message, "partition key") {
			t.Fatalf("different partition keys: %+v", r)
		}
	}
	if exists("q", 1) || exists("r", 1) {
		t.Fatal("a refused atomic batch wrote rows")
	}
	// One row fails its condition: none is applied, each row says why.
	res = write(atomicPut("t", "p", 3, tablestore.RowExistenceExpectation_IGNORE), atomicPut("t", "p", 1, tablestore.RowExistenceExpectation_EXPECT_NOT_EXIST))
	if len(res) != 2 || res[0].IsSucceed || res[1].IsSucceed || res[1].Error.Code != "OTSConditionCheckFail" || res[0].Error.Code != "OTSConditionCheckFail" {
		t.Fatalf("failed row in an atomic batch: %+v", res)
	}
	if exists("p", 3) {
		t.Fatal("an atomic batch with a failed row applied another row")
	}
	// The same batch without is_atomic applies the good row.
	req := &tablestore.BatchWriteRowRequest{}
	req.AddRowChange(atomicPut("t", "p", 3, tablestore.RowExistenceExpectation_IGNORE))
	req.AddRowChange(atomicPut("t", "p", 1, tablestore.RowExistenceExpectation_EXPECT_NOT_EXIST))
	if resp, err := e.client.BatchWriteRow(req); err != nil || !resp.TableToRowsResult["t"][0].IsSucceed || resp.TableToRowsResult["t"][1].IsSucceed {
		t.Fatalf("non-atomic batch: %+v %v", resp, err)
	}
	if !exists("p", 3) {
		t.Fatal("non-atomic batch did not write its good row")
	}
}

func TestAutoIncrementExplicitValueNeedsExpectExist(t *testing.T) {
	e := newEnv(t)
	meta := &tablestore.TableMeta{TableName: "auto"}
	meta.AddPrimaryKeyColumn("id", tablestore.PrimaryKeyType_STRING)
	meta.AddPrimaryKeyColumnOption("seq", tablestore.PrimaryKeyType_INTEGER, tablestore.AUTO_INCREMENT)
	if _, err := e.client.CreateTable(&tablestore.CreateTableRequest{TableMeta: meta, TableOption: &tablestore.TableOption{TimeToAlive: -1, MaxVersion: 1}, ReservedThroughput: &tablestore.ReservedThroughput{}}); err != nil {
		t.Fatal(err)
	}
	put := func(seq any, cond tablestore.RowExistenceExpectation) (*tablestore.PutRowResponse, error) {
		p := new(tablestore.PrimaryKey)
		p.AddPrimaryKeyColumn("id", "a")
		if seq == nil {
			p.AddPrimaryKeyColumnWithAutoIncrement("seq")
		} else {
			p.AddPrimaryKeyColumn("seq", seq)
		}
		ch := &tablestore.PutRowChange{TableName: "auto", PrimaryKey: p, ReturnType: tablestore.ReturnType_RT_PK}
		ch.AddColumn("c", "v")
		ch.SetCondition(cond)
		return e.client.PutRow(&tablestore.PutRowRequest{PutRowChange: ch})
	}
	_, err := put(int64(5), tablestore.RowExistenceExpectation_IGNORE)
	otsErr(t, err, "OTSConditionCheckFail")
	resp, err := put(nil, tablestore.RowExistenceExpectation_IGNORE)
	if err != nil {
		t.Fatalf("placeholder put: %v", err)
	}
	seq := resp.PrimaryKey.PrimaryKeys[1].Value.(int64)
	if _, err := put(seq, tablestore.RowExistenceExpectation_EXPECT_EXIST); err != nil {
		t.Fatalf("explicit value with EXPECT_EXIST on an existing row: %v", err)
	}
	_, err = put(seq, tablestore.RowExistenceExpectation_EXPECT_NOT_EXIST)
	otsErr(t, err, "OTSConditionCheckFail")
}

func TestMaxVersionsWithSpecificTimeRefused(t *testing.T) {
	e := newEnv(t)
	e.createTable("t", 3)
	e.put("t", "a", 1, map[string]any{"c": "v"})
	now := time.Now().UnixMilli()
	_, err := e.client.GetRow(&tablestore.GetRowRequest{SingleRowQueryCriteria: &tablestore.SingleRowQueryCriteria{
		TableName: "t", PrimaryKey: pk("a", 1), MaxVersion: 1, TimeRange: &tablestore.TimeRange{Specific: now},
	}})
	oe := otsErr(t, err, "OTSParameterInvalid")
	if !strings.Contains(oe.Message, "specific_time") {
		t.Fatalf("message %q does not name the field", oe.Message)
	}
	_, err = e.client.GetRange(&tablestore.GetRangeRequest{RangeRowQueryCriteria: &tablestore.RangeRowQueryCriteria{
		TableName: "t", StartPrimaryKey: infPK(true), EndPrimaryKey: infPK(false), MaxVersion: 1, TimeRange: &tablestore.TimeRange{Specific: now},
	}})
	otsErr(t, err, "OTSParameterInvalid")
	// max_versions with a start/end range, and a specific time alone, are fine.
	if _, err := e.client.GetRow(&tablestore.GetRowRequest{SingleRowQueryCriteria: &tablestore.SingleRowQueryCriteria{
		TableName: "t", PrimaryKey: pk("a", 1), MaxVersion: 1, TimeRange: &tablestore.TimeRange{Start: 0, End: now + 60000},
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.GetRow(&tablestore.GetRowRequest{SingleRowQueryCriteria: &tablestore.SingleRowQueryCriteria{
		TableName: "t", PrimaryKey: pk("a", 1), TimeRange: &tablestore.TimeRange{Specific: now},
	}}); err != nil {
		t.Fatal(err)
	}
}

func TestUpdateTableRefusesUpdateFullRow(t *testing.T) {
	e := newEnv(t)
	e.createTable("t", 1)
	_, err := e.client.UpdateTable(&tablestore.UpdateTableRequest{TableName: "t", TableOption: &tablestore.TableOption{
		TimeToAlive: -1, MaxVersion: 1, UpdateFullRow: proto.Bool(true),
	}})
	if oe := otsErr(t, err, "OTSParameterInvalid"); !strings.Contains(oe.Message, "contain updateFullRow") {
		t.Fatalf("message %q", oe.Message)
	}
}

func TestGetRangeSimpleRowMatrix(t *testing.T) {
	e := newEnv(t)
	e.createTable("t", 3)
	e.put("t", "a", 1, map[string]any{"s": "x", "i": int64(7), "d": 1.5, "b": true, "bin": []byte{0, 1}})
	e.put("t", "a", 1, map[string]any{"s": "newer"}) // replaces the row; the matrix holds the newest version of s
	e.put("t", "b", 2, map[string]any{"i": int64(-3)})
	e.put("t", "c", 3, nil)
	q := tablestore.RangeRowQueryCriteria{TableName: "t", StartPrimaryKey: infPK(true), EndPrimaryKey: infPK(false), MaxVersion: 1}
	plain, err := e.client.GetRange(&tablestore.GetRangeRequest{RangeRowQueryCriteria: &q})
	if err != nil {
		t.Fatal(err)
	}
	q.DataBlockType = tablestore.SimpleRowMatrix
	matrix, err := e.client.GetRange(&tablestore.GetRangeRequest{RangeRowQueryCriteria: &q})
	if err != nil {
		t.Fatal(err)
	}
	if matrix.DataBlockType != tablestore.SimpleRowMatrix || plain.DataBlockType != tablestore.PlainBuffer {
		t.Fatalf("block types: matrix answer %v, plain answer %v", matrix.DataBlockType, plain.DataBlockType)
	}
	if len(matrix.Rows) != 3 || len(plain.Rows) != 3 {
		t.Fatalf("rows: matrix %d, plain %d", len(matrix.Rows), len(plain.Rows))
	}
	for i := range plain.Rows {
		p, m := plain.Rows[i], matrix.Rows[i]
		if p.PrimaryKey.PrimaryKeys[0].Value != m.PrimaryKey.PrimaryKeys[0].Value || p.PrimaryKey.PrimaryKeys[1].Value != m.PrimaryKey.PrimaryKeys[1].Value {
			t.Fatalf("row %d keys differ", i)
		}
		if len(p.Columns) != len(m.Columns) {
			t.Fatalf("row %d: plain %d columns, matrix %d", i, len(p.Columns), len(m.Columns))
		}
		for j := range p.Columns {
			pv, mv := p.Columns[j].Value, m.Columns[j].Value
			if pb, ok := pv.([]byte); ok {
				pv, mv = string(pb), string(mv.([]byte))
			}
			if p.Columns[j].ColumnName != m.Columns[j].ColumnName || pv != mv {
				t.Fatalf("row %d column %d: plain %s=%v, matrix %s=%v", i, j, p.Columns[j].ColumnName, pv, m.Columns[j].ColumnName, mv)
			}
		}
	}
	if got := colValues(matrix.Rows[0].Columns)["s"]; len(got) != 1 || got[0] != "newer" {
		t.Fatalf("matrix s = %v, want the newest version only", got)
	}
	// columns_to_get names the fields.
	q.ColumnsToGet = []string{"i"}
	only, err := e.client.GetRange(&tablestore.GetRangeRequest{RangeRowQueryCriteria: &q})
	q.DataBlockType = tablestore.PlainBuffer
	onlyPlain, err2 := e.client.GetRange(&tablestore.GetRangeRequest{RangeRowQueryCriteria: &q})
	if err != nil || err2 != nil || len(only.Rows) != len(onlyPlain.Rows) || len(only.Rows[0].Columns) != 1 {
		t.Fatalf("matrix with columns_to_get: %+v %v; plain %+v %v", only, err, onlyPlain, err2)
	}
	if len(only.Rows) != 1 || only.Rows[0].Columns[0].Value != int64(-3) {
		t.Fatalf("matrix with columns_to_get [i]: %d rows, want only row b (a PutRow replaced row a)", len(only.Rows))
	}
}

// clock is a settable data clock for Config.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func readStream(t *testing.T, e *env, iter *tablestore.ShardIterator) (*tablestore.ShardIterator, []*tablestore.StreamRecord) {
	t.Helper()
	var all []*tablestore.StreamRecord
	for {
		resp, err := e.client.GetStreamRecord(&tablestore.GetStreamRecordRequest{ShardIterator: iter})
		if err != nil {
			t.Fatalf("GetStreamRecord: %v", err)
		}
		all = append(all, resp.Records...)
		if resp.NextShardIterator == nil || *resp.NextShardIterator == *iter {
			return iter, all
		}
		iter = resp.NextShardIterator
	}
}

func TestStreamAPI(t *testing.T) {
	clk := &clock{now: time.Now()}
	e := newEnv(t, func(c *Config) { c.Shards = 2; c.Now = clk.Now })
	e.createTable("plain", 1)
	e.put("plain", "before", 1, map[string]any{"c": "not in the stream"})
	if resp, err := e.client.ListStream(&tablestore.ListStreamRequest{TableName: proto.String("plain")}); err != nil || len(resp.Streams) != 0 {
		t.Fatalf("ListStream of a table without stream: %+v %v", resp, err)
	}
	clk.add(time.Millisecond)
	if _, err := e.client.UpdateTable(&tablestore.UpdateTableRequest{TableName: "plain", StreamSpec: &tablestore.StreamSpecification{EnableStream: true, ExpirationTime: 24}}); err != nil {
		t.Fatal(err)
	}
	clk.add(time.Millisecond)
	ls, err := e.client.ListStream(&tablestore.ListStreamRequest{})
	if err != nil || len(ls.Streams) != 1 || *ls.Streams[0].TableName != "plain" || ls.Streams[0].CreationTime <= 0 {
		t.Fatalf("ListStream: %+v %v", ls, err)
	}
	ds, err := e.client.DescribeStream(&tablestore.DescribeStreamRequest{StreamId: ls.Streams[0].Id})
	if err != nil || *ds.TableName != "plain" || ds.ExpirationTime != 24 || ds.Status != tablestore.SS_Active || len(ds.Shards) != 2 {
		t.Fatalf("DescribeStream: %+v %v", ds, err)
	}
	limit := int32(1)
	page, err := e.client.DescribeStream(&tablestore.DescribeStreamRequest{StreamId: ls.Streams[0].Id, ShardLimit: &limit})
	if err != nil || len(page.Shards) != 1 || page.NextShardId == nil || *page.NextShardId != *ds.Shards[1].SelfShard {
		t.Fatalf("DescribeStream page: %+v %v", page, err)
	}
	iters := map[string]*tablestore.ShardIterator{}
	for _, sh := range ds.Shards {
		it, err := e.client.GetShardIterator(&tablestore.GetShardIteratorRequest{StreamId: ls.Streams[0].Id, ShardId: sh.SelfShard})
		if err != nil {
			t.Fatal(err)
		}
		iters[string(*sh.SelfShard)] = it.ShardIterator
	}
	readAll := func() []*tablestore.StreamRecord {
		var out []*tablestore.StreamRecord
		for id, it := range iters {
			var recs []*tablestore.StreamRecord
			iters[id], recs = readStream(t, e, it)
			out = append(out, recs...)
		}
		return out
	}
	if recs := readAll(); len(recs) != 0 {
		t.Fatalf("records written before the stream was enabled: %v", recs)
	}
	e.put("plain", "row", 1, map[string]any{"del": "x", "delall": true, "upd": int64(1)})
	recs := readAll()
	if len(recs) != 1 || recs[0].Type != tablestore.AT_Put || recs[0].Info == nil || len(recs[0].Columns) != 3 || recs[0].Columns[0].Timestamp == nil {
		t.Fatalf("put record: %v", recs)
	}
	ts := *recs[0].Columns[0].Timestamp
	upd := &tablestore.UpdateRowChange{TableName: "plain", PrimaryKey: pk("row", 1)}
	upd.DeleteColumnWithTimestamp("del", ts)
	upd.DeleteColumn("delall")
	upd.PutColumn("upd", 2.5)
	upd.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
	if _, err := e.client.UpdateRow(&tablestore.UpdateRowRequest{UpdateRowChange: upd}); err != nil {
		t.Fatal(err)
	}
	recs = readAll()
	if len(recs) != 1 || recs[0].Type != tablestore.AT_Update || len(recs[0].Columns) != 3 {
		t.Fatalf("update record: %v", recs)
	}
	cols := recs[0].Columns
	if cols[0].Type != tablestore.RCT_DeleteOneVersion || *cols[0].Timestamp != ts || cols[1].Type != tablestore.RCT_DeleteAllVersions || cols[1].Timestamp != nil || cols[2].Value != 2.5 {
		t.Fatalf("update record columns: %v", recs[0])
	}
	del := &tablestore.DeleteRowChange{TableName: "plain", PrimaryKey: pk("row", 1)}
	del.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
	if _, err := e.client.DeleteRow(&tablestore.DeleteRowRequest{DeleteRowChange: del}); err != nil {
		t.Fatal(err)
	}
	if recs = readAll(); len(recs) != 1 || recs[0].Type != tablestore.AT_Delete || len(recs[0].Columns) != 0 || recs[0].Info == nil {
		t.Fatalf("delete record: %v", recs)
	}

	// Past the stream's expiration time the data is trimmed.
	e.put("plain", "late", 1, map[string]any{"c": "v"})
	clk.add(25 * time.Hour)
	trimmed := 0
	for _, it := range iters {
		_, err := e.client.GetStreamRecord(&tablestore.GetStreamRecordRequest{ShardIterator: it})
		if err != nil {
			if oe := otsErr(t, err, "OTSTrimmedDataAccess"); oe.HttpStatusCode != http.StatusNotFound {
				t.Fatalf("trimmed status %d", oe.HttpStatusCode)
			}
			trimmed++
		}
	}
	if trimmed != 1 {
		t.Fatalf("%d shards answered OTSTrimmedDataAccess, want the one holding the expired record", trimmed)
	}
	_, err = e.client.GetStreamRecord(&tablestore.GetStreamRecordRequest{ShardIterator: (*tablestore.ShardIterator)(proto.String("not-an-iterator"))})
	otsErr(t, err, "OTSParameterInvalid")
	// A disabled stream is gone.
	if _, err := e.client.UpdateTable(&tablestore.UpdateTableRequest{TableName: "plain", StreamSpec: &tablestore.StreamSpecification{EnableStream: false}}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.DescribeStream(&tablestore.DescribeStreamRequest{StreamId: ls.Streams[0].Id})
	otsErr(t, err, "OTSObjectNotExist")
}

// The real service's exact messages, as the Python SDK's tests against it
// compare them (aliyun-tablestore-python-sdk tests/row_op_test.py).
func TestRealServiceMessages(t *testing.T) {
	e := newEnv(t)
	e.createTable("t", 1)
	message := func(err error, code, want string) {
		t.Helper()
		if oe := otsErr(t, err, code); oe.Message != want {
			t.Fatalf("%s message %q, want %q", code, oe.Message, want)
		}
	}
	upd := &tablestore.UpdateRowChange{TableName: "t", PrimaryKey: pk("a", 1)}
	upd.PutColumn("c", "v")
	upd.SetCondition(tablestore.RowExistenceExpectation_EXPECT_EXIST)
	_, err := e.client.UpdateRow(&tablestore.UpdateRowRequest{UpdateRowChange: upd})
	message(err, "OTSConditionCheckFail", "Condition check failed.")

	short := new(tablestore.PrimaryKey)
	short.AddPrimaryKeyColumn("id", "a")
	_, err = e.client.GetRow(&tablestore.GetRowRequest{SingleRowQueryCriteria: &tablestore.SingleRowQueryCriteria{TableName: "t", PrimaryKey: short, MaxVersion: 1}})
	message(err, "OTSInvalidPK", "Validate PK size fail. Input: 1, Meta: 2.")
	renamed := new(tablestore.PrimaryKey)
	renamed.AddPrimaryKeyColumn("other", "a")
	renamed.AddPrimaryKeyColumn("n", int64(1))
	_, err = e.client.GetRow(&tablestore.GetRowRequest{SingleRowQueryCriteria: &tablestore.SingleRowQueryCriteria{TableName: "t", PrimaryKey: renamed, MaxVersion: 1}})
	message(err, "OTSInvalidPK", "Validate PK name fail. Input: other, Meta: id.")

	readErr := func(op string, m protoadapt.MessageV1) (int, string) {
		t.Helper()
		code, body := postRaw(t, e, op, m)
		var pe otsprotocol.Error
		if code != http.StatusOK {
			if err := unmarshal(body, &pe); err != nil {
				t.Fatal(err)
			}
		}
		return code, pe.GetMessage()
	}
	wrongType := new(tablestore.PrimaryKey)
	wrongType.AddPrimaryKeyColumn("id", int64(1))
	wrongType.AddPrimaryKeyColumn("n", int64(1))
	_, err = e.client.GetRow(&tablestore.GetRowRequest{SingleRowQueryCriteria: &tablestore.SingleRowQueryCriteria{TableName: "t", PrimaryKey: wrongType, MaxVersion: 1}})
	message(err, "OTSInvalidPK", "Validate PK type fail. Input: VT_INTEGER, Meta: VT_STRING.")

	// INF_MIN / INF_MAX name no row: refused for the whole request
	// (aliyun-tablestore-java-sdk functiontest/ParameterLegalityTest.java).
	infRow := new(tablestore.PrimaryKey)
	infRow.AddPrimaryKeyColumnWithMinValue("id")
	infRow.AddPrimaryKeyColumn("n", int64(1))
	_, err = e.client.GetRow(&tablestore.GetRowRequest{SingleRowQueryCriteria: &tablestore.SingleRowQueryCriteria{TableName: "t", PrimaryKey: infRow, MaxVersion: 1}})
	message(err, "OTSParameterInvalid", "VT_INF_MIN is an invalid type for the primary key.")
	// The Go SDK encodes an INF value in a written row as AUTO_INCREMENT, so
	// the writes go as raw protobuf.
	infPut := pb.EncodeRow(&pb.Row{PrimaryKey: []pb.Cell{{Name: "id", Value: pb.InfMin()}, {Name: "n", Value: pb.Int(1)}}, Cells: []pb.Cell{{Name: "c", Value: pb.String("v")}}})
	fine := pb.EncodeRow(&pb.Row{PrimaryKey: []pb.Cell{{Name: "id", Value: pb.String("fine")}, {Name: "n", Value: pb.Int(1)}}, Cells: []pb.Cell{{Name: "c", Value: pb.String("v")}}})
	ign := &otsprotocol.Condition{RowExistence: otsprotocol.RowExistenceExpectation_IGNORE.Enum()}
	if code, msg := readErr("/PutRow", &otsprotocol.PutRowRequest{TableName: proto.String("t"), Row: infPut, Condition: ign}); code != 400 || msg != "VT_INF_MIN is an invalid type for the primary key." {
		t.Fatalf("PutRow with INF_MIN: %d %q", code, msg)
	}
	if code, msg := readErr("/BatchWriteRow", &otsprotocol.BatchWriteRowRequest{Tables: []*otsprotocol.TableInBatchWriteRowRequest{{TableName: proto.String("t"), Rows: []*otsprotocol.RowInBatchWriteRowRequest{
		{Type: otsprotocol.OperationType_PUT.Enum(), RowChange: fine, Condition: ign},
		{Type: otsprotocol.OperationType_PUT.Enum(), RowChange: infPut, Condition: ign},
	}}}}); code != 400 || msg != "VT_INF_MIN is an invalid type for the primary key." {
		t.Fatalf("BatchWriteRow with INF_MIN: %d %q", code, msg)
	}
	if len(e.get("t", "fine", 1, 1).Columns) != 0 {
		t.Fatal("a refused batch wrote its other row")
	}
	crit := &tablestore.MultiRowQueryCriteria{TableName: "t", MaxVersion: 1}
	crit.AddRow(pk("fine", 1))
	crit.AddRow(infRow)
	_, err = e.client.BatchGetRow(&tablestore.BatchGetRowRequest{MultiRowQueryCriteria: []*tablestore.MultiRowQueryCriteria{crit}})
	message(err, "OTSParameterInvalid", "VT_INF_MIN is an invalid type for the primary key.")

	// No version condition: the GetRow/GetRange and the BatchGetRow wording.
	code, body := postRaw(t, e, "/GetRow", &otsprotocol.GetRowRequest{TableName: proto.String("t"), PrimaryKey: pk("a", 1).Build(false)})
	var pe otsprotocol.Error
	if err := unmarshal(body, &pe); err != nil || code != 400 || pe.GetMessage() != "No version condition is specified." {
		t.Fatalf("GetRow without a version condition: %d %q %v", code, pe.GetMessage(), err)
	}
	code, body = postRaw(t, e, "/BatchGetRow", &otsprotocol.BatchGetRowRequest{Tables: []*otsprotocol.TableInBatchGetRowRequest{{TableName: proto.String("t"), PrimaryKey: [][]byte{pk("a", 1).Build(false)}}}})
	if err := unmarshal(body, &pe); err != nil || code != 400 || pe.GetMessage() != "No version condition is specified while querying row." {
		t.Fatalf("BatchGetRow without a version condition: %d %q %v", code, pe.GetMessage(), err)
	}

	rangeErr := func(start, end *tablestore.PrimaryKey, dir tablestore.Direction) error {
		_, err := e.client.GetRange(&tablestore.GetRangeRequest{RangeRowQueryCriteria: &tablestore.RangeRowQueryCriteria{
			TableName: "t", StartPrimaryKey: start, EndPrimaryKey: end, Direction: dir, MaxVersion: 1,
		}})
		return err
	}
	message(rangeErr(pk("b", 1), pk("a", 1), tablestore.FORWARD), "OTSParameterInvalid", "Begin key must less than end key in FORWARD")
	message(rangeErr(pk("a", 1), pk("a", 1), tablestore.FORWARD), "OTSParameterInvalid", "Begin key must less than end key in FORWARD")
	message(rangeErr(pk("a", 1), pk("b", 1), tablestore.BACKWARD), "OTSParameterInvalid", "Begin key must more than end key in BACKWARD")
	if err := rangeErr(infPK(false), infPK(true), tablestore.BACKWARD); err != nil {
		t.Fatalf("backward full-table GetRange: %v", err)
	}

	// Batches: no table, and a table without rows.
	if code, msg := readErr("/BatchWriteRow", &otsprotocol.BatchWriteRowRequest{}); code != 400 || msg != "No row is specified in BatchWriteRow." {
		t.Fatalf("empty BatchWriteRow: %d %q", code, msg)
	}
	if code, msg := readErr("/BatchWriteRow", &otsprotocol.BatchWriteRowRequest{Tables: []*otsprotocol.TableInBatchWriteRowRequest{{TableName: proto.String("t")}}}); code != 400 || msg != "No operation is specified for table: 't'." {
		t.Fatalf("BatchWriteRow with a table without rows: %d %q", code, msg)
	}
	dupMeta := &tablestore.TableMeta{TableName: "dup"}
	dupMeta.AddPrimaryKeyColumn("PK0", tablestore.PrimaryKeyType_STRING)
	dupMeta.AddPrimaryKeyColumn("PK0", tablestore.PrimaryKeyType_INTEGER)
	_, err = e.client.CreateTable(&tablestore.CreateTableRequest{TableMeta: dupMeta, TableOption: &tablestore.TableOption{TimeToAlive: -1, MaxVersion: 1}, ReservedThroughput: &tablestore.ReservedThroughput{}})
	message(err, "OTSParameterInvalid", "Duplicated primary key name: 'PK0'.")

	if code, msg := readErr("/BatchGetRow", &otsprotocol.BatchGetRowRequest{}); code != 400 || msg != "No row specified in the request of BatchGetRow." {
		t.Fatalf("empty BatchGetRow: %d %q", code, msg)
	}
	if code, msg := readErr("/BatchGetRow", &otsprotocol.BatchGetRowRequest{Tables: []*otsprotocol.TableInBatchGetRowRequest{{TableName: proto.String("t"), MaxVersions: proto.Int32(1)}}}); code != 200 {
		t.Fatalf("BatchGetRow with a table without rows: %d %q, want 200", code, msg)
	}
}

// The Java SDK's stream function tests against the real service
// (functiontest/APITest.java testStreamWithMayMoreRecord and
// testStreamWithLongTableName).
func TestStreamPagingAndLongTableNames(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Shards = 1 })
	enable := func(name string) *tablestore.ShardIterator {
		t.Helper()
		// The Go SDK refuses table names over 100 characters before sending
		// (util.go maxTableNameLength); the service allows 255.
		code, body := postRaw(t, e, "/CreateTable", &otsprotocol.CreateTableRequest{
			TableMeta: &otsprotocol.TableMeta{TableName: proto.String(name), PrimaryKey: []*otsprotocol.PrimaryKeySchema{
				{Name: proto.String("id"), Type: otsprotocol.PrimaryKeyType_STRING.Enum()},
				{Name: proto.String("n"), Type: otsprotocol.PrimaryKeyType_INTEGER.Enum()},
			}},
			ReservedThroughput: &otsprotocol.ReservedThroughput{CapacityUnit: &otsprotocol.CapacityUnit{Read: proto.Int32(0), Write: proto.Int32(0)}},
			TableOptions:       &otsprotocol.TableOptions{TimeToLive: proto.Int32(-1), MaxVersions: proto.Int32(1)},
		})
		if code != http.StatusOK {
			t.Fatalf("CreateTable %s: %d %q", name, code, body)
		}
		if _, err := e.client.UpdateTable(&tablestore.UpdateTableRequest{TableName: name, StreamSpec: &tablestore.StreamSpecification{EnableStream: true, ExpirationTime: 168}}); err != nil {
			t.Fatal(err)
		}
		ls, err := e.client.ListStream(&tablestore.ListStreamRequest{TableName: proto.String(name)})
		if err != nil || len(ls.Streams) != 1 {
			t.Fatalf("ListStream %s: %+v %v", name, ls, err)
		}
		ds, err := e.client.DescribeStream(&tablestore.DescribeStreamRequest{StreamId: ls.Streams[0].Id})
		if err != nil {
			t.Fatal(err)
		}
		it, err := e.client.GetShardIterator(&tablestore.GetShardIteratorRequest{StreamId: ls.Streams[0].Id, ShardId: ds.Shards[0].SelfShard})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond) // writes come after the enabling
		for i := range 10 {
			e.put(name, "r", int64(i), map[string]any{"col": int64(i)})
		}
		return it.ShardIterator
	}
	iter := enable("paged")
	limit := int32(1)
	for i := range 10 {
		resp, err := e.client.GetStreamRecord(&tablestore.GetStreamRecordRequest{ShardIterator: iter, Limit: &limit})
		if err != nil || len(resp.Records) != 1 || resp.MayMoreRecord == nil || !*resp.MayMoreRecord {
			t.Fatalf("read %d: %+v %v", i, resp, err)
		}
		iter = resp.NextShardIterator
	}
	resp, err := e.client.GetStreamRecord(&tablestore.GetStreamRecordRequest{ShardIterator: iter, Limit: &limit})
	if err != nil || len(resp.Records) != 0 || resp.MayMoreRecord == nil || *resp.MayMoreRecord {
		t.Fatalf("read past the end: %+v %v", resp, err)
	}

	long := strings.Repeat("a", maxStreamTableName+1)
	_, err = e.client.GetStreamRecord(&tablestore.GetStreamRecordRequest{ShardIterator: enable(long)})
	if oe := otsErr(t, err, "OTSParameterInvalid"); !strings.HasPrefix(oe.Message, "Invalid stream id") {
		t.Fatalf("message %q", oe.Message)
	}
	fits := strings.Repeat("b", maxStreamTableName)
	if _, recs := readStream(t, e, enable(fits)); len(recs) != 10 {
		t.Fatalf("table name of %d characters: %d records, want 10", len(fits), len(recs))
	}
}

// Limits of the real service with its messages
// (aliyun-tablestore-java-sdk functiontest/RestrictedItemTest.java).
func TestRealServiceLimits(t *testing.T) {
	e := newEnv(t)
	e.createTable("t", 1)
	message := func(err error, want string) {
		t.Helper()
		if oe := otsErr(t, err, "OTSParameterInvalid"); oe.Message != want {
			t.Fatalf("message %q, want %q", oe.Message, want)
		}
	}
	longKey := pk(strings.Repeat("k", 1025), 1)
	put := &tablestore.PutRowChange{TableName: "t", PrimaryKey: longKey}
	put.AddColumn("c", "v")
	put.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
	_, err := e.client.PutRow(&tablestore.PutRowRequest{PutRowChange: put})
	message(err, "The length of primary key column: 'id' exceeds the MaxLength:1024 with CurrentLength:1025.")
	crit := &tablestore.MultiRowQueryCriteria{TableName: "t", MaxVersion: 1}
	crit.AddRow(pk("short", 1))
	crit.AddRow(longKey)
	_, err = e.client.BatchGetRow(&tablestore.BatchGetRowRequest{MultiRowQueryCriteria: []*tablestore.MultiRowQueryCriteria{crit}})
	message(err, "The length of primary key column: 'id' exceeds the MaxLength:1024 with CurrentLength:1025.")
	if _, err := e.client.PutRow(&tablestore.PutRowRequest{PutRowChange: atomicPut("t", strings.Repeat("k", 1024), 1, tablestore.RowExistenceExpectation_IGNORE)}); err != nil {
		t.Fatalf("a key of 1024 bytes: %v", err)
	}

	big := &tablestore.PutRowChange{TableName: "t", PrimaryKey: pk("big", 1)}
	big.AddColumn("attr", strings.Repeat("x", 2<<20+1))
	big.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
	batch := &tablestore.BatchWriteRowRequest{}
	batch.AddRowChange(atomicPut("t", "fine", 1, tablestore.RowExistenceExpectation_IGNORE))
	batch.AddRowChange(big)
	_, err = e.client.BatchWriteRow(batch)
	message(err, "The length of attribute column: 'attr' exceeds the MaxLength:2097152 with CurrentLength:2097153.")

	wide := &tablestore.PutRowChange{TableName: "t", PrimaryKey: pk("wide", 1)}
	for i := range 1025 {
		wide.AddColumn("c"+itoa(int64(i)), int64(i))
	}
	wide.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
	_, err = e.client.PutRow(&tablestore.PutRowRequest{PutRowChange: wide})
	message(err, "The number of attribute columns exceeds the limit, limit count: 1024, column count: 1025.")

	q := &tablestore.SingleRowQueryCriteria{TableName: "t", PrimaryKey: pk("wide", 1), MaxVersion: 1}
	for i := range 1025 {
		q.AddColumnToGet("c" + itoa(int64(i)))
	}
	_, err = e.client.GetRow(&tablestore.GetRowRequest{SingleRowQueryCriteria: q})
	message(err, "The number of columns from the request exceeds the limit, limit count: 1024, column count: 1025.")

	meta := &tablestore.TableMeta{TableName: "five"}
	for i := range 5 {
		meta.AddPrimaryKeyColumn("pk"+itoa(int64(i)), tablestore.PrimaryKeyType_STRING)
	}
	_, err = e.client.CreateTable(&tablestore.CreateTableRequest{TableMeta: meta, TableOption: &tablestore.TableOption{TimeToAlive: -1, MaxVersion: 1}, ReservedThroughput: &tablestore.ReservedThroughput{}})
	message(err, "The number of primary key columns must be in range: [1, 4].")
}

// TestStreamShardsFollowPartitionSplits: after a split, DescribeStream lists
// the parent and its two children (each naming the parent); the parent's
// shard ends (no next iterator) after what was written before the split, and
// what is written after it is read from the children.
func TestStreamShardsFollowPartitionSplits(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Shards = 1 })
	e.createTable("split", 1)
	if _, err := e.client.UpdateTable(&tablestore.UpdateTableRequest{TableName: "split", StreamSpec: &tablestore.StreamSpecification{EnableStream: true, ExpirationTime: 24}}); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		e.put("split", fmt.Sprintf("k%02d", i), 1, map[string]any{"v": int64(i)})
	}
	ls, err := e.client.ListStream(&tablestore.ListStreamRequest{TableName: proto.String("split")})
	if err != nil || len(ls.Streams) != 1 {
		t.Fatalf("ListStream: %+v %v", ls, err)
	}
	streamID := ls.Streams[0].Id
	before, err := e.client.DescribeStream(&tablestore.DescribeStreamRequest{StreamId: streamID})
	if err != nil || len(before.Shards) != 1 {
		t.Fatalf("DescribeStream before the split: %+v %v", before, err)
	}
	parent := string(*before.Shards[0].SelfShard)
	it, err := e.client.GetShardIterator(&tablestore.GetShardIteratorRequest{StreamId: streamID, ShardId: before.Shards[0].SelfShard})
	if err != nil {
		t.Fatal(err)
	}
	if code, out := adminSplit(t, e, "split", ""); code != http.StatusOK || out["parent"] != parent {
		t.Fatalf("split: %d %v", code, out)
	}
	for i := 20; i < 30; i++ {
		e.put("split", fmt.Sprintf("k%02d", i), 1, map[string]any{"v": int64(i)})
	}
	// The parent's shard: the 20 rows written before the split, then its end.
	var parentRecs []*tablestore.StreamRecord
	for iter := it.ShardIterator; iter != nil; {
		resp, err := e.client.GetStreamRecord(&tablestore.GetStreamRecordRequest{ShardIterator: iter})
		if err != nil {
			t.Fatal(err)
		}
		parentRecs = append(parentRecs, resp.Records...)
		if resp.NextShardIterator != nil && *resp.NextShardIterator == *iter {
			t.Fatal("the split parent's shard never ends (same iterator returned)")
		}
		iter = resp.NextShardIterator
	}
	if len(parentRecs) != 20 {
		t.Fatalf("parent shard gave %d records, want the 20 written before the split", len(parentRecs))
	}
	after, err := e.client.DescribeStream(&tablestore.DescribeStreamRequest{StreamId: streamID})
	if err != nil || len(after.Shards) != 3 {
		t.Fatalf("DescribeStream after the split: %+v %v", after, err)
	}
	children := 0
	var childRecs []*tablestore.StreamRecord
	for _, sh := range after.Shards {
		if string(*sh.SelfShard) == parent {
			continue
		}
		if sh.FatherShard == nil || string(*sh.FatherShard) != parent {
			t.Fatalf("child shard %s does not name its parent %s: %+v", *sh.SelfShard, parent, sh)
		}
		children++
		cit, err := e.client.GetShardIterator(&tablestore.GetShardIteratorRequest{StreamId: streamID, ShardId: sh.SelfShard})
		if err != nil {
			t.Fatal(err)
		}
		_, recs := readStream(t, e, cit.ShardIterator)
		childRecs = append(childRecs, recs...)
	}
	if children != 2 || len(childRecs) != 10 {
		t.Fatalf("%d children gave %d records, want 2 children with the 10 rows written after the split", children, len(childRecs))
	}
}
