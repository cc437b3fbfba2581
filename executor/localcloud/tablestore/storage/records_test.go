package storage

import (
	"bytes"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	pb "github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/plainbuffer"
)

// ScanSnapshotRecords must give, page by page, exactly the one-row buffers
// that ScanSnapshot's rows encode to, whether a row is served from its stored
// bytes or trimmed first: rows with versions past the TTL or past a lowered
// max versions, rows gone with the TTL, key-only rows, rows changed or
// deleted after the snapshot (read from their pre-images).
func TestScanSnapshotRecordsAreTheEncodedRows(t *testing.T) {
	now := time.Unix(1700000000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s, done := openStore(t, t.TempDir(), Config{Shards: 2, Now: clock})
	defer done()
	if _, err := s.CreateTable("inst", TableMeta{Name: "t", PrimaryKey: []PKColumn{{Name: "a", Type: PKInteger}, {Name: "b", Type: PKString}},
		MaxVersions: 3, TimeToLive: 3600}); err != nil {
		t.Fatal(err)
	}
	nowMs := now.UnixMilli()
	at := func(name string, v int64, ts int64) pb.Cell {
		return pb.Cell{Name: name, Value: pb.Int(v), HasTimestamp: true, Timestamp: ts}
	}
	update := func(a int64, cells ...pb.Cell) {
		t.Helper()
		res, err := s.Write("inst", []Mutation{{Table: "t", Type: ChangeUpdate, PrimaryKey: pk2(a, "k"), Cells: cells}})
		if err != nil || res[0].Err != nil {
			t.Fatal(err, res[0].Err)
		}
	}
	for i := range int64(60) {
		switch i % 6 {
		case 0: // one fresh version per column
			put(t, s, "t", i, "k", at("v", i, nowMs), pb.Cell{Name: "w", Value: pb.String("x")})
		case 1: // three versions of one column, all fresh
			put(t, s, "t", i, "k", at("v", 1, nowMs-3000))
			update(i, at("v", 2, nowMs-2000))
			update(i, at("v", 3, nowMs-1000))
		case 2: // an old version past the TTL beside fresh ones
			put(t, s, "t", i, "k", at("v", 1, nowMs-7200_000), at("w", 1, nowMs))
			update(i, at("v", 2, nowMs-1000))
		case 3: // everything past the TTL: the row is gone
			put(t, s, "t", i, "k", at("v", 1, nowMs-7200_000))
		case 4: // key only
			put(t, s, "t", i, "k")
		case 5: // a string and a binary column
			put(t, s, "t", i, "k", pb.Cell{Name: "s", Value: pb.String("ünïcode")}, pb.Cell{Name: "z", Value: pb.Blob(bytes.Repeat([]byte{0}, 100))})
		}
	}
	snap, err := s.CreateSnapshot("inst", "t")
	if err != nil {
		t.Fatal(err)
	}
	// After the snapshot: changes and deletes (pre-images), fewer versions
	// kept from now on, and time passes beyond the TTL of some versions.
	update(1, at("v", 9, nowMs))
	if res, _ := s.Write("inst", []Mutation{{Table: "t", Type: ChangeDelete, PrimaryKey: pk2(6, "k")}}); res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	put(t, s, "t", 1000, "k", at("v", 1, nowMs))
	if _, err := s.UpdateTable("inst", "t", func(m *TableMeta) error { m.MaxVersions = 2; return nil }); err != nil {
		t.Fatal(err)
	}

	asIs, trimmed := 0, 0
	for _, part := range snap.Partitions {
		var after, afterRecords []byte
		for page := 0; ; page++ {
			rows, next, more, err := s.ScanSnapshot(snap.ID, part.ID, after, 4)
			if err != nil {
				t.Fatal(err)
			}
			records, nextRecords, moreRecords, err := s.ScanSnapshotRecords(snap.ID, part.ID, afterRecords, 4)
			if err != nil {
				t.Fatal(err)
			}
			if len(records) != len(rows) || !bytes.Equal(next, nextRecords) || more != moreRecords {
				t.Fatalf("partition %s page %d: %d records, next %x, more %v; ScanSnapshot: %d rows, next %x, more %v",
					part.ID, page, len(records), nextRecords, moreRecords, len(rows), next, more)
			}
			for i := range rows {
				if want := pb.EncodeRow(&rows[i]); !bytes.Equal(records[i], want) {
					t.Fatalf("partition %s page %d record %d:\n got % x\nwant % x (%+v)", part.ID, page, i, records[i], want, rows[i])
				}
				if len(rows[i].Cells) > 0 && rows[i].Cells[0].Name == "v" && len(rows[i].Cells) == 2 && rows[i].Cells[1].Name == "v" {
					trimmed++ // three versions kept to two
				}
			}
			asIs += len(rows)
			if !more {
				break
			}
			after, afterRecords = next, nextRecords
		}
	}
	// 60 rows, 10 gone with the TTL; the deleted and the changed row are
	// read from their pre-images, the row written later is not there.
	if asIs != 50 || trimmed != 10 {
		t.Fatalf("%d rows, %d of them trimmed to 2 versions; want 50 and 10", asIs, trimmed)
	}
}

// keepsEveryVersion must agree with expireRow on whether a stored row stays
// as it is.
func TestKeepsEveryVersionAgreesWithExpireRow(t *testing.T) {
	nowMs := int64(1700000000000)
	v := func(ts int64) version { return version{ts: ts, v: *pb.Int(1)} }
	pk := pk2(1, "k")
	for _, meta := range []*TableMeta{{MaxVersions: 1, TimeToLive: -1}, {MaxVersions: 2, TimeToLive: 60}, {MaxVersions: 3, TimeToLive: 3600}} {
		for name, r := range map[string]*row{
			"key only":            {pk: pk},
			"one version":         {pk: pk, cols: []column{{name: "a", versions: []version{v(nowMs)}}}},
			"two versions":        {pk: pk, cols: []column{{name: "a", versions: []version{v(nowMs), v(nowMs - 1000)}}}},
			"three versions":      {pk: pk, cols: []column{{name: "a", versions: []version{v(nowMs), v(nowMs - 1), v(nowMs - 2)}}, {name: "b", versions: []version{v(nowMs)}}}},
			"old version":         {pk: pk, cols: []column{{name: "a", versions: []version{v(nowMs)}}, {name: "b", versions: []version{v(nowMs - 120_000)}}}},
			"very old version":    {pk: pk, cols: []column{{name: "a", versions: []version{v(nowMs - 7200_000)}}}},
			"columns a, aa and b": {pk: pk, cols: []column{{name: "a", versions: []version{v(nowMs)}}, {name: "aa", versions: []version{v(nowMs)}}, {name: "b", versions: []version{v(nowMs)}}}},
		} {
			stored := encodeRow(r)[8:]
			want := expireRow(r, meta, nowMs) == r
			if got := keepsEveryVersion(stored, meta, nowMs); got != want {
				t.Errorf("max versions %d, TTL %d, %s: keepsEveryVersion %v, expireRow keeps it: %v", meta.MaxVersions, meta.TimeToLive, name, got, want)
			}
		}
	}
}

// ReadChangeRecords gives, page by page, each change as ReadChanges decodes
// it: the same seq, time and type, and a row that decodes to the change.
func TestReadChangeRecordsAreTheStoredChanges(t *testing.T) {
	s, done := openStore(t, t.TempDir(), Config{Shards: 2})
	defer done()
	if _, err := s.CreateTable("inst", TableMeta{Name: "t", PrimaryKey: []PKColumn{{Name: "id", Type: PKInteger}}}); err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		m := Mutation{Table: "t", Type: ChangePut, PrimaryKey: []pb.Cell{{Name: "id", Value: pb.Int(int64(i % 40))}},
			Cells: []pb.Cell{{Name: "v", Value: pb.String(strings.Repeat("x", i))}}}
		switch i % 3 {
		case 1:
			m.Type, m.Cells = ChangeUpdate, append(m.Cells, pb.Cell{Name: "w", Op: pb.OpDeleteAllVersions})
		case 2:
			m.Type, m.Cells = ChangeDelete, nil
		}
		if _, err := s.Write("inst", []Mutation{m}); err != nil {
			t.Fatal(err)
		}
	}
	parts, err := s.Partitions("inst", "t")
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, p := range parts {
		want, _, err := s.ReadChanges("inst", "t", p.ID, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		var got []ChangeRecord
		for after, more := uint64(0), true; more; {
			var page []ChangeRecord
			if page, more, err = s.ReadChangeRecords("inst", "t", p.ID, after, 17); err != nil {
				t.Fatal(err)
			}
			if more && len(page) != 17 {
				t.Fatalf("a page of %d records with more to come, want 17", len(page))
			}
			got = append(got, page...)
			if len(page) > 0 {
				after = page[len(page)-1].Seq
			}
		}
		if len(got) != len(want) {
			t.Fatalf("partition %s: %d records, %d changes", p.ID, len(got), len(want))
		}
		for i, r := range got {
			row, err := pb.DecodeRow(r.Row)
			if err != nil {
				t.Fatalf("record %d: %v", r.Seq, err)
			}
			w := want[i]
			if r.Seq != w.Seq || r.TimeMicros != w.TimeMicros || r.Type != w.Type || !reflect.DeepEqual(row, w.Row()) {
				t.Fatalf("record %+v decodes to %+v, want change %+v", r, row, w)
			}
		}
		total += len(got)
	}
	if total != 300 {
		t.Fatalf("%d records, want 300", total)
	}
}

// The change log only appends, so its pages are filled before they split
// instead of being left half empty (bbolt's default): appended changes take
// about the space their bytes need.
func TestChangeLogPagesAreFilled(t *testing.T) {
	s, done := openStore(t, t.TempDir(), Config{Shards: 1})
	defer done()
	if _, err := s.CreateTable("inst", TableMeta{Name: "t", PrimaryKey: []PKColumn{{Name: "id", Type: PKInteger}}}); err != nil {
		t.Fatal(err)
	}
	for batch := range 40 {
		var muts []Mutation
		for i := range 100 {
			muts = append(muts, Mutation{Table: "t", Type: ChangePut, PrimaryKey: []pb.Cell{{Name: "id", Value: pb.Int(int64(batch*100 + i))}},
				Cells: []pb.Cell{{Name: "v", Value: pb.String(strings.Repeat("x", 100))}}})
		}
		if _, err := s.Write("inst", muts); err != nil {
			t.Fatal(err)
		}
	}
	parts, err := s.Partitions("inst", "t")
	if err != nil || len(parts) != 1 {
		t.Fatalf("partitions %v, %v", parts, err)
	}
	var stats bolt.BucketStats
	var pageSize int
	if err := s.kv.View(func(tx *bolt.Tx) error {
		tb, meta, err := s.tableBucket(tx, "inst", "t")
		if err != nil {
			return err
		}
		lb, err := partitionLog(tb, meta.partition(parts[0].ID))
		if err != nil {
			return err
		}
		stats, pageSize = lb.Bucket([]byte(bucketLog)).Stats(), tx.DB().Info().PageSize
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if stats.KeyN != 4000 || stats.LeafPageN < 10 {
		t.Fatalf("log holds %d changes on %d leaf pages, want 4000 on many", stats.KeyN, stats.LeafPageN)
	}
	if fill := float64(stats.LeafInuse) / float64(stats.LeafPageN*pageSize); fill < 0.85 {
		t.Fatalf("the log's leaf pages are %.0f%% full, want at least 85%%", fill*100)
	}
}
