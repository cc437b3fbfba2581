package bulkload

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/kv"
	localts "github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore"
)

// TestLoadWritesEveryRowOnce loads rows through the SDK into the real local
// Tablestore endpoint and reads them all back.
func TestLoadWritesEveryRowOnce(t *testing.T) {
	store, err := kv.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	srv, err := localts.New(localts.Config{Credentials: map[string]string{"k": "s"}, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	c := tablestore.NewClient(hs.URL, localts.DefaultInstance, "k", "s")
	meta := &tablestore.TableMeta{TableName: "t"}
	meta.AddPrimaryKeyColumn("id", tablestore.PrimaryKeyType_INTEGER)
	if _, err := c.CreateTable(&tablestore.CreateTableRequest{TableMeta: meta,
		TableOption: &tablestore.TableOption{TimeToAlive: -1, MaxVersion: 1}, ReservedThroughput: &tablestore.ReservedThroughput{}}); err != nil {
		t.Fatal(err)
	}
	const from, n = 10, 1234
	err = Load(context.Background(), c, "t", from, n, 97, 3, func(i int) tablestore.RowChange {
		ch := &tablestore.PutRowChange{TableName: "t", PrimaryKey: &tablestore.PrimaryKey{}}
		ch.PrimaryKey.AddPrimaryKeyColumn("id", int64(i))
		ch.AddColumn("v", int64(i*2))
		ch.SetCondition(tablestore.RowExistenceExpectation_EXPECT_NOT_EXIST) // a second write of a row would fail
		return ch
	})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	start := &tablestore.PrimaryKey{}
	start.AddPrimaryKeyColumnWithMinValue("id")
	end := &tablestore.PrimaryKey{}
	end.AddPrimaryKeyColumnWithMaxValue("id")
	for start != nil {
		resp, err := c.GetRange(&tablestore.GetRangeRequest{RangeRowQueryCriteria: &tablestore.RangeRowQueryCriteria{
			TableName: "t", StartPrimaryKey: start, EndPrimaryKey: end, Direction: tablestore.FORWARD, MaxVersion: 1, Limit: 500}})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range resp.Rows {
			id := r.PrimaryKey.PrimaryKeys[0].Value.(int64)
			if seen[id] || id < from || id >= from+n || r.Columns[0].Value.(int64) != id*2 {
				t.Fatalf("row %d: duplicate, out of range or wrong value %v", id, r.Columns[0].Value)
			}
			seen[id] = true
		}
		start = resp.NextStartPrimaryKey
	}
	if len(seen) != n {
		t.Fatalf("%d rows read back, want %d", len(seen), n)
	}
}

func TestLoadRefusesBadBatchShapes(t *testing.T) {
	for _, shape := range [][2]int{{0, 1}, {MaxBatchRows + 1, 1}, {10, 0}} {
		if err := Load(context.Background(), nil, "t", 0, 1, shape[0], shape[1], nil); err == nil {
			t.Errorf("batch rows %d, writers %d: no error", shape[0], shape[1])
		}
	}
}
