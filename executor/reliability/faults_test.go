package reliability

import (
	"fmt"
	"testing"
	"time"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/fault"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// TestDeliveryUnderFaults delivers a table through a differential task
// (a full export of the rows written before, then the rows written after
// the task started) while 5% of the executor's OSS calls and 5% of its
// tunnel calls fail, and reads every object back: each row must arrive
// exactly once.
func TestDeliveryUnderFaults(t *testing.T) {
	// 5% of each target's calls fail, spread over every kind of failure:
	// OSS also loses answers to requests that took effect.
	deliverUnderFaults(t, pick[int64](20_000, 200_000),
		fault.Rule{ErrorRate: 0.02, ThrottleRate: 0.01, ResetRate: 0.01, LostResponseRate: 0.01,
			LatencyRate: 0.05, Latency: fault.Duration(20 * time.Millisecond)},
		fault.Rule{ErrorRate: 0.03, ThrottleRate: 0.01, ResetRate: 0.01})
}

// TestDeliveryUnderHeavyFaults is the same with 40% of the OSS calls
// and a sixth of the tunnel calls failing, so that a short run meets every
// kind of fault many times.
func TestDeliveryUnderHeavyFaults(t *testing.T) {
	deliverUnderFaults(t, pick[int64](10_000, 100_000),
		fault.Rule{ErrorRate: 0.1, ThrottleRate: 0.1, ResetRate: 0.1, LostResponseRate: 0.1,
			LatencyRate: 0.1, Latency: fault.Duration(50 * time.Millisecond)},
		fault.Rule{ErrorRate: 0.08, ThrottleRate: 0.04, ResetRate: 0.04})
}

func deliverUnderFaults(t *testing.T, total int64, ossRule, tunnelRule fault.Rule) {
	s := startStack(t, stackOptions{})
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
	const rounds = 60
	step := (total - total/2) / rounds
	for i := range int64(rounds) {
		from := total/2 + i*step
		to := from + step
		if i == rounds-1 {
			to = total
		}
		want = append(want, s.putRows("orders", from, to, 2)...)
		time.Sleep(150 * time.Millisecond)
	}

	waitFor(t, pick(3*time.Minute, 15*time.Minute), fmt.Sprintf("%d rows delivered", total), func() string {
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
	if counts[fault.OSS].Faults() == 0 || counts[fault.Tunnel].Faults() == 0 {
		t.Fatalf("the test injected no faults on some target: %s", summary)
	}
	if st := s.status("orders", "orders-lake"); st.RowsDelivered != total {
		t.Errorf("rows_delivered = %d, want %d", st.RowsDelivered, total)
	}
}
