package tablestore

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore/otsprotocol"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"

	pb "github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/plainbuffer"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/storage"
)

// The Stream API (ListStream, DescribeStream, GetShardIterator,
// GetStreamRecord) over the change log the Tunnel service reads. A table's
// stream exists while its stream is enabled; it has one shard per storage
// partition, and a record for every row change committed since the stream
// was enabled and within its expiration time.

const (
	defaultStreamRecordLimit = 100
	maxStreamRecordLimit     = 1000
	// maxStreamTableName is the longest table name whose stream records the
	// real service returns: longer ones fail GetStreamRecord with
	// OTSParameterInvalid "Invalid stream id..." (aliyun-tablestore-java-sdk
	// functiontest/APITest.java testStreamWithLongTableName).
	maxStreamTableName = 238
)

func errTrimmed() *Error {
	// Code, message and status as Alibaba's DataX otsstreamreader MockOTS
	// answers (reader/otsstreamreader/.../internal/common/MockOTS.java).
	return &Error{Status: http.StatusNotFound, Code: "OTSTrimmedDataAccess", Message: "Requested stream data is already trimmed or does not exist."}
}

func errStreamNotExist() *Error {
	return &Error{Status: http.StatusNotFound, Code: "OTSObjectNotExist", Message: "Requested stream does not exist."}
}

// streamShard is a shard of a stream: one per storage partition. A
// partition produced by a split names its parent, which must be read to its
// end first (DescribeStream.md: "Data reading for the parent shard must be
// completed before data of the current shard is read"). Splits have one
// parent; parent_sibling_id (a merge's second parent) is never set, as this
// endpoint never merges partitions.
type streamShard struct {
	ID              string
	ParentID        string
	ParentSiblingID string
	closed          bool // split: its log takes no more changes
}

// streamShards lists the stream shards of a table, ordered by id. It is the
// one place that maps storage partitions to stream shards.
func streamShards(meta *storage.TableMeta) []streamShard {
	out := make([]streamShard, 0, len(meta.Partitions))
	for _, p := range meta.Partitions {
		out = append(out, streamShard{ID: p.ID, ParentID: p.Parent, closed: !p.Open()})
	}
	slices.SortFunc(out, func(a, b streamShard) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func streamProtoShard(sh streamShard) *otsprotocol.StreamShard {
	out := &otsprotocol.StreamShard{ShardId: proto.String(sh.ID)}
	if sh.ParentID != "" {
		out.ParentId = proto.String(sh.ParentID)
	}
	if sh.ParentSiblingID != "" {
		out.ParentSiblingId = proto.String(sh.ParentSiblingID)
	}
	return out
}

// streamTable finds the table whose enabled stream has the given id.
func (s *Server) streamTable(instance, streamID string) (*storage.TableMeta, *Error) {
	names, err := s.store.ListTables(instance)
	if err != nil {
		return nil, storageError(err)
	}
	for _, n := range names {
		m, err := s.store.DescribeTable(instance, n)
		if errors.Is(err, storage.ErrTableNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, storageError(err)
		}
		if m.Stream.Enabled && m.Stream.StreamID == streamID {
			return m, nil
		}
	}
	return nil, errStreamNotExist()
}

func streamCreationTime(m *storage.TableMeta) int64 { return m.Stream.LastEnableTimeUs }

func (s *Server) listStream(req *request) (protoadapt.MessageV1, *Error) {
	var in otsprotocol.ListStreamRequest
	if e := decode(req, &in); e != nil {
		return nil, e
	}
	names := []string{in.GetTableName()}
	if in.TableName == nil {
		var err error
		if names, err = s.store.ListTables(req.instance); err != nil {
			return nil, storageError(err)
		}
	}
	out := &otsprotocol.ListStreamResponse{}
	for _, n := range names {
		m, err := s.store.DescribeTable(req.instance, n)
		if err != nil {
			if in.TableName == nil && errors.Is(err, storage.ErrTableNotFound) {
				continue
			}
			return nil, storageError(err)
		}
		if !m.Stream.Enabled {
			continue
		}
		out.Streams = append(out.Streams, &otsprotocol.Stream{
			StreamId: proto.String(m.Stream.StreamID), TableName: proto.String(m.Name), CreationTime: proto.Int64(streamCreationTime(m)),
		})
	}
	return out, nil
}

func (s *Server) describeStream(req *request) (protoadapt.MessageV1, *Error) {
	var in otsprotocol.DescribeStreamRequest
	if e := decode(req, &in); e != nil {
		return nil, e
	}
	if in.ShardLimit != nil && in.GetShardLimit() <= 0 {
		return nil, errParam("shard_limit must be greater than 0, got %d.", in.GetShardLimit())
	}
	m, e := s.streamTable(req.instance, in.GetStreamId())
	if e != nil {
		return nil, e
	}
	out := &otsprotocol.DescribeStreamResponse{
		StreamId:       proto.String(m.Stream.StreamID),
		ExpirationTime: proto.Int32(m.Stream.ExpirationHours),
		TableName:      proto.String(m.Name),
		CreationTime:   proto.Int64(streamCreationTime(m)),
		StreamStatus:   otsprotocol.StreamStatus_STREAM_ACTIVE.Enum(),
	}
	for _, sh := range streamShards(m) {
		if in.InclusiveStartShardId != nil && sh.ID < in.GetInclusiveStartShardId() {
			continue
		}
		if in.ShardLimit != nil && len(out.Shards) == int(in.GetShardLimit()) {
			out.NextShardId = proto.String(sh.ID)
			break
		}
		out.Shards = append(out.Shards, streamProtoShard(sh))
	}
	return out, nil
}

// shardIterator is the decoded form of a shard iterator: the position after
// which to read and the oldest commit time to return. It holds no clock, so a
// read that finds nothing new hands back the same iterator, which is how the
// SDKs detect the end of what is there (api_test.go exhaustStreamRecords).
type shardIterator struct {
	Stream    string `json:"s"`
	Shard     string `json:"h"`
	AfterSeq  uint64 `json:"a"`
	MinMicros int64  `json:"m"`
}

func (it shardIterator) encode() string {
	b, _ := json.Marshal(it)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeShardIterator(s string) (shardIterator, bool) {
	var it shardIterator
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &it) != nil || it.Stream == "" {
		return it, false
	}
	return it, true
}

func findStreamShard(m *storage.TableMeta, id string) (streamShard, bool) {
	for _, sh := range streamShards(m) {
		if sh.ID == id {
			return sh, true
		}
	}
	return streamShard{}, false
}

// retentionStart is the oldest commit time a stream still returns: the later
// of its enabling and its expiration time ago.
func (s *Server) retentionStart(m *storage.TableMeta) int64 {
	expired := s.cfg.Now().Add(-time.Duration(m.Stream.ExpirationHours) * time.Hour).UnixMicro()
	return max(m.Stream.LastEnableTimeUs, expired)
}

func (s *Server) getShardIterator(req *request) (protoadapt.MessageV1, *Error) {
	var in otsprotocol.GetShardIteratorRequest
	if e := decode(req, &in); e != nil {
		return nil, e
	}
	if in.Token != nil {
		return nil, errParam("The token of GetShardIterator is not supported by the local Tablestore endpoint.")
	}
	m, e := s.streamTable(req.instance, in.GetStreamId())
	if e != nil {
		return nil, e
	}
	sh, ok := findStreamShard(m, in.GetShardId())
	if !ok {
		return nil, &Error{Status: http.StatusNotFound, Code: "OTSObjectNotExist", Message: "Requested shard does not exist: " + in.GetShardId() + "."}
	}
	infos, err := s.store.Partitions(req.instance, m.Name)
	if err != nil {
		return nil, storageError(err)
	}
	it := shardIterator{Stream: m.Stream.StreamID, Shard: sh.ID, MinMicros: s.retentionStart(m)}
	for _, info := range infos {
		if info.ID == sh.ID {
			it.AfterSeq = info.FirstSeq - 1 // the oldest retained change (trim horizon)
		}
	}
	if in.Timestamp != nil {
		// Milliseconds, as every other Tablestore timestamp (not confirmed
		// by an SDK test).
		it.MinMicros = max(it.MinMicros, in.GetTimestamp()*1000)
	}
	return &otsprotocol.GetShardIteratorResponse{ShardIterator: proto.String(it.encode())}, nil
}

func (s *Server) getStreamRecord(req *request) (protoadapt.MessageV1, *Error) {
	var in otsprotocol.GetStreamRecordRequest
	if e := decode(req, &in); e != nil {
		return nil, e
	}
	limit := defaultStreamRecordLimit
	if in.Limit != nil {
		if in.GetLimit() <= 0 || in.GetLimit() > maxStreamRecordLimit {
			return nil, errParam("limit must be in [1, %d], got %d.", maxStreamRecordLimit, in.GetLimit())
		}
		limit = int(in.GetLimit())
	}
	it, ok := decodeShardIterator(in.GetShardIterator())
	if !ok {
		return nil, errParam("Invalid shard iterator.")
	}
	m, e := s.streamTable(req.instance, it.Stream)
	if e != nil {
		return nil, errTrimmed() // the stream was disabled or its table deleted
	}
	if len(m.Name) > maxStreamTableName {
		return nil, errParam("Invalid stream id: %s, the table name is longer than %d characters.", it.Stream, maxStreamTableName)
	}
	sh, ok := findStreamShard(m, it.Shard)
	if !ok {
		return nil, errTrimmed()
	}
	changes, more, err := s.store.ReadChanges(req.instance, m.Name, sh.ID, it.AfterSeq, limit)
	if errors.Is(err, storage.ErrChangesExpired) {
		return nil, errTrimmed()
	}
	if err != nil {
		return nil, storageError(err)
	}
	oldest := s.retentionStart(m)
	// A full page says "may be more" without looking ahead, as the real
	// service does (APITest.java testStreamWithMayMoreRecord: ten reads of
	// one record each all say true, the eleventh, empty, says false).
	out := &otsprotocol.GetStreamRecordResponse{Consumed: consumed(1, 0), MayMoreRecord: proto.Bool(more || len(changes) >= limit)}
	for i := range changes {
		c := &changes[i]
		if c.TimeMicros < it.MinMicros {
			continue
		}
		if c.TimeMicros < oldest {
			return nil, errTrimmed() // past the stream's expiration time
		}
		out.StreamRecords = append(out.StreamRecords, streamRecord(c))
	}
	if len(changes) > 0 {
		it.AfterSeq = changes[len(changes)-1].Seq
	}
	if sh.closed && !more && len(changes) < limit {
		// A split parent read to its end: no next iterator means the shard
		// is finished ("Stream API__SDK.md"), and its children come next.
		out.MayMoreRecord = proto.Bool(false)
		return out, nil
	}
	out.NextShardIterator = proto.String(it.encode())
	return out, nil
}

// streamRecord renders a change as a stream record: a one-row PlainBuffer
// with the sequence-info extension the SDKs require (api.go GetStreamRecord:
// "extension in a stream record is required").
func streamRecord(c *storage.Change) *otsprotocol.GetStreamRecordResponse_StreamRecord {
	row := pb.Row{
		PrimaryKey: c.PrimaryKey,
		Extension:  &pb.SequenceInfo{Timestamp: c.TimeMicros, RowIndex: int32(c.Seq & math.MaxInt32)},
	}
	action := otsprotocol.ActionType_PUT_ROW
	switch c.Type {
	case storage.ChangeDelete:
		action = otsprotocol.ActionType_DELETE_ROW
	case storage.ChangeUpdate:
		action = otsprotocol.ActionType_UPDATE_ROW
		row.Cells = streamCells(c.Cells)
	default:
		row.Cells = streamCells(c.Cells)
	}
	return &otsprotocol.GetStreamRecordResponse_StreamRecord{ActionType: action.Enum(), Record: pb.EncodeRow(&row)}
}

// streamCells returns the cells as stream records carry them: puts with value
// and timestamp, delete-one-version with its timestamp, delete-all-versions
// bare (api_test.go TestStream).
func streamCells(cells []pb.Cell) []pb.Cell {
	out := make([]pb.Cell, len(cells))
	copy(out, cells)
	for i := range out {
		switch c := &out[i]; c.Op {
		case pb.OpIncrement:
			c.Op = pb.OpPut // the storage logs the resulting value
		case pb.OpDeleteAllVersions:
			c.HasTimestamp, c.Timestamp, c.Value = false, 0, nil
		}
	}
	return out
}
