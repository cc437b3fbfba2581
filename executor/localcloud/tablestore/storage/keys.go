package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/fnv"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/plainbuffer"
)

// Order-preserving primary-key encoding. Each column is encoded as a marker
// byte followed by the value:
//
//	0x00          INF_MIN (only in range bounds; sorts before every value)
//	0x01 <value>  a value
//	0x02          INF_MAX (only in range bounds; sorts after every value)
//
// Integers are 8 bytes big-endian with the sign bit flipped (so signed order
// is bytewise order). Strings and binaries are escaped (0x00 -> 0x00 0xFF)
// and terminated by 0x00 0x01, so that a prefix sorts before its extensions
// and the next column starts on a clean boundary.
const (
	markInfMin = 0x00
	markValue  = 0x01
	markInfMax = 0x02
)

func appendKeyValue(dst []byte, v *plainbuffer.Value) []byte {
	switch v.Type {
	case plainbuffer.TypeInfMin:
		return append(dst, markInfMin)
	case plainbuffer.TypeInfMax:
		return append(dst, markInfMax)
	case plainbuffer.TypeInteger:
		dst = append(dst, markValue)
		return binary.BigEndian.AppendUint64(dst, uint64(v.Int)^(1<<63))
	default: // string, blob
		dst = append(dst, markValue)
		for _, b := range v.Bytes {
			if b == 0 {
				dst = append(dst, 0x00, 0xFF)
			} else {
				dst = append(dst, b)
			}
		}
		return append(dst, 0x00, 0x01)
	}
}

// EncodeKey returns the order-preserving key of a primary key whose cells
// are in schema order (INF_MIN/INF_MAX allowed, as in range bounds).
func EncodeKey(pk []plainbuffer.Cell) []byte {
	var dst []byte
	for i := range pk {
		dst = appendKeyValue(dst, pk[i].Value)
	}
	return dst
}

// shardOf returns the shard of a row: FNV-1a of the first primary-key
// column's value, modulo the table's shard count.
func shardOf(pk []plainbuffer.Cell, shards int) int {
	h := fnv.New32a()
	v := pk[0].Value
	if v.Type == plainbuffer.TypeInteger {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], uint64(v.Int))
		h.Write(b[:])
	} else {
		h.Write(v.Bytes)
	}
	return int(h.Sum32() % uint32(shards))
}

// compareKeys orders encoded keys.
func compareKeys(a, b []byte) int { return bytes.Compare(a, b) }

func uint64Key(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func shardBucketName(shard int) string { return fmt.Sprintf("s%04d", shard) }
