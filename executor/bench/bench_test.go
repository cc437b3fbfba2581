package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"
	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel"
	"github.com/parquet-go/parquet-go"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/pipeline"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

func TestParseObjectKeyRoundTrip(t *testing.T) {
	for _, c := range []struct {
		prefix, task string
		cid          int
		seq          int64
	}{
		{"full/dt=2026-11-23/hour=07", "full", 3, 12},
		{"a_b/c__d", "my_task", 0, 9_000_000_000},
		{"x", "t", 63, 1},
	} {
		key := task.ObjectKey(c.prefix, c.task, c.cid, c.seq)
		got, err := parseObjectKey(key, c.task)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		want := objectName{partition: c.prefix, concurrentID: c.cid, sequenceID: c.seq}
		if got != want {
			t.Errorf("%s: got %+v, want %+v", key, got, want)
		}
	}
	for _, bad := range []string{"noslash", "p/other_1_p__2", "p/t_x_p__2", "p/t_1_p_2", "p/t_1_p__y"} {
		if _, err := parseObjectKey(bad, "t"); err == nil {
			t.Errorf("%q: parsed without error", bad)
		}
	}
}

func TestObjectStatsExcludesTheTailOfEachGroup(t *testing.T) {
	key := func(partition string, cid int, seq int64) string { return task.ObjectKey(partition, "t", cid, seq) }
	objects := []objectInfo{
		{key("p/h=01", 0, 1), 5 << 20},
		{key("p/h=01", 0, 2), 6 << 20},
		{key("p/h=01", 0, 3), 100}, // tail of (0, h=01)
		{key("p/h=01", 1, 7), 3 << 20},
		{key("p/h=01", 1, 9), 50}, // tail of (1, h=01)
		{key("p/h=02", 0, 4), 10}, // a group of one: its own tail
	}
	st, err := objectStats(objects, "t")
	if err != nil {
		t.Fatal(err)
	}
	if st.objects != 6 || st.groups != 3 {
		t.Errorf("objects %d groups %d, want 6 and 3", st.objects, st.groups)
	}
	if st.minExcludingTails == nil || *st.minExcludingTails != 3<<20 {
		t.Errorf("min excluding tails = %v, want %d", st.minExcludingTails, 3<<20)
	}
	if st.smallExcludingTails != 1 {
		t.Errorf("small non-tail objects = %d, want 1", st.smallExcludingTails)
	}
	only, err := objectStats(objects[5:], "t")
	if err != nil || only.minExcludingTails != nil {
		t.Errorf("a single tail: min %v err %v, want nil", only.minExcludingTails, err)
	}
}

func TestParseVmHWM(t *testing.T) {
	status := []byte("Name:\tdelivery-executor\nVmPeak:\t  900000 kB\nVmHWM:\t   123456 kB\nVmRSS:\t  100000 kB\n")
	got, err := parseVmHWM(status)
	if err != nil || got != 123456<<10 {
		t.Fatalf("got %d, %v; want %d", got, err, 123456<<10)
	}
	for _, bad := range []string{"", "VmHWM:\t12 MB\n", "VmHWM:\t-1 kB\n", "VmHWM:\n"} {
		if _, err := parseVmHWM([]byte(bad)); err == nil {
			t.Errorf("%q: parsed without error", bad)
		}
	}
	if runtime.GOOS == "linux" {
		own, err := readVmHWM("/proc/self/status")
		if err != nil || own < 1<<20 {
			t.Errorf("own VmHWM = %d, %v; want at least 1 MiB", own, err)
		}
	}
}

func TestPercentiles(t *testing.T) {
	values := make([]float64, 0, 200)
	for i := 200; i >= 1; i-- {
		values = append(values, float64(i))
	}
	p50, p99, maxValue := percentiles(values)
	if p50 != 100 || p99 != 198 || maxValue != 200 {
		t.Errorf("p50 %v p99 %v max %v; want 100, 198, 200", p50, p99, maxValue)
	}
	if values[0] != 200 {
		t.Error("percentiles sorted its input in place")
	}
}

func TestRowsAreDeterministicAndIDsRoundTrip(t *testing.T) {
	base := eventBase(2)
	a, b := makeRow(42, base, 2), makeRow(42, base, 2)
	if a.ID != b.ID || a.User != b.User || !bytes.Equal(a.Payload, b.Payload) || a.EventTime != b.EventTime {
		t.Error("the same row index generated different rows")
	}
	if a.EventTime < base.Unix() || a.EventTime >= base.Add(2*time.Hour).Unix() {
		t.Errorf("event time %d outside [%d, +2h)", a.EventTime, base.Unix())
	}
	if n := a.valueBytes(); n < 180 || n > 220 {
		t.Errorf("row of %d value bytes, want about 200", n)
	}
	for _, i := range []int{0, 7, 999_999_999} {
		if got := parseRowID(rowID(i)); got != i {
			t.Errorf("parseRowID(rowID(%d)) = %d", i, got)
		}
	}
	for _, bad := range []string{"", "r12", "x000000001", "r00000000a"} {
		if parseRowID(bad) != -1 {
			t.Errorf("parseRowID(%q) accepted", bad)
		}
	}
}

func TestConversionBaselinesMeasureTheSameRows(t *testing.T) {
	rates, err := measureConversion(3*conversionChunk/2, 1)
	if err != nil {
		t.Fatal(err)
	}
	if rates.rawParquetRowsPerSec <= 0 || rates.rawParquetDefaultRowsPerSec <= 0 || rates.pipelineRowsPerSec <= 0 {
		t.Errorf("rates %+v must be positive", rates)
	}
}

// conversionStages returns the mapper and encoder of a task with spec's
// columns (defaults applied): the pipeline's conversion stage.
func conversionStages(t *testing.T, spec task.Spec) (*pipeline.Mapper, *pipeline.Encoder) {
	t.Helper()
	spec.ApplyDefaults()
	mapper, err := pipeline.NewMapper(spec.Columns, spec.EventTimeColumn)
	if err != nil {
		t.Fatal(err)
	}
	encoder, err := pipeline.NewEncoder(spec.Columns, spec.Compression)
	if err != nil {
		t.Fatal(err)
	}
	return mapper, encoder
}

// TestConversionBaselineWritesTheSameFile checks the premise of
// ratio_vs_raw_parquet: the baseline (parquet-go from plainRow structs) and
// the pipeline's conversion stage write the same rows, with the same
// encodings and codec, column by column.
func TestConversionBaselineWritesTheSameFile(t *testing.T) {
	mapper, encoder := conversionStages(t, taskSpec("conv", fullTable, "", time.Second, 1))
	const n = 3000
	base := eventBase(2)
	rows := make([]plainRow, n)
	records := make([]*tunnel.Record, n)
	for i := range rows {
		r := makeRow(i, base, 2)
		rows[i], records[i] = r.plain(), r.record()
	}
	ours, err := convertRecords(mapper, encoder, make([]any, mapper.Columns()), records)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := writeGeneric(&buf, rows); err != nil {
		t.Fatal(err)
	}
	theirs := buf.Bytes()

	read := func(data []byte) ([]plainRow, []string) {
		f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		var layout []string
		for _, c := range f.Metadata().RowGroups[0].Columns {
			layout = append(layout, fmt.Sprintf("%s %v %v", strings.Join(c.MetaData.PathInSchema, "."), c.MetaData.Codec, c.MetaData.Encoding))
		}
		got, err := parquet.Read[plainRow](bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		return got, layout
	}
	ourRows, ourLayout := read(ours)
	theirRows, theirLayout := read(theirs)
	if !reflect.DeepEqual(ourLayout, theirLayout) {
		t.Errorf("column layouts differ:\npipeline %v\nbaseline %v", ourLayout, theirLayout)
	}
	if len(ourRows) != n || !reflect.DeepEqual(ourRows, theirRows) || !reflect.DeepEqual(ourRows, rows) {
		t.Errorf("the two files hold different rows (%d and %d of %d)", len(ourRows), len(theirRows), n)
	}
}

// TestQuickBenchJSON builds delivery-executor, runs `bench --quick --json` at
// a tiny size, and checks that the document has every key of issues 9 and 17
// with sane values.
func TestQuickBenchJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "delivery-executor")
	build := exec.Command("go", "build", "-o", bin, "github.com/tablestore-delivery/terraform-provider-tablestore/executor/cmd/delivery-executor")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "bench", "--quick", "--json",
		"--rows", "6000", "--large-rows", "12000", "--rate", "300", "--duration", "4s", "--ceiling-rows", "4000")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("bench: %v\nstderr:\n%s", err, stderr.String())
	}
	var doc map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, stdout.String())
	}
	section := func(name string) map[string]any {
		m, ok := doc[name].(map[string]any)
		if !ok {
			t.Fatalf("key %q missing or not an object in %s", name, stdout.String())
		}
		return m
	}
	num := func(m map[string]any, key string) float64 {
		t.Helper()
		v, ok := m[key]
		if !ok {
			t.Errorf("key %q missing", key)
			return 0
		}
		f, ok := v.(float64)
		if !ok {
			t.Errorf("key %q = %v, not a number", key, v)
		}
		return f
	}
	positive := func(m map[string]any, keys ...string) {
		t.Helper()
		for _, k := range keys {
			if v := num(m, k); !(v > 0) {
				t.Errorf("%s = %v, want > 0", k, v)
			}
		}
	}

	fs := section("full_sync")
	positive(fs, "rows", "row_bytes", "shards", "seconds", "rows_per_sec", "raw_tunnel_rows_per_sec",
		"ratio_vs_raw_tunnel", "raw_parquet_rows_per_sec", "ratio_vs_raw_parquet", "objects", "executor_peak_rss_bytes")
	if num(fs, "rows") != 6000 || num(fs, "shards") != 4 {
		t.Errorf("full sync rows %v shards %v, want 6000 and 4", fs["rows"], fs["shards"])
	}
	if rb := num(fs, "row_bytes"); rb < 150 || rb > 250 {
		t.Errorf("row_bytes %v, want about 200", rb)
	}
	if got := num(fs, "ratio_vs_raw_tunnel"); abs(got-num(fs, "rows_per_sec")/num(fs, "raw_tunnel_rows_per_sec")) > 1e-9 {
		t.Errorf("ratio_vs_raw_tunnel %v is not rows_per_sec / raw_tunnel_rows_per_sec", got)
	}
	if v, ok := fs["min_object_bytes_excluding_tails"]; !ok {
		t.Error("key min_object_bytes_excluding_tails missing")
	} else if v != nil && !(v.(float64) > 0) {
		t.Errorf("min_object_bytes_excluding_tails = %v", v)
	}
	if rss := num(fs, "executor_peak_rss_bytes"); rss < 1<<20 || rss > 8<<30 {
		t.Errorf("executor peak RSS %v not between 1 MiB and 8 GiB", rss)
	}

	inc := section("incremental")
	positive(inc, "rate_rows_per_sec", "flush_interval_seconds", "rows", "p50_seconds", "p99_seconds")
	if num(inc, "rows") != 1200 || num(inc, "flush_interval_seconds") != 5 {
		t.Errorf("incremental rows %v flush %v, want 1200 and 5", inc["rows"], inc["flush_interval_seconds"])
	}
	if p50, p99 := num(inc, "p50_seconds"), num(inc, "p99_seconds"); p50 > p99 || p99 > 60 {
		t.Errorf("p50 %v p99 %v: want p50 ≤ p99 ≤ 60 s", p50, p99)
	}
	if num(inc, "rows_missing") != 0 {
		t.Errorf("%v incremental rows never became visible", inc["rows_missing"])
	}

	mem := section("memory_growth")
	positive(mem, "rows_small", "rss_small", "rows_large", "rss_large", "ratio")
	if num(mem, "rows_small") != 6000 || num(mem, "rows_large") != 12000 {
		t.Errorf("memory rows %v/%v, want 6000/12000", mem["rows_small"], mem["rows_large"])
	}
	if got := num(mem, "ratio"); abs(got-num(mem, "rss_large")/num(mem, "rss_small")) > 1e-9 {
		t.Errorf("memory ratio %v is not rss_large / rss_small", got)
	}
	// Issue 17's keys: the naive export, CPU per row, the local cloud's
	// read paths and the incremental ceilings, each with its target.
	positive(fs, "naive_export_rows_per_sec", "naive_export_seconds", "naive_export_objects", "naive_export_bytes",
		"ratio_vs_naive_export", "executor_cpu_seconds_per_million_rows", "naive_cpu_seconds_per_million_rows",
		"cloud_cpu_seconds_per_million_rows", "naive_cloud_cpu_seconds_per_million_rows")
	if got := num(fs, "ratio_vs_naive_export"); abs(got-num(fs, "rows_per_sec")/num(fs, "naive_export_rows_per_sec")) > 1e-9 {
		t.Errorf("ratio_vs_naive_export %v is not rows_per_sec / naive_export_rows_per_sec", got)
	}
	// 6,000 rows of about 200 bytes: a few MB of snappy Parquet in one object.
	if objs, size := num(fs, "naive_export_objects"), num(fs, "naive_export_bytes"); objs != 1 || size < 6000*100 || size > 6000*400 {
		t.Errorf("naive export wrote %v objects of %v bytes, want 1 of 0.6-2.4 MB", objs, size)
	}
	lc := section("local_cloud")
	positive(lc, "tunnel_rows_per_sec", "getrange_rows_per_sec", "tunnel_vs_getrange",
		"tunnel_cloud_cpu_seconds_per_million_rows", "getrange_cloud_cpu_seconds_per_million_rows")
	if got := num(lc, "tunnel_vs_getrange"); abs(got-num(lc, "tunnel_rows_per_sec")/num(lc, "getrange_rows_per_sec")) > 1e-9 {
		t.Errorf("tunnel_vs_getrange %v is not tunnel_rows_per_sec / getrange_rows_per_sec", got)
	}
	if num(lc, "tunnel_rows_per_sec") != num(fs, "raw_tunnel_rows_per_sec") {
		t.Errorf("local_cloud.tunnel_rows_per_sec %v is not full_sync.raw_tunnel_rows_per_sec %v", lc["tunnel_rows_per_sec"], fs["raw_tunnel_rows_per_sec"])
	}
	positive(inc, "max_write_rows_per_sec")
	maxWrite, sustained := num(inc, "max_write_rows_per_sec"), num(inc, "max_sustained_rows_per_sec")
	if sustained < 0 || sustained > maxWrite {
		t.Errorf("max_sustained_rows_per_sec %v not in [0, max_write_rows_per_sec %v]", sustained, maxWrite)
	}
	if got := num(inc, "sustained_vs_max_write"); abs(got-sustained/maxWrite) > 1e-9 {
		t.Errorf("sustained_vs_max_write %v is not max_sustained / max_write", got)
	}
	// The ceiling is the higher of the loads just before and just after
	// the ramp, each of --ceiling-rows rows.
	loads, ok := inc["write_ceiling_loads"].([]any)
	if !ok || len(loads) != 2 {
		t.Fatalf("write_ceiling_loads = %v, want the loads before and after the ramp", inc["write_ceiling_loads"])
	}
	highest := 0.0
	for _, l := range loads {
		load := l.(map[string]any)
		if num(load, "rows") != 4000 {
			t.Errorf("write-ceiling load of %v rows, want 4000 (--ceiling-rows)", load["rows"])
		}
		positive(load, "rows_per_sec", "seconds")
		highest = max(highest, num(load, "rows_per_sec"))
	}
	if maxWrite != highest {
		t.Errorf("max_write_rows_per_sec %v is not the higher write-ceiling load's rate %v", maxWrite, highest)
	}
	ramp, ok := inc["ramp"].([]any)
	if !ok || len(ramp) < 1 || len(ramp) > 2 {
		t.Errorf("ramp = %v, want the fixed-rate trial and at most one more (--quick)", inc["ramp"])
	} else if first := ramp[0].(map[string]any); num(first, "rate_rows_per_sec") != 300 {
		t.Errorf("the ramp's first trial is at %v rows/s, want the fixed rate 300", first["rate_rows_per_sec"])
	} else {
		// Every process works during a trial: the cloud takes the writes,
		// the executor delivers them, the bench writes and verifies.
		for _, key := range []string{"cloud_cpu_seconds_per_million_rows", "executor_cpu_seconds_per_million_rows", "bench_cpu_seconds_per_million_rows"} {
			if v := num(first, key); !(v > 0 && v < 1e4) {
				t.Errorf("the ramp's first trial has %s = %v, want a positive figure", key, v)
			}
		}
		if p50, p99, blocked := num(first, "write_call_p50_seconds"), num(first, "write_call_p99_seconds"), num(first, "writer_blocked_seconds"); !(p50 > 0 && p50 <= p99 && p99 < 60 && blocked >= 0) {
			t.Errorf("the ramp's first trial: write calls P50 %v, P99 %v, writer blocked %v s: want 0 < P50 <= P99 and blocked >= 0", p50, p99, blocked)
		}
	}
	targets := map[string]bool{}
	for _, tg := range doc["targets"].([]any) {
		targets[tg.(map[string]any)["name"].(string)] = true
	}
	for _, name := range []string{"full_sync.ratio_vs_naive_export", "full_sync.executor_cpu_seconds_per_million_rows",
		"local_cloud.tunnel_vs_getrange", "incremental.max_sustained_vs_max_write", "ratio_vs_raw_tunnel", "incremental_p99"} {
		if !targets[name] {
			t.Errorf("target %q missing from %v", name, targets)
		}
	}
	if init := num(doc, "init_seconds"); init < 0 || init > 60 {
		t.Errorf("init_seconds %v not in [0, 60]", init)
	}
	if !strings.Contains(stderr.String(), "bench: full sync") {
		t.Errorf("no progress on stderr: %s", stderr.String())
	}
}

func TestParseStatCPUTicks(t *testing.T) {
	// The command name may hold spaces and parentheses: fields count from the last ')'.
	stat := []byte("4242 (a (b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 56 0 0 20 0 9 0 100 1000 200\n")
	got, err := parseStatCPUTicks(stat)
	if err != nil || got != 1234+56 {
		t.Fatalf("got %d, %v; want %d", got, err, 1234+56)
	}
	for _, bad := range []string{"", "1 (x) S 1 2", "1 (x) S 1 2 3 4 5 6 7 8 9 10 x 5 0", "1 (x) S 1 2 3 4 5 6 7 8 9 10 -1 5 0"} {
		if _, err := parseStatCPUTicks([]byte(bad)); err == nil {
			t.Errorf("%q: parsed without error", bad)
		}
	}
	if runtime.GOOS == "linux" {
		pid := os.Getpid()
		before, err := readCPUSeconds(pid)
		if err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
			if now, _ := readCPUSeconds(pid); now >= before+0.05 {
				return
			}
			for i := 0; i < 1e6; i++ { // burn CPU, which the counter must see
				_ = fmt.Sprint(i)
			}
		}
		t.Error("the process's CPU time did not advance by 50 ms in 5 s of spinning")
	}
}

func TestBenchRowFromTablestoreReadsWhatTheLoadWrote(t *testing.T) {
	want := makeRow(7, eventBase(1), 1)
	change := want.change(fullTable)
	row := &tablestore.Row{PrimaryKey: change.PrimaryKey}
	for _, c := range change.Columns {
		row.Columns = append(row.Columns, &tablestore.AttributeColumn{ColumnName: c.ColumnName, Value: c.Value})
	}
	got, err := benchRowFromTablestore(row)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	row.Columns[2].Value = "not an integer"
	if _, err := benchRowFromTablestore(row); err == nil || !strings.Contains(err.Error(), row.Columns[2].ColumnName) {
		t.Errorf("a mistyped column: err %v, want one naming the column", err)
	}
}

func TestRampRatesStartAtTheGoalThenHalveTheInterval(t *testing.T) {
	const ceiling = 10_001 // 0.8 × 1.01 × = 8080.8: rounded up, never below the goal
	if got := nextRampRate(0, 5000, ceiling, ceiling); got != 8081 {
		t.Errorf("first trial at %v, want 8081 (the goal and its 1%% headroom)", got)
	}
	if got := nextRampRate(0, 8050, ceiling, ceiling); got != 8081 {
		t.Errorf("sustained just under the goal's trial: first trial at %v, want 8081", got)
	}
	if got := nextRampRate(0, 9000, ceiling, ceiling); got != 9501 {
		t.Errorf("goal already sustained: first trial at %v, want the middle 9501", got)
	}
	if got := nextRampRate(1, 0, 8001, ceiling); got != 4001 {
		t.Errorf("after a failed goal: %v, want 4001", got)
	}
	if got := nextRampRate(2, 8001, 10_001, ceiling); got != 9001 {
		t.Errorf("after a sustained goal: %v, want 9001", got)
	}
}

func TestTrialSustainedNeedsEveryRowP99AndTheRate(t *testing.T) {
	flush := 5 * time.Second
	ok := trialResult{rate: 1000, rows: 5000, achieved: 960, p99: 5.9, drained: true}
	if !ok.sustained(flush) {
		t.Errorf("%+v: not sustained", ok)
	}
	for name, bad := range map[string]trialResult{
		"P99 over flush + 1 s": {rate: 1000, rows: 5000, achieved: 1000, p99: 6.01},
		"a row missing":        {rate: 1000, rows: 5000, achieved: 1000, p99: 5, missing: 1},
		"writer below 95%":     {rate: 1000, rows: 5000, achieved: 940, p99: 5},
		"no rows":              {rate: 1000, achieved: 1000, p99: 5},
	} {
		if bad.sustained(flush) {
			t.Errorf("%s: counted as sustained", name)
		}
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// BenchmarkConversionStage times the pipeline's conversion stage (tunnel
// record → row → Parquet) against parquet-go writing the same rows from Go
// structs, in the same run: once writing the same file as the pipeline
// (optional columns, PLAIN), once with parquet-go's defaults (required
// columns, DELTA_LENGTH_BYTE_ARRAY). Profile it with -cpuprofile to see where
// the conversion spends its time.
//
//	go test ./executor/bench -run '^$' -bench ConversionStage -benchtime 5x -cpuprofile cpu.out
func BenchmarkConversionStage(b *testing.B) {
	const rows = 100_000
	var raw, rawDefault, pipe float64
	for b.Loop() {
		rates, err := measureConversion(rows, 2)
		if err != nil {
			b.Fatal(err)
		}
		raw += rows / rates.rawParquetRowsPerSec
		rawDefault += rows / rates.rawParquetDefaultRowsPerSec
		pipe += rows / rates.pipelineRowsPerSec
	}
	b.ReportMetric(float64(rows*b.N)/pipe, "conversion-rows/s")
	b.ReportMetric(float64(rows*b.N)/raw, "parquet-go-rows/s")
	b.ReportMetric(raw/pipe, "ratio-vs-parquet-go")
	b.ReportMetric(rawDefault/pipe, "ratio-vs-parquet-go-defaults")
}
