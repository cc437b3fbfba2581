package tunnel

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel/protocol"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/plainbuffer"
)

// FinishedToken is the literal token that ends a channel (the SDK's FinishTag).
const FinishedToken = "finished"

// Tokens are what the SDK expects: base64 of a protocol.Token (version 2)
// whose content is a protocol.TokenContentV2. The SDK decides once, from the
// token it gets from GetCheckpoint, whether a channel is a stream channel
// (non-empty iterator: read with back-off) or a base channel (no iterator:
// read as fast as possible), so both kinds must parse.
//
// Base tokens: PrimaryKey = the primary key of the last delivered row as a
// one-row PlainBuffer (empty at the start), TotalCount = rows delivered so far.
// A base channel reads its partition in primary-key order and resumes
// strictly after that key, so the token is a resume cursor and nothing else.
//
// Stream tokens: Iterator = "s:<afterSeq>:<lastRowIndex>", Timestamp = the
// sequence timestamp of the last delivered record, TotalCount = records
// delivered so far. Carrying the last (timestamp, row index) in the token
// makes the sequence info of re-read records identical to the first read.

type baseToken struct {
	lastKey   []plainbuffer.Cell // nil: from the start
	delivered int64
}

type streamToken struct {
	afterSeq     uint64
	lastTs       int64
	lastRowIndex int64 // -1: no record with lastTs delivered yet
	delivered    int64
}

const streamIteratorPrefix = "s:"

func encodeToken(content *protocol.TokenContentV2) (string, error) {
	inner, err := proto.Marshal(protoadapt.MessageV2Of(content))
	if err != nil {
		return "", fmt.Errorf("marshal token content: %w", err)
	}
	if inner == nil {
		inner = []byte{}
	}
	outer, err := proto.Marshal(protoadapt.MessageV2Of(&protocol.Token{Version: proto.Int64(2), Content: inner}))
	if err != nil {
		return "", fmt.Errorf("marshal token: %w", err)
	}
	return base64.StdEncoding.EncodeToString(outer), nil
}

func decodeTokenContent(token string) (*protocol.TokenContentV2, error) {
	raw, err := base64.StdEncoding.DecodeString(token)
	if err != nil {
		return nil, fmt.Errorf("token is not base64: %w", err)
	}
	var outer protocol.Token
	if err := proto.Unmarshal(raw, protoadapt.MessageV2Of(&outer)); err != nil {
		return nil, fmt.Errorf("token is not a Token message: %w", err)
	}
	if outer.GetVersion() != 2 {
		return nil, fmt.Errorf("unsupported token version %d", outer.GetVersion())
	}
	var content protocol.TokenContentV2
	if err := proto.Unmarshal(outer.Content, protoadapt.MessageV2Of(&content)); err != nil {
		return nil, fmt.Errorf("token content: %w", err)
	}
	return &content, nil
}

func (t baseToken) encode() (string, error) {
	key := []byte{}
	if t.lastKey != nil {
		key = plainbuffer.EncodeRow(&plainbuffer.Row{PrimaryKey: t.lastKey})
	}
	return encodeToken(&protocol.TokenContentV2{
		PrimaryKey: key,
		TotalCount: proto.Int64(t.delivered),
	})
}

func parseBaseToken(token string) (baseToken, error) {
	c, err := decodeTokenContent(token)
	if err != nil {
		return baseToken{}, err
	}
	if c.GetIterator() != "" {
		return baseToken{}, fmt.Errorf("stream token given to a base channel")
	}
	if c.GetTotalCount() < 0 {
		return baseToken{}, fmt.Errorf("negative row count in token")
	}
	tok := baseToken{delivered: c.GetTotalCount()}
	if len(c.PrimaryKey) > 0 {
		row, err := plainbuffer.DecodeRow(c.PrimaryKey)
		if err != nil {
			return baseToken{}, fmt.Errorf("primary key in token: %w", err)
		}
		if len(row.PrimaryKey) == 0 {
			return baseToken{}, fmt.Errorf("primary key in token is empty")
		}
		tok.lastKey = row.PrimaryKey
	}
	return tok, nil
}

func (t streamToken) encode() (string, error) {
	return encodeToken(&protocol.TokenContentV2{
		Iterator:   proto.String(streamIteratorPrefix + strconv.FormatUint(t.afterSeq, 10) + ":" + strconv.FormatInt(t.lastRowIndex, 10)),
		Timestamp:  proto.Int64(t.lastTs),
		TotalCount: proto.Int64(t.delivered),
	})
}

func parseStreamToken(token string) (streamToken, error) {
	c, err := decodeTokenContent(token)
	if err != nil {
		return streamToken{}, err
	}
	it := c.GetIterator()
	if !strings.HasPrefix(it, streamIteratorPrefix) {
		return streamToken{}, fmt.Errorf("not a stream token")
	}
	seqText, idxText, ok := strings.Cut(strings.TrimPrefix(it, streamIteratorPrefix), ":")
	if !ok {
		return streamToken{}, fmt.Errorf("malformed stream iterator %q", it)
	}
	seq, err := strconv.ParseUint(seqText, 10, 64)
	if err != nil {
		return streamToken{}, fmt.Errorf("malformed stream position: %w", err)
	}
	idx, err := strconv.ParseInt(idxText, 10, 32)
	if err != nil || idx < -1 {
		return streamToken{}, fmt.Errorf("malformed stream row index %q", idxText)
	}
	return streamToken{afterSeq: seq, lastTs: c.GetTimestamp(), lastRowIndex: idx, delivered: c.GetTotalCount()}, nil
}

// tokenProgress extracts (records delivered, sequence timestamp) from a
// checkpoint token for progress reporting; it never fails.
func tokenProgress(token string) (delivered, ts int64) {
	if token == FinishedToken {
		return -1, 0
	}
	c, err := decodeTokenContent(token)
	if err != nil {
		return 0, 0
	}
	return c.GetTotalCount(), c.GetTimestamp()
}
