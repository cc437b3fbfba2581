package pipeline

import (
	"context"
	"encoding/hex"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel"
)

// uniformRecords returns n valid stream records written at the same
// instant (so one partition), with names that do not compress away.
func uniformRecords(n int, written time.Time, rng *rand.Rand) []*tunnel.Record {
	recs := make([]*tunnel.Record, 0, n)
	var raw [12]byte
	for i := 0; i < n; i++ {
		for j := range raw {
			raw[j] = byte(rng.Uint32())
		}
		ts := written.UnixMicro()
		recs = append(recs, &tunnel.Record{
			Type:         tunnel.AT_Put,
			Timestamp:    ts,
			SequenceInfo: &tunnel.SequenceInfo{Timestamp: ts, RowIndex: int32(i)},
			PrimaryKey:   &tunnel.PrimaryKey{PrimaryKeys: []*tunnel.PrimaryKeyColumn{{ColumnName: "id", Value: int64(i)}}},
			Columns: []*tunnel.RecordColumn{
				put("name", hex.EncodeToString(raw[:]), 1),
				put("price", float64(rng.IntN(1_000_000))/100, 1),
			},
		})
	}
	return recs
}

// TestWriterCutsObjectsNearTheTargetEncodedSize checks that objects written
// because their buffer reached the target are close to the target in
// Parquet bytes, not in estimated in-memory bytes (about twice as many).
func TestWriterCutsObjectsNearTheTargetEncodedSize(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	written := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	recs := uniformRecords(12_000, written, rng)
	ps, sink, ch, rep := newMemState(), newMemSink(), &fakeChannel{records: recs}, &countingReporter{}
	cfg := testWriterConfig(t, ps, sink, ch, rep)
	cfg.Now = func() time.Time { return written }
	cfg.TargetBytes = 48 << 10
	cfg.Budget = &memoryBudget{limit: 1 << 30}
	w := newWriter(cfg)
	// No finish tag and no tick: every object is one cut for size.
	for i := 0; i < len(recs); i += 500 {
		if err := w.process(context.Background(), recs[i:i+500], strconv.Itoa(i+500), true); err != nil {
			t.Fatal(err)
		}
	}
	var sizes []int
	for key, data := range sink.objects {
		if strings.HasPrefix(key, "lake/") {
			sizes = append(sizes, len(data))
		}
	}
	if len(sizes) < 4 {
		t.Fatalf("%d data objects, want several cut for size", len(sizes))
	}
	for _, n := range sizes {
		if ratio := float64(n) / float64(cfg.TargetBytes); ratio < 0.75 || ratio > 1.25 {
			t.Errorf("object of %d bytes is %.2f× the %d-byte target (sizes %v)", n, ratio, cfg.TargetBytes, sizes)
		}
	}
	if w.encodedRatio <= 0 || w.encodedRatio >= 1 {
		t.Errorf("learnt encoded/estimated ratio %.3f, want between 0 and 1 for these rows", w.encodedRatio)
	}
	// The memory budget still counts the estimate of what stays buffered.
	var buffered int
	for _, b := range w.buffers {
		buffered += b.size
	}
	if used := cfg.Budget.used.Load(); used != int64(buffered) {
		t.Errorf("budget counts %d bytes, buffers hold an estimated %d", used, buffered)
	}
}

// TestWriterAgesStreamBuffersByWriteTime checks that a stream buffer whose
// oldest row was written FlushInterval ago is written at the next tick even
// though it was read just now, while a base buffer ages from its read.
func TestWriterAgesStreamBuffersByWriteTime(t *testing.T) {
	for _, stream := range []bool{true, false} {
		t.Run("stream="+strconv.FormatBool(stream), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(23, 24))
			readAt := time.Date(2024, 1, 1, 0, 0, 10, 0, time.UTC)
			const flush = 5 * time.Second
			recs := uniformRecords(20, readAt.Add(-flush), rng)
			ps, sink, ch, rep := newMemState(), newMemSink(), &fakeChannel{records: recs}, &countingReporter{}
			cfg := testWriterConfig(t, ps, sink, ch, rep)
			now := readAt
			cfg.Now = func() time.Time { return now }
			cfg.FlushInterval = flush
			cfg.TargetBytes = 1 << 20
			w := newWriter(cfg)
			if err := w.process(context.Background(), recs, "20", stream); err != nil {
				t.Fatal(err)
			}
			if len(sink.objects) != 0 {
				t.Fatalf("%d objects before any tick", len(sink.objects))
			}
			if err := w.tick(context.Background()); err != nil {
				t.Fatal(err)
			}
			if len(sink.objects) != 0 {
				// A stream buffer stays open a little (w.minOpen) so a
				// backlog is not cut at every tick; a base row's write time
				// is its newest cell version and says nothing about how long
				// the row waited.
				t.Fatalf("rows read just now: %d objects after the tick, want 0", len(sink.objects))
			}
			now = readAt.Add(w.minOpen())
			if err := w.tick(context.Background()); err != nil {
				t.Fatal(err)
			}
			if stream && len(sink.objects) != 1 {
				t.Fatalf("stream rows written %v ago, read %v ago: %d objects after the tick, want 1", flush+w.minOpen(), w.minOpen(), len(sink.objects))
			}
			if !stream && len(sink.objects) != 0 {
				t.Fatalf("base rows read %v ago: %d objects after the tick, want 0", w.minOpen(), len(sink.objects))
			}
			now = readAt.Add(flush)
			if err := w.tick(context.Background()); err != nil {
				t.Fatal(err)
			}
			if len(sink.objects) != 1 {
				t.Fatalf("%d objects once the rows were read %v ago, want 1", len(sink.objects), flush)
			}
		})
	}
}

// TestWriterTickWithNothingDueAllocatesNothing keeps the frequent tick
// cheap: with buffers that are not due, it only walks them.
func TestWriterTickWithNothingDueAllocatesNothing(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	recs := streamRecords(60, 6, rng)
	ps, sink, ch, rep := newMemState(), newMemSink(), &fakeChannel{records: recs}, &countingReporter{}
	cfg := testWriterConfig(t, ps, sink, ch, rep)
	cfg.Now = func() time.Time { return now }
	cfg.TargetBytes = 1 << 20
	w := newWriter(cfg)
	if err := w.process(context.Background(), recs, "60", false); err != nil {
		t.Fatal(err)
	}
	if len(w.buffers) < 2 {
		t.Fatalf("%d buffers, want several", len(w.buffers))
	}
	allocs := testing.AllocsPerRun(100, func() {
		if err := w.tick(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("a tick with nothing due allocated %.1f times", allocs)
	}
	if len(sink.objects) != 0 {
		t.Fatalf("%d objects written by ticks with nothing due", len(sink.objects))
	}
}

// TestWriterCatchingUpDoesNotCutAnObjectPerTick: when a stream channel
// reads a backlog, every row is already older than the flush interval; the
// buffer's short minimum open time keeps the writer from cutting an object at
// every tick.
func TestWriterCatchingUpDoesNotCutAnObjectPerTick(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 28))
	now := time.Date(2024, 1, 1, 1, 0, 0, 0, time.UTC)
	const flush, batches, perBatch = 5 * time.Second, 8, 50
	recs := uniformRecords(batches*perBatch, now.Add(-time.Hour), rng)
	ps, sink, ch, rep := newMemState(), newMemSink(), &fakeChannel{records: recs}, &countingReporter{}
	cfg := testWriterConfig(t, ps, sink, ch, rep)
	cfg.Now = func() time.Time { return now }
	cfg.FlushInterval = flush
	cfg.TargetBytes = 64 << 20
	cfg.Budget = &memoryBudget{limit: 1 << 30} // only age may cut here
	w := newWriter(cfg)
	for i := range batches {
		batch := recs[i*perBatch : (i+1)*perBatch]
		if err := w.process(context.Background(), batch, strconv.Itoa((i+1)*perBatch), true); err != nil {
			t.Fatal(err)
		}
		now = now.Add(250 * time.Millisecond) // the default tick for a 5 s flush
		if err := w.tick(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// 2 s of catching up with a 1 s minimum open time: at most 2 objects (3
	// with a boundary), where one per tick would be 8.
	if n := len(sink.objects); n == 0 || n > 3 {
		t.Fatalf("%d objects for a backlog read over %v, want 1 to 3: %v", n, batches*250*time.Millisecond, slices.Sorted(maps.Keys(sink.objects)))
	}
}
