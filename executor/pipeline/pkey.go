package pipeline

import (
	"bytes"
	"cmp"
	"fmt"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel"
)

// Key is a row's primary key as a base channel's position: its columns in
// table order. Tablestore orders rows by primary key column by column:
// integers as signed 64-bit numbers, strings and binaries bytewise.
type Key []KeyPart

// KeyPart is one primary key column's value. T is "i" (integer, in I), "s"
// (string, bytes in B) or "b" (binary, in B).
type KeyPart struct {
	T string `json:"t"`
	I int64  `json:"i,omitempty"`
	B []byte `json:"b,omitempty"`
}

// keyOf returns the primary key of a record; ok is false when the record
// has none or holds a value of a type primary keys cannot have.
func keyOf(rec *tunnel.Record) (Key, bool) {
	if rec.PrimaryKey == nil || len(rec.PrimaryKey.PrimaryKeys) == 0 {
		return nil, false
	}
	k := make(Key, 0, len(rec.PrimaryKey.PrimaryKeys))
	for _, c := range rec.PrimaryKey.PrimaryKeys {
		if c == nil {
			return nil, false
		}
		switch v := c.Value.(type) {
		case int64:
			k = append(k, KeyPart{T: "i", I: v})
		case string:
			k = append(k, KeyPart{T: "s", B: []byte(v)})
		case []byte:
			// A copy: the record's bytes may be a slice of its whole read
			// batch (tunnelrecord), which a kept key must not pin.
			k = append(k, KeyPart{T: "b", B: bytes.Clone(v)})
		default:
			return nil, false
		}
	}
	return k, true
}

// Compare orders keys column by column; a key that is a prefix of another
// comes first, and nil comes before every key. Columns of different types
// (which one table never has) order by type, so the order stays total.
func (k Key) Compare(o Key) int {
	for i := 0; i < len(k) && i < len(o); i++ {
		a, b := k[i], o[i]
		if a.T != b.T {
			return cmp.Compare(a.T, b.T)
		}
		var c int
		if a.T == "i" {
			c = cmp.Compare(a.I, b.I)
		} else {
			c = bytes.Compare(a.B, b.B)
		}
		if c != 0 {
			return c
		}
	}
	return cmp.Compare(len(k), len(o))
}

func (k Key) String() string {
	var b bytes.Buffer
	b.WriteByte('(')
	for i, p := range k {
		if i > 0 {
			b.WriteString(", ")
		}
		switch p.T {
		case "i":
			fmt.Fprint(&b, p.I)
		case "s":
			fmt.Fprintf(&b, "%q", p.B)
		default:
			fmt.Fprintf(&b, "0x%x", p.B)
		}
	}
	b.WriteByte(')')
	return b.String()
}
