// Package task is the delivery task model shared by the executor's API, its
// pipelines, its Go client and the Terraform provider: the task specification
// and its defaults, the validation rules, the status the pipelines report,
// prefix templates and object naming, and the DDL statements derived from a
// task. It is pure: no I/O happens here, so every rule can be checked at plan
// time by the provider with the same wording the API uses.
package task

import (
	"time"
)

// SyncMode says which part of a table's history a task delivers.
type SyncMode string

// Sync modes. The wire names of the reference service are given for each.
const (
	// SyncFull scans the whole table once and then finishes (wire: BASE).
	SyncFull SyncMode = "full"
	// SyncIncremental delivers only changes made after the task starts (wire: INC).
	SyncIncremental SyncMode = "incremental"
	// SyncDifferential scans the table and then follows its changes with nothing
	// lost in between (wire: BASE_INC). It is the default.
	SyncDifferential SyncMode = "differential"
)

// SyncModes lists the accepted sync modes.
var SyncModes = []SyncMode{SyncFull, SyncIncremental, SyncDifferential}

// SchemaMode says who picks the delivered columns.
type SchemaMode string

// Schema modes.
const (
	// SchemaAuto lets the executor resolve the columns from the table: primary
	// key, defined columns, then columns inferred from a sample of rows.
	SchemaAuto SchemaMode = "auto"
	// SchemaManual delivers exactly the columns listed in the task, in order.
	SchemaManual SchemaMode = "manual"
)

// SchemaModes lists the accepted schema modes.
var SchemaModes = []SchemaMode{SchemaAuto, SchemaManual}

// FormatParquet is the only delivery format.
const FormatParquet = "parquet"

// ColumnType is the destination (Parquet) type of a delivered column.
type ColumnType string

// Column types. BOOL, INT64, DOUBLE and UTF8 are the reference's documented
// mapping; BINARY is this project's extension for Tablestore BINARY values,
// written as a Parquet BYTE_ARRAY without a logical type.
const (
	TypeBool   ColumnType = "BOOL"
	TypeInt64  ColumnType = "INT64"
	TypeDouble ColumnType = "DOUBLE"
	TypeUTF8   ColumnType = "UTF8"
	TypeBinary ColumnType = "BINARY"
)

// ColumnTypes lists the accepted column types.
var ColumnTypes = []ColumnType{TypeBool, TypeInt64, TypeDouble, TypeUTF8, TypeBinary}

// Encoding is the Parquet encoding of a delivered column.
type Encoding string

// Encodings as named on the reference's wire.
const (
	EncodingPlain                Encoding = "PLAIN"
	EncodingPlainDictionary      Encoding = "PLAIN_DICTIONARY"
	EncodingDeltaBinaryPacked    Encoding = "DELTA_BINARY_PACKED"
	EncodingDeltaByteArray       Encoding = "DELTA_BYTE_ARRAY"
	EncodingDeltaLengthByteArray Encoding = "DELTA_LENGTH_BYTE_ARRAY"
	defaultEncoding              Encoding = EncodingPlain
)

// Encodings lists every encoding name the API knows.
var Encodings = []Encoding{EncodingPlain, EncodingPlainDictionary, EncodingDeltaBinaryPacked,
	EncodingDeltaByteArray, EncodingDeltaLengthByteArray}

// EncodingsFor returns the encodings valid for a column type. PLAIN works for
// every type; dictionary encoding for everything but BOOL (a two-valued
// dictionary only costs space); delta-binary-packing only for INT64; the two
// byte-array delta encodings only for UTF8 and BINARY.
func EncodingsFor(t ColumnType) []Encoding {
	switch t {
	case TypeBool:
		return []Encoding{EncodingPlain}
	case TypeInt64:
		return []Encoding{EncodingPlain, EncodingPlainDictionary, EncodingDeltaBinaryPacked}
	case TypeDouble:
		return []Encoding{EncodingPlain, EncodingPlainDictionary}
	case TypeUTF8, TypeBinary:
		return []Encoding{EncodingPlain, EncodingPlainDictionary, EncodingDeltaByteArray, EncodingDeltaLengthByteArray}
	}
	return nil
}

// Compression is the Parquet page compression codec.
type Compression string

// Compressions. Snappy is the default: cheap to write and read, and what most
// lake engines expect.
const (
	CompressionNone   Compression = "none"
	CompressionSnappy Compression = "snappy"
	CompressionGzip   Compression = "gzip"
	CompressionZstd   Compression = "zstd"
)

// Compressions lists the accepted codecs.
var Compressions = []Compression{CompressionNone, CompressionSnappy, CompressionGzip, CompressionZstd}

// TimeFormat is the format of an event time column's values.
type TimeFormat string

// Event time formats. Unix is seconds since the epoch, given as an integer or
// as a decimal string.
const (
	TimeRFC822  TimeFormat = "RFC822"
	TimeRFC850  TimeFormat = "RFC850"
	TimeRFC1123 TimeFormat = "RFC1123"
	TimeRFC3339 TimeFormat = "RFC3339"
	TimeUnix    TimeFormat = "Unix"
)

// TimeFormats lists the accepted event time formats.
var TimeFormats = []TimeFormat{TimeRFC822, TimeRFC850, TimeRFC1123, TimeRFC3339, TimeUnix}

// Defaults filled in by ApplyDefaults and returned by the server.
const (
	DefaultSyncMode             = SyncDifferential
	DefaultFormat               = FormatParquet
	DefaultCompression          = CompressionSnappy
	DefaultFlushIntervalSeconds = 120
	DefaultTargetObjectSizeMB   = 64
	DefaultTimeZone             = "UTC"

	MinFlushIntervalSeconds = 1
	MaxFlushIntervalSeconds = 3600
	MinTargetObjectSizeMB   = 1
	MaxTargetObjectSizeMB   = 1024
)

// DefaultRoleName is the name of the service role a delivery task uses when
// none is given, as in the reference.
const DefaultRoleName = "AliyunServiceRoleForOTSDataDelivery"

// DefaultAccountID is the account id in role ARNs of the embedded (local)
// setup, where no real Alibaba Cloud account exists.
const DefaultAccountID = "1000000000000001"

// RoleARN returns the ARN of a role: acs:ram::<account>:role/<lower-cased name>.
func RoleARN(accountID, roleName string) string {
	return "acs:ram::" + accountID + ":role/" + toLower(roleName)
}

func toLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// Column maps one source column to one delivered Parquet column.
type Column struct {
	// Source is the Tablestore column (primary key or attribute) read.
	Source string `json:"source"`
	// Name is the Parquet column name; it defaults to Source.
	Name string `json:"name"`
	// Type is the Parquet type; a value of another type is dirty data.
	Type ColumnType `json:"type"`
	// Encoding is the Parquet encoding; it defaults to PLAIN.
	Encoding Encoding `json:"encoding"`
	// AddedAt is when the executor started writing the column; it is set
	// on status.resolved_columns only (a spec's columns ignore it).
	AddedAt *time.Time `json:"added_at,omitempty"`
}

// EventTimeColumn names a column whose values give the time used for the
// prefix's time variables instead of the row's write time.
type EventTimeColumn struct {
	Name   string     `json:"name"`
	Format TimeFormat `json:"format"`
}

// Spec is what a user asks for: the TaskSpec of the REST API.
type Spec struct {
	Name                 string           `json:"name"`
	Table                string           `json:"table"`
	Region               string           `json:"region"`
	Bucket               string           `json:"bucket"`
	Prefix               string           `json:"prefix"`
	SyncMode             SyncMode         `json:"sync_mode"`
	RoleARN              string           `json:"role_arn"`
	Format               string           `json:"format"`
	SchemaMode           SchemaMode       `json:"schema_mode"`
	Columns              []Column         `json:"columns"`
	EventTimeColumn      *EventTimeColumn `json:"event_time_column,omitempty"`
	DirtyPrefix          string           `json:"dirty_prefix"`
	Compression          Compression      `json:"compression"`
	FlushIntervalSeconds int              `json:"flush_interval_seconds"`
	TargetObjectSizeMB   int              `json:"target_object_size_mb"`
	// TimeZone is the IANA zone the prefix's time variables are evaluated
	// in; default UTC.
	TimeZone string `json:"time_zone"`
}

// ApplyDefaults fills the fields left empty with their documented defaults:
// sync_mode differential, format parquet, schema_mode manual when columns are
// given and auto otherwise, column names equal to their sources, encodings
// PLAIN, compression snappy, flush_interval_seconds 120,
// target_object_size_mb 64, time_zone UTC, columns an empty list rather
// than null. Region
// and role_arn depend on the executor's configuration; the API fills them.
func (s *Spec) ApplyDefaults() {
	if s.SyncMode == "" {
		s.SyncMode = DefaultSyncMode
	}
	if s.Format == "" {
		s.Format = DefaultFormat
	}
	if s.SchemaMode == "" {
		if len(s.Columns) > 0 {
			s.SchemaMode = SchemaManual
		} else {
			s.SchemaMode = SchemaAuto
		}
	}
	s.ApplyColumnDefaults()
	if s.Compression == "" {
		s.Compression = DefaultCompression
	}
	if s.FlushIntervalSeconds == 0 {
		s.FlushIntervalSeconds = DefaultFlushIntervalSeconds
	}
	if s.TargetObjectSizeMB == 0 {
		s.TargetObjectSizeMB = DefaultTargetObjectSizeMB
	}
	if s.TimeZone == "" {
		s.TimeZone = DefaultTimeZone
	}
}

// ApplyColumnDefaults makes columns an empty list rather than null and
// fills each column's name (its source) and encoding (PLAIN) when empty.
func (s *Spec) ApplyColumnDefaults() {
	if s.Columns == nil {
		s.Columns = []Column{}
	}
	for i := range s.Columns {
		if s.Columns[i].Name == "" {
			s.Columns[i].Name = s.Columns[i].Source
		}
		if s.Columns[i].Encoding == "" {
			s.Columns[i].Encoding = defaultEncoding
		}
	}
}

// ID returns the task's identifier "<table>/<name>", also its import id.
func (s *Spec) ID() string { return s.Table + "/" + s.Name }

// Phase is where a task is in its life.
type Phase string

// Phases.
const (
	// PhaseInit: the task is stored; its schema and tunnel are being set up.
	PhaseInit Phase = "INIT"
	// PhaseFull: the task scans the table's existing rows.
	PhaseFull Phase = "FULL"
	// PhaseIncr: the task follows the table's changes.
	PhaseIncr Phase = "INCR"
	// PhaseFinished: a full-mode task delivered the whole table and stopped.
	// This is the project's documented end state; the reference has none.
	PhaseFinished Phase = "FINISHED"
)

// Phases lists every phase.
var Phases = []Phase{PhaseInit, PhaseFull, PhaseIncr, PhaseFinished}

// ErrorCode is a task's current runtime error, empty when healthy. Runtime
// errors never stop a task: it keeps retrying and the code clears itself once
// the cause is fixed.
type ErrorCode string

// Runtime error codes.
const (
	ErrNone ErrorCode = ""
	// ErrUnauthorized: the task's role does not exist, or OSS rejects its
	// credentials. Fix: create the delivery role (or correct its keys).
	ErrUnauthorized ErrorCode = "UnAuthorized"
	// ErrInvalidOssBucket: the bucket does not exist or is in another region.
	ErrInvalidOssBucket ErrorCode = "InvalidOssBucket"
	// ErrSourceTableMissing: the source table was deleted or cannot be read.
	ErrSourceTableMissing ErrorCode = "SourceTableMissing"
	// ErrSchemaResolution: the automatic schema could not be resolved yet
	// (for example the catalog could not be reached); initialization retries.
	ErrSchemaResolution ErrorCode = "SchemaResolutionFailed"
	// ErrInternal: any other failure; error_detail says what.
	ErrInternal ErrorCode = "InternalError"
	// ErrStreamExpired: changes the task still had to deliver were trimmed
	// from the table's stream after its retention (the tunnel is Expired,
	// or reads are refused with OTSTrimmedDataAccess). What can still be
	// read keeps being delivered; error_detail says how to recover (delete
	// and recreate the task). It stays until the task is recreated.
	ErrStreamExpired ErrorCode = "StreamExpired"
)

// ErrorCodes lists every runtime error code, the empty one included.
var ErrorCodes = []ErrorCode{ErrNone, ErrUnauthorized, ErrInvalidOssBucket, ErrSourceTableMissing,
	ErrSchemaResolution, ErrInternal, ErrStreamExpired}

// Messages for the reference's two user-facing runtime errors.
const (
	MessageUnauthorized     = "Tablestore is not authorized to deliver data to OSS."
	MessageInvalidOssBucket = "The destination OSS bucket does not exist."
)

// Status is what the executor reports about a task.
type Status struct {
	Phase Phase `json:"phase"`
	// LastSyncedAt is when delivered data was last made durable in OSS; absent
	// until the first object is written.
	LastSyncedAt *time.Time `json:"last_synced_at,omitempty"`
	// CurrentSyncTimestampNs is the source time (ns since the epoch) up to
	// which every change has been delivered, as on the reference's wire.
	CurrentSyncTimestampNs int64     `json:"current_sync_timestamp_ns"`
	ErrorCode              ErrorCode `json:"error_code"`
	ErrorDetail            string    `json:"error_detail"`
	RowsDelivered          int64     `json:"rows_delivered"`
	RowsDirty              int64     `json:"rows_dirty"`
	ObjectsWritten         int64     `json:"objects_written"`
	BytesWritten           int64     `json:"bytes_written"`
	// ResolvedColumns is the schema actually written: the manual columns, or
	// the resolved automatic schema, each with the time it was added (columns
	// appended later carry a later time). Empty while an auto task
	// initializes.
	ResolvedColumns []Column `json:"resolved_columns"`
}

// SetError records a runtime error with its detail.
func (s *Status) SetError(code ErrorCode, detail string) {
	s.ErrorCode = code
	s.ErrorDetail = detail
}

// ClearError removes a runtime error once its cause is fixed.
func (s *Status) ClearError() { s.SetError(ErrNone, "") }

// Task is a stored task: its specification and its status.
type Task struct {
	Spec
	Status    Status    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Role is a delivery service role as the API returns it: never its secret.
// The access key id is returned (it is an identifier, not a credential) so
// that a key changed outside Terraform shows as drift.
type Role struct {
	Name           string    `json:"name"`
	ARN            string    `json:"arn"`
	OSSAccessKeyID string    `json:"oss_access_key_id"`
	Description    string    `json:"description"`
	CreatedAt      time.Time `json:"created_at"`
}

// RoleInput is the body of PUT /v1/roles/{name}.
type RoleInput struct {
	OSSAccessKeyID     string `json:"oss_access_key_id"`
	OSSAccessKeySecret string `json:"oss_access_key_secret"`
	Description        string `json:"description"`
}

// DDLResponse is the body of GET /v1/tasks/{table}/{name}/ddl.
type DDLResponse struct {
	Dialect Dialect `json:"dialect"`
	// Statement creates the lake table (or view) with the current columns.
	Statement string `json:"statement"`
	// AlterStatement brings a lake table created before columns were
	// appended up to date (see AlterDDL); empty when none was appended.
	AlterStatement string `json:"alter_statement"`
}

// TaskList is the body of GET /v1/tasks.
type TaskList struct {
	Tasks []Task `json:"tasks"`
}

// RoleList is the body of GET /v1/roles.
type RoleList struct {
	Roles []Role `json:"roles"`
}
