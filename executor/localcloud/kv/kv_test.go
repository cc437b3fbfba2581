package kv

import (
	"testing"

	bolt "go.etcd.io/bbolt"
)

func TestStorePersistsAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(func(tx *bolt.Tx) error {
		b, err := Bucket(tx, "test/", "nested")
		if err != nil {
			return err
		}
		return b.Put([]byte("k"), []byte("v"))
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var got []byte
	if err := s.View(func(tx *bolt.Tx) error {
		b, err := Bucket(tx, "test/", "nested")
		if err != nil || b == nil {
			t.Fatalf("bucket missing after reopen: %v", err)
		}
		got = append([]byte(nil), b.Get([]byte("k"))...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if string(got) != "v" {
		t.Fatalf("got %q, want %q", got, "v")
	}
}

func TestBucketReadOnlyMissingIsNil(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.View(func(tx *bolt.Tx) error {
		b, err := Bucket(tx, "absent")
		if err != nil {
			return err
		}
		if b != nil {
			t.Fatal("expected nil bucket in read-only tx")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestSecondOpenOfSameDirFails(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := Open(dir); err == nil {
		t.Fatal("second Open of a locked data dir succeeded; want an error")
	}
}
