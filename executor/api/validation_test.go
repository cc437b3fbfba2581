package api

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/client"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// Every validation rule through the real server and client: a rejected case
// that names the field, and an accepted case next to it.
func TestValidationRules(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, ordersCatalog(), nil)
	type edit func(*task.Spec)
	cols := func(c ...task.Column) edit { return func(s *task.Spec) { s.Columns = c } }
	col := func(source, name string, typ task.ColumnType, enc task.Encoding) task.Column {
		return task.Column{Source: source, Name: name, Type: typ, Encoding: enc}
	}
	cases := []struct {
		rule     string
		rejected edit
		field    string
		accepted edit
	}{
		{"name length", func(s *task.Spec) { s.Name = "ab" }, "name", func(s *task.Spec) { s.Name = "a-b" }},
		{"name max length", func(s *task.Spec) { s.Name = strings.Repeat("a", 17) }, "name",
			func(s *task.Spec) { s.Name = strings.Repeat("b", 16) }},
		{"name charset", func(s *task.Spec) { s.Name = "Orders" }, "name", func(s *task.Spec) { s.Name = "orders2" }},
		{"name starts with letter or digit", func(s *task.Spec) { s.Name = "-abc" }, "name", func(s *task.Spec) { s.Name = "9abc" }},
		{"name ends with letter or digit", func(s *task.Spec) { s.Name = "abc-" }, "name", func(s *task.Spec) { s.Name = "abc-d" }},
		{"name required", func(s *task.Spec) { s.Name = "" }, "name", func(s *task.Spec) { s.Name = "named" }},
		{"table exists", func(s *task.Spec) { s.Table = "missing" }, "table", func(s *task.Spec) { s.Table = "events" }},
		{"table format", func(s *task.Spec) { s.Table = "1-bad" }, "table", func(s *task.Spec) { s.Table = "orders" }},
		{"region is the instance's", func(s *task.Spec) { s.Region = "cn-beijing" }, "region",
			func(s *task.Spec) { s.Region = testRegion }},
		{"region format", func(s *task.Spec) { s.Region = "Hangzhou" }, "region", func(s *task.Spec) { s.Region = "" }},
		{"bucket charset", func(s *task.Spec) { s.Bucket = "Lake" }, "bucket", func(s *task.Spec) { s.Bucket = "my-lake-01" }},
		{"bucket length", func(s *task.Spec) { s.Bucket = "ab" }, "bucket", func(s *task.Spec) { s.Bucket = "abc" }},
		{"bucket edges", func(s *task.Spec) { s.Bucket = "lake-" }, "bucket", func(s *task.Spec) { s.Bucket = "l-ake" }},
		{"prefix unknown variable", func(s *task.Spec) { s.Prefix = "o/$yy" }, "prefix", func(s *task.Spec) { s.Prefix = "o/$yyyy" }},
		{"prefix no ..", func(s *task.Spec) { s.Prefix = "o/../x" }, "prefix", func(s *task.Spec) { s.Prefix = "o/x" }},
		{"prefix no leading /", func(s *task.Spec) { s.Prefix = "/o" }, "prefix", func(s *task.Spec) { s.Prefix = "o" }},
		{"prefix no empty folder", func(s *task.Spec) { s.Prefix = "o//$HH" }, "prefix", func(s *task.Spec) { s.Prefix = "o/$HH/$mm" }},
		{"prefix required", func(s *task.Spec) { s.Prefix = "" }, "prefix", func(s *task.Spec) { s.Prefix = "p" }},
		{"sync mode", func(s *task.Spec) { s.SyncMode = "sometimes" }, "sync_mode", func(s *task.Spec) { s.SyncMode = task.SyncFull }},
		{"format", func(s *task.Spec) { s.Format = "csv" }, "format", func(s *task.Spec) { s.Format = "parquet" }},
		{"schema mode", func(s *task.Spec) { s.SchemaMode = "semi" }, "schema_mode", func(s *task.Spec) { s.SchemaMode = task.SchemaManual }},
		{"auto schema takes no columns", func(s *task.Spec) { s.SchemaMode = task.SchemaAuto }, "columns",
			func(s *task.Spec) { s.SchemaMode = task.SchemaAuto; s.Columns = nil }},
		{"manual schema needs columns", func(s *task.Spec) { s.SchemaMode = task.SchemaManual; s.Columns = nil }, "columns",
			cols(col("id", "", task.TypeInt64, ""))},
		{"unique destination names", cols(col("id", "x", task.TypeInt64, ""), col("price", "X", task.TypeDouble, "")), "columns[1].name",
			cols(col("id", "x", task.TypeInt64, ""), col("price", "y", task.TypeDouble, ""))},
		{"source present", cols(col("", "x", task.TypeInt64, "")), "columns[0].source", cols(col("id", "x", task.TypeInt64, ""))},
		{"destination name format", cols(col("id", "a b", task.TypeInt64, "")), "columns[0].name", cols(col("id", "a_b", task.TypeInt64, ""))},
		{"supported type", cols(col("id", "", "FLOAT", "")), "columns[0].type", cols(col("blob", "", task.TypeBinary, ""))},
		{"known encoding", cols(col("id", "", task.TypeInt64, "RLE")), "columns[0].encoding",
			cols(col("id", "", task.TypeInt64, task.EncodingPlainDictionary))},
		{"encoding valid for type", cols(col("note", "", task.TypeUTF8, task.EncodingDeltaBinaryPacked)), "columns[0].encoding",
			cols(col("note", "", task.TypeUTF8, task.EncodingDeltaByteArray))},
		{"delta binary packed is INT64 only", cols(col("p", "", task.TypeDouble, task.EncodingDeltaBinaryPacked)), "columns[0].encoding",
			cols(col("p", "", task.TypeInt64, task.EncodingDeltaBinaryPacked))},
		{"byte array deltas are UTF8/BINARY only", cols(col("b", "", task.TypeBool, task.EncodingDeltaLengthByteArray)), "columns[0].encoding",
			cols(col("b", "", task.TypeBinary, task.EncodingDeltaLengthByteArray))},
		{"type matches a typed source column", cols(col("price", "", task.TypeUTF8, "")), "columns[0].type",
			cols(col("price", "", task.TypeDouble, ""), col("untyped", "", task.TypeUTF8, ""))},
		{"type matches the primary key", cols(col("id", "", task.TypeDouble, "")), "columns[0].type",
			cols(col("id", "", task.TypeInt64, ""))},
		{"event time format", func(s *task.Spec) { s.EventTimeColumn = &task.EventTimeColumn{Name: "ts", Format: "ISO8601"} },
			"event_time_column.format", func(s *task.Spec) { s.EventTimeColumn = &task.EventTimeColumn{Name: "ts", Format: task.TimeRFC3339} }},
		{"event time name", func(s *task.Spec) { s.EventTimeColumn = &task.EventTimeColumn{Format: task.TimeUnix} },
			"event_time_column.name", func(s *task.Spec) { s.EventTimeColumn = &task.EventTimeColumn{Name: "ts", Format: task.TimeUnix} }},
		{"compression", func(s *task.Spec) { s.Compression = "lz4" }, "compression", func(s *task.Spec) { s.Compression = task.CompressionGzip }},
		{"flush interval low", func(s *task.Spec) { s.FlushIntervalSeconds = -1 }, "flush_interval_seconds",
			func(s *task.Spec) { s.FlushIntervalSeconds = 1 }},
		{"flush interval high", func(s *task.Spec) { s.FlushIntervalSeconds = 3601 }, "flush_interval_seconds",
			func(s *task.Spec) { s.FlushIntervalSeconds = 3600 }},
		{"target size low", func(s *task.Spec) { s.TargetObjectSizeMB = -5 }, "target_object_size_mb",
			func(s *task.Spec) { s.TargetObjectSizeMB = 1 }},
		{"target size high", func(s *task.Spec) { s.TargetObjectSizeMB = 1025 }, "target_object_size_mb",
			func(s *task.Spec) { s.TargetObjectSizeMB = 1024 }},
		{"dirty prefix template", func(s *task.Spec) { s.DirtyPrefix = "dirty/$x" }, "dirty_prefix",
			func(s *task.Spec) { s.DirtyPrefix = "dirty/$yyyy" }},
		{"dirty prefix does not overlap", func(s *task.Spec) { s.DirtyPrefix = "orders/dirty" }, "dirty_prefix",
			func(s *task.Spec) { s.DirtyPrefix = "orders-dirty" }},
		{"role arn", func(s *task.Spec) { s.RoleARN = "arn:aws:iam::1:role/x" }, "role_arn",
			func(s *task.Spec) { s.RoleARN = "acs:ram::1234:role/writer" }},
		{"time zone", func(s *task.Spec) { s.TimeZone = "Asia/Atlantis" }, "time_zone",
			func(s *task.Spec) { s.TimeZone = "Asia/Shanghai" }},
		{"time zone is case-sensitive", func(s *task.Spec) { s.TimeZone = "europe/berlin" }, "time_zone",
			func(s *task.Spec) { s.TimeZone = "Europe/Berlin" }},
		{"time zone is not the host's", func(s *task.Spec) { s.TimeZone = "Local" }, "time_zone",
			func(s *task.Spec) { s.TimeZone = "UTC" }},
	}
	for i, c := range cases {
		t.Run(c.rule, func(t *testing.T) {
			bad := manualSpec(fmt.Sprintf("bad-%d", i))
			c.rejected(&bad)
			_, err := e.client.CreateTask(ctx, bad)
			if !client.IsInvalid(err) {
				t.Fatalf("rejected case: %v, want 400", err)
			}
			ae := apiErr(t, err)
			if ae.Field != c.field || ae.Code != task.CodeInvalidArgument || !strings.HasPrefix(ae.Message, c.field+":") {
				t.Fatalf("rejected case: field %q code %q message %q; want field %q named in the message", ae.Field, ae.Code, ae.Message, c.field)
			}
			good := manualSpec(fmt.Sprintf("good-%d", i))
			c.accepted(&good)
			created, err := e.client.CreateTask(ctx, good)
			if err != nil {
				t.Fatalf("accepted case: %v", err)
			}
			if created.Status.Phase != task.PhaseInit {
				t.Fatalf("accepted case: phase %s", created.Status.Phase)
			}
		})
	}
}

// The same rules, called directly, return the same FieldError the API sends,
// which is what the provider shows at plan time.
func TestValidationFunctionsMatchTheAPI(t *testing.T) {
	err := task.ValidateName("ab")
	fe, ok := task.AsFieldError(err)
	if !ok || fe.Field != "name" || fe.Rule != task.RuleNameFormat {
		t.Fatalf("ValidateName = %#v", err)
	}
	if err := task.ValidateColumns(task.SchemaManual, []task.Column{{Source: "a", Type: task.TypeBool, Encoding: task.EncodingPlainDictionary}}); err == nil {
		t.Fatal("PLAIN_DICTIONARY accepted for BOOL")
	}

}
