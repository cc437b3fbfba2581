package pipeline

import (
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// Position orders the records of one tunnel channel. A stream record's
// position is its sequence info (epoch, timestamp, row index), which the
// service repeats when the record is read again. A base record has no
// sequence info; its position is its primary key (Key), because a base
// channel delivers its rows in increasing primary-key order (see replay.go).
type Position struct {
	Epoch     int32 `json:"e,omitempty"`
	Timestamp int64 `json:"t"`
	RowIndex  int32 `json:"i"`
	Key       Key   `json:"k,omitempty"`
}

// Less orders positions: by primary key when either has one (base
// channels), else lexicographically by (epoch, timestamp, row index).
func (p Position) Less(q Position) bool {
	if p.Key != nil || q.Key != nil {
		return p.Key.Compare(q.Key) < 0
	}
	if p.Epoch != q.Epoch {
		return p.Epoch < q.Epoch
	}
	if p.Timestamp != q.Timestamp {
		return p.Timestamp < q.Timestamp
	}
	return p.RowIndex < q.RowIndex
}

func (p Position) equal(q Position) bool { return !p.Less(q) && !q.Less(p) }

// Row is one record converted to the task's columns: Values[i] belongs to
// the i-th resolved column and is nil (null), bool, int64, float64, string or
// []byte according to the column's type.
type Row struct {
	Values []any
}

// Dirty describes why a record could not be delivered as a row.
type Dirty struct {
	// Column is the destination column at fault (or the event time column).
	Column string `json:"column"`
	// Reason says what was expected and what was found.
	Reason string `json:"reason"`
	// Row holds every primary key and attribute value of the record, for
	// inspection; binary values are base64 text.
	Row map[string]any `json:"row"`
}

// Mapper converts tunnel records into rows of the resolved columns.
type Mapper struct {
	columns []task.Column
	// bySource lists, per source column, the indexes of the columns it fills.
	bySource map[string][]int
	// eventTime is the index of the event time source in the record lookups,
	// or empty when partitions follow the write time.
	eventTime *task.EventTimeColumn
}

// NewMapper returns a mapper for the resolved columns and optional event time
// column.
func NewMapper(columns []task.Column, eventTime *task.EventTimeColumn) (*Mapper, error) {
	if len(columns) == 0 {
		return nil, fmt.Errorf("pipeline: no resolved columns")
	}
	seen := make(map[string]bool, len(columns))
	for _, c := range columns {
		if c.Name == "" || c.Source == "" {
			return nil, fmt.Errorf("pipeline: column %+v lacks a name or a source", c)
		}
		if seen[c.Name] {
			return nil, fmt.Errorf("pipeline: duplicate column name %q", c.Name)
		}
		seen[c.Name] = true
		if _, err := physicalOf(c.Type); err != nil {
			return nil, err
		}
	}
	if eventTime != nil && eventTime.Name == "" {
		eventTime = nil
	}
	bySource := make(map[string][]int, len(columns))
	for i, c := range columns {
		bySource[c.Source] = append(bySource[c.Source], i)
	}
	return &Mapper{columns: columns, bySource: bySource, eventTime: eventTime}, nil
}

// Mapped is the outcome of mapping one record.
type Mapped struct {
	// Skip is true for records that produce nothing (deletes).
	Skip bool
	// Row is set when the record is clean.
	Row Row
	// Dirty is set when the record is dirty.
	Dirty *Dirty
	// PartitionTime is the time the record's partition is evaluated at: the
	// event time when the task has an event time column and the value
	// parses, else the write time.
	PartitionTime time.Time
}

// Map converts one record. writeTime is the record's write time (see
// WriteTime); it is used for partitions unless an event time column is set.
func (m *Mapper) Map(rec *tunnel.Record, writeTime time.Time) Mapped {
	if rec == nil || rec.Type == tunnel.AT_Delete {
		return Mapped{Skip: true}
	}
	return m.MapTo(make([]any, len(m.columns)), rec, writeTime)
}

// Columns returns the number of resolved columns: the length MapTo needs.
func (m *Mapper) Columns() int { return len(m.columns) }

// MapTo is Map into values, which must have one element per column (see
// Columns) and is overwritten. The row it returns refers to values, so the
// caller copies it (RowBlock.Append) before mapping the next record; the
// writer maps every record into the same slice this way.
func (m *Mapper) MapTo(values []any, rec *tunnel.Record, writeTime time.Time) Mapped {
	if rec == nil || rec.Type == tunnel.AT_Delete {
		return Mapped{Skip: true}
	}
	out := Mapped{PartitionTime: writeTime}
	values = values[:len(m.columns)]
	clear(values)
	// Each source value lands directly in its columns; for a column with
	// several versions in one record the newest wins. The event time
	// column may or may not be one of the resolved columns.
	// versions holds each column's newest cell timestamp; a small table's
	// fit on the stack.
	var versionsOnStack [16]int64
	var versions []int64
	var eventValue any
	eventFound := false
	assign := func(name string, v any, ts int64, hasTS bool) {
		if m.eventTime != nil && name == m.eventTime.Name {
			eventValue, eventFound = v, true
		}
		for _, i := range m.bySource[name] {
			if hasTS {
				if versions == nil {
					if len(m.columns) <= len(versionsOnStack) {
						versions = versionsOnStack[:len(m.columns)]
					} else {
						versions = make([]int64, len(m.columns))
					}
					for j := range versions {
						versions[j] = math.MinInt64
					}
				}
				if ts < versions[i] {
					continue
				}
				versions[i] = ts
			}
			values[i] = v
		}
	}
	if rec.PrimaryKey != nil {
		for _, pk := range rec.PrimaryKey.PrimaryKeys {
			if pk != nil {
				assign(pk.ColumnName, pk.Value, 0, false)
			}
		}
	}
	for _, c := range rec.Columns {
		if c == nil || c.Name == nil || c.Type != tunnel.RCT_Put {
			continue
		}
		var ts int64
		if c.Timestamp != nil {
			ts = *c.Timestamp
		}
		assign(*c.Name, c.Value, ts, true)
	}
	for i, c := range m.columns {
		if values[i] == nil {
			continue // absent from this put/update: null
		}
		// The value stays in the interface it came in: checking its type
		// needs no copy, and re-boxing would allocate once per value.
		if err := checkType(c.Type, values[i]); err != nil {
			out.Dirty = &Dirty{Column: c.Name, Reason: err.Error(), Row: inspectable(rec)}
			return out
		}
	}
	if m.eventTime != nil {
		if !eventFound || eventValue == nil {
			out.Dirty = &Dirty{Column: m.eventTime.Name, Reason: "event time column is missing", Row: inspectable(rec)}
			return out
		}
		t, err := ParseEventTime(m.eventTime.Format, eventValue)
		if err != nil {
			out.Dirty = &Dirty{Column: m.eventTime.Name, Reason: err.Error(), Row: inspectable(rec)}
			return out
		}
		out.PartitionTime = t
	}
	out.Row = Row{Values: values}
	return out
}

// recordValues returns the record's primary key values and put cells by
// name. When a column carries several versions the newest one wins; column
// deletes are ignored (the column reads as absent).
func recordValues(rec *tunnel.Record) map[string]any {
	values := make(map[string]any, len(rec.Columns)+4)
	if rec.PrimaryKey != nil {
		for _, pk := range rec.PrimaryKey.PrimaryKeys {
			if pk != nil {
				values[pk.ColumnName] = pk.Value
			}
		}
	}
	newest := make(map[string]int64, len(rec.Columns))
	for _, c := range rec.Columns {
		if c == nil || c.Name == nil || c.Type != tunnel.RCT_Put {
			continue
		}
		var ts int64
		if c.Timestamp != nil {
			ts = *c.Timestamp
		}
		if prev, seen := newest[*c.Name]; seen && prev > ts {
			continue
		}
		newest[*c.Name] = ts
		values[*c.Name] = c.Value
	}
	return values
}

// WriteTime returns when the record was written: the stream record's
// timestamp (Unix microseconds) for stream channels, and for base data (whose
// sequence timestamp is the snapshot's) the newest cell version (Unix
// milliseconds), falling back to the record timestamp.
func WriteTime(rec *tunnel.Record, streamChannel bool) time.Time {
	if streamChannel && rec.Timestamp > 0 {
		return time.UnixMicro(rec.Timestamp).UTC()
	}
	var newest int64
	for _, c := range rec.Columns {
		if c != nil && c.Type == tunnel.RCT_Put && c.Timestamp != nil && *c.Timestamp > newest {
			newest = *c.Timestamp
		}
	}
	if newest > 0 {
		return time.UnixMilli(newest).UTC()
	}
	if rec.Timestamp > 0 {
		return time.UnixMicro(rec.Timestamp).UTC()
	}
	return time.Unix(0, 0).UTC()
}

// checkType checks a source value against a destination type. Values are
// not coerced: a value of another type is dirty, as the reference says.
func checkType(t task.ColumnType, v any) error {
	ok := false
	switch t {
	case task.TypeBool:
		_, ok = v.(bool)
	case task.TypeInt64:
		_, ok = v.(int64)
	case task.TypeDouble:
		_, ok = v.(float64)
	case task.TypeUTF8:
		_, ok = v.(string)
	case task.TypeBinary:
		_, ok = v.([]byte)
	default:
		return fmt.Errorf("unsupported destination type %q", t)
	}
	if !ok {
		return fmt.Errorf("expected %s, found %s", t, sourceTypeName(v))
	}
	return nil
}

// sourceTypeName names a Tablestore value's type the way users know it.
func sourceTypeName(v any) string {
	switch v.(type) {
	case bool:
		return "BOOLEAN"
	case int64, int, int32:
		return "INTEGER"
	case float64, float32:
		return "DOUBLE"
	case string:
		return "STRING"
	case []byte:
		return "BINARY"
	case nil:
		return "NULL"
	default:
		return fmt.Sprintf("%T", v)
	}
}

// inspectable turns a record into a JSON-friendly map for the dirty output.
func inspectable(rec *tunnel.Record) map[string]any {
	out := make(map[string]any)
	for name, v := range recordValues(rec) {
		switch x := v.(type) {
		case []byte:
			out[name] = base64.StdEncoding.EncodeToString(x)
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				out[name] = strconv.FormatFloat(x, 'g', -1, 64)
			} else {
				out[name] = x
			}
		case bool, int64, string, nil:
			out[name] = x
		default:
			out[name] = fmt.Sprint(x)
		}
	}
	return out
}

// ParseEventTime parses an event time value in its declared format. RFC
// formats need a string; Unix accepts integer seconds or a decimal string of
// seconds (with an optional fraction).
func ParseEventTime(format task.TimeFormat, v any) (time.Time, error) {
	if format == task.TimeUnix {
		switch x := v.(type) {
		case int64:
			return time.Unix(x, 0).UTC(), nil
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) > 1e15 {
				return time.Time{}, fmt.Errorf("event time %v is not a Unix time", x)
			}
			sec, frac := math.Modf(x)
			return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
		case string:
			return parseUnixString(x)
		default:
			return time.Time{}, fmt.Errorf("event time: expected Unix seconds, found %s", sourceTypeName(v))
		}
	}
	s, ok := v.(string)
	if !ok {
		return time.Time{}, fmt.Errorf("event time: expected a %s string, found %s", format, sourceTypeName(v))
	}
	var layouts []string
	switch format {
	case task.TimeRFC822:
		layouts = []string{time.RFC822, time.RFC822Z}
	case task.TimeRFC850:
		layouts = []string{time.RFC850}
	case task.TimeRFC1123:
		layouts = []string{time.RFC1123, time.RFC1123Z}
	case task.TimeRFC3339:
		layouts = []string{time.RFC3339Nano}
	default:
		return time.Time{}, fmt.Errorf("event time: unknown format %q", format)
	}
	var firstErr error
	for _, layout := range layouts {
		t, err := time.Parse(layout, strings.TrimSpace(s))
		if err == nil {
			return t.UTC(), nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return time.Time{}, fmt.Errorf("event time %q is not %s: %w", truncate(s, 64), format, firstErr)
}

func parseUnixString(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	whole, frac, hasFrac := strings.Cut(s, ".")
	sec, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || whole == "" || strings.HasPrefix(whole, "+") {
		return time.Time{}, fmt.Errorf("event time %q is not Unix seconds", truncate(s, 64))
	}
	var nanos int64
	if hasFrac {
		if frac == "" || len(frac) > 9 {
			return time.Time{}, fmt.Errorf("event time %q is not Unix seconds", truncate(s, 64))
		}
		for _, c := range frac {
			if c < '0' || c > '9' {
				return time.Time{}, fmt.Errorf("event time %q is not Unix seconds", truncate(s, 64))
			}
		}
		n, _ := strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
		nanos = n
		if sec < 0 || whole == "-0" {
			nanos = -nanos
		}
	}
	if sec > 1<<40 || sec < -(1<<40) {
		return time.Time{}, fmt.Errorf("event time %q is out of range", truncate(s, 64))
	}
	return time.Unix(sec, nanos).UTC(), nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
