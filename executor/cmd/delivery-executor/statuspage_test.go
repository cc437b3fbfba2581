package main

import (
	"context"
	"fmt"
	"testing"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/ui"
)

// The in-process row counts of the embedded executor must agree with a
// GetRange count through the official SDK, also after deletes.
func TestStorageRowCounterAgreesWithSDKCount(t *testing.T) {
	lc, err := localcloud.Start(context.Background(), localcloud.Config{DataDir: t.TempDir(),
		Credentials: map[string]string{devAccessKeyID: devAccessKeySecret}, Shards: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lc.Close() })

	sdk := tablestore.NewClient(lc.TablestoreURL, lc.Instance, devAccessKeyID, devAccessKeySecret)
	meta := &tablestore.TableMeta{TableName: "events"}
	meta.AddPrimaryKeyColumn("user", tablestore.PrimaryKeyType_STRING)
	meta.AddPrimaryKeyColumn("seq", tablestore.PrimaryKeyType_INTEGER)
	if _, err := sdk.CreateTable(&tablestore.CreateTableRequest{TableMeta: meta,
		TableOption: &tablestore.TableOption{TimeToAlive: -1, MaxVersion: 1}, ReservedThroughput: &tablestore.ReservedThroughput{}}); err != nil {
		t.Fatal(err)
	}
	const written, deleted = 6123, 123
	for start := 0; start < written; start += 200 {
		req := &tablestore.BatchWriteRowRequest{}
		for i := start; i < min(start+200, written); i++ {
			pk := new(tablestore.PrimaryKey)
			pk.AddPrimaryKeyColumn("user", fmt.Sprintf("u%03d", i%97))
			pk.AddPrimaryKeyColumn("seq", int64(i))
			row := &tablestore.PutRowChange{TableName: "events", PrimaryKey: pk}
			row.AddColumn("v", int64(i))
			row.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
			req.AddRowChange(row)
		}
		if _, err := sdk.BatchWriteRow(req); err != nil {
			t.Fatal(err)
		}
	}
	for i := range deleted {
		pk := new(tablestore.PrimaryKey)
		pk.AddPrimaryKeyColumn("user", fmt.Sprintf("u%03d", i%97))
		pk.AddPrimaryKeyColumn("seq", int64(i))
		if _, err := sdk.DeleteRow(&tablestore.DeleteRowRequest{DeleteRowChange: &tablestore.DeleteRowChange{
			TableName: "events", PrimaryKey: pk, Condition: &tablestore.RowCondition{RowExistenceExpectation: tablestore.RowExistenceExpectation_IGNORE}}}); err != nil {
			t.Fatal(err)
		}
	}

	ctx := context.Background()
	sdkCounter, err := ui.NewTablestoreCounter(lc.TablestoreURL, lc.Instance, devAccessKeyID, devAccessKeySecret)
	if err != nil {
		t.Fatal(err)
	}
	viaSDK, err := sdkCounter.CountRows(ctx, "events")
	if err != nil {
		t.Fatal(err)
	}
	// Split a partition first: the count must not depend on how rows are
	// laid out in partitions.
	if _, err := lc.Tablestore.Storage().Split(lc.Instance, "events", ""); err != nil {
		t.Fatal(err)
	}
	counter := storageRowCounter{store: lc.Tablestore.Storage(), instance: lc.Instance}
	keys, err := counter.CountRows(ctx, "events")
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(written - deleted); viaSDK != want || keys != want {
		t.Fatalf("counts: SDK %d, in process %d; want %d", viaSDK, keys, want)
	}
	if _, err := counter.CountRows(ctx, "missing"); err == nil {
		t.Fatal("count of a missing table: want an error")
	}
}
