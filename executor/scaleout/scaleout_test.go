package scaleout

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"
	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel"
	"github.com/parquet-go/parquet-go"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/client"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

const (
	executorPackage = "github.com/tablestore-delivery/terraform-provider-tablestore/executor/cmd/delivery-executor"
	accessKeyID     = "scaleout-key"
	accessKeySecret = "scaleout-secret"
	apiToken        = "scaleout-api-token"
	secretKey       = "scaleout-shared-passphrase"
	instance        = "local"
	region          = "cn-hangzhou"
	sourceTable     = "orders"
	taskName        = "orders-lake"
	bucketName      = "lake"
	objectPrefix    = "orders"
	shards          = 8
)

// scenario sizes one run of the test.
type scenario struct {
	baseRows   int           // rows written before the task exists (the base phase)
	writeFor   time.Duration // continuous writes after the task starts
	batch      int           // rows per write
	pause      time.Duration // between writes
	kills      int           // executors killed with SIGKILL, each replaced by a new one
	killEvery  time.Duration // pause between the start of writes / the previous replacement and a kill
	splits     int           // partitions split (POST /_admin/tables/{table}/split) while rows are written
	splitEvery time.Duration // pause before each split
	settleWait time.Duration // bound on the wait for every row to arrive
}

// TestScaleOutKillAndReplace runs three executors sharing a Tablestore
// registry, a differential task over an 8-shard table under continuous
// writes, kills one executor with SIGKILL mid-way and starts another, and
// checks that every source row arrives exactly once and that the channels
// end up spread over the live executors.
func TestScaleOutKillAndReplace(t *testing.T) {
	runScenario(t, scenario{baseRows: 2000, writeFor: 8 * time.Second, batch: 50, pause: 25 * time.Millisecond,
		kills: 1, killEvery: 3 * time.Second, settleWait: 90 * time.Second})
}

// TestScaleOutKillAndReplaceLong is the heavier variant: more rows, three
// kills in a row.
func TestScaleOutKillAndReplaceLong(t *testing.T) {
	if os.Getenv("DELIVERY_LONG") == "" {
		t.Skip("long test; set DELIVERY_LONG=1")
	}
	runScenario(t, scenario{baseRows: 20000, writeFor: 40 * time.Second, batch: 100, pause: 20 * time.Millisecond,
		kills: 3, killEvery: 8 * time.Second, settleWait: 5 * time.Minute})
}

// TestScaleOutSplitsUnderWrites splits partitions of the source table while
// three executors deliver it under continuous writes (and one of them is
// killed): parents' stream channels finish, children open after them, and
// every row still arrives exactly once, in objects whose ConcurrentIDs are
// the compact writer slots 0..n-1.
func TestScaleOutSplitsUnderWrites(t *testing.T) {
	runScenario(t, scenario{baseRows: 2000, writeFor: 10 * time.Second, batch: 50, pause: 25 * time.Millisecond,
		kills: 1, killEvery: 5 * time.Second, splits: 3, splitEvery: 2 * time.Second, settleWait: 90 * time.Second})
}

// TestScaleOutSplitsUnderWritesLong is the heavier variant.
func TestScaleOutSplitsUnderWritesLong(t *testing.T) {
	if os.Getenv("DELIVERY_LONG") == "" {
		t.Skip("long test; set DELIVERY_LONG=1")
	}
	runScenario(t, scenario{baseRows: 20000, writeFor: 40 * time.Second, batch: 100, pause: 20 * time.Millisecond,
		kills: 2, killEvery: 12 * time.Second, splits: 8, splitEvery: 4 * time.Second, settleWait: 5 * time.Minute})
}

func runScenario(t *testing.T, sc scenario) {
	if testing.Short() {
		t.Skip("starts five processes")
	}
	dir := t.TempDir()
	bin := buildExecutor(t, dir)

	cloud := startProcess(t, dir, "local", bin, "local",
		"--data-dir", filepath.Join(dir, "cloud"), "--tablestore-listen", "127.0.0.1:0", "--oss-listen", "127.0.0.1:0",
		"--tablestore-shards", fmt.Sprint(shards), "--access-key-id", accessKeyID, "--access-key-secret", accessKeySecret,
		"--log-level", "warn")
	otsURL, ossURL := cloud.ready["tablestore"], cloud.ready["oss"]
	if otsURL == "" || ossURL == "" {
		t.Fatalf("local cloud ready line lacks endpoints: %v", cloud.ready)
	}

	config := filepath.Join(dir, "executor.json")
	writeJSON(t, config, map[string]any{
		"tablestore": map[string]any{"endpoint": otsURL, "instance": instance, "region": region},
		"oss":        map[string]any{"endpoints": map[string]string{region: ossURL}},
		"state":      map[string]any{"store": "tablestore", "table": "delivery_state", "reconcile_interval": "300ms"},
		"pipeline":   map[string]any{"heartbeat_interval": "500ms", "heartbeat_timeout": "2s"},
	})
	var executorSeq atomic.Int32
	startExecutor := func() *process {
		n := executorSeq.Add(1)
		name := fmt.Sprintf("executor-%d", n)
		return startProcess(t, dir, name, bin, "serve", "--config", config,
			"--data-dir", filepath.Join(dir, name), "--listen", "127.0.0.1:0", "--log-level", "info")
	}
	executors := []*process{startExecutor(), startExecutor(), startExecutor()}

	ots := tablestore.NewClient(otsURL, instance, accessKeyID, accessKeySecret)
	tunnels := tunnel.NewTunnelClient(otsURL, instance, accessKeyID, accessKeySecret)
	ossClient, err := oss.New(ossURL, accessKeyID, accessKeySecret)
	if err != nil {
		t.Fatal(err)
	}
	createTable(t, ots)
	if err := ossClient.CreateBucket(bucketName); err != nil {
		t.Fatal(err)
	}
	source := newSource(ots)
	for id := 0; id < sc.baseRows; id += sc.batch {
		if err := source.write(id, min(sc.batch, sc.baseRows-id)); err != nil {
			t.Fatal(err)
		}
	}

	ctx := context.Background()
	api := func(p *process) *client.Client {
		c, err := client.New(p.ready["api"], apiToken, client.WithRetries(5, 50*time.Millisecond, time.Second))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// The role goes in through one executor, the task through another: both
	// are shared.
	if _, err := api(executors[0]).PutRole(ctx, task.DefaultRoleName, task.RoleInput{OSSAccessKeyID: accessKeyID, OSSAccessKeySecret: accessKeySecret}); err != nil {
		t.Fatal(err)
	}
	spec := task.Spec{Name: taskName, Table: sourceTable, Bucket: bucketName, Prefix: objectPrefix,
		SyncMode: task.SyncDifferential, FlushIntervalSeconds: 1,
		Columns: []task.Column{{Source: "id", Name: "id", Type: task.TypeInt64}, {Source: "v", Name: "v", Type: task.TypeUTF8}}}
	if _, err := api(executors[1]).CreateTask(ctx, spec); err != nil {
		t.Fatal(err)
	}
	// Every executor sees the task and runs a worker: the channels spread
	// over three clients.
	owners := waitOwners(t, tunnels, 3, nil, 60*time.Second)
	t.Logf("channels spread over %d clients: %v", len(owners), owners)
	for _, p := range executors {
		got, err := api(p).GetTask(ctx, sourceTable, taskName)
		if err != nil || got.Name != taskName {
			t.Fatalf("%s does not serve the task: %v", p.name, err)
		}
	}

	// Continuous writes while executors die and join.
	stopWrites := make(chan struct{})
	var writerErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		next := sc.baseRows
		for {
			select {
			case <-stopWrites:
				return
			case <-time.After(sc.pause):
			}
			if err := source.write(next, sc.batch); err != nil {
				writerErr = err
				return
			}
			next += sc.batch
		}
	}()
	deadline := time.Now().Add(sc.writeFor)
	var splitErr error
	if sc.splits > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range sc.splits {
				time.Sleep(sc.splitEvery)
				parent, children, err := splitPartition(otsURL, sourceTable)
				if err != nil {
					splitErr = err
					return
				}
				t.Logf("split partition %s into %v with %d rows written", parent, children, source.rows())
			}
		}()
	}
	for k := range sc.kills {
		time.Sleep(sc.killEvery)
		before := owners
		victim := executors[k%len(executors)]
		if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatalf("kill %s: %v", victim.name, err)
		}
		_ = victim.cmd.Wait()
		victim.done = true
		t.Logf("killed %s (SIGKILL) with %d rows written", victim.name, source.rows())
		replacement := startExecutor()
		executors[k%len(executors)] = replacement
		// The dead worker's channels move on (after its heartbeat timeout)
		// and the new executor gets its share.
		owners = waitOwners(t, tunnels, 3, before, 60*time.Second)
		t.Logf("after the kill: channels over %v", owners)
	}
	time.Sleep(time.Until(deadline))
	close(stopWrites)
	wg.Wait()
	if writerErr != nil {
		t.Fatalf("source writes: %v", writerErr)
	}
	if splitErr != nil {
		t.Fatalf("split: %v", splitErr)
	}
	total := source.rows()
	t.Logf("wrote %d source rows", total)

	// Every row arrives exactly once, with its value.
	var last string
	settle := time.Now().Add(sc.settleWait)
	for {
		delivered := readDelivered(t, ossClient)
		dups, lost, wrong := compare(source.snapshot(), delivered)
		last = fmt.Sprintf("%d delivered rows for %d source rows: %d duplicated, %d lost, %d with a wrong value",
			countRows(delivered), total, dups, lost, wrong)
		if dups > 0 || wrong > 0 {
			t.Fatalf("not exactly once: %s", last)
		}
		if lost == 0 {
			break
		}
		if time.Now().After(settle) {
			t.Fatalf("rows missing after %v: %s", sc.settleWait, last)
		}
		time.Sleep(time.Second)
	}
	t.Logf("rows checked: %d; kills survived: %d; splits: %d; duplicates: 0; losses: 0", total, sc.kills, sc.splits)
	checkCompactConcurrentIDs(t, ossClient, tunnels)
	final := waitOwners(t, tunnels, 3, nil, 30*time.Second)
	t.Logf("final channel owners: %v", final)
	for _, p := range executors {
		got, err := api(p).GetTask(ctx, sourceTable, taskName)
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		if got.Status.ErrorCode != task.ErrNone {
			t.Fatalf("task reports %s: %s", got.Status.ErrorCode, got.Status.ErrorDetail)
		}
	}
	// Deleted through one executor, stopped by all: the tunnel is gone and
	// stays gone (no executor brings it back).
	if err := api(executors[2]).DeleteTask(ctx, sourceTable, taskName); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second) // several reconcile rounds
	if _, err := tunnels.DescribeTunnel(&tunnel.DescribeTunnelRequest{TableName: sourceTable, TunnelName: "delivery_" + taskName}); err == nil {
		t.Fatal("the deleted task's tunnel is back")
	}
	for _, p := range executors {
		if _, err := api(p).GetTask(ctx, sourceTable, taskName); !client.IsNotFound(err) {
			t.Fatalf("%s still serves the deleted task: %v", p.name, err)
		}
	}
}

// ---- processes ----

type process struct {
	name  string
	cmd   *exec.Cmd
	log   string
	ready map[string]string // from the "ready k=v ..." line
	done  bool
}

func buildExecutor(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "delivery-executor")
	out, err := exec.Command("go", "build", "-o", bin, executorPackage).CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startProcess starts the binary and waits for its "ready" line; it is
// killed at the end of the test and its log shown when the test fails.
func startProcess(t *testing.T, dir, name, bin string, args ...string) *process {
	t.Helper()
	p := &process{name: name, log: filepath.Join(dir, name+".log")}
	logFile, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(os.Environ(),
		"ALIBABA_CLOUD_ACCESS_KEY_ID="+accessKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET="+accessKeySecret,
		"DELIVERY_API_TOKEN="+apiToken, "DELIVERY_SECRET_KEY="+secretKey)
	p.cmd.Stderr = logFile
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !p.done {
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			stopped := make(chan struct{})
			go func() { _ = p.cmd.Wait(); close(stopped) }()
			select {
			case <-stopped:
			case <-time.After(20 * time.Second):
				_ = p.cmd.Process.Kill()
				<-stopped
			}
		}
		_ = logFile.Close()
		if t.Failed() {
			data, _ := os.ReadFile(p.log)
			if len(data) > 6000 {
				data = data[len(data)-6000:]
			}
			t.Logf("---- %s log (tail) ----\n%s", p.name, data)
		}
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "ready ") {
				lines <- sc.Text()
			}
		}
		close(lines)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case line, ok := <-lines:
		if !ok {
			t.Fatalf("%s exited before it was ready (log %s)", name, p.log)
		}
		p.ready = map[string]string{}
		for _, kv := range strings.Fields(strings.TrimPrefix(line, "ready ")) {
			if k, v, ok := strings.Cut(kv, "="); ok {
				p.ready[k] = v
			}
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("%s not ready after 60 s", name)
	}
	return p
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// ---- source table ----

func createTable(t *testing.T, ots *tablestore.TableStoreClient) {
	t.Helper()
	meta := &tablestore.TableMeta{TableName: sourceTable}
	meta.AddPrimaryKeyColumn("id", tablestore.PrimaryKeyType_INTEGER)
	if _, err := ots.CreateTable(&tablestore.CreateTableRequest{
		TableMeta: meta, TableOption: &tablestore.TableOption{TimeToAlive: -1, MaxVersion: 1},
		ReservedThroughput: &tablestore.ReservedThroughput{},
	}); err != nil {
		t.Fatal(err)
	}
}

// source writes rows id → "v-<id>-<n>" and remembers what it wrote.
type source struct {
	ots *tablestore.TableStoreClient
	mu  sync.Mutex
	val map[int64]string
}

func newSource(ots *tablestore.TableStoreClient) *source {
	return &source{ots: ots, val: map[int64]string{}}
}

func (s *source) write(from, n int) error {
	req := &tablestore.BatchWriteRowRequest{}
	vals := map[int64]string{}
	for id := int64(from); id < int64(from+n); id++ {
		pk := &tablestore.PrimaryKey{}
		pk.AddPrimaryKeyColumn("id", id)
		ch := &tablestore.PutRowChange{TableName: sourceTable, PrimaryKey: pk}
		vals[id] = fmt.Sprintf("v-%d-%x", id, id*2654435761)
		ch.AddColumn("v", vals[id])
		ch.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
		req.AddRowChange(ch)
	}
	resp, err := s.ots.BatchWriteRow(req)
	if err != nil {
		return fmt.Errorf("write rows %d..%d: %w", from, from+n-1, err)
	}
	for _, rows := range resp.TableToRowsResult {
		for _, r := range rows {
			if !r.IsSucceed {
				return fmt.Errorf("write a row of %d..%d: %+v", from, from+n-1, r.Error)
			}
		}
	}
	s.mu.Lock()
	maps.Copy(s.val, vals)
	s.mu.Unlock()
	return nil
}

func (s *source) rows() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.val)
}

func (s *source) snapshot() map[int64]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.val)
}

// ---- delivered objects ----

// readDelivered reads every object under the prefix through the OSS SDK
// and decodes it with parquet-go: id → every value delivered for it.
func readDelivered(t *testing.T, c *oss.Client) map[int64][]string {
	t.Helper()
	b, err := c.Bucket(bucketName)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64][]string{}
	marker := ""
	for {
		res, err := b.ListObjects(oss.Prefix(objectPrefix+"/"), oss.Marker(marker), oss.MaxKeys(1000))
		if err != nil {
			t.Fatalf("list objects: %v", err)
		}
		for _, o := range res.Objects {
			rc, err := b.GetObject(o.Key)
			if err != nil {
				t.Fatalf("get %s: %v", o.Key, err)
			}
			data, err := io.ReadAll(rc)
			_ = rc.Close()
			if err != nil {
				t.Fatalf("read %s: %v", o.Key, err)
			}
			decodeObject(t, o.Key, data, out)
		}
		if !res.IsTruncated {
			return out
		}
		marker = res.NextMarker
	}
}

func decodeObject(t *testing.T, key string, data []byte, out map[int64][]string) {
	t.Helper()
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("object %s is not Parquet: %v", key, err)
	}
	idCol, vCol := -1, -1
	for i, field := range f.Schema().Fields() {
		switch field.Name() {
		case "id":
			idCol = i
		case "v":
			vCol = i
		}
	}
	if idCol < 0 || vCol < 0 {
		t.Fatalf("object %s lacks the id or v column", key)
	}
	r := parquet.NewReader(f)
	defer func() { _ = r.Close() }()
	buf := make([]parquet.Row, 128)
	for {
		n, err := r.ReadRows(buf)
		for _, row := range buf[:n] {
			var id int64
			var v string
			hasID := false
			for _, val := range row {
				switch {
				case val.IsNull():
				case val.Column() == idCol:
					id, hasID = val.Int64(), true
				case val.Column() == vCol:
					v = string(val.ByteArray())
				}
			}
			if !hasID {
				t.Fatalf("object %s has a row without id", key)
			}
			out[id] = append(out[id], v)
		}
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("read %s: %v", key, err)
		}
	}
}

func countRows(delivered map[int64][]string) int {
	n := 0
	for _, vs := range delivered {
		n += len(vs)
	}
	return n
}

// compare checks the delivered multiset of (id, value) against the source.
func compare(src map[int64]string, delivered map[int64][]string) (dups, lost, wrong int) {
	for id, want := range src {
		got := delivered[id]
		switch {
		case len(got) == 0:
			lost++
		case len(got) > 1:
			dups += len(got) - 1
		}
		for _, v := range got {
			if v != want {
				wrong++
			}
		}
	}
	for id, got := range delivered {
		if _, ok := src[id]; !ok {
			wrong += len(got) // a row nobody wrote
		}
	}
	return dups, lost, wrong
}

// checkCompactConcurrentIDs checks that the data objects' ConcurrentIDs
// (object names <task>_<ConcurrentID>_<prefix_>__<SequenceID>) are writer
// slots: each is below the number of channels that can read at once, which
// at the end is the number of channels not TERMINATED (one per partition
// that was not split; split parents end before their children open). Every
// slot need not show in an object: a channel may hold one without rows to
// write (the left child of a split under ever-growing keys gets none).
func checkCompactConcurrentIDs(t *testing.T, c *oss.Client, tunnels tunnel.TunnelClient) {
	t.Helper()
	desc, err := tunnels.DescribeTunnel(&tunnel.DescribeTunnelRequest{TableName: sourceTable, TunnelName: "delivery_" + taskName})
	if err != nil {
		t.Fatal(err)
	}
	live := 0
	for _, ch := range desc.Channels {
		if ch.ChannelStatus != "TERMINATED" {
			live++
		}
	}
	b, err := c.Bucket(bucketName)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[int]bool{}
	marker := ""
	for {
		res, err := b.ListObjects(oss.Prefix(objectPrefix+"/"), oss.Marker(marker), oss.MaxKeys(1000))
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range res.Objects {
			name := o.Key[strings.LastIndex(o.Key, "/")+1:]
			rest, ok := strings.CutPrefix(name, taskName+"_")
			if !ok {
				t.Fatalf("object %s is not named <task>_<ConcurrentID>_...", o.Key)
			}
			digits, _, _ := strings.Cut(rest, "_")
			var id int
			if _, err := fmt.Sscan(digits, &id); err != nil {
				t.Fatalf("object %s: ConcurrentID %q: %v", o.Key, digits, err)
			}
			if id >= live {
				t.Fatalf("object %s has ConcurrentID %d; at most %d channels read at once (%d channels in all)", o.Key, id, live, len(desc.Channels))
			}
			ids[id] = true
		}
		if !res.IsTruncated {
			break
		}
		marker = res.NextMarker
	}
	t.Logf("ConcurrentIDs used: %d distinct, all below the %d channels reading at once (%d channels in all)", len(ids), live, len(desc.Channels))
}

// splitPartition asks the local Tablestore (loopback admin route) to split
// the table's busiest partition; it returns the parent and the children.
func splitPartition(otsURL, table string) (string, []string, error) {
	resp, err := http.Post(otsURL+"/_admin/tables/"+table+"/split", "application/json", nil)
	if err != nil {
		return "", nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", nil, fmt.Errorf("split %s: %d %s", table, resp.StatusCode, body)
	}
	var out struct {
		Parent   string   `json:"parent"`
		Children []string `json:"children"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return "", nil, fmt.Errorf("split %s: answer %s: %w", table, body, err)
	}
	if out.Parent == "" || len(out.Children) != 2 {
		return "", nil, fmt.Errorf("split %s: answer %s does not name a parent and two children", table, body)
	}
	return out.Parent, out.Children, nil
}

// ---- tunnel channels ----

// channelOwners counts the open channels per client of the task's tunnel.
func channelOwners(tunnels tunnel.TunnelClient) (map[string]int, int, error) {
	desc, err := tunnels.DescribeTunnel(&tunnel.DescribeTunnelRequest{TableName: sourceTable, TunnelName: "delivery_" + taskName})
	if err != nil {
		return nil, 0, err
	}
	owners := map[string]int{}
	for _, ch := range desc.Channels {
		if ch.ChannelStatus == "OPEN" && ch.ClientId != "" {
			owners[ch.ClientId]++
		}
	}
	return owners, len(desc.Channels), nil
}

// waitOwners waits until the open channels are spread over exactly want
// clients, the same over two reads a second apart; with previous set, at
// least one owner must be new (the replacement executor's worker), which
// with exactly want owners means the killed executor's client holds none.
func waitOwners(t *testing.T, tunnels tunnel.TunnelClient, want int, previous map[string]int, timeout time.Duration) map[string]int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	var stable map[string]int
	for time.Now().Before(deadline) {
		owners, channels, err := channelOwners(tunnels)
		ok := err == nil && len(owners) == want
		if previous != nil {
			fresh := 0
			for id := range owners {
				if _, old := previous[id]; !old {
					fresh++
				}
			}
			ok = ok && fresh > 0
		}
		last = fmt.Sprintf("owners %v of %d channels, err %v", owners, channels, err)
		if ok && stable != nil && maps.Equal(stable, owners) {
			return owners
		}
		if ok {
			stable = owners
		} else {
			stable = nil
		}
		time.Sleep(time.Second)
	}
	t.Fatalf("channels not spread over %d live clients: %s", want, last)
	return nil
}
