package oss

import (
	"errors"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// metaStore is everything the handlers know of the object index, in the
// manner of minio's ObjectLayer: whole operations on buckets, objects,
// uploads and parts, each one transaction, failing with the sentinel errors
// below (which storeError maps to the OSS answers). The handlers hold no
// transaction and see no bbolt type; the blob files stay the handlers'
// business (a method that drops a record returns the blob ids to remove).
type metaStore interface {
	// Buckets.
	Bucket(name string) (*bucketRecord, error)
	// CreateBucket stores rec unless a bucket of that name exists, which it
	// returns instead (created false).
	CreateBucket(rec bucketRecord) (existing *bucketRecord, created bool, err error)
	DeleteBucket(name string) error
	UpdateBucket(name string, change func(*bucketRecord)) error
	ListBuckets(prefix, marker string, max int) (buckets []bucketRecord, truncated bool, err error)
	BucketStat(name string) (bucketStat, error)

	// Objects.
	Object(bucket, key string) (*objectRecord, error)
	// PutObject makes rec visible at bucket/key and returns the blob of the
	// record it replaced ("" if none); refuseOverwrite answers errKeyExists
	// instead of replacing.
	PutObject(bucket, key string, rec *objectRecord, refuseOverwrite bool) (replacedBlob string, err error)
	UpdateObject(bucket, key string, change func(*objectRecord)) error
	DeleteObject(bucket, key string) (blob string, err error)
	DeleteObjects(bucket string, keys []string) (blobs []string, err error)
	ListObjects(bucket, prefix, delimiter, after string, max int) (listing, error)

	// Multipart uploads (an upload belongs to one bucket and key).
	CreateUpload(bucket, uploadID string, rec uploadRecord) error
	Upload(bucket, key, uploadID string) (*uploadRecord, error)
	Uploads(bucket, prefix string) ([]uploadEntry, error)
	PutPart(bucket, key, uploadID string, number int, part partRecord) (replacedBlob string, err error)
	Parts(bucket, key, uploadID string) (map[int]partRecord, error)
	// CompleteUpload publishes rec at bucket/key and drops the upload,
	// provided its parts are still those of validated; it returns the blobs
	// to remove (every part and the replaced object).
	CompleteUpload(bucket, key, uploadID string, validated map[int]partRecord, rec *objectRecord, refuseOverwrite bool) (garbage []string, err error)
	AbortUpload(bucket, key, uploadID string) (blobs []string, err error)

	// ReferencedBlobs lists every blob a record points at (start-up sweep).
	ReferencedBlobs() (map[string]bool, error)
}

// The metaStore's answers; storeError maps them to OSS errors.
var (
	errNoBucket         = errors.New("no such bucket")
	errNoKey            = errors.New("no such key")
	errNoUpload         = errors.New("no such upload")
	errKeyExists        = errors.New("object exists")
	errBucketHasObjects = errors.New("bucket has objects")
	errBucketHasUploads = errors.New("bucket has multipart uploads")
	errPartsChanged     = errors.New("a part changed while the upload was completed")
)

// uploadEntry is one upload of a bucket as Uploads lists it.
type uploadEntry struct {
	ID  string
	Rec uploadRecord
}

// bucketStat is GetBucketStat's count of a bucket.
type bucketStat struct {
	Storage, ObjectCount, MultipartUploadCount, LastModifiedUnix int64
}

var _ metaStore = (*index)(nil)

// ---- buckets ----

func (ix *index) Bucket(name string) (*bucketRecord, error) {
	var rec *bucketRecord
	err := ix.store.View(func(tx *bolt.Tx) error {
		var err error
		rec, err = existingBucket(tx, name)
		return err
	})
	return rec, err
}

// existingBucket reads a bucket record, errNoBucket if there is none.
func existingBucket(tx *bolt.Tx, name string) (*bucketRecord, error) {
	rec, err := bucketOf(tx, name)
	if err == nil && rec == nil {
		err = errNoBucket
	}
	return rec, err
}

func (ix *index) CreateBucket(rec bucketRecord) (*bucketRecord, bool, error) {
	var existing *bucketRecord
	err := ix.store.Update(func(tx *bolt.Tx) error {
		var err error
		if existing, err = bucketOf(tx, rec.Name); err != nil || existing != nil {
			return err
		}
		return putJSON(tx.Bucket([]byte(idxBuckets)), []byte(rec.Name), rec)
	})
	return existing, err == nil && existing == nil, err
}

func (ix *index) DeleteBucket(name string) error {
	return ix.store.Update(func(tx *bolt.Tx) error {
		if _, err := existingBucket(tx, name); err != nil {
			return err
		}
		if objects := tx.Bucket([]byte(idxObjects)).Bucket([]byte(name)); objects != nil {
			if k, _ := objects.Cursor().First(); k != nil {
				return errBucketHasObjects
			}
		}
		if uploads := tx.Bucket([]byte(idxUploads)).Bucket([]byte(name)); uploads != nil {
			if k, _ := uploads.Cursor().First(); k != nil {
				return errBucketHasUploads
			}
		}
		for _, top := range []string{idxObjects, idxUploads} {
			if tx.Bucket([]byte(top)).Bucket([]byte(name)) != nil {
				if err := tx.Bucket([]byte(top)).DeleteBucket([]byte(name)); err != nil {
					return err
				}
			}
		}
		return tx.Bucket([]byte(idxBuckets)).Delete([]byte(name))
	})
}

func (ix *index) UpdateBucket(name string, change func(*bucketRecord)) error {
	return ix.store.Update(func(tx *bolt.Tx) error {
		rec, err := existingBucket(tx, name)
		if err != nil {
			return err
		}
		change(rec)
		return putJSON(tx.Bucket([]byte(idxBuckets)), []byte(name), rec)
	})
}

func (ix *index) ListBuckets(prefix, marker string, max int) ([]bucketRecord, bool, error) {
	var out []bucketRecord
	truncated := false
	err := ix.store.View(func(tx *bolt.Tx) error {
		c := tx.Bucket([]byte(idxBuckets)).Cursor()
		start := prefix
		if marker >= start {
			start = marker + "\x00"
		}
		for k, v := c.Seek([]byte(start)); k != nil && hasPrefix(k, prefix); k, v = c.Next() {
			if len(out) == max {
				truncated = true
				return nil
			}
			var rec bucketRecord
			if err := jsonUnmarshal(v, &rec); err != nil {
				return err
			}
			out = append(out, rec)
		}
		return nil
	})
	return out, truncated, err
}

func (ix *index) BucketStat(name string) (bucketStat, error) {
	var st bucketStat
	err := ix.store.View(func(tx *bolt.Tx) error {
		if _, err := existingBucket(tx, name); err != nil {
			return err
		}
		if objects := tx.Bucket([]byte(idxObjects)).Bucket([]byte(name)); objects != nil {
			if err := objects.ForEach(func(_, v []byte) error {
				var rec objectRecord
				if err := jsonUnmarshal(v, &rec); err != nil {
					return err
				}
				st.ObjectCount++
				st.Storage += rec.Size
				st.LastModifiedUnix = max(st.LastModifiedUnix, rec.LastModified.Unix())
				return nil
			}); err != nil {
				return err
			}
		}
		if uploads := tx.Bucket([]byte(idxUploads)).Bucket([]byte(name)); uploads != nil {
			st.MultipartUploadCount = int64(uploads.Stats().KeyN)
		}
		return nil
	})
	return st, err
}

// ---- objects ----

func (ix *index) Object(bucket, key string) (*objectRecord, error) {
	var rec objectRecord
	err := ix.store.View(func(tx *bolt.Tx) error {
		objects, err := bucketObjects(tx, bucket)
		if err != nil {
			return err
		}
		return readObject(objects, key, &rec)
	})
	if err != nil {
		return nil, err
	}
	return &rec, nil
}

// bucketObjects is the object table of an existing bucket (nil when it has
// none yet and tx is read-only).
func bucketObjects(tx *bolt.Tx, bucket string) (*bolt.Bucket, error) {
	if _, err := existingBucket(tx, bucket); err != nil {
		return nil, err
	}
	return objectsOf(tx, bucket)
}

// readObject decodes the record of key, errNoKey if there is none.
func readObject(objects *bolt.Bucket, key string, rec *objectRecord) error {
	found, err := getJSON(objects, []byte(key), rec)
	if err == nil && !found {
		err = errNoKey
	}
	return err
}

func (ix *index) PutObject(bucket, key string, rec *objectRecord, refuseOverwrite bool) (string, error) {
	var replaced string
	err := ix.store.Update(func(tx *bolt.Tx) error {
		replaced = ""
		objects, err := bucketObjects(tx, bucket)
		if err != nil {
			return err
		}
		var old objectRecord
		switch err := readObject(objects, key, &old); {
		case err == nil && refuseOverwrite:
			return errKeyExists
		case err == nil:
			replaced = old.Blob
		case !errors.Is(err, errNoKey):
			return err
		}
		return putJSON(objects, []byte(key), rec)
	})
	return replaced, err
}

func (ix *index) UpdateObject(bucket, key string, change func(*objectRecord)) error {
	return ix.store.Update(func(tx *bolt.Tx) error {
		objects, err := bucketObjects(tx, bucket)
		if err != nil {
			return err
		}
		var rec objectRecord
		if err := readObject(objects, key, &rec); err != nil {
			return err
		}
		change(&rec)
		return putJSON(objects, []byte(key), &rec)
	})
}

func (ix *index) DeleteObject(bucket, key string) (string, error) {
	blobs, err := ix.DeleteObjects(bucket, []string{key})
	if err != nil || len(blobs) == 0 {
		return "", err
	}
	return blobs[0], nil
}

// DeleteObjects removes the records of keys that exist (missing keys are
// no error, as OSS) and returns their blobs.
func (ix *index) DeleteObjects(bucket string, keys []string) ([]string, error) {
	var blobs []string
	err := ix.store.Update(func(tx *bolt.Tx) error {
		blobs = blobs[:0]
		objects, err := bucketObjects(tx, bucket)
		if err != nil {
			return err
		}
		for _, key := range keys {
			var old objectRecord
			if err := readObject(objects, key, &old); errors.Is(err, errNoKey) {
				continue
			} else if err != nil {
				return err
			}
			if old.Blob != "" {
				blobs = append(blobs, old.Blob)
			}
			if err := objects.Delete([]byte(key)); err != nil {
				return err
			}
		}
		return nil
	})
	return blobs, err
}

func (ix *index) ListObjects(bucket, prefix, delimiter, after string, max int) (listing, error) {
	var out listing
	err := ix.store.View(func(tx *bolt.Tx) error {
		if _, err := existingBucket(tx, bucket); err != nil {
			return err
		}
		var err error
		out, err = walkObjects(tx, bucket, prefix, delimiter, after, max)
		return err
	})
	return out, err
}

// ---- multipart uploads ----

func (ix *index) CreateUpload(bucket, uploadID string, rec uploadRecord) error {
	return ix.store.Update(func(tx *bolt.Tx) error {
		if _, err := existingBucket(tx, bucket); err != nil {
			return err
		}
		uploads, err := uploadsOf(tx, bucket)
		if err != nil {
			return err
		}
		return putJSON(uploads, []byte(uploadID), rec)
	})
}

func (ix *index) Upload(bucket, key, uploadID string) (*uploadRecord, error) {
	var rec *uploadRecord
	err := ix.store.View(func(tx *bolt.Tx) error {
		var err error
		rec, err = existingUpload(tx, bucket, key, uploadID)
		return err
	})
	return rec, err
}

// existingUpload reads an upload of bucket/key: errNoBucket, or errNoUpload
// when the id is unknown or belongs to another key.
func existingUpload(tx *bolt.Tx, bucket, key, uploadID string) (*uploadRecord, error) {
	if _, err := existingBucket(tx, bucket); err != nil {
		return nil, err
	}
	uploads, err := uploadsOf(tx, bucket)
	if err != nil {
		return nil, err
	}
	var rec uploadRecord
	found, err := getJSON(uploads, []byte(uploadID), &rec)
	if err != nil {
		return nil, err
	}
	if !found || rec.Key != key {
		return nil, errNoUpload
	}
	return &rec, nil
}

func (ix *index) Uploads(bucket, prefix string) ([]uploadEntry, error) {
	var out []uploadEntry
	err := ix.store.View(func(tx *bolt.Tx) error {
		if _, err := existingBucket(tx, bucket); err != nil {
			return err
		}
		uploads, err := uploadsOf(tx, bucket)
		if err != nil || uploads == nil {
			return err
		}
		return uploads.ForEach(func(k, v []byte) error {
			var rec uploadRecord
			if err := jsonUnmarshal(v, &rec); err != nil {
				return err
			}
			if strings.HasPrefix(rec.Key, prefix) {
				out = append(out, uploadEntry{ID: string(k), Rec: rec})
			}
			return nil
		})
	})
	return out, err
}

func (ix *index) PutPart(bucket, key, uploadID string, number int, part partRecord) (string, error) {
	var replaced string
	err := ix.store.Update(func(tx *bolt.Tx) error {
		replaced = ""
		if _, err := existingUpload(tx, bucket, key, uploadID); err != nil {
			return err
		}
		parts, err := partsOf(tx, uploadID)
		if err != nil {
			return err
		}
		var old partRecord
		if found, err := getJSON(parts, partKey(number), &old); err != nil {
			return err
		} else if found {
			replaced = old.Blob
		}
		return putJSON(parts, partKey(number), part)
	})
	return replaced, err
}

func (ix *index) Parts(bucket, key, uploadID string) (map[int]partRecord, error) {
	out := map[int]partRecord{}
	err := ix.store.View(func(tx *bolt.Tx) error {
		if _, err := existingUpload(tx, bucket, key, uploadID); err != nil {
			return err
		}
		return eachPart(tx, uploadID, func(n int, p partRecord) error {
			out[n] = p
			return nil
		})
	})
	return out, err
}

// eachPart calls fn for every part of an upload in part-number order.
func eachPart(tx *bolt.Tx, uploadID string, fn func(int, partRecord) error) error {
	parts := tx.Bucket([]byte(idxParts)).Bucket([]byte(uploadID))
	if parts == nil {
		return nil
	}
	return parts.ForEach(func(k, v []byte) error {
		var p partRecord
		if err := jsonUnmarshal(v, &p); err != nil {
			return err
		}
		return fn(int(bytesToUint32(k)), p)
	})
}

// dropUpload deletes an upload and its parts, returning the part blobs.
func dropUpload(tx *bolt.Tx, bucket, uploadID string) ([]string, error) {
	var blobs []string
	if err := eachPart(tx, uploadID, func(_ int, p partRecord) error {
		blobs = append(blobs, p.Blob)
		return nil
	}); err != nil {
		return nil, err
	}
	if tx.Bucket([]byte(idxParts)).Bucket([]byte(uploadID)) != nil {
		if err := tx.Bucket([]byte(idxParts)).DeleteBucket([]byte(uploadID)); err != nil {
			return nil, err
		}
	}
	uploads, err := uploadsOf(tx, bucket)
	if err != nil {
		return nil, err
	}
	return blobs, uploads.Delete([]byte(uploadID))
}

func (ix *index) CompleteUpload(bucket, key, uploadID string, validated map[int]partRecord, rec *objectRecord, refuseOverwrite bool) ([]string, error) {
	var garbage []string
	err := ix.store.Update(func(tx *bolt.Tx) error {
		garbage = nil
		if _, err := existingUpload(tx, bucket, key, uploadID); err != nil {
			return err
		}
		// A part uploaded again since validation would make the object
		// differ from what was checked.
		if err := eachPart(tx, uploadID, func(n int, p partRecord) error {
			if before, ok := validated[n]; ok && before.Blob != p.Blob {
				return errPartsChanged
			}
			return nil
		}); err != nil {
			return err
		}
		objects, err := objectsOf(tx, bucket)
		if err != nil {
			return err
		}
		var old objectRecord
		switch err := readObject(objects, key, &old); {
		case err == nil && refuseOverwrite:
			return errKeyExists
		case err == nil && old.Blob != "":
			garbage = append(garbage, old.Blob)
		case err != nil && !errors.Is(err, errNoKey):
			return err
		}
		if err := putJSON(objects, []byte(key), rec); err != nil {
			return err
		}
		blobs, err := dropUpload(tx, bucket, uploadID)
		garbage = append(garbage, blobs...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return garbage, nil
}

func (ix *index) AbortUpload(bucket, key, uploadID string) ([]string, error) {
	var blobs []string
	err := ix.store.Update(func(tx *bolt.Tx) error {
		if _, err := existingUpload(tx, bucket, key, uploadID); err != nil {
			return err
		}
		var err error
		blobs, err = dropUpload(tx, bucket, uploadID)
		return err
	})
	return blobs, err
}

func (ix *index) ReferencedBlobs() (map[string]bool, error) { return ix.referencedBlobs() }

// successor returns the smallest string greater than every string that
// starts with p ("" if there is none), to skip a whole common prefix.
func successor(p string) string {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1])
		}
	}
	return ""
}

// walkObjects lists keys of a bucket that start with prefix and sort after
// `after`, rolling keys up to the first delimiter after the prefix into
// common prefixes, at most max entries (objects plus prefixes).
func walkObjects(tx *bolt.Tx, bucket, prefix, delimiter, after string, max int) (listing, error) {
	var out listing
	objects, err := objectsOf(tx, bucket)
	if err != nil || objects == nil {
		return out, err
	}
	c := objects.Cursor()
	start := prefix
	if after >= start {
		start = after + "\x00"
	}
	count := 0
	k, v := c.Seek([]byte(start))
	for k != nil && hasPrefix(k, prefix) {
		key := string(k)
		if delimiter != "" {
			if i := strings.Index(key[len(prefix):], delimiter); i >= 0 {
				common := key[:len(prefix)+i+len(delimiter)]
				next := successor(common)
				if common > after {
					if count == max {
						out.Truncated = true
						return out, nil
					}
					out.Prefixes = append(out.Prefixes, common)
					out.Next = common
					count++
				}
				if next == "" {
					break
				}
				k, v = c.Seek([]byte(next))
				continue
			}
		}
		if count == max {
			out.Truncated = true
			return out, nil
		}
		var rec objectRecord
		if err := jsonUnmarshal(v, &rec); err != nil {
			return out, err
		}
		out.Objects = append(out.Objects, listEntry{Key: key, Rec: rec})
		out.Next = key
		count++
		k, v = c.Next()
	}
	return out, nil
}
