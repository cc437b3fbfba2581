package fault_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/fault"
)

// BenchmarkWrappedOSSGet measures what the injector costs when no fault is
// configured: a small GetObject through the OSS SDK, over HTTP, to the OSS
// server behind the wrapper, against the same call to the bare server in
// the same run.
func BenchmarkWrappedOSSGet(b *testing.B) {
	c := startCloud(b)
	if err := c.ossc.CreateBucket("lake"); err != nil {
		b.Fatal(err)
	}
	bucket, err := c.ossc.Bucket("lake")
	if err != nil {
		b.Fatal(err)
	}
	if err := bucket.PutObject("k", strings.NewReader("small object")); err != nil {
		b.Fatal(err)
	}
	get := func(client *oss.Client) {
		bucket, err := client.Bucket("lake")
		if err != nil {
			b.Fatal(err)
		}
		rc, err := bucket.GetObject("k")
		if err != nil {
			b.Fatal(err)
		}
		_ = rc.Close()
	}
	start := time.Now()
	for range b.N {
		get(c.bare)
	}
	baseline := time.Since(start)
	b.ResetTimer()
	start = time.Now()
	for range b.N {
		get(c.ossc)
	}
	subject := time.Since(start)
	b.ReportMetric(float64(baseline.Nanoseconds())/float64(b.N), "baseline-ns/op")
	b.ReportMetric(float64(subject)/float64(baseline), "ratio-vs-bare-server")
	if n := c.inj.Counts()[fault.OSS].Requests; n < int64(b.N) {
		b.Fatalf("the wrapper saw %d requests, want %d", n, b.N)
	}
}
