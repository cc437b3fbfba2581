package tablestore

import (
	"sort"
	"testing"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"
	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore/otsprotocol"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/kv"
	"github.com/tablestore-delivery/terraform-provider-tablestore/internal/testsupport"
)

// FuzzOperations feeds arbitrary bodies to every operation handler directly
// (no recover wrapper, so a panic fails the fuzz run). Seeds are valid
// requests as the SDK builds them.
func FuzzOperations(f *testing.F) {
	dir := f.TempDir()
	store, err := kv.Open(dir)
	if err != nil {
		f.Fatal(err)
	}
	store.DB().NoSync = true // fuzzing writes; durability is irrelevant here
	f.Cleanup(func() { store.Close() })
	srv, err := New(Config{Credentials: map[string]string{"k": "s"}, Store: store, Logger: testsupport.QuietLogger("")})
	if err != nil {
		f.Fatal(err)
	}
	ops := make([]string, 0, len(srv.ops))
	for op := range srv.ops {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	opIndex := map[string]uint8{}
	for i, op := range ops {
		opIndex[op] = uint8(i)
	}

	mustMarshal := func(m protoadapt.MessageV1) []byte {
		b, err := marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	create := &otsprotocol.CreateTableRequest{
		TableMeta: &otsprotocol.TableMeta{TableName: proto.String("t"), PrimaryKey: []*otsprotocol.PrimaryKeySchema{
			{Name: proto.String("id"), Type: otsprotocol.PrimaryKeyType_STRING.Enum()},
			{Name: proto.String("n"), Type: otsprotocol.PrimaryKeyType_INTEGER.Enum()},
		}},
		ReservedThroughput: &otsprotocol.ReservedThroughput{CapacityUnit: &otsprotocol.CapacityUnit{Read: proto.Int32(0), Write: proto.Int32(0)}},
		TableOptions:       &otsprotocol.TableOptions{TimeToLive: proto.Int32(-1), MaxVersions: proto.Int32(2)},
	}
	if _, e := srv.createTable(&request{op: "/CreateTable", instance: "local", body: mustMarshal(create)}); e != nil {
		f.Fatal(e)
	}
	key := new(tablestore.PrimaryKey)
	key.AddPrimaryKeyColumn("id", "a")
	key.AddPrimaryKeyColumn("n", int64(1))
	put := &tablestore.PutRowChange{TableName: "t", PrimaryKey: key}
	put.AddColumn("v", "x")
	put.AddColumnWithTimestamp("w", 1.5, 99)
	upd := &tablestore.UpdateRowChange{TableName: "t", PrimaryKey: key}
	upd.IncrementColumn("c", 1)
	upd.DeleteColumnWithTimestamp("w", 99)
	upd.DeleteColumn("v")
	ignore := &otsprotocol.Condition{RowExistence: otsprotocol.RowExistenceExpectation_IGNORE.Enum()}
	single := tablestore.NewSingleColumnCondition("v", tablestore.CT_EQUAL, "x")
	comp := tablestore.NewCompositeColumnCondition(tablestore.LO_OR)
	comp.AddFilter(single)
	comp.AddFilter(tablestore.NewSingleColumnCondition("c", tablestore.CT_GREATER_EQUAL, int64(3)))
	withFilter := &otsprotocol.Condition{RowExistence: otsprotocol.RowExistenceExpectation_EXPECT_EXIST.Enum(), ColumnCondition: comp.Serialize()}
	lo, hi := new(tablestore.PrimaryKey), new(tablestore.PrimaryKey)
	lo.AddPrimaryKeyColumnWithMinValue("id")
	lo.AddPrimaryKeyColumnWithMinValue("n")
	hi.AddPrimaryKeyColumnWithMaxValue("id")
	hi.AddPrimaryKeyColumnWithMaxValue("n")

	seeds := map[string]protoadapt.MessageV1{
		"/CreateTable":   create,
		"/ListTable":     &otsprotocol.ListTableRequest{},
		"/DescribeTable": &otsprotocol.DescribeTableRequest{TableName: proto.String("t")},
		"/UpdateTable": &otsprotocol.UpdateTableRequest{TableName: proto.String("t"), TableOptions: &otsprotocol.TableOptions{MaxVersions: proto.Int32(3)},
			StreamSpec: &otsprotocol.StreamSpecification{EnableStream: proto.Bool(true), ExpirationTime: proto.Int32(24)}},
		"/DeleteTable":         &otsprotocol.DeleteTableRequest{TableName: proto.String("gone")},
		"/AddDefinedColumn":    &otsprotocol.AddDefinedColumnRequest{TableName: proto.String("t"), Columns: []*otsprotocol.DefinedColumnSchema{{Name: proto.String("d"), Type: otsprotocol.DefinedColumnType_DCT_STRING.Enum()}}},
		"/DeleteDefinedColumn": &otsprotocol.DeleteDefinedColumnRequest{TableName: proto.String("t"), Columns: []string{"d"}},
		"/PutRow":              &otsprotocol.PutRowRequest{TableName: proto.String("t"), Row: put.Serialize(), Condition: ignore, ReturnContent: &otsprotocol.ReturnContent{ReturnType: otsprotocol.ReturnType_RT_PK.Enum()}},
		"/UpdateRow":           &otsprotocol.UpdateRowRequest{TableName: proto.String("t"), RowChange: upd.Serialize(), Condition: withFilter},
		"/DeleteRow":           &otsprotocol.DeleteRowRequest{TableName: proto.String("t"), PrimaryKey: key.Build(true), Condition: ignore},
		"/GetRow":              &otsprotocol.GetRowRequest{TableName: proto.String("t"), PrimaryKey: key.Build(false), MaxVersions: proto.Int32(1), Filter: single.Serialize()},
		"/BatchGetRow": &otsprotocol.BatchGetRowRequest{Tables: []*otsprotocol.TableInBatchGetRowRequest{{TableName: proto.String("t"), PrimaryKey: [][]byte{key.Build(false)},
			TimeRange: &otsprotocol.TimeRange{StartTime: proto.Int64(0), EndTime: proto.Int64(1 << 50)}}}},
		"/BatchWriteRow": &otsprotocol.BatchWriteRowRequest{Tables: []*otsprotocol.TableInBatchWriteRowRequest{{TableName: proto.String("t"), Rows: []*otsprotocol.RowInBatchWriteRowRequest{
			{Type: otsprotocol.OperationType_PUT.Enum(), RowChange: put.Serialize(), Condition: ignore},
			{Type: otsprotocol.OperationType_UPDATE.Enum(), RowChange: upd.Serialize(), Condition: ignore},
			{Type: otsprotocol.OperationType_DELETE.Enum(), RowChange: key.Build(true), Condition: ignore},
		}}}},
		"/GetRange": &otsprotocol.GetRangeRequest{TableName: proto.String("t"), Direction: otsprotocol.Direction_FORWARD.Enum(), MaxVersions: proto.Int32(1), Limit: proto.Int32(2),
			InclusiveStartPrimaryKey: lo.Build(false), ExclusiveEndPrimaryKey: hi.Build(false), ColumnsToGet: []string{"v"}},
	}
	for op, m := range seeds {
		f.Add(opIndex[op], mustMarshal(m))
	}
	// The Stream API, atomic batches and the SimpleRowMatrix block type.
	more := map[string]protoadapt.MessageV1{
		"/ListStream":       &otsprotocol.ListStreamRequest{TableName: proto.String("t")},
		"/DescribeStream":   &otsprotocol.DescribeStreamRequest{StreamId: proto.String("t_1"), ShardLimit: proto.Int32(1)},
		"/GetShardIterator": &otsprotocol.GetShardIteratorRequest{StreamId: proto.String("t_1"), ShardId: proto.String("0")},
		"/GetStreamRecord":  &otsprotocol.GetStreamRecordRequest{ShardIterator: proto.String(shardIterator{Stream: "t_1", Shard: "0"}.encode()), Limit: proto.Int32(10)},
		"/BatchWriteRow": &otsprotocol.BatchWriteRowRequest{IsAtomic: proto.Bool(true), Tables: []*otsprotocol.TableInBatchWriteRowRequest{{TableName: proto.String("t"), Rows: []*otsprotocol.RowInBatchWriteRowRequest{
			{Type: otsprotocol.OperationType_PUT.Enum(), RowChange: put.Serialize(), Condition: ignore},
			{Type: otsprotocol.OperationType_UPDATE.Enum(), RowChange: upd.Serialize(), Condition: ignore},
		}}}},
		"/GetRange": &otsprotocol.GetRangeRequest{TableName: proto.String("t"), Direction: otsprotocol.Direction_FORWARD.Enum(), MaxVersions: proto.Int32(1),
			InclusiveStartPrimaryKey: lo.Build(false), ExclusiveEndPrimaryKey: hi.Build(false), DataBlockTypeHint: otsprotocol.DataBlockType_DBT_SIMPLE_ROW_MATRIX.Enum()},
	}
	for op, m := range more {
		f.Add(opIndex[op], mustMarshal(m))
	}
	f.Fuzz(func(t *testing.T, opByte uint8, body []byte) {
		op := ops[int(opByte)%len(ops)]
		resp, e := srv.ops[op](&request{op: op, instance: "local", body: body})
		if op == "/DeleteTable" {
			// Keep the table the other operations work on.
			_, _ = srv.createTable(&request{op: "/CreateTable", instance: "local", body: mustMarshal(create)})
		}
		if e != nil {
			if e.Code == "" || e.Message == "" || e.Status < 400 {
				t.Fatalf("%s: malformed protocol error %+v", op, e)
			}
			if e.Status >= 500 {
				t.Fatalf("%s: internal error on client input: %+v", op, e)
			}
			return
		}
		if _, err := marshal(resp); err != nil {
			t.Fatalf("%s: response does not marshal (required field missing?): %v", op, err)
		}
	})
}
