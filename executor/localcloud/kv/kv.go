// Package kv is the embedded, ordered key-value store under the data dir that the
// local cloud (Tablestore endpoint, OSS metadata) and the executor's state share.
//
// It is a thin layer over bbolt: one file, one writer at a time, ACID
// transactions that are fsynced before they are acknowledged. Each user keeps
// its data in its own top-level buckets (its namespace), named with a prefix
// such as "ots/", "oss/" or "state/", so that components never see each other's
// keys.
package kv

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// FileName is the name of the store's file inside a data dir.
const FileName = "delivery.db"

// Store is an open key-value store. It is safe for concurrent use.
type Store struct {
	db *bolt.DB
}

// Open opens (creating if needed) the store inside dataDir.
func Open(dataDir string) (*Store, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("kv: create data dir %q: %w", dataDir, err)
	}
	path := filepath.Join(dataDir, FileName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		// A second process on the same data dir fails fast instead of hanging.
		Timeout:      2 * time.Second,
		FreelistType: bolt.FreelistMapType,
	})
	if err != nil {
		return nil, fmt.Errorf("kv: open %q (is another process using this data dir?): %w", path, err)
	}
	return &Store{db: db}, nil
}

// DB returns the underlying bbolt database for transactions.
func (s *Store) DB() *bolt.DB { return s.db }

// Update runs fn in a read-write transaction.
func (s *Store) Update(fn func(tx *bolt.Tx) error) error { return s.db.Update(fn) }

// Batch runs fn in a read-write transaction that may be coalesced with other
// concurrent Batch calls into one fsync; fn may run more than once, so it must
// be idempotent.
func (s *Store) Batch(fn func(tx *bolt.Tx) error) error { return s.db.Batch(fn) }

// View runs fn in a read-only transaction.
func (s *Store) View(fn func(tx *bolt.Tx) error) error { return s.db.View(fn) }

// Close closes the store.
func (s *Store) Close() error { return s.db.Close() }

// Bucket returns the bucket at the given path of nested names inside tx,
// creating each level when tx is writable. It returns nil when tx is
// read-only and a level is missing.
func Bucket(tx *bolt.Tx, path ...string) (*bolt.Bucket, error) {
	if len(path) == 0 {
		return nil, fmt.Errorf("kv: empty bucket path")
	}
	var b *bolt.Bucket
	for i, name := range path {
		var next *bolt.Bucket
		if i == 0 {
			next = tx.Bucket([]byte(name))
		} else {
			next = b.Bucket([]byte(name))
		}
		if next == nil {
			if !tx.Writable() {
				return nil, nil
			}
			var err error
			if i == 0 {
				next, err = tx.CreateBucket([]byte(name))
			} else {
				next, err = b.CreateBucket([]byte(name))
			}
			if err != nil {
				return nil, fmt.Errorf("kv: create bucket %v: %w", path[:i+1], err)
			}
		}
		b = next
	}
	return b, nil
}
