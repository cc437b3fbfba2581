package tunnel

import (
	"bytes"
	"testing"

	sdktunnel "github.com/aliyun/aliyun-tablestore-go-sdk/tunnel"
	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel/protocol"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/plainbuffer"
)

type page struct {
	token   string
	records [][]byte
	next    string
}

// readAll pages through a channel with the given reader from a token.
func readAll(t *testing.T, read func(token string) (*protocol.ReadRecordsResponse, *apiError), token string) []page {
	t.Helper()
	var pages []page
	for range 1000 {
		resp, e := read(token)
		if e != nil {
			t.Fatalf("read: %v", e)
		}
		p := page{token: token, next: resp.GetNextToken()}
		for _, r := range resp.Records {
			p.records = append(p.records, r.Record)
		}
		pages = append(pages, p)
		if p.next == FinishedToken || (len(p.records) == 0 && !resp.GetMayMoreRecord()) {
			return pages
		}
		token = p.next
	}
	t.Fatal("channel never ended")
	return nil
}

func decodeRecord(t *testing.T, record []byte) *sdktunnel.Record {
	t.Helper()
	r, err := sdktunnel.DeserializeRecordFromRawBytes(record, nil, sdktunnel.AT_Put)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Stream records keep (epoch, timestamp, row index) that strictly increase
// within a channel, also within one write batch (equal commit times), and a
// re-read from any checkpoint gives byte-identical records with identical
// sequence info. Base records carry no sequence info and come in strictly
// increasing primary-key order.
func TestSequenceInfoStableOnReRead(t *testing.T) {
	e := newEnv(t, Config{}, 2)
	e.createTable("seq")
	e.putRows("seq", 0, 300)
	id := e.createTunnel("seq", "s", sdktunnel.TunnelTypeBaseStream)
	e.putRows("seq", 300, 700) // batches of 200 rows: equal commit times
	e.write("seq", op{kind: ChangeUpdate, id: 5, n: 1, deleteV: true}, op{kind: ChangeDelete, id: 6})

	e.svc.mu.Lock()
	tun := e.svc.tunnels[id]
	e.svc.mu.Unlock()
	checked := 0
	for _, base := range tun.Channels {
		if base.Kind != channelBaseKind {
			continue
		}
		stream := tun.streamChannel(base.Partition)
		target := readTarget{instance: testInstance, table: "seq", partition: base.Partition, snapshotID: tun.SnapshotID,
			maxRecords: 13, maxBytes: DefaultMaxBytesPerRead}
		readBase := func(tok string) (*protocol.ReadRecordsResponse, *apiError) { return e.svc.readBase(target, tok) }
		readStream := func(tok string) (*protocol.ReadRecordsResponse, *apiError) { return e.svc.readStream(target, tok) }

		var phases [2][][]byte
		for phase, ch := range []struct {
			read  func(string) (*protocol.ReadRecordsResponse, *apiError)
			token string
		}{{readBase, base.Checkpoint}, {readStream, stream.Checkpoint}} {
			pages := readAll(t, ch.read, ch.token)
			for _, p := range pages {
				phases[phase] = append(phases[phase], p.records...)
			}
			if phase == 0 {
				checkBaseCursors(t, pages)
			}
			// Re-read from every page's token: the rest of the channel is
			// byte-identical to the first pass.
			for i := range pages {
				again := readAll(t, ch.read, pages[i].token)
				var first, second [][]byte
				for _, p := range pages[i:] {
					first = append(first, p.records...)
				}
				for _, p := range again {
					second = append(second, p.records...)
				}
				if len(first) != len(second) {
					t.Fatalf("partition %s: re-read from page %d gave %d records, first pass %d", base.Partition, i, len(second), len(first))
				}
				for j := range first {
					if !bytes.Equal(first[j], second[j]) {
						t.Fatalf("partition %s: record %d differs when re-read from page %d", base.Partition, j, i)
					}
				}
			}
		}
		if len(phases[0]) < 100 || len(phases[1]) < 100 {
			t.Fatalf("partition %s: only %d base and %d stream records", base.Partition, len(phases[0]), len(phases[1]))
		}
		lastPK := int64(-1)
		for _, rec := range phases[0] {
			r := decodeRecord(t, rec)
			if r.SequenceInfo != nil {
				t.Fatalf("base record %d carries sequence info %+v", pkID(r), r.SequenceInfo)
			}
			if pkID(r) <= lastPK {
				t.Fatalf("base record %d after %d: not in primary-key order", pkID(r), lastPK)
			}
			lastPK = pkID(r)
		}
		prev := decodeRecord(t, phases[1][0]).SequenceInfo
		equalTs := 0
		for _, rec := range phases[1][1:] {
			si := decodeRecord(t, rec).SequenceInfo
			if si == nil || prev == nil {
				t.Fatalf("partition %s: stream record without sequence info", base.Partition)
			}
			if !sdktunnel.StreamRecordSequenceLess(prev, si) {
				t.Fatalf("partition %s: sequence %+v does not follow %+v", base.Partition, si, prev)
			}
			if si.Timestamp == prev.Timestamp {
				equalTs++
			}
			prev = si
		}
		if equalTs == 0 {
			t.Fatalf("partition %s: no two stream records share a timestamp; the row index path went untested", base.Partition)
		}
		checked++
	}
	if checked != 2 {
		t.Fatalf("checked %d partitions, want 2", checked)
	}
}

// checkBaseCursors asserts that every base token after the first is, as the
// SDK parses it, a primary-key cursor: no iterator, and the primary key of
// the last row delivered before it, so a read from it resumes after that row.
func checkBaseCursors(t *testing.T, pages []page) {
	t.Helper()
	for i := 1; i < len(pages); i++ {
		prev := pages[i-1].records
		if len(prev) == 0 {
			continue
		}
		content, err := sdktunnel.ParseRequestToken(pages[i].token)
		if err != nil || content.GetIterator() != "" {
			t.Fatalf("base token of page %d: %+v %v", i, content, err)
		}
		row, err := plainbuffer.DecodeRow(content.GetPrimaryKey())
		if err != nil || len(row.PrimaryKey) != 1 {
			t.Fatalf("base token of page %d holds no primary key: %v", i, err)
		}
		last := pkID(decodeRecord(t, prev[len(prev)-1]))
		if row.PrimaryKey[0].Value.Int != last {
			t.Fatalf("base token of page %d resumes after %d, the page before ended at %d", i, row.PrimaryKey[0].Value.Int, last)
		}
		if len(pages[i].records) > 0 && pkID(decodeRecord(t, pages[i].records[0])) <= last {
			t.Fatalf("page %d does not start after the token's primary key %d", i, last)
		}
	}
}
