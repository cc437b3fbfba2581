package task

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// TimeVar is one of the prefix template's time variables.
type TimeVar string

// The time variables a prefix may use: 4-digit year, 2-digit month, day,
// hour and minute, in the template's location (the task's time_zone, UTC by
// default).
const (
	VarYear   TimeVar = "yyyy"
	VarMonth  TimeVar = "MM"
	VarDay    TimeVar = "dd"
	VarHour   TimeVar = "HH"
	VarMinute TimeVar = "mm"
)

// TimeVars lists the accepted variables in their natural order.
var TimeVars = []TimeVar{VarYear, VarMonth, VarDay, VarHour, VarMinute}

// MaxPrefixLength bounds a prefix template so that evaluated object keys stay
// well below OSS's 1023-byte key limit.
const MaxPrefixLength = 256

// appendTo appends the variable's value at t, zero-padded.
func (v TimeVar) appendTo(b []byte, t time.Time) []byte {
	switch v {
	case VarYear:
		return appendPadded(b, t.Year(), 4)
	case VarMonth:
		return appendPadded(b, int(t.Month()), 2)
	case VarDay:
		return appendPadded(b, t.Day(), 2)
	case VarHour:
		return appendPadded(b, t.Hour(), 2)
	case VarMinute:
		return appendPadded(b, t.Minute(), 2)
	}
	return b
}

func appendPadded(b []byte, n, width int) []byte {
	var digits [8]byte
	s := strconv.AppendInt(digits[:0], int64(n), 10)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

// templatePart is a literal run of text or one variable.
type templatePart struct {
	literal  string
	variable TimeVar // empty for a literal
}

// segment is one '/'-separated folder of a template.
type segment struct {
	raw   string
	parts []templatePart
}

func (s segment) hasVariable() bool {
	for _, p := range s.parts {
		if p.variable != "" {
			return true
		}
	}
	return false
}

// Template is a parsed prefix template such as "orders/year=$yyyy/month=$MM".
type Template struct {
	raw      string
	segments []segment
	loc      *time.Location // nil: UTC
}

// PartitionKey is a Hive-style partition column given by a "key=value"
// folder whose value uses time variables.
type PartitionKey struct {
	Name string
	// Integer is true when the value is exactly one variable (such as
	// "year=$yyyy"), so engines may type the column as an integer; a value
	// mixing text and variables ("day=$yyyy-$MM-$dd") is a string.
	Integer bool
}

// ParsePrefix parses and validates a prefix template. Rules: not empty, at most
// MaxPrefixLength bytes, no leading '/', no empty folder (so no "//" and no
// trailing '/'), no "." or ".." folder, only the characters A-Z a-z 0-9 and
// "-_.=$/", and '$' only as the start of one of $yyyy $MM $dd $HH $mm. A
// variable's name ends at the first character that is not a letter, so
// "$yyyy$MM" is two variables and "$MMdd" is the unknown variable "$MMdd".
func ParsePrefix(raw string) (*Template, error) {
	if raw == "" {
		return nil, errors.New("must not be empty")
	}
	if len(raw) > MaxPrefixLength {
		return nil, fmt.Errorf("must be at most %d characters", MaxPrefixLength)
	}
	if strings.HasPrefix(raw, "/") {
		return nil, errors.New("must not start with '/'")
	}
	for i := 0; i < len(raw); i++ {
		if !prefixChar(raw[i]) {
			return nil, fmt.Errorf("character %q at offset %d is not allowed (use A-Z a-z 0-9 - _ . = $ /)", raw[i], i)
		}
	}
	t := &Template{raw: raw}
	for _, folder := range strings.Split(raw, "/") {
		if folder == "" {
			return nil, errors.New("must not contain empty folders ('//' or a trailing '/')")
		}
		if folder == "." || folder == ".." {
			return nil, fmt.Errorf("must not contain a %q folder", folder)
		}
		seg, err := parseSegment(folder)
		if err != nil {
			return nil, err
		}
		t.segments = append(t.segments, seg)
	}
	return t, nil
}

func prefixChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("-_.=$/", c) >= 0
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func parseSegment(folder string) (segment, error) {
	seg := segment{raw: folder}
	var literal strings.Builder
	for i := 0; i < len(folder); {
		if folder[i] != '$' {
			literal.WriteByte(folder[i])
			i++
			continue
		}
		j := i + 1
		for j < len(folder) && isLetter(folder[j]) {
			j++
		}
		name := TimeVar(folder[i+1 : j])
		if !knownVar(name) {
			if name == "" {
				return segment{}, fmt.Errorf("'$' in folder %q must start a variable ($yyyy $MM $dd $HH $mm)", folder)
			}
			return segment{}, fmt.Errorf("unknown variable $%s in folder %q (use $yyyy $MM $dd $HH $mm)", name, folder)
		}
		if literal.Len() > 0 {
			seg.parts = append(seg.parts, templatePart{literal: literal.String()})
			literal.Reset()
		}
		seg.parts = append(seg.parts, templatePart{variable: name})
		i = j
	}
	if literal.Len() > 0 {
		seg.parts = append(seg.parts, templatePart{literal: literal.String()})
	}
	return seg, nil
}

func knownVar(v TimeVar) bool {
	for _, k := range TimeVars {
		if v == k {
			return true
		}
	}
	return false
}

// String returns the template as written.
func (t *Template) String() string { return t.raw }

// HasVariables reports whether any folder uses a time variable.
func (t *Template) HasVariables() bool {
	for _, s := range t.segments {
		if s.hasVariable() {
			return true
		}
	}
	return false
}

// In returns the template evaluating its variables in loc (a task's
// time_zone) instead of UTC; nil means UTC. The receiver is not changed.
func (t *Template) In(loc *time.Location) *Template {
	c := *t
	c.loc = loc
	return &c
}

// Location returns the zone the variables are evaluated in.
func (t *Template) Location() *time.Location {
	if t.loc == nil {
		return time.UTC
	}
	return t.loc
}

// MinuteOf numbers the wall-clock minute at falls in, in the template's
// location: times with the same number evaluate to the same prefix (a
// minute is the finest variable), so callers may cache Evaluate by it. UTC
// minutes would not do: offsets with seconds (local mean times before the
// 1900s) shift the local minute boundaries.
func (t *Template) MinuteOf(at time.Time) int64 {
	_, offset := at.In(t.Location()).Zone()
	s := at.Unix() + int64(offset)
	m := s / 60
	if s < 0 && s%60 != 0 {
		m--
	}
	return m
}

// Evaluate returns the prefix for a row time, converted to the template's
// location first (UTC unless set with In), daylight saving included: the
// folders name the wall-clock time of that zone at that instant.
func (t *Template) Evaluate(at time.Time) string {
	at = at.In(t.Location())
	b := make([]byte, 0, len(t.raw)+8)
	for i, s := range t.segments {
		if i > 0 {
			b = append(b, '/')
		}
		for _, p := range s.parts {
			if p.variable != "" {
				b = p.variable.appendTo(b, at)
			} else {
				b = append(b, p.literal...)
			}
		}
	}
	return string(b)
}

// StaticPrefix returns the folders before the first folder that uses a
// variable, joined by '/' and without a trailing '/'; the whole template
// when it has no variables. It is where a lake table's LOCATION points.
func (t *Template) StaticPrefix() string {
	var folders []string
	for _, s := range t.segments {
		if s.hasVariable() {
			break
		}
		folders = append(folders, s.raw)
	}
	return strings.Join(folders, "/")
}

// PartitionKeys returns the Hive partition columns: the "key=value" folders
// after the static prefix whose value uses a variable, in order.
func (t *Template) PartitionKeys() []PartitionKey {
	var keys []PartitionKey
	for _, s := range t.segments {
		if !s.hasVariable() {
			continue
		}
		eq := strings.IndexByte(s.raw, '=')
		if eq <= 0 || strings.IndexByte(s.raw[:eq], '$') >= 0 {
			continue
		}
		value := s.raw[eq+1:]
		single := len(value) > 1 && value[0] == '$' && knownVar(TimeVar(value[1:]))
		keys = append(keys, PartitionKey{Name: s.raw[:eq], Integer: single})
	}
	return keys
}

// DynamicFolders returns how many folders after the static prefix a delivered
// object sits in, so that readers know how deep to look.
func (t *Template) DynamicFolders() int {
	static := 0
	for _, s := range t.segments {
		if s.hasVariable() {
			break
		}
		static++
	}
	return len(t.segments) - static
}

// ObjectName returns the name of a delivered object inside its evaluated
// prefix: <task>_<ConcurrentID>_<evaluated prefix with '/' as '_'>__<SequenceID>.
// ConcurrentID counts parallel writers from 0; SequenceID numbers each
// writer's objects from 1. Objects have no file extension.
func ObjectName(evaluatedPrefix, taskName string, concurrentID int, sequenceID int64) string {
	b := make([]byte, 0, len(taskName)+len(evaluatedPrefix)+24)
	b = append(b, taskName...)
	b = append(b, '_')
	b = strconv.AppendInt(b, int64(concurrentID), 10)
	b = append(b, '_')
	for i := 0; i < len(evaluatedPrefix); i++ {
		if c := evaluatedPrefix[i]; c == '/' {
			b = append(b, '_')
		} else {
			b = append(b, c)
		}
	}
	b = append(b, '_', '_')
	b = strconv.AppendInt(b, sequenceID, 10)
	return string(b)
}

// ObjectKey returns the full OSS key of a delivered object:
// <evaluated prefix>/<ObjectName>.
func ObjectKey(evaluatedPrefix, taskName string, concurrentID int, sequenceID int64) string {
	return evaluatedPrefix + "/" + ObjectName(evaluatedPrefix, taskName, concurrentID, sequenceID)
}

// ObjectKey returns the key of the object a writer delivers for rows of the
// given time: the template evaluated at that time, then the object name.
func (t *Template) ObjectKey(at time.Time, taskName string, concurrentID int, sequenceID int64) string {
	return ObjectKey(t.Evaluate(at), taskName, concurrentID, sequenceID)
}
