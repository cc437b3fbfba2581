package task

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// FieldError is a rejected field: which field (its JSON path, such as
// "columns[2].encoding"), which rule, and a message naming both. The API
// returns it as a 400 with the field; the provider shows the same message at
// plan time.
type FieldError struct {
	Field   string
	Rule    Rule
	Message string
}

func (e *FieldError) Error() string { return e.Message }

// Rule names a validation rule; stable, usable in tests and by clients.
type Rule string

// Validation rules.
const (
	RuleRequired        Rule = "required"
	RuleNameFormat      Rule = "name_format"
	RuleTableFormat     Rule = "table_format"
	RuleTableExists     Rule = "table_exists"
	RuleUnique          Rule = "unique"
	RuleRegion          Rule = "region"
	RuleBucketFormat    Rule = "bucket_format"
	RulePrefixTemplate  Rule = "prefix_template"
	RulePrefixOverlap   Rule = "prefix_overlap"
	RuleTimeZone        Rule = "time_zone"
	RuleOneOf           Rule = "one_of"
	RuleRoleARNFormat   Rule = "role_arn_format"
	RuleRoleNameFormat  Rule = "role_name_format"
	RuleColumnsForAuto  Rule = "columns_with_auto_schema"
	RuleColumnsManual   Rule = "columns_for_manual_schema"
	RuleColumnName      Rule = "column_name"
	RuleDuplicateColumn Rule = "duplicate_column"
	RuleEncodingForType Rule = "encoding_for_type"
	RuleSourceType      Rule = "source_type"
	RuleRange           Rule = "range"
	RuleImmutable       Rule = "immutable"
	// RuleColumnsAppendOnly: columns of a running task may only grow at
	// their end (see Diff).
	RuleColumnsAppendOnly Rule = "columns_append_only"
	RuleUnknownField      Rule = "unknown_field"
	RuleSyntax            Rule = "syntax"
)

func fieldErr(field string, rule Rule, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Rule: rule, Message: field + ": " + fmt.Sprintf(format, args...)}
}

// NewFieldError builds a FieldError whose message starts with the field name;
// the API uses it for the rules that need I/O (table exists, region, unique).
func NewFieldError(field string, rule Rule, format string, args ...any) *FieldError {
	return fieldErr(field, rule, format, args...)
}

// AsFieldError returns the FieldError inside err, if any.
func AsFieldError(err error) (*FieldError, bool) {
	var fe *FieldError
	ok := errors.As(err, &fe)
	return fe, ok
}

var (
	taskNameRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,14}[a-z0-9]$`)
	tableNameRE  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,254}$`)
	columnNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,254}$`)
	bucketRE     = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)
	regionRE     = regexp.MustCompile(`^[a-z]{2,}(-[a-z0-9]+)+$`)
	roleNameRE   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.\-_]{0,63}$`)
	roleARNRE    = regexp.MustCompile(`^acs:ram::[0-9]{1,32}:role/[a-z0-9][a-z0-9.\-_]{0,63}$`)
)

// ValidateName checks a task name: 3 to 16 characters of a-z, 0-9 and '-',
// starting and ending with a letter or digit.
func ValidateName(name string) error {
	if name == "" {
		return fieldErr("name", RuleRequired, "is required")
	}
	if !taskNameRE.MatchString(name) {
		return fieldErr("name", RuleNameFormat,
			"%q must be 3-16 characters of a-z, 0-9 and '-', starting and ending with a letter or digit", name)
	}
	return nil
}

// ValidateTable checks the form of a Tablestore table name (existence is
// checked by the API against the instance).
func ValidateTable(table string) error {
	if table == "" {
		return fieldErr("table", RuleRequired, "is required")
	}
	if !tableNameRE.MatchString(table) {
		return fieldErr("table", RuleTableFormat,
			"%q is not a Tablestore table name (a letter or '_', then letters, digits or '_', at most 255)", table)
	}
	return nil
}

// ValidateRegion checks the form of a region id such as cn-hangzhou (that it
// equals the instance's region is checked by the API).
func ValidateRegion(region string) error {
	if region == "" {
		return fieldErr("region", RuleRequired, "is required")
	}
	if !regionRE.MatchString(region) {
		return fieldErr("region", RuleRegion, "%q is not a region id such as cn-hangzhou", region)
	}
	return nil
}

// ValidateBucket checks an OSS bucket name: 3 to 63 characters of a-z, 0-9
// and '-', starting and ending with a letter or digit.
func ValidateBucket(bucket string) error {
	if bucket == "" {
		return fieldErr("bucket", RuleRequired, "is required")
	}
	if !bucketRE.MatchString(bucket) {
		return fieldErr("bucket", RuleBucketFormat,
			"%q is not a valid OSS bucket name (3-63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit)", bucket)
	}
	return nil
}

// ValidatePrefix checks a prefix template (see ParsePrefix for the rules).
func ValidatePrefix(prefix string) error {
	return validateTemplate("prefix", prefix)
}

func validateTemplate(field, value string) error {
	if value == "" {
		return fieldErr(field, RuleRequired, "is required")
	}
	if _, err := ParsePrefix(value); err != nil {
		return fieldErr(field, RulePrefixTemplate, "%q %v", value, err)
	}
	return nil
}

// ValidateDirtyPrefix checks the optional prefix of dirty rows: empty (dirty
// rows are counted and dropped) or a template like the prefix, whose static
// part must not overlap the data prefix's static part, so lake tables over
// the data never read the dirty rows and the other way round.
func ValidateDirtyPrefix(dirtyPrefix, prefix string) error {
	if dirtyPrefix == "" {
		return nil
	}
	if err := validateTemplate("dirty_prefix", dirtyPrefix); err != nil {
		return err
	}
	data, dataErr := ParsePrefix(prefix)
	dirty, dirtyErr := ParsePrefix(dirtyPrefix)
	if dataErr != nil || dirtyErr != nil {
		return nil //nolint:nilerr // an invalid prefix is reported by its own rule
	}
	a, b := data.StaticPrefix()+"/", dirty.StaticPrefix()+"/"
	if a == "/" || b == "/" || strings.HasPrefix(a, b) || strings.HasPrefix(b, a) {
		return fieldErr("dirty_prefix", RulePrefixOverlap,
			"%q must not overlap the prefix %q: their static folders must differ (and neither may be empty)", dirtyPrefix, prefix)
	}
	return nil
}

// ValidateSyncMode checks the sync mode.
func ValidateSyncMode(m SyncMode) error {
	if !slices.Contains(SyncModes, m) {
		return fieldErr("sync_mode", RuleOneOf, "%q must be one of full, incremental, differential", m)
	}
	return nil
}

// ValidateFormat checks the format: parquet only.
func ValidateFormat(f string) error {
	if f != FormatParquet {
		return fieldErr("format", RuleOneOf, "%q must be parquet", f)
	}
	return nil
}

// ValidateRoleARN checks the form acs:ram::<account digits>:role/<lower-cased role name>.
func ValidateRoleARN(arn string) error {
	if arn == "" {
		return fieldErr("role_arn", RuleRequired, "is required")
	}
	if !roleARNRE.MatchString(arn) {
		return fieldErr("role_arn", RuleRoleARNFormat,
			"%q must look like acs:ram::<account id>:role/<lower-case role name>", arn)
	}
	return nil
}

// ValidateRoleName checks a role name: 1 to 64 characters of letters, digits,
// '.', '-' and '_', starting with a letter or digit.
func ValidateRoleName(name string) error {
	if !roleNameRE.MatchString(name) {
		return fieldErr("name", RuleRoleNameFormat,
			"%q must be 1-64 characters of letters, digits, '.', '-' and '_', starting with a letter or digit", name)
	}
	return nil
}

// ValidateRoleInput checks the body of PUT /v1/roles/{name}.
func ValidateRoleInput(in RoleInput) error {
	if in.OSSAccessKeyID == "" {
		return fieldErr("oss_access_key_id", RuleRequired, "is required")
	}
	if in.OSSAccessKeySecret == "" {
		return fieldErr("oss_access_key_secret", RuleRequired, "is required")
	}
	if len(in.Description) > 1024 {
		return fieldErr("description", RuleRange, "must be at most 1024 characters")
	}
	return nil
}

// ValidateSchemaMode checks the schema mode.
func ValidateSchemaMode(m SchemaMode) error {
	if !slices.Contains(SchemaModes, m) {
		return fieldErr("schema_mode", RuleOneOf, "%q must be auto or manual", m)
	}
	return nil
}

// ValidateColumns checks the columns against the schema mode. Auto: none may
// be given. Manual: at least one; each with a source and a destination name
// that are column names, destination names unique (case-insensitively, as
// lake engines compare them), a supported type and an encoding valid for it.
func ValidateColumns(mode SchemaMode, cols []Column) error {
	if mode == SchemaAuto {
		if len(cols) > 0 {
			return fieldErr("columns", RuleColumnsForAuto, "must be empty when schema_mode is auto")
		}
		return nil
	}
	if mode != SchemaManual {
		return nil // the schema mode's own rule reports it
	}
	if len(cols) == 0 {
		return fieldErr("columns", RuleColumnsManual, "at least one column is required when schema_mode is manual")
	}
	if len(cols) > 1024 {
		return fieldErr("columns", RuleRange, "at most 1024 columns")
	}
	seen := map[string]int{}
	for i, c := range cols {
		path := fmt.Sprintf("columns[%d]", i)
		if c.Source == "" {
			return fieldErr(path+".source", RuleRequired, "is required")
		}
		if !columnNameRE.MatchString(c.Source) {
			return fieldErr(path+".source", RuleColumnName, "%q is not a Tablestore column name", c.Source)
		}
		name := c.Name
		if name == "" {
			name = c.Source
		}
		if !columnNameRE.MatchString(name) {
			return fieldErr(path+".name", RuleColumnName,
				"%q must start with a letter or '_' and contain only letters, digits and '_'", name)
		}
		if j, dup := seen[strings.ToLower(name)]; dup {
			return fieldErr(path+".name", RuleDuplicateColumn, "%q is already the name of columns[%d]", name, j)
		}
		seen[strings.ToLower(name)] = i
		if !slices.Contains(ColumnTypes, c.Type) {
			return fieldErr(path+".type", RuleOneOf, "%q must be one of BOOL, INT64, DOUBLE, UTF8, BINARY", c.Type)
		}
		enc := c.Encoding
		if enc == "" {
			enc = defaultEncoding
		}
		if !slices.Contains(Encodings, enc) {
			return fieldErr(path+".encoding", RuleOneOf,
				"%q must be one of PLAIN, PLAIN_DICTIONARY, DELTA_BINARY_PACKED, DELTA_BYTE_ARRAY, DELTA_LENGTH_BYTE_ARRAY", enc)
		}
		if !slices.Contains(EncodingsFor(c.Type), enc) {
			return fieldErr(path+".encoding", RuleEncodingForType, "%s is not valid for type %s (valid: %s)",
				enc, c.Type, joinEncodings(EncodingsFor(c.Type)))
		}
	}
	return nil
}

func joinEncodings(es []Encoding) string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = string(e)
	}
	return strings.Join(s, ", ")
}

// ValidateEventTimeColumn checks the optional event time column.
func ValidateEventTimeColumn(c *EventTimeColumn) error {
	if c == nil {
		return nil
	}
	if c.Name == "" {
		return fieldErr("event_time_column.name", RuleRequired, "is required")
	}
	if !columnNameRE.MatchString(c.Name) {
		return fieldErr("event_time_column.name", RuleColumnName, "%q is not a Tablestore column name", c.Name)
	}
	if !slices.Contains(TimeFormats, c.Format) {
		return fieldErr("event_time_column.format", RuleOneOf,
			"%q must be one of RFC822, RFC850, RFC1123, RFC3339, Unix", c.Format)
	}
	return nil
}

// ValidateCompression checks the compression codec.
func ValidateCompression(c Compression) error {
	if !slices.Contains(Compressions, c) {
		return fieldErr("compression", RuleOneOf, "%q must be one of none, snappy, gzip, zstd", c)
	}
	return nil
}

// ValidateFlushInterval checks flush_interval_seconds: 1 to 3600.
func ValidateFlushInterval(seconds int) error {
	if seconds < MinFlushIntervalSeconds || seconds > MaxFlushIntervalSeconds {
		return fieldErr("flush_interval_seconds", RuleRange, "%d must be between %d and %d",
			seconds, MinFlushIntervalSeconds, MaxFlushIntervalSeconds)
	}
	return nil
}

// ValidateTargetObjectSize checks target_object_size_mb: 1 to 1024.
func ValidateTargetObjectSize(mb int) error {
	if mb < MinTargetObjectSizeMB || mb > MaxTargetObjectSizeMB {
		return fieldErr("target_object_size_mb", RuleRange, "%d must be between %d and %d",
			mb, MinTargetObjectSizeMB, MaxTargetObjectSizeMB)
	}
	return nil
}

// Validate checks every rule that needs no I/O on a spec whose defaults were
// applied, in field order, and returns the first violation as a *FieldError.
// The API adds the rules that need the instance: the table exists, the region
// is the instance's, and the name is unique for the table.
func (s *Spec) Validate() error {
	checks := []func() error{
		func() error { return ValidateName(s.Name) },
		func() error { return ValidateTable(s.Table) },
		func() error { return ValidateRegion(s.Region) },
		func() error { return ValidateBucket(s.Bucket) },
		func() error { return ValidatePrefix(s.Prefix) },
		func() error { return ValidateSyncMode(s.SyncMode) },
		func() error { return ValidateRoleARN(s.RoleARN) },
		func() error { return ValidateFormat(s.Format) },
		func() error { return ValidateSchemaMode(s.SchemaMode) },
		func() error { return ValidateColumns(s.SchemaMode, s.Columns) },
		func() error { return ValidateEventTimeColumn(s.EventTimeColumn) },
		func() error { return ValidateDirtyPrefix(s.DirtyPrefix, s.Prefix) },
		func() error { return ValidateCompression(s.Compression) },
		func() error { return ValidateFlushInterval(s.FlushIntervalSeconds) },
		func() error { return ValidateTargetObjectSize(s.TargetObjectSizeMB) },
		func() error { return ValidateTimeZone(s.TimeZone) },
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// Patch is a body of PATCH /v1/tasks/{table}/{name} with the fields that
// may change in place (see Diff): only the fields set (non-nil) change.
// Columns, when set, is the whole new list: the current one with columns
// appended. The JSON names are the TaskSpec's; PATCH also accepts any other
// TaskSpec field with its current value.
type Patch struct {
	RoleARN              *string      `json:"role_arn,omitempty"`
	DirtyPrefix          *string      `json:"dirty_prefix,omitempty"`
	Compression          *Compression `json:"compression,omitempty"`
	FlushIntervalSeconds *int         `json:"flush_interval_seconds,omitempty"`
	TargetObjectSizeMB   *int         `json:"target_object_size_mb,omitempty"`
	Columns              []Column     `json:"columns,omitempty"`
}

// Empty reports whether the patch changes nothing.
func (p Patch) Empty() bool {
	return p.RoleARN == nil && p.DirtyPrefix == nil && p.Compression == nil &&
		p.FlushIntervalSeconds == nil && p.TargetObjectSizeMB == nil && p.Columns == nil
}

// Apply returns the spec with the patch's fields changed; validate the result.
func (p Patch) Apply(s Spec) Spec {
	if p.RoleARN != nil {
		s.RoleARN = *p.RoleARN
	}
	if p.DirtyPrefix != nil {
		s.DirtyPrefix = *p.DirtyPrefix
	}
	if p.Compression != nil {
		s.Compression = *p.Compression
	}
	if p.FlushIntervalSeconds != nil {
		s.FlushIntervalSeconds = *p.FlushIntervalSeconds
	}
	if p.TargetObjectSizeMB != nil {
		s.TargetObjectSizeMB = *p.TargetObjectSizeMB
	}
	if p.Columns != nil {
		s.Columns = p.Columns
	}
	return s
}

// API error codes: the "code" of {"error":{"code","message","field"}}.
const (
	CodeInvalidArgument   = "InvalidArgument"   // 400, field says which
	CodeImmutableField    = "ImmutableField"    // 400, PATCH of a change that needs replacement (see Diff)
	CodeUnauthenticated   = "Unauthenticated"   // 401, missing or wrong bearer token
	CodeTaskNotFound      = "TaskNotFound"      // 404
	CodeRoleNotFound      = "RoleNotFound"      // 404
	CodeNotFound          = "NotFound"          // 404, no such route
	CodeMethodNotAllowed  = "MethodNotAllowed"  // 405
	CodeTaskAlreadyExists = "TaskAlreadyExists" // 409, name taken for this table
	CodeTaskInitializing  = "TaskInitializing"  // 409, DELETE while the task initializes; retry later
	CodeRoleAlreadyExists = "RoleAlreadyExists" // 409, another role has the same lower-cased name
	CodeInternal          = "InternalError"     // 500
)
