package api

import (
	"context"
	"testing"
	"time"
)

// BenchmarkGetTask measures GET /v1/tasks/{table}/{name} through the client
// over real HTTP against a same-run baseline of GET /healthz on the same
// server, and reports the ratio: what auth, the registry read and JSON cost
// on top of an HTTP round trip.
func BenchmarkGetTask(b *testing.B) {
	ctx := context.Background()
	e := newEnv(b, ordersCatalog(), nil)
	if _, err := e.client.CreateTask(ctx, manualSpec("bench-task")); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if err := e.client.Health(ctx); err != nil {
			b.Fatal(err)
		}
	}
	baseline := time.Since(start)
	b.ResetTimer()
	start = time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := e.client.GetTask(ctx, "orders", "bench-task"); err != nil {
			b.Fatal(err)
		}
	}
	subject := time.Since(start)
	b.ReportMetric(float64(baseline.Nanoseconds())/float64(b.N), "baseline-ns/op")
	b.ReportMetric(float64(subject)/float64(baseline), "ratio-vs-healthz")
}
