package oss

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/kv"
)

// The index lives in the embedded kv store (bbolt) under top-level buckets
// prefixed "oss/". bbolt gives what an object index needs: keys in byte order
// (listing with prefix, marker and delimiter is a cursor walk), and
// transactions that are fsynced before they are acknowledged (an object is
// visible exactly when its record commits).
//
//	oss/buckets            bucket name -> bucketRecord (JSON)
//	oss/objects/<bucket>   object key  -> objectRecord (JSON)
//	oss/uploads/<bucket>   upload id   -> uploadRecord (JSON)
//	oss/parts/<upload id>  part number (4-byte big endian) -> partRecord (JSON)
const (
	idxBuckets = "oss/buckets"
	idxObjects = "oss/objects"
	idxUploads = "oss/uploads"
	idxParts   = "oss/parts"
)

type bucketRecord struct {
	Name         string    `json:"name"`
	Region       string    `json:"region"`
	CreationDate time.Time `json:"creation_date"`
	StorageClass string    `json:"storage_class"`
	Redundancy   string    `json:"redundancy"`
	ACL          string    `json:"acl"`
}

// objectHeaders are the request headers an object keeps and returns.
type objectHeaders struct {
	ContentType        string            `json:"content_type,omitempty"`
	CacheControl       string            `json:"cache_control,omitempty"`
	ContentDisposition string            `json:"content_disposition,omitempty"`
	ContentEncoding    string            `json:"content_encoding,omitempty"`
	ContentLanguage    string            `json:"content_language,omitempty"`
	Expires            string            `json:"expires,omitempty"`
	ACL                string            `json:"acl,omitempty"`
	StorageClass       string            `json:"storage_class,omitempty"`
	Meta               map[string]string `json:"meta,omitempty"` // lower-case names without x-oss-meta-
}

type objectRecord struct {
	Blob         string    `json:"blob"`
	Size         int64     `json:"size"`
	ETag         string    `json:"etag"` // without quotes
	CRC64        uint64    `json:"crc64"`
	LastModified time.Time `json:"last_modified"`
	Type         string    `json:"type"` // Normal, Multipart, Appendable or Symlink
	// SymlinkTarget is the target key of a Symlink (which has no blob).
	SymlinkTarget string `json:"symlink_target,omitempty"`
	// Tags are the object's tags in the order they were set.
	Tags []objectTag `json:"tags,omitempty"`
	// ContentMD5 is the base64 MD5 of the whole object where the service
	// knows it (PutObject, sequential multipart uploads); HEAD answers it.
	ContentMD5 string `json:"content_md5,omitempty"`
	objectHeaders
}

type uploadRecord struct {
	Key       string    `json:"key"`
	Initiated time.Time `json:"initiated"`
	// Sequential uploads (InitiateMultipartUpload ?sequential) get the
	// whole object's Content-MD5 on completion.
	Sequential bool `json:"sequential,omitempty"`
	objectHeaders
}

type partRecord struct {
	Blob         string    `json:"blob"`
	Size         int64     `json:"size"`
	ETag         string    `json:"etag"` // without quotes
	CRC64        uint64    `json:"crc64"`
	LastModified time.Time `json:"last_modified"`
}

type index struct {
	store *kv.Store
}

func (ix *index) init() error {
	return ix.store.Update(func(tx *bolt.Tx) error {
		for _, name := range []string{idxBuckets, idxObjects, idxUploads, idxParts} {
			if _, err := kv.Bucket(tx, name); err != nil {
				return err
			}
		}
		return nil
	})
}

func getJSON(b *bolt.Bucket, key []byte, v any) (bool, error) {
	if b == nil {
		return false, nil
	}
	raw := b.Get(key)
	if raw == nil {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return false, fmt.Errorf("oss: decode index record %q: %w", key, err)
	}
	return true, nil
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("oss: encode index record: %w", err)
	}
	return b.Put(key, raw)
}

func partKey(n int) []byte {
	var k [4]byte
	binary.BigEndian.PutUint32(k[:], uint32(n))
	return k[:]
}

// bucketOf reads a bucket record inside tx.
func bucketOf(tx *bolt.Tx, name string) (*bucketRecord, error) {
	var rec bucketRecord
	found, err := getJSON(tx.Bucket([]byte(idxBuckets)), []byte(name), &rec)
	if err != nil || !found {
		return nil, err
	}
	return &rec, nil
}

// objectsOf returns the object table of a bucket (nil if absent and tx is read-only).
func objectsOf(tx *bolt.Tx, bucket string) (*bolt.Bucket, error) {
	return kv.Bucket(tx, idxObjects, bucket)
}

func uploadsOf(tx *bolt.Tx, bucket string) (*bolt.Bucket, error) {
	return kv.Bucket(tx, idxUploads, bucket)
}

func partsOf(tx *bolt.Tx, uploadID string) (*bolt.Bucket, error) {
	return kv.Bucket(tx, idxParts, uploadID)
}

// referencedBlobs collects every blob id the index points at.
func (ix *index) referencedBlobs() (map[string]bool, error) {
	refs := map[string]bool{}
	err := ix.store.View(func(tx *bolt.Tx) error {
		collect := func(top string) error {
			root := tx.Bucket([]byte(top))
			if root == nil {
				return nil
			}
			return root.ForEachBucket(func(name []byte) error {
				return root.Bucket(name).ForEach(func(_, v []byte) error {
					var rec struct {
						Blob string `json:"blob"`
					}
					if err := json.Unmarshal(v, &rec); err != nil {
						return fmt.Errorf("oss: decode index record: %w", err)
					}
					if rec.Blob != "" {
						refs[rec.Blob] = true
					}
					return nil
				})
			})
		}
		if err := collect(idxObjects); err != nil {
			return err
		}
		return collect(idxParts)
	})
	return refs, err
}

// hasPrefix reports whether key starts with prefix (bytes).
func hasPrefix(key []byte, prefix string) bool {
	return bytes.HasPrefix(key, []byte(prefix))
}
