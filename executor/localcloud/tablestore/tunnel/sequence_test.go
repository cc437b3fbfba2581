package tunnel

import (
	"bytes"
	"testing"

	sdktunnel "github.com/aliyun/aliyun-tablestore-go-sdk/tunnel"
	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel/protocol"
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

func sequenceOf(t *testing.T, record []byte) *sdktunnel.SequenceInfo {
	t.Helper()
	r, err := sdktunnel.DeserializeRecordFromRawBytes(record, nil, sdktunnel.AT_Put)
	if err != nil {
		t.Fatal(err)
	}
	if r.SequenceInfo == nil {
		t.Fatal("record without sequence info")
	}
	return r.SequenceInfo
}

// Re-reading a channel from any token returns byte-identical records (so the
// same sequence info), and sequence info strictly increases along a channel,
// also across the base/stream switch of a shard and within one write batch
// (whose changes share a commit time).
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
	for shard := range 2 {
		target := readTarget{instance: testInstance, table: "seq", shard: shard, snapshotID: tun.SnapshotID,
			baseTs: tun.BaseTs, maxRecords: 13, maxBytes: DefaultMaxBytesPerRead}
		base := tun.channel(ChannelID(channelBaseKind, id, shard))
		stream := tun.channel(ChannelID(channelStrKind, id, shard))
		readBase := func(tok string) (*protocol.ReadRecordsResponse, *apiError) { return e.svc.readBase(target, tok) }
		readStream := func(tok string) (*protocol.ReadRecordsResponse, *apiError) { return e.svc.readStream(target, tok) }

		var all [][]byte
		baseCount := -1
		for _, ch := range []struct {
			read  func(string) (*protocol.ReadRecordsResponse, *apiError)
			token string
		}{{readBase, base.Checkpoint}, {readStream, stream.Checkpoint}} {
			if baseCount < 0 && len(all) > 0 {
				baseCount = len(all)
			}
			pages := readAll(t, ch.read, ch.token)
			for _, p := range pages {
				all = append(all, p.records...)
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
					t.Fatalf("shard %d: re-read from page %d gave %d records, first pass %d", shard, i, len(second), len(first))
				}
				for j := range first {
					if !bytes.Equal(first[j], second[j]) {
						t.Fatalf("shard %d: record %d differs when re-read from page %d", shard, j, i)
					}
				}
			}
		}
		if len(all) < 200 {
			t.Fatalf("shard %d: only %d records", shard, len(all))
		}
		prev := sequenceOf(t, all[0])
		equalTs := 0
		for i, rec := range all[1:] {
			si := sequenceOf(t, rec)
			if !sdktunnel.StreamRecordSequenceLess(prev, si) {
				t.Fatalf("shard %d: sequence %+v does not follow %+v", shard, si, prev)
			}
			if i+1 > baseCount && si.Timestamp == prev.Timestamp {
				equalTs++
			}
			prev = si
		}
		if equalTs == 0 {
			t.Fatalf("shard %d: no two stream records share a timestamp; the row index path went untested", shard)
		}
	}
}
