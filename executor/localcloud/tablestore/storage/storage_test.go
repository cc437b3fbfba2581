package storage

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/kv"
	pb "github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/plainbuffer"
)

func openStore(t *testing.T, dir string, cfg Config) (*Store, func()) {
	t.Helper()
	kvs, err := kv.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(kvs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, func() { kvs.Close() }
}

func intStrTable(t *testing.T, s *Store, name string) {
	t.Helper()
	_, err := s.CreateTable("inst", TableMeta{Name: name, PrimaryKey: []PKColumn{{Name: "a", Type: PKInteger}, {Name: "b", Type: PKString}}, MaxVersions: 3})
	if err != nil {
		t.Fatal(err)
	}
}

func pk2(a int64, b string) []pb.Cell {
	return []pb.Cell{{Name: "a", Value: pb.Int(a)}, {Name: "b", Value: pb.String(b)}}
}

func put(t *testing.T, s *Store, table string, a int64, b string, cells ...pb.Cell) MutationResult {
	t.Helper()
	res, err := s.Write("inst", []Mutation{{Table: table, Type: ChangePut, PrimaryKey: pk2(a, b), Cells: cells}})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	return res[0]
}

func TestKeyOrderMatchesPKOrder(t *testing.T) {
	ints := []int64{-1 << 63, -5, -1, 0, 1, 2, 1 << 40, 1<<63 - 1}
	strs := []string{"", "\x00", "\x00\x00", "\x00a", "a", "a\x00", "a\x00b", "ab", "b", "\xff"}
	type k struct {
		a int64
		b string
	}
	var all []k
	for _, a := range ints {
		for _, b := range strs {
			all = append(all, k{a, b})
		}
	}
	sort.Slice(all, func(i, j int) bool {
		ki, kj := EncodeKey(pk2(all[i].a, all[i].b)), EncodeKey(pk2(all[j].a, all[j].b))
		return compareKeys(ki, kj) < 0
	})
	for i := 1; i < len(all); i++ {
		p, q := all[i-1], all[i]
		if p.a > q.a || (p.a == q.a && p.b >= q.b) {
			t.Fatalf("encoded order puts %+v before %+v", p, q)
		}
	}
	// INF bounds bracket every value of their column.
	lo := EncodeKey([]pb.Cell{{Name: "a", Value: pb.Int(1)}, {Name: "b", Value: pb.InfMin()}})
	hi := EncodeKey([]pb.Cell{{Name: "a", Value: pb.Int(1)}, {Name: "b", Value: pb.InfMax()}})
	for _, b := range strs {
		k := EncodeKey(pk2(1, b))
		if compareKeys(lo, k) >= 0 || compareKeys(k, hi) >= 0 {
			t.Fatalf("key (1,%q) not inside (1,INF_MIN)..(1,INF_MAX)", b)
		}
	}
}

func TestRangeMergesShardsInOrder(t *testing.T) {
	s, done := openStore(t, t.TempDir(), Config{Shards: 4})
	defer done()
	intStrTable(t, s, "t")
	var muts []Mutation
	for a := int64(0); a < 40; a++ {
		muts = append(muts, Mutation{Table: "t", Type: ChangePut, PrimaryKey: pk2(a%10-5, fmt.Sprint(a)), Cells: []pb.Cell{{Name: "v", Value: pb.Int(a)}}})
	}
	res, err := s.Write("inst", muts)
	if err != nil {
		t.Fatal(err)
	}
	usedShards := map[int]bool{}
	for _, r := range res {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
		usedShards[r.Shard] = true
	}
	if len(usedShards) < 2 {
		t.Fatalf("rows landed in %d shard(s); hashing does not spread them", len(usedShards))
	}
	full := []pb.Cell{{Name: "a", Value: pb.InfMin()}, {Name: "b", Value: pb.InfMin()}}
	end := []pb.Cell{{Name: "a", Value: pb.InfMax()}, {Name: "b", Value: pb.InfMax()}}
	var got [][]byte
	start := full
	for pages := 0; ; pages++ {
		rr, err := s.GetRange("inst", RangeRequest{Table: "t", Start: start, End: end, Limit: 7, ReadOptions: ReadOptions{MaxVersions: 1}})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rr.Rows {
			got = append(got, EncodeKey(r.PrimaryKey))
		}
		if rr.NextStart == nil {
			break
		}
		start = rr.NextStart
		if pages > 10 {
			t.Fatal("pagination does not end")
		}
	}
	if len(got) != 40 {
		t.Fatalf("range returned %d rows, want 40", len(got))
	}
	for i := 1; i < len(got); i++ {
		if compareKeys(got[i-1], got[i]) >= 0 {
			t.Fatalf("range rows out of order at %d", i)
		}
	}
	back, err := s.GetRange("inst", RangeRequest{Table: "t", Start: end, End: full, Backward: true, ReadOptions: ReadOptions{MaxVersions: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Rows) != 40 || compareKeys(EncodeKey(back.Rows[0].PrimaryKey), got[39]) != 0 {
		t.Fatalf("backward range: %d rows", len(back.Rows))
	}
}

func TestChangeLogAndSnapshotUnderWrites(t *testing.T) {
	dir := t.TempDir()
	s, done := openStore(t, dir, Config{Shards: 2})
	intStrTable(t, s, "t")
	for i := range 20 {
		put(t, s, "t", int64(i), "x", pb.Cell{Name: "v", Value: pb.Int(int64(i))})
	}
	snap, err := s.CreateSnapshot("inst", "t")
	if err != nil {
		t.Fatal(err)
	}
	// Writes after the snapshot: update, delete, insert.
	put(t, s, "t", 0, "x", pb.Cell{Name: "v", Value: pb.Int(1000)})
	if res, _ := s.Write("inst", []Mutation{{Table: "t", Type: ChangeDelete, PrimaryKey: pk2(1, "x")}}); res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	put(t, s, "t", 100, "new", pb.Cell{Name: "v", Value: pb.Int(100)})
	put(t, s, "t", 0, "x", pb.Cell{Name: "v", Value: pb.Int(2000)})

	// Restart in the middle: the snapshot must survive.
	done()
	s, done = openStore(t, dir, Config{Shards: 2})
	defer done()

	seen := map[int64]int64{}
	for _, part := range snap.Partitions {
		var after []byte
		for {
			rows, next, more, err := s.ScanSnapshot(snap.ID, part.ID, after, 3)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				seen[r.PrimaryKey[0].Value.Int] = r.Cells[0].Value.Int
			}
			if !more {
				break
			}
			after = next
		}
	}
	if len(seen) != 20 {
		t.Fatalf("snapshot has %d rows, want the 20 present at snapshot time: %v", len(seen), seen)
	}
	for i := range int64(20) {
		if seen[i] != i {
			t.Fatalf("snapshot row %d has v=%d, want %d", i, seen[i], i)
		}
	}
	// The change log has every change, in per-shard order, with times.
	parts, err := s.Partitions("inst", "t")
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for pi, sh := range parts {
		changes, more, err := s.ReadChanges("inst", "t", sh.ID, 0, 0)
		if err != nil || more {
			t.Fatal(err, more)
		}
		if uint64(len(changes)) != sh.LastSeq {
			t.Fatalf("partition %s: %d changes, last seq %d", sh.ID, len(changes), sh.LastSeq)
		}
		for i, c := range changes {
			if c.Seq != uint64(i+1) || c.TimeMicros == 0 {
				t.Fatalf("partition %s change %d: seq %d time %d", sh.ID, i, c.Seq, c.TimeMicros)
			}
			if c.Seq > snap.Partitions[pi].Seq && c.Type == ChangeDelete && c.PrimaryKey[0].Value.Int != 1 {
				t.Fatalf("unexpected delete %+v", c)
			}
		}
		total += len(changes)
	}
	if total != 24 {
		t.Fatalf("%d changes logged, want 24", total)
	}
	if err := s.ReleaseSnapshot(snap.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := s.ScanSnapshot(snap.ID, snap.Partitions[0].ID, nil, 1); !errors.Is(err, ErrSnapshotNotFound) {
		t.Fatalf("released snapshot still scannable: %v", err)
	}
}

func TestChangeRetentionTrims(t *testing.T) {
	now := time.Unix(1700000000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s, done := openStore(t, t.TempDir(), Config{Shards: 1, ChangeRetention: time.Hour, Now: clock})
	defer done()
	intStrTable(t, s, "t")
	for i := range 5 {
		put(t, s, "t", int64(i), "", pb.Cell{Name: "v", Value: pb.Int(1)})
	}
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	put(t, s, "t", 9, "", pb.Cell{Name: "v", Value: pb.Int(1)})
	if err := s.TrimChanges("inst", "t"); err != nil {
		t.Fatal(err)
	}
	parts, err := s.Partitions("inst", "t")
	if err != nil || len(parts) != 1 || parts[0].FirstSeq != 6 {
		t.Fatalf("partitions after trim: %+v %v", parts, err)
	}
	if _, _, err := s.ReadChanges("inst", "t", parts[0].ID, 0, 0); !errors.Is(err, ErrChangesExpired) {
		t.Fatalf("reading trimmed changes: %v", err)
	}
	changes, _, err := s.ReadChanges("inst", "t", parts[0].ID, 5, 0)
	if err != nil || len(changes) != 1 || changes[0].Seq != 6 {
		t.Fatalf("after trim: %+v %v", changes, err)
	}
}

func TestConcurrentIncrementsSerialised(t *testing.T) {
	s, done := openStore(t, t.TempDir(), Config{})
	defer done()
	intStrTable(t, s, "t")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 25 {
				res, err := s.Write("inst", []Mutation{{Table: "t", Type: ChangeUpdate, PrimaryKey: pk2(1, "c"), Cells: []pb.Cell{{Name: "n", Value: pb.Int(1), Op: pb.OpIncrement}}}})
				if err != nil || res[0].Err != nil {
					t.Error(err, res)
					return
				}
			}
		})
	}
	wg.Wait()
	r, err := s.GetRow("inst", "t", pk2(1, "c"), ReadOptions{MaxVersions: 1})
	if err != nil || r == nil {
		t.Fatal(err)
	}
	if got := r.Cells[0].Value.Int; got != 200 {
		t.Fatalf("counter = %d after 200 concurrent increments", got)
	}
}

func TestRangePageStopsAtByteLimit(t *testing.T) {
	s, done := openStore(t, t.TempDir(), Config{Shards: 2})
	defer done()
	intStrTable(t, s, "t")
	big := make([]byte, 1<<20)
	for i := range 6 {
		put(t, s, "t", int64(i), "", pb.Cell{Name: "blob", Value: pb.Blob(big)})
	}
	full := []pb.Cell{{Name: "a", Value: pb.InfMin()}, {Name: "b", Value: pb.InfMin()}}
	end := []pb.Cell{{Name: "a", Value: pb.InfMax()}, {Name: "b", Value: pb.InfMax()}}
	rr, err := s.GetRange("inst", RangeRequest{Table: "t", Start: full, End: end, ReadOptions: ReadOptions{MaxVersions: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rr.Rows) != 4 || rr.NextStart == nil || rr.NextStart[0].Value.Int != 4 {
		t.Fatalf("page of 1 MB rows: %d rows, next %+v", len(rr.Rows), rr.NextStart)
	}
}

// FuzzKeyOrder checks that the key encoding orders like the primary keys.
func FuzzKeyOrder(f *testing.F) {
	f.Add(int64(1), "a", int64(2), "b")
	f.Add(int64(-1), "a\x00", int64(-1), "a")
	f.Add(int64(0), "", int64(0), "\x00")
	f.Fuzz(func(t *testing.T, a1 int64, b1 string, a2 int64, b2 string) {
		k1, k2 := EncodeKey(pk2(a1, b1)), EncodeKey(pk2(a2, b2))
		want := 0
		switch {
		case a1 < a2:
			want = -1
		case a1 > a2:
			want = 1
		case b1 < b2:
			want = -1
		case b1 > b2:
			want = 1
		}
		if got := compareKeys(k1, k2); got != want {
			t.Fatalf("(%d,%q) vs (%d,%q): key order %d, pk order %d", a1, b1, a2, b2, got, want)
		}
	})
}

// A snapshot scanned page by page while writers keep changing, deleting and
// inserting rows still yields exactly the rows as they were at the snapshot.
func TestSnapshotConsistentUnderConcurrentWrites(t *testing.T) {
	s, done := openStore(t, t.TempDir(), Config{Shards: 4})
	defer done()
	intStrTable(t, s, "t")
	const rows = 200
	var muts []Mutation
	for i := range rows {
		muts = append(muts, Mutation{Table: "t", Type: ChangePut, PrimaryKey: pk2(int64(i), "k"), Cells: []pb.Cell{{Name: "v", Value: pb.Int(0)}}})
	}
	if _, err := s.Write("inst", muts); err != nil {
		t.Fatal(err)
	}
	snap, err := s.CreateSnapshot("inst", "t")
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var writes atomic.Int64
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				a := int64((i*7 + w*13) % (rows + 50)) // also touches rows that did not exist
				m := Mutation{Table: "t", Type: ChangePut, PrimaryKey: pk2(a, "k"), Cells: []pb.Cell{{Name: "v", Value: pb.Int(int64(i + 1))}}}
				if i%3 == 0 {
					m = Mutation{Table: "t", Type: ChangeDelete, PrimaryKey: pk2(a, "k")}
				}
				if res, err := s.Write("inst", []Mutation{m}); err != nil || res[0].Err != nil {
					t.Error(err, res)
					return
				}
				writes.Add(1)
			}
		})
	}
	seen := map[int64]bool{}
	for _, part := range snap.Partitions {
		var after []byte
		for {
			page, next, more, err := s.ScanSnapshot(snap.ID, part.ID, after, 7)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range page {
				a := r.PrimaryKey[0].Value.Int
				if seen[a] || len(r.Cells) != 1 || r.Cells[0].Value.Int != 0 {
					t.Errorf("snapshot row %d: duplicate=%v cells=%+v", a, seen[a], r.Cells)
				}
				seen[a] = true
			}
			if !more {
				break
			}
			after = next
			// Let several writes land between pages.
			for target, deadline := writes.Load()+5, time.Now().Add(5*time.Second); writes.Load() < target && time.Now().Before(deadline); {
				time.Sleep(100 * time.Microsecond)
			}
		}
	}
	close(stop)
	wg.Wait()
	if len(seen) != rows {
		t.Fatalf("snapshot yielded %d rows, want %d", len(seen), rows)
	}
	if writes.Load() < 50 {
		t.Fatalf("only %d writes interleaved with the scan", writes.Load())
	}
}

func TestUpdateThatRemovesEverythingRemovesTheRow(t *testing.T) {
	s, done := openStore(t, t.TempDir(), Config{})
	defer done()
	intStrTable(t, s, "t")
	update := func(a int64, cells ...pb.Cell) {
		t.Helper()
		res, err := s.Write("inst", []Mutation{{Table: "t", Type: ChangeUpdate, PrimaryKey: pk2(a, ""), Cells: cells}})
		if err != nil || res[0].Err != nil {
			t.Fatal(err, res)
		}
	}
	exists := func(a int64) bool {
		t.Helper()
		r, err := s.GetRow("inst", "t", pk2(a, ""), ReadOptions{MaxVersions: 1})
		if err != nil {
			t.Fatal(err)
		}
		return r != nil
	}
	// Deleting a column of a missing row does not create it.
	update(1, pb.Cell{Name: "x", Op: pb.OpDeleteAllVersions})
	if exists(1) {
		t.Fatal("a delete-only update created a row")
	}
	// Deleting the last column of a row removes the row.
	put(t, s, "t", 2, "", pb.Cell{Name: "x", Value: pb.Int(1)})
	update(2, pb.Cell{Name: "x", Op: pb.OpDeleteAllVersions})
	if exists(2) {
		t.Fatal("a row without columns is still there")
	}
	// A primary-key-only row put explicitly stays.
	put(t, s, "t", 3, "")
	update(3, pb.Cell{Name: "x", Op: pb.OpDeleteAllVersions})
	if !exists(3) {
		t.Fatal("a primary-key-only row vanished")
	}
}
