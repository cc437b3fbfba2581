package task

import (
	"strings"
	"testing"
)

func ddlTask(prefix string) Task {
	s := Spec{Name: "orders-lake", Table: "orders", Region: "cn-hangzhou", Bucket: "lake", Prefix: prefix,
		RoleARN: RoleARN(DefaultAccountID, DefaultRoleName)}
	s.ApplyDefaults()
	return Task{Spec: s, Status: Status{Phase: PhaseFull, ResolvedColumns: []Column{
		{Source: "id", Name: "id", Type: TypeInt64},
		{Source: "price", Name: "price", Type: TypeDouble},
		{Source: "note", Name: "note", Type: TypeUTF8},
		{Source: "ok", Name: "ok", Type: TypeBool},
		{Source: "raw", Name: "raw", Type: TypeBinary},
	}}}
}

func TestHiveDDLTimePartitioned(t *testing.T) {
	got, err := DDL(ddlTask("orders/year=$yyyy/month=$MM/day=$dd"), DialectHive, DDLOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := "CREATE EXTERNAL TABLE IF NOT EXISTS `orders` (\n" +
		"  `id` bigint,\n  `price` double,\n  `note` string,\n  `ok` boolean,\n  `raw` binary\n)\n" +
		"PARTITIONED BY (`year` int, `month` int, `day` int)\n" +
		"STORED AS PARQUET\nLOCATION 'oss://lake/orders/';\n" +
		"MSCK REPAIR TABLE `orders`;\n"
	if got != want {
		t.Fatalf("hive DDL:\n%s\nwant:\n%s", got, want)
	}
}

func TestHiveDDLFlat(t *testing.T) {
	got, err := DDL(ddlTask("lake/orders"), DialectHive, DDLOptions{TableName: "my`table"})
	if err != nil {
		t.Fatal(err)
	}
	want := "CREATE EXTERNAL TABLE IF NOT EXISTS `my``table` (\n" +
		"  `id` bigint,\n  `price` double,\n  `note` string,\n  `ok` boolean,\n  `raw` binary\n)\n" +
		"STORED AS PARQUET\nLOCATION 'oss://lake/lake/orders/';\n"
	if got != want {
		t.Fatalf("hive DDL:\n%s\nwant:\n%s", got, want)
	}
}

func TestDDLPerDialect(t *testing.T) {
	partitioned := ddlTask("orders/year=$yyyy/dt=$MM-$dd")
	flat := ddlTask("orders")
	cases := []struct {
		dialect  Dialect
		task     Task
		contains []string
		absent   []string
	}{
		{DialectSpark, partitioned, []string{
			"CREATE TABLE IF NOT EXISTS `orders` (", "`raw` binary,\n  `year` int,\n  `dt` string\n)",
			"USING PARQUET\nPARTITIONED BY (`year`, `dt`)\nLOCATION 'oss://lake/orders/';", "MSCK REPAIR TABLE `orders`;"}, nil},
		{DialectSpark, flat, []string{"USING PARQUET\nLOCATION 'oss://lake/orders/';"}, []string{"PARTITIONED", "MSCK"}},
		{DialectTrino, partitioned, []string{
			`CREATE TABLE IF NOT EXISTS "orders" (`, `"note" varchar`, `"raw" varbinary`, `"year" integer`, `"dt" varchar`,
			"format = 'PARQUET'", "external_location = 'oss://lake/orders/'", "partitioned_by = ARRAY['year', 'dt']",
			"system.sync_partition_metadata"}, nil},
		{DialectTrino, flat, []string{"external_location = 'oss://lake/orders/'"}, []string{"partitioned_by", "sync_partition"}},
		{DialectDuckDB, partitioned, []string{
			`CREATE OR REPLACE VIEW "orders" AS`, `SELECT "id", "price", "note", "ok", "raw", "year", "dt"`,
			"read_parquet('s3://lake/orders/*/*/*', hive_partitioning = true, hive_types = {'year': INTEGER, 'dt': VARCHAR})"}, nil},
		{DialectDuckDB, flat, []string{"read_parquet('s3://lake/orders/*', hive_partitioning = false)"}, []string{"hive_types"}},
		{DialectHive, ddlTask("myPrefix/$yyyy/$MM"), []string{"enable recursive reads", "LOCATION 'oss://lake/myPrefix/'"},
			[]string{"PARTITIONED"}},
	}
	for _, c := range cases {
		got, err := DDL(c.task, c.dialect, DDLOptions{})
		if err != nil {
			t.Fatalf("%s %s: %v", c.dialect, c.task.Prefix, err)
		}
		for _, want := range c.contains {
			if !strings.Contains(got, want) {
				t.Errorf("%s %s: statement lacks %q:\n%s", c.dialect, c.task.Prefix, want, got)
			}
		}
		for _, no := range c.absent {
			if strings.Contains(got, no) {
				t.Errorf("%s %s: statement has %q:\n%s", c.dialect, c.task.Prefix, no, got)
			}
		}
	}
}

func TestDDLQuotesLiteralsAndRejectsUnknownDialect(t *testing.T) {
	tk := ddlTask("orders")
	got, _ := DDL(tk, DialectDuckDB, DDLOptions{Location: "/tmp/it's here", TableName: `a"b`})
	if !strings.Contains(got, `VIEW "a""b"`) || !strings.Contains(got, `'/tmp/it''s here/*'`) {
		t.Fatalf("duckdb quoting: %s", got)
	}
	got, _ = DDL(tk, DialectHive, DDLOptions{Location: `oss://b/it's\x`})
	if !strings.Contains(got, `LOCATION 'oss://b/it\'s\\x/'`) {
		t.Fatalf("hive quoting: %s", got)
	}
	if _, err := DDL(tk, "mysql", DDLOptions{}); err == nil {
		t.Fatal("unknown dialect accepted")
	}
	tk.Status.ResolvedColumns = nil
	if _, err := DDL(tk, DialectHive, DDLOptions{}); err == nil {
		t.Fatal("DDL rendered without resolved columns")
	}
}
