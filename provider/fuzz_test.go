package provider

import (
	"strings"
	"testing"
)

// The executor's error answers name a field; the provider maps it to an
// attribute path. Whatever the network sends, the mapping must not panic,
// and a path it accepts must start at a task attribute.
func FuzzAttributePathForField(f *testing.F) {
	for _, seed := range []string{"name", "table", "columns[2].encoding", "event_time_column.format",
		"columns[99999999999999999999].name", "columns[-1]", "", "[", "a..b", "columns[1].", "x[0]y"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, field string) {
		p, ok := attributePathForField(field)
		if !ok {
			return
		}
		root := strings.SplitN(p.String(), "[", 2)[0]
		root = strings.SplitN(root, ".", 2)[0]
		if root == "" {
			t.Fatalf("field %q mapped to a path without a root attribute: %s", field, p)
		}
	})
}

// Import ids come from the user; parsing must not panic and must give back
// the id it was given.
func FuzzParseTaskImportID(f *testing.F) {
	for _, seed := range []string{"orders/orders-lake", "orders", "/x", "x/", "a/b/c", "", "//"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, id string) {
		table, name, err := parseTaskImportID(id)
		if err != nil {
			return
		}
		if table == "" || name == "" || table+"/"+name != id {
			t.Fatalf("parseTaskImportID(%q) = %q, %q", id, table, name)
		}
	})
}

func TestParseTaskImportID(t *testing.T) {
	table, name, err := parseTaskImportID("orders/orders-lake")
	if err != nil || table != "orders" || name != "orders-lake" {
		t.Fatalf("got %q %q %v", table, name, err)
	}
	for _, bad := range []string{"orders", "orders/", "/orders-lake", "a/b/c", ""} {
		if _, _, err := parseTaskImportID(bad); err == nil {
			t.Errorf("parseTaskImportID(%q) accepted a malformed id", bad)
		}
	}
}
