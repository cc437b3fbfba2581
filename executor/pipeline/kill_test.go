package pipeline

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/kv"
	localoss "github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/oss"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/state"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"

	"github.com/tablestore-delivery/terraform-provider-tablestore/internal/testsupport"
)

// The kill test runs the executor (registry + Manager) in a child process —
// this test binary re-executed with PIPELINE_CHILD=1 — against a local cloud
// in the parent, and kills it with SIGKILL at random moments while rows keep
// being written.
const (
	childEnv      = "PIPELINE_CHILD"
	childOTSEnv   = "PIPELINE_CHILD_OTS"
	childOSSEnv   = "PIPELINE_CHILD_OSS"
	childDirEnv   = "PIPELINE_CHILD_DIR"
	childModeEnv  = "PIPELINE_CHILD_MODE"
	killTable     = "kills"
	killTaskName  = "kills-lake"
	killBucket    = "killbucket"
	killHeartbeat = 300 * time.Millisecond
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		if err := runChildExecutor(); err != nil {
			fmt.Fprintln(os.Stderr, "child executor:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// logDir holds the children's logs of the running kill test.
var logDir string

var killColumns = []task.Column{
	{Source: "id", Name: "id", Type: task.TypeInt64},
	{Source: "ver", Name: "ver", Type: task.TypeInt64},
	{Source: "name", Name: "name", Type: task.TypeUTF8},
}

// runChildExecutor opens the registry, creates the task on first start,
// starts the pipelines and runs until killed.
func runChildExecutor() error {
	store, err := kv.Open(os.Getenv(childDirEnv))
	if err != nil {
		return err
	}
	reg, err := state.NewBolt(store, state.KeyFromPassphrase("pipeline-tests"))
	if err != nil {
		return err
	}
	mgr, err := New(Config{
		Registry: reg, TablestoreEndpoint: os.Getenv(childOTSEnv), Instance: stackInstance,
		AccessKeyID: stackKeyID, AccessKeySecret: stackSecret,
		OSSEndpoints:      map[string]string{stackRegion: os.Getenv(childOSSEnv)},
		Logger:            slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})),
		HeartbeatInterval: killHeartbeat, HeartbeatTimeout: 2 * time.Second,
		StatusInterval: 200 * time.Millisecond, TickInterval: 50 * time.Millisecond,
		RetryBase: 50 * time.Millisecond, RetryMax: 300 * time.Millisecond,
		MemoryBudgetBytes: 64 << 10,
	})
	if err != nil {
		return err
	}
	ctx := context.Background()
	err = reg.PutRole(ctx, state.RoleRecord{
		Role:        task.Role{Name: task.DefaultRoleName, ARN: stackRoleARN, CreatedAt: time.Now().UTC()},
		Credentials: state.Credentials{AccessKeyID: stackKeyID, AccessKeySecret: stackSecret},
	})
	if err != nil {
		return err
	}
	t, err := reg.GetTask(ctx, killTable, killTaskName)
	if errors.Is(err, state.ErrNotFound) {
		spec := task.Spec{Name: killTaskName, Table: killTable, Bucket: killBucket, Region: stackRegion,
			RoleARN: stackRoleARN, Prefix: "k/$mm", SyncMode: task.SyncMode(os.Getenv(childModeEnv)), Columns: killColumns,
			FlushIntervalSeconds: 1, TargetObjectSizeMB: 1}
		spec.ApplyDefaults()
		t = task.Task{Spec: spec, Status: task.Status{Phase: task.PhaseInit, ResolvedColumns: spec.Columns}}
		if err := reg.CreateTask(ctx, t); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	if err := mgr.Start(ctx, t); err != nil {
		return err
	}
	if err := reg.UpdateStatus(ctx, t.Table, t.Name, func(s *task.Status) {
		if s.Phase == task.PhaseInit {
			s.Phase = task.PhaseFull
			if t.SyncMode == task.SyncIncremental {
				s.Phase = task.PhaseIncr
			}
		}
	}); err != nil {
		return err
	}
	fmt.Println("ready")
	select {}
}

// TestKillNineExactlyOnce kills the executor process at random points
// (DELIVERY_LONG=1: 12 kills per case, else 4) during a full, an
// incremental and a differential delivery, and a differential one whose
// partitions split meanwhile, and checks that the multiset of (id, version)
// rows read back from OSS equals what the task had to deliver.
func TestKillNineExactlyOnce(t *testing.T) {
	kills := 4
	if os.Getenv("DELIVERY_LONG") != "" {
		kills = 12
	}
	for _, mode := range []task.SyncMode{task.SyncFull, task.SyncIncremental, task.SyncDifferential} {
		t.Run(string(mode), func(t *testing.T) { killNine(t, mode, kills, false) })
	}
	t.Run("differential-splits", func(t *testing.T) { killNine(t, task.SyncDifferential, kills, true) })
}

func killNine(t *testing.T, mode task.SyncMode, kills int, splits bool) {
	dir := t.TempDir()
	c := startCloud(t, filepath.Join(dir, "cloud"))
	defer c.close()
	c.createBucket(killBucket)
	c.createTable(killTable)
	if splits {
		if _, err := c.split(killTable); errors.Is(err, errNoSplits) {
			t.Skip(err)
		}
	}
	splitCount := 0
	// Slow uploads down so that kills often land while one is in flight.
	var slowMu sync.Mutex
	slow := rand.New(rand.NewPCG(3, 3))
	c.oss.SetFault(func(r localoss.RequestInfo) *localoss.Fault {
		if r.Method == http.MethodPut && r.Key != "" {
			slowMu.Lock()
			d := time.Duration(slow.IntN(300)) * time.Millisecond
			slowMu.Unlock()
			time.Sleep(d)
		}
		return nil
	})

	// The source: puts of new ids (ver 0) and updates of earlier ids (ver
	// 1). Rows written before the task count for full and differential
	// delivery; rows written while it runs for incremental and
	// differential delivery.
	var mu sync.Mutex
	want := map[[2]int64]int{}
	nextID := int64(0)
	writeBatch := func(rng *rand.Rand, updates, wanted bool) {
		ids := idRange(nextID, nextID+int64(5+rng.IntN(30)))
		nextID += int64(len(ids))
		c.putRows(killTable, ids, func(id int64) map[string]any {
			return map[string]any{"ver": int64(0), "name": "n" + strconv.FormatInt(id, 10)}
		})
		mu.Lock()
		for _, id := range ids {
			if wanted {
				want[[2]int64{id, 0}]++
			}
		}
		mu.Unlock()
		if updates && nextID > 50 && rng.IntN(3) == 0 {
			id := rng.Int64N(nextID)
			mu.Lock()
			already := want[[2]int64{id, 1}] > 0
			mu.Unlock()
			if !already {
				c.updateRow(killTable, id, map[string]any{"ver": int64(1)})
				mu.Lock()
				want[[2]int64{id, 1}]++
				mu.Unlock()
			}
		}
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	seed := rand.New(rand.NewPCG(rng.Uint64(), 1))
	baseBatches := 20
	if mode == task.SyncFull {
		baseBatches = 400 // a full sync long enough for the kills to land in it
	}
	for i := 0; i < baseBatches; i++ {
		// Base data before the task exists. No updates here: the snapshot
		// holds a row's state, not its history.
		writeBatch(seed, false, mode != task.SyncIncremental)
	}
	execDir := filepath.Join(dir, "exec")
	logDir = t.TempDir()
	// The first start creates the tunnel; from then on every change is
	// delivered as its own row (not in a full sync, which reads the
	// snapshot only: nothing more is written then).
	first := startChild(t, c, execDir, mode, 0)
	stopWriting := make(chan struct{})
	writerDone := make(chan struct{})
	writerSeed := rng.Uint64()
	go func() {
		defer close(writerDone)
		if mode == task.SyncFull {
			return
		}
		wr := rand.New(rand.NewPCG(writerSeed, 2))
		for {
			select {
			case <-stopWriting:
				return
			case <-time.After(time.Duration(20+wr.IntN(60)) * time.Millisecond):
			}
			writeBatch(wr, true, true)
			if splits && wr.IntN(25) == 0 {
				ok, err := c.split(killTable)
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					mu.Lock()
					splitCount++
					mu.Unlock()
				}
			}
		}
	}()

	for k := 0; k < kills; k++ {
		child := first
		if k > 0 {
			child = startChild(t, c, execDir, mode, k)
		}
		time.Sleep(time.Duration(200+rng.IntN(2500)) * time.Millisecond)
		if err := child.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = child.Wait()
	}
	close(stopWriting)
	<-writerDone
	child := startChild(t, c, execDir, mode, kills)
	defer func() {
		_ = child.Process.Signal(syscall.SIGKILL)
		_ = child.Wait()
	}()
	mu.Lock()
	total := 0
	for _, n := range want {
		total += n
	}
	mu.Unlock()
	testsupport.WaitFor(t, 90*time.Second, "every row delivered", func() string {
		got := map[[2]int64]int{}
		rows := dataRows(t, c.objects(killBucket, "k/"))
		for _, r := range rows {
			got[[2]int64{r["id"].(int64), r["ver"].(int64)}]++
		}
		missing, dup, extra := 0, 0, 0
		var missingKeys [][2]int64
		for key, n := range want {
			switch {
			case got[key] < n:
				missing++
				missingKeys = append(missingKeys, key)
			case got[key] > n:
				dup++
			}
		}
		for key := range got {
			if want[key] == 0 {
				extra++
			}
		}
		if dup > 0 || extra > 0 {
			t.Fatalf("after %d kills: %d rows duplicated, %d unexpected (of %d)", kills, dup, extra, total)
		}
		if missing > 0 {
			return fmt.Sprintf("%d of %d rows missing: %v", missing, total, missingKeys[:min(len(missingKeys), 20)])
		}
		return ""
	})
	checkObjectNames(t, c.objects(killBucket, "k/"), killTaskName)
	// How many restarts found an upload in flight (for the record: where
	// the kills land is random).
	committed, dropped := 0, 0
	logs, _ := filepath.Glob(filepath.Join(logDir, "child-*.log"))
	for _, name := range logs {
		data, _ := os.ReadFile(name)
		committed += strings.Count(string(data), "committed an upload found complete")
		dropped += strings.Count(string(data), "dropped an upload that never completed")
	}
	t.Logf("%s: %d kills, %d splits, %d rows delivered exactly once; restarts found %d uploads complete and %d never completed",
		mode, kills, splitCount, total, committed, dropped)
}

// startChild starts the executor process and waits for its ready line.
func startChild(t *testing.T, c *cloud, dir string, mode task.SyncMode, n int) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1", childOTSEnv+"="+c.otsURL, childOSSEnv+"="+c.ossURL, childDirEnv+"="+dir, childModeEnv+"="+string(mode))
	logFile, err := os.Create(filepath.Join(logDir, fmt.Sprintf("child-%d.log", n)))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logFile
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == "ready" {
				ready <- nil
				for sc.Scan() {
				}
				return
			}
		}
		ready <- fmt.Errorf("child exited before ready: %w", sc.Err())
	}()
	select {
	case err := <-ready:
		if err != nil {
			_ = cmd.Process.Kill()
			data, _ := os.ReadFile(logFile.Name())
			t.Fatalf("%v\n%s", err, data)
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("child not ready after 30 s")
	}
	return cmd
}
