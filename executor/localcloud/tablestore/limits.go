package tablestore

import pb "github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/plainbuffer"

// Limits of the real service, with its messages (aliyun-tablestore-java-sdk
// functiontest/RestrictedItemTest.java). Each refusal is OTSParameterInvalid
// for the whole request, batches included.
const (
	maxPKValueBytes   = 1024
	maxAttrValueBytes = 2 << 20
	maxRowColumns     = 1024
	maxColumnsToGet   = 1024
)

// checkKeyLimits checks the length of string and binary primary-key values.
func checkKeyLimits(pk []pb.Cell) *Error {
	for _, c := range pk {
		if c.Value != nil && len(c.Value.Bytes) > maxPKValueBytes {
			return errParam("The length of primary key column: '%s' exceeds the MaxLength:%d with CurrentLength:%d.", c.Name, maxPKValueBytes, len(c.Value.Bytes))
		}
	}
	return nil
}

// checkRowLimits checks a written row: its key, the number of its attribute
// columns and the length of their values.
func checkRowLimits(pk, cells []pb.Cell) *Error {
	if e := checkKeyLimits(pk); e != nil {
		return e
	}
	if len(cells) > maxRowColumns {
		return errParam("The number of attribute columns exceeds the limit, limit count: %d, column count: %d.", maxRowColumns, len(cells))
	}
	for _, c := range cells {
		if c.Value != nil && len(c.Value.Bytes) > maxAttrValueBytes {
			return errParam("The length of attribute column: '%s' exceeds the MaxLength:%d with CurrentLength:%d.", c.Name, maxAttrValueBytes, len(c.Value.Bytes))
		}
	}
	return nil
}

// checkColumnsToGet checks the columns a read asks for.
func checkColumnsToGet(columns []string) *Error {
	if len(columns) > maxColumnsToGet {
		return errParam("The number of columns from the request exceeds the limit, limit count: %d, column count: %d.", maxColumnsToGet, len(columns))
	}
	return nil
}
