package state

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
)

// checkPutKeys refuses the one key a pipeline state cannot hold.
func checkPutKeys(puts map[string][]byte) error {
	if _, ok := puts[""]; ok {
		return errors.New("state: empty pipeline key")
	}
	return nil
}

// checkExpect tells whether every expectation of an ApplyIf holds, reading
// the current values through lookup: nil when they all do, ErrConflict
// (naming the first key that differs, in key order) when one does not, or
// lookup's error.
func checkExpect(expect map[string][]byte, lookup func(key string) (value []byte, ok bool, err error)) error {
	keys := make([]string, 0, len(expect))
	for k := range expect {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		want := expect[k]
		got, ok, err := lookup(k)
		if err != nil {
			return err
		}
		switch {
		case want == nil && ok:
			return fmt.Errorf("pipeline key %q exists, expected absent: %w", k, ErrConflict)
		case want != nil && !ok:
			return fmt.Errorf("pipeline key %q is absent: %w", k, ErrConflict)
		case want != nil && !bytes.Equal(got, want):
			return fmt.Errorf("pipeline key %q has another value: %w", k, ErrConflict)
		}
	}
	return nil
}
