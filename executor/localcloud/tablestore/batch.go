package tablestore

import (
	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore/otsprotocol"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"

	pb "github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/plainbuffer"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/storage"
)

// BatchWriteRow: plain batches (each row on its own) and atomic ones.

var operationTypes = map[otsprotocol.OperationType]storage.ChangeType{
	otsprotocol.OperationType_PUT:    storage.ChangePut,
	otsprotocol.OperationType_UPDATE: storage.ChangeUpdate,
	otsprotocol.OperationType_DELETE: storage.ChangeDelete,
}

func (s *Server) batchWriteRow(req *request) (protoadapt.MessageV1, *Error) {
	var in otsprotocol.BatchWriteRowRequest
	if e := decode(req, &in); e != nil {
		return nil, e
	}
	if in.TransactionId != nil {
		return nil, errParam("Local transactions are not supported by the local Tablestore endpoint.")
	}
	seen := map[string]bool{}
	total := 0
	for _, t := range in.GetTables() {
		if seen[t.GetTableName()] {
			return nil, errParam("Duplicated table name: %s.", t.GetTableName())
		}
		seen[t.GetTableName()] = true
		if len(t.GetRows()) == 0 {
			// The real messages (aliyun-tablestore-python-sdk
			// tests/row_op_test.py:877-922).
			return nil, errParam("No operation is specified for table: '%s'.", t.GetTableName())
		}
		total += len(t.GetRows())
	}
	if total == 0 {
		return nil, errParam("No row is specified in BatchWriteRow.")
	}
	if total > maxBatchWriteRows {
		return nil, errParam("Rows count exceeds the upper limit: %d.", maxBatchWriteRows)
	}
	batches := make([]*tableBatch, len(in.GetTables()))
	for i, t := range in.GetTables() {
		batches[i] = decodeTableBatch(t)
		for _, r := range batches[i].rows {
			if r.e == nil {
				if fatal := checkWrittenRow(&r.m); fatal != nil {
					return nil, fatal
				}
			}
		}
	}
	if in.GetIsAtomic() {
		for _, b := range batches {
			if e := s.writeAtomic(req, b); e != nil {
				return nil, e
			}
		}
	} else if e := s.writeBatches(req, batches); e != nil {
		return nil, e
	}
	out := &otsprotocol.BatchWriteRowResponse{}
	for _, b := range batches {
		out.Tables = append(out.Tables, b.response())
	}
	return out, nil
}

// tableBatch is one table's rows of a BatchWriteRow request: the decoded
// mutations and, per row, its error or its result.
type tableBatch struct {
	table string
	rows  []batchRow
}

type batchRow struct {
	m   storage.Mutation
	e   *Error // decoding or write error
	rc  *otsprotocol.ReturnContent
	res *storage.MutationResult
}

func decodeTableBatch(t *otsprotocol.TableInBatchWriteRowRequest) *tableBatch {
	b := &tableBatch{table: t.GetTableName()}
	for _, r := range t.GetRows() {
		br := batchRow{rc: r.GetReturnContent()}
		if ct, ok := operationTypes[r.GetType()]; !ok {
			br.e = errParam("Invalid operation type %d.", r.GetType())
		} else {
			br.m, br.e = buildMutation(t.GetTableName(), ct, r.GetRowChange(), r.GetCondition())
		}
		b.rows = append(b.rows, br)
	}
	return b
}

// pending returns the indexes and mutations of the rows not yet failed.
func (b *tableBatch) pending() ([]int, []storage.Mutation) {
	var idx []int
	var muts []storage.Mutation
	for i := range b.rows {
		if b.rows[i].e == nil {
			idx = append(idx, i)
			muts = append(muts, b.rows[i].m)
		}
	}
	return idx, muts
}

// record stores the storage results of the rows at idx.
func (b *tableBatch) record(idx []int, results []storage.MutationResult) {
	for j, i := range idx {
		if err := results[j].Err; err != nil {
			b.rows[i].e = storageError(err)
		} else {
			b.rows[i].res = &results[j]
		}
	}
}

// failAll fails every row that has no error yet with e.
func (b *tableBatch) failAll(e *Error) {
	for i := range b.rows {
		if b.rows[i].e == nil {
			b.rows[i].e, b.rows[i].res = e, nil
		}
	}
}

func (b *tableBatch) response() *otsprotocol.TableInBatchWriteRowResponse {
	tr := &otsprotocol.TableInBatchWriteRowResponse{TableName: proto.String(b.table)}
	for _, r := range b.rows {
		if r.e != nil {
			tr.Rows = append(tr.Rows, &otsprotocol.RowInBatchWriteRowResponse{IsOk: proto.Bool(false), Error: rowError(r.e)})
			continue
		}
		tr.Rows = append(tr.Rows, &otsprotocol.RowInBatchWriteRowResponse{IsOk: proto.Bool(true), Consumed: consumed(0, 1), Row: returnRow(r.rc, r.res)})
	}
	return tr
}

// writeBatches applies every decodable row of every table in one storage
// call; each row succeeds or fails on its own.
func (s *Server) writeBatches(req *request, batches []*tableBatch) *Error {
	var all []storage.Mutation
	idx := make([][]int, len(batches))
	for i, b := range batches {
		var muts []storage.Mutation
		idx[i], muts = b.pending()
		all = append(all, muts...)
	}
	if len(all) == 0 {
		return nil
	}
	results, err := s.store.Write(req.instance, all)
	if err != nil {
		return storageError(err)
	}
	for i, b := range batches {
		b.record(idx[i], results[:len(idx[i])])
		results = results[len(idx[i]):]
	}
	return nil
}

// writeAtomic applies one table's rows of an atomic BatchWriteRow: all of
// them or none. The real service accepts an atomic batch only when the rows
// of a table share the partition key (the first primary-key column) and
// fails each row otherwise (aliyun-tablestore-go-sdk v1.8.0
// tablestore/api_test.go:1387-1463).
func (s *Server) writeAtomic(req *request, b *tableBatch) *Error {
	for _, r := range b.rows {
		if r.e != nil {
			b.failAll(&Error{Status: r.e.Status, Code: r.e.Code, Message: "The atomic batch was not applied because another row of it is invalid: " + r.e.Message})
			return nil //nolint:nilerr // the rows carry the refusal; the request itself succeeds
		}
	}
	if !samePartitionKey(b.rows) {
		b.failAll(errParam("The rows of an atomic batch write must share the partition key (the first primary-key column) within table %s.", b.table))
		return nil
	}
	idx, muts := b.pending()
	results, err := s.store.WriteAtomic(req.instance, muts)
	if err != nil {
		return storageError(err)
	}
	b.record(idx, results)
	var first *Error
	for _, r := range b.rows {
		if r.e != nil {
			first = r.e
			break
		}
	}
	if first != nil {
		b.failAll(&Error{Status: first.Status, Code: first.Code, Message: "The atomic batch was not applied because another row of it failed: " + first.Message})
	}
	return nil
}

func samePartitionKey(rows []batchRow) bool {
	var first *pb.Value
	for _, r := range rows {
		if len(r.m.PrimaryKey) == 0 || r.m.PrimaryKey[0].Value == nil {
			return false
		}
		v := r.m.PrimaryKey[0].Value
		if first == nil {
			first = v
		} else if !first.Equal(v) {
			return false
		}
	}
	return true
}
