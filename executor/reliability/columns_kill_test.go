package reliability

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"

	"github.com/tablestore-delivery/terraform-provider-tablestore/internal/testsupport"
)

// objectRows decodes one object's (id, seq) rows and, when the object has
// the payload column (the second generation), their payloads.
func objectRows(t *testing.T, key string, data []byte) (rows []row, hasPayload bool) {
	t.Helper()
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("object %s is not Parquet: %v", key, err)
	}
	index := map[string]int{}
	for i, field := range f.Schema().Fields() {
		index[field.Name()] = i
	}
	_, hasPayload = index["payload"]
	r := parquet.NewReader(f)
	defer func() { _ = r.Close() }()
	buf := make([]parquet.Row, 256)
	for {
		n, err := r.ReadRows(buf)
		for _, pr := range buf[:n] {
			var got row
			for _, v := range pr {
				switch {
				case v.Column() == index["id"]:
					got.id = v.Int64()
				case v.Column() == index["seq"]:
					got.seq = v.Int64()
				case hasPayload && v.Column() == index["payload"]:
					got.payload = string(v.ByteArray())
				}
			}
			rows = append(rows, got)
		}
		if errors.Is(err, io.EOF) {
			return rows, hasPayload
		}
		if err != nil {
			t.Fatalf("read rows of %s: %v", key, err)
		}
	}
}

// TestKillNineAcrossColumnAppend appends a column to a running task with
// PATCH, keeps writing, kills the executor with SIGKILL while those rows are
// in flight and restarts it: every row is delivered exactly once, rows
// written after the PATCH returned carry the new column, rows delivered
// before it do not, and no object holds both generations.
func TestKillNineAcrossColumnAppend(t *testing.T) {
	t.Parallel() // its own process and data dir; mostly waits
	const perPhase = 1500
	dataDir := t.TempDir()
	p := startProcess(t, dataDir)
	ctx := context.Background()
	s := &stack{t: t, ots0: p.ots, oss0: p.oss}
	s.createTable("grow")
	s.createBucket("lake")
	if _, err := p.api.PutRole(ctx, task.DefaultRoleName, task.RoleInput{OSSAccessKeyID: "local-dev-key", OSSAccessKeySecret: "local-dev-secret"}); err != nil {
		t.Fatal(err)
	}
	first := []task.Column{{Source: "id", Name: "id", Type: task.TypeInt64}, {Source: "seq", Name: "seq", Type: task.TypeInt64}}
	if _, err := p.api.CreateTask(ctx, task.Spec{Name: "grow-lake", Table: "grow", Bucket: "lake", Prefix: "grow",
		SyncMode: task.SyncDifferential, Columns: first, FlushIntervalSeconds: 1, TargetObjectSizeMB: 1}); err != nil {
		t.Fatal(err)
	}
	delivered := func() int64 {
		got, err := p.api.GetTask(ctx, "grow", "grow-lake")
		if err != nil {
			return -1
		}
		return got.Status.RowsDelivered
	}
	want := s.putRows("grow", 0, perPhase, 0)
	testsupport.WaitFor(t, time.Minute, "first generation delivered", func() string {
		if n := delivered(); n < perPhase {
			return fmt.Sprintf("%d of %d rows", n, perPhase)
		}
		return ""
	})

	grown := append(slices.Clone(first), task.Column{Source: "payload", Name: "payload", Type: task.TypeUTF8})
	if _, err := p.api.UpdateTask(ctx, "grow", "grow-lake", task.Patch{Columns: grown}); err != nil {
		t.Fatalf("append a column: %v", err)
	}
	// Rows written from here on are read after the change.
	for i := int64(0); i < 4; i++ {
		want = append(want, s.putRows("grow", perPhase+i*perPhase/4, perPhase+(i+1)*perPhase/4, 1)...)
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Duration(rand.IntN(800)) * time.Millisecond)
	t.Logf("SIGKILL with %d of %d rows reported delivered", delivered(), 2*perPhase)
	p.kill(t)
	p = startProcess(t, dataDir)
	s.ots0, s.oss0 = p.ots, p.oss
	want = append(want, s.putRows("grow", 2*perPhase, 3*perPhase, 2)...)
	testsupport.WaitFor(t, 2*time.Minute, "every row delivered after the restart", func() string {
		if n := delivered(); n < 3*perPhase {
			return fmt.Sprintf("%d of %d rows delivered", n, 3*perPhase)
		}
		return ""
	})

	var got []row
	oldObjects, newObjects := 0, 0
	for key, data := range s.objects("lake", "grow/") {
		rows, hasPayload := objectRows(t, key, data)
		if hasPayload {
			newObjects++
		} else {
			oldObjects++
		}
		for _, r := range rows {
			switch {
			case r.seq >= 1 && !hasPayload:
				t.Errorf("row %d, written after the PATCH, is in %s without the new column", r.id, key)
			case hasPayload && r.payload != payloadOf(r.id, r.seq):
				t.Errorf("row %d in %s: payload %q", r.id, key, r.payload)
			}
			if !hasPayload { // compare as the rows were written
				r.payload = payloadOf(r.id, r.seq)
			}
			got = append(got, r)
		}
	}
	if oldObjects == 0 || newObjects == 0 {
		t.Errorf("%d objects of the first generation, %d of the second; want both", oldObjects, newObjects)
	}
	checkExactlyOnce(t, "delivery across a column append and a SIGKILL", want, got)
}
