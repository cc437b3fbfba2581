package tunnel

import (
	"reflect"
	"testing"

	sdktunnel "github.com/aliyun/aliyun-tablestore-go-sdk/tunnel"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/plainbuffer"
)

// The SDK decides from a token whether a channel is a stream channel; our
// tokens must parse with its own parser and classify correctly.
func TestTokensParseWithTheSDK(t *testing.T) {
	base, err := baseToken{lastKey: testKey("pk\x00", 7), delivered: 42}.encode()
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
	if row, err := plainbuffer.DecodeRow(content.GetPrimaryKey()); err != nil || !reflect.DeepEqual(row.PrimaryKey, testKey("pk\x00", 7)) {
		t.Fatalf("base token's primary key is not the resume key: %+v %v", row.PrimaryKey, err)
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
	b := baseToken{lastKey: testKey("a", -3), delivered: 1 << 40}
	enc, err := b.encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseBaseToken(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, b) {
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

func testKey(s string, n int64) []plainbuffer.Cell {
	return []plainbuffer.Cell{{Name: "k", Value: plainbuffer.String(s)}, {Name: "n", Value: plainbuffer.Int(n)}}
}

// FuzzTokens makes sure malformed tokens from the network are rejected
// without panicking, and that accepted ones re-encode to an equivalent token.
func FuzzTokens(f *testing.F) {
	f.Add(mustEncodeF(baseToken{lastKey: testKey("abc", 1), delivered: 5}))
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
			if err != nil || !reflect.DeepEqual(b2, b) {
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
