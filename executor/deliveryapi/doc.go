// Package deliveryapi answers the managed service's delivery task API
// (the Tablestore operations /CreateDeliveryTask, /DescribeDeliveryTask,
// /ListDeliveryTask, /DeleteDeliveryTask and /UpdateDeliveryTask of
// otsprotocol/delivery.proto) from the executor's own control plane. It is
// the tablestore.DeliveryBackend that `delivery-executor serve --embedded`
// plugs into its local Tablestore endpoint, and it calls the same methods
// of api.Server that POST/GET/PATCH/DELETE /v1/tasks call, so validation,
// the INIT lifecycle and every refusal are shared: a task is one task
// whichever door created it.
//
// # Mapping
//
//	wire (delivery.proto)                       task (REST TaskSpec / status)
//	tableName / taskName                        table / name
//	taskType BASE, INC, BASE_INC                sync_mode full, incremental, differential (absent: differential)
//	ossPrefix                                   prefix (time variables $yyyy $MM $dd $HH $mm)
//	ossBucket                                   bucket
//	ossEndpoint oss-<r>.aliyuncs.com,           region <r>; the executor's own OSS address for its region
//	            oss-<r>-internal.aliyuncs.com     (scheme optional); Describe returns oss-<region>.aliyuncs.com
//	ossStsRole                                  role_arn (the role's ARN; empty: the default role)
//	eventTimeColumn{columnName, timeFormat}     event_time_column{name, format RFC822 RFC850 RFC1123 RFC3339 Unix}
//	format Parquet                              format parquet
//	schema[]{columnName, ossColumnName,         schema_mode manual, columns[]{source, name, type, encoding};
//	         type, encode}                        an empty schema is schema_mode auto
//	  type BOOL INT64 UTF8 DOUBLE                 BOOL INT64 UTF8 DOUBLE (BINARY: Describe sends UTF8, typeExtend "BINARY")
//	  encode PLAIN … DELTA_LENGTH_BYTE_ARRAY      the same names
//	ossDirtyPrefix                              dirty_prefix
//	task_sync_stat.task_sync_phase              status.phase INIT, FULL, INCR; FINISHED → FULL
//	task_sync_stat.current_sync_timestamp       status.current_sync_timestamp_ns (nanoseconds since the epoch)
//	task_sync_stat.error_code                   status.error_code UnAuthorized → UNAUTHORIZED,
//	                                              InvalidOssBucket → INVALID_OSS_BUCKET, others → absent
//	task_sync_stat.detail                       status.error_detail (prefixed with our code when it has no wire value)
//
// # Choices where the protocol is silent
//
//   - Errors: an unknown table or task is OTSObjectNotExist (404), a task
//     name already used for the table OTSObjectAlreadyExist (409), a
//     rejected field OTSParameterInvalid (400) whose message names the wire
//     field, the REST field and the rule ("taskConfig.ossBucket (bucket):
//     … (rule: bucket_format)"). These are the codes the protocol uses for
//     tables (wire-protocol.md section D suggests them; the SDKs document
//     none for delivery tasks).
//   - Delete during INIT: the reference only says deleting an initializing
//     task "returns an error, delete it later". It is OTSParameterInvalid
//     (400), a code the SDKs never retry, so the caller sees the refusal at
//     once, with the message "task <table>/<name> is initializing; delete it
//     later …". As on the REST API, a task whose initialization is stuck on
//     an error can always be deleted.
//   - ossEndpoint: any other value, or a region other than the instance's,
//     is OTSParameterInvalid naming taskConfig.ossEndpoint. The executor
//     stores the region, not the endpoint text, so Describe returns the
//     public endpoint name of the region (an -internal name comes back
//     without -internal).
//   - An absent taskType (the Go SDK always sends one) is BASE_INC, the
//     reference's default. An enum value the protocol does not define
//     (taskType, format, schema type or encode, timeFormat) is refused
//     naming the field, instead of being read as absent.
//   - Parquet types the wire lists but the executor does not write (DATE,
//     DECIMAL, TIME_*, TIMESTAMP_*, LIST, MAP, INTERVAL, FLOAT, INT32,
//     INT96) and a non-empty typeExtend are refused naming the column,
//     except typeExtend "BINARY" on a UTF8 column: that is how Describe
//     sends this project's BINARY columns (the wire has no BINARY type), so
//     a described configuration can be sent back unchanged.
//   - formatter (only YDMFormatter exists) is accepted and ignored.
//   - ListDeliveryTask needs a table name (the REST API can list all
//     tables' tasks; the wire call is per table): an empty one is
//     OTSParameterInvalid.
//   - Statuses without a wire value: FINISHED (a full task that delivered
//     the whole table) is phase FULL with detail "FINISHED: …"; the error
//     codes SourceTableMissing, SchemaResolutionFailed and InternalError
//     leave error_code absent and put "<code>: <detail>" into detail.
//   - UpdateDeliveryTask changes what PATCH /v1/tasks may change: of the
//     wire fields, ossStsRole (role_arn) and ossDirtyPrefix (dirty_prefix).
//     Every other field present in taskConfig must equal the stored value,
//     else it is refused as OTSParameterInvalid naming it (rule immutable);
//     absent fields are left as they are.
//   - Describe always sends taskConfig (the Go SDK dereferences it) and
//     task_sync_stat; an auto-schema task's schema is empty, as created.
package deliveryapi
