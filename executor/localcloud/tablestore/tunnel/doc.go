// Package tunnel is the local cloud's Tablestore Tunnel service: the
// /tunnel/<op> endpoints (create, delete, list, describe, connect, heartbeat,
// shutdown, getcheckpoint, readrecords, checkpoint, schedule, getrpo,
// getrpobyoffset) that the unmodified official SDK package
// github.com/aliyun/aliyun-tablestore-go-sdk/tunnel (TunnelClient,
// NewTunnelDaemon / NewTunnelWorker with a ChannelProcessor) consumes.
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
// # Tunnel types and channels
//
// A tunnel has one channel per table shard and phase:
//
//   - BaseData (a full export): one "BaseData" channel per shard reads the
//     shard of a consistent snapshot taken when the tunnel is created, page by
//     page, and ends with the "finished" token. The snapshot is released once
//     every base channel is TERMINATED.
//   - Stream (incremental): one "Stream" channel per shard reads the shard's
//     change log from the tunnel's creation (flag LATEST), from the oldest
//     retained change (EARLIEST) or from startOffset; with an endOffset the
//     channel finishes once it reaches it.
//   - BaseAndStream (differential): base channels first; the stream channels
//     stay WAIT (not handed out) until every base channel is TERMINATED, and
//     each then starts exactly after the change-log position its shard's
//     snapshot includes, so no change is lost or repeated at the switch.
//
// Channel ids are "<kind>_<tunnel id>_<shard>", e.g.
// "Stream_1b4e28ba-2fa1-11d2-883f-0016d3cca427_3": the shard number is the
// decimal after the last underscore (ChannelShard parses it). The base and
// the stream channel of one shard share it, which is what consumers use as a
// stable writer identity (the delivery pipeline's ConcurrentID).
//
// # Records and sequence information
//
// ReadRecords answers at most Config.MaxRecordsPerRead records (1000) or
// about Config.MaxBytesPerRead bytes (4 MiB), whichever comes first. Every
// record is a one-row PlainBuffer carrying the row extension with sequence
// information (epoch 0, timestamp, row index), also base records (which the
// real service leaves without), so that consumers can drop re-delivered
// records by comparing (timestamp, row index) per shard:
//
//   - Stream records: timestamp = the write time in Unix microseconds, never
//     decreasing within a channel (an earlier write time is raised to the
//     previous record's); records with equal timestamps get consecutive row
//     indexes. The last (timestamp, row index) travels in the token, so a
//     re-read from any checkpoint numbers records identically.
//   - Base records: record k (0-based, in primary-key order) of a shard's
//     snapshot gets timestamp BaseTs + k>>31 and row index k mod 2^31, where
//     BaseTs lies 1025 µs before the snapshot was taken. Shards of up to
//     1024·2^31 rows therefore stay strictly before the snapshot instant, and
//     the stream records of the same shard (starting no lower than
//     BaseTs+1024) always sort after its base records.
//
// PUT records carry every column with its timestamp (ms); UPDATE records
// carry puts, delete-one-version (with timestamp) and delete-all-versions
// cells; DELETE records carry the primary key and the delete marker.
//
// # Tokens and checkpoints
//
// Tokens are base64 protocol.Token (version 2) messages as the SDK parses
// them: base tokens hold the snapshot position and row count with no
// iterator (so the SDK reads base channels without back-off), stream tokens
// an iterator "s:<after seq>:<last row index>". Checkpoints (token and
// sequence number) are stored per channel; a checkpoint must carry a sequence
// number above the stored one (else 400 OTSSequenceNumberNotMatch), and is
// accepted from the channel's owner or, while nobody else holds the channel,
// from its previous owner (the SDK flushes final checkpoints after it gave a
// channel up or even after /tunnel/shutdown).
//
// # Distribution
//
// Each heartbeat adopts the client's newer channel states (CLOSE releases a
// channel, TERMINATED finishes it for good), then balances: the assignable
// channels are split evenly over the live clients (sorted by id); a client
// over its share gets its surplus as CLOSING (version+1) and releases it with
// CLOSE; a client under its share takes unowned channels (OPEN, version+1).
// The answer lists all channels the client owns, as OPEN or CLOSING; WAIT,
// CLOSE and TERMINATED channels are never sent. A client that misses its
// heartbeat timeout (its client_config.timeout, or Config.ClientTimeout) is
// dropped and its channels are released; its later calls get 410
// OTSResourceGone. Channels given up by /tunnel/shutdown are held back for
// Config.ShutdownGrace so the final checkpoints land first. Unknown tunnels
// get 400 OTSParameterInvalid, which stops the SDK daemon.
//
// # Persistence
//
// Each tunnel (its channels with status, version, owner and checkpoint) is
// one JSON document in the kv bucket "tunnel/tunnels", rewritten on every
// change. Connected clients are not persisted: after a restart every channel
// is free, a worker that outlived the server gets 410 on its next call (its
// daemon reconnects), and the next owner resumes from the stored checkpoint.
//
// # Describe and RPO
//
// Describe reports the stage (ProcessBaseData, then ProcessStream for
// BaseAndStream; a finished BaseData tunnel stays in ProcessBaseData with
// every channel TERMINATED), and per channel its type, status (WAIT, OPEN,
// CLOSING, CLOSE = unowned, TERMINATED), owner client id (which starts with
// the worker's client tag, i.e. its host name), channel_count = records
// covered by the last checkpoint, and channel_rpo = the sequence timestamp of
// the last checkpoint in Unix milliseconds. tunnel_rpo is the smallest
// channel_rpo of the unfinished channels. GetRpo reports the same per channel.
package tunnel
