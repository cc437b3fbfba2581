package pipeline

import (
	"bytes"
	"testing"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// A file encoded over a used buffer is the same file, in that buffer's
// storage while it has room and in a new one past that.
func TestEncodeBlockToReusesTheBufferAndWritesTheSameFile(t *testing.T) {
	enc, err := NewEncoder(blockColumns, task.CompressionSnappy)
	if err != nil {
		t.Fatal(err)
	}
	b := enc.NewBlock()
	defer b.Release()
	for i := range 500 {
		if _, err := b.Append(blockRow(i, "reused")); err != nil {
			t.Fatal(err)
		}
	}
	want, err := enc.EncodeBlock(b)
	if err != nil {
		t.Fatal(err)
	}

	roomy := bytes.Repeat([]byte{0xAB}, 2*len(want)) // stale bytes of an earlier object
	got, err := enc.EncodeBlockTo(roomy, b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("the file encoded over a used buffer differs from EncodeBlock's")
	}
	if &got[0] != &roomy[0] {
		t.Error("a buffer with room for the file was not used")
	}

	small := make([]byte, 10, 16)
	got, err = enc.EncodeBlockTo(small, b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("the file encoded past a small buffer differs from EncodeBlock's")
	}
	assertRows(t, got, blockRows(500, "reused"))
}

func TestObjectBufferHasRoomForTheEstimate(t *testing.T) {
	for _, estimate := range []int{0, 1, 100 << 10, 3 << 20} {
		b := objectBuffer(estimate)
		if len(b) != 0 || cap(b) < estimate {
			t.Errorf("objectBuffer(%d) has len %d cap %d", estimate, len(b), cap(b))
		}
		recycleObjectBuffer(append(b, 1, 2, 3))
	}
	// Whatever comes back from the pool is empty and large enough.
	for range 4 {
		big := objectBuffer(4 << 20)
		if len(big) != 0 || cap(big) < 4<<20 {
			t.Errorf("objectBuffer(4 MiB) has len %d cap %d", len(big), cap(big))
		}
	}
}
