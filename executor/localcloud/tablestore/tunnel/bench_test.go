package tunnel

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	sdktunnel "github.com/aliyun/aliyun-tablestore-go-sdk/tunnel"
	"go.uber.org/zap"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/plainbuffer"
)

const benchRows = 20000

// BenchmarkTunnelRead measures records per second read through one SDK
// tunnel worker (full export of a table with one or four shards, hence one
// or four channels) against a plain in-process snapshot scan of the same
// data measured in the same run; "ratio" is tunnel/scan.
func BenchmarkTunnelRead(b *testing.B) {
	for _, shards := range []int{1, 4} {
		b.Run(fmt.Sprintf("channels=%d", shards), func(b *testing.B) {
			e := newEnv(b, Config{}, shards)
			e.createTable("bench")
			e.putRows("bench", 0, benchRows)
			scanRate := benchScanRate(b, e)

			var tunnelTime time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				id := e.createTunnel("bench", fmt.Sprintf("full-%d", i), sdktunnel.TunnelTypeBaseData)
				var got atomic.Int64
				done := make(chan struct{})
				factory := &sdktunnel.SimpleProcessFactory{
					CpInterval: time.Second,
					Logger:     zap.NewNop(),
					ProcessFunc: func(ctx *sdktunnel.ChannelContext, records []*sdktunnel.Record) error {
						if got.Add(int64(len(records))) == benchRows {
							close(done)
						}
						return nil
					},
				}
				start := time.Now()
				d := startDaemon(e.tc, id, factory)
				select {
				case <-done:
				case <-time.After(2 * time.Minute):
					b.Fatalf("only %d of %d records arrived", got.Load(), benchRows)
				}
				tunnelTime += time.Since(start)
				b.StopTimer()
				d.stop(b)
				b.StartTimer()
			}
			tunnelRate := float64(benchRows*b.N) / tunnelTime.Seconds()
			b.ReportMetric(tunnelRate, "records/s")
			b.ReportMetric(scanRate, "scan-records/s")
			b.ReportMetric(tunnelRate/scanRate, "ratio")
		})
	}
}

// benchScanRate reads the whole table from a snapshot in-process, page by
// page, as the service's source does, and returns records per second.
func benchScanRate(b *testing.B, e *env) float64 {
	b.Helper()
	src := NewStorageSource(e.storage)
	var total int
	start := time.Now()
	for round := 0; round < 3; round++ {
		id, parts, err := src.CreateSnapshot(testInstance, "bench")
		if err != nil {
			b.Fatal(err)
		}
		for _, part := range parts {
			var cursor []byte
			for {
				records, more, err := src.ScanSnapshot(id, part.ID, cursor, DefaultMaxRecordsPerRead)
				if err != nil {
					b.Fatal(err)
				}
				total += len(records)
				if len(records) > 0 {
					last, err := plainbuffer.DecodeRow(records[len(records)-1])
					if err != nil {
						b.Fatal(err)
					}
					cursor = src.SnapshotCursor(last.PrimaryKey)
				}
				if !more {
					break
				}
			}
		}
		if err := src.ReleaseSnapshot(id); err != nil {
			b.Fatal(err)
		}
	}
	if total != 3*benchRows {
		b.Fatalf("scan read %d rows, want %d", total, 3*benchRows)
	}
	return float64(total) / time.Since(start).Seconds()
}

// BenchmarkServiceReadBase measures the service's own cost of serving base
// records (snapshot scan + record encoding + protobuf answer), in-process
// without HTTP or the SDK, against the bare snapshot scan ("ratio" =
// service/scan records per second).
func BenchmarkServiceReadBase(b *testing.B) {
	e := newEnv(b, Config{}, 1)
	e.createTable("bench")
	e.putRows("bench", 0, benchRows)
	scanRate := benchScanRate(b, e)
	id := e.createTunnel("bench", "svc", sdktunnel.TunnelTypeBaseData)
	e.svc.mu.Lock()
	tun := e.svc.tunnels[id]
	e.svc.mu.Unlock()
	target := readTarget{partition: tun.Channels[0].Partition, snapshotID: tun.SnapshotID,
		maxRecords: DefaultMaxRecordsPerRead, maxBytes: DefaultMaxBytesPerRead}
	initial := tun.Channels[0].Checkpoint
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		n := 0
		for token := initial; token != FinishedToken; {
			resp, e := e.svc.readBase(target, token)
			if e != nil {
				b.Fatal(e)
			}
			if _, err := marshalAnswer(resp); err != nil {
				b.Fatal(err)
			}
			n += len(resp.Records)
			token = resp.GetNextToken()
		}
		if n != benchRows {
			b.Fatalf("read %d records, want %d", n, benchRows)
		}
	}
	rate := float64(benchRows*b.N) / time.Since(start).Seconds()
	b.ReportMetric(rate, "records/s")
	b.ReportMetric(rate/scanRate, "ratio")
}

// BenchmarkServiceReadStream measures the service's own cost of serving
// stream records (change-log read + record encoding + protobuf answer),
// in-process without HTTP or the SDK.
func BenchmarkServiceReadStream(b *testing.B) {
	e := newEnv(b, Config{}, 1)
	e.createTable("bench")
	id := e.createTunnel("bench", "svc", sdktunnel.TunnelTypeStream)
	e.putRows("bench", 0, benchRows)
	e.svc.mu.Lock()
	tun := e.svc.tunnels[id]
	e.svc.mu.Unlock()
	ch := tun.Channels[0]
	target := readTarget{instance: testInstance, table: "bench", partition: ch.Partition, epoch: ch.Epoch,
		maxRecords: DefaultMaxRecordsPerRead, maxBytes: DefaultMaxBytesPerRead}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		n := 0
		for token := ch.Checkpoint; ; {
			resp, e := e.svc.readStream(target, token)
			if e != nil {
				b.Fatal(e)
			}
			if _, err := marshalAnswer(resp); err != nil {
				b.Fatal(err)
			}
			n += len(resp.Records)
			token = resp.GetNextToken()
			if !resp.GetMayMoreRecord() {
				break
			}
		}
		if n != benchRows {
			b.Fatalf("read %d records, want %d", n, benchRows)
		}
	}
	b.ReportMetric(float64(benchRows*b.N)/time.Since(start).Seconds(), "records/s")
}
