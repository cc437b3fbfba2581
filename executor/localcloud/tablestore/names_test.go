package tablestore

import (
	"regexp"
	"strings"
	"testing"
)

// validName must accept exactly what the documented pattern does: every
// one- and two-byte name, names around the 255-byte limit, and a few longer
// shapes.
func TestValidNameIsThePattern(t *testing.T) {
	pattern := regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,254}$`)
	names := []string{"", strings.Repeat("a", 254), strings.Repeat("a", 255), strings.Repeat("a", 256),
		"_" + strings.Repeat("9", 254), "9" + strings.Repeat("a", 10), "a b", "ab-c", "é", "a\x00", "user_id", "T1_x"}
	for c := range 256 {
		names = append(names, string([]byte{byte(c)}))
		for _, d := range []byte{'a', 'Z', '_', '0', '9', '-', 0x80} {
			names = append(names, string([]byte{byte(c), d}), string([]byte{d, byte(c)}))
		}
	}
	accepted := 0
	for _, n := range names {
		if got, want := validName(n), pattern.MatchString(n); got != want {
			t.Fatalf("validName(%q) = %v, the pattern says %v", n, got, want)
		}
		if validName(n) {
			accepted++
		}
	}
	if accepted < 100 {
		t.Fatalf("only %d names accepted: the test checks too little", accepted)
	}
}
