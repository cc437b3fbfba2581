package storage

import (
	"errors"
	"sync"
	"testing"
	"time"

	pb "github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/plainbuffer"
)

func scanAll(t *testing.T, s *Store, snapID, part string) []int64 {
	t.Helper()
	var out []int64
	var after []byte
	for {
		rows, next, more, err := s.ScanSnapshot(snapID, part, after, 7)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			out = append(out, r.PrimaryKey[0].Value.Int)
		}
		if !more {
			return out
		}
		after = next
	}
}

func logKeys(t *testing.T, s *Store, part string) []int64 {
	t.Helper()
	changes, _, err := s.ReadChanges("inst", "t", part, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, c := range changes {
		out = append(out, c.PrimaryKey[0].Value.Int)
	}
	return out
}

// A split cuts the busiest partition at its median partition key: reads are
// unaffected, later writes land in the children's logs by key range, the
// parent's log ends, an earlier snapshot still reads the parent's range, and
// all of it survives a restart.
func TestSplitRoutesWritesByKeyRange(t *testing.T) {
	dir := t.TempDir()
	s, done := openStore(t, dir, Config{Shards: 1})
	intStrTable(t, s, "t")
	for i := range 100 {
		put(t, s, "t", int64(i), "x", pb.Cell{Name: "v", Value: pb.Int(1)})
		put(t, s, "t", int64(i), "y", pb.Cell{Name: "v", Value: pb.Int(1)})
	}
	snap, err := s.CreateSnapshot("inst", "t")
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Split("inst", "t", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Children) != 2 || res.ParentRows != 200 || res.Parent != snap.Partitions[0].ID {
		t.Fatalf("split result %+v", res)
	}
	if _, err := s.Split("inst", "t", res.Parent); !errors.Is(err, ErrCannotSplit) {
		t.Fatalf("splitting a split partition again: %v", err)
	}
	if _, err := s.Split("inst", "t", "nope"); !errors.Is(err, ErrPartitionNotFound) {
		t.Fatalf("splitting an unknown partition: %v", err)
	}

	done()
	s, done = openStore(t, dir, Config{Shards: 1})
	defer done()
	for i := range 100 {
		put(t, s, "t", int64(i), "x", pb.Cell{Name: "v", Value: pb.Int(2)})
	}
	parts, err := s.Partitions("inst", "t")
	if err != nil || len(parts) != 3 {
		t.Fatalf("partitions after restart: %+v %v", parts, err)
	}
	parent, left, right := parts[0], parts[1], parts[2]
	if parent.Open() || parent.LastSeq != 200 || left.Parent != parent.ID || right.Parent != parent.ID || left.Epoch != 1 {
		t.Fatalf("partitions %+v", parts)
	}
	if len(logKeys(t, s, parent.ID)) != 200 {
		t.Fatal("the parent's log changed after the split")
	}
	l, r := logKeys(t, s, left.ID), logKeys(t, s, right.ID)
	if len(l)+len(r) != 100 || len(l) != 50 {
		t.Fatalf("children logs hold %d and %d changes, want 50 and 50", len(l), len(r))
	}
	for _, k := range l {
		if k >= 50 {
			t.Fatalf("key %d in the left child", k)
		}
	}
	for _, k := range r {
		if k < 50 {
			t.Fatalf("key %d in the right child", k)
		}
	}
	if got := scanAll(t, s, snap.ID, parent.ID); len(got) != 200 {
		t.Fatalf("snapshot of the split parent has %d rows", len(got))
	}
	all, err := s.GetRange("inst", RangeRequest{Table: "t",
		Start: []pb.Cell{{Name: "a", Value: pb.InfMin()}, {Name: "b", Value: pb.InfMin()}},
		End:   []pb.Cell{{Name: "a", Value: pb.InfMax()}, {Name: "b", Value: pb.InfMax()}}})
	if err != nil || len(all.Rows) != 200 {
		t.Fatalf("range after split: %v %v", len(all.Rows), err)
	}

	// A snapshot after the split covers the children, in key order.
	snap2, err := s.CreateSnapshot("inst", "t")
	if err != nil || len(snap2.Partitions) != 2 {
		t.Fatalf("snapshot after split: %+v %v", snap2, err)
	}
	lrows, rrows := scanAll(t, s, snap2.ID, left.ID), scanAll(t, s, snap2.ID, right.ID)
	if len(lrows) != 100 || len(rrows) != 100 || lrows[99] != 49 || rrows[0] != 50 {
		t.Fatalf("snapshot pages: left %d rows (last %v), right %d rows", len(lrows), lrows[len(lrows)-1], len(rrows))
	}
}

func TestSplitNeedsTwoPartitionKeys(t *testing.T) {
	s, done := openStore(t, t.TempDir(), Config{Shards: 1})
	defer done()
	intStrTable(t, s, "t")
	if _, err := s.Split("inst", "t", ""); !errors.Is(err, ErrCannotSplit) {
		t.Fatalf("splitting an empty table: %v", err)
	}
	put(t, s, "t", 7, "a", pb.Cell{Name: "v", Value: pb.Int(1)})
	put(t, s, "t", 7, "b", pb.Cell{Name: "v", Value: pb.Int(1)})
	if _, err := s.Split("inst", "t", ""); !errors.Is(err, ErrCannotSplit) {
		t.Fatalf("splitting rows of one partition key: %v", err)
	}
	if _, err := s.Split("inst", "missing", ""); !errors.Is(err, ErrTableNotFound) {
		t.Fatalf("splitting a missing table: %v", err)
	}
}

// String partition keys split at a whole value: rows sharing a partition key
// stay together.
func TestSplitStringPartitionKey(t *testing.T) {
	s, done := openStore(t, t.TempDir(), Config{Shards: 1})
	defer done()
	if _, err := s.CreateTable("inst", TableMeta{Name: "t", PrimaryKey: []PKColumn{{Name: "k", Type: PKString}, {Name: "n", Type: PKInteger}}}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "a\x00b", "b", "bb", "c"} {
		for n := range 3 {
			if res, err := s.Write("inst", []Mutation{{Table: "t", Type: ChangePut, PrimaryKey: []pb.Cell{{Name: "k", Value: pb.String(k)}, {Name: "n", Value: pb.Int(int64(n))}}, Cells: []pb.Cell{{Name: "v", Value: pb.Int(1)}}}}); err != nil || res[0].Err != nil {
				t.Fatal(err, res)
			}
		}
	}
	res, err := s.Split("inst", "t", "")
	if err != nil {
		t.Fatal(err)
	}
	snap, err := s.CreateSnapshot("inst", "t")
	if err != nil {
		t.Fatal(err)
	}
	count := func(part string) (keys map[string]int) {
		keys = map[string]int{}
		rows, _, _, err := s.ScanSnapshot(snap.ID, part, nil, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			keys[string(r.PrimaryKey[0].Value.Bytes)]++
		}
		return keys
	}
	l, r := count(res.Children[0]), count(res.Children[1])
	if len(l)+len(r) != 5 || len(l) == 0 || len(r) == 0 {
		t.Fatalf("children hold %v and %v", l, r)
	}
	for k, n := range l {
		if n != 3 || r[k] != 0 {
			t.Fatalf("partition key %q split across children: %v / %v", k, l, r)
		}
	}
}

// A change past retention is an error for a reader that has not read it,
// even before the log is physically trimmed.
func TestReadChangesPastRetention(t *testing.T) {
	now := time.Unix(1700000000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s, done := openStore(t, t.TempDir(), Config{Shards: 1, ChangeRetention: time.Minute, Now: clock})
	defer done()
	intStrTable(t, s, "t")
	put(t, s, "t", 1, "", pb.Cell{Name: "v", Value: pb.Int(1)})
	put(t, s, "t", 2, "", pb.Cell{Name: "v", Value: pb.Int(1)})
	parts, _ := s.Partitions("inst", "t")
	id := parts[0].ID
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	if _, _, err := s.ReadChanges("inst", "t", id, 0, 0); !errors.Is(err, ErrChangesExpired) {
		t.Fatalf("reading past retention: %v", err)
	}
	if changes, _, err := s.ReadChanges("inst", "t", id, 2, 0); err != nil || len(changes) != 0 {
		t.Fatalf("a reader that read everything is not behind: %v %v", changes, err)
	}
	if parts, _ := s.Partitions("inst", "t"); parts[0].FirstSeq != 3 {
		t.Fatalf("first retained seq %d, want 3", parts[0].FirstSeq)
	}
}

// With SplitRows a partition that outgrows it splits by itself.
func TestAutomaticSplit(t *testing.T) {
	s, done := openStore(t, t.TempDir(), Config{Shards: 1, SplitRows: 100})
	defer done()
	intStrTable(t, s, "t")
	for i := range 400 {
		put(t, s, "t", int64(i), "x", pb.Cell{Name: "v", Value: pb.Int(1)})
	}
	parts, err := s.Partitions("inst", "t")
	if err != nil {
		t.Fatal(err)
	}
	open := 0
	for _, p := range parts {
		if p.Open() {
			open++
		}
	}
	if open < 3 {
		t.Fatalf("%d open partitions after 400 rows with SplitRows 100: %+v", open, parts)
	}
}
