// Package pipeline delivers Tablestore tables to OSS as Parquet. For every
// task it keeps a tunnel on the source table (BaseData for full,
// Stream for incremental, BaseAndStream for differential) and consumes it
// with the official SDK's tunnel worker. The record path, top to bottom:
//
//	tunnel record → row of typed values, or dirty with a reason (record.go)
//	→ partition from the write time or the event time column (record.go)
//	→ buffer per (channel, kind, partition) (writer.go)
//	→ Parquet bytes (parquet.go) or newline-delimited JSON for dirty rows
//	→ object <prefix>/<task>_<ConcurrentID>_<prefix_>__<SequenceID>, uploaded
//	  under a journal entry (journal.go, sink.go)
//	→ tunnel checkpoint, only past records durably in OSS (writer.go).
//
// Manager implements the API's Runner (New, Start, Update, Stop, Close).
//
// # Decisions
//
//   - Writers. One writer per tunnel channel, in a writer slot (slots.go):
//     the ConcurrentID of its objects. Channel ids are opaque and never
//     parsed. Slots are taken from 0 up, the lowest free one, by a
//     conditional write to the task's journal (so executors sharing a task
//     never give one slot to two channels); a channel keeps its slot across
//     restarts and executors; a finished channel frees it and the next
//     channel continues its SequenceIDs. So N channels running at once
//     write ConcurrentIDs 0..N-1, a differential task's stream channels
//     reuse its base channels' slots, and a split adds a slot only while
//     parent and children overlap. SequenceIDs count per slot from 1 (data
//     and dirty objects each have their own series) and live in the
//     journal, so they survive restarts.
//   - Flushing. A buffer is written when its size reaches
//     target_object_size_mb (for data rows: the size of their RowBlock, a
//     pointer-free column-by-column copy, scaled by the encoded/in-memory
//     ratio the writer learnt from its objects, so the Parquet objects come
//     out near the target), when its oldest row has waited
//     flush_interval_seconds (counted from the row's write time for stream
//     records, from when it was read for base records; checked by a ticker,
//     with or without new records), when its channel finishes, or when the
//     executor's buffered bytes exceed Config.MemoryBudgetBytes: then the
//     writer that pushed past it writes its own largest buffer if that makes
//     an object of at least half the target; otherwise the writer holding
//     the executor's oldest buffer is asked to write it, and if that does
//     not bring the total under the budget within half a second, the writer
//     that pushed past it writes its own oldest buffers.
//   - Exactly once. The tunnel checkpoint never moves past a record still in
//     a buffer. Before an upload the journal records an intent (writer, kind,
//     SequenceID, key, partition, position of the buffer's newest record);
//     after it, one atomic step drops the intent and moves the partition's
//     watermark and the counters. Uploads are create-only (never replace an
//     object) and tagged with an attempt id listed in the intent. A
//     restarted writer resolves a leftover intent by looking at OSS (an
//     object of one of its attempts: commit; no object: drop it and reuse
//     the SequenceID; another writer's object: leave it, skip the
//     SequenceID) and skips replayed records at or below their partition's
//     watermark (replay.go): stream records by the (epoch, timestamp, row
//     index) sequence info the service repeats on a re-read; base records,
//     which carry no sequence info (any they carry is ignored), by primary
//     key, on the one assumption that a base channel delivers its rows in
//     strictly increasing primary-key order. That order is checked as rows
//     arrive; a channel that breaks it is logged, counted
//     (delivery_pipeline_base_order_violations_total) and marked in the
//     journal, and from then on skips nothing (at least once, never a lost
//     row). Watermarks below the tunnel checkpoint are pruned. Stream
//     records without sequence info cannot be recognised when replayed (at
//     least once). A stopping executor ends its
//     writers before it leaves the tunnel, so a channel's next owner never
//     meets an upload in flight.
//   - Failures. Uploads retry with capped exponential backoff, blocking the
//     channel (so nothing more is read or checkpointed). Rejected
//     credentials or a missing role show as UnAuthorized, a missing bucket,
//     a bucket in another region or a region without an OSS endpoint as
//     InvalidOssBucket, at once; transient failures surface as InternalError
//     only after Config.TransientGrace. Success clears the code.
//   - Status. Counters come from the journal (exact across restarts);
//     current_sync_timestamp_ns is the oldest, over the stream channels, of
//     the write time up to which everything is in OSS; last_synced_at is the
//     wall time of the last durable upload; the phase follows the tunnel
//     (FULL→INCR when every base channel is terminated, FULL→FINISHED for a
//     finished full sync, whose worker then stops).
//   - Stopping. Close (SIGTERM) first writes what is buffered and
//     checkpoints it, for at most Config.DrainTimeout; whatever is left is
//     abandoned and read again from the checkpoints later. Stop also deletes
//     the tunnel; objects are never deleted.
package pipeline
