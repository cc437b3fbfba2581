package tunnel

import (
	"bytes"
	"testing"

	sdktunnel "github.com/aliyun/aliyun-tablestore-go-sdk/tunnel"
)

// The SDK decides from a token whether a channel is a stream channel; our
// tokens must parse with its own parser and classify correctly.
func TestTokensParseWithTheSDK(t *testing.T) {
	base, err := baseToken{cursor: []byte("pk\x00"), delivered: 42, baseTs: 1700000000000000}.encode()
	if err != nil {
		t.Fatal(err)
	}
	content, err := sdktunnel.ParseRequestToken(base)
	if err != nil {
		t.Fatalf("SDK cannot parse base token: %v", err)
	}
	if content.GetIterator() != "" {
		t.Fatalf("base token has an iterator %q: the SDK would treat it as a stream channel", content.GetIterator())
	}
	initial, err := baseToken{}.encode()
	if err != nil {
		t.Fatal(err)
	}
	if c, err := sdktunnel.ParseRequestToken(initial); err != nil || c.GetIterator() != "" {
		t.Fatalf("initial base token: content %v, err %v", c, err)
	}

	stream, err := streamToken{afterSeq: 7, lastTs: 99, lastRowIndex: -1, delivered: 3}.encode()
	if err != nil {
		t.Fatal(err)
	}
	content, err = sdktunnel.ParseRequestToken(stream)
	if err != nil {
		t.Fatalf("SDK cannot parse stream token: %v", err)
	}
	if content.GetIterator() == "" {
		t.Fatal("stream token has no iterator: the SDK would read it without back-off")
	}
}

func TestTokenRoundTrip(t *testing.T) {
	b := baseToken{cursor: []byte{1, 2, 3}, delivered: 1 << 40, baseTs: 123}
	enc, err := b.encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseBaseToken(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.cursor, b.cursor) || got.delivered != b.delivered || got.baseTs != b.baseTs {
		t.Fatalf("base token round trip: got %+v, want %+v", got, b)
	}
	s := streamToken{afterSeq: 1<<63 + 5, lastTs: -7, lastRowIndex: 2147483647, delivered: 9}
	enc, err = s.encode()
	if err != nil {
		t.Fatal(err)
	}
	gs, err := parseStreamToken(enc)
	if err != nil {
		t.Fatal(err)
	}
	if gs != s {
		t.Fatalf("stream token round trip: got %+v, want %+v", gs, s)
	}
	if _, err := parseStreamToken(FinishedToken); err == nil {
		t.Fatal("the finished tag parsed as a stream token")
	}
	if _, err := parseBaseToken(enc); err == nil {
		t.Fatal("a stream token parsed as a base token")
	}
	if _, err := parseStreamToken(mustEncode(t, baseToken{})); err == nil {
		t.Fatal("a base token parsed as a stream token")
	}
}

func mustEncode(t *testing.T, b baseToken) string {
	t.Helper()
	s, err := b.encode()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestChannelShard(t *testing.T) {
	id := ChannelID("Stream", "0c1d2e3f-aaaa-bbbb-cccc-000011112222", 13)
	n, err := ChannelShard(id)
	if err != nil || n != 13 {
		t.Fatalf("ChannelShard(%q) = %d, %v; want 13", id, n, err)
	}
	for _, bad := range []string{"", "BaseData", "BaseData_x_", "BaseData_x_-1", "Stream_x_1a"} {
		if _, err := ChannelShard(bad); err == nil {
			t.Errorf("ChannelShard(%q) accepted a malformed id", bad)
		}
	}
}

// FuzzTokens makes sure malformed tokens from the network are rejected
// without panicking, and that accepted ones re-encode to an equivalent token.
func FuzzTokens(f *testing.F) {
	f.Add(mustEncodeF(baseToken{cursor: []byte("abc"), delivered: 5}))
	s, _ := streamToken{afterSeq: 10, lastTs: 5, lastRowIndex: 0}.encode()
	f.Add(s)
	f.Add(FinishedToken)
	f.Add("")
	f.Add("CAISAA==")
	f.Fuzz(func(t *testing.T, token string) {
		if b, err := parseBaseToken(token); err == nil {
			again, err := b.encode()
			if err != nil {
				t.Fatalf("re-encode base: %v", err)
			}
			b2, err := parseBaseToken(again)
			if err != nil || !bytes.Equal(b2.cursor, b.cursor) || b2.delivered != b.delivered || b2.baseTs != b.baseTs {
				t.Fatalf("base token not stable: %+v vs %+v (%v)", b, b2, err)
			}
		}
		if st, err := parseStreamToken(token); err == nil {
			again, err := st.encode()
			if err != nil {
				t.Fatalf("re-encode stream: %v", err)
			}
			st2, err := parseStreamToken(again)
			if err != nil || st2 != st {
				t.Fatalf("stream token not stable: %+v vs %+v (%v)", st, st2, err)
			}
		}
		tokenProgress(token)
	})
}

func mustEncodeF(b baseToken) string {
	s, err := b.encode()
	if err != nil {
		panic(err)
	}
	return s
}
