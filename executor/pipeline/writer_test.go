package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/objectstore"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/state"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// memState is an in-memory PipelineState for unit tests of the writer's
// logic. It can simulate a crash around an Apply: crash, when set, is asked
// before and after the write is applied whether to fail there.
type memState struct {
	mu    sync.Mutex
	data  map[string][]byte
	crash func(applied bool) bool
}

func newMemState() *memState { return &memState{data: map[string][]byte{}} }

func (s *memState) Get(_ context.Context, key string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.data[key]
	return append([]byte(nil), v...), ok, nil
}

func (s *memState) Apply(ctx context.Context, puts map[string][]byte, deletes []string) error {
	return s.ApplyIf(ctx, nil, puts, deletes)
}

func (s *memState) ApplyIf(ctx context.Context, expect, puts map[string][]byte, deletes []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, want := range expect {
		got, ok := s.data[k]
		if want == nil && ok || want != nil && (!ok || !bytes.Equal(got, want)) {
			return state.ErrConflict
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.crash != nil && s.crash(false) {
		return errors.New("simulated crash before the journal write")
	}
	for _, k := range deletes {
		delete(s.data, k)
	}
	for k, v := range puts {
		s.data[k] = append([]byte(nil), v...)
	}
	if s.crash != nil && s.crash(true) {
		return errors.New("simulated crash after the journal write")
	}
	return nil
}

func (s *memState) Scan(_ context.Context, prefix string, fn func(string, []byte) error) error {
	s.mu.Lock()
	keys := make([]string, 0)
	for k := range s.data {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	vals := make([][]byte, len(keys))
	for i, k := range keys {
		vals[i] = s.data[k]
	}
	s.mu.Unlock()
	for i, k := range keys {
		if err := fn(k, vals[i]); err != nil {
			return err
		}
	}
	return nil
}

// memSink is an in-memory bucket for unit tests; fail, when set, decides
// per call whether a Put fails and whether the object lands anyway.
type memSink struct {
	mu       sync.Mutex
	objects  map[string][]byte
	attempts map[string]string
	puts     int
	fail     func(key string) (err error, stored bool)
}

func newMemSink() *memSink {
	return &memSink{objects: map[string][]byte{}, attempts: map[string]string{}}
}

func (s *memSink) Put(ctx context.Context, key string, data []byte, _, attempt string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.puts++
	if _, taken := s.objects[key]; taken {
		return &objectstore.Error{Kind: objectstore.KindExists, Op: "put", Key: key, Err: errors.New("FileAlreadyExists")}
	}
	store := func() {
		s.objects[key] = append([]byte(nil), data...)
		s.attempts[key] = attempt
	}
	if s.fail != nil {
		if err, stored := s.fail(key); err != nil {
			if stored {
				store()
			}
			return err
		}
	}
	store()
	return nil
}

func (s *memSink) Attempt(ctx context.Context, key string) (string, bool, error) {
	if err := ctx.Err(); err != nil {
		return "", false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.objects[key]
	return s.attempts[key], ok, nil
}

type countingReporter struct {
	mu        sync.Mutex
	failures  int
	delivered Counters
}

func (r *countingReporter) uploadFailed(error) {
	r.mu.Lock()
	r.failures++
	r.mu.Unlock()
}

func (r *countingReporter) uploadSucceeded(d Counters) {
	r.mu.Lock()
	r.delivered.add(d)
	r.mu.Unlock()
}

// fakeChannel is a tunnel channel over a fixed list of records: tokens are
// the index of the next record, and the checkpoint is kept like the tunnel
// service keeps it.
type fakeChannel struct {
	records    []*tunnel.Record
	checkpoint string
	stream     bool
}

func (c *fakeChannel) start() int {
	if c.checkpoint == "" {
		return 0
	}
	if c.checkpoint == tunnel.FinishTag {
		return len(c.records)
	}
	n, _ := strconv.Atoi(c.checkpoint)
	return n
}

func streamRecords(n int, partitions int, rng *rand.Rand) []*tunnel.Record {
	base := time.Date(2020, 8, 31, 16, 0, 0, 0, time.UTC)
	recs := make([]*tunnel.Record, 0, n)
	for i := 0; i < n; i++ {
		ts := base.Add(time.Duration(i/3) * time.Second).UnixMicro()
		part := rng.IntN(partitions)
		cols := []*tunnel.RecordColumn{
			put("name", fmt.Sprintf("row-%d", i), 1),
			put("price", float64(i)/2, 1),
			put("part", int64(part), 1),
		}
		typ := tunnel.AT_Put
		switch {
		case i%17 == 5:
			typ = tunnel.AT_Delete
			cols = nil
		case i%23 == 7:
			cols[1] = put("price", "not a number", 1) // dirty
		}
		recs = append(recs, &tunnel.Record{
			Type:         typ,
			Timestamp:    ts,
			SequenceInfo: &tunnel.SequenceInfo{Timestamp: ts, RowIndex: int32(i % 3)},
			PrimaryKey:   &tunnel.PrimaryKey{PrimaryKeys: []*tunnel.PrimaryKeyColumn{{ColumnName: "id", Value: int64(i)}}},
			Columns:      cols,
		})
	}
	return recs
}

func testWriterConfig(t *testing.T, ps *memState, sink *memSink, ch *fakeChannel, rep reporter) writerConfig {
	t.Helper()
	cols := []task.Column{
		{Source: "id", Name: "id", Type: task.TypeInt64},
		{Source: "name", Name: "name", Type: task.TypeUTF8},
		{Source: "price", Name: "price", Type: task.TypeDouble},
	}
	m, err := NewMapper(cols, nil)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := NewEncoder(cols, task.CompressionSnappy)
	if err != nil {
		t.Fatal(err)
	}
	prefix, err := task.ParsePrefix("lake/$yyyy/$MM/$dd/$HH/$mm")
	if err != nil {
		t.Fatal(err)
	}
	dirty, err := task.ParsePrefix("bad/$yyyy")
	if err != nil {
		t.Fatal(err)
	}
	return writerConfig{
		TaskName: "t1", Slot: 2, Channel: "ch-2",
		Mapper: m, Encoder: enc, Prefix: prefix, DirtyPrefix: dirty,
		FlushInterval: time.Hour, TargetBytes: 2000,
		Journal: journal{ps: ps}, Sink: sink,
		Checkpoint: func(token string) error { ch.checkpoint = token; return nil },
		Budget:     &memoryBudget{limit: 6000},
		Reporter:   rep,
		RetryBase:  time.Millisecond, RetryMax: 2 * time.Millisecond,
	}
}

// deliveredIDs decodes every data object and returns the multiset of ids,
// and checks the object names against the writer's numbering.
func deliveredIDs(t *testing.T, sink *memSink) (ids map[int64]int, dirty int) {
	t.Helper()
	ids = map[int64]int{}
	seqs := map[int64]bool{}
	for key, data := range sink.objects {
		if strings.HasPrefix(key, "bad/") {
			dirty += bytes.Count(data, []byte("\n"))
			continue
		}
		i := strings.LastIndex(key, "__")
		seq, err := strconv.ParseInt(key[i+2:], 10, 64)
		if err != nil || !strings.Contains(key, "/t1_2_lake_") {
			t.Fatalf("object name %q does not follow the naming rule", key)
		}
		if seqs[seq] {
			t.Fatalf("sequence %d used twice", seq)
		}
		seqs[seq] = true
		_, rows := readParquet(t, data)
		for _, r := range rows {
			ids[r[0].(int64)]++
		}
	}
	return ids, dirty
}

func expectedIDs(recs []*tunnel.Record) (ids map[int64]bool, dirty int) {
	ids = map[int64]bool{}
	for i, r := range recs {
		if r.Type == tunnel.AT_Delete {
			continue
		}
		if i%23 == 7 {
			dirty++
			continue
		}
		ids[int64(i)] = true
	}
	return ids, dirty
}

func TestWriterDeliversEveryRowOnceWithoutFailures(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	recs := streamRecords(3000, 4, rng)
	ps, sink, ch, rep := newMemState(), newMemSink(), &fakeChannel{records: recs}, &countingReporter{}
	w := newWriter(testWriterConfig(t, ps, sink, ch, rep))
	ctx := context.Background()
	for i := 0; i < len(recs); i += 100 {
		end := min(i+100, len(recs))
		token := strconv.Itoa(end)
		if end == len(recs) {
			token = tunnel.FinishTag
		}
		if err := w.process(ctx, recs[i:end], token, true); err != nil {
			t.Fatal(err)
		}
	}
	if ch.checkpoint != tunnel.FinishTag {
		t.Fatalf("checkpoint %q after the last batch, want finished", ch.checkpoint)
	}
	ids, dirty := deliveredIDs(t, sink)
	want, wantDirty := expectedIDs(recs)
	checkExactlyOnce(t, ids, want)
	if dirty != wantDirty {
		t.Errorf("dirty rows written %d, want %d", dirty, wantDirty)
	}
	if rep.delivered.RowsDelivered != int64(len(want)) || rep.delivered.RowsDirty != int64(wantDirty) ||
		rep.delivered.ObjectsWritten != int64(len(sink.objects)) {
		t.Errorf("counters %+v for %d rows, %d dirty, %d objects", rep.delivered, len(want), wantDirty, len(sink.objects))
	}
	if (&memoryBudget{}).used.Load() != 0 || w.cfg.Budget.used.Load() != 0 {
		t.Errorf("budget not released: %d", w.cfg.Budget.used.Load())
	}
}

func checkExactlyOnce(t *testing.T, got map[int64]int, want map[int64]bool) {
	t.Helper()
	missing, dup, extra := 0, 0, 0
	for id := range want {
		switch got[id] {
		case 0:
			missing++
		case 1:
		default:
			dup++
		}
	}
	for id := range got {
		if !want[id] {
			extra++
		}
	}
	if missing+dup+extra > 0 {
		t.Fatalf("delivery not exactly once: %d missing, %d duplicated, %d unexpected (of %d)", missing, dup, extra, len(want))
	}
}

// TestWriterExactlyOnceAcrossCrashes crashes the writer at random points
// (before or after a journal write, during an upload that lands or not) and
// starts a new writer over the same journal and bucket from the last tunnel
// checkpoint, until the channel finishes; then every row must be in exactly
// one object.
func TestWriterExactlyOnceAcrossCrashes(t *testing.T) {
	crashAndRestart(t, func(rng *rand.Rand) []*tunnel.Record { return streamRecords(2500, 3, rng) }, true)
}

// TestWriterBaseExactlyOnceAcrossCrashesByPrimaryKey is the same for a base
// channel, whose records carry no usable sequence info: here every record
// carries the same (misleading) one, which the writer must ignore, and
// replays are recognised by primary key alone.
func TestWriterBaseExactlyOnceAcrossCrashesByPrimaryKey(t *testing.T) {
	crashAndRestart(t, func(rng *rand.Rand) []*tunnel.Record { return baseRecords(2500, 3, rng) }, false)
}

// baseRecords returns n base records in increasing primary-key order
// (ids 0..n-1), their newest cells spread over the given number of
// minutes (partitions), every one carrying the same sequence info.
func baseRecords(n, partitions int, rng *rand.Rand) []*tunnel.Record {
	base := time.Date(2020, 8, 31, 16, 0, 0, 0, time.UTC)
	recs := make([]*tunnel.Record, 0, n)
	for i := 0; i < n; i++ {
		ms := base.Add(time.Duration(rng.IntN(partitions)) * time.Minute).UnixMilli()
		cols := []*tunnel.RecordColumn{
			put("name", fmt.Sprintf("row-%d", i), ms),
			put("price", float64(i)/2, ms),
		}
		if i%23 == 7 {
			cols[1] = put("price", "not a number", ms) // dirty
		}
		recs = append(recs, &tunnel.Record{
			Type:         tunnel.AT_Put,
			SequenceInfo: &tunnel.SequenceInfo{Timestamp: 1},
			PrimaryKey:   &tunnel.PrimaryKey{PrimaryKeys: []*tunnel.PrimaryKeyColumn{{ColumnName: "id", Value: int64(i)}}},
			Columns:      cols,
		})
	}
	return recs
}

func crashAndRestart(t *testing.T, source func(*rand.Rand) []*tunnel.Record, stream bool) {
	defer func(n int) { pruneThreshold = n }(pruneThreshold)
	for seed := uint64(1); seed <= 12; seed++ {
		// Half of the runs prune watermarks at every checkpoint.
		pruneThreshold = 64
		if seed%2 == 0 {
			pruneThreshold = 1
		}
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 99))
			recs := source(rng)
			ps, sink, ch, rep := newMemState(), newMemSink(), &fakeChannel{records: recs, stream: stream}, &countingReporter{}
			crashes := 0
			for round := 0; ; round++ {
				if round > 200 {
					t.Fatal("no progress after 200 restarts")
				}
				ctx, cancel := context.WithCancel(context.Background())
				countdown := 1 + rng.IntN(40)
				crashNow := func() bool {
					countdown--
					if countdown == 0 {
						crashes++
						cancel()
						return true
					}
					return false
				}
				ps.crash = func(applied bool) bool {
					if applied == (rng.IntN(2) == 0) {
						return false
					}
					return crashNow()
				}
				sink.fail = func(string) (error, bool) {
					if rng.IntN(5) == 0 {
						// A transient failure: maybe the object landed anyway.
						return errors.New("simulated timeout"), rng.IntN(2) == 0
					}
					if crashNow() {
						return errors.New("simulated crash during upload"), rng.IntN(2) == 0
					}
					return nil, false
				}
				cfg := testWriterConfig(t, ps, sink, ch, rep)
				cfg.Budget = &memoryBudget{limit: 6000}
				w := newWriter(cfg)
				done, err := runChannel(ctx, w, ch, rng)
				cancel()
				if done {
					break
				}
				if err != nil && !errors.Is(err, errStopped) && ctx.Err() == nil {
					t.Fatalf("round %d: %v", round, err)
				}
			}
			ps.crash, sink.fail = nil, nil
			if crashes < 3 {
				t.Fatalf("only %d crashes were simulated", crashes)
			}
			ids, dirty := deliveredIDs(t, sink)
			want, wantDirty := expectedIDs(recs)
			checkExactlyOnce(t, ids, want)
			if dirty != wantDirty {
				t.Errorf("dirty rows %d, want %d", dirty, wantDirty)
			}
			var total Counters
			total, err := (journal{ps: ps}).counters(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if total.RowsDelivered != int64(len(want)) || total.RowsDirty != int64(wantDirty) || total.ObjectsWritten != int64(len(sink.objects)) {
				t.Errorf("journal counters %+v, want %d rows, %d dirty, %d objects", total, len(want), wantDirty, len(sink.objects))
			}
			t.Logf("%d crashes, %d objects", crashes, len(sink.objects))
		})
	}
}

// runChannel feeds the writer from the channel's checkpoint in random
// batches, as the SDK does, with occasional age-based ticks.
func runChannel(ctx context.Context, w *writer, ch *fakeChannel, rng *rand.Rand) (bool, error) {
	pos := ch.start()
	if ch.checkpoint == tunnel.FinishTag {
		return true, nil
	}
	for {
		end := min(pos+1+rng.IntN(150), len(ch.records))
		token := strconv.Itoa(end)
		if end == len(ch.records) {
			token = tunnel.FinishTag
		}
		if err := w.process(ctx, ch.records[pos:end], token, ch.stream); err != nil {
			return false, err
		}
		if token == tunnel.FinishTag {
			return ch.checkpoint == tunnel.FinishTag, nil
		}
		pos = end
		if rng.IntN(10) == 0 {
			w.cfg.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
			if err := w.tick(ctx); err != nil {
				return false, err
			}
			w.cfg.Now = time.Now
		}
	}
}

func TestWriterFlushesQuietPartitionOnTick(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	recs := streamRecords(10, 1, rng)
	ps, sink, ch, rep := newMemState(), newMemSink(), &fakeChannel{records: recs}, &countingReporter{}
	cfg := testWriterConfig(t, ps, sink, ch, rep)
	// The rows are read the moment the oldest was written: a stream
	// buffer's age counts from that write.
	now := time.UnixMicro(recs[0].Timestamp).UTC()
	cfg.Now = func() time.Time { return now }
	cfg.FlushInterval = 5 * time.Second
	cfg.TargetBytes = 1 << 20
	w := newWriter(cfg)
	if err := w.process(context.Background(), recs, "10", true); err != nil {
		t.Fatal(err)
	}
	if len(sink.objects) != 0 || ch.checkpoint != "" {
		t.Fatalf("flushed or checkpointed before the interval: %d objects, checkpoint %q", len(sink.objects), ch.checkpoint)
	}
	now = now.Add(4 * time.Second)
	if err := w.tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(sink.objects) != 0 {
		t.Fatal("flushed before the interval")
	}
	// The newest of the rows (in the dirty buffer among them) was
	// written 3 s after the oldest: 9 s after it, every buffer is due.
	now = now.Add(5 * time.Second)
	if err := w.tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(sink.objects) == 0 {
		t.Fatal("quiet buffer not flushed after the interval")
	}
	if ch.checkpoint != "10" {
		t.Fatalf("checkpoint %q after everything was flushed, want 10", ch.checkpoint)
	}
}

func TestWriterCheckpointWaitsForOldestBuffer(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	recs := streamRecords(40, 1, rng)
	ps, sink, ch, rep := newMemState(), newMemSink(), &fakeChannel{records: recs}, &countingReporter{}
	cfg := testWriterConfig(t, ps, sink, ch, rep)
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg.Now = func() time.Time { now = now.Add(2 * time.Second); return now }
	cfg.TargetBytes = 1 << 20
	w := newWriter(cfg)
	for i := 0; i < 40; i += 10 {
		if err := w.process(context.Background(), recs[i:i+10], strconv.Itoa(i+10), true); err != nil {
			t.Fatal(err)
		}
		if ch.checkpoint != "" {
			t.Fatalf("checkpoint %q moved past unflushed rows", ch.checkpoint)
		}
	}
}

func TestWriterErrorsRetryWithoutCheckpoint(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	recs := streamRecords(30, 1, rng)
	ps, sink, ch, rep := newMemState(), newMemSink(), &fakeChannel{records: recs}, &countingReporter{}
	failures := 5
	sink.fail = func(string) (error, bool) {
		if failures > 0 {
			failures--
			return errors.New("bucket missing"), false
		}
		return nil, false
	}
	cfg := testWriterConfig(t, ps, sink, ch, rep)
	cfg.TargetBytes = 1 << 20
	w := newWriter(cfg)
	if err := w.process(context.Background(), recs, tunnel.FinishTag, true); err != nil {
		t.Fatal(err)
	}
	if rep.failures < 5 {
		t.Errorf("reported %d failures, want 5", rep.failures)
	}
	ids, _ := deliveredIDs(t, sink)
	want, _ := expectedIDs(recs)
	checkExactlyOnce(t, ids, want)
	// Every failed attempt freed its SequenceID: numbering stays dense.
	for key := range sink.objects {
		if strings.HasPrefix(key, "lake/") && !strings.HasSuffix(key, "__1") {
			t.Errorf("object %s: failed attempts left gaps in the numbering", key)
		}
	}
}

func TestWriterMemoryBudgetFlushesOldest(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	recs := streamRecords(600, 1, rng)
	ps, sink, ch, rep := newMemState(), newMemSink(), &fakeChannel{records: recs}, &countingReporter{}
	cfg := testWriterConfig(t, ps, sink, ch, rep)
	cfg.TargetBytes = 1 << 30
	cfg.Budget = &memoryBudget{limit: 4000}
	w := newWriter(cfg)
	for i := 0; i < len(recs); i += 50 {
		if err := w.process(context.Background(), recs[i:i+50], strconv.Itoa(i+50), true); err != nil {
			t.Fatal(err)
		}
		if used := cfg.Budget.used.Load(); used > 4000+50*200 {
			t.Fatalf("buffered %d bytes, budget 4000", used)
		}
	}
	if len(sink.objects) < 3 {
		t.Fatalf("budget did not force flushes: %d objects", len(sink.objects))
	}
}

func TestWriterPrunesWatermarksBelowCheckpoint(t *testing.T) {
	defer func(n int) { pruneThreshold = n }(pruneThreshold)
	pruneThreshold = 2
	rng := rand.New(rand.NewPCG(11, 12))
	// 20 minutes of records: 20 partitions.
	recs := streamRecords(3600, 1, rng)
	ps, sink, ch, rep := newMemState(), newMemSink(), &fakeChannel{records: recs}, &countingReporter{}
	cfg := testWriterConfig(t, ps, sink, ch, rep)
	cfg.TargetBytes = 1 << 30
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg.Now = func() time.Time { return now }
	cfg.FlushInterval = time.Second
	w := newWriter(cfg)
	for i := 0; i < len(recs); i += 200 {
		if err := w.process(context.Background(), recs[i:i+200], strconv.Itoa(i+200), true); err != nil {
			t.Fatal(err)
		}
		now = now.Add(2 * time.Second)
		if err := w.tick(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if ch.checkpoint != "3600" {
		t.Fatalf("checkpoint %q", ch.checkpoint)
	}
	stored := 0
	_ = ps.Scan(context.Background(), "wm/", func(string, []byte) error { stored++; return nil })
	if stored > 3 || len(w.replay.watermarks) > 3 {
		t.Errorf("%d watermarks stored, %d in memory after checkpointing 20 partitions", stored, len(w.replay.watermarks))
	}
	ids, _ := deliveredIDs(t, sink)
	want, _ := expectedIDs(recs)
	checkExactlyOnce(t, ids, want)
}

// TestWriterNeverOverwritesAForeignObject: a key taken by another writer's
// late upload is left alone and its SequenceID skipped.
func TestWriterNeverOverwritesAForeignObject(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	recs := streamRecords(100, 1, rng)
	ps, sink, ch, rep := newMemState(), newMemSink(), &fakeChannel{records: recs}, &countingReporter{}
	const zombieKey = "lake/2020/08/31/16/00/t1_2_lake_2020_08_31_16_00__1"
	sink.objects[zombieKey] = []byte("a late upload of another writer")
	sink.attempts[zombieKey] = "zombie"
	cfg := testWriterConfig(t, ps, sink, ch, rep)
	cfg.TargetBytes = 1 << 30
	w := newWriter(cfg)
	if err := w.process(context.Background(), recs, tunnel.FinishTag, true); err != nil {
		t.Fatal(err)
	}
	if string(sink.objects[zombieKey]) != "a late upload of another writer" {
		t.Fatal("the foreign object was overwritten")
	}
	delete(sink.objects, zombieKey)
	ids, _ := deliveredIDs(t, sink)
	want, _ := expectedIDs(recs)
	checkExactlyOnce(t, ids, want)
	if _, ok := sink.objects["lake/2020/08/31/16/00/t1_2_lake_2020_08_31_16_00__2"]; !ok {
		t.Errorf("the rows did not move to the next SequenceID: %v", keysOf(sink.objects))
	}
}

func keysOf(m map[string][]byte) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// budgetTestWriter is a writer of the given channel and shard that shares
// budget, reads recs, and whose clock starts at now and ticks 1 ms a call.
func budgetTestWriter(t *testing.T, budget *memoryBudget, recs []*tunnel.Record, channel string, shard, target int, now time.Time) (*writer, *memSink) {
	t.Helper()
	sink, ch := newMemSink(), &fakeChannel{records: recs}
	cfg := testWriterConfig(t, newMemState(), sink, ch, &countingReporter{})
	cfg.Channel, cfg.Slot, cfg.TargetBytes, cfg.Budget = channel, shard, target, budget
	var ticks atomic.Int64
	cfg.Now = func() time.Time { return now.Add(time.Duration(ticks.Add(1)) * time.Millisecond) }
	w := newWriter(cfg)
	budget.register(w)
	return w, sink
}

// TestMemoryBudgetFlushesTheExecutorsOldestBuffer: when one writer pushes
// the executor past its budget, the oldest buffer of all writers goes
// first, even if another writer holds it.
func TestMemoryBudgetFlushesTheExecutorsOldestBuffer(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	recs := streamRecords(200, 1, rng)
	// The limit is set once the first writer has buffered: half as much
	// again as its buffer, so that the second writer's buffer goes over it.
	budget := &memoryBudget{limit: math.MaxInt64}
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	older, olderSink := budgetTestWriter(t, budget, recs, "ch-old", 0, 1<<30, start)
	newer, newerSink := budgetTestWriter(t, budget, recs, "ch-new", 1, 1<<30, start.Add(time.Minute))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-older.flushRequested():
				_ = older.flushOldest(ctx)
			}
		}
	}()
	if err := older.process(ctx, recs[:100], "100", true); err != nil {
		t.Fatal(err)
	}
	if len(olderSink.objects) != 0 || budget.used.Load() == 0 {
		t.Fatalf("flushed before the budget was reached (used %d)", budget.used.Load())
	}
	budget.limit = budget.used.Load() * 3 / 2
	if err := newer.process(ctx, recs[:100], "100", true); err != nil {
		t.Fatal(err)
	}
	if len(olderSink.objects) == 0 {
		t.Fatal("the oldest buffer (another writer's) was not written")
	}
	if len(newerSink.objects) != 0 {
		t.Fatalf("the newer writer wrote its own buffer although the oldest one relieved the budget (used %d of %d)",
			budget.used.Load(), budget.limit)
	}
	if budget.over() {
		t.Fatalf("still over budget: %d of %d", budget.used.Load(), budget.limit)
	}
}

// TestMemoryBudgetWritesOwnBufferWorthAnObjectAtOnce: a writer that goes
// over the budget while holding a buffer worth an object (at least half the
// target) writes that buffer itself, without asking the writer of the
// executor's oldest buffer and waiting for it.
func TestMemoryBudgetWritesOwnBufferWorthAnObjectAtOnce(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	recs := streamRecords(200, 1, rng)
	budget := &memoryBudget{limit: math.MaxInt64}
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	ctx := context.Background()
	older, olderSink := budgetTestWriter(t, budget, recs, "ch-old", 0, 1<<30, start)
	if err := older.process(ctx, recs[:100], "100", true); err != nil {
		t.Fatal(err)
	}
	used := budget.used.Load()
	if used == 0 || len(olderSink.objects) != 0 {
		t.Fatalf("the first writer buffered %d bytes and wrote %d objects", used, len(olderSink.objects))
	}
	// The second writer buffers about as much, which is at least half of
	// its target but short of it: worth an object, not due for size.
	newer, newerSink := budgetTestWriter(t, budget, recs, "ch-new", 1, int(used)*3/2, start.Add(time.Minute))
	budget.limit = used * 3 / 2
	if err := newer.process(ctx, recs[:100], "100", true); err != nil {
		t.Fatal(err)
	}
	if len(newerSink.objects) == 0 {
		t.Fatal("the writer over the budget did not write its own buffer worth an object")
	}
	if len(olderSink.objects) != 0 || len(older.flushReq) != 0 {
		t.Fatalf("the oldest writer was asked to write (%d objects, %d requests) although the newer writer's own buffer sufficed",
			len(olderSink.objects), len(older.flushReq))
	}
	if budget.over() {
		t.Fatalf("still over budget: %d of %d", budget.used.Load(), budget.limit)
	}
}
