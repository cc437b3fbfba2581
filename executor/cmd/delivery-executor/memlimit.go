package main

import (
	"flag"
	"fmt"
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// defaultMemoryLimit is the executor's default soft memory limit. Go's
// default GC target lets the heap reach twice its live size between
// collections, which is what pushed peak RSS near 300 MiB in the benchmarks
// (docs/performance.md); a soft limit makes the collector run earlier
// instead. It is soft: past it Go spends at most about half the CPU on
// collection rather than fail, so the pipelines' buffers are bounded below
// it (bufferBudget).
const defaultMemoryLimit = 192 << 20

// memoryLimit is the --memory-limit flag: a size such as 192MiB, 1GiB or a
// plain number of bytes; 0 turns the limit off.
type memoryLimit struct {
	bytes int64
	set   bool
}

func (m *memoryLimit) register(fs *flag.FlagSet) {
	fs.Var(m, "memory-limit", "soft memory limit of the process (e.g. 192MiB, 1GiB; 0: none); default 192MiB unless GOMEMLIMIT is set")
}

func (m *memoryLimit) String() string {
	if m == nil || !m.set {
		return ""
	}
	return strconv.FormatInt(m.bytes, 10)
}

func (m *memoryLimit) Set(s string) error {
	n, err := parseSize(s)
	if err != nil {
		return err
	}
	m.bytes, m.set = n, true
	return nil
}

// apply sets the soft limit: the flag if given, else GOMEMLIMIT if the
// environment sets it (the runtime has applied it already), else the default.
func (m *memoryLimit) apply(log *slog.Logger) {
	switch {
	case m.set && m.bytes == 0:
		debug.SetMemoryLimit(math.MaxInt64) // the runtime's "no limit"
	case m.set:
		debug.SetMemoryLimit(m.bytes)
	case os.Getenv("GOMEMLIMIT") != "":
		// The runtime has applied it already.
	default:
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	// A negative argument reads the limit without changing it.
	if limit := debug.SetMemoryLimit(-1); limit != math.MaxInt64 {
		log.Info("soft memory limit", "bytes", limit, "pipeline_buffer_budget_bytes", bufferBudget())
	}
}

// bufferBudget is the pipelines' budget for buffered rows under the
// process's soft memory limit: half of it, leaving the other half to the
// tunnel reads, Parquet encoding and uploads in flight; 0 (the pipelines'
// own default) when there is no limit. The budget counts the rows' estimated
// in-memory size, which is close to their real heap size (about 1.16x in
// the benchmarks), so buffers stay below the limit and the collector does not
// run continuously.
func bufferBudget() int64 {
	limit := debug.SetMemoryLimit(-1)
	if limit == math.MaxInt64 {
		return 0
	}
	return limit / 2
}

// parseSize reads a byte size with an optional binary (KiB, MiB, GiB) or
// decimal (KB, MB, GB) unit.
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size such as 192MiB, 1GiB or a number of bytes", s)
	}
	return n * mult, nil
}
