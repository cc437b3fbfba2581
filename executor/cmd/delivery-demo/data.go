package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/bulkload"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/ui"
)

// createTable creates the orders table: one string primary key, so rows
// spread over the local instance's shards by its hash.
func (d *demo) createTable() error {
	meta := &tablestore.TableMeta{TableName: tableName}
	meta.AddPrimaryKeyColumn("order_id", tablestore.PrimaryKeyType_STRING)
	_, err := d.tablestore.CreateTable(&tablestore.CreateTableRequest{
		TableMeta:          meta,
		TableOption:        &tablestore.TableOption{TimeToAlive: -1, MaxVersion: 1},
		ReservedThroughput: &tablestore.ReservedThroughput{},
	})
	if err != nil {
		return fmt.Errorf("create table %q: %w", tableName, err)
	}
	return nil
}

var (
	products = []struct {
		name, category string
		price          float64
	}{
		{"espresso beans 1kg", "grocery", 24.90}, {"green tea 100 bags", "grocery", 7.50}, {"usb-c cable 2m", "electronics", 9.99},
		{"noise cancelling headphones", "electronics", 189.00}, {"mechanical keyboard", "electronics", 94.50},
		{"running shoes", "sports", 79.95}, {"yoga mat", "sports", 25.00}, {"desk lamp", "home", 32.40},
		{"cast iron pan", "home", 41.00}, {"paperback novel", "books", 12.99}, {"cookbook", "books", 29.90},
		{"backpack 30l", "outdoor", 59.00}, {"water bottle", "outdoor", 15.50}, {"phone case", "electronics", 14.90},
	}
	statuses  = []string{"paid", "paid", "paid", "shipped", "shipped", "delivered", "delivered", "delivered", "cancelled", "refunded"}
	countries = []string{"CN", "CN", "CN", "SG", "JP", "DE", "US", "GB", "FR", "AU"}
	methods   = []string{"alipay", "wechat", "card", "card", "bank_transfer"}
)

// orderRow builds order number i, ordered in [since, since+span):
// deterministic, so a rerun writes the same data.
func orderRow(i int, since time.Time, span time.Duration) *tablestore.PutRowChange {
	rng := rand.New(rand.NewPCG(uint64(i), 0x5eed))
	p := products[rng.IntN(len(products))]
	qty := 1 + rng.IntN(4)
	if rng.IntN(20) == 0 {
		qty += 5 + rng.IntN(20) // the odd bulk order
	}
	status := statuses[rng.IntN(len(statuses))]
	orderedAt := since.Add(time.Duration(rng.Int64N(int64(max(span, 1)))))
	pk := new(tablestore.PrimaryKey)
	pk.AddPrimaryKeyColumn("order_id", fmt.Sprintf("ord-%08d", i))
	row := &tablestore.PutRowChange{TableName: tableName, PrimaryKey: pk}
	row.AddColumn("customer_id", fmt.Sprintf("cus-%06d", rng.IntN(50_000)))
	row.AddColumn("product", p.name)
	row.AddColumn("category", p.category)
	row.AddColumn("quantity", int64(qty))
	row.AddColumn("unit_price", p.price)
	row.AddColumn("amount", float64(int64(p.price*float64(qty)*100+0.5))/100)
	row.AddColumn("currency", "CNY")
	row.AddColumn("status", status)
	row.AddColumn("paid", status != "cancelled")
	row.AddColumn("payment_method", methods[rng.IntN(len(methods))])
	row.AddColumn("country", countries[rng.IntN(len(countries))])
	row.AddColumn("ordered_at", orderedAt.UTC().Format(time.RFC3339))
	row.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
	return row
}

// writeOrders writes orders [from, from+n) in batches of 200 rows (the
// service's limit per BatchWriteRow) from a few parallel writers.
func (d *demo) writeOrders(ctx context.Context, from, n int, since time.Time, span time.Duration) error {
	return bulkload.Load(ctx, d.tablestore, tableName, from, n, bulkload.MaxBatchRows, 4, func(i int) tablestore.RowChange {
		return orderRow(i, since, span)
	})
}

// countSource counts the source table's rows through the SDK, as the status
// page does for its progress bar.
func (d *demo) countSource(ctx context.Context) (int64, error) {
	counter, err := ui.NewTablestoreCounter(d.urls["tablestore"], instance, accessKeyID, accessKeySecret)
	if err != nil {
		return 0, err
	}
	n, err := counter.CountRows(ctx, tableName)
	if errors.Is(err, ui.ErrTooManyRows) {
		return 0, fmt.Errorf("source table too large to count: %w", err)
	}
	return n, err
}
