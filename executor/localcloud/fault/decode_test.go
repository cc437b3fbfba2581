package fault

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

func TestFlags(t *testing.T) {
	var f Flags
	fs := flag.NewFlagSet("local", flag.ContinueOnError)
	f.Register(fs)
	err := fs.Parse([]string{"--fault-oss-error-rate", "0.05", "--fault-tunnel-throttle-rate", "0.1",
		"--fault-tablestore-latency", "20ms", "--fault-tablestore-latency-rate", "0.5", "--fault-seed", "42"})
	if err != nil {
		t.Fatal(err)
	}
	in, err := f.Injector(Options{})
	if err != nil {
		t.Fatal(err)
	}
	rules := in.Rules()
	if len(rules) != 3 || rules[OSS].ErrorRate != 0.05 || rules[Tunnel].ThrottleRate != 0.1 ||
		rules[Tablestore].Latency != Duration(20*time.Millisecond) || rules[Tablestore].LatencyRate != 0.5 || in.seed != 42 {
		t.Fatalf("rules from flags = %+v (seed %d)", rules, in.seed)
	}
	// No flags: no rules, and a latency-rate default alone adds none.
	var none Flags
	fs = flag.NewFlagSet("local", flag.ContinueOnError)
	none.Register(fs)
	if in, err := none.Injector(Options{}); err != nil || len(in.Rules()) != 0 {
		t.Fatalf("no flags: %v %+v", err, in.Rules())
	}
	var bad Flags
	fs = flag.NewFlagSet("local", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	bad.Register(fs)
	if err := fs.Parse([]string{"--fault-oss-error-rate", "0.7", "--fault-oss-reset-rate", "0.7"}); err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Injector(Options{}); err == nil || !strings.Contains(err.Error(), "--fault-oss") {
		t.Fatalf("rates over 1: %v", err)
	}
}

// FuzzDecodeAdminDocument checks that any PUT body is either refused with an
// error or yields rules that validate, and never panics.
func FuzzDecodeAdminDocument(f *testing.F) {
	for _, s := range []string{
		`{"rules":{"oss":{"error_rate":0.05}}}`,
		`{"rules":{"tunnel":{"throttle_rate":0.2,"latency":"20ms","latency_rate":0.5}}}`,
		`{"rules":{"tablestore":{"latency":250,"latency_rate":1}}}`,
		`{"rules":{"oss":{"error_rate":1e309}}}`,
		`{"rules":{"oss":{"latency":"9999999h"}}}`,
		`{"rules":null}`, `{}`, `[]`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		rules, err := DecodeAdminDocument(body)
		if err != nil {
			return
		}
		in := New(Options{Seed: 1})
		if err := in.Replace(rules); err != nil {
			t.Fatalf("decoded rules refused by Replace: %v", err)
		}
		for target := range rules {
			in.decide(target)
		}
	})
}
