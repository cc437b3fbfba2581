package pipeline

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"
)

func testUploader(ps *memState, sink *memSink) *uploader {
	return &uploader{taskName: "t1", channel: "opaque", slot: 3, journal: journal{ps: ps}, sink: sink,
		reporter: &countingReporter{}, logger: slog.New(slog.DiscardHandler), retryBase: time.Millisecond, retryMax: time.Millisecond}
}

// TestUploaderResolvesLeftoverIntents: an intent whose object landed from
// one of its attempts is committed; one without an object is dropped and
// its SequenceID reused; one whose key holds another writer's object is
// dropped and its SequenceID skipped.
func TestUploaderResolvesLeftoverIntents(t *testing.T) {
	ctx := context.Background()
	name := func(seq int64) string { return "k/" + string(rune('0'+seq)) }
	for _, tc := range []struct {
		name      string
		object    string // attempt id of the object at the key; "" none
		committed bool
		nextSeq   int64
	}{
		{"landed", "a1", true, 2},
		{"never landed", "", false, 1},
		{"foreign object", "zombie", false, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps, sink := newMemState(), newMemSink()
			u := testUploader(ps, sink)
			in, err := u.journal.begin(ctx, Intent{Slot: 3, Kind: kindData, Channel: "opaque", Partition: "p",
				Rows: 5, Attempts: []string{"a0", "a1"}}, name)
			if err != nil {
				t.Fatal(err)
			}
			if tc.object != "" {
				sink.objects[in.Key], sink.attempts[in.Key] = []byte("x"), tc.object
			}
			got, err := u.resolve(ctx, kindData)
			if err != nil {
				t.Fatal(err)
			}
			if (got != nil) != tc.committed {
				t.Fatalf("resolve committed %v, want %v", got != nil, tc.committed)
			}
			counters, _ := u.journal.counters(ctx)
			if wantRows := map[bool]int64{true: 5}[tc.committed]; counters.RowsDelivered != wantRows {
				t.Errorf("rows counted %d, want %d", counters.RowsDelivered, wantRows)
			}
			if left, _ := u.journal.pending(ctx, 3, kindData); left != nil {
				t.Error("the intent is still there")
			}
			next, _ := u.journal.begin(ctx, Intent{Slot: 3, Kind: kindData}, name)
			if next.Seq != tc.nextSeq {
				t.Errorf("next SequenceID %d, want %d", next.Seq, tc.nextSeq)
			}
		})
	}
}

// TestUploaderPutRetriesUntilCommitted: a put that fails (even after the
// object landed) is retried, and ends with exactly one object and one
// commit.
func TestUploaderPutRetriesUntilCommitted(t *testing.T) {
	ps, sink := newMemState(), newMemSink()
	u := testUploader(ps, sink)
	fails := 0
	sink.fail = func(string) (error, bool) {
		if fails < 2 {
			fails++
			return errors.New("timeout"), fails == 2 // the second failure landed anyway
		}
		return nil, false
	}
	var attempts []string
	err := u.put(context.Background(), upload{kind: kindData, partition: "lake/p", data: []byte("parquet"), rows: 7,
		last: Position{Timestamp: 9}, attempts: &attempts, contentType: "application/vnd.apache.parquet"})
	if err != nil {
		t.Fatal(err)
	}
	if len(sink.objects) != 1 || len(attempts) != 2 {
		t.Fatalf("%d objects after %d attempts, want 1 after 2", len(sink.objects), len(attempts))
	}
	counters, _ := u.journal.counters(context.Background())
	if counters.RowsDelivered != 7 || counters.ObjectsWritten != 1 {
		t.Errorf("counters %+v", counters)
	}
	for key := range sink.objects {
		if key != "lake/p/t1_3_lake_p__1" {
			t.Errorf("object %s, want ConcurrentID 3 (the slot) and SequenceID 1", key)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	sink.fail = func(string) (error, bool) { return errors.New("down"), false }
	if err := u.put(ctx, upload{kind: kindData, partition: "lake/p", data: []byte("x"), attempts: new([]string)}); !errors.Is(err, errStopped) {
		t.Errorf("put on a stopped channel = %v, want errStopped", err)
	}
}
