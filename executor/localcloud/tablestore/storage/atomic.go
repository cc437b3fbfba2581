package storage

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/plainbuffer"
)

// errAtomicAborted rolls back the transaction of an atomic write in which a
// row failed.
var errAtomicAborted = errors.New("storage: atomic write aborted")

// WriteAtomic applies mutations all-or-nothing: when any of them fails (its
// MutationResult.Err is set), none is applied and the results say which rows
// failed. It is BatchWriteRow with is_atomic. It bypasses the group commit of
// Write, whose shared transaction cannot roll back one caller alone; bbolt
// serializes the two.
func (s *Store) WriteAtomic(instance string, muts []Mutation) ([]MutationResult, error) {
	var results []MutationResult
	err := s.kv.Update(func(tx *bolt.Tx) error {
		var err error
		if results, err = s.applyAll(tx, instance, muts); err != nil {
			return err
		}
		for i := range results {
			if results[i].Err != nil {
				return errAtomicAborted
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, errAtomicAborted) {
		return nil, fmt.Errorf("storage: atomic write: %w", err)
	}
	return results, nil
}

// checkAutoIncrementValue enforces the real service's rule for writes that
// give an explicit value to an auto-increment primary-key column: such a
// put or update may only change an existing row, so it needs the
// EXPECT_EXIST condition; with IGNORE (or EXPECT_NOT_EXIST) it fails with
// OTSConditionCheckFail. Evidence: aliyun-tablestore-go-sdk v1.8.0
// tunnel/restore/record_restore_test.go:1182-1225 (a restored row with an
// explicit auto-increment value and condition IGNORE expects
// OTSConditionCheckFail); ex_aliyun_ots ExAliyunOts.DSL.condition docs.
func checkAutoIncrementValue(meta *TableMeta, m *Mutation) error {
	if m.Type == ChangeDelete || m.Condition.RowExistence == RowExpectExist {
		return nil
	}
	for i, col := range meta.PrimaryKey {
		if !col.AutoIncrement || i >= len(m.PrimaryKey) {
			continue
		}
		if v := m.PrimaryKey[i].Value; v != nil && v.Type != plainbuffer.TypeAutoIncrement {
			return fmt.Errorf("%w: an explicit value for the auto-increment primary-key column %q needs the EXPECT_EXIST row condition", ErrConditionFailed, col.Name)
		}
	}
	return nil
}
