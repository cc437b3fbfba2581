package task

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Dialect is a SQL engine family the DDL endpoint renders for.
type Dialect string

// Dialects.
const (
	// DialectHive: CREATE EXTERNAL TABLE ... PARTITIONED BY ... STORED AS
	// PARQUET LOCATION, then MSCK REPAIR TABLE (Hive, EMR, DLA).
	DialectHive Dialect = "hive"
	// DialectSpark: CREATE TABLE ... USING PARQUET PARTITIONED BY ...
	// LOCATION, then MSCK REPAIR TABLE (Spark SQL, Databricks).
	DialectSpark Dialect = "spark"
	// DialectTrino: CREATE TABLE ... WITH (format, external_location,
	// partitioned_by), then a partition sync call (Trino/Presto Hive connector).
	DialectTrino Dialect = "trino"
	// DialectDuckDB: CREATE OR REPLACE VIEW ... AS SELECT ... FROM
	// read_parquet(..., hive_partitioning = true).
	DialectDuckDB Dialect = "duckdb"
)

// Dialects lists the dialects.
var Dialects = []Dialect{DialectHive, DialectSpark, DialectTrino, DialectDuckDB}

// DDLOptions tune a rendered statement.
type DDLOptions struct {
	// TableName is the lake table (or view) name; default the source table's.
	TableName string
	// Location replaces the base URL of the data, "oss://<bucket>/<static
	// prefix>/" by default ("s3://<bucket>/<static prefix>/" for DuckDB,
	// which reads OSS through its S3-compatible endpoint). Use it for a
	// local copy or another URL scheme. It is the folder holding the first
	// dynamic folder (or the objects, for a flat prefix).
	Location string
}

// DDL renders the statement that makes the delivered objects queryable, from
// the resolved columns (which must be known: auto tasks resolve them during
// initialization) and the prefix: partition columns come from "key=$var"
// folders, typed as integers when the value is one variable.
func DDL(t Task, dialect Dialect, opts DDLOptions) (string, error) {
	if !slices.Contains(Dialects, dialect) {
		return "", fieldErr("dialect", RuleOneOf, "%q must be one of hive, spark, trino, duckdb", dialect)
	}
	cols := t.Status.ResolvedColumns
	if len(cols) == 0 {
		return "", errors.New("the task's columns are not resolved yet (it is still initializing)")
	}
	tmpl, err := ParsePrefix(t.Prefix)
	if err != nil {
		return "", fmt.Errorf("prefix: %w", err)
	}
	name := opts.TableName
	if name == "" {
		name = t.Table
	}
	location := opts.Location
	if location == "" {
		scheme := "oss://"
		if dialect == DialectDuckDB {
			scheme = "s3://"
		}
		location = scheme + t.Bucket + "/"
		if sp := tmpl.StaticPrefix(); sp != "" {
			location += sp + "/"
		}
	}
	if !strings.HasSuffix(location, "/") {
		location += "/"
	}
	keys := tmpl.PartitionKeys()
	r := renderer{dialect: dialect, name: name, cols: cols, keys: keys, location: location,
		depth: tmpl.DynamicFolders(), generations: len(laterColumns(cols, time.Time{})) > 0}
	switch dialect {
	case DialectHive:
		return r.hive(), nil
	case DialectSpark:
		return r.spark(), nil
	case DialectTrino:
		return r.trino(), nil
	default:
		return r.duckdb(), nil
	}
}

type renderer struct {
	dialect  Dialect
	name     string
	cols     []Column
	keys     []PartitionKey
	location string
	depth    int
	// generations: columns were appended after the first objects, so
	// older objects lack some columns.
	generations bool
}

// ident quotes an identifier: backticks for Hive and Spark, double quotes for
// Trino and DuckDB, the quote character doubled inside.
func (r renderer) ident(s string) string {
	switch r.dialect {
	case DialectHive, DialectSpark:
		return "`" + strings.ReplaceAll(s, "`", "``") + "`"
	default:
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
}

// literal quotes a string literal: Hive and Spark escape with backslashes,
// Trino and DuckDB double the quote.
func (r renderer) literal(s string) string {
	switch r.dialect {
	case DialectHive, DialectSpark:
		s = strings.ReplaceAll(s, `\`, `\\`)
		return "'" + strings.ReplaceAll(s, "'", `\'`) + "'"
	default:
		return "'" + strings.ReplaceAll(s, "'", "''") + "'"
	}
}

// SQLType returns the engine type of a column type in a dialect.
func SQLType(d Dialect, t ColumnType) string {
	switch d {
	case DialectTrino:
		return map[ColumnType]string{TypeBool: "boolean", TypeInt64: "bigint", TypeDouble: "double",
			TypeUTF8: "varchar", TypeBinary: "varbinary"}[t]
	case DialectDuckDB:
		return map[ColumnType]string{TypeBool: "BOOLEAN", TypeInt64: "BIGINT", TypeDouble: "DOUBLE",
			TypeUTF8: "VARCHAR", TypeBinary: "BLOB"}[t]
	default:
		return map[ColumnType]string{TypeBool: "boolean", TypeInt64: "bigint", TypeDouble: "double",
			TypeUTF8: "string", TypeBinary: "binary"}[t]
	}
}

func (r renderer) partitionType(k PartitionKey) string {
	switch r.dialect {
	case DialectTrino:
		if k.Integer {
			return "integer"
		}
		return "varchar"
	case DialectDuckDB:
		if k.Integer {
			return "INTEGER"
		}
		return "VARCHAR"
	default:
		if k.Integer {
			return "int"
		}
		return "string"
	}
}

func (r renderer) columnList(withPartitions bool) string {
	lines := make([]string, 0, len(r.cols)+len(r.keys))
	for _, c := range r.cols {
		lines = append(lines, "  "+r.ident(c.Name)+" "+SQLType(r.dialect, c.Type))
	}
	if withPartitions {
		for _, k := range r.keys {
			lines = append(lines, "  "+r.ident(k.Name)+" "+r.partitionType(k))
		}
	}
	return "(\n" + strings.Join(lines, ",\n") + "\n)"
}

func (r renderer) partitionNames() string {
	names := make([]string, len(r.keys))
	for i, k := range r.keys {
		names[i] = r.ident(k.Name)
	}
	return strings.Join(names, ", ")
}

// recursiveNote explains what to set when the objects sit in time folders
// that are not key=value partitions, which Hive-style readers skip by default.
func (r renderer) recursiveNote() string {
	if r.depth > len(r.keys) {
		return "-- The prefix has time folders that are not key=value partitions: enable recursive reads of\n" +
			"-- sub-folders in the engine before querying.\n"
	}
	return ""
}

func (r renderer) hive() string {
	var b strings.Builder
	b.WriteString(r.recursiveNote())
	b.WriteString("CREATE EXTERNAL TABLE IF NOT EXISTS " + r.ident(r.name) + " " + r.columnList(false))
	if len(r.keys) > 0 {
		parts := make([]string, len(r.keys))
		for i, k := range r.keys {
			parts[i] = r.ident(k.Name) + " " + r.partitionType(k)
		}
		b.WriteString("\nPARTITIONED BY (" + strings.Join(parts, ", ") + ")")
	}
	b.WriteString("\nSTORED AS PARQUET\nLOCATION " + r.literal(r.location) + ";\n")
	if len(r.keys) > 0 {
		b.WriteString("MSCK REPAIR TABLE " + r.ident(r.name) + ";\n")
	}
	return b.String()
}

func (r renderer) spark() string {
	var b strings.Builder
	b.WriteString(r.recursiveNote())
	b.WriteString("CREATE TABLE IF NOT EXISTS " + r.ident(r.name) + " " + r.columnList(true))
	b.WriteString("\nUSING PARQUET")
	if len(r.keys) > 0 {
		b.WriteString("\nPARTITIONED BY (" + r.partitionNames() + ")")
	}
	b.WriteString("\nLOCATION " + r.literal(r.location) + ";\n")
	if len(r.keys) > 0 {
		b.WriteString("MSCK REPAIR TABLE " + r.ident(r.name) + ";\n")
	}
	return b.String()
}

func (r renderer) trino() string {
	var b strings.Builder
	b.WriteString(r.recursiveNote())
	b.WriteString("CREATE TABLE IF NOT EXISTS " + r.ident(r.name) + " " + r.columnList(true))
	props := []string{"format = 'PARQUET'", "external_location = " + r.literal(r.location)}
	if len(r.keys) > 0 {
		names := make([]string, len(r.keys))
		for i, k := range r.keys {
			names[i] = r.literal(k.Name)
		}
		props = append(props, "partitioned_by = ARRAY["+strings.Join(names, ", ")+"]")
	}
	b.WriteString("\nWITH (\n  " + strings.Join(props, ",\n  ") + "\n);\n")
	if len(r.keys) > 0 {
		b.WriteString("CALL system.sync_partition_metadata(schema_name => CURRENT_SCHEMA, table_name => " +
			r.literal(r.name) + ", mode => 'ADD');\n")
	}
	return b.String()
}

func (r renderer) duckdb() string {
	cols := make([]string, 0, len(r.cols)+len(r.keys))
	for _, c := range r.cols {
		cols = append(cols, r.ident(c.Name))
	}
	for _, k := range r.keys {
		cols = append(cols, r.ident(k.Name))
	}
	// Objects have no extension, so the glob matches every file at the
	// depth where the pipelines write them.
	glob := r.location + strings.Repeat("*/", r.depth) + "*"
	args := []string{r.literal(glob), "hive_partitioning = " + fmt.Sprint(len(r.keys) > 0)}
	if len(r.keys) > 0 {
		types := make([]string, len(r.keys))
		for i, k := range r.keys {
			types[i] = r.literal(k.Name) + ": " + r.partitionType(k)
		}
		args = append(args, "hive_types = {"+strings.Join(types, ", ")+"}")
	}
	if r.generations {
		// Objects written before columns were appended lack them: match
		// columns by name, with nulls where an object has none.
		args = append(args, "union_by_name = true")
	}
	return "CREATE OR REPLACE VIEW " + r.ident(r.name) + " AS\nSELECT " + strings.Join(cols, ", ") +
		"\nFROM read_parquet(" + strings.Join(args, ", ") + ");\n"
}

// laterColumns returns the columns added after since; a zero since means
// after the first column, i.e. the columns appended after the task began.
func laterColumns(cols []Column, since time.Time) []Column {
	if len(cols) == 0 {
		return nil
	}
	if since.IsZero() {
		if cols[0].AddedAt == nil {
			return nil
		}
		since = *cols[0].AddedAt
	}
	var out []Column
	for _, c := range cols {
		if c.AddedAt != nil && c.AddedAt.After(since) {
			out = append(out, c)
		}
	}
	return out
}

// AlterDDL renders the statement that brings a lake table created earlier
// (by DDL, with the columns of the time) up to date: the columns added after
// since (zero: every column appended after the task began), per dialect.
// Hive and Spark: ALTER TABLE ... ADD COLUMNS (CASCADE for Hive's
// partitions); Trino: one ALTER TABLE ... ADD COLUMN IF NOT EXISTS per
// column; DuckDB: the view again (CREATE OR REPLACE VIEW). The engines read
// Parquet columns by name, so older objects give nulls for the new columns.
// It returns "" when no column was added after since.
func AlterDDL(t Task, dialect Dialect, opts DDLOptions, since time.Time) (string, error) {
	create, err := DDL(t, dialect, opts)
	if err != nil {
		return "", err
	}
	added := laterColumns(t.Status.ResolvedColumns, since)
	if len(added) == 0 {
		return "", nil
	}
	name := opts.TableName
	if name == "" {
		name = t.Table
	}
	tmpl, _ := ParsePrefix(t.Prefix) // DDL checked it
	r := renderer{dialect: dialect, name: name, cols: added, keys: tmpl.PartitionKeys()}
	switch dialect {
	case DialectHive, DialectSpark:
		stmt := "ALTER TABLE " + r.ident(name) + " ADD COLUMNS " + r.columnList(false)
		if dialect == DialectHive && len(r.keys) > 0 {
			stmt += " CASCADE" // the partitions' own column lists too
		}
		return stmt + ";\n", nil
	case DialectTrino:
		var b strings.Builder
		for _, c := range added {
			b.WriteString("ALTER TABLE " + r.ident(name) + " ADD COLUMN IF NOT EXISTS " + r.ident(c.Name) + " " +
				SQLType(dialect, c.Type) + ";\n")
		}
		return b.String(), nil
	default:
		return create, nil
	}
}
