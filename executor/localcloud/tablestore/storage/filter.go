package storage

import (
	"bytes"
	"cmp"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/plainbuffer"
)

// Comparator is a single-column comparison; the values match the protocol's
// ComparatorType.
type Comparator int

// Comparators.
const (
	CompareEqual        Comparator = 1
	CompareNotEqual     Comparator = 2
	CompareGreater      Comparator = 3
	CompareGreaterEqual Comparator = 4
	CompareLess         Comparator = 5
	CompareLessEqual    Comparator = 6
)

// Combinator joins sub-filters; the values match the protocol's LogicalOperator.
type Combinator int

// Combinators. CombineNone marks a single-column filter.
const (
	CombineNone Combinator = 0
	CombineNot  Combinator = 1
	CombineAnd  Combinator = 2
	CombineOr   Combinator = 3
)

// Filter is a column condition (for conditional writes) or a row filter (for
// reads): either a single-column comparison or a combination of sub-filters.
type Filter struct {
	Combinator Combinator
	Sub        []*Filter

	Column            string
	Comparator        Comparator
	Value             *plainbuffer.Value
	FilterIfMissing   bool // a row missing the column does not match
	LatestVersionOnly bool // compare only the newest version
}

// compareValues orders two values of the same type; ok is false when the
// types differ (such comparisons never match).
func compareValues(a, b *plainbuffer.Value) (c int, ok bool) {
	if a.Type != b.Type {
		return 0, false
	}
	switch a.Type {
	case plainbuffer.TypeInteger:
		return cmp.Compare(a.Int, b.Int), true
	case plainbuffer.TypeDouble:
		return cmp.Compare(a.Double, b.Double), true
	case plainbuffer.TypeBoolean:
		x, y := 0, 0
		if a.Bool {
			x = 1
		}
		if b.Bool {
			y = 1
		}
		return cmp.Compare(x, y), true
	case plainbuffer.TypeString, plainbuffer.TypeBlob:
		return bytes.Compare(a.Bytes, b.Bytes), true
	}
	return 0, false
}

func (c Comparator) holds(r int) bool {
	switch c {
	case CompareEqual:
		return r == 0
	case CompareNotEqual:
		return r != 0
	case CompareGreater:
		return r > 0
	case CompareGreaterEqual:
		return r >= 0
	case CompareLess:
		return r < 0
	case CompareLessEqual:
		return r <= 0
	}
	return false
}

// Match evaluates the filter against a row (nil means the row is absent).
func (f *Filter) Match(r *row) bool {
	switch f.Combinator {
	case CombineNot:
		return len(f.Sub) == 1 && !f.Sub[0].Match(r)
	case CombineAnd:
		for _, s := range f.Sub {
			if !s.Match(r) {
				return false
			}
		}
		return true
	case CombineOr:
		for _, s := range f.Sub {
			if s.Match(r) {
				return true
			}
		}
		return false
	}
	var versions []version
	if r != nil {
		if pkv := r.pkValue(f.Column); pkv != nil {
			versions = []version{{v: *pkv}}
		} else if col := r.column(f.Column); col != nil {
			versions = col.versions
		}
	}
	if len(versions) == 0 {
		return !f.FilterIfMissing
	}
	if f.LatestVersionOnly {
		versions = versions[:1]
	}
	for i := range versions {
		if c, ok := compareValues(&versions[i].v, f.Value); ok && f.Comparator.holds(c) {
			return true
		}
	}
	return false
}
