package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/state"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"

	"github.com/tablestore-delivery/terraform-provider-tablestore/internal/testsupport"
)

// errNoSplits: the local cloud under test cannot split partitions.
var errNoSplits = fmt.Errorf("the local cloud has no partition splits (POST /_admin/tables/{table}/split)")

// split asks the local cloud to split the table's largest partition, as
// Tablestore does by itself when a partition grows. It returns errNoSplits
// when the local cloud has no such endpoint, and false when no partition
// can be split now.
func (c *cloud) split(table string) (bool, error) {
	resp, err := http.Post(c.otsURL+"/_admin/tables/"+table+"/split", "application/json", nil)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		return false, errNoSplits
	}
	var res struct {
		Parent   string   `json:"parent"`
		Children []string `json:"children"`
		Error    string   `json:"error"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		return false, fmt.Errorf("split answer %q: %w", body, err)
	}
	switch {
	case resp.StatusCode == http.StatusOK && len(res.Children) == 2:
		return true, nil
	case resp.StatusCode == http.StatusBadRequest && strings.Contains(res.Error, "cannot be split"):
		return false, nil
	}
	return false, fmt.Errorf("split: %d %s", resp.StatusCode, bytes.TrimSpace(body))
}

// TestSplitsUnderContinuousWritesWithThreeExecutors: three executors share
// a differential task through the Tablestore registry while rows keep
// being written and partitions split; every row must be delivered exactly
// once, and the ConcurrentIDs must stay compact (0..n-1) with dense
// SequenceIDs per ConcurrentID.
func TestSplitsUnderContinuousWritesWithThreeExecutors(t *testing.T) {
	dir := t.TempDir()
	c := startCloud(t, dir+"/cloud")
	defer c.close()
	c.createBucket("lake")
	c.createTable("grow")
	c.putRows("grow", idRange(0, 400), e2eRow)
	if _, err := c.split("grow"); errors.Is(err, errNoSplits) {
		t.Skip(err)
	} else if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var mgrs []*Manager
	var first state.Registry
	for i := range 3 {
		reg, err := state.NewTablestore(ctx, state.TablestoreConfig{Endpoint: c.otsURL, Instance: stackInstance,
			AccessKeyID: stackKeyID, AccessKeySecret: stackSecret, SecretKey: state.KeyFromPassphrase("splits")})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = reg
		}
		mgr, err := New(Config{Registry: reg, TablestoreEndpoint: c.otsURL, Instance: stackInstance,
			AccessKeyID: stackKeyID, AccessKeySecret: stackSecret,
			OSSEndpoints: map[string]string{stackRegion: c.ossURL}, Logger: testsupport.QuietLogger("PIPELINE_TEST_LOGS"),
			HeartbeatInterval: 300 * time.Millisecond, HeartbeatTimeout: 2 * time.Second,
			StatusInterval: 200 * time.Millisecond, TickInterval: 100 * time.Millisecond,
			RetryBase: 50 * time.Millisecond, RetryMax: 300 * time.Millisecond, MemoryBudgetBytes: 64 << 10})
		if err != nil {
			t.Fatal(err)
		}
		defer mgr.Close()
		mgrs = append(mgrs, mgr)
	}
	if err := first.PutRole(ctx, state.RoleRecord{
		Role:        task.Role{Name: task.DefaultRoleName, ARN: stackRoleARN, CreatedAt: time.Now().UTC()},
		Credentials: state.Credentials{AccessKeyID: stackKeyID, AccessKeySecret: stackSecret},
	}); err != nil {
		t.Fatal(err)
	}
	spec := task.Spec{Name: "grow-lake", Table: "grow", Bucket: "lake", Region: stackRegion, RoleARN: stackRoleARN,
		Prefix: "g/$mm", SyncMode: task.SyncDifferential, Columns: e2eColumns, FlushIntervalSeconds: 1, TargetObjectSizeMB: 1}
	spec.ApplyDefaults()
	tk := task.Task{Spec: spec, Status: task.Status{Phase: task.PhaseInit, ResolvedColumns: spec.Columns}}
	if err := first.CreateTask(ctx, tk); err != nil {
		t.Fatal(err)
	}
	for _, m := range mgrs {
		if err := m.Start(ctx, tk); err != nil {
			t.Fatal(err)
		}
	}
	if err := first.UpdateStatus(ctx, "grow", "grow-lake", func(s *task.Status) { s.Phase = task.PhaseFull }); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	next := int64(400)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(30 * time.Millisecond):
			}
			mu.Lock()
			from := next
			next += 15
			mu.Unlock()
			c.putRows("grow", idRange(from, from+15), e2eRow)
		}
	}()
	splits := 1
	for range 3 {
		time.Sleep(1500 * time.Millisecond)
		ok, err := c.split("grow")
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			splits++
		}
	}
	time.Sleep(time.Second)
	close(stop)
	<-done
	mu.Lock()
	total := next
	mu.Unlock()
	testsupport.WaitFor(t, 90*time.Second, "every row delivered", func() string {
		counts := idCounts(dataRows(t, c.objects("lake", "g/")))
		for id, n := range counts {
			if n > 1 {
				t.Fatalf("id %d delivered %d times (%s)", id, n, fmtCounts(counts, int(total)))
			}
			if id >= total {
				t.Fatalf("unexpected id %d", id)
			}
		}
		if int64(len(counts)) != total {
			return fmtCounts(counts, int(total))
		}
		return ""
	})
	// Slots are compact: no more than the channels that can read at once,
	// which is the number of partitions (a parent hands its slot to one of
	// its children, which open only once it finished).
	writers := checkObjectNames(t, c.objects("lake", "g/"), "grow-lake")
	partitions := 4 + splits
	for id := range writers {
		if n, _ := strconv.Atoi(id); n >= partitions {
			t.Errorf("ConcurrentID %s with %d partitions (ConcurrentIDs %v)", id, partitions, writers)
		}
	}
	held := map[int]bool{}
	_ = first.PipelineState("grow", "grow-lake").Scan(ctx, "slot/", func(k string, _ []byte) error {
		n, _ := strconv.Atoi(strings.TrimPrefix(k, "slot/"))
		held[n] = true
		return nil
	})
	for n := range held {
		if n >= partitions {
			t.Errorf("slot %d held with %d partitions (held %v)", n, partitions, held)
		}
	}
	t.Logf("%d rows delivered exactly once by 3 executors across %d splits; ConcurrentIDs %v", total, splits, writers)
}
