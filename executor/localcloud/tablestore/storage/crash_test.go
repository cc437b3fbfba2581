package storage

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	pb "github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/plainbuffer"
)

const crashChildEnv = "TABLESTORE_STORAGE_CRASH_CHILD_DIR"

// TestCrashChild is the writer process of TestKilledWriterLeavesConsistentData.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashChildEnv)
	if dir == "" {
		t.Skip("helper process for TestKilledWriterLeavesConsistentData")
	}
	s, done := openStore(t, dir, Config{Shards: 3})
	defer done()
	if _, err := s.DescribeTable("inst", "t"); err != nil {
		intStrTable(t, s, "t")
	}
	for i := int64(1); ; i++ {
		var muts []Mutation
		for r := range int64(10) {
			var cells []pb.Cell
			for c := range 10 {
				cells = append(cells, pb.Cell{Name: fmt.Sprintf("c%d", c), Value: pb.Int(i)})
			}
			muts = append(muts, Mutation{Table: "t", Type: ChangePut, PrimaryKey: pk2((i*10+r)%37, "k"), Cells: cells})
		}
		res, err := s.Write("inst", muts)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if r.Err != nil {
				t.Fatal(r.Err)
			}
		}
		fmt.Fprintf(os.Stdout, "committed %d\n", i)
	}
}

// A writer killed with SIGKILL in the middle of batches leaves every row
// whole (all ten columns from the same batch) and the change log in step
// with the rows.
func TestKilledWriterLeavesConsistentData(t *testing.T) {
	rounds := 1
	if os.Getenv("DELIVERY_LONG") != "" {
		rounds = 15 // the long variant: repeated crashes over the same data
	}
	dir := t.TempDir()
	for round := range rounds {
		t.Logf("crash round %d", round+1)
		crashRound(t, dir)
		if t.Failed() {
			return
		}
	}
}

func crashRound(t *testing.T, dir string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill the writer once it has committed a few batches, at a random
	// point of a later one.
	commits := 0
	sc := bufio.NewScanner(out)
	deadline := time.AfterFunc(30*time.Second, func() { _ = cmd.Process.Kill() })
	for sc.Scan() && commits < 20 {
		if strings.HasPrefix(sc.Text(), "committed ") {
			commits++
		}
	}
	deadline.Stop()
	time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
	_ = cmd.Process.Signal(syscall.SIGKILL)
	go func() { _, _ = io.Copy(io.Discard, out) }()
	_ = cmd.Wait()
	if commits < 20 {
		t.Fatalf("the writer process committed only %d batches", commits)
	}

	s, done := openStore(t, dir, Config{Shards: 3})
	defer done()
	meta, err := s.DescribeTable("inst", "t")
	if err != nil {
		t.Fatal(err)
	}
	rowsSeen := 0
	err = s.kv.View(func(tx *bolt.Tx) error {
		tb, _, err := s.tableBucket(tx, "inst", "t")
		if err != nil {
			return err
		}
		for shard := range meta.Shards {
			sb := tb.Bucket([]byte(shardBucketName(shard)))
			last := getUint64(sb, keyLastSeq)
			log := sb.Bucket([]byte(bucketLog))
			if k, _ := log.Cursor().Last(); (k == nil) != (last == 0) || (k != nil && binary.BigEndian.Uint64(k) != last) {
				t.Errorf("shard %d: last seq %d disagrees with the log's last entry", shard, last)
			}
			c := sb.Bucket([]byte(bucketRows)).Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				r, err := decodeRow(v)
				if err != nil {
					return err
				}
				rowsSeen++
				if len(r.cols) != 10 {
					t.Errorf("row %x has %d columns, want 10", k, len(r.cols))
					continue
				}
				for _, col := range r.cols {
					if col.versions[0].v.Int != r.cols[0].versions[0].v.Int {
						t.Errorf("row %x mixes batches: %+v", k, r.cols)
						break
					}
				}
				entry := log.Get(uint64Key(r.lastSeq))
				if r.lastSeq == 0 || r.lastSeq > last || entry == nil {
					t.Errorf("row %x: last seq %d not in the log (last %d)", k, r.lastSeq, last)
					continue
				}
				ch, err := decodeChange(r.lastSeq, entry)
				if err != nil {
					return err
				}
				if string(EncodeKey(ch.PrimaryKey)) != string(k) || ch.Cells[0].Value.Int != r.cols[0].versions[0].v.Int {
					t.Errorf("row %x: its last log entry is for another write", k)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if rowsSeen == 0 {
		t.Fatal("no rows survived although batches were committed")
	}
}
