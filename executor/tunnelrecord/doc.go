// Package tunnelrecord decodes the records of a Tablestore Tunnel channel
// from the binary form the official SDK hands a processor when it is asked
// for binary records (tunnel.AsyncProcessFactory{NeedBinaryRecord: true}).
//
// # Why it exists
//
// The SDK's own record decoder (tunnel.DeserializeRecordFromRawBytes, over
// tunnel/protocol's PlainBuffer reader) reads every integer through
// encoding/binary.Read, which goes by reflection, and allocates a cell, a
// name, a value holder and a record column per cell. Profiled during a full
// sync it was 40% of the executor's CPU, 3.6 µs of 8.9 µs per row, and most
// of the garbage the collector then spent another 1.2 µs on
// (docs/performance.md, "Where each microsecond per row goes"). The SDK stays
// the protocol client: it opens the channels, reads, heartbeats and
// checkpoints; this package only turns the bytes it hands over into the same
// tunnel.Record values its own decoder produces.
//
// # Same records as the SDK
//
// Decode's result equals (reflect.DeepEqual) what
// tunnel.UnSerializeBatchBinaryRecordFromBytes returns for the same bytes,
// quirks included, because the executor's guarantees were built and tested
// on that decoder's output:
//
//   - a record's SequenceInfo carries the extension's timestamp and row index
//     but not its epoch (the SDK's util.go builds SequenceInfo without it);
//     base records, which have no extension, have no SequenceInfo;
//   - every column has a Timestamp pointer, to 0 when the cell has none;
//   - a cell operation other than delete-one-version (3) or
//     delete-all-versions (1) is a put;
//   - a value's leading length is not checked, the type byte decides;
//   - checksums are read and not verified;
//   - OriginColumns stay nil (binary records carry no origin row).
//
// Anything outside the shape every record of the service has (one row with
// a primary key, optional attribute cells, delete marker and extension, and
// a checksum; values of the types the SDK names) is handed to the SDK's
// decoder for that record, so an unusual record costs time, never a
// difference. A batch the SDK could not read either is an error. Where the
// SDK would drop a malformed batch silently (its recover swallows panics that
// are not errors) this package returns an error instead: a channel that stops
// is retried, a batch that vanishes is lost.
//
// # Sharing
//
// Strings are cut from one copy of the batch and binary values are slices
// of the batch itself (capacity clipped), and records, primary keys and
// columns come from a few slabs per batch. A value therefore keeps its
// batch's memory alive: copy what you keep beyond the records' use (the
// pipeline copies values into its column buffers and keys into its
// positions). Column names are interned per Decoder, so one name is one
// string for every record of a channel. A Decoder is for one goroutine.
package tunnelrecord
