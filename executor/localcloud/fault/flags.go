package fault

import (
	"flag"
	"fmt"
	"time"
)

// Flags are the command-line flags that configure an Injector at start:
// --fault-<target>-error-rate, -throttle-rate, -reset-rate,
// -lost-response-rate, -latency and -latency-rate for each target, and
// --fault-seed.
type Flags struct {
	Seed  uint64
	rules map[Target]*flagRule
}

type flagRule struct {
	errorRate, throttleRate, resetRate, lostResponseRate, latencyRate float64
	latency                                                           time.Duration
}

// Register adds the fault flags to fs.
func (f *Flags) Register(fs *flag.FlagSet) {
	f.rules = map[Target]*flagRule{}
	fs.Uint64Var(&f.Seed, "fault-seed", 0, "seed of the fault injector's random decisions (0: random, logged)")
	for _, t := range Targets {
		r := &flagRule{}
		f.rules[t] = r
		name := "fault-" + string(t) + "-"
		what := string(t) + " calls"
		fs.Float64Var(&r.errorRate, name+"error-rate", 0, "fraction of "+what+" answered with a 5xx server error (testing only)")
		fs.Float64Var(&r.throttleRate, name+"throttle-rate", 0, "fraction of "+what+" answered with a throttling error (SlowDown / OTSServerBusy)")
		fs.Float64Var(&r.resetRate, name+"reset-rate", 0, "fraction of "+what+" whose connection is reset before they are served")
		fs.Float64Var(&r.lostResponseRate, name+"lost-response-rate", 0, "fraction of "+what+" served but whose answer is lost (connection reset)")
		fs.DurationVar(&r.latency, name+"latency", 0, "latency added to "+what+" (see -latency-rate)")
		fs.Float64Var(&r.latencyRate, name+"latency-rate", 1, "fraction of "+what+" delayed by the latency")
	}
}

// Rules returns the rules the flags describe, checked.
func (f *Flags) Rules() (map[Target]Rule, error) {
	out := map[Target]Rule{}
	for _, t := range Targets {
		fr := f.rules[t]
		if fr == nil {
			continue
		}
		r := Rule{ErrorRate: fr.errorRate, ThrottleRate: fr.throttleRate, ResetRate: fr.resetRate,
			LostResponseRate: fr.lostResponseRate, Latency: Duration(fr.latency)}
		if fr.latency > 0 {
			r.LatencyRate = fr.latencyRate
		}
		if err := r.Validate(); err != nil {
			return nil, fmt.Errorf("--fault-%s-*: %w", t, err)
		}
		if !r.Zero() {
			out[t] = r
		}
	}
	return out, nil
}

// Injector builds an Injector with the flags' rules.
func (f *Flags) Injector(opts Options) (*Injector, error) {
	rules, err := f.Rules()
	if err != nil {
		return nil, err
	}
	if f.Seed != 0 {
		opts.Seed = f.Seed
	}
	in := New(opts)
	if len(rules) == 0 {
		return in, nil
	}
	if err := in.Replace(rules); err != nil {
		return nil, err
	}
	return in, nil
}
