package tablestore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"net/http"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore/otsprotocol"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"

	pb "github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/plainbuffer"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/storage"
)

// Limits of the real service that clients may rely on.
const (
	maxBatchWriteRows = 200
	maxBatchGetRows   = 100
)

func consumed(read, write int32) *otsprotocol.ConsumedCapacity {
	return &otsprotocol.ConsumedCapacity{CapacityUnit: &otsprotocol.CapacityUnit{Read: proto.Int32(read), Write: proto.Int32(write)}}
}

// decodeOneRow decodes a PlainBuffer that must hold exactly one row.
func decodeOneRow(field string, buf []byte) (pb.Row, *Error) {
	row, err := pb.DecodeRow(buf)
	if err != nil {
		if errors.Is(err, pb.ErrChecksum) {
			return row, errParam("Cell data broken, checksum is mismatch in %s: %v.", field, err)
		}
		return row, errParam("Invalid PlainBuffer in %s: %v.", field, err)
	}
	return row, nil
}

// decodeFilter turns the protocol's serialized Filter into a storage filter.
func decodeFilter(b []byte) (*storage.Filter, *Error) {
	var f otsprotocol.Filter
	if err := unmarshal(b, &f); err != nil {
		return nil, errParam("Invalid filter: %v.", err)
	}
	return filterFromProto(&f, 0)
}

func filterFromProto(f *otsprotocol.Filter, depth int) (*storage.Filter, *Error) {
	if depth > 32 {
		return nil, errParam("The filter is nested too deeply.")
	}
	switch f.GetType() {
	case otsprotocol.FilterType_FT_SINGLE_COLUMN_VALUE:
		var sf otsprotocol.SingleColumnValueFilter
		if err := unmarshal(f.GetFilter(), &sf); err != nil {
			return nil, errParam("Invalid single column value filter: %v.", err)
		}
		if sf.ValueTransRule != nil {
			return nil, errParam("Value transfer rules in filters are not supported by the local Tablestore endpoint.")
		}
		v, e := decodeVariant(sf.GetColumnValue())
		if e != nil {
			return nil, e
		}
		cmp := storage.Comparator(sf.GetComparator())
		if cmp < storage.CompareEqual || cmp > storage.CompareLessEqual {
			return nil, errParam("Invalid comparator %d.", cmp)
		}
		return &storage.Filter{
			Column: sf.GetColumnName(), Comparator: cmp, Value: v,
			FilterIfMissing: sf.GetFilterIfMissing(), LatestVersionOnly: sf.GetLatestVersionOnly(),
		}, nil
	case otsprotocol.FilterType_FT_COMPOSITE_COLUMN_VALUE:
		var cf otsprotocol.CompositeColumnValueFilter
		if err := unmarshal(f.GetFilter(), &cf); err != nil {
			return nil, errParam("Invalid composite column value filter: %v.", err)
		}
		out := &storage.Filter{Combinator: storage.Combinator(cf.GetCombinator())}
		if out.Combinator < storage.CombineNot || out.Combinator > storage.CombineOr {
			return nil, errParam("Invalid logical operator %d.", out.Combinator)
		}
		if len(cf.GetSubFilters()) == 0 || (out.Combinator == storage.CombineNot && len(cf.GetSubFilters()) != 1) {
			return nil, errParam("A composite filter with %v needs sub filters (exactly one for NOT).", cf.GetCombinator())
		}
		for _, sub := range cf.GetSubFilters() {
			sf, e := filterFromProto(sub, depth+1)
			if e != nil {
				return nil, e
			}
			out.Sub = append(out.Sub, sf)
		}
		return out, nil
	}
	return nil, errParam("Unsupported filter type %v.", f.GetType())
}

// decodeVariant reads a filter value: a type byte, then the payload (no
// length prefix).
func decodeVariant(b []byte) (*pb.Value, *Error) {
	if len(b) < 1 {
		return nil, errParam("Empty column value in filter.")
	}
	t, p := pb.ValueType(b[0]), b[1:]
	switch t {
	case pb.TypeInteger, pb.TypeDouble:
		if len(p) != 8 {
			return nil, errParam("Invalid %s value in filter.", t)
		}
		u := binary.LittleEndian.Uint64(p)
		if t == pb.TypeInteger {
			return pb.Int(int64(u)), nil
		}
		return pb.Double(math.Float64frombits(u)), nil
	case pb.TypeBoolean:
		if len(p) != 1 {
			return nil, errParam("Invalid BOOLEAN value in filter.")
		}
		return pb.Bool(p[0] != 0), nil
	case pb.TypeString, pb.TypeBlob:
		if len(p) < 4 || uint64(binary.LittleEndian.Uint32(p)) != uint64(len(p)-4) {
			return nil, errParam("Invalid %s value in filter.", t)
		}
		return &pb.Value{Type: t, Bytes: append([]byte{}, p[4:]...)}, nil
	}
	return nil, errParam("Unsupported value type %s in filter.", t)
}

func decodeCondition(c *otsprotocol.Condition) (storage.Condition, *Error) {
	var out storage.Condition
	if c == nil {
		return out, nil
	}
	switch c.GetRowExistence() {
	case otsprotocol.RowExistenceExpectation_IGNORE:
		out.RowExistence = storage.RowIgnore
	case otsprotocol.RowExistenceExpectation_EXPECT_EXIST:
		out.RowExistence = storage.RowExpectExist
	case otsprotocol.RowExistenceExpectation_EXPECT_NOT_EXIST:
		out.RowExistence = storage.RowExpectNotExist
	default:
		return out, errParam("Invalid row existence expectation %d.", c.GetRowExistence())
	}
	if len(c.GetColumnCondition()) > 0 {
		f, e := decodeFilter(c.GetColumnCondition())
		if e != nil {
			return out, e
		}
		out.Column = f
	}
	return out, nil
}

// checkRowKey refuses INF_MIN / INF_MAX in the primary key of one row, as
// the real service does, with OTSParameterInvalid for the whole request, in
// batches too (aliyun-tablestore-java-sdk functiontest/ParameterLegalityTest.java,
// "VT_INF_MIN is an invalid type for the primary key.").
func checkRowKey(pk []pb.Cell) *Error {
	for _, c := range pk {
		if c.Value != nil && (c.Value.Type == pb.TypeInfMin || c.Value.Type == pb.TypeInfMax) {
			return errParam("VT_%s is an invalid type for the primary key.", c.Value.Type)
		}
	}
	return checkKeyLimits(pk)
}

// checkWrittenRow is checkRowKey plus the limits of a written row.
func checkWrittenRow(m *storage.Mutation) *Error {
	if e := checkRowKey(m.PrimaryKey); e != nil {
		return e
	}
	return checkRowLimits(m.PrimaryKey, m.Cells)
}

// noVersionCondition answers a read without max_versions or time_range,
// with the real messages (ParameterLegalityTest.java
// testNotSetVersionOptionsInGetOperations: GetRow and GetRange say the
// first, BatchGetRow the second).
func noVersionCondition(tr *otsprotocol.TimeRange, maxVersions *int32, batch bool) *Error {
	if tr != nil || maxVersions != nil {
		return nil
	}
	if batch {
		return errParam("No version condition is specified while querying row.")
	}
	return errParam("No version condition is specified.")
}

// buildMutation decodes a row change of the given type.
func buildMutation(table string, t storage.ChangeType, rowBuf []byte, cond *otsprotocol.Condition) (storage.Mutation, *Error) {
	m := storage.Mutation{Table: table, Type: t}
	row, e := decodeOneRow("row", rowBuf)
	if e != nil {
		return m, e
	}
	if t == storage.ChangeDelete && len(row.Cells) > 0 {
		return m, errParam("A DeleteRow change must not carry attribute columns.")
	}
	if t != storage.ChangeDelete && row.Deleted {
		return m, errParam("A %s change must not carry a delete marker.", t)
	}
	for _, c := range row.Cells {
		if e := checkColumnName(c.Name); e != nil {
			return m, e
		}
	}
	m.PrimaryKey, m.Cells = row.PrimaryKey, row.Cells
	if m.Condition, e = decodeCondition(cond); e != nil {
		return m, e
	}
	return m, nil
}

// writeOne decodes and applies the one row change of a PutRow, UpdateRow or
// DeleteRow request, mapping its error; it returns the row the request's
// ReturnContent asks for (nil when none).
func (s *Server) writeOne(req *request, table string, t storage.ChangeType, rowBuf []byte, cond *otsprotocol.Condition, rc *otsprotocol.ReturnContent) ([]byte, *Error) {
	m, e := buildMutation(table, t, rowBuf, cond)
	if e != nil {
		return nil, e
	}
	if e := checkWrittenRow(&m); e != nil {
		return nil, e
	}
	res, err := s.store.Write(req.instance, []storage.Mutation{m})
	if err != nil {
		return nil, storageError(err)
	}
	if res[0].Err != nil {
		return nil, storageError(res[0].Err)
	}
	return returnRow(rc, &res[0]), nil
}

// returnRow builds the row returned for a ReturnContent request, nil when
// nothing was asked.
func returnRow(rc *otsprotocol.ReturnContent, res *storage.MutationResult) []byte {
	switch rc.GetReturnType() {
	case otsprotocol.ReturnType_RT_PK:
		return pb.EncodeRow(&pb.Row{PrimaryKey: res.PrimaryKey})
	case otsprotocol.ReturnType_RT_AFTER_MODIFY:
		out := pb.Row{PrimaryKey: res.PrimaryKey}
		if res.Row != nil {
			want := map[string]bool{}
			for _, n := range rc.GetReturnColumnNames() {
				want[n] = true
			}
			last := ""
			for _, c := range res.Row.Cells {
				// Latest version of each requested column.
				if want[c.Name] && c.Name != last {
					out.Cells = append(out.Cells, c)
					last = c.Name
				}
			}
		}
		return pb.EncodeRow(&out)
	}
	return nil
}

func (s *Server) putRow(req *request) (protoadapt.MessageV1, *Error) {
	var in otsprotocol.PutRowRequest
	if e := decode(req, &in); e != nil {
		return nil, e
	}
	row, e := s.writeOne(req, in.GetTableName(), storage.ChangePut, in.GetRow(), in.GetCondition(), in.GetReturnContent())
	if e != nil {
		return nil, e
	}
	return &otsprotocol.PutRowResponse{Consumed: consumed(0, 1), Row: row}, nil
}

func (s *Server) updateRow(req *request) (protoadapt.MessageV1, *Error) {
	var in otsprotocol.UpdateRowRequest
	if e := decode(req, &in); e != nil {
		return nil, e
	}
	row, e := s.writeOne(req, in.GetTableName(), storage.ChangeUpdate, in.GetRowChange(), in.GetCondition(), in.GetReturnContent())
	if e != nil {
		return nil, e
	}
	return &otsprotocol.UpdateRowResponse{Consumed: consumed(0, 1), Row: row}, nil
}

func (s *Server) deleteRow(req *request) (protoadapt.MessageV1, *Error) {
	var in otsprotocol.DeleteRowRequest
	if e := decode(req, &in); e != nil {
		return nil, e
	}
	row, e := s.writeOne(req, in.GetTableName(), storage.ChangeDelete, in.GetPrimaryKey(), in.GetCondition(), in.GetReturnContent())
	if e != nil {
		return nil, e
	}
	return &otsprotocol.DeleteRowResponse{Consumed: consumed(0, 1), Row: row}, nil
}

// readOptions decodes the read parameters shared by GetRow, BatchGetRow and GetRange.
func readOptions(columns []string, tr *otsprotocol.TimeRange, maxVersions *int32, filter []byte, startCol, endCol *string) (storage.ReadOptions, *Error) {
	opts := storage.ReadOptions{Columns: columns, StartColumn: stringOrEmpty(startCol), EndColumn: stringOrEmpty(endCol)}
	if e := noVersionCondition(tr, maxVersions, true); e != nil {
		return opts, e
	}
	if e := checkColumnsToGet(columns); e != nil {
		return opts, e
	}
	if maxVersions != nil && tr != nil && tr.SpecificTime != nil {
		// The SDK's TestGetRange (api_test.go:1619-1629) expects the real
		// service to refuse max_versions together with a specific time,
		// while max_versions with a start/end range is accepted.
		return opts, errParam("max_versions and time_range.specific_time cannot be set together.")
	}
	if maxVersions != nil {
		if *maxVersions <= 0 {
			return opts, errParam("The max versions must be greater than 0, got %d.", *maxVersions)
		}
		opts.MaxVersions = *maxVersions
	}
	if tr != nil {
		switch {
		case tr.SpecificTime != nil:
			opts.TimeRange = &storage.TimeRange{Start: tr.GetSpecificTime(), End: tr.GetSpecificTime() + 1}
		case tr.StartTime != nil && tr.EndTime != nil:
			if tr.GetStartTime() >= tr.GetEndTime() {
				return opts, errParam("The start time must be less than the end time in the time range.")
			}
			opts.TimeRange = &storage.TimeRange{Start: tr.GetStartTime(), End: tr.GetEndTime()}
		default:
			return opts, errParam("A time range needs a specific time or both start and end times.")
		}
	}
	if len(filter) > 0 {
		// A column pagination filter is a read option of its own (it
		// selects columns, it does not test rows).
		var top otsprotocol.Filter
		if err := unmarshal(filter, &top); err != nil {
			return opts, errParam("Invalid filter: %v.", err)
		}
		if top.GetType() == otsprotocol.FilterType_FT_COLUMN_PAGINATION {
			var pf otsprotocol.ColumnPaginationFilter
			if err := unmarshal(top.GetFilter(), &pf); err != nil {
				return opts, errParam("Invalid column pagination filter: %v.", err)
			}
			if pf.GetOffset() < 0 || pf.GetLimit() <= 0 {
				return opts, errParam("The column pagination filter needs offset >= 0 and limit > 0.")
			}
			opts.ColumnOffset, opts.ColumnLimit = int(pf.GetOffset()), int(pf.GetLimit())
			return opts, nil
		}
		f, e := filterFromProto(&top, 0)
		if e != nil {
			return opts, e
		}
		opts.Filter = f
	}
	return opts, nil
}

func stringOrEmpty(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func (s *Server) getRow(req *request) (protoadapt.MessageV1, *Error) {
	var in otsprotocol.GetRowRequest
	if e := decode(req, &in); e != nil {
		return nil, e
	}
	if e := noVersionCondition(in.GetTimeRange(), in.MaxVersions, false); e != nil {
		return nil, e
	}
	opts, e := readOptions(in.GetColumnsToGet(), in.GetTimeRange(), in.MaxVersions, in.GetFilter(), in.StartColumn, in.EndColumn)
	if e != nil {
		return nil, e
	}
	key, e := decodeOneRow("primary_key", in.GetPrimaryKey())
	if e != nil {
		return nil, e
	}
	if e := checkRowKey(key.PrimaryKey); e != nil {
		return nil, e
	}
	row, err := s.store.GetRow(req.instance, in.GetTableName(), key.PrimaryKey, opts)
	if err != nil {
		return nil, storageError(err)
	}
	out := &otsprotocol.GetRowResponse{Consumed: consumed(1, 0), Row: []byte{}}
	if row != nil {
		out.Row = pb.EncodeRow(row)
	}
	return out, nil
}

func rowError(e *Error) *otsprotocol.Error {
	return &otsprotocol.Error{Code: proto.String(e.Code), Message: proto.String(e.Message)}
}

func (s *Server) batchGetRow(req *request) (protoadapt.MessageV1, *Error) {
	var in otsprotocol.BatchGetRowRequest
	if e := decode(req, &in); e != nil {
		return nil, e
	}
	seen := map[string]bool{}
	total := 0
	for _, t := range in.GetTables() {
		if seen[t.GetTableName()] {
			return nil, errParam("Duplicated table name: %s.", t.GetTableName())
		}
		seen[t.GetTableName()] = true
		total += len(t.GetPrimaryKey())
	}
	if len(in.GetTables()) == 0 {
		// A table with no rows is fine (tests/row_op_test.py:893-898 of
		// aliyun-tablestore-python-sdk); no table at all is not (:915-922).
		return nil, errParam("No row specified in the request of BatchGetRow.")
	}
	if total > maxBatchGetRows {
		return nil, errParam("Rows count exceeds the upper limit: %d.", maxBatchGetRows)
	}
	out := &otsprotocol.BatchGetRowResponse{}
	for _, t := range in.GetTables() {
		opts, e := readOptions(t.GetColumnsToGet(), t.GetTimeRange(), t.MaxVersions, t.GetFilter(), t.StartColumn, t.EndColumn)
		if e != nil {
			return nil, e
		}
		tr := &otsprotocol.TableInBatchGetRowResponse{TableName: proto.String(t.GetTableName())}
		for _, pkBuf := range t.GetPrimaryKey() {
			rr := &otsprotocol.RowInBatchGetRowResponse{}
			key, e := decodeOneRow("primary_key", pkBuf)
			if e == nil {
				if fatal := checkRowKey(key.PrimaryKey); fatal != nil {
					return nil, fatal
				}
			}
			var row *pb.Row
			if e == nil {
				var err error
				if row, err = s.store.GetRow(req.instance, t.GetTableName(), key.PrimaryKey, opts); err != nil {
					e = storageError(err)
					if e.Status >= http.StatusInternalServerError {
						return nil, e
					}
				}
			}
			if e != nil {
				rr.IsOk, rr.Error = proto.Bool(false), rowError(e)
			} else {
				rr.IsOk, rr.Consumed, rr.Row = proto.Bool(true), consumed(1, 0), []byte{}
				if row != nil {
					rr.Row = pb.EncodeRow(row)
				}
			}
			tr.Rows = append(tr.Rows, rr)
		}
		out.Tables = append(out.Tables, tr)
	}
	return out, nil
}

func (s *Server) getRange(req *request) (protoadapt.MessageV1, *Error) {
	var in otsprotocol.GetRangeRequest
	if e := decode(req, &in); e != nil {
		return nil, e
	}
	if e := noVersionCondition(in.GetTimeRange(), in.MaxVersions, false); e != nil {
		return nil, e
	}
	opts, e := readOptions(in.GetColumnsToGet(), in.GetTimeRange(), in.MaxVersions, in.GetFilter(), in.StartColumn, in.EndColumn)
	if e != nil {
		return nil, e
	}
	if in.Limit != nil && in.GetLimit() <= 0 {
		return nil, errParam("The limit must be greater than 0.")
	}
	start, e := decodeOneRow("inclusive_start_primary_key", in.GetInclusiveStartPrimaryKey())
	if e != nil {
		return nil, e
	}
	end, e := decodeOneRow("exclusive_end_primary_key", in.GetExclusiveEndPrimaryKey())
	if e != nil {
		return nil, e
	}
	if e := checkKeyLimits(start.PrimaryKey); e != nil {
		return nil, e
	}
	if e := checkKeyLimits(end.PrimaryKey); e != nil {
		return nil, e
	}
	if e := checkRangeOrder(start.PrimaryKey, end.PrimaryKey, in.GetDirection() == otsprotocol.Direction_BACKWARD); e != nil {
		return nil, e
	}
	rr, err := s.store.GetRange(req.instance, storage.RangeRequest{
		Table: in.GetTableName(), Start: start.PrimaryKey, End: end.PrimaryKey,
		Backward: in.GetDirection() == otsprotocol.Direction_BACKWARD, Limit: int(in.GetLimit()), ReadOptions: opts,
	})
	if err != nil {
		return nil, storageError(err)
	}
	out := &otsprotocol.GetRangeResponse{
		Consumed:      consumed(int32(max(1, len(rr.Rows))), 0),
		Rows:          []byte{},
		DataBlockType: otsprotocol.DataBlockType_DBT_PLAIN_BUFFER.Enum(),
		CompressType:  otsprotocol.CompressType_CPT_NONE.Enum(),
	}
	switch {
	case in.GetDataBlockTypeHint() == otsprotocol.DataBlockType_DBT_SIMPLE_ROW_MATRIX:
		out.DataBlockType = otsprotocol.DataBlockType_DBT_SIMPLE_ROW_MATRIX.Enum()
		out.Rows = encodeMatrix(rr.Rows, in.GetColumnsToGet())
	case len(rr.Rows) > 0:
		out.Rows = pb.EncodeRows(rr.Rows)
	}
	if rr.NextStart != nil {
		out.NextStartPrimaryKey = pb.EncodeRow(&pb.Row{PrimaryKey: rr.NextStart})
	}
	return out, nil
}

// checkRangeOrder refuses a GetRange whose start does not come before its end
// in the direction of reading (an empty range included), with the real
// service's messages (aliyun-tablestore-python-sdk tests/row_op_test.py:
// test_get_range_when_direction_is_wrong_for_1_PK, test_all_the_ranges_for_2_PK).
// Keys that differ in shape are left to the storage's schema check.
func checkRangeOrder(start, end []pb.Cell, backward bool) *Error {
	if len(start) != len(end) {
		return nil
	}
	for i := range start {
		if start[i].Name != end[i].Name || start[i].Value == nil || end[i].Value == nil {
			return nil
		}
	}
	c := bytes.Compare(storage.EncodeKey(start), storage.EncodeKey(end))
	switch {
	case !backward && c >= 0:
		return errParam("Begin key must less than end key in FORWARD")
	case backward && c <= 0:
		return errParam("Begin key must more than end key in BACKWARD")
	}
	return nil
}
