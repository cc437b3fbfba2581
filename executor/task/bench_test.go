package task

import (
	"testing"
	"time"
)

// BenchmarkObjectKey measures naming one delivered object (template
// evaluation plus object name) against a same-run baseline of formatting the
// same time with time.Format, and reports the ratio.
func BenchmarkObjectKey(b *testing.B) {
	tmpl, err := ParsePrefix("orders/year=$yyyy/month=$MM/day=$dd/hour=$HH")
	if err != nil {
		b.Fatal(err)
	}
	at := time.Date(2020, 8, 31, 16, 3, 0, 0, time.UTC)
	var sink string
	start := time.Now()
	for i := 0; i < b.N; i++ {
		sink = at.Format("orders/year=2006/month=01/day=02/hour=15")
	}
	baseline := time.Since(start)
	b.ResetTimer()
	start = time.Now()
	for i := 0; i < b.N; i++ {
		sink = tmpl.ObjectKey(at, "orders-lake", 3, int64(i))
	}
	subject := time.Since(start)
	_ = sink
	b.ReportMetric(float64(baseline.Nanoseconds())/float64(b.N), "baseline-ns/op")
	b.ReportMetric(float64(subject)/float64(baseline), "ratio-vs-time.Format")
}
