package task

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func diffBase() Spec {
	s := Spec{Name: "orders-lake", Table: "orders", Region: "cn-hangzhou", Bucket: "lake", Prefix: "orders/$yyyy",
		RoleARN: RoleARN(DefaultAccountID, DefaultRoleName),
		Columns: []Column{{Source: "id", Type: TypeInt64}, {Source: "price", Type: TypeDouble}}}
	s.ApplyDefaults()
	return s
}

func TestDiffDecidesWhatChangesInPlace(t *testing.T) {
	inPlace := map[string]func(*Spec){
		"role_arn":               func(s *Spec) { s.RoleARN = "acs:ram::1:role/other" },
		"dirty_prefix":           func(s *Spec) { s.DirtyPrefix = "dirty" },
		"compression":            func(s *Spec) { s.Compression = CompressionZstd },
		"flush_interval_seconds": func(s *Spec) { s.FlushIntervalSeconds = 30 },
		"target_object_size_mb":  func(s *Spec) { s.TargetObjectSizeMB = 8 },
		"columns": func(s *Spec) {
			s.Columns = append(s.Columns, Column{Source: "note", Name: "note", Type: TypeUTF8, Encoding: EncodingPlain})
		},
	}
	replace := map[string]func(*Spec){
		"name":              func(s *Spec) { s.Name = "other" },
		"table":             func(s *Spec) { s.Table = "t2" },
		"region":            func(s *Spec) { s.Region = "cn-beijing" },
		"bucket":            func(s *Spec) { s.Bucket = "b2" },
		"prefix":            func(s *Spec) { s.Prefix = "p2" },
		"sync_mode":         func(s *Spec) { s.SyncMode = SyncFull },
		"format":            func(s *Spec) { s.Format = "csv" },
		"schema_mode":       func(s *Spec) { s.SchemaMode = SchemaAuto },
		"event_time_column": func(s *Spec) { s.EventTimeColumn = &EventTimeColumn{Name: "ts", Format: TimeUnix} },
		"time_zone":         func(s *Spec) { s.TimeZone = "Asia/Shanghai" },
	}
	for field, edit := range inPlace {
		next := diffBase()
		edit(&next)
		cs := Diff(diffBase(), next)
		if !slices.Equal(cs.Fields(), []string{field}) || cs.Replacement() != nil || !cs[0].InPlace() {
			t.Errorf("%s: changes %v, replacement %v; want one in-place change", field, cs.Fields(), cs.Replacement())
		}
	}
	for field, edit := range replace {
		next := diffBase()
		edit(&next)
		cs := Diff(diffBase(), next)
		fe := cs.Replacement()
		if !slices.Equal(cs.Fields(), []string{field}) || fe == nil || fe.Field != field || fe.Rule != RuleImmutable ||
			!strings.HasPrefix(fe.Message, field+": cannot be changed") {
			t.Errorf("%s: changes %v, replacement %v; want a replacement naming it", field, cs.Fields(), fe)
		}
	}
	if cs := Diff(diffBase(), diffBase()); len(cs) != 0 {
		t.Errorf("no change: %v", cs.Fields())
	}
}

func TestDiffColumnsAppendOnly(t *testing.T) {
	added := time.Now()
	base := diffBase()
	withTimes := base
	withTimes.Columns = AppendResolved(nil, base.Columns, added)
	if cs := Diff(base, withTimes); len(cs) != 0 {
		t.Errorf("added_at alone is a change: %v", cs.Fields())
	}
	refused := map[string][]Column{
		"remove":  base.Columns[:1],
		"reorder": {base.Columns[1], base.Columns[0]},
		"rename":  {base.Columns[0], {Source: "price", Name: "cost", Type: TypeDouble, Encoding: EncodingPlain}},
		"retype":  {base.Columns[0], {Source: "price", Name: "price", Type: TypeUTF8, Encoding: EncodingPlain}},
		"insert":  {{Source: "x", Name: "x", Type: TypeUTF8, Encoding: EncodingPlain}, base.Columns[0], base.Columns[1]},
		"empty":   {},
	}
	for what, cols := range refused {
		next := base
		next.Columns = cols
		fe := Diff(base, next).Replacement()
		if fe == nil || fe.Field != "columns" || fe.Rule != RuleColumnsAppendOnly || !strings.Contains(fe.Message, "appended at the end") {
			t.Errorf("%s: %v, want a columns_append_only refusal", what, fe)
		}
		if Appended(base, next) != nil {
			t.Errorf("%s: Appended = %v", what, Appended(base, next))
		}
	}
	grown := base
	grown.Columns = append(slices.Clone(base.Columns), Column{Source: "note", Name: "note", Type: TypeUTF8, Encoding: EncodingPlain})
	if got := Appended(base, grown); len(got) != 1 || got[0].Source != "note" {
		t.Errorf("Appended = %v", got)
	}
	p := PatchFor(base, grown)
	if len(p.Columns) != 3 || p.FlushIntervalSeconds != nil || p.Empty() {
		t.Errorf("PatchFor = %+v", p)
	}
	auto := base
	auto.SchemaMode, auto.Columns = SchemaAuto, []Column{}
	autoGrown := auto
	autoGrown.Columns = []Column{{Source: "x", Name: "x", Type: TypeUTF8, Encoding: EncodingPlain}}
	if fe := Diff(auto, autoGrown).Replacement(); fe == nil || fe.Rule != RuleColumnsAppendOnly {
		t.Errorf("columns of an auto schema: %v", fe)
	}
}

func TestAppendResolvedStampsOnlyNewColumns(t *testing.T) {
	t0, t1 := time.Unix(100, 0), time.Unix(200, 0)
	first := AppendResolved(nil, []Column{{Source: "a"}}, t0)
	both := AppendResolved(first, []Column{{Source: "b"}}, t1)
	if len(both) != 2 || !both[0].AddedAt.Equal(t0) || !both[1].AddedAt.Equal(t1) || len(first) != 1 {
		t.Fatalf("AppendResolved = %+v (first %+v)", both, first)
	}
}
