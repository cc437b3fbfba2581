package tunnel

import (
	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel/protocol"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"
)

// marshalAnswer encodes a tunnel answer. ReadRecords answers, which carry
// every record of a full export, are written field by field with protowire:
// the SDK's protocol messages are legacy (protoc-gen-go v1) types, and the
// generic marshaller wraps each of them in a reflection adapter, which cost
// more than the rest of serving a base record from the stored bytes. The
// bytes are those proto.Marshal gives (TestMarshalAnswerMatchesProtoMarshal);
// anything the fast path does not cover goes through proto.Marshal.
func marshalAnswer(m protoadapt.MessageV1) ([]byte, error) {
	if r, ok := m.(*protocol.ReadRecordsResponse); ok && plainReadRecords(r) {
		return appendReadRecords(nil, r), nil
	}
	return proto.Marshal(protoadapt.MessageV2Of(m))
}

// plainReadRecords reports whether appendReadRecords encodes r exactly: the
// required fields are set (else proto.Marshal reports them) and nothing
// unknown or unused rides along.
func plainReadRecords(r *protocol.ReadRecordsResponse) bool {
	if r.NextToken == nil || len(r.XXX_unrecognized) > 0 {
		return false
	}
	for _, rec := range r.Records {
		if rec == nil || rec.ActionType == nil || rec.Record == nil || rec.OriginRecord != nil || len(rec.XXX_unrecognized) > 0 {
			return false
		}
	}
	return true
}

// appendReadRecords encodes r in field-number order, as proto.Marshal does:
// records (1), next_token (2), may_more_record (3).
func appendReadRecords(b []byte, r *protocol.ReadRecordsResponse) []byte {
	size := len(*r.NextToken) + 16
	for _, rec := range r.Records {
		size += len(rec.Record) + 16
	}
	if b == nil {
		b = make([]byte, 0, size)
	}
	for _, rec := range r.Records {
		n := protowire.SizeTag(1) + protowire.SizeVarint(uint64(*rec.ActionType)) +
			protowire.SizeTag(2) + protowire.SizeBytes(len(rec.Record))
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(n))
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(*rec.ActionType))
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendBytes(b, rec.Record)
	}
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendString(b, *r.NextToken)
	if r.MayMoreRecord != nil {
		b = protowire.AppendTag(b, 3, protowire.VarintType)
		b = protowire.AppendVarint(b, protowire.EncodeBool(*r.MayMoreRecord))
	}
	return b
}
