// Package tablestore is the local cloud's Tablestore-compatible endpoint: an
// http.Handler that the unmodified official Go SDK
// (github.com/aliyun/aliyun-tablestore-go-sdk) talks to as if it were Alibaba
// Cloud Tablestore. It verifies request signatures (the default V2 signing
// and the V4 signing of SDK v1.8.0) and x-ots-contentmd5, and serves the
// table operations (CreateTable, ListTable, DescribeTable, UpdateTable,
// DeleteTable, AddDefinedColumn, DeleteDefinedColumn), row operations
// (PutRow, UpdateRow, DeleteRow, GetRow, BatchGetRow, BatchWriteRow incl.
// atomic batches, GetRange incl. the SimpleRowMatrix block type) with row and
// column conditions, versions, max versions and TTL, and the Stream API
// (ListStream, DescribeStream, GetShardIterator, GetStreamRecord).
// Data lives in the kv store through package storage, which also keeps the
// tables' partitions, their change logs and the snapshots the Tunnel service
// reads.
//
// Requests under /tunnel/ are verified the same way and then handed to
// Config.Tunnel. GET /healthz answers 200 (a readiness probe for the embedding
// process; not part of the protocol). POST /_admin/tables/{table}/split
// splits a partition, from loopback clients only (see AdminTablesPath): the
// real service splits partitions by itself as tables grow, and tests need to
// make that happen.
//
// # Ledger: behaviours of the real service and their evidence
//
// SDK paths are in github.com/aliyun/aliyun-tablestore-go-sdk v1.8.0 unless
// named otherwise. `make conformance-tablestore` runs that SDK's own suites
// and the npm tablestore checks against a fresh local cloud.
//
//   - Zero bytes after the last PlainBuffer row are padding. npm tablestore
//     5.6.5 sizes its buffers by an estimate (lib/protocol/plian_buffer_builder.js
//     computePrimaryKeyValueSize, computeColumnSize, computeUpdateColumnSize)
//     that over-counts INF_MIN/INF_MAX/PK_AUTO_INCR values, cell timestamps and
//     delete-one-version cells, zero-fills it and sends it whole
//     (plain_buffer_stream.js PlainBufferOutputStream.getBuffer); its own
//     samples (samples/getRange.js, AutoIncrement.js) work against the real
//     service. Anything but zero bytes after the rows is still refused.
//   - BatchWriteRow with is_atomic: a table's rows are applied all or none
//     when they share the partition key (the first primary-key column);
//     otherwise every row of that table fails (tablestore/api_test.go:1387-1463
//     TestAtomicBatchWriteRowWithSamePartitionKey and ...DiffPartitionKey;
//     ex_aliyun_ots batch_write docs: "keep the partition key of each table ...
//     or the corresponding write operation of the table will fail"). The SDK
//     tests check only IsSucceed: the code of those row errors
//     (OTSParameterInvalid), and that rows failed because another row failed
//     carry that row's code, are our conservative choices.
//   - An explicit value for an auto-increment primary-key column needs the
//     EXPECT_EXIST condition; with IGNORE (or EXPECT_NOT_EXIST) the write fails
//     with 403 OTSConditionCheckFail (tunnel/restore/record_restore_test.go:1182-1225;
//     ex_aliyun_ots ExAliyunOts.DSL.condition docs). See storage/atomic.go.
//   - max_versions together with time_range.specific_time is refused with
//     OTSParameterInvalid; max_versions with start and end times is accepted
//     (tablestore/api_test.go:1612-1640, TestGetRange).
//   - UpdateTable with update_full_row is refused with a message containing
//     "contain updateFullRow" (tablestore/api_test.go:571-582).
//   - GetRange answers in the SimpleRowMatrix block type when
//     data_block_type_hint asks for it (tablestore/api_test.go:1465-1490,
//     TestFuzzyGetRangeMatrix; layout from tablestore/matrix.go). The checksum
//     byte at its end is undocumented and skipped by the SDK; we write a
//     CRC-32 byte of the data section (unverified).
//   - Stream API: each record carries the sequence-info extension ("extension
//     in a stream record is required", tablestore/api.go GetStreamRecord); a
//     read that finds nothing new returns the same iterator, which the SDK's
//     exhaustStreamRecords (api_test.go:2457-2484) takes as the end; a stream
//     has one shard per partition, one for a new table (TestStream); after a
//     split both children name the parent as FatherShard (tablestore/model.go:877
//     "After splitting, both newly generated shards have the same
//     FatherShard"), and the parent's shard, once read to its end, answers
//     without a next iterator ("Stream API__SDK.md": an empty
//     NextShardIterator means the shard is finished).
//     Trimmed or expired data, and iterators of a disabled stream, answer
//     404 OTSTrimmedDataAccess "Requested stream data is already trimmed or
//     does not exist." (Alibaba DataX otsstreamreader MockOTS.java; the
//     Tablestore error-code reference lists the code). Records live for the
//     stream's expiration time, bounded by the change log's retention
//     (Config.ChangeRetention, 24 h by default). A full page of records says
//     may_more_record = true without looking ahead, and GetStreamRecord of a
//     table whose name is longer than 238 characters fails with
//     OTSParameterInvalid "Invalid stream id..." (aliyun-tablestore-java-sdk
//     functiontest/APITest.java testStreamWithMayMoreRecord,
//     testStreamWithLongTableName).
//   - Exact messages the Python SDK's tests compare against the real service
//     (aliyun-tablestore-python-sdk tests/row_op_test.py,
//     tests/filter_and_condition_update_unitttest.py): "Condition check
//     failed." for every OTSConditionCheckFail; "Validate PK size fail. Input:
//     1, Meta: 2." and "Validate PK name fail. Input: PK2, Meta: PK1." for
//     OTSInvalidPK, and "Validate PK type fail. Input: VT_INTEGER, Meta:
//     VT_STRING." (aliyun-tablestore-java-sdk functiontest/DataOperationTest.java);
//     "VT_INF_MIN is an invalid type for the primary key." (OTSParameterInvalid,
//     for the whole request, batches included) when INF_MIN/INF_MAX is given
//     for a single row, and "No version condition is specified." (GetRow,
//     GetRange) / "... while querying row." (BatchGetRow)
//     (functiontest/ParameterLegalityTest.java); "Begin key must less than end key in FORWARD" / "Begin
//     key must more than end key in BACKWARD" for a GetRange whose start does
//     not come before its end (an empty range included); "No row is specified
//     in BatchWriteRow." and "No operation is specified for table: 't'." for
//     empty batch writes; "Duplicated primary key name: 'PK0'." for a
//     CreateTable repeating a key column (tests/table_operation_test.py:59-69);
//     a BatchGetRow table without rows is accepted, a BatchGetRow without
//     tables is not.
//   - Limits, with the real messages, each failing the whole request
//     (aliyun-tablestore-java-sdk functiontest/RestrictedItemTest.java): a
//     string or binary key value of at most 1024 bytes, an attribute value
//     of at most 2 MiB, at most 1024 attribute columns per written row and
//     1024 columns_to_get, 1 to 4 primary-key columns ("The number of
//     primary key columns must be in range: [1, 4]."), 100 rows per
//     BatchGetRow and 200 per BatchWriteRow. See limits.go.
//   - A BatchWriteRow may repeat a primary key within a table (the rows apply
//     in order): Alibaba's own tests do it against the real service
//     (tablestore/api_test.go:1387-1434 updates and deletes rows put earlier in
//     the same atomic batch; timeline/writer/writer_test.go), although the
//     BatchWriteRow API reference (help.aliyun.com/document_detail/27311)
//     lists repeated keys as a request error. The same reference says a batch
//     naming a missing table fails as a whole; we fail only that table's rows
//     (OTSObjectNotExist) until an SDK test shows which is right.
//   - Unknown, conservative choices: the GetShardIterator timestamp is read
//     as milliseconds and its token is refused; GetStreamRecord returns 100
//     records by default and at most 1000; shard ids are opaque strings.
//
// # Delivery task API
//
// /CreateDeliveryTask, /DescribeDeliveryTask, /ListDeliveryTask,
// /DeleteDeliveryTask and /UpdateDeliveryTask are verified like every
// request and answered by a DeliveryBackend bound with SetDeliveryBackend
// (`delivery-executor serve --embedded` binds its control plane; without
// one they answer "Unsupported operation", as `delivery-executor local`
// does). Ledger of the behaviour and its evidence (SDK paths relative to
// aliyun-tablestore-go-sdk@v1.8.0/tablestore):
//
//   - URIs and messages: api.go:60-64, otsprotocol/delivery.proto. Every
//     field is proto2 optional; UpdateDeliveryTaskRequest names its table
//     field "table" and has no client method.
//   - Describe always carries taskConfig: the client calls
//     toOSSTaskConfig(pbResp.TaskConfig) (api.go:2817), which reads
//     pbConf.Schema without a nil check (delivery_mode.go:179) and panics
//     on a nil config. The endpoint refuses to send such an answer.
//     task_sync_stat may be absent (delivery_mode.go:207-210 makes a zero
//     struct); the backend always sends it.
//   - current_sync_timestamp is passed through unconverted
//     (delivery_mode.go:212); its unit is nanoseconds since the epoch, as
//     the reference documentation of the managed service states
//     (shared/reference/delivery-reference.md).
//   - Error codes for delivery tasks are documented nowhere (SDKs or
//     docs). Chosen, as for tables: an unknown table or task
//     OTSObjectNotExist (404), a taken name OTSObjectAlreadyExist (409), a
//     rejected field or a refusal in the task's current state (deleting it
//     during INIT; the reference says only "returns an error, delete it
//     later") OTSParameterInvalid (400). None of them is retried by the SDK
//     (api.go:635-667 retries only busy/unavailable codes, and 5xx codes
//     only for idempotent reads), so a refusal reaches the caller at once.
//   - The SDK's generated enums are open: a value outside the enum (a
//     taskType of 7, an event time format of 0) arrives in the field, not
//     as an unknown field. The backend refuses such values naming the
//     field (conservative: the real service's answer is unknown).
//
// # Using the local Tablestore endpoint from your own code
//
// Start the local cloud (`delivery-executor local`), then point the official
// SDK at it like at any Tablestore instance:
//
//	import "github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"
//
//	client := tablestore.NewClient("http://127.0.0.1:8471", "local", "local-dev-key", "local-dev-secret")
//	meta := &tablestore.TableMeta{TableName: "orders"}
//	meta.AddPrimaryKeyColumn("id", tablestore.PrimaryKeyType_STRING)
//	_, err := client.CreateTable(&tablestore.CreateTableRequest{
//		TableMeta:          meta,
//		TableOption:        &tablestore.TableOption{TimeToAlive: -1, MaxVersion: 1},
//		ReservedThroughput: &tablestore.ReservedThroughput{},
//	})
//
// V4 signing works too:
//
//	cred := common.CreateByCredentials(&common.DefaultCredentials{AccessKeyID: "local-dev-key", AccessKeySecret: "local-dev-secret"}, "cn-hangzhou")
//	client := tablestore.NewClientWithCredentialsProvider("http://127.0.0.1:8471", "local", cred, nil)
package tablestore
