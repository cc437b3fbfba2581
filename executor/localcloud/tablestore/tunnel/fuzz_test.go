package tunnel

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel/protocol"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/kv"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/plainbuffer"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/storage"
)

var fuzzOps = []string{"create", "delete", "list", "describe", "connect", "heartbeat", "shutdown",
	"getcheckpoint", "checkpoint", "readrecords", "schedule", "getrpo", "getrpobyoffset", "switch", "nope"}

func marshal(m protoadapt.MessageV1) []byte {
	b, err := proto.Marshal(protoadapt.MessageV2Of(m))
	if err != nil {
		panic(err)
	}
	return b
}

// FuzzServeHTTP sends arbitrary bodies to every operation of a service that
// has a table with data, tunnels of every type and a connected client: the
// service must answer (200 or a protocol error), never panic.
func FuzzServeHTTP(f *testing.F) {
	store, err := kv.Open(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = store.Close() })
	st, err := storage.Open(store, storage.Config{Shards: 2})
	if err != nil {
		f.Fatal(err)
	}
	if _, err := st.CreateTable(testInstance, storage.TableMeta{Name: "t", PrimaryKey: []storage.PKColumn{{Name: "id", Type: storage.PKInteger}}}); err != nil {
		f.Fatal(err)
	}
	for i := range 20 {
		if _, err := st.Write(testInstance, []storage.Mutation{{Table: "t", Type: storage.ChangePut,
			PrimaryKey: []plainbuffer.Cell{{Name: "id", Value: plainbuffer.Int(int64(i))}},
			Cells:      []plainbuffer.Cell{{Name: "v", Value: plainbuffer.String("x")}}}}); err != nil {
			f.Fatal(err)
		}
	}
	svc, err := New(Config{Source: NewStorageSource(st), Store: store, Instance: testInstance})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = svc.Close() })
	call := func(op string, body []byte) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		svc.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/tunnel/"+op, bytes.NewReader(body)))
		return w
	}
	var tunnelID, clientID string
	for i, typ := range []protocol.TunnelType{protocol.TunnelType_BaseAndStream, protocol.TunnelType_BaseData, protocol.TunnelType_Stream} {
		w := call("create", marshal(&protocol.CreateTunnelRequest{Tunnel: &protocol.Tunnel{
			TableName: proto.String("t"), TunnelName: proto.String(string(rune('a' + i))), TunnelType: typ.Enum()}}))
		var resp protocol.CreateTunnelResponse
		if w.Code != http.StatusOK || proto.Unmarshal(w.Body.Bytes(), protoadapt.MessageV2Of(&resp)) != nil {
			f.Fatalf("create: %d %q", w.Code, w.Body.String())
		}
		if tunnelID == "" {
			tunnelID = resp.GetTunnelId()
		}
	}
	w := call("connect", marshal(&protocol.ConnectRequest{TunnelId: proto.String(tunnelID)}))
	var conn protocol.ConnectResponse
	if w.Code != http.StatusOK || proto.Unmarshal(w.Body.Bytes(), protoadapt.MessageV2Of(&conn)) != nil {
		f.Fatalf("connect: %d", w.Code)
	}
	clientID = conn.GetClientId()
	call("heartbeat", marshal(&protocol.HeartbeatRequest{TunnelId: proto.String(tunnelID), ClientId: proto.String(clientID)}))
	channel := svc.tunnels[tunnelID].Channels[0].ID // a base channel
	tok, _ := baseToken{}.encode()

	f.Add(byte(9), marshal(&protocol.ReadRecordsRequest{TunnelId: proto.String(tunnelID), ClientId: proto.String(clientID), ChannelId: proto.String(channel), Token: proto.String(tok)}))
	f.Add(byte(8), marshal(&protocol.CheckpointRequest{TunnelId: proto.String(tunnelID), ClientId: proto.String(clientID), ChannelId: proto.String(channel), Checkpoint: proto.String(tok), SequenceNumber: proto.Int64(1)}))
	f.Add(byte(5), marshal(&protocol.HeartbeatRequest{TunnelId: proto.String(tunnelID), ClientId: proto.String(clientID), Channels: []*protocol.Channel{{ChannelId: proto.String(channel), Version: proto.Int64(9), Status: protocol.ChannelStatus_TERMINATED.Enum()}}}))
	f.Add(byte(10), marshal(&protocol.ScheduleRequest{TunnelId: proto.String(tunnelID), Channels: []*protocol.Channel{{ChannelId: proto.String(channel), Version: proto.Int64(0), Status: protocol.ChannelStatus_CLOSING.Enum()}}}))
	f.Add(byte(3), marshal(&protocol.DescribeTunnelRequest{TableName: proto.String("t"), TunnelName: proto.String("a")}))
	f.Add(byte(0), []byte{0x0a, 0x02, 0x0a})
	f.Fuzz(func(t *testing.T, op byte, body []byte) {
		w := call(fuzzOps[int(op)%len(fuzzOps)], body)
		if w.Code == http.StatusOK {
			return
		}
		var pe protocol.Error
		if err := proto.Unmarshal(w.Body.Bytes(), protoadapt.MessageV2Of(&pe)); err != nil || pe.GetCode() == "" {
			t.Fatalf("status %d without a protocol error body: %v", w.Code, err)
		}
	})
}
