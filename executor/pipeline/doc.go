// Package pipeline delivers Tablestore tables to OSS as Parquet. For every
// task it keeps a tunnel on the source table (BaseData for full,
// Stream for incremental, BaseAndStream for differential) and consumes it
// with the official SDK's tunnel worker. A record's path, top to bottom:
//
//	tunnel records, read by the SDK in its binary mode and decoded by
//	  tunnelrecord (the same records as the SDK's own decoder, at a
//	  quarter of its CPU), handed to the channel's processor
//	  (processor.go: one goroutine per channel owns its writer)
//	→ row of typed values, dirty with a reason, or ignored (record.go Mapper)
//	→ partition: the prefix evaluated at the write time or the event time
//	→ replay check: skipped if already in OSS before a restart (replay.go)
//	→ buffer per (channel, kind, partition) (writer.go take)
//	→ written when the flush policy (policy.go: size, age), the memory
//	  budget (budget.go) or the channel's end says so
//	→ Parquet bytes (parquet.go), or newline-delimited JSON for dirty rows
//	→ upload: journal intent → create-only upload tagged with an attempt id
//	  → commit (uploader.go, journal.go, sink.go), as object
//	  <prefix>/<task>_<ConcurrentID>_<prefix_>__<SequenceID>
//	→ tunnel checkpoint, only past batches whose every record is settled
//	  (tracker.go).
//
// Manager (manager.go) implements the API's Runner (New, Start, Update,
// Stop, Close); tunnels.go administers the tasks' tunnels and reads their
// state from DescribeTunnel; runner.go runs one task (its tunnel worker and
// channels); status.go publishes the task's status; slots.go gives channels
// their ConcurrentIDs; expiry.go notices retention expiry.
//
// # Decisions
//
//   - Base channels are read in primary-key order. Base (full data)
//     records carry no sequence info (aliyun-tablestore-go-sdk v1.8.0
//     tunnel/model.go:270-271, tunnel.Record: "SequenceInfo is nil when it
//     is a base data record"; tunnel/sample/exactlyOnce/main.go:92: "Only
//     incremental data has SequenceInfo"); any they do carry is ignored.
//     The one assumption made about a base channel is that it delivers its
//     rows in strictly increasing primary-key order (its checkpoint token is
//     a primary-key cursor); identical re-reads are not assumed. Replays are
//     recognised by primary key: a replayed base row whose key is at or
//     below its partition's committed watermark is skipped (keys compare
//     column by column: integers signed, strings and binaries bytewise). The
//     order is checked as rows arrive; a channel that breaks it is logged,
//     counted (delivery_pipeline_base_order_violations_total) and marked in
//     the journal, and from then on skips nothing: at least once, never a
//     lost row. A channel is a base channel when the SDK says it is not a
//     stream channel or its id starts with "BaseData_" (the SDK relies on
//     that prefix, tunnel/channel.go:107-112); nothing else is read from
//     channel ids. Stream channels
//     are recognised by their (epoch, timestamp, row index) sequence info,
//     which the service repeats on a re-read; stream records without it are
//     delivered at least once.
//   - Writer slots. A channel's ConcurrentID is its writer slot (slots.go),
//     never derived from its id. Slots are taken from 0 up, the lowest free
//     one, by a conditional write (ApplyIf) of cid/<channel> and slot/<n> to
//     the task's journal, so executors sharing a task through the registry
//     never give one slot to two channels. A channel keeps its slot across
//     restarts and executors; a finished channel frees it (before its
//     finish is checkpointed, so a crash cannot leak it), and the next
//     channel continues its SequenceIDs. So N channels running at once write
//     ConcurrentIDs 0..N-1, a differential task's stream channels reuse its
//     base channels' slots, and a partition split adds a slot only while
//     more channels run at once. SequenceIDs count per slot from 1 (data
//     and dirty objects each have their own series) and live in the
//     journal, so they survive restarts.
//   - Flushing. A buffer is written when its size reaches
//     target_object_size_mb (for data rows: the size of their RowBlock, a
//     pointer-free column-by-column copy, scaled by the encoded/in-memory
//     ratio the channel learnt from its objects, or from one encoding of its
//     first buffer at a quarter of the target, so the Parquet objects come
//     out near the target), when its oldest row has waited
//     flush_interval_seconds (counted from the row's write time for stream
//     records, from when it was read for base records; checked by a ticker,
//     with or without new records), when its channel finishes, or when the
//     executor's buffered bytes exceed Config.MemoryBudgetBytes: then the
//     channel that pushed past it writes its own largest buffer if that
//     makes an object of at least half the target; otherwise the channel
//     holding the executor's oldest buffer is asked to write it, and if that
//     does not bring the total under the budget within half a second, the
//     channel that pushed past it writes its own oldest buffers.
//   - Binary records. The SDK hands binary records (a read's records
//     undecoded) only to the processors its own factories make (tunnel/
//     channel.go:315 asserts *defaultProcessor), so each channel's
//     processor is AsyncProcessFactory's, with NeedBinaryRecord and
//     AlwaysCallBack; its callback decodes the read with tunnelrecord and
//     hands the records to the channel's goroutine. Being asynchronous, the
//     SDK's processor checkpoints nothing by itself: checkpoints stay the
//     writer's, for durable records only. tunnelrecord's records equal the
//     SDK decoder's (its tests compare them record for record, against the
//     local Tunnel too), so nothing downstream changed; its profile is in
//     docs/performance.md.
//   - Exactly once. The tunnel checkpoint never moves past a record still in
//     a buffer. Before an upload the journal records an intent (slot, kind,
//     SequenceID, key, partition, position of the buffer's newest record);
//     after it, one atomic step drops the intent and moves the partition's
//     watermark and the counters. Uploads are create-only (never replace an
//     object) and tagged with an attempt id listed in the intent. A
//     restarted channel resolves its slot's leftover intent by looking at
//     OSS (an object of one of its attempts: commit; no object: drop it and
//     reuse the SequenceID; another writer's object: leave it, skip the
//     SequenceID) and skips replayed records at or below their partition's
//     watermark (see the first decision). Watermarks below the tunnel
//     checkpoint are pruned, and a finished channel's are dropped. A
//     stopping executor ends its channels before it leaves the tunnel, so a
//     channel's next owner never meets an upload in flight.
//   - Failures. Uploads retry with capped exponential backoff, blocking the
//     channel (so nothing more is read or checkpointed). Rejected
//     credentials or a missing role show as UnAuthorized, a missing bucket,
//     a bucket in another region or a region without an OSS endpoint as
//     InvalidOssBucket, at once; transient failures surface as InternalError
//     only after Config.TransientGrace. Success clears the code.
//   - Retention expiry. When DescribeTunnel reports the tunnel Expired, or
//     the service refuses a channel's reads as past the retention
//     (OTSTrimmedDataAccess, as the code or leading the message of an
//     OTSTunnelServerUnavailable answer, per Alibaba's FAQ on that error; or
//     OTSTunnelExpired, tunnel/error.go:15) — seen on the tunnel client's
//     transport, since the SDK worker swallows read errors (tunnel/
//     channel.go processRecords) — the task shows StreamExpired with a
//     detail saying how to recover (recreate the task). The code stays
//     (the trimmed changes stay lost); upload errors show before it. The
//     other channels keep delivering.
//   - Status. Counters come from the journal (exact across restarts);
//     current_sync_timestamp_ns is the oldest, over the stream channels, of
//     the write time up to which everything is in OSS; last_synced_at is the
//     wall time of the last durable upload; the phase follows DescribeTunnel
//     (FULL→INCR when the stage is ProcessStream or every BaseData channel
//     is TERMINATED, FULL→FINISHED for a finished full sync, whose worker
//     then stops). Channels publish their progress as snapshots; nothing
//     reads a channel's state under a lock.
//   - Stopping. Close (SIGTERM) first writes what is buffered and
//     checkpoints it, for at most Config.DrainTimeout; whatever is left is
//     abandoned and read again from the checkpoints later. Stop also deletes
//     the tunnel; objects are never deleted.
package pipeline
