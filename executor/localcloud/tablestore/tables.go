package tablestore

import (
	"fmt"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore/otsprotocol"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/storage"
)

// validName reports whether name is a valid table or column name: a letter or
// underscore, then letters, digits or underscores, 255 bytes at most
// (^[A-Za-z_][A-Za-z0-9_]{0,254}$). Every column of every written row is
// checked, so it is a loop rather than a regular expression.
func validName(name string) bool {
	if len(name) == 0 || len(name) > 255 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '_', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

func checkTableName(name string) *Error {
	if !validName(name) {
		return errParam("Invalid table name: '%s'.", name)
	}
	return nil
}

func checkColumnName(name string) *Error {
	if !validName(name) {
		return errParam("Invalid column name: '%s'.", name)
	}
	return nil
}

var pkTypes = map[otsprotocol.PrimaryKeyType]storage.PKType{
	otsprotocol.PrimaryKeyType_INTEGER: storage.PKInteger,
	otsprotocol.PrimaryKeyType_STRING:  storage.PKString,
	otsprotocol.PrimaryKeyType_BINARY:  storage.PKBinary,
}

var definedTypes = map[otsprotocol.DefinedColumnType]string{
	otsprotocol.DefinedColumnType_DCT_INTEGER: "INTEGER",
	otsprotocol.DefinedColumnType_DCT_DOUBLE:  "DOUBLE",
	otsprotocol.DefinedColumnType_DCT_BOOLEAN: "BOOLEAN",
	otsprotocol.DefinedColumnType_DCT_STRING:  "STRING",
	otsprotocol.DefinedColumnType_DCT_BLOB:    "BINARY",
}

func definedColumns(in []*otsprotocol.DefinedColumnSchema) ([]storage.DefinedColumn, *Error) {
	var out []storage.DefinedColumn
	for _, c := range in {
		if e := checkColumnName(c.GetName()); e != nil {
			return nil, e
		}
		t, ok := definedTypes[c.GetType()]
		if !ok {
			return nil, errParam("Invalid type of defined column '%s': %v.", c.GetName(), c.GetType())
		}
		out = append(out, storage.DefinedColumn{Name: c.GetName(), Type: t})
	}
	return out, nil
}

func (s *Server) createTable(req *request) (protoadapt.MessageV1, *Error) {
	var in otsprotocol.CreateTableRequest
	if e := decode(req, &in); e != nil {
		return nil, e
	}
	tm := in.GetTableMeta()
	if e := checkTableName(tm.GetTableName()); e != nil {
		return nil, e
	}
	meta := storage.TableMeta{Name: tm.GetTableName(), MaxVersions: 1, TimeToLive: -1, DeviationSec: 86400}
	if n := len(tm.GetPrimaryKey()); n < 1 || n > 4 {
		// The real message (RestrictedItemTest.java:1911-1987).
		return nil, errParam("The number of primary key columns must be in range: [1, 4].")
	}
	seen := map[string]bool{}
	for i, pk := range tm.GetPrimaryKey() {
		if e := checkColumnName(pk.GetName()); e != nil {
			return nil, e
		}
		if seen[pk.GetName()] {
			// The real message (aliyun-tablestore-python-sdk
			// tests/table_operation_test.py:59-69).
			return nil, errParam("Duplicated primary key name: '%s'.", pk.GetName())
		}
		seen[pk.GetName()] = true
		t, ok := pkTypes[pk.GetType()]
		if !ok {
			return nil, errParam("Invalid type of primary key column '%s': %v.", pk.GetName(), pk.GetType())
		}
		auto := pk.Option != nil && pk.GetOption() == otsprotocol.PrimaryKeyOption_AUTO_INCREMENT
		if auto && (i == 0 || t != storage.PKInteger) {
			return nil, errParam("The auto-increment primary key column '%s' must be an INTEGER and not the first primary key column.", pk.GetName())
		}
		meta.PrimaryKey = append(meta.PrimaryKey, storage.PKColumn{Name: pk.GetName(), Type: t, AutoIncrement: auto})
	}
	var e *Error
	if meta.DefinedColumns, e = definedColumns(tm.GetDefinedColumn()); e != nil {
		return nil, e
	}
	if len(tm.GetIndexMeta()) > 0 || len(in.GetIndexMetas()) > 0 {
		return nil, errParam("Secondary indexes are not supported by the local Tablestore endpoint.")
	}
	if in.GetSseSpec().GetEnable() {
		return nil, errParam("Server-side encryption is not supported by the local Tablestore endpoint.")
	}
	if opts := in.GetTableOptions(); opts != nil {
		if e := applyTableOptions(&meta, opts); e != nil {
			return nil, e
		}
	}
	if rt := in.GetReservedThroughput().GetCapacityUnit(); rt != nil {
		meta.ReservedRead, meta.ReservedWrite = rt.GetRead(), rt.GetWrite()
	}
	if ss := in.GetStreamSpec(); ss != nil && ss.GetEnableStream() {
		meta.Stream = storage.StreamSpec{Enabled: true, ExpirationHours: ss.GetExpirationTime(), OriginalColumns: ss.GetColumnsToGet()}
	}
	if _, err := s.store.CreateTable(req.instance, meta); err != nil {
		return nil, storageError(err)
	}
	s.log.Info("table created", "table", meta.Name, "instance", req.instance)
	return &otsprotocol.CreateTableResponse{}, nil
}

func applyTableOptions(meta *storage.TableMeta, opts *otsprotocol.TableOptions) *Error {
	if opts.TimeToLive != nil {
		ttl := opts.GetTimeToLive()
		if ttl != -1 && ttl < 86400 {
			return errParam("The time to live must be -1 (forever) or at least 86400 seconds, got %d.", ttl)
		}
		meta.TimeToLive = ttl
	}
	if opts.MaxVersions != nil {
		if opts.GetMaxVersions() < 1 {
			return errParam("The max versions must be greater than 0, got %d.", opts.GetMaxVersions())
		}
		meta.MaxVersions = opts.GetMaxVersions()
	}
	if opts.DeviationCellVersionInSec != nil {
		if opts.GetDeviationCellVersionInSec() <= 0 {
			return errParam("The deviation cell version in seconds must be greater than 0.")
		}
		meta.DeviationSec = opts.GetDeviationCellVersionInSec()
	}
	if opts.AllowUpdate != nil {
		v := opts.GetAllowUpdate()
		meta.AllowUpdate = &v
	}
	if opts.UpdateFullRow != nil {
		v := opts.GetUpdateFullRow()
		meta.UpdateFullRow = &v
	}
	return nil
}

func (s *Server) listTable(req *request) (protoadapt.MessageV1, *Error) {
	names, err := s.store.ListTables(req.instance)
	if err != nil {
		return nil, storageError(err)
	}
	return &otsprotocol.ListTableResponse{TableNames: names}, nil
}

func tableOptionsProto(m *storage.TableMeta) *otsprotocol.TableOptions {
	opts := &otsprotocol.TableOptions{
		TimeToLive:                proto.Int32(m.TimeToLive),
		MaxVersions:               proto.Int32(m.MaxVersions),
		DeviationCellVersionInSec: proto.Int64(m.DeviationSec),
	}
	if m.AllowUpdate != nil {
		opts.AllowUpdate = proto.Bool(*m.AllowUpdate)
	}
	if m.UpdateFullRow != nil {
		opts.UpdateFullRow = proto.Bool(*m.UpdateFullRow)
	}
	return opts
}

func throughputProto(m *storage.TableMeta) *otsprotocol.ReservedThroughputDetails {
	return &otsprotocol.ReservedThroughputDetails{
		CapacityUnit:     &otsprotocol.CapacityUnit{Read: proto.Int32(m.ReservedRead), Write: proto.Int32(m.ReservedWrite)},
		LastIncreaseTime: proto.Int64(m.LastIncreaseSec),
	}
}

func streamProto(m *storage.TableMeta) *otsprotocol.StreamDetails {
	if !m.Stream.Enabled {
		return &otsprotocol.StreamDetails{EnableStream: proto.Bool(false)}
	}
	return &otsprotocol.StreamDetails{
		EnableStream:   proto.Bool(true),
		StreamId:       proto.String(m.Stream.StreamID),
		ExpirationTime: proto.Int32(m.Stream.ExpirationHours),
		LastEnableTime: proto.Int64(m.Stream.LastEnableTimeUs),
		ColumnsToGet:   m.Stream.OriginalColumns,
	}
}

var pkTypesBack = map[storage.PKType]otsprotocol.PrimaryKeyType{
	storage.PKInteger: otsprotocol.PrimaryKeyType_INTEGER,
	storage.PKString:  otsprotocol.PrimaryKeyType_STRING,
	storage.PKBinary:  otsprotocol.PrimaryKeyType_BINARY,
}

func (s *Server) describeTable(req *request) (protoadapt.MessageV1, *Error) {
	var in otsprotocol.DescribeTableRequest
	if e := decode(req, &in); e != nil {
		return nil, e
	}
	m, err := s.store.DescribeTable(req.instance, in.GetTableName())
	if err != nil {
		return nil, storageError(err)
	}
	tm := &otsprotocol.TableMeta{TableName: proto.String(m.Name)}
	for _, pk := range m.PrimaryKey {
		sch := &otsprotocol.PrimaryKeySchema{Name: proto.String(pk.Name), Type: pkTypesBack[pk.Type].Enum()}
		if pk.AutoIncrement {
			sch.Option = otsprotocol.PrimaryKeyOption_AUTO_INCREMENT.Enum()
		}
		tm.PrimaryKey = append(tm.PrimaryKey, sch)
	}
	for _, c := range m.DefinedColumns {
		for pt, name := range definedTypes {
			if name == c.Type {
				tm.DefinedColumn = append(tm.DefinedColumn, &otsprotocol.DefinedColumnSchema{Name: proto.String(c.Name), Type: pt.Enum()})
			}
		}
	}
	return &otsprotocol.DescribeTableResponse{
		TableMeta:                 tm,
		ReservedThroughputDetails: throughputProto(m),
		TableOptions:              tableOptionsProto(m),
		TableStatus:               otsprotocol.TableStatus_ACTIVE.Enum(),
		StreamDetails:             streamProto(m),
		// The shard count has no field of its own; the inner info is
		// informational and ignored by clients.
		InnerInfo: &otsprotocol.DescribeTableInnerInfo{ClusterName: proto.String(fmt.Sprintf("local-shards-%d", m.Shards))},
	}, nil
}

func (s *Server) updateTable(req *request) (protoadapt.MessageV1, *Error) {
	var in otsprotocol.UpdateTableRequest
	if e := decode(req, &in); e != nil {
		return nil, e
	}
	var perr *Error
	m, err := s.store.UpdateTable(req.instance, in.GetTableName(), func(m *storage.TableMeta) error {
		if opts := in.GetTableOptions(); opts != nil {
			if opts.UpdateFullRow != nil {
				// The SDK's TestUpdateAndDescribeTable (api_test.go:571-582)
				// expects the real message to say "contain updateFullRow".
				perr = errParam("UpdateTableRequest should not contain updateFullRow: update_full_row cannot be changed after the table is created.")
				return perr
			}
			if perr = applyTableOptions(m, opts); perr != nil {
				return perr
			}
		}
		if rt := in.GetReservedThroughput().GetCapacityUnit(); rt != nil {
			if rt.Read != nil {
				m.ReservedRead = rt.GetRead()
			}
			if rt.Write != nil {
				m.ReservedWrite = rt.GetWrite()
			}
		}
		if ss := in.GetStreamSpec(); ss != nil {
			if ss.GetEnableStream() {
				if !m.Stream.Enabled {
					m.Stream = storage.StreamSpec{Enabled: true}
				}
				m.Stream.ExpirationHours = ss.GetExpirationTime()
				m.Stream.OriginalColumns = ss.GetColumnsToGet()
			} else {
				m.Stream = storage.StreamSpec{}
			}
		}
		return nil
	})
	if perr != nil {
		return nil, perr
	}
	if err != nil {
		return nil, storageError(err)
	}
	return &otsprotocol.UpdateTableResponse{
		ReservedThroughputDetails: throughputProto(m),
		TableOptions:              tableOptionsProto(m),
		StreamDetails:             streamProto(m),
	}, nil
}

func (s *Server) deleteTable(req *request) (protoadapt.MessageV1, *Error) {
	var in otsprotocol.DeleteTableRequest
	if e := decode(req, &in); e != nil {
		return nil, e
	}
	if err := s.store.DeleteTable(req.instance, in.GetTableName()); err != nil {
		return nil, storageError(err)
	}
	s.log.Info("table deleted", "table", in.GetTableName(), "instance", req.instance)
	// An empty DeleteTableResponse marshals to zero bytes, which the client
	// requires (it unmarshals into a nil message).
	return &otsprotocol.DeleteTableResponse{}, nil
}

func (s *Server) addDefinedColumn(req *request) (protoadapt.MessageV1, *Error) {
	var in otsprotocol.AddDefinedColumnRequest
	if e := decode(req, &in); e != nil {
		return nil, e
	}
	cols, e := definedColumns(in.GetColumns())
	if e != nil {
		return nil, e
	}
	if len(cols) == 0 {
		return nil, errParam("No column to add.")
	}
	if err := s.store.AddDefinedColumns(req.instance, in.GetTableName(), cols); err != nil {
		return nil, storageError(err)
	}
	return &otsprotocol.AddDefinedColumnResponse{}, nil
}

func (s *Server) deleteDefinedColumn(req *request) (protoadapt.MessageV1, *Error) {
	var in otsprotocol.DeleteDefinedColumnRequest
	if e := decode(req, &in); e != nil {
		return nil, e
	}
	if len(in.GetColumns()) == 0 {
		return nil, errParam("No column to delete.")
	}
	if err := s.store.DeleteDefinedColumns(req.instance, in.GetTableName(), in.GetColumns()); err != nil {
		return nil, storageError(err)
	}
	return &otsprotocol.DeleteDefinedColumnResponse{}, nil
}
