package tablestore

import (
	"encoding/binary"
	"hash/crc32"
	"math"
	"slices"

	pb "github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/plainbuffer"
)

// The SimpleRowMatrix block type of GetRange (data_block_type_hint =
// DBT_SIMPLE_ROW_MATRIX): one row per line, one field per column, the
// latest version of each attribute only. The layout is the one the Go SDK
// decodes (aliyun-tablestore-go-sdk v1.8.0 tablestore/matrix.go:160-168):
//
//	APIVersion int32 | dataOffset int32 | optionOffset int32 | pkCount int32 | attrCount int32
//	field names (int16 length + bytes), primary-key columns first
//	options: TagEntirePrimaryKeys byte + 1 byte, TagRowCount byte + int32
//	data: per row TagRow, then per field a type byte and its value (VT_NULL when absent)
//	TagChecksum byte + checksum byte
const (
	matrixAPIVersion        = 0x304d5253
	matrixTagChecksum       = 1
	matrixTagRow            = 2
	matrixTagRowCount       = 3
	matrixTagEntirePKs      = 10
	matrixHeaderFieldsBytes = 5 * 4
)

// encodeMatrix encodes rows (all with the same primary-key columns) as a
// SimpleRowMatrix block. columns, when given, name the attribute fields (the
// request's columns_to_get); otherwise the fields are the attribute columns
// present in the rows, sorted by name.
func encodeMatrix(rows []pb.Row, columns []string) []byte {
	var pkNames []string
	if len(rows) > 0 {
		for _, c := range rows[0].PrimaryKey {
			pkNames = append(pkNames, c.Name)
		}
	}
	attrs := matrixAttributes(rows, columns)
	b := make([]byte, matrixHeaderFieldsBytes, 256)
	for _, n := range append(slices.Clone(pkNames), attrs...) {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(n)))
		b = append(b, n...)
	}
	optionOffset := len(b)
	b = append(b, matrixTagEntirePKs, 1, matrixTagRowCount)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(rows)))
	dataOffset := len(b)
	for i := range rows {
		b = append(b, matrixTagRow)
		for j := range rows[i].PrimaryKey {
			b = appendMatrixValue(b, rows[i].PrimaryKey[j].Value)
		}
		latest := latestValues(&rows[i])
		for _, n := range attrs {
			b = appendMatrixValue(b, latest[n])
		}
	}
	// The checksum algorithm of the real service is not documented and the
	// SDK skips it; a CRC-32 byte of the data section stands in.
	b = append(b, matrixTagChecksum, byte(crc32.ChecksumIEEE(b[dataOffset:])))
	binary.LittleEndian.PutUint32(b[0:], matrixAPIVersion)
	binary.LittleEndian.PutUint32(b[4:], uint32(dataOffset))
	binary.LittleEndian.PutUint32(b[8:], uint32(optionOffset))
	binary.LittleEndian.PutUint32(b[12:], uint32(len(pkNames)))
	binary.LittleEndian.PutUint32(b[16:], uint32(len(attrs)))
	return b
}

func matrixAttributes(rows []pb.Row, columns []string) []string {
	if len(columns) > 0 {
		return columns
	}
	seen := map[string]bool{}
	var names []string
	for i := range rows {
		for _, c := range rows[i].Cells {
			if !seen[c.Name] {
				seen[c.Name] = true
				names = append(names, c.Name)
			}
		}
	}
	slices.Sort(names)
	return names
}

// latestValues maps each attribute column to its newest version.
func latestValues(r *pb.Row) map[string]*pb.Value {
	out := make(map[string]*pb.Value, len(r.Cells))
	newest := map[string]int64{}
	for _, c := range r.Cells {
		if ts, ok := newest[c.Name]; ok && ts >= c.Timestamp {
			continue
		}
		newest[c.Name], out[c.Name] = c.Timestamp, c.Value
	}
	return out
}

func appendMatrixValue(b []byte, v *pb.Value) []byte {
	if v == nil {
		return append(b, byte(pb.TypeNull))
	}
	b = append(b, byte(v.Type))
	switch v.Type {
	case pb.TypeInteger:
		return binary.LittleEndian.AppendUint64(b, uint64(v.Int))
	case pb.TypeDouble:
		return binary.LittleEndian.AppendUint64(b, math.Float64bits(v.Double))
	case pb.TypeBoolean:
		if v.Bool {
			return append(b, 1)
		}
		return append(b, 0)
	case pb.TypeString, pb.TypeBlob:
		b = binary.LittleEndian.AppendUint32(b, uint32(len(v.Bytes)))
		return append(b, v.Bytes...)
	}
	return b
}
