package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// Report is the outcome of a run. Its JSON form carries issue 9's keys, and
// a few more that explain them.
type Report struct {
	FullSync     FullSync     `json:"full_sync"`
	LocalCloud   LocalCloud   `json:"local_cloud"`
	Incremental  Incremental  `json:"incremental"`
	MemoryGrowth MemoryGrowth `json:"memory_growth"`
	// InitSeconds is from the full-sync task's creation to its first phase
	// after INIT; InitSecondsEmptyTable the same for the latency task.
	InitSeconds           float64 `json:"init_seconds"`
	InitSecondsEmptyTable float64 `json:"init_seconds_empty_table"`

	Load         LoadResult `json:"load"`
	Targets      []Target   `json:"targets"`
	TotalSeconds float64    `json:"total_seconds"`
	Sizes        SizesJSON  `json:"sizes"`
}

// FullSync is the full-sync scenario and its baselines.
type FullSync struct {
	Rows     int     `json:"rows"`
	RowBytes float64 `json:"row_bytes"`
	Shards   int     `json:"shards"`
	// Seconds is from the task's creation until every row is delivered;
	// SecondsUntilIncremental until the task also reports phase INCR.
	Seconds                 float64 `json:"seconds"`
	SecondsUntilIncremental float64 `json:"seconds_until_incremental"`
	RowsPerSec              float64 `json:"rows_per_sec"`
	RowsDelivered           int64   `json:"rows_delivered"`

	RawTunnelRowsPerSec float64 `json:"raw_tunnel_rows_per_sec"`
	RatioVsRawTunnel    float64 `json:"ratio_vs_raw_tunnel"`
	// RawParquetRowsPerSec is parquet-go writing the same file as the
	// pipeline (PLAIN, snappy) from Go structs in memory.
	RawParquetRowsPerSec float64 `json:"raw_parquet_rows_per_sec"`
	// RawParquetDefaultEncodingRowsPerSec is the same with parquet-go's
	// default encodings (DELTA_LENGTH_BYTE_ARRAY for byte arrays), which
	// the task does not use; for reference.
	RawParquetDefaultEncodingRowsPerSec float64 `json:"raw_parquet_default_encoding_rows_per_sec"`
	// ConversionRowsPerSec is the pipeline's conversion stage (tunnel
	// record → row → Parquet bytes) on the same rows, in memory.
	ConversionRowsPerSec float64 `json:"conversion_rows_per_sec"`
	RatioVsRawParquet    float64 `json:"ratio_vs_raw_parquet"`
	// RatioEndToEndVsRawParquet is the whole delivery's rate against the
	// bare Parquet encoding.
	RatioEndToEndVsRawParquet float64 `json:"ratio_end_to_end_vs_raw_parquet"`

	Objects     int   `json:"objects"`
	ObjectBytes int64 `json:"object_bytes"`
	// Groups is the number of (ConcurrentID, partition) pairs; each has one tail.
	Groups                         int    `json:"object_groups"`
	MinObjectBytesExcludingTails   *int64 `json:"min_object_bytes_excluding_tails"`
	ObjectsBelow4MiBExcludingTails int    `json:"objects_below_4mib_excluding_tails"`
	RSS                            int64  `json:"executor_peak_rss_bytes"`

	// The naive export (issue 17): one thread, GetRange 5,000 rows a call,
	// parquet-go's generic writer, PutObject every 64 MiB; its own process.
	NaiveExportRowsPerSec float64 `json:"naive_export_rows_per_sec"`
	NaiveExportSeconds    float64 `json:"naive_export_seconds"`
	NaiveExportObjects    int     `json:"naive_export_objects"`
	NaiveExportBytes      int64   `json:"naive_export_bytes"`
	RatioVsNaiveExport    float64 `json:"ratio_vs_naive_export"`
	// CPU time (user + system, /proc/<pid>/stat) per million rows: of the
	// executor process during the full sync and of the naive export
	// process during its export; and of the local cloud over each.
	ExecutorCPUSecondsPerMillionRows   float64 `json:"executor_cpu_seconds_per_million_rows"`
	NaiveCPUSecondsPerMillionRows      float64 `json:"naive_cpu_seconds_per_million_rows"`
	CloudCPUSecondsPerMillionRows      float64 `json:"cloud_cpu_seconds_per_million_rows"`
	NaiveCloudCPUSecondsPerMillionRows float64 `json:"naive_cloud_cpu_seconds_per_million_rows"`
}

// LocalCloud compares the local cloud's two bulk read paths on the full
// sync's table, both read through the SDK from the bench process.
type LocalCloud struct {
	// TunnelRowsPerSec is the raw SDK tunnel read (full_sync's
	// raw_tunnel_rows_per_sec); GetRangeRowsPerSec one thread of GetRange
	// calls of 5,000 rows.
	TunnelRowsPerSec   float64 `json:"tunnel_rows_per_sec"`
	GetRangeRowsPerSec float64 `json:"getrange_rows_per_sec"`
	TunnelVsGetRange   float64 `json:"tunnel_vs_getrange"`
	// The local cloud's CPU time per million rows served each way.
	TunnelCPUSecondsPerMillionRows   float64 `json:"tunnel_cloud_cpu_seconds_per_million_rows"`
	GetRangeCPUSecondsPerMillionRows float64 `json:"getrange_cloud_cpu_seconds_per_million_rows"`
}

// Incremental is the latency scenario.
type Incremental struct {
	RateRowsPerSec       float64 `json:"rate_rows_per_sec"`
	AchievedRowsPerSec   float64 `json:"achieved_rows_per_sec"`
	FlushIntervalSeconds float64 `json:"flush_interval_seconds"`
	Rows                 int     `json:"rows"`
	RowsMissing          int     `json:"rows_missing"`
	Objects              int     `json:"objects"`
	P50Seconds           float64 `json:"p50_seconds"`
	P99Seconds           float64 `json:"p99_seconds"`
	MaxSeconds           float64 `json:"max_seconds"`
	// Per object: from the write of its oldest row to its listing.
	ObjectAgeP50Seconds         float64 `json:"object_age_p50_seconds"`
	ObjectAgeMaxSeconds         float64 `json:"object_age_max_seconds"`
	ObjectsOlderThanFlushPlus1s int     `json:"objects_older_than_flush_plus_1s"`

	// MaxWriteRowsPerSec is the rate the local Tablestore accepted from a
	// parallel BatchWriteRow load (executor/bulkload, as the run's first
	// load): the higher of WriteCeilingLoads, one just before the ramp and
	// one just after it (the first load's rate without a ramp);
	// MaxSustainedRowsPerSec the highest rate written (achieved, not
	// asked for) in a trial where the executor kept P99 within flush + 1 s
	// (Ramp lists the trials, the fixed-rate one first; 0 when none was
	// sustained).
	MaxWriteRowsPerSec     float64      `json:"max_write_rows_per_sec"`
	MaxSustainedRowsPerSec float64      `json:"max_sustained_rows_per_sec"`
	SustainedVsMaxWrite    float64      `json:"sustained_vs_max_write"`
	Ramp                   []RampTrial  `json:"ramp"`
	WriteCeilingLoads      []LoadResult `json:"write_ceiling_loads"`
}

// MemoryGrowth compares the executor's peak RSS over two table sizes.
type MemoryGrowth struct {
	RowsSmall            int     `json:"rows_small"`
	RSSSmall             int64   `json:"rss_small"`
	RowsLarge            int     `json:"rows_large"`
	RSSLarge             int64   `json:"rss_large"`
	Ratio                float64 `json:"ratio"`
	LargeFullSyncSeconds float64 `json:"large_full_sync_seconds"`
}

// Target is one of issue 9's targets and whether the run met it.
type Target struct {
	Name     string `json:"name"`
	Goal     string `json:"goal"`
	Measured string `json:"measured"`
	Met      bool   `json:"met"`
}

// SizesJSON echoes the sizes the run used.
type SizesJSON struct {
	FullSyncRows               int     `json:"full_sync_rows"`
	EventHours                 int     `json:"event_hours"`
	TargetObjectSizeMB         int     `json:"target_object_size_mb"`
	IncrementalDurationSeconds float64 `json:"incremental_duration_seconds"`
	MemoryLargeRows            int     `json:"memory_large_rows"`
}

func newReport(s Sizes) *Report {
	return &Report{Sizes: SizesJSON{
		FullSyncRows: s.FullSyncRows, EventHours: s.EventHours, TargetObjectSizeMB: s.TargetObjectSizeMB,
		IncrementalDurationSeconds: s.IncrementalDuration.Seconds(), MemoryLargeRows: s.MemoryLargeRows,
	}}
}

func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

const mib = 1 << 20

// finish derives the ratios and evaluates the targets.
func (r *Report) finish(total time.Duration) {
	fs := &r.FullSync
	fs.RatioVsRawTunnel = ratio(fs.RowsPerSec, fs.RawTunnelRowsPerSec)
	fs.RatioVsRawParquet = ratio(fs.ConversionRowsPerSec, fs.RawParquetRowsPerSec)
	fs.RatioEndToEndVsRawParquet = ratio(fs.RowsPerSec, fs.RawParquetRowsPerSec)
	fs.RatioVsNaiveExport = ratio(fs.RowsPerSec, fs.NaiveExportRowsPerSec)
	lc := &r.LocalCloud
	lc.TunnelRowsPerSec = fs.RawTunnelRowsPerSec
	lc.TunnelVsGetRange = ratio(lc.TunnelRowsPerSec, lc.GetRangeRowsPerSec)
	r.Incremental.SustainedVsMaxWrite = ratio(r.Incremental.MaxSustainedRowsPerSec, r.Incremental.MaxWriteRowsPerSec)
	m := &r.MemoryGrowth
	m.Ratio = ratio(float64(m.RSSLarge), float64(m.RSSSmall))
	r.TotalSeconds = total.Seconds()

	minObject := "no non-tail object"
	minObjectMet := true
	if fs.MinObjectBytesExcludingTails != nil {
		minObject = fmt.Sprintf("min %.2f MiB, %d below", float64(*fs.MinObjectBytesExcludingTails)/mib, fs.ObjectsBelow4MiBExcludingTails)
		minObjectMet = fs.ObjectsBelow4MiBExcludingTails == 0
	}
	inc := r.Incremental
	r.Targets = []Target{
		{"ratio_vs_raw_tunnel", "≥ 0.5", fmt.Sprintf("%.2f", fs.RatioVsRawTunnel), fs.RatioVsRawTunnel >= 0.5},
		{"ratio_vs_raw_parquet", "≥ 0.4", fmt.Sprintf("%.2f", fs.RatioVsRawParquet), fs.RatioVsRawParquet >= 0.4},
		{"incremental_p99", fmt.Sprintf("≤ %.0f s (flush + 1 s)", inc.FlushIntervalSeconds+1),
			fmt.Sprintf("%.2f s", inc.P99Seconds), inc.Rows > 0 && inc.RowsMissing == 0 && inc.P99Seconds <= inc.FlushIntervalSeconds+1},
		{"rss_large", "≤ 256 MiB", fmt.Sprintf("%.0f MiB", float64(m.RSSLarge)/mib), m.RSSLarge > 0 && m.RSSLarge <= 256*mib},
		{"memory_growth_ratio", "≤ 1.10", fmt.Sprintf("%.2f", m.Ratio), m.Ratio > 0 && m.Ratio <= 1.10},
		{"objects_excluding_tails", "every one ≥ 4 MiB", minObject, minObjectMet},
		{"init_seconds", "≤ 5 s", fmt.Sprintf("%.2f s", r.InitSeconds), r.InitSeconds <= 5},
		{"full_sync.ratio_vs_naive_export", "≥ 2", fmt.Sprintf("%.2f", fs.RatioVsNaiveExport), fs.RatioVsNaiveExport >= 2},
		{"full_sync.executor_cpu_seconds_per_million_rows", "≤ naive export's",
			fmt.Sprintf("%.2f vs %.2f", fs.ExecutorCPUSecondsPerMillionRows, fs.NaiveCPUSecondsPerMillionRows),
			fs.ExecutorCPUSecondsPerMillionRows > 0 && fs.ExecutorCPUSecondsPerMillionRows <= fs.NaiveCPUSecondsPerMillionRows},
		{"local_cloud.tunnel_vs_getrange", "≥ 1", fmt.Sprintf("%.2f", lc.TunnelVsGetRange), lc.TunnelVsGetRange >= 1},
		{"incremental.max_sustained_vs_max_write", "≥ 0.8",
			fmt.Sprintf("%.0f / %.0f rows/s = %.2f", inc.MaxSustainedRowsPerSec, inc.MaxWriteRowsPerSec, inc.SustainedVsMaxWrite),
			inc.SustainedVsMaxWrite >= 0.8},
	}
}

// WriteJSON writes the report as one indented JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes the report for people.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fs, inc, m := r.FullSync, r.Incremental, r.MemoryGrowth
	minObj := "n/a (every group is one object)"
	if fs.MinObjectBytesExcludingTails != nil {
		minObj = fmt.Sprintf("%.2f MiB (%d below 4 MiB)", float64(*fs.MinObjectBytesExcludingTails)/mib, fs.ObjectsBelow4MiBExcludingTails)
	}
	rows := [][2]string{
		{"full sync", fmt.Sprintf("%d rows × %.0f B, %d shards, %d hourly partitions", fs.Rows, fs.RowBytes, fs.Shards, r.Sizes.EventHours)},
		{"  delivery", fmt.Sprintf("%.1f s, %.0f rows/s (phase INCR after %.1f s)", fs.Seconds, fs.RowsPerSec, fs.SecondsUntilIncremental)},
		{"  raw SDK tunnel read", fmt.Sprintf("%.0f rows/s (ratio %.2f)", fs.RawTunnelRowsPerSec, fs.RatioVsRawTunnel)},
		{"  parquet-go from memory", fmt.Sprintf("%.0f rows/s (same file: PLAIN, snappy; with its default encodings %.0f rows/s)", fs.RawParquetRowsPerSec, fs.RawParquetDefaultEncodingRowsPerSec)},
		{"  pipeline conversion stage", fmt.Sprintf("%.0f rows/s (ratio %.2f; end to end %.2f)", fs.ConversionRowsPerSec, fs.RatioVsRawParquet, fs.RatioEndToEndVsRawParquet)},
		{"  objects", fmt.Sprintf("%d in %d (ConcurrentID, partition) groups, %.1f MiB", fs.Objects, fs.Groups, float64(fs.ObjectBytes)/mib)},
		{"  min object excl. tails", minObj},
		{"  executor peak RSS", fmt.Sprintf("%.0f MiB", float64(fs.RSS)/mib)},
		{"  naive export", fmt.Sprintf("%.1f s, %.0f rows/s (ratio %.2f), %d objects", fs.NaiveExportSeconds, fs.NaiveExportRowsPerSec, fs.RatioVsNaiveExport, fs.NaiveExportObjects)},
		{"  CPU s per million rows", fmt.Sprintf("executor %.2f, naive export %.2f; local cloud %.2f during the sync, %.2f during the export", fs.ExecutorCPUSecondsPerMillionRows, fs.NaiveCPUSecondsPerMillionRows, fs.CloudCPUSecondsPerMillionRows, fs.NaiveCloudCPUSecondsPerMillionRows)},
		{"local cloud reads", fmt.Sprintf("tunnel %.0f rows/s, GetRange %.0f rows/s (ratio %.2f); cloud CPU s per million rows %.2f / %.2f", r.LocalCloud.TunnelRowsPerSec, r.LocalCloud.GetRangeRowsPerSec, r.LocalCloud.TunnelVsGetRange, r.LocalCloud.TunnelCPUSecondsPerMillionRows, r.LocalCloud.GetRangeCPUSecondsPerMillionRows)},
		{"incremental", fmt.Sprintf("%.0f rows/s (achieved %.0f) × %.0f s, flush %.0f s", inc.RateRowsPerSec, inc.AchievedRowsPerSec, r.Sizes.IncrementalDurationSeconds, inc.FlushIntervalSeconds)},
		{"  write → visible", fmt.Sprintf("P50 %.2f s, P99 %.2f s, max %.2f s (%d rows, %d missing, %d objects)", inc.P50Seconds, inc.P99Seconds, inc.MaxSeconds, inc.Rows, inc.RowsMissing, inc.Objects)},
		{"  per object", fmt.Sprintf("oldest row's age at listing: P50 %.2f s, max %.2f s; %d objects older than flush + 1 s", inc.ObjectAgeP50Seconds, inc.ObjectAgeMaxSeconds, inc.ObjectsOlderThanFlushPlus1s)},
		{"  max rates", fmt.Sprintf("write %.0f rows/s (BatchWriteRow load), sustained %.0f rows/s (ratio %.2f, %d trials)", inc.MaxWriteRowsPerSec, inc.MaxSustainedRowsPerSec, inc.SustainedVsMaxWrite, len(inc.Ramp))},
		{"memory (peak RSS)", fmt.Sprintf("%d rows: %.0f MiB; %d rows: %.0f MiB; ratio %.2f", m.RowsSmall, float64(m.RSSSmall)/mib, m.RowsLarge, float64(m.RSSLarge)/mib, m.Ratio)},
		{"initialization", fmt.Sprintf("%.2f s (%d-row table), %.2f s (empty table)", r.InitSeconds, fs.Rows, r.InitSecondsEmptyTable)},
		{"load (BatchWriteRow)", fmt.Sprintf("%.0f rows/s", r.Load.RowsPerSec)},
		{"total", fmt.Sprintf("%.0f s", r.TotalSeconds)},
	}
	for _, row := range rows {
		fmt.Fprintf(tw, "%s\t%s\n", row[0], row[1])
	}
	fmt.Fprintln(tw, "\ntarget\tgoal\tmeasured\tmet")
	for _, t := range r.Targets {
		met := "yes"
		if !t.Met {
			met = "NO"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Name, t.Goal, t.Measured, met)
	}
	return tw.Flush()
}
