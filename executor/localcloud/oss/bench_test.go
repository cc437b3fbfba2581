package oss

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The benchmarks measure the endpoint through the real SDK over loopback
// HTTP and, in the same loop, the same bytes written to or read from a local
// file directly; "ratio" is SDK throughput / file throughput. The put
// baseline fsyncs like the server does (the server also renames, fsyncs the
// directory and commits the index); the get baseline reads a file that is,
// like the server's blob, in the page cache.

var benchSizes = []int{4 << 20, 64 << 20}

func reportRatio(b *testing.B, size int, sdkTime, fileTime time.Duration) {
	mib := float64(size) * float64(b.N) / (1 << 20)
	sdkRate := mib / sdkTime.Seconds()
	fileRate := mib / fileTime.Seconds()
	b.ReportMetric(sdkRate, "sdk-MiB/s")
	b.ReportMetric(fileRate, "file-MiB/s")
	b.ReportMetric(sdkRate/fileRate, "ratio")
}

func BenchmarkPutObject(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("%dMiB", size>>20), func(b *testing.B) {
			dir := b.TempDir()
			ts := startServer(b, filepath.Join(dir, "data"))
			bucket := mustBucket(b, newClient(b, ts.endpoint), "bench")
			data := randomBytes(uint64(size), size)
			baseline := filepath.Join(dir, "baseline.bin")
			b.SetBytes(int64(size))
			var sdkTime, fileTime time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				putBytes(b, bucket, "bench/object", data)
				sdkTime += time.Since(start)

				start = time.Now()
				writeFileSynced(b, baseline, data)
				fileTime += time.Since(start)
			}
			b.StopTimer()
			reportRatio(b, size, sdkTime, fileTime)
		})
	}
}

func BenchmarkGetObject(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("%dMiB", size>>20), func(b *testing.B) {
			dir := b.TempDir()
			ts := startServer(b, filepath.Join(dir, "data"))
			bucket := mustBucket(b, newClient(b, ts.endpoint), "bench")
			data := randomBytes(uint64(size), size)
			putBytes(b, bucket, "bench/object", data)
			baseline := filepath.Join(dir, "baseline.bin")
			writeFileSynced(b, baseline, data)
			b.SetBytes(int64(size))
			var sdkTime, fileTime time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				rc, err := bucket.GetObject("bench/object")
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.Copy(io.Discard, rc)
				rc.Close()
				if err != nil || n != int64(size) {
					b.Fatalf("read %d bytes: %v", n, err)
				}
				sdkTime += time.Since(start)

				start = time.Now()
				f, err := os.Open(baseline)
				if err != nil {
					b.Fatal(err)
				}
				n, err = io.Copy(io.Discard, f)
				f.Close()
				if err != nil || n != int64(size) {
					b.Fatalf("read %d bytes: %v", n, err)
				}
				fileTime += time.Since(start)
			}
			b.StopTimer()
			reportRatio(b, size, sdkTime, fileTime)
		})
	}
}

func writeFileSynced(b *testing.B, path string, data []byte) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(f, bytes.NewReader(data)); err != nil {
		b.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}
