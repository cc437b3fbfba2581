package catalog

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

const (
	keyID  = "local-dev-key"
	secret = "local-dev-secret"
)

// localInstance starts the local cloud (its Tablestore endpoint over real
// HTTP) and returns that endpoint and an SDK client to prepare tables.
func localInstance(t *testing.T) (string, *tablestore.TableStoreClient) {
	t.Helper()
	lc, err := localcloud.Start(context.Background(), localcloud.Config{DataDir: t.TempDir(),
		Instance: "local", Region: "cn-hangzhou", Credentials: map[string]string{keyID: secret}, Shards: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lc.Close() })
	return lc.TablestoreURL, tablestore.NewClient(lc.TablestoreURL, lc.Instance, keyID, secret)
}

func createOrders(t *testing.T, c *tablestore.TableStoreClient) {
	t.Helper()
	meta := &tablestore.TableMeta{TableName: "orders"}
	meta.AddPrimaryKeyColumn("shop", tablestore.PrimaryKeyType_STRING)
	meta.AddPrimaryKeyColumn("id", tablestore.PrimaryKeyType_INTEGER)
	meta.AddDefinedColumn("price", tablestore.DefinedColumn_DOUBLE)
	meta.AddDefinedColumn("paid", tablestore.DefinedColumn_BOOLEAN)
	_, err := c.CreateTable(&tablestore.CreateTableRequest{TableMeta: meta,
		TableOption:        &tablestore.TableOption{TimeToAlive: -1, MaxVersion: 1},
		ReservedThroughput: &tablestore.ReservedThroughput{}})
	if err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	put := func(shop string, id int64, attrs ...any) {
		pk := new(tablestore.PrimaryKey)
		pk.AddPrimaryKeyColumn("shop", shop)
		pk.AddPrimaryKeyColumn("id", id)
		change := &tablestore.PutRowChange{TableName: "orders", PrimaryKey: pk}
		for i := 0; i < len(attrs); i += 2 {
			change.AddColumn(attrs[i].(string), attrs[i+1])
		}
		change.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
		if _, err := c.PutRow(&tablestore.PutRowRequest{PutRowChange: change}); err != nil {
			t.Fatalf("PutRow: %v", err)
		}
	}
	put("a", 1, "price", 9.5, "note", "hello", "qty", int64(3))
	put("a", 2, "note", "world", "blob", []byte{1, 2})
	put("b", 1, "qty", "not-a-number", "flag", true)
}

func TestDescribeAndAutoSchemaAgainstLocalTablestore(t *testing.T) {
	ctx := context.Background()
	endpoint, sdk := localInstance(t)
	createOrders(t, sdk)
	cat, err := NewTablestore(Config{Endpoint: endpoint, Instance: "local", AccessKeyID: keyID, AccessKeySecret: secret,
		Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	desc, err := cat.DescribeTable(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(desc.PrimaryKey, []Column{{"shop", task.TypeUTF8}, {"id", task.TypeInt64}}) ||
		!slices.Equal(desc.Defined, []Column{{"price", task.TypeDouble}, {"paid", task.TypeBool}}) {
		t.Fatalf("DescribeTable = %+v", desc)
	}
	if _, err := cat.DescribeTable(ctx, "missing"); !errors.Is(err, ErrTableNotFound) {
		t.Fatalf("DescribeTable(missing) = %v, want ErrTableNotFound", err)
	}
	cols, err := ResolveAutoSchema(ctx, cat, "orders", DefaultSampleRows)
	if err != nil {
		t.Fatal(err)
	}
	// Primary key, defined columns, then attributes in the order first seen
	// (rows in key order; within a row, columns in name order as stored),
	// typed by their first value: qty is INT64 although a later row has a string.
	var got []string
	for _, c := range cols {
		got = append(got, c.Source+":"+string(c.Type))
		if c.Name != c.Source || c.Encoding != task.EncodingPlain {
			t.Errorf("column %+v: want name = source and PLAIN", c)
		}
	}
	want := []string{"shop:UTF8", "id:INT64", "price:DOUBLE", "paid:BOOL", "note:UTF8", "qty:INT64", "blob:BINARY", "flag:BOOL"}
	if !slices.Equal(got, want) {
		t.Fatalf("auto schema = %v, want %v", got, want)
	}
	// A sample of one row sees only that row's attributes.
	cols, err = ResolveAutoSchema(ctx, cat, "orders", 1)
	if err != nil || len(cols) != 6 {
		t.Fatalf("auto schema from one row = %v, %v; want 6 columns", cols, err)
	}
	if _, err := ResolveAutoSchema(ctx, cat, "missing", 10); !errors.Is(err, ErrTableNotFound) {
		t.Fatalf("ResolveAutoSchema(missing) = %v", err)
	}
}

func TestWrongCredentialsFail(t *testing.T) {
	endpoint, sdk := localInstance(t)
	createOrders(t, sdk)
	cat, _ := NewTablestore(Config{Endpoint: endpoint, Instance: "local", AccessKeyID: keyID, AccessKeySecret: "wrong",
		Timeout: 3 * time.Second})
	_, err := cat.DescribeTable(context.Background(), "orders")
	if err == nil || errors.Is(err, ErrTableNotFound) {
		t.Fatalf("DescribeTable with a wrong secret = %v, want an authentication error", err)
	}
}
