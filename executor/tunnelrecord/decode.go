package tunnelrecord

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel"
	"github.com/aliyun/aliyun-tablestore-go-sdk/tunnel/protocol"
)

// The batch envelope the SDK writes around the service's records
// (tunnel/util.go: writeHeaderInfo, serializeBinaryRecord).
const (
	tagVersion      = 0x1
	tagRecordCount  = 0x2
	tagActionType   = 0x3
	tagRecordLength = 0x4
	tagRecord       = 0x5

	// envelopeBytes is the least one record's envelope takes: three tags
	// and two int32s.
	envelopeBytes = 3 + 4 + 4
)

// PlainBuffer, as tunnel/protocol/plain_buffer.go reads it.
const (
	plainBufferHeader = 0x75

	tagRowPK            = 0x1
	tagRowData          = 0x2
	tagCell             = 0x3
	tagCellName         = 0x4
	tagCellValue        = 0x5
	tagCellType         = 0x6
	tagCellTimestamp    = 0x7
	tagDeleteRowMarker  = 0x8
	tagRowChecksum      = 0x9
	tagCellChecksum     = 0xA
	tagExtension        = 0xB
	tagSequenceInfo     = 0xC
	tagSequenceEpoch    = 0xD
	tagSequenceTime     = 0xE
	tagSequenceRowIndex = 0xF

	vtInteger = 0x0
	vtDouble  = 0x1
	vtBoolean = 0x2
	vtString  = 0x3
	vtBlob    = 0x7
	vtInfMin  = 0x9
	vtInfMax  = 0xA

	opDeleteAllVersions = 0x1
	opDeleteOneVersion  = 0x3
)

// maxInterned bounds the column names a Decoder keeps: a table has a few
// dozen, and a stream of ever new names must not grow it without end.
const maxInterned = 4096

// Decoder decodes batches of binary records (see the package doc). The zero
// value is not ready; use NewDecoder.
type Decoder struct {
	names map[string]*string

	// Scratch space for the record being decoded, reused from record to
	// record; each record's cells are copied from here into its batch's
	// slabs once their number is known.
	keys    []tunnel.PrimaryKeyColumn
	columns []tunnel.RecordColumn
	stamps  []int64
}

// NewDecoder returns a decoder for one channel's batches.
func NewDecoder() *Decoder {
	return &Decoder{names: make(map[string]*string)}
}

// Decode returns the records of one batch, in order: the bytes
// tunnel.ChannelContext.BinaryRecords holds when the processor was made with
// NeedBinaryRecord.
func (d *Decoder) Decode(batch []byte) ([]*tunnel.Record, error) {
	c := cursor{buf: batch, end: len(batch)}
	count, err := readBatchHeader(&c)
	if err != nil {
		return nil, err
	}
	s := newSlabs(batch, min(count, len(batch)/envelopeBytes))
	records := make([]*tunnel.Record, 0, min(count, len(batch)/envelopeBytes))
	for i := 0; i < count; i++ {
		typ, start, end, err := readEnvelope(&c)
		if err != nil {
			return nil, fmt.Errorf("tunnelrecord: record %d of %d: %w", i+1, count, err)
		}
		// The records still to come size the slabs; a count the bytes
		// cannot hold must not make them huge.
		s.left = min(count-i, (len(batch)-c.pos)/envelopeBytes+1)
		rec, ok := d.record(s, start, end, typ)
		if !ok {
			if rec, err = sdkRecord(batch[start:end], typ); err != nil {
				return nil, fmt.Errorf("tunnelrecord: record %d of %d: %w", i+1, count, err)
			}
		}
		records = append(records, rec)
	}
	return records, nil
}

func readBatchHeader(c *cursor) (int, error) {
	if tag, ok := c.byte(); !ok || tag != tagVersion {
		return 0, fmt.Errorf("tunnelrecord: batch does not start with a version tag")
	}
	version, ok := c.uint32()
	if !ok {
		return 0, fmt.Errorf("tunnelrecord: batch ends inside its header")
	}
	if version != 0 {
		return 0, fmt.Errorf("tunnelrecord: batch version %d: %w", int32(version), tunnel.ErrUnSupportRecordVersion)
	}
	if tag, ok := c.byte(); !ok || tag != tagRecordCount {
		return 0, fmt.Errorf("tunnelrecord: batch header has no record count")
	}
	count, ok := c.uint32()
	if !ok || int32(count) < 0 {
		return 0, fmt.Errorf("tunnelrecord: batch header has no valid record count")
	}
	return int(count), nil
}

// readEnvelope reads one record's action type and where its PlainBuffer
// bytes are in the batch.
func readEnvelope(c *cursor) (typ tunnel.ActionType, start, end int, err error) {
	if tag, ok := c.byte(); !ok || tag != tagActionType {
		return 0, 0, 0, tunnel.ErrUnExpectBinaryRecordTag
	}
	raw, ok := c.uint32()
	if !ok {
		return 0, 0, 0, fmt.Errorf("batch ends inside a record's action type")
	}
	pbType := protocol.ActionType(int32(raw))
	if typ, err = tunnel.ParseActionType(&pbType); err != nil {
		return 0, 0, 0, err
	}
	if tag, ok := c.byte(); !ok || tag != tagRecordLength {
		return 0, 0, 0, tunnel.ErrUnExpectBinaryRecordTag
	}
	length, ok := c.uint32()
	if !ok || int32(length) < 0 {
		return 0, 0, 0, fmt.Errorf("batch ends inside a record's length, or the length is negative")
	}
	if tag, ok := c.byte(); !ok || tag != tagRecord {
		return 0, 0, 0, tunnel.ErrUnExpectBinaryRecordTag
	}
	start = c.pos
	if !c.skip(int(length)) {
		return 0, 0, 0, fmt.Errorf("record of %d bytes runs past the batch's end", length)
	}
	return typ, start, c.pos, nil
}

// sdkRecord decodes one record with the SDK's own decoder, for what the fast
// path does not take. That decoder can panic on malformed bytes (a primary
// key cell without a value); a panic is an error here.
func sdkRecord(body []byte, typ tunnel.ActionType) (rec *tunnel.Record, err error) {
	defer func() {
		if p := recover(); p != nil {
			rec, err = nil, fmt.Errorf("the SDK's decoder failed: %v", p)
		}
	}()
	return tunnel.DeserializeRecordFromRawBytes(body, nil, typ)
}

// record decodes the record in batch[start:end] into s, or returns false
// when it is not of the shape the fast path takes (see the package doc).
func (d *Decoder) record(s *slabs, start, end int, typ tunnel.ActionType) (*tunnel.Record, bool) {
	c := cursor{buf: s.batch, pos: start, end: end}
	if h, ok := c.uint32(); !ok || h != plainBufferHeader {
		return nil, false
	}
	if tag, ok := c.byte(); !ok || tag != tagRowPK {
		return nil, false
	}
	d.keys, d.columns, d.stamps = d.keys[:0], d.columns[:0], d.stamps[:0]
	tag, ok := c.byte()
	for ok && tag == tagCell {
		cell, fine := d.cell(&c, s)
		if !fine || !cell.hasValue {
			return nil, false
		}
		d.keys = append(d.keys, tunnel.PrimaryKeyColumn{ColumnName: *cell.name, Value: cell.value})
		tag, ok = c.byte()
	}
	if ok && tag == tagRowData {
		tag, ok = c.byte()
		for ok && tag == tagCell {
			cell, fine := d.cell(&c, s)
			if !fine {
				return nil, false
			}
			d.columns = append(d.columns, tunnel.RecordColumn{Type: cell.op, Name: cell.name, Value: cell.value})
			d.stamps = append(d.stamps, cell.timestamp)
			tag, ok = c.byte()
		}
	}
	if ok && tag == tagDeleteRowMarker {
		tag, ok = c.byte()
	}
	var seq *tunnel.SequenceInfo
	if ok && tag == tagExtension {
		if seq, ok = readExtension(&c, s); ok {
			tag, ok = c.byte()
		}
	}
	if !ok || tag != tagRowChecksum {
		return nil, false
	}
	// The row's checksum, then nothing: the SDK would read further bytes
	// as more rows, which the fast path leaves to it.
	if _, ok = c.byte(); !ok || c.pos != end {
		return nil, false
	}
	return s.record(typ, seq, d.keys, d.columns, d.stamps), true
}

// decodedCell is one PlainBuffer cell as the fast path reads it.
type decodedCell struct {
	name      *string
	value     any
	hasValue  bool
	op        tunnel.RecordColumnType
	timestamp int64
}

// cell reads a cell after its TAG_CELL, through its checksum, in the order
// tunnel/protocol.readCell reads it.
func (d *Decoder) cell(c *cursor, s *slabs) (decodedCell, bool) {
	var out decodedCell
	if tag, ok := c.byte(); !ok || tag != tagCellName {
		return out, false
	}
	from, to, ok := c.sized()
	if !ok {
		return out, false
	}
	out.name = d.intern(s.text[from:to])
	tag, ok := c.byte()
	if ok && tag == tagCellValue {
		if out.value, ok = readValue(c, s); !ok {
			return out, false
		}
		out.hasValue = true
		tag, ok = c.byte()
	}
	if ok && tag == tagCellType {
		var op byte
		if op, ok = c.byte(); ok {
			switch op {
			case opDeleteAllVersions:
				out.op = tunnel.RCT_DeleteAllVersions
			case opDeleteOneVersion:
				out.op = tunnel.RCT_DeleteOneVersion
			}
			tag, ok = c.byte()
		}
	}
	if ok && tag == tagCellTimestamp {
		var ts uint64
		if ts, ok = c.uint64(); ok {
			out.timestamp = int64(ts)
			tag, ok = c.byte()
		}
	}
	if !ok || tag != tagCellChecksum {
		return out, false
	}
	_, ok = c.byte()
	return out, ok
}

// readValue reads a value after its TAG_CELL_VALUE. Its leading length is
// skipped unread, as the SDK skips it; a type the SDK does not name goes to
// the SDK's decoder (which gives it a nil value).
func readValue(c *cursor, s *slabs) (any, bool) {
	if !c.skip(4) {
		return nil, false
	}
	typ, ok := c.byte()
	if !ok {
		return nil, false
	}
	switch typ {
	case vtInteger:
		v, ok := c.uint64()
		return int64(v), ok
	case vtDouble:
		v, ok := c.uint64()
		return math.Float64frombits(v), ok
	case vtBoolean:
		v, ok := c.byte()
		return v != 0, ok
	case vtString:
		from, to, ok := c.sized()
		if !ok {
			return nil, false
		}
		return s.text[from:to], true
	case vtBlob:
		from, to, ok := c.sized()
		if !ok {
			return nil, false
		}
		return s.batch[from:to:to], true
	case vtInfMin, vtInfMax:
		return nil, true
	}
	return nil, false
}

// readExtension reads a row's extension after its TAG_EXTENSION, as
// tunnel/protocol.readRowExtension does, and returns the sequence info the
// SDK's record gets from it: timestamp and row index, no epoch.
func readExtension(c *cursor, s *slabs) (*tunnel.SequenceInfo, bool) {
	if !c.skip(4) {
		return nil, false
	}
	if tag, ok := c.byte(); !ok || tag != tagSequenceInfo || !c.skip(4) {
		return nil, false
	}
	if tag, ok := c.byte(); !ok || tag != tagSequenceEpoch || !c.skip(4) {
		return nil, false
	}
	if tag, ok := c.byte(); !ok || tag != tagSequenceTime {
		return nil, false
	}
	ts, ok := c.uint64()
	if !ok {
		return nil, false
	}
	if tag, ok := c.byte(); !ok || tag != tagSequenceRowIndex {
		return nil, false
	}
	rowIndex, ok := c.uint32()
	if !ok {
		return nil, false
	}
	return s.sequence(int64(ts), int32(rowIndex)), true
}

// intern returns the one string of a column name. name may be cut from a
// batch's text; what is kept is a copy, so that no batch stays alive for it.
func (d *Decoder) intern(name string) *string {
	if p, ok := d.names[name]; ok {
		return p
	}
	p := new(string)
	if len(d.names) >= maxInterned {
		*p = name
		return p
	}
	*p = strings.Clone(name)
	d.names[*p] = p
	return p
}

// cursor reads little-endian PlainBuffer fields from buf[pos:end]; every
// read says whether the bytes were there.
type cursor struct {
	buf      []byte
	pos, end int
}

func (c *cursor) byte() (byte, bool) {
	if c.pos >= c.end {
		return 0, false
	}
	b := c.buf[c.pos]
	c.pos++
	return b, true
}

func (c *cursor) uint32() (uint32, bool) {
	if c.end-c.pos < 4 {
		return 0, false
	}
	v := binary.LittleEndian.Uint32(c.buf[c.pos:])
	c.pos += 4
	return v, true
}

func (c *cursor) uint64() (uint64, bool) {
	if c.end-c.pos < 8 {
		return 0, false
	}
	v := binary.LittleEndian.Uint64(c.buf[c.pos:])
	c.pos += 8
	return v, true
}

func (c *cursor) skip(n int) bool {
	if n < 0 || c.end-c.pos < n {
		return false
	}
	c.pos += n
	return true
}

// sized reads an int32 length and returns where that many bytes after it
// are.
func (c *cursor) sized() (from, to int, ok bool) {
	n, ok := c.uint32()
	if !ok || int32(n) < 0 || !c.skip(int(n)) {
		return 0, 0, false
	}
	return c.pos - int(n), c.pos, true
}
