package reliability

import (
	"fmt"
	"testing"
	"time"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/fault"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"

	"github.com/tablestore-delivery/terraform-provider-tablestore/internal/testsupport"
)

// TestDeliveryUnderFaults delivers a table through a differential task
// (a full export of the rows written before, then the rows written after
// the task started) while 5% of the executor's OSS calls and 5% of its
// tunnel calls fail, and reads every object back: each row must arrive
// exactly once.
func TestDeliveryUnderFaults(t *testing.T) {
	t.Parallel()
	// 5% of each target's calls fail, spread over every kind of failure:
	// OSS also loses answers to requests that took effect.
	deliverUnderFaults(t, pick[int64](20_000, 200_000),
		fault.Rule{ErrorRate: 0.02, ThrottleRate: 0.01, ResetRate: 0.01, LostResponseRate: 0.01,
			LatencyRate: 0.05, Latency: fault.Duration(20 * time.Millisecond)},
		fault.Rule{ErrorRate: 0.03, ThrottleRate: 0.01, ResetRate: 0.01}, false)
}

// TestDeliveryUnderHeavyFaults is the same with 40% of the OSS calls
// and a fifth of the tunnel calls failing, so that a short run meets every
// kind of fault many times; tunnel answers are lost too (a checkpoint or
// heartbeat that took effect, a read whose records never arrive).
func TestDeliveryUnderHeavyFaults(t *testing.T) {
	t.Parallel()
	deliverUnderFaults(t, pick[int64](6_000, 100_000),
		fault.Rule{ErrorRate: 0.1, ThrottleRate: 0.1, ResetRate: 0.1, LostResponseRate: 0.1,
			LatencyRate: 0.1, Latency: fault.Duration(50 * time.Millisecond)},
		fault.Rule{ErrorRate: 0.08, ThrottleRate: 0.04, ResetRate: 0.04, LostResponseRate: 0.04}, true)
}

func deliverUnderFaults(t *testing.T, total int64, ossRule, tunnelRule fault.Rule, requireEach bool) {
	// Eight shards: eight channels writing their own objects, so more OSS
	// calls that can fail.
	s := startStack(t, stackOptions{shards: 8})
	s.createTable("orders")
	s.createBucket("lake")
	s.putRole()
	want := s.putRows("orders", 0, total/2, 1)

	s.setFaults(fault.OSS, ossRule)
	s.setFaults(fault.Tunnel, tunnelRule)

	s.createTask("orders-lake", "orders", "lake", "orders/$yyyy$MM$dd", task.SyncDifferential)
	// The second half arrives in small batches while the full export runs
	// and after it, so that many objects are written (each flush interval
	// closes the buffers of every channel) and many calls can fail.
	const rounds = 40
	step := (total - total/2) / rounds
	for i := range int64(rounds) {
		from := total/2 + i*step
		to := from + step
		if i == rounds-1 {
			to = total
		}
		want = append(want, s.putRows("orders", from, to, 2)...)
		time.Sleep(100 * time.Millisecond)
	}

	testsupport.WaitFor(t, pick(3*time.Minute, 15*time.Minute), fmt.Sprintf("%d rows delivered", total), func() string {
		st := s.status("orders", "orders-lake")
		if st.RowsDelivered < total {
			return fmt.Sprintf("%d of %d rows delivered (phase %s, error %q %s)", st.RowsDelivered, total, st.Phase, st.ErrorCode, st.ErrorDetail)
		}
		return ""
	})
	summary := s.faultSummary()
	counts := s.faults.Counts()
	// Stop injecting before reading back, so the executor settles.
	s.setFaults(fault.OSS, fault.Rule{})
	s.setFaults(fault.Tunnel, fault.Rule{})
	got := deliveredRows(t, s.objects("lake", "orders/"))
	checkExactlyOnce(t, "delivery under faults", want, got)
	t.Logf("faults injected: %s", summary)
	// At 5% a short run makes few OSS calls (a few dozen objects) and may
	// draw no OSS fault; the heavy variant must hit both targets.
	if counts[fault.OSS].Faults()+counts[fault.Tunnel].Faults() == 0 ||
		requireEach && (counts[fault.OSS].Faults() == 0 || counts[fault.Tunnel].Faults() == 0) {
		t.Fatalf("the test injected too few faults: %s", summary)
	}
	if st := s.status("orders", "orders-lake"); st.RowsDelivered != total {
		t.Errorf("rows_delivered = %d, want %d", st.RowsDelivered, total)
	}
}

// TestOSSOutage makes OSS unavailable to the executor while rows keep
// arriving: the task reports the error, the rows buffered in memory stay
// within the memory budget (the pipelines stop reading instead of
// buffering more), and every row is delivered once OSS is back.
func TestOSSOutage(t *testing.T) {
	const budget = 1 << 20
	outage := pick(5*time.Second, 30*time.Second)
	s := startStack(t, stackOptions{memoryBudget: budget, transientGrace: time.Second})
	s.createTable("events")
	s.createBucket("lake")
	s.putRole()
	want := s.putRows("events", 0, 2000, 1)
	s.createTask("events-lake", "events", "lake", "events", task.SyncDifferential)
	testsupport.WaitFor(t, time.Minute, "the first rows delivered", func() string {
		if st := s.status("events", "events-lake"); st.RowsDelivered < 2000 {
			return fmt.Sprintf("%d rows delivered", st.RowsDelivered)
		}
		return ""
	})

	// OSS goes away: half the calls answer 500, half have their connection reset.
	s.setFaults(fault.OSS, fault.Rule{ErrorRate: 0.5, ResetRate: 0.5})
	start := time.Now()
	var maxBuffered float64
	var reported task.Status
	next := int64(2000)
	const perRound = 2000
	for time.Since(start) < outage {
		// Far more than the budget arrives during the outage (about 60
		// bytes a row in memory).
		if next < 40_000 {
			want = append(want, s.putRows("events", next, next+perRound, 1)...)
			next += perRound
		}
		maxBuffered = max(maxBuffered, s.gauge("delivery_pipeline_buffered_bytes"))
		if st := s.status("events", "events-lake"); st.ErrorCode != "" && reported.ErrorCode == "" {
			reported = st
			t.Logf("after %s the task reports %s: %s", time.Since(start).Round(time.Millisecond), st.ErrorCode, st.ErrorDetail)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if reported.ErrorCode != task.ErrInternal {
		t.Errorf("during the outage the task reported %q, want %s", reported.ErrorCode, task.ErrInternal)
	}
	stalled := s.status("events", "events-lake").RowsDelivered
	t.Logf("outage of %s: %d rows written, %d delivered, at most %.0f bytes buffered (budget %d)", outage, next, stalled, maxBuffered, budget)
	// One read batch per channel may land before the budget check that
	// stops the reading: 4 channels of at most 1000 small records each.
	if maxBuffered > budget+4*1000*200 {
		t.Errorf("buffered %.0f bytes during the outage, budget %d", maxBuffered, budget)
	}
	if maxBuffered < budget/2 {
		t.Errorf("only %.0f bytes buffered: the outage did not fill the %d-byte budget, so it tested nothing", maxBuffered, budget)
	}
	if stalled >= next {
		t.Errorf("all %d rows were delivered although OSS was down", next)
	}

	s.setFaults(fault.OSS, fault.Rule{})
	back := time.Now()
	testsupport.WaitFor(t, 2*time.Minute, "delivery to catch up", func() string {
		st := s.status("events", "events-lake")
		if st.RowsDelivered < next || st.ErrorCode != "" {
			return fmt.Sprintf("%d of %d rows delivered, error %q", st.RowsDelivered, next, st.ErrorCode)
		}
		return ""
	})
	t.Logf("caught up %s after OSS returned; %s", time.Since(back).Round(time.Millisecond), s.faultSummary())
	checkExactlyOnce(t, "delivery across an OSS outage", want, deliveredRows(t, s.objects("lake", "events/")))
}

// TestBucketDeletedMidway deletes the target bucket while a task delivers
// into it (taking every object out first, as OSS refuses to delete a
// non-empty bucket, and keeping what they held): the task reports
// InvalidOssBucket, and once the bucket exists again every row written is
// found exactly once across the objects taken out and those written after.
func TestBucketDeletedMidway(t *testing.T) {
	t.Parallel()
	s := startStack(t, stackOptions{transientGrace: 2 * time.Second})
	s.createTable("clicks")
	s.createBucket("lake")
	s.putRole()
	want := s.putRows("clicks", 0, 3000, 1)
	s.createTask("clicks-lake", "clicks", "lake", "clicks", task.SyncDifferential)
	testsupport.WaitFor(t, time.Minute, "the first rows delivered", func() string {
		if st := s.status("clicks", "clicks-lake"); st.RowsDelivered < 3000 {
			return fmt.Sprintf("%d rows delivered", st.RowsDelivered)
		}
		return ""
	})

	// Empty the bucket object by object, keeping each object's rows, then
	// delete it; objects the executor writes meanwhile are taken too.
	var taken []row
	bucket, err := s.oss0.Bucket("lake")
	if err != nil {
		t.Fatal(err)
	}
	deleted := false
	for attempt := 0; attempt < 50 && !deleted; attempt++ {
		for key, data := range s.objects("lake", "") {
			taken = append(taken, parquetRows(t, key, data)...)
			if err := bucket.DeleteObject(key); err != nil {
				t.Fatal(err)
			}
		}
		deleted = s.oss0.DeleteBucket("lake") == nil
	}
	if !deleted {
		t.Fatal("could not delete the bucket")
	}
	t.Logf("bucket deleted after %d rows were delivered into it", len(taken))
	want = append(want, s.putRows("clicks", 3000, 6000, 2)...)
	testsupport.WaitFor(t, time.Minute, "InvalidOssBucket", func() string {
		if st := s.status("clicks", "clicks-lake"); st.ErrorCode != task.ErrInvalidOssBucket {
			return fmt.Sprintf("error %q %s", st.ErrorCode, st.ErrorDetail)
		}
		return ""
	})
	st := s.status("clicks", "clicks-lake")
	t.Logf("task reports %s: %s", st.ErrorCode, st.ErrorDetail)

	s.createBucket("lake")
	testsupport.WaitFor(t, 2*time.Minute, "delivery after the bucket is back", func() string {
		st := s.status("clicks", "clicks-lake")
		if st.ErrorCode != "" || st.RowsDelivered < 6000 {
			return fmt.Sprintf("%d rows delivered, error %q", st.RowsDelivered, st.ErrorCode)
		}
		return ""
	})
	taken = append(taken, deliveredRows(t, s.objects("lake", "clicks/"))...)
	checkExactlyOnce(t, "delivery across a deleted bucket", want, taken)
}
