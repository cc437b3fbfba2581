// Package fault injects failures into the local cloud's endpoints so that the
// delivery pipeline can be tested against the kinds of trouble the real
// services cause: server errors, throttling, connection resets, lost
// responses and slow answers.
//
// An Injector holds one Rule per Target (oss, tablestore, tunnel) and wraps the
// endpoints' handlers:
//
//	inj := fault.New(fault.Options{Seed: 1, Logger: log})
//	_ = inj.Set(fault.OSS, fault.Rule{ErrorRate: 0.05})
//	ossHandler := inj.OSSHandler(ossServer)               // every request is an OSS call
//	otsHandler := inj.TablestoreHandler(tablestoreServer) // /tunnel/... counts as tunnel
//
// Each request draws one number and gets at most one fault; the rates of a
// rule add up (their sum must not exceed 1). A fault answers in the
// protocol of its target, with the codes the official SDKs know:
//
//	target      error                          throttle
//	oss         500 InternalError              503 SlowDown
//	tablestore  500 OTSInternalServerError     503 OTSServerBusy
//	tunnel      503 OTSTunnelServerUnavailable 503 OTSServerBusy
//
// A reset closes the connection with a TCP RST before the request is served;
// a lost response serves the request (its effects happen) and then resets the
// connection instead of answering, as when a response is lost on the way
// back. Latency delays a fraction of the requests before they are served.
//
// The rules can be changed while serving through AdminHandler (GET, PUT and
// DELETE /_admin/faults), which the wrappers mount on the endpoints they
// wrap and which answers only clients on a loopback address. The path cannot
// collide with an OSS bucket ("_" is not allowed in bucket names) or a
// Tablestore operation. GET /healthz is never faulted, so readiness probes
// keep working while a target is made unavailable.
package fault

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"
)

// Target is a service whose calls can be faulted.
type Target string

// The targets. Tunnel calls arrive on the Tablestore endpoint under /tunnel/.
const (
	OSS        Target = "oss"
	Tablestore Target = "tablestore"
	Tunnel     Target = "tunnel"
)

// Targets lists every target, in a stable order.
var Targets = []Target{OSS, Tablestore, Tunnel}

func (t Target) valid() bool { return t == OSS || t == Tablestore || t == Tunnel }

// MaxLatency bounds Rule.Latency: a longer delay would outlast the SDKs'
// timeouts and only test those.
const MaxLatency = 5 * time.Minute

// Rule says how often calls to one target fail and how. Rates are fractions
// of the requests, from 0 to 1, and their sum (ErrorRate + ThrottleRate +
// ResetRate + LostResponseRate) is at most 1.
type Rule struct {
	// ErrorRate answers a 5xx server error.
	ErrorRate float64 `json:"error_rate,omitempty"`
	// ThrottleRate answers 503 with the throttling code (SlowDown,
	// OTSServerBusy).
	ThrottleRate float64 `json:"throttle_rate,omitempty"`
	// ResetRate closes the connection without serving the request.
	ResetRate float64 `json:"reset_rate,omitempty"`
	// LostResponseRate serves the request, then closes the connection
	// instead of sending the answer.
	LostResponseRate float64 `json:"lost_response_rate,omitempty"`
	// LatencyRate delays that fraction of the requests by Latency before
	// serving (or failing) them; independent of the rates above.
	LatencyRate float64  `json:"latency_rate,omitempty"`
	Latency     Duration `json:"latency,omitempty"`
}

// Validate reports a rule whose rates or latency are out of range.
func (r Rule) Validate() error {
	var errs []error
	for _, f := range []struct {
		name string
		v    float64
	}{{"error_rate", r.ErrorRate}, {"throttle_rate", r.ThrottleRate}, {"reset_rate", r.ResetRate},
		{"lost_response_rate", r.LostResponseRate}, {"latency_rate", r.LatencyRate}} {
		// The negated form also catches NaN.
		if !(f.v >= 0 && f.v <= 1) {
			errs = append(errs, fmt.Errorf("%s: must be between 0 and 1, got %v", f.name, f.v))
		}
	}
	if sum := r.ErrorRate + r.ThrottleRate + r.ResetRate + r.LostResponseRate; sum > 1+1e-9 {
		errs = append(errs, fmt.Errorf("error_rate + throttle_rate + reset_rate + lost_response_rate: must be at most 1, got %v", sum))
	}
	if d := time.Duration(r.Latency); d < 0 || d > MaxLatency {
		errs = append(errs, fmt.Errorf("latency: must be between 0 and %s, got %s", MaxLatency, d))
	}
	if r.LatencyRate > 0 && r.Latency == 0 {
		errs = append(errs, errors.New("latency_rate: needs a latency"))
	}
	return errors.Join(errs...)
}

// Zero reports whether the rule injects nothing.
func (r Rule) Zero() bool { return r == Rule{} }

// Duration is a time.Duration that reads and writes as a Go duration string
// ("250ms") in JSON; a bare number is taken as milliseconds.
type Duration time.Duration

// MarshalJSON writes the duration as a string such as "1.5s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON accepts "250ms" or 250 (milliseconds).
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("latency: %w", err)
		}
		*d = Duration(v)
		return nil
	}
	var ms float64
	if err := json.Unmarshal(b, &ms); err != nil {
		return errors.New(`latency: want a duration string like "250ms" or a number of milliseconds`)
	}
	if !(ms >= 0 && ms <= float64(MaxLatency/time.Millisecond)) {
		return fmt.Errorf("latency: %v ms is out of range", ms)
	}
	*d = Duration(time.Duration(ms * float64(time.Millisecond)))
	return nil
}

// Kind is what happened to one request.
type Kind string

// The kinds of fault, and KindNone for a request served normally.
const (
	KindNone         Kind = ""
	KindError        Kind = "error"
	KindThrottle     Kind = "throttle"
	KindReset        Kind = "reset"
	KindLostResponse Kind = "lost_response"
)

// Counts are the requests a target saw and the faults injected into them.
type Counts struct {
	Requests      int64 `json:"requests"`
	Errors        int64 `json:"errors"`
	Throttles     int64 `json:"throttles"`
	Resets        int64 `json:"resets"`
	LostResponses int64 `json:"lost_responses"`
	Delayed       int64 `json:"delayed"`
}

// Faults is the number of requests that did not get their normal answer.
func (c Counts) Faults() int64 { return c.Errors + c.Throttles + c.Resets + c.LostResponses }

// Options configure an Injector.
type Options struct {
	// Seed makes the sequence of decisions reproducible; 0 picks a random seed
	// (logged).
	Seed   uint64
	Logger *slog.Logger
}

// Injector decides, per request, which fault to inject. Safe for concurrent
// use; a zero Rule for every target (the start state) changes nothing.
type Injector struct {
	log  *slog.Logger
	seed uint64

	mu     sync.Mutex
	rng    *rand.Rand
	rules  map[Target]Rule
	counts map[Target]*Counts
}

// New returns an Injector with no faults configured.
func New(opts Options) *Injector {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	seed := opts.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	in := &Injector{
		log:    log,
		seed:   seed,
		rng:    rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		rules:  map[Target]Rule{},
		counts: map[Target]*Counts{},
	}
	for _, t := range Targets {
		in.counts[t] = &Counts{}
	}
	return in
}

// Set replaces the rule of one target.
func (in *Injector) Set(t Target, r Rule) error {
	if !t.valid() {
		return fmt.Errorf("fault: unknown target %q (want one of %s)", t, targetNames())
	}
	if err := r.Validate(); err != nil {
		return fmt.Errorf("fault: %s: %w", t, err)
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if r.Zero() {
		delete(in.rules, t)
	} else {
		in.rules[t] = r
	}
	in.log.Info("fault rule set", "target", t, "rule", describe(r), "seed", in.seed)
	return nil
}

// Replace sets the rules of every target at once: targets missing from rules
// get no faults. Nothing changes if any rule is invalid.
func (in *Injector) Replace(rules map[Target]Rule) error {
	var errs []error
	for t, r := range rules {
		if !t.valid() {
			errs = append(errs, fmt.Errorf("unknown target %q (want one of %s)", t, targetNames()))
		} else if err := r.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", t, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("fault: %w", err)
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	in.rules = map[Target]Rule{}
	for t, r := range rules {
		if !r.Zero() {
			in.rules[t] = r
		}
	}
	in.log.Info("fault rules replaced", "rules", describeAll(in.rules), "seed", in.seed)
	return nil
}

// Rules returns a copy of the rules in force (targets without faults absent).
func (in *Injector) Rules() map[Target]Rule {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make(map[Target]Rule, len(in.rules))
	for t, r := range in.rules {
		out[t] = r
	}
	return out
}

// Counts returns the requests and injected faults per target since start.
func (in *Injector) Counts() map[Target]Counts {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make(map[Target]Counts, len(in.counts))
	for t, c := range in.counts {
		out[t] = *c
	}
	return out
}

// decide draws the fate of one request to t: a fault kind and a delay.
func (in *Injector) decide(t Target) (Kind, time.Duration) {
	in.mu.Lock()
	defer in.mu.Unlock()
	c := in.counts[t]
	c.Requests++
	r, ok := in.rules[t]
	if !ok {
		return KindNone, 0
	}
	var delay time.Duration
	if r.LatencyRate > 0 && in.rng.Float64() < r.LatencyRate {
		delay = time.Duration(r.Latency)
		c.Delayed++
	}
	x := in.rng.Float64()
	for _, k := range []struct {
		kind  Kind
		rate  float64
		count *int64
	}{{KindError, r.ErrorRate, &c.Errors}, {KindThrottle, r.ThrottleRate, &c.Throttles},
		{KindReset, r.ResetRate, &c.Resets}, {KindLostResponse, r.LostResponseRate, &c.LostResponses}} {
		if x < k.rate {
			*k.count++
			return k.kind, delay
		}
		x -= k.rate
	}
	return KindNone, delay
}

func targetNames() string {
	names := make([]string, len(Targets))
	for i, t := range Targets {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}

func describe(r Rule) string {
	if r.Zero() {
		return "none"
	}
	var parts []string
	add := func(name string, v float64) {
		if v > 0 {
			parts = append(parts, fmt.Sprintf("%s=%g", name, v))
		}
	}
	add("error_rate", r.ErrorRate)
	add("throttle_rate", r.ThrottleRate)
	add("reset_rate", r.ResetRate)
	add("lost_response_rate", r.LostResponseRate)
	if r.LatencyRate > 0 {
		parts = append(parts, fmt.Sprintf("latency=%s@%g", time.Duration(r.Latency), r.LatencyRate))
	}
	return strings.Join(parts, " ")
}

func describeAll(rules map[Target]Rule) string {
	if len(rules) == 0 {
		return "none"
	}
	var parts []string
	for t, r := range rules {
		parts = append(parts, string(t)+"{"+describe(r)+"}")
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}
