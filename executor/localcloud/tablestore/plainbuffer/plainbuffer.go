// Package plainbuffer encodes and decodes Tablestore's PlainBuffer row format,
// the binary encoding the Tablestore protocol uses for rows inside protobuf
// messages (PutRow bodies, GetRange results, tunnel records, ...).
//
// A buffer is a 4-byte little-endian header (0x75) followed by rows. Each row
// is a primary key section, an optional attribute section, an optional delete
// marker, an optional extension (sequence info, used by tunnel/stream
// records) and a CRC8 row checksum; each cell carries its own CRC8 checksum.
//
// DecodeRows verifies every checksum and reports malformed input as an error
// (it never panics), so it is safe on bytes received from the network.
// EncodeRows / AppendRow always write correct checksums.
//
// The value types mirror the protocol: Value.Type is one of the Type*
// constants, integers and doubles are stored in Int/Double, booleans in Bool,
// strings and binaries in Bytes.
package plainbuffer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Header is the magic number at the start of every PlainBuffer.
const Header = 0x75

// Tags of the format.
const (
	tagRowPK          = 0x01
	tagRowData        = 0x02
	tagCell           = 0x03
	tagCellName       = 0x04
	tagCellValue      = 0x05
	tagCellType       = 0x06
	tagCellTimestamp  = 0x07
	tagDeleteMarker   = 0x08
	tagRowChecksum    = 0x09
	tagCellChecksum   = 0x0A
	tagExtension      = 0x0B
	tagSeqInfo        = 0x0C
	tagSeqInfoEpoch   = 0x0D
	tagSeqInfoTS      = 0x0E
	tagSeqInfoRowIdx  = 0x0F
	extensionLength   = 24
	seqInfoLength     = 19
	maxNameOrValueLen = 64 << 20 // sanity bound against hostile lengths
)

// ValueType is the variant type byte of a cell value.
type ValueType byte

// Variant types.
const (
	TypeInteger       ValueType = 0x0
	TypeDouble        ValueType = 0x1
	TypeBoolean       ValueType = 0x2
	TypeString        ValueType = 0x3
	TypeNull          ValueType = 0x6
	TypeBlob          ValueType = 0x7
	TypeInfMin        ValueType = 0x9
	TypeInfMax        ValueType = 0xA
	TypeAutoIncrement ValueType = 0xB
)

// String names the type as the protocol documentation does.
func (t ValueType) String() string {
	switch t {
	case TypeInteger:
		return "INTEGER"
	case TypeDouble:
		return "DOUBLE"
	case TypeBoolean:
		return "BOOLEAN"
	case TypeString:
		return "STRING"
	case TypeNull:
		return "NULL"
	case TypeBlob:
		return "BINARY"
	case TypeInfMin:
		return "INF_MIN"
	case TypeInfMax:
		return "INF_MAX"
	case TypeAutoIncrement:
		return "AUTO_INCREMENT"
	}
	return fmt.Sprintf("ValueType(0x%02x)", byte(t))
}

// CellOp is the operation byte of an UpdateRow cell (TAG_CELL_TYPE). OpPut (0)
// means that no type byte is written.
type CellOp byte

// Cell operations.
const (
	OpPut               CellOp = 0x0
	OpDeleteAllVersions CellOp = 0x1
	OpDeleteOneVersion  CellOp = 0x3
	OpIncrement         CellOp = 0x4
)

// Value is a cell value.
type Value struct {
	Type   ValueType
	Int    int64   // TypeInteger
	Double float64 // TypeDouble
	Bool   bool    // TypeBoolean
	Bytes  []byte  // TypeString, TypeBlob
}

// Int returns an integer value.
func Int(v int64) *Value { return &Value{Type: TypeInteger, Int: v} }

// String returns a string value.
func String(v string) *Value { return &Value{Type: TypeString, Bytes: []byte(v)} }

// Blob returns a binary value.
func Blob(v []byte) *Value { return &Value{Type: TypeBlob, Bytes: v} }

// Double returns a floating-point value.
func Double(v float64) *Value { return &Value{Type: TypeDouble, Double: v} }

// Bool returns a boolean value.
func Bool(v bool) *Value { return &Value{Type: TypeBoolean, Bool: v} }

// InfMin returns the INF_MIN range bound.
func InfMin() *Value { return &Value{Type: TypeInfMin} }

// InfMax returns the INF_MAX range bound.
func InfMax() *Value { return &Value{Type: TypeInfMax} }

// Equal reports whether two values have the same type and content.
func (v *Value) Equal(o *Value) bool {
	if v == nil || o == nil {
		return v == o
	}
	if v.Type != o.Type {
		return false
	}
	switch v.Type {
	case TypeInteger:
		return v.Int == o.Int
	case TypeDouble:
		return math.Float64bits(v.Double) == math.Float64bits(o.Double)
	case TypeBoolean:
		return v.Bool == o.Bool
	case TypeString, TypeBlob:
		return string(v.Bytes) == string(o.Bytes)
	}
	return true
}

// Cell is a primary-key or attribute cell.
type Cell struct {
	Name  string
	Value *Value // nil: no value section (delete operations)
	// Op is the cell operation byte; OpPut writes no type byte.
	Op           CellOp
	HasTimestamp bool
	Timestamp    int64 // milliseconds
}

// SequenceInfo is the row extension of stream/tunnel records.
type SequenceInfo struct {
	Epoch     int32
	Timestamp int64 // microseconds
	RowIndex  int32
}

// Row is one PlainBuffer row.
type Row struct {
	PrimaryKey []Cell
	Cells      []Cell
	Deleted    bool          // delete-row marker
	Extension  *SequenceInfo // optional
}

// ---- CRC8 ----

var crcTable = func() (t [256]byte) {
	for i := range t {
		x := byte(i)
		for range 8 {
			if x&0x80 != 0 {
				x = x<<1 ^ 0x07
			} else {
				x <<= 1
			}
		}
		t[i] = x
	}
	return t
}()

// crcTables[k][x] is the CRC8 state after the byte x and k zero bytes, from
// state 0 (crcTables[0] is crcTable). The CRC is linear, so eight bytes fold
// into the state as one lookup each (slicing-by-8), not eight dependent ones.
var crcTables = func() (t [8][256]byte) {
	t[0] = crcTable
	for k := 1; k < 8; k++ {
		for x := range 256 {
			t[k][x] = crcTable[t[k-1][x]]
		}
	}
	return t
}()

func crcByte(crc, b byte) byte { return crcTable[crc^b] }

func crcBytes(crc byte, bs []byte) byte {
	for ; len(bs) >= 8; bs = bs[8:] {
		crc = crcTables[7][crc^bs[0]] ^ crcTables[6][bs[1]] ^ crcTables[5][bs[2]] ^ crcTables[4][bs[3]] ^
			crcTables[3][bs[4]] ^ crcTables[2][bs[5]] ^ crcTables[1][bs[6]] ^ crcTables[0][bs[7]]
	}
	for _, b := range bs {
		crc = crcTable[crc^b]
	}
	return crc
}

// crcUint32 is crcBytes of v's four little-endian bytes.
func crcUint32(crc byte, v uint32) byte {
	return crcTables[3][crc^byte(v)] ^ crcTables[2][byte(v>>8)] ^ crcTables[1][byte(v>>16)] ^ crcTables[0][byte(v>>24)]
}

// crcUint64 is crcBytes of v's eight little-endian bytes.
func crcUint64(crc byte, v uint64) byte {
	return crcTables[7][crc^byte(v)] ^ crcTables[6][byte(v>>8)] ^ crcTables[5][byte(v>>16)] ^ crcTables[4][byte(v>>24)] ^
		crcTables[3][byte(v>>32)] ^ crcTables[2][byte(v>>40)] ^ crcTables[1][byte(v>>48)] ^ crcTables[0][byte(v>>56)]
}

func valueChecksum(crc byte, v *Value) byte {
	crc = crcByte(crc, byte(v.Type))
	switch v.Type {
	case TypeInteger:
		crc = crcUint64(crc, uint64(v.Int))
	case TypeDouble:
		crc = crcUint64(crc, math.Float64bits(v.Double))
	case TypeBoolean:
		if v.Bool {
			crc = crcByte(crc, 1)
		} else {
			crc = crcByte(crc, 0)
		}
	case TypeString, TypeBlob:
		crc = crcUint32(crc, uint32(len(v.Bytes)))
		crc = crcBytes(crc, v.Bytes)
	}
	return crc
}

// CellChecksum returns the CRC8 checksum of a cell: name, value, timestamp,
// then op (in that order, whatever the wire order).
func CellChecksum(c *Cell) byte {
	crc := crcBytes(0, []byte(c.Name))
	if c.Value != nil {
		crc = valueChecksum(crc, c.Value)
	}
	if c.HasTimestamp {
		crc = crcUint64(crc, uint64(c.Timestamp))
	}
	if c.Op != OpPut {
		crc = crcByte(crc, byte(c.Op))
	}
	return crc
}

// RowChecksum returns the CRC8 checksum of a row: the cells' checksums, then
// the delete marker flag. The extension is not covered.
func RowChecksum(r *Row) byte {
	var crc byte
	for i := range r.PrimaryKey {
		crc = crcByte(crc, CellChecksum(&r.PrimaryKey[i]))
	}
	for i := range r.Cells {
		crc = crcByte(crc, CellChecksum(&r.Cells[i]))
	}
	if r.Deleted {
		return crcByte(crc, 1)
	}
	return crcByte(crc, 0)
}

// ---- encoding ----

func appendUint32(dst []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(dst, v) }
func appendUint64(dst []byte, v uint64) []byte { return binary.LittleEndian.AppendUint64(dst, v) }

// AppendHeader appends the buffer header.
func AppendHeader(dst []byte) []byte { return appendUint32(dst, Header) }

func appendValue(dst []byte, v *Value) []byte {
	dst = append(dst, tagCellValue)
	switch v.Type {
	case TypeInteger:
		dst = appendUint32(dst, 9)
		dst = append(dst, byte(v.Type))
		dst = appendUint64(dst, uint64(v.Int))
	case TypeDouble:
		dst = appendUint32(dst, 9)
		dst = append(dst, byte(v.Type))
		dst = appendUint64(dst, math.Float64bits(v.Double))
	case TypeBoolean:
		dst = appendUint32(dst, 2)
		dst = append(dst, byte(v.Type))
		if v.Bool {
			dst = append(dst, 1)
		} else {
			dst = append(dst, 0)
		}
	case TypeString, TypeBlob:
		dst = appendUint32(dst, uint32(5+len(v.Bytes)))
		dst = append(dst, byte(v.Type))
		dst = appendUint32(dst, uint32(len(v.Bytes)))
		dst = append(dst, v.Bytes...)
	default:
		dst = appendUint32(dst, 1)
		dst = append(dst, byte(v.Type))
	}
	return dst
}

func appendCell(dst []byte, c *Cell) []byte {
	dst = append(dst, tagCell, tagCellName)
	dst = appendUint32(dst, uint32(len(c.Name)))
	dst = append(dst, c.Name...)
	if c.Value != nil {
		dst = appendValue(dst, c.Value)
	}
	if c.Op != OpPut {
		dst = append(dst, tagCellType, byte(c.Op))
	}
	if c.HasTimestamp {
		dst = append(dst, tagCellTimestamp)
		dst = appendUint64(dst, uint64(c.Timestamp))
	}
	return append(dst, tagCellChecksum, CellChecksum(c))
}

// appendCellSum is appendCell folding the cell's checksum into the row's.
func appendCellSum(dst []byte, c *Cell, rowSum *byte) []byte {
	dst = appendCell(dst, c)
	*rowSum = crcByte(*rowSum, dst[len(dst)-1])
	return dst
}

// AppendRow appends one row (without header) to dst.
func AppendRow(dst []byte, r *Row) []byte {
	// The row checksum is RowChecksum(r), folded from the cells' checksums
	// as they are written rather than computed again.
	var rowSum byte
	dst = append(dst, tagRowPK)
	for i := range r.PrimaryKey {
		dst = appendCellSum(dst, &r.PrimaryKey[i], &rowSum)
	}
	if len(r.Cells) > 0 {
		dst = append(dst, tagRowData)
		for i := range r.Cells {
			dst = appendCellSum(dst, &r.Cells[i], &rowSum)
		}
	}
	if r.Deleted {
		dst = append(dst, tagDeleteMarker)
		rowSum = crcByte(rowSum, 1)
	} else {
		rowSum = crcByte(rowSum, 0)
	}
	if r.Extension != nil {
		dst = append(dst, tagExtension)
		dst = appendUint32(dst, extensionLength)
		dst = append(dst, tagSeqInfo)
		dst = appendUint32(dst, seqInfoLength)
		dst = append(dst, tagSeqInfoEpoch)
		dst = appendUint32(dst, uint32(r.Extension.Epoch))
		dst = append(dst, tagSeqInfoTS)
		dst = appendUint64(dst, uint64(r.Extension.Timestamp))
		dst = append(dst, tagSeqInfoRowIdx)
		dst = appendUint32(dst, uint32(r.Extension.RowIndex))
	}
	return append(dst, tagRowChecksum, rowSum)
}

// cellSize bounds the encoded size of a cell.
func cellSize(c *Cell) int {
	n := 2 + 4 + len(c.Name) + 2 + 9 + 2 // tags, name, op, timestamp, checksum
	if c.Value != nil {
		n += 1 + 4 + 1 + 8 + 4 + len(c.Value.Bytes)
	}
	return n
}

// RowSize bounds the encoded size of a row (for buffer pre-sizing).
func RowSize(r *Row) int {
	n := 1 + 1 + 1 + 2 + 1 + 4 + 1 + 4 + 1 + 4 + 1 + 8 + 1 + 4
	for i := range r.PrimaryKey {
		n += cellSize(&r.PrimaryKey[i])
	}
	for i := range r.Cells {
		n += cellSize(&r.Cells[i])
	}
	return n
}

// EncodeRows returns a buffer with a header and the rows.
func EncodeRows(rows []Row) []byte {
	size := 4
	for i := range rows {
		size += RowSize(&rows[i])
	}
	dst := AppendHeader(make([]byte, 0, size))
	for i := range rows {
		dst = AppendRow(dst, &rows[i])
	}
	return dst
}

// EncodeRow returns a buffer holding one row.
func EncodeRow(r *Row) []byte { return AppendRow(AppendHeader(make([]byte, 0, 4+RowSize(r))), r) }

// ---- decoding ----

// ErrChecksum marks a checksum mismatch in a decoded buffer.
var ErrChecksum = errors.New("checksum mismatch")

type decoder struct {
	buf []byte
	pos int
	// rowSum folds the verified checksums of the current row's cells, so
	// that the row checksum needs no second pass over them.
	rowSum byte
}

func (d *decoder) errorf(format string, args ...any) error {
	return fmt.Errorf("plainbuffer: at offset %d: %s", d.pos, fmt.Sprintf(format, args...))
}

func (d *decoder) peek() (byte, bool) {
	if d.pos >= len(d.buf) {
		return 0, false
	}
	return d.buf[d.pos], true
}

func (d *decoder) byte() (byte, error) {
	if d.pos >= len(d.buf) {
		return 0, d.errorf("unexpected end of buffer")
	}
	b := d.buf[d.pos]
	d.pos++
	return b, nil
}

func (d *decoder) expect(tag byte, what string) error {
	b, err := d.byte()
	if err != nil {
		return fmt.Errorf("%w (expected %s)", err, what)
	}
	if b != tag {
		d.pos--
		return d.errorf("expected %s (tag 0x%02x), got 0x%02x", what, tag, b)
	}
	return nil
}

func (d *decoder) uint32() (uint32, error) {
	if len(d.buf)-d.pos < 4 {
		return 0, d.errorf("unexpected end of buffer reading int32")
	}
	v := binary.LittleEndian.Uint32(d.buf[d.pos:])
	d.pos += 4
	return v, nil
}

func (d *decoder) uint64() (uint64, error) {
	if len(d.buf)-d.pos < 8 {
		return 0, d.errorf("unexpected end of buffer reading int64")
	}
	v := binary.LittleEndian.Uint64(d.buf[d.pos:])
	d.pos += 8
	return v, nil
}

func (d *decoder) bytes(n uint32) ([]byte, error) {
	if n > maxNameOrValueLen || int(n) > len(d.buf)-d.pos {
		return nil, d.errorf("length %d exceeds the remaining %d bytes", n, len(d.buf)-d.pos)
	}
	b := make([]byte, n)
	copy(b, d.buf[d.pos:])
	d.pos += int(n)
	return b, nil
}

func (d *decoder) value() (*Value, error) {
	valLen, err := d.uint32()
	if err != nil {
		return nil, err
	}
	start := d.pos
	t, err := d.byte()
	if err != nil {
		return nil, err
	}
	v := &Value{Type: ValueType(t)}
	switch v.Type {
	case TypeInteger:
		u, err := d.uint64()
		if err != nil {
			return nil, err
		}
		v.Int = int64(u)
	case TypeDouble:
		u, err := d.uint64()
		if err != nil {
			return nil, err
		}
		v.Double = math.Float64frombits(u)
	case TypeBoolean:
		b, err := d.byte()
		if err != nil {
			return nil, err
		}
		v.Bool = b != 0
	case TypeString, TypeBlob:
		n, err := d.uint32()
		if err != nil {
			return nil, err
		}
		if v.Bytes, err = d.bytes(n); err != nil {
			return nil, err
		}
	case TypeNull, TypeInfMin, TypeInfMax, TypeAutoIncrement:
	default:
		return nil, d.errorf("unknown value type 0x%02x", t)
	}
	if got := d.pos - start; uint32(got) != valLen {
		return nil, d.errorf("value length prefix %d does not match the %d bytes of a %s value", valLen, got, v.Type)
	}
	return v, nil
}

func (d *decoder) cell() (Cell, error) {
	var c Cell
	if err := d.expect(tagCellName, "cell name"); err != nil {
		return c, err
	}
	n, err := d.uint32()
	if err != nil {
		return c, err
	}
	name, err := d.bytes(n)
	if err != nil {
		return c, err
	}
	c.Name = string(name)
	tag, err := d.byte()
	if err != nil {
		return c, err
	}
	if tag == tagCellValue {
		if c.Value, err = d.value(); err != nil {
			return c, err
		}
		if tag, err = d.byte(); err != nil {
			return c, err
		}
	}
	if tag == tagCellType {
		op, err := d.byte()
		if err != nil {
			return c, err
		}
		switch CellOp(op) {
		case OpDeleteAllVersions, OpDeleteOneVersion, OpIncrement:
			c.Op = CellOp(op)
		default:
			return c, d.errorf("unknown cell type 0x%02x in cell %q", op, c.Name)
		}
		if tag, err = d.byte(); err != nil {
			return c, err
		}
	}
	if tag == tagCellTimestamp {
		ts, err := d.uint64()
		if err != nil {
			return c, err
		}
		c.Timestamp, c.HasTimestamp = int64(ts), true
		if tag, err = d.byte(); err != nil {
			return c, err
		}
	}
	if tag != tagCellChecksum {
		d.pos--
		return c, d.errorf("expected cell checksum in cell %q, got tag 0x%02x", c.Name, tag)
	}
	sum, err := d.byte()
	if err != nil {
		return c, err
	}
	if want := CellChecksum(&c); sum != want {
		return c, fmt.Errorf("plainbuffer: cell %q: %w (got 0x%02x, computed 0x%02x)", c.Name, ErrChecksum, sum, want)
	}
	d.rowSum = crcByte(d.rowSum, sum)
	return c, nil
}

func (d *decoder) cells() ([]Cell, error) {
	var cells []Cell
	for {
		tag, ok := d.peek()
		if !ok || tag != tagCell {
			return cells, nil
		}
		d.pos++
		c, err := d.cell()
		if err != nil {
			return nil, err
		}
		cells = append(cells, c)
	}
}

func (d *decoder) extension() (*SequenceInfo, error) {
	if _, err := d.uint32(); err != nil { // total length, informational
		return nil, err
	}
	if err := d.expect(tagSeqInfo, "sequence info"); err != nil {
		return nil, err
	}
	if _, err := d.uint32(); err != nil {
		return nil, err
	}
	var si SequenceInfo
	if err := d.expect(tagSeqInfoEpoch, "sequence epoch"); err != nil {
		return nil, err
	}
	epoch, err := d.uint32()
	if err != nil {
		return nil, err
	}
	if err := d.expect(tagSeqInfoTS, "sequence timestamp"); err != nil {
		return nil, err
	}
	ts, err := d.uint64()
	if err != nil {
		return nil, err
	}
	if err := d.expect(tagSeqInfoRowIdx, "sequence row index"); err != nil {
		return nil, err
	}
	idx, err := d.uint32()
	if err != nil {
		return nil, err
	}
	si.Epoch, si.Timestamp, si.RowIndex = int32(epoch), int64(ts), int32(idx)
	return &si, nil
}

func (d *decoder) row() (Row, error) {
	var r Row
	d.rowSum = 0
	if err := d.expect(tagRowPK, "primary key section"); err != nil {
		return r, err
	}
	var err error
	if r.PrimaryKey, err = d.cells(); err != nil {
		return r, err
	}
	if tag, ok := d.peek(); ok && tag == tagRowData {
		d.pos++
		if r.Cells, err = d.cells(); err != nil {
			return r, err
		}
	}
	if tag, ok := d.peek(); ok && tag == tagDeleteMarker {
		d.pos++
		r.Deleted = true
	}
	if tag, ok := d.peek(); ok && tag == tagExtension {
		d.pos++
		if r.Extension, err = d.extension(); err != nil {
			return r, err
		}
	}
	if err := d.expect(tagRowChecksum, "row checksum"); err != nil {
		return r, err
	}
	sum, err := d.byte()
	if err != nil {
		return r, err
	}
	// RowChecksum(&r), from the cells' checksums verified above.
	want := crcByte(d.rowSum, 0)
	if r.Deleted {
		want = crcByte(d.rowSum, 1)
	}
	if sum != want {
		return r, fmt.Errorf("plainbuffer: row: %w (got 0x%02x, computed 0x%02x)", ErrChecksum, sum, want)
	}
	return r, nil
}

// DecodeRows decodes a buffer (header and zero or more rows), verifying all
// checksums. An empty input decodes to no rows. Zero bytes after the last row
// are padding and ignored (see zeroPadding).
func DecodeRows(buf []byte) ([]Row, error) {
	if len(buf) == 0 {
		return nil, nil
	}
	d := &decoder{buf: buf}
	h, err := d.uint32()
	if err != nil {
		return nil, err
	}
	if h != Header {
		return nil, fmt.Errorf("plainbuffer: invalid header 0x%x (want 0x%x)", h, Header)
	}
	var rows []Row
	for d.pos < len(d.buf) && !zeroPadding(d.buf[d.pos:]) {
		r, err := d.row()
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", len(rows), err)
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// zeroPadding reports whether the rest of a buffer is zero bytes only. The
// Node.js SDK (npm tablestore 5.6.5, lib/protocol/plian_buffer_builder.js)
// allocates its buffer from a size estimate that over-counts some cells
// (INF_MIN/INF_MAX/PK_AUTO_INCR values, cell timestamps, delete-one-version
// cells), zero-fills it and sends it whole; the real service accepts such
// requests. A row starts with tag 0x01, so zero bytes can never be a row.
func zeroPadding(rest []byte) bool {
	for _, b := range rest {
		if b != 0 {
			return false
		}
	}
	return true
}

// DecodeRow decodes a buffer that must hold exactly one row.
func DecodeRow(buf []byte) (Row, error) {
	rows, err := DecodeRows(buf)
	if err != nil {
		return Row{}, err
	}
	if len(rows) != 1 {
		return Row{}, fmt.Errorf("plainbuffer: expected exactly one row, found %d", len(rows))
	}
	return rows[0], nil
}

// ---- walking trusted rows ----

// WalkPutRow walks a buffer holding exactly one row (header included)
// without decoding it, and reports whether the row has the shape of a put
// record: primary-key cells with a value only, attribute cells each with a
// value and a timestamp and no cell type, no delete marker, no extension. It
// calls fn for each attribute cell in order with the cell's name (aliasing
// buf) and timestamp; fn returning false ends the walk with false.
//
// Checksums are not verified and values are skipped by their length prefix:
// the walk is for trusted bytes written by AppendRow (the local storage's
// own rows), served as they are to a reader that verifies them. Malformed
// input gives false, never a panic.
func WalkPutRow(buf []byte, fn func(name []byte, timestamp int64) bool) bool {
	w := walker{buf: buf}
	if h, ok := w.uint32(); !ok || h != Header || !w.take(tagRowPK) {
		return false
	}
	keys := 0
	for w.take(tagCell) {
		if _, hasTs, _, ok := w.cell(); !ok || hasTs {
			return false
		}
		keys++
	}
	if keys == 0 {
		return false
	}
	if w.take(tagRowData) {
		cells := 0
		for w.take(tagCell) {
			name, hasTs, ts, ok := w.cell()
			if !ok || !hasTs || !fn(name, ts) {
				return false
			}
			cells++
		}
		if cells == 0 { // AppendRow writes no attribute section without cells
			return false
		}
	}
	if !w.take(tagRowChecksum) || !w.skip(1) {
		return false
	}
	return w.pos == len(w.buf)
}

// walker reads a trusted buffer without allocating; every method reports
// running out of bytes instead of panicking.
type walker struct {
	buf []byte
	pos int
}

// take consumes the next byte if it is tag.
func (w *walker) take(tag byte) bool {
	if w.pos < len(w.buf) && w.buf[w.pos] == tag {
		w.pos++
		return true
	}
	return false
}

func (w *walker) skip(n int) bool {
	if n < 0 || n > len(w.buf)-w.pos {
		return false
	}
	w.pos += n
	return true
}

func (w *walker) uint32() (uint32, bool) {
	if len(w.buf)-w.pos < 4 {
		return 0, false
	}
	v := binary.LittleEndian.Uint32(w.buf[w.pos:])
	w.pos += 4
	return v, true
}

func (w *walker) uint64() (uint64, bool) {
	if len(w.buf)-w.pos < 8 {
		return 0, false
	}
	v := binary.LittleEndian.Uint64(w.buf[w.pos:])
	w.pos += 8
	return v, true
}

// cell walks a cell after its tagCell: a name, a value (required), no cell
// type, an optional timestamp and the checksum.
func (w *walker) cell() (name []byte, hasTs bool, ts int64, ok bool) {
	if !w.take(tagCellName) {
		return nil, false, 0, false
	}
	n, ok := w.uint32()
	if !ok || n > maxNameOrValueLen {
		return nil, false, 0, false
	}
	start := w.pos
	if !w.skip(int(n)) {
		return nil, false, 0, false
	}
	name = w.buf[start:w.pos]
	if !w.take(tagCellValue) {
		return nil, false, 0, false
	}
	if n, ok = w.uint32(); !ok || n == 0 || n > maxNameOrValueLen || !w.skip(int(n)) {
		return nil, false, 0, false
	}
	if w.take(tagCellTimestamp) {
		u, ok := w.uint64()
		if !ok {
			return nil, false, 0, false
		}
		hasTs, ts = true, int64(u)
	}
	if !w.take(tagCellChecksum) || !w.skip(1) {
		return nil, false, 0, false
	}
	return name, hasTs, ts, true
}

// ---- stream records from stored change rows ----

// StreamRowShape describes a one-row buffer that AppendStreamRecord accepted.
type StreamRowShape struct {
	Deleted bool // the row ends with a delete marker
	Cells   int  // attribute cells
}

// ExtensionSize is the number of bytes a row's sequence extension takes.
const ExtensionSize = 1 + 4 + extensionLength

// AppendStreamRecord appends to dst the one-row buffer row (header included)
// with the sequence extension seq inserted before the row checksum. For a row
// that AppendRow wrote without an extension, these are exactly the bytes
// AppendRow writes for the same row with Extension set: the extension comes
// last before the checksum and the row checksum does not cover it.
//
// It accepts only the rows a stream record carries unchanged: primary-key
// cells with a value and nothing else; attribute cells that are puts (value
// and timestamp), delete-one-version (cell type and timestamp, no value) or
// delete-all-versions (cell type only); an optional delete marker; no
// extension. For anything else (or malformed bytes) it returns dst unchanged
// and false, and the caller decodes the row instead. Checksums are not
// verified: the row is the local storage's own, written by AppendRow, and the
// reader verifies them.
func AppendStreamRecord(dst, row []byte, seq *SequenceInfo) ([]byte, StreamRowShape, bool) {
	shape, ok := walkStreamRow(row)
	if !ok {
		return dst, shape, false
	}
	body := row[:len(row)-2] // without tagRowChecksum and the checksum byte
	dst = append(dst, body...)
	dst = append(dst, tagExtension)
	dst = appendUint32(dst, extensionLength)
	dst = append(dst, tagSeqInfo)
	dst = appendUint32(dst, seqInfoLength)
	dst = append(dst, tagSeqInfoEpoch)
	dst = appendUint32(dst, uint32(seq.Epoch))
	dst = append(dst, tagSeqInfoTS)
	dst = appendUint64(dst, uint64(seq.Timestamp))
	dst = append(dst, tagSeqInfoRowIdx)
	dst = appendUint32(dst, uint32(seq.RowIndex))
	return append(dst, row[len(row)-2:]...), shape, true
}

// walkStreamRow checks the shape AppendStreamRecord accepts.
func walkStreamRow(buf []byte) (StreamRowShape, bool) {
	var shape StreamRowShape
	w := walker{buf: buf}
	if h, ok := w.uint32(); !ok || h != Header || !w.take(tagRowPK) {
		return shape, false
	}
	keys := 0
	for w.take(tagCell) {
		if c, ok := w.anyCell(); !ok || !c.hasValue || c.hasOp || c.hasTs {
			return shape, false
		}
		keys++
	}
	if keys == 0 {
		return shape, false
	}
	if w.take(tagRowData) {
		for w.take(tagCell) {
			c, ok := w.anyCell()
			if !ok || !c.streamShaped() {
				return shape, false
			}
			shape.Cells++
		}
		if shape.Cells == 0 { // AppendRow writes no attribute section without cells
			return shape, false
		}
	}
	shape.Deleted = w.take(tagDeleteMarker)
	if !w.take(tagRowChecksum) || !w.skip(1) {
		return shape, false
	}
	return shape, w.pos == len(w.buf)
}

// streamCell is what walker.anyCell saw of a cell.
type streamCell struct {
	hasValue, hasOp, hasTs bool
	op                     CellOp
}

// streamShaped reports whether a stream record carries the attribute cell as
// it is: a put with a timestamp, a delete-one-version with a timestamp, a
// delete-all-versions without one.
func (c streamCell) streamShaped() bool {
	switch {
	case c.hasValue:
		return !c.hasOp && c.hasTs
	case c.hasOp && c.op == OpDeleteOneVersion:
		return c.hasTs
	case c.hasOp && c.op == OpDeleteAllVersions:
		return !c.hasTs
	}
	return false
}

// anyCell walks a cell after its tagCell in AppendCell's order: a name, an
// optional value, an optional cell type, an optional timestamp, the checksum.
func (w *walker) anyCell() (streamCell, bool) {
	var c streamCell
	if !w.take(tagCellName) {
		return c, false
	}
	n, ok := w.uint32()
	if !ok || n > maxNameOrValueLen || !w.skip(int(n)) {
		return c, false
	}
	if w.take(tagCellValue) {
		if n, ok = w.uint32(); !ok || n == 0 || n > maxNameOrValueLen || !w.skip(int(n)) {
			return c, false
		}
		c.hasValue = true
	}
	if w.take(tagCellType) {
		if w.pos >= len(w.buf) {
			return c, false
		}
		c.hasOp, c.op = true, CellOp(w.buf[w.pos])
		w.pos++
	}
	if w.take(tagCellTimestamp) {
		if !w.skip(8) {
			return c, false
		}
		c.hasTs = true
	}
	if !w.take(tagCellChecksum) || !w.skip(1) {
		return c, false
	}
	return c, true
}
