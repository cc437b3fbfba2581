package bench

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel"
	"github.com/parquet-go/parquet-go"
)

// idOnly is the id column read through parquet-go's row reader, the
// reference the verifier's page-level read must agree with.
type idOnly struct {
	ID *string `parquet:"id,optional"`
}

func referenceRows(t *testing.T, data []byte) []int {
	t.Helper()
	rows, err := parquet.Read[idOnly](bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	out := []int{}
	for _, r := range rows {
		if r.ID != nil {
			out = append(out, parseRowID(*r.ID))
		}
	}
	return out
}

// The verifier finds in an object exactly the rows a whole-row read of its id
// column finds: in the file the pipeline writes, and in one with several row
// groups, null ids and ids that are not row ids.
func TestIDColumnRowsAgreesWithRowReader(t *testing.T) {
	mapper, encoder := conversionStages(t, taskSpec("verify", latencyTable, "", time.Second, 1))
	const n = 2500
	base := eventBase(2)
	records := make([]*tunnel.Record, n)
	for i := range records {
		records[i] = makeRow(7000+i*3, base, 2).record()
	}
	pipelineFile, err := convertRecords(mapper, encoder, make([]any, mapper.Columns()), records)
	if err != nil {
		t.Fatal(err)
	}

	var mixed bytes.Buffer
	w := parquet.NewGenericWriter[idOnly](&mixed, parquet.PageBufferSize(256))
	for group := range 3 {
		var rows []idOnly
		for i := range 700 {
			id := rowID(group*1000 + i)
			switch i % 50 {
			case 7:
				rows = append(rows, idOnly{})
			case 9:
				id = "not-a-row"
			}
			if i%50 != 7 {
				rows = append(rows, idOnly{ID: &id})
			}
		}
		if _, err := w.Write(rows); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	for name, data := range map[string][]byte{"pipeline": pipelineFile, "row groups and nulls": mixed.Bytes()} {
		t.Run(name, func(t *testing.T) {
			got, err := idColumnRows(data)
			if err != nil {
				t.Fatal(err)
			}
			want := referenceRows(t, data)
			if len(want) < 2000 || !reflect.DeepEqual(got, want) {
				t.Fatalf("%d rows found, the row reader finds %d (first %v / %v)", len(got), len(want), got[:min(5, len(got))], want[:min(5, len(want))])
			}
		})
	}
	if f, err := parquet.OpenFile(bytes.NewReader(mixed.Bytes()), int64(mixed.Len())); err != nil || len(f.RowGroups()) != 3 {
		t.Fatalf("the mixed file has %d row groups, want 3 (%v)", len(f.RowGroups()), err)
	}
	if _, err := idColumnRows(pipelineFile[:len(pipelineFile)/2]); err == nil {
		t.Fatal("half a file read without error")
	}
}
