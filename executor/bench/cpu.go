package bench

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
)

// userHZ is the unit of utime and stime in /proc/<pid>/stat. Linux exports
// these in USER_HZ, which is 100 on every architecture's user ABI
// (sysconf(_SC_CLK_TCK)); Go has no portable sysconf, so it is a constant.
const userHZ = 100

// readCPUSeconds is the CPU time (user + system, all threads) a process has
// used so far, from /proc/<pid>/stat: 10 ms resolution.
func readCPUSeconds(pid int) (float64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("bench: cpu time: %w", err)
	}
	ticks, err := parseStatCPUTicks(raw)
	if err != nil {
		return 0, err
	}
	return float64(ticks) / userHZ, nil
}

// parseStatCPUTicks returns utime + stime (fields 14 and 15, proc(5)) of a
// /proc/<pid>/stat line. The command name (field 2) is in parentheses and
// may itself hold spaces and parentheses, so fields count from the last ')'.
func parseStatCPUTicks(stat []byte) (int64, error) {
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, errors.New("bench: /proc stat line has no command name")
	}
	// After ")": field 3 (state) is the first.
	fields := bytes.Fields(stat[end+1:])
	const utime, stime = 14 - 3, 15 - 3
	if len(fields) <= stime {
		return 0, fmt.Errorf("bench: /proc stat line has %d fields after the command, want more than %d", len(fields), stime)
	}
	u, err1 := strconv.ParseInt(string(fields[utime]), 10, 64)
	s, err2 := strconv.ParseInt(string(fields[stime]), 10, 64)
	if err1 != nil || err2 != nil || u < 0 || s < 0 {
		return 0, fmt.Errorf("bench: /proc stat utime %q stime %q are not tick counts", fields[utime], fields[stime])
	}
	return u + s, nil
}

// cpuMeter samples a process's CPU time around a measured span.
type cpuMeter struct {
	pid   int
	start float64
}

func startCPUMeter(pid int) (cpuMeter, error) {
	s, err := readCPUSeconds(pid)
	return cpuMeter{pid: pid, start: s}, err
}

// seconds is the CPU time used since the meter started.
func (m cpuMeter) seconds() (float64, error) {
	now, err := readCPUSeconds(m.pid)
	return now - m.start, err
}

// perMillionRows scales CPU seconds spent on rows rows.
func perMillionRows(cpuSeconds float64, rows int) float64 {
	if rows <= 0 {
		return 0
	}
	return cpuSeconds * 1e6 / float64(rows)
}
