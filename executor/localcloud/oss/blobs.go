package oss

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/crc64"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Object and part bytes live in immutable files under <DataDir>/oss/blobs,
// named by random ids, never by object keys: a key can hold any bytes the
// protocol allows ("..", "/", NUL, 1 KiB of UTF-8) and none of that ever
// reaches the file system. A blob is written to <DataDir>/oss/tmp, fsynced,
// renamed into place and its directory fsynced before the index points at it,
// so the index never references a torn file. Anything in tmp/ and any blob
// the index does not reference is garbage from a crash and removed at start.

var crcTable = crc64.MakeTable(crc64.ECMA)

type blobStore struct {
	root string // <DataDir>/oss
	// removal serialises deleting blob files against opening them: a reader
	// that found a blob name in the index opens it under RLock, so a
	// concurrent overwrite cannot delete the file between lookup and open.
	removal sync.RWMutex
}

// digest is what a write learned about the bytes it stored.
type digest struct {
	Size  int64
	MD5   [md5.Size]byte
	CRC64 uint64
}

func newBlobStore(dataDir string) (*blobStore, error) {
	b := &blobStore{root: filepath.Join(dataDir, "oss")}
	for _, dir := range []string{b.tmpDir(), b.blobDir()} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("oss: create %s: %w", dir, err)
		}
	}
	// Create all 256 shard directories up front and make their entries
	// durable once, so that committing a blob only has to fsync the shard.
	for i := range 256 {
		if err := os.MkdirAll(filepath.Join(b.blobDir(), fmt.Sprintf("%02x", i)), 0o700); err != nil {
			return nil, fmt.Errorf("oss: create blob shard: %w", err)
		}
	}
	for _, dir := range []string{b.blobDir(), b.root, dataDir} {
		if err := syncDir(dir); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func (b *blobStore) tmpDir() string  { return filepath.Join(b.root, "tmp") }
func (b *blobStore) blobDir() string { return filepath.Join(b.root, "blobs") }

// newBlobID returns a fresh random blob name (32 hex digits).
func newBlobID() string {
	var raw [16]byte
	_, _ = rand.Read(raw[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(raw[:])
}

func validBlobID(id string) bool {
	if len(id) != 32 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil && strings.ToLower(id) == id
}

// path maps a blob id to its file, spread over 256 directories.
func (b *blobStore) path(id string) (string, error) {
	if !validBlobID(id) {
		return "", fmt.Errorf("oss: invalid blob id %q in the index", id)
	}
	return filepath.Join(b.blobDir(), id[:2], id), nil
}

// errShortBody reports a body that ended before its declared length;
// errBodyRead a body the client failed to deliver. Both are the client's
// fault, not the server's.
var (
	errShortBody = errors.New("request body length differs from Content-Length")
	errBodyRead  = errors.New("reading the request body failed")
)

// pendingBlob is a fully written, fsynced blob in tmp/ that is not yet visible.
type pendingBlob struct {
	tmpPath string
	digest  digest
}

// write streams r into a temporary file, hashing as it goes. expectedSize
// is the declared length (-1 if unknown); a body of another length fails.
func (b *blobStore) write(r io.Reader, expectedSize int64) (*pendingBlob, error) {
	f, err := os.CreateTemp(b.tmpDir(), "put-*")
	if err != nil {
		return nil, fmt.Errorf("oss: create temporary file: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	md5Hash := md5.New()
	crcHash := crc64.New(crcTable)
	src := r
	if expectedSize >= 0 {
		// Read one byte more than declared to notice an over-long body.
		src = io.LimitReader(r, expectedSize+1)
	}
	buf := make([]byte, 1<<20)
	n, err := io.CopyBuffer(io.MultiWriter(f, md5Hash, crcHash), src, buf)
	if err != nil {
		return nil, fmt.Errorf("oss: %w: %w", errBodyRead, err)
	}
	if expectedSize >= 0 && n != expectedSize {
		return nil, fmt.Errorf("oss: got %d body bytes, Content-Length says %d: %w", n, expectedSize, errShortBody)
	}
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("oss: fsync temporary file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("oss: close temporary file: %w", err)
	}
	ok = true
	p := &pendingBlob{tmpPath: f.Name(), digest: digest{Size: n, CRC64: crcHash.Sum64()}}
	copy(p.digest.MD5[:], md5Hash.Sum(nil))
	return p, nil
}

// concatFiles writes the given files one after the other into a new
// pending blob. The caller already knows the digest (CRCs combine), so
// nothing is hashed here, which lets the kernel copy file ranges directly.
func (b *blobStore) concatFiles(files []*os.File) (*pendingBlob, error) {
	f, err := os.CreateTemp(b.tmpDir(), "concat-*")
	if err != nil {
		return nil, fmt.Errorf("oss: create temporary file: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	var total int64
	for _, src := range files {
		n, err := io.Copy(f, src)
		total += n
		if err != nil {
			return nil, fmt.Errorf("oss: copy %s: %w", src.Name(), err)
		}
	}
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("oss: fsync temporary file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("oss: close temporary file: %w", err)
	}
	ok = true
	return &pendingBlob{tmpPath: f.Name(), digest: digest{Size: total}}, nil
}

// commit moves a pending blob to its final name and makes the rename durable.
func (b *blobStore) commit(p *pendingBlob) (string, error) {
	id := newBlobID()
	final, err := b.path(id)
	if err != nil {
		return "", err
	}
	dir := filepath.Dir(final)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("oss: create blob directory: %w", err)
	}
	if err := os.Rename(p.tmpPath, final); err != nil {
		return "", fmt.Errorf("oss: move blob into place: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return "", err
	}
	return id, nil
}

// discard removes a pending blob that will not be used.
func (b *blobStore) discard(p *pendingBlob) {
	if p != nil {
		_ = os.Remove(p.tmpPath)
	}
}

// hardLink gives an existing blob a second name (for CopyObject): blobs
// are immutable, so a hard link is a complete, instant copy. The caller
// holds removal (read) so the source cannot vanish meanwhile.
func (b *blobStore) hardLink(id string) (string, error) {
	src, err := b.path(id)
	if err != nil {
		return "", err
	}
	newID := newBlobID()
	dst, err := b.path(newID)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return "", fmt.Errorf("oss: create blob directory: %w", err)
	}
	if err := os.Link(src, dst); err != nil {
		return "", fmt.Errorf("oss: link blob: %w", err)
	}
	return newID, syncDir(filepath.Dir(dst))
}

// open opens a blob for reading.
func (b *blobStore) open(id string) (*os.File, error) {
	p, err := b.path(id)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("oss: open blob: %w", err)
	}
	return f, nil
}

// remove deletes blobs that the index no longer references.
func (b *blobStore) remove(ids ...string) {
	b.removal.Lock()
	defer b.removal.Unlock()
	for _, id := range ids {
		if p, err := b.path(id); err == nil {
			_ = os.Remove(p)
		}
	}
}

// sweep deletes temporary files and every blob not in referenced: the
// leftovers of writes that crashed before their index commit.
func (b *blobStore) sweep(referenced map[string]bool) (removed int, err error) {
	tmp, err := os.ReadDir(b.tmpDir())
	if err != nil {
		return 0, fmt.Errorf("oss: list temporary files: %w", err)
	}
	for _, e := range tmp {
		if os.Remove(filepath.Join(b.tmpDir(), e.Name())) == nil {
			removed++
		}
	}
	shards, err := os.ReadDir(b.blobDir())
	if err != nil {
		return removed, fmt.Errorf("oss: list blob directories: %w", err)
	}
	for _, shard := range shards {
		if !shard.IsDir() {
			continue
		}
		dir := filepath.Join(b.blobDir(), shard.Name())
		entries, err := os.ReadDir(dir)
		if err != nil {
			return removed, fmt.Errorf("oss: list blobs: %w", err)
		}
		for _, e := range entries {
			if !referenced[e.Name()] {
				if os.Remove(filepath.Join(dir, e.Name())) == nil {
					removed++
				}
			}
		}
	}
	return removed, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("oss: open directory for fsync: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("oss: fsync directory: %w", err)
	}
	return nil
}

// newMD5 is a small indirection so the multipart ETag code reads plainly.
func newMD5() hash.Hash { return md5.New() }

func jsonUnmarshal(raw []byte, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("oss: decode index record: %w", err)
	}
	return nil
}

func bytesToUint32(b []byte) uint32 {
	if len(b) != 4 {
		return 0
	}
	return binary.BigEndian.Uint32(b)
}
