package task

import (
	"strings"
	"testing"
	"time"
)

// The reference's documented examples for data written 2020-08-31 16:03.
func TestObjectKeyMatchesReferenceExamples(t *testing.T) {
	at := time.Date(2020, 8, 31, 16, 3, 27, 0, time.UTC)
	cases := []struct{ prefix, task, want string }{
		{"myPrefix", "testTask", "myPrefix/testTask_0_myPrefix__1"},
		{"myPrefix/$yyyy/$MM/$dd/$HH/$mm", "testTaskTimeParitioned",
			"myPrefix/2020/08/31/16/03/testTaskTimeParitioned_0_myPrefix_2020_08_31_16_03__1"},
	}
	for _, c := range cases {
		tmpl, err := ParsePrefix(c.prefix)
		if err != nil {
			t.Fatalf("ParsePrefix(%q): %v", c.prefix, err)
		}
		if got := tmpl.ObjectKey(at, c.task, 0, 1); got != c.want {
			t.Errorf("ObjectKey(%q) = %q, want %q", c.prefix, got, c.want)
		}
	}
}

func TestEvaluateUsesUTC(t *testing.T) {
	tmpl, err := ParsePrefix("p/year=$yyyy/month=$MM/day=$dd/hour=$HH/min=$mm")
	if err != nil {
		t.Fatal(err)
	}
	east := time.FixedZone("UTC+8", 8*3600)
	at := time.Date(2021, 1, 1, 5, 7, 0, 0, east) // 2020-12-31 21:07 UTC
	if got, want := tmpl.Evaluate(at), "p/year=2020/month=12/day=31/hour=21/min=07"; got != want {
		t.Fatalf("Evaluate = %q, want %q", got, want)
	}
}

func TestParsePrefixRejects(t *testing.T) {
	bad := map[string]string{
		"":                       "empty",
		"/abs":                   "start with '/'",
		"a//b":                   "empty folders",
		"a/b/":                   "empty folders",
		"a/../b":                 "\"..\"",
		"a/./b":                  "\".\"",
		"a/$yy":                  "unknown variable $yy",
		"a/$MMdd":                "unknown variable $MMdd",
		"a/$":                    "must start a variable",
		"a/$1":                   "must start a variable",
		"a b":                    "not allowed",
		"a/é":                    "not allowed",
		strings.Repeat("a", 257): "at most",
	}
	for in, want := range bad {
		_, err := ParsePrefix(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParsePrefix(%q) = %v, want an error containing %q", in, err, want)
		}
	}
}

func TestPartitionKeysAndStaticPrefix(t *testing.T) {
	cases := []struct {
		prefix, static string
		keys           []PartitionKey
		depth          int
	}{
		{"orders", "orders", nil, 0},
		{"lake/orders", "lake/orders", nil, 0},
		{"orders/year=$yyyy/month=$MM/day=$dd", "orders",
			[]PartitionKey{{"year", true}, {"month", true}, {"day", true}}, 3},
		{"o/dt=$yyyy-$MM-$dd/h=$HH", "o", []PartitionKey{{"dt", false}, {"h", true}}, 2},
		{"myPrefix/$yyyy/$MM", "myPrefix", nil, 2},
		{"$yyyy/x", "", nil, 2},
		{"a/year=$yyyy$MM", "a", []PartitionKey{{"year", false}}, 1},
	}
	for _, c := range cases {
		tmpl, err := ParsePrefix(c.prefix)
		if err != nil {
			t.Fatalf("ParsePrefix(%q): %v", c.prefix, err)
		}
		if got := tmpl.StaticPrefix(); got != c.static {
			t.Errorf("%q: StaticPrefix = %q, want %q", c.prefix, got, c.static)
		}
		got := tmpl.PartitionKeys()
		if len(got) != len(c.keys) {
			t.Fatalf("%q: PartitionKeys = %v, want %v", c.prefix, got, c.keys)
		}
		for i := range got {
			if got[i] != c.keys[i] {
				t.Errorf("%q: key %d = %v, want %v", c.prefix, i, got[i], c.keys[i])
			}
		}
		if d := tmpl.DynamicFolders(); d != c.depth {
			t.Errorf("%q: DynamicFolders = %d, want %d", c.prefix, d, c.depth)
		}
		if tmpl.HasVariables() != (c.depth > 0) {
			t.Errorf("%q: HasVariables = %v", c.prefix, tmpl.HasVariables())
		}
	}
}

func TestObjectNameCounters(t *testing.T) {
	if got, want := ObjectName("a/b", "t", 12, 345), "t_12_a_b__345"; got != want {
		t.Fatalf("ObjectName = %q, want %q", got, want)
	}
}

func FuzzParsePrefix(f *testing.F) {
	for _, s := range []string{"myPrefix/$yyyy/$MM", "a/year=$yyyy/m=$MM$dd", "$", "a//b", "/x", "x/$mmm"} {
		f.Add(s)
	}
	at := time.Date(2024, 2, 29, 23, 59, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		tmpl, err := ParsePrefix(s)
		if err != nil {
			return
		}
		ev := tmpl.Evaluate(at)
		if strings.Contains(ev, "$") || strings.HasPrefix(ev, "/") || strings.Contains(ev, "//") {
			t.Fatalf("Evaluate(%q) = %q still has a variable or an empty folder", s, ev)
		}
		if !tmpl.HasVariables() && ev != s {
			t.Fatalf("static prefix %q evaluated to %q", s, ev)
		}
		if sp := tmpl.StaticPrefix(); !strings.HasPrefix(s, sp) {
			t.Fatalf("StaticPrefix %q is not a prefix of %q", sp, s)
		}
		_ = tmpl.PartitionKeys()
	})
}
