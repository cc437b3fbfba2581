package tunnel

import (
	"bytes"
	"testing"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel/protocol"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/plainbuffer"
)

// The hand-written ReadRecords encoding must give exactly proto.Marshal's
// bytes, and what it does not cover must still go through proto.Marshal
// (with its errors for missing required fields).
func TestMarshalAnswerMatchesProtoMarshal(t *testing.T) {
	action := func(a protocol.ActionType) *protocol.ActionType { return &a }
	big := plainbuffer.EncodeRow(&plainbuffer.Row{PrimaryKey: []plainbuffer.Cell{{Name: "id", Value: plainbuffer.String(string(bytes.Repeat([]byte("k"), 300)))}}})
	small := plainbuffer.EncodeRow(&plainbuffer.Row{PrimaryKey: []plainbuffer.Cell{{Name: "id", Value: plainbuffer.Int(-1)}}})
	records := []*protocol.Record{
		{ActionType: action(protocol.ActionType_PUT_ROW), Record: small},
		{ActionType: action(protocol.ActionType_UPDATE_ROW), Record: big},
		{ActionType: action(protocol.ActionType_DELETE_ROW), Record: []byte{}},
	}
	for name, resp := range map[string]*protocol.ReadRecordsResponse{
		"finished, no records":   {NextToken: proto.String(FinishedToken), MayMoreRecord: proto.Bool(false)},
		"records, more":          {Records: records, NextToken: proto.String("token"), MayMoreRecord: proto.Bool(true)},
		"records, no more flag":  {Records: records, NextToken: proto.String("")},
		"one large record":       {Records: records[1:2], NextToken: proto.String(string(bytes.Repeat([]byte("t"), 200)))},
		"origin record":          {Records: []*protocol.Record{{ActionType: action(protocol.ActionType_PUT_ROW), Record: small, OriginRecord: big}}, NextToken: proto.String("t")},
		"action type missing":    {Records: []*protocol.Record{{Record: small}}, NextToken: proto.String("t")},
		"next token missing":     {Records: records},
		"record bytes missing":   {Records: []*protocol.Record{{ActionType: action(protocol.ActionType_PUT_ROW)}}, NextToken: proto.String("t")},
		"many records, no flags": {Records: append(append(append([]*protocol.Record{}, records...), records...), records...), NextToken: proto.String("x")},
	} {
		t.Run(name, func(t *testing.T) {
			want, wantErr := proto.Marshal(protoadapt.MessageV2Of(resp))
			got, err := marshalAnswer(resp)
			if (err != nil) != (wantErr != nil) {
				t.Fatalf("error %v, proto.Marshal's %v", err, wantErr)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("bytes differ from proto.Marshal's\n got % x\nwant % x", got, want)
			}
			if err != nil {
				return
			}
			var back protocol.ReadRecordsResponse
			if err := proto.Unmarshal(got, protoadapt.MessageV2Of(&back)); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(protoadapt.MessageV2Of(&back), protoadapt.MessageV2Of(resp)) {
				t.Fatalf("round trip: %v, want %v", &back, resp)
			}
		})
	}
	// Other answers go through proto.Marshal.
	other := &protocol.CreateTunnelResponse{TunnelId: proto.String("t1")}
	want, _ := proto.Marshal(protoadapt.MessageV2Of(other))
	if got, err := marshalAnswer(other); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("CreateTunnel answer: % x %v, want % x", got, err, want)
	}
}
