package pipeline

import (
	"strings"
	"testing"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

func strp(s string) *string { return &s }
func i64p(i int64) *int64   { return &i }

func put(name string, v any, ts int64) *tunnel.RecordColumn {
	return &tunnel.RecordColumn{Type: tunnel.RCT_Put, Name: strp(name), Value: v, Timestamp: i64p(ts)}
}

func record(typ tunnel.ActionType, id int64, cols ...*tunnel.RecordColumn) *tunnel.Record {
	return &tunnel.Record{
		Type:       typ,
		Timestamp:  1_598_889_780_000_000, // 2020-08-31T16:03:00Z in µs
		PrimaryKey: &tunnel.PrimaryKey{PrimaryKeys: []*tunnel.PrimaryKeyColumn{{ColumnName: "id", Value: id}}},
		Columns:    cols,
	}
}

var testColumns = []task.Column{
	{Source: "id", Name: "id", Type: task.TypeInt64},
	{Source: "name", Name: "name", Type: task.TypeUTF8},
	{Source: "price", Name: "price", Type: task.TypeDouble},
	{Source: "ok", Name: "ok", Type: task.TypeBool},
	{Source: "blob", Name: "blob", Type: task.TypeBinary},
}

func TestMapPutUpdateDelete(t *testing.T) {
	m, err := NewMapper(testColumns, nil)
	if err != nil {
		t.Fatal(err)
	}
	wt := time.Date(2020, 8, 31, 16, 3, 0, 0, time.UTC)
	got := m.Map(record(tunnel.AT_Put, 7, put("name", "a", 1), put("price", 2.5, 1), put("ok", true, 1), put("blob", []byte{9}, 1)), wt)
	if got.Skip || got.Dirty != nil {
		t.Fatalf("clean put mapped to %+v", got)
	}
	want := []any{int64(7), "a", 2.5, true, []byte{9}}
	for i := range want {
		if !equalValue(want[i], got.Row.Values[i]) && (i != 1 || got.Row.Values[i] != "a") {
			t.Errorf("value %d = %#v, want %#v", i, got.Row.Values[i], want[i])
		}
	}
	if !got.PartitionTime.Equal(wt) {
		t.Errorf("partition time %v, want write time %v", got.PartitionTime, wt)
	}

	// An update with only some columns: the rest are null; a column delete
	// does not count as a value; the newest version of a column wins.
	upd := record(tunnel.AT_Update, 8,
		put("name", "old", 1), put("name", "new", 5),
		&tunnel.RecordColumn{Type: tunnel.RCT_DeleteAllVersions, Name: strp("price")})
	got = m.Map(upd, wt)
	if got.Skip || got.Dirty != nil {
		t.Fatalf("update mapped to %+v", got)
	}
	if got.Row.Values[1] != "new" || got.Row.Values[2] != nil || got.Row.Values[3] != nil || got.Row.Values[4] != nil {
		t.Errorf("update row = %#v", got.Row.Values)
	}

	if got := m.Map(record(tunnel.AT_Delete, 9), wt); !got.Skip {
		t.Errorf("delete not skipped: %+v", got)
	}
}

func TestMapDirtyNamesColumnAndTypes(t *testing.T) {
	m, err := NewMapper(testColumns, nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		col   *tunnel.RecordColumn
		field string
		want  string
	}{
		{put("price", "12.5", 1), "price", "expected DOUBLE, found STRING"},
		{put("name", int64(3), 1), "name", "expected UTF8, found INTEGER"},
		{put("ok", int64(1), 1), "ok", "expected BOOL, found INTEGER"},
		{put("blob", "x", 1), "blob", "expected BINARY, found STRING"},
	}
	for _, c := range cases {
		got := m.Map(record(tunnel.AT_Put, 1, c.col), time.Now())
		if got.Dirty == nil {
			t.Errorf("%s: not dirty", c.field)
			continue
		}
		if got.Dirty.Column != c.field || got.Dirty.Reason != c.want {
			t.Errorf("%s: dirty %+v, want column %s reason %q", c.field, got.Dirty, c.field, c.want)
		}
		if got.Dirty.Row["id"] != int64(1) {
			t.Errorf("dirty row lacks the primary key: %#v", got.Dirty.Row)
		}
	}
	// Primary key of the wrong type is dirty too.
	rec := record(tunnel.AT_Put, 1)
	rec.PrimaryKey.PrimaryKeys[0].Value = "str"
	if got := m.Map(rec, time.Now()); got.Dirty == nil || got.Dirty.Column != "id" {
		t.Errorf("string pk for INT64 column: %+v", got)
	}
}

func TestMapEventTime(t *testing.T) {
	want := time.Date(2020, 8, 31, 16, 3, 4, 0, time.UTC)
	cases := []struct {
		format task.TimeFormat
		value  any
		ok     bool
	}{
		{task.TimeRFC3339, "2020-08-31T16:03:04Z", true},
		{task.TimeRFC3339, "2020-08-31T18:03:04+02:00", true},
		{task.TimeRFC1123, "Mon, 31 Aug 2020 16:03:04 UTC", true},
		{task.TimeRFC1123, "Mon, 31 Aug 2020 16:03:04 +0000", true},
		{task.TimeRFC850, "Monday, 31-Aug-20 16:03:04 UTC", true},
		{task.TimeUnix, int64(1598889784), true},
		{task.TimeUnix, "1598889784", true},
		{task.TimeUnix, "1598889784.000", true},
		{task.TimeRFC3339, "yesterday", false},
		{task.TimeRFC3339, int64(5), false},
		{task.TimeUnix, "15988x", false},
		{task.TimeUnix, true, false},
		{task.TimeRFC822, "31 Aug 20 16:03 UTC", true},
	}
	for _, c := range cases {
		m, err := NewMapper(testColumns, &task.EventTimeColumn{Name: "ev", Format: c.format})
		if err != nil {
			t.Fatal(err)
		}
		got := m.Map(record(tunnel.AT_Put, 1, put("ev", c.value, 1)), time.Unix(0, 0))
		if !c.ok {
			if got.Dirty == nil || got.Dirty.Column != "ev" {
				t.Errorf("%s %#v: want dirty on ev, got %+v", c.format, c.value, got)
			}
			continue
		}
		if got.Dirty != nil {
			t.Errorf("%s %#v: dirty %+v", c.format, c.value, got.Dirty)
			continue
		}
		w := want
		if c.format == task.TimeRFC822 {
			w = want.Truncate(time.Minute)
		}
		if !got.PartitionTime.Equal(w) {
			t.Errorf("%s %#v: partition time %v, want %v", c.format, c.value, got.PartitionTime, w)
		}
	}
	m, _ := NewMapper(testColumns, &task.EventTimeColumn{Name: "ev", Format: task.TimeRFC3339})
	if got := m.Map(record(tunnel.AT_Put, 1), time.Now()); got.Dirty == nil || !strings.Contains(got.Dirty.Reason, "missing") {
		t.Errorf("missing event time: %+v", got)
	}
}

func TestWriteTime(t *testing.T) {
	rec := record(tunnel.AT_Put, 1, put("a", int64(1), 1_600_000_000_123), put("b", int64(1), 1_600_000_000_000))
	if got := WriteTime(rec, true); !got.Equal(time.UnixMicro(rec.Timestamp)) {
		t.Errorf("stream write time %v", got)
	}
	if got := WriteTime(rec, false); !got.Equal(time.UnixMilli(1_600_000_000_123)) {
		t.Errorf("base write time %v, want the newest cell", got)
	}
}

func TestPositionLess(t *testing.T) {
	a := Position{Timestamp: 5, RowIndex: 9}
	b := Position{Timestamp: 6, RowIndex: 0}
	c := Position{Timestamp: 6, RowIndex: 1}
	if !a.Less(b) || !b.Less(c) || c.Less(a) || a.Less(a) {
		t.Error("positions do not order lexicographically")
	}
	if !(Position{Epoch: 1}).Less(Position{Epoch: 2, Timestamp: -1}) {
		t.Error("epoch does not come first")
	}
}

func FuzzParseEventTime(f *testing.F) {
	for _, s := range []string{"2020-08-31T16:03:04Z", "1598889784.5", "-1.5", "Mon, 31 Aug 2020 16:03:04 UTC", "", ".", "1e9"} {
		f.Add(s)
	}
	formats := []task.TimeFormat{task.TimeRFC822, task.TimeRFC850, task.TimeRFC1123, task.TimeRFC3339, task.TimeUnix}
	f.Fuzz(func(t *testing.T, s string) {
		for _, format := range formats {
			tm, err := ParseEventTime(format, s)
			if err == nil && tm.Location() != time.UTC {
				t.Fatalf("%s %q: not UTC", format, s)
			}
		}
	})
}
