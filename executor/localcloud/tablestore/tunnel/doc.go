// Package tunnel is the local cloud's Tablestore Tunnel service: the
// /tunnel/<op> endpoints (create, delete, list, describe, connect, heartbeat,
// shutdown, getcheckpoint, readrecords, checkpoint, schedule, getrpo,
// getrpobyoffset) that the unmodified official SDK package
// github.com/aliyun/aliyun-tablestore-go-sdk/tunnel (TunnelClient,
// NewTunnelDaemon / NewTunnelWorker with a ChannelProcessor) consumes. It
// behaves as Alibaba's service does wherever the SDKs or the docs show how;
// the ledger at the end lists each behaviour with its evidence.
//
// The Tablestore endpoint (package tablestore) authenticates requests and
// hands everything under /tunnel/ to a *Service, which reads the tables
// through a Source (NewStorageSource for the local storage):
//
//	var svc *tunnel.Service
//	server, _ := tablestore.New(tablestore.Config{ ...,
//		Tunnel: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { svc.ServeHTTP(w, r) }),
//	})
//	svc, _ = tunnel.New(tunnel.Config{Source: tunnel.NewStorageSource(server.Storage()), Store: kvStore, Instance: "local"})
//	defer svc.Close()
//
// # Partitions, tunnel types and channels
//
// A table is made of partitions (see package storage): one per hash shard at
// creation, each split later by partition-key range into two children, by
// POST /_admin/tables/{table}/split on the Tablestore listener or
// automatically (tablestore.Config.SplitRows). A tunnel has one channel per
// partition and phase:
//
//   - BaseData (a full export): one "BaseData" channel per partition of a
//     consistent snapshot taken when the tunnel is created. It reads the
//     partition's key range as the snapshot fixed it, in primary-key order,
//     page by page, and ends with the "finished" token; later splits do not
//     change it. The snapshot is released once every base channel is
//     TERMINATED, and the tunnel then moves to stage ProcessStream.
//   - Stream (incremental): one "Stream" channel per partition reads its
//     change log: from the tunnel's creation (flag LATEST, open partitions
//     only), or from the oldest retained change (EARLIEST or startOffset, also
//     split partitions that still hold retained changes); with an endOffset
//     the channel finishes once it reaches it.
//   - BaseAndStream (differential): base channels first; the stream channels
//     stay WAIT until every base channel is TERMINATED, and each then starts
//     exactly after the change-log position its partition's snapshot
//     includes, so no change is lost or repeated at the switch.
//
// A split ends the parent partition's change log. The parent's stream
// channel delivers what was written to it before the split and then hands
// out the "finished" token; the SDK checkpoints it and reports the channel
// TERMINATED. Every tunnel with a stream channel of the parent gets a stream
// channel for each child (noticed on the next heartbeat or describe), which
// stays WAIT until the parent's stream channel is TERMINATED and then reads
// the child's log from its first change. Stream records of a child carry the
// parent's epoch plus one.
//
// Channel ids are opaque and persisted with the tunnel: base channels
// "BaseData_<uuid>", stream channels "<uuid>". Nothing about a partition or
// the tunnel can be read from them; consumers tell base from stream channels
// by the prefix (as the SDK does) or by Describe's channel type.
//
// # Records and sequence information
//
// ReadRecords answers at most Config.MaxRecordsPerRead records (1000) or
// about Config.MaxBytesPerRead bytes (4 MiB), whichever comes first. Every
// record is a one-row PlainBuffer.
//
//   - Base records carry no row extension, so the SDK gives them no
//     SequenceInfo. Within a channel they come in strictly increasing
//     primary-key order, the order GetRange reads: column by column in
//     schema order, INTEGER as signed 64-bit, STRING and BINARY bytewise
//     (a prefix first).
//   - Stream records carry the row extension (epoch, timestamp, row index):
//     epoch = the partition's epoch (0 for unsplit partitions), timestamp =
//     the write time in Unix microseconds, never decreasing within a channel
//     (an earlier write time is raised to the previous record's); records with
//     equal timestamps get consecutive row indexes. The last (timestamp, row
//     index) travels in the token, so a re-read from any checkpoint numbers
//     records identically and the sequence strictly increases in a channel.
//
// Base records are served from the stored bytes: the local storage keeps
// each row as a one-row PlainBuffer of its primary key and every column
// version with its timestamp, which is exactly a base record, so a row whose
// versions the table's TTL and max versions all keep is copied into the
// answer without being decoded and encoded again (storage
// ScanSnapshotRecords; the bytes equal what encoding the decoded row gives,
// TestScanSnapshotRecordsAreTheEncodedRows). Other rows are trimmed first.
// Stream records are served from the stored bytes too: the change log keeps
// each change as the one-row PlainBuffer its record carries, less the
// extension, and the row checksum does not cover the extension, so the
// record is the stored row with the extension inserted before its checksum
// (plainbuffer.AppendStreamRecord; storage ReadChangeRecords). A stored row
// whose cells are not in a record's shape (the storage writes none) is decoded
// and encoded as before. The records are the bytes encoding the decoded
// change gives (TestStreamRecordsAreTheEncodedChanges,
// TestAppendStreamRecordIsAppendRowWithTheExtension).
// ReadRecords answers are encoded field by field with protowire rather than
// through the generic marshaller's adapter for the SDK's legacy message
// types, into the same bytes (TestMarshalAnswerMatchesProtoMarshal). Nothing
// on the wire changes.
//
// PUT records carry every column with its timestamp (ms); UPDATE records
// carry puts, delete-one-version (with timestamp) and delete-all-versions
// cells; DELETE records carry the primary key and the delete marker.
//
// # Tokens and checkpoints
//
// Tokens are base64 protocol.Token (version 2) messages as the SDK parses
// them. Base tokens carry no iterator (so the SDK reads base channels without
// back-off); their primary_key is the last delivered row's primary key as a
// PlainBuffer (empty at the start) and total_count the rows delivered: a
// resume cursor, so a read from a checkpoint continues strictly after that
// key. Stream tokens carry an iterator "s:<after seq>:<last row index>".
// Checkpoints (token and sequence number) are stored per channel; a
// checkpoint must carry a sequence number above the stored one (else 400
// OTSSequenceNumberNotMatch), and is accepted from the channel's owner or,
// while nobody else holds the channel, from its previous owner (the SDK
// flushes final checkpoints after it gave a channel up or even after
// /tunnel/shutdown).
//
// # Retention
//
// The change log keeps changes for tablestore.Config.ChangeRetention (7 days
// by default, flag --tablestore-stream-retention). A stream channel whose
// next change is past retention (trimmed or old enough to be) is answered
// with HTTP 400, code OTSTunnelServerUnavailable, message "OTSTrimmedDataAccess
// Requested stream data is already trimmed or does not exist.", and the
// tunnel's Expired flag turns true (for good). A channel that has read
// everything it could is not expired, however old its last change.
//
// # Distribution
//
// Each heartbeat adopts the client's newer channel states (CLOSE releases a
// channel, TERMINATED finishes it for good and may let waiting channels run),
// then balances: the assignable channels are split evenly over the live
// clients (sorted by id); a client over its share gets its surplus as
// CLOSING (version+1) and releases it with CLOSE; a client under its share
// takes unowned channels (OPEN, version+1). The answer lists all channels the
// client owns, as OPEN or CLOSING; WAIT, CLOSE and TERMINATED channels are
// never sent. A client that misses its heartbeat timeout (its
// client_config.timeout, or Config.ClientTimeout) is dropped and its channels
// are released; its later calls get 410 OTSResourceGone. Channels given up by
// /tunnel/shutdown are held back for Config.ShutdownGrace so the final
// checkpoints land first. Unknown tunnels get 400 OTSParameterInvalid, which
// stops the SDK daemon.
//
// # Persistence
//
// Each tunnel (its channels with id, partition, status, version, owner and
// checkpoint) is one JSON document in the kv bucket "tunnel/tunnels",
// rewritten on every change. Connected clients are not persisted: after a
// restart every channel is free, a worker that outlived the server gets 410
// on its next call (its daemon reconnects), and the next owner resumes from
// the stored checkpoint. Tunnels stored before partitions existed keep their
// old ids; their channels are mapped to the shards' initial partitions.
//
// # Describe and RPO
//
// Describe reports the stage (ProcessBaseData while base channels run, then
// ProcessStream, for BaseData tunnels too), Expired, create_time in ns, and
// per channel its type ("BaseData" or "Stream"), status (WAIT, OPEN, CLOSING,
// CLOSE = unowned, TERMINATED), owner client id (which starts with the
// worker's client tag, i.e. its host name), channel_count = records covered
// by the last checkpoint, and channel_rpo = the sequence timestamp of the
// last stream checkpoint in Unix nanoseconds (0 for base channels and before
// the first checkpoint). tunnel_rpo is the smallest channel_rpo of the stream
// channels that run. GetRpo reports the same per channel in milliseconds.
//
// # Ledger: behaviour and evidence
//
// GoSDK = github.com/aliyun/aliyun-tablestore-go-sdk@v1.8.0/tunnel,
// JavaSDK = github.com/aliyun/aliyun-tablestore-java-sdk, tablestore/src/
// main/java/com/alicloud/openservices/tablestore/ (tests under src/test/).
//
//   - Base records without sequence information: GoSDK model.go:268-271
//     ("SequenceInfo is nil when it is a base data record"); util.go:73-79
//     fills SequenceInfo only when the row has an extension;
//     sample/exactlyOnce/main.go:92 ("Only incremental data has
//     SequenceInfo"). The Java SDK would show 0/0/0 for any row
//     (core/protocol/PlainBufferConversion.java), so it cannot tell; we
//     follow the Go SDK and send no extension.
//   - Base channel order: no document states it. The token is the evidence:
//     JavaSDK core/protocol/tunnel_service_api.proto TokenContent{primary_key,
//     iterator, timestamp} (V2 adds total_count), and GoSDK util.go:190-199
//     treats a token without iterator as a base token, i.e. a primary-key
//     resume cursor over the channel's key range. The executor may rely ONLY
//     on "a base channel delivers its rows in strictly increasing
//     primary-key order" (so the last durable primary key recognises a
//     replay). It must not rely on identical re-reads (at-least-once,
//     help.aliyun.com/document_detail/108058.html) nor on base sequence
//     information; that local re-reads are identical (the snapshot is fixed)
//     is an implementation detail. JavaSDK tests check base records by set
//     membership only (functiontest/TestTunnelConsumer.java).
//   - Stream sequence: (epoch, timestamp, row index), compared in that order
//     (GoSDK util.go:31 StreamRecordSequenceLess, model.go:220-232). The epoch "will increment as
//     the partition splits, ensuring that the epoch of the sub-partition log
//     is definitely greater than that of its parent" (GoSDK
//     sample/exactlyOnce/main.go:137); v1.8.0 drops it when decoding
//     (util.go:75-78), so Go consumers see 0.
//   - Channel ids: "base channelId always begin with 'BaseData_'" (GoSDK
//     channel.go:108-111); a stream channel corresponds to a stream shard
//     (alibabacloud.com/help/doc-detail/176302.htm), whose ids are opaque
//     (DescribeStream docs). No real id example was found; ours are random
//     UUIDs, which no caller can parse.
//   - Stages: InitBaseDataAndStreamShard, ProcessBaseData, ProcessStream
//     (JavaSDK model/tunnel/TunnelStage.java). A BaseData tunnel enters
//     ProcessStream when its full data is consumed (JavaSDK
//     functiontest/TestTunnelConsumer.java testFuzzyConsume: "Tunnel进入增量状态时表示消费完毕",
//     polling for TunnelStage.ProcessStream). Local creation finishes its
//     initialisation synchronously, so InitBaseDataAndStreamShard is never
//     observed (the conservative reading: consumers already poll past it).
//   - Channel types and statuses are strings parsed with Java valueOf
//     (JavaSDK ResponseFactory.java createChannelType/createChannelStatus):
//     "BaseData"/"Stream"; WAIT/OPEN/CLOSING/CLOSE/TERMINATED
//     (tunnel/worker/TunnelStateMachine.java; GoSDK sample/schedule/main.go:106
//     compares with "WAIT"). The heartbeat enum has no WAIT, so WAIT channels
//     are never sent to a worker.
//   - RPO and times in nanoseconds: JavaSDK ResponseFactory.java divides
//     channel_rpo by 1000000 to get milliseconds
//     ("long rpoMillis = channelInfo.getChannelRpo() / 1000000"); 0 (1970)
//     means not applicable, as for base channels (model/tunnel/ChannelInfo.java);
//     GoSDK api.go:357 reads create_time with time.Unix(0, ns).
//   - GetRpo's JSON (RpoTime, AccessTime; GoSDK model.go:131-144) has no
//     documented unit; we answer Unix milliseconds for both, which is how
//     AccessTime reads, and note it as unknown.
//   - The "finished" token ends a channel (GoSDK model.go:18 FinishTag); the
//     SDK then reports TERMINATED (channel.go:234-236).
//   - Splits: every channel starts in WAIT and "the channel for incremental
//     data changes to the OPEN state only when the channel consumption on the
//     parent partition is terminated" (AlibabaCloudDocs/ots, intl.en-US/
//     Developer Guide/Tunnel service/Tunnel clients.md); the parent's data
//     must be read completely before its children's (Stream overview and
//     DescribeStream.md); GoSDK channel.go:108 names "parent stream
//     channel finished" as a normal end. Tablestore distributes rows to
//     partitions by ranges of the partition key (the first primary-key
//     column); rows sharing a partition-key value stay in one partition and
//     cannot be split apart; partitions are split (and merged) as they grow
//     (alibabacloud.com/help/en/tablestore/primary-keys-and-attributes;
//     help.aliyun.com/en/tablestore/support/why-do-5xx-related-errors-occur-when-i-use-tablestore).
//     Ours split at the median row's partition-key value, by the admin
//     endpoint or once a partition holds more than SplitRows rows, and a
//     partition with a single partition-key value refuses to split. One
//     deviation: a real table starts with one partition
//     (alibabacloud.com/help/en/tablestore/support/what-do-i-need-to-specify-when-i-create-a-table);
//     ours starts with --tablestore-shards partitions, each a hash shard of
//     the partition key, so that tests get several channels without
//     splitting first (--tablestore-shards 1 behaves as the real service).
//   - Retention: 7 days by default and at most ("Stream logs are retained for
//     up to seven days. The retention period for incremental tunnel logs is
//     the same", alibabacloud.com/help/en/tablestore/support/, the
//     OTSTrimmedDataAccess FAQ). A checkpoint older than retention gets code
//     OTSTunnelServerUnavailable with message "OTSTrimmedDataAccess Requested
//     stream data is already trimmed or does not exist." (same FAQ; the
//     error-code table gives HTTP 400, not retryable). The Go SDK still
//     treats the code as temporary (error.go:36-37) and retries until its
//     MaxRetryElapsedTime, then closes the channel. When exactly the real
//     service answers it is not documented; we answer only when a change the
//     reader has not read is past retention (a caught-up reader loses
//     nothing). The Expired flag (JavaSDK model/tunnel/TunnelInfo.java) is
//     documented only as "whether the data has expired"; we set it then.
//   - Not modelled: partition merges (documented, but never observed by a
//     consumer differently from a split's parent/child order), the
//     OTSTunnelExpired code (fatal in both SDKs, GoSDK daemon.go:69-75), and
//     tunnels disabled or deleted after 30 days expired.
package tunnel
