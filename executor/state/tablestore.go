package state

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sort"
	"strings"
	"time"

	ots "github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// DefaultTable is the Tablestore table of the shared registry.
const DefaultTable = "delivery_state"

// Layout of the shared registry's table. The primary key is (kind, id):
//
//	("task", "<table>/<name>")  task JSON, task_version, task_writers,
//	                            ps_version, ps_writers, claims,
//	                            and one column per pipeline-state key
//	("role", "<name>")          role JSON (secret sealed), version
//
// A task's pipeline state lives in the task's own row, so that a journal
// step (several keys) is one single-row write — atomic in Tablestore, which
// has no multi-row transactions — and deleting the task removes its
// journal in the same write. The task definition and the pipeline state
// carry separate version columns so that status updates and journal steps
// do not make each other retry.
const (
	pkKind = "kind"
	pkID   = "id"

	kindTask = "task"
	kindRole = "role"

	colTask        = "task"
	colTaskVersion = "task_version"
	colTaskWriters = "task_writers" // tokens of the latest task writes, see writeToken
	colPSVersion   = "ps_version"
	colPSWriters   = "ps_writers" // tokens of the latest pipeline-state writes, see writeToken
	colRole        = "role"
	colVersion     = "version"
	colClaimPrefix = "claim_"
	colPSPrefix    = "j_" // + 32 hex digits of SHA-256(key)
)

// maxWriters is how many write tokens a task row remembers.
const maxWriters = 16

// writeToken names one attempt at a task write. The SDK resends a write
// whose connection broke, so a write can land and still come back as a
// failed condition (its resend finds the version it wrote itself): the row
// keeps the tokens of its latest writes, and a writer that finds its token
// there knows its write landed instead of applying its change twice.
func writeToken() string {
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func hasWriter(writers, token string) bool {
	return slices.Contains(strings.Fields(writers), token)
}

func appendWriter(writers, token string) string {
	list := append(strings.Fields(writers), token)
	return strings.Join(list[max(0, len(list)-maxWriters):], " ")
}

// conflictRetries bounds how often a conditional write is retried after
// another executor changed the row in between.
const conflictRetries = 100

// TablestoreConfig locates the shared registry's table.
type TablestoreConfig struct {
	Endpoint        string
	Instance        string
	AccessKeyID     string
	AccessKeySecret string
	// Table is created when missing; default DefaultTable.
	Table string
	// SecretKey (KeySize bytes) seals role secrets; every executor sharing
	// the table must use the same key.
	SecretKey []byte
}

// Tablestore is the Registry kept in a Tablestore table, shared by several
// executors. Every change is a conditional write: creations expect the row
// not to exist, updates expect it to exist with the version they read (and
// write the next one), so concurrent executors never overwrite each other's
// changes; a conflict re-reads and retries.
type Tablestore struct {
	client *ots.TableStoreClient
	table  string
	aead   cipher.AEAD
}

var (
	_ Registry = (*Tablestore)(nil)
	_ Claimer  = (*Tablestore)(nil)
)

// NewTablestore connects to the table, creating it when it does not exist.
func NewTablestore(ctx context.Context, cfg TablestoreConfig) (*Tablestore, error) {
	if cfg.Endpoint == "" || cfg.Instance == "" {
		return nil, errors.New("state: tablestore endpoint and instance are required")
	}
	aead, err := newSealer(cfg.SecretKey)
	if err != nil {
		return nil, err
	}
	if cfg.Table == "" {
		cfg.Table = DefaultTable
	}
	r := &Tablestore{
		client: ots.NewClient(cfg.Endpoint, cfg.Instance, cfg.AccessKeyID, cfg.AccessKeySecret),
		table:  cfg.Table,
		aead:   aead,
	}
	if err := r.ensureTable(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Tablestore) ensureTable(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, err := r.client.DescribeTable(&ots.DescribeTableRequest{TableName: r.table}); err == nil {
		return nil
	} else if !isOTSCode(err, "OTSObjectNotExist") {
		return fmt.Errorf("state: describe table %s: %w", r.table, err)
	}
	meta := &ots.TableMeta{TableName: r.table}
	meta.AddPrimaryKeyColumn(pkKind, ots.PrimaryKeyType_STRING)
	meta.AddPrimaryKeyColumn(pkID, ots.PrimaryKeyType_STRING)
	_, err := r.client.CreateTable(&ots.CreateTableRequest{
		TableMeta:          meta,
		TableOption:        &ots.TableOption{TimeToAlive: -1, MaxVersion: 1},
		ReservedThroughput: &ots.ReservedThroughput{},
	})
	if err != nil && !isOTSCode(err, "OTSObjectAlreadyExist") { // another executor created it
		return fmt.Errorf("state: create table %s: %w", r.table, err)
	}
	return nil
}

func isOTSCode(err error, code string) bool {
	var oe *ots.OtsError
	return errors.As(err, &oe) && oe.Code == code
}

// isConflict reports a failed row or column condition: someone else wrote
// the row since it was read (or created/deleted it).
func isConflict(err error) bool { return isOTSCode(err, "OTSConditionCheckFail") }

func primaryKey(kind, id string) *ots.PrimaryKey {
	pk := &ots.PrimaryKey{}
	pk.AddPrimaryKeyColumn(pkKind, kind)
	pk.AddPrimaryKeyColumn(pkID, id)
	return pk
}

func versionIs(column string, v int64) *ots.SingleColumnCondition {
	c := ots.NewSingleColumnCondition(column, ots.CT_EQUAL, v)
	c.FilterIfMissing = true // a row without the column fails the condition
	c.LatestVersionOnly = true
	return c
}

// getRow reads the named columns of a row; nil when the row (or all of
// those columns) does not exist.
func (r *Tablestore) getRow(ctx context.Context, kind, id string, columns ...string) (map[string]any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	resp, err := r.client.GetRow(&ots.GetRowRequest{SingleRowQueryCriteria: &ots.SingleRowQueryCriteria{
		TableName: r.table, PrimaryKey: primaryKey(kind, id), ColumnsToGet: columns, MaxVersion: 1,
	}})
	if err != nil {
		return nil, fmt.Errorf("state: read %s %s: %w", kind, id, err)
	}
	if len(resp.Columns) == 0 {
		return nil, nil
	}
	out := make(map[string]any, len(resp.Columns))
	for _, c := range resp.Columns {
		out[c.ColumnName] = c.Value
	}
	return out, nil
}

func int64Col(row map[string]any, name string) (int64, error) {
	v, ok := row[name].(int64)
	if !ok {
		return 0, fmt.Errorf("state: column %s is missing or not an integer", name)
	}
	return v, nil
}

func stringCol(row map[string]any, name string) (string, error) {
	v, ok := row[name].(string)
	if !ok {
		return "", fmt.Errorf("state: column %s is missing or not a string", name)
	}
	return v, nil
}

// conditionalUpdate runs read-modify-write rounds until one commits: read
// returns the version the write is conditioned on (ErrNotFound when the row
// is gone); write builds the change for that version.
func conditionalUpdate(ctx context.Context, what string, round func() (done bool, err error)) error {
	for attempt := 0; attempt < conflictRetries; attempt++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		done, err := round()
		if done || err != nil {
			return err
		}
		// Lost a race with another writer: back off a little, at random, so
		// that the writers do not keep colliding.
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(5+min(attempt, 20)*5)))
		t := time.NewTimer(time.Duration(n.Int64()+1) * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	return fmt.Errorf("state: %s: gave up after %d write conflicts", what, conflictRetries)
}

// ---- tasks ----

// CreateTask implements Registry.
func (r *Tablestore) CreateTask(ctx context.Context, t task.Task) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	data, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("state: encode task %s: %w", t.ID(), err)
	}
	token := writeToken()
	change := &ots.PutRowChange{TableName: r.table, PrimaryKey: primaryKey(kindTask, t.Table+"/"+t.Name)}
	change.AddColumn(colTask, string(data))
	change.AddColumn(colTaskVersion, int64(1))
	change.AddColumn(colTaskWriters, token)
	change.AddColumn(colPSVersion, int64(0))
	change.SetCondition(ots.RowExistenceExpectation_EXPECT_NOT_EXIST)
	if _, err := r.client.PutRow(&ots.PutRowRequest{PutRowChange: change}); err != nil {
		if isConflict(err) {
			if _, _, writers, rerr := r.readTask(ctx, t.Table, t.Name); rerr == nil && hasWriter(writers, token) {
				return nil // our own write, resent by the SDK
			}
			return fmt.Errorf("task %s: %w", t.ID(), ErrExists)
		}
		return fmt.Errorf("state: create task %s: %w", t.ID(), err)
	}
	return nil
}

// readTask returns a task, the version it was read at and the tokens of
// its latest writes.
func (r *Tablestore) readTask(ctx context.Context, table, name string) (task.Task, int64, string, error) {
	var t task.Task
	row, err := r.getRow(ctx, kindTask, table+"/"+name, colTask, colTaskVersion, colTaskWriters)
	if err != nil {
		return t, 0, "", err
	}
	if row == nil {
		return t, 0, "", fmt.Errorf("task %s/%s: %w", table, name, ErrNotFound)
	}
	data, err := stringCol(row, colTask)
	if err != nil {
		return t, 0, "", fmt.Errorf("task %s/%s: %w", table, name, err)
	}
	version, err := int64Col(row, colTaskVersion)
	if err != nil {
		return t, 0, "", fmt.Errorf("task %s/%s: %w", table, name, err)
	}
	if err := json.Unmarshal([]byte(data), &t); err != nil {
		return t, 0, "", fmt.Errorf("state: decode task %s/%s: %w", table, name, err)
	}
	writers, _ := row[colTaskWriters].(string)
	return t, version, writers, nil
}

// writeTaskAt writes the task if the row still has version, adding token
// to its writers; done is false when it has not (the caller reads again).
func (r *Tablestore) writeTaskAt(t task.Task, version int64, writers, token string) (done bool, err error) {
	data, err := json.Marshal(t)
	if err != nil {
		return false, fmt.Errorf("state: encode task %s: %w", t.ID(), err)
	}
	change := &ots.UpdateRowChange{TableName: r.table, PrimaryKey: primaryKey(kindTask, t.Table+"/"+t.Name)}
	change.PutColumn(colTask, string(data))
	change.PutColumn(colTaskVersion, version+1)
	change.PutColumn(colTaskWriters, appendWriter(writers, token))
	change.SetCondition(ots.RowExistenceExpectation_EXPECT_EXIST)
	change.SetColumnCondition(versionIs(colTaskVersion, version))
	if _, err := r.client.UpdateRow(&ots.UpdateRowRequest{UpdateRowChange: change}); err != nil {
		if isConflict(err) {
			return false, nil
		}
		return false, fmt.Errorf("state: write task %s: %w", t.ID(), err)
	}
	return true, nil
}

// GetTask implements Registry.
func (r *Tablestore) GetTask(ctx context.Context, table, name string) (task.Task, error) {
	t, _, _, err := r.readTask(ctx, table, name)
	return t, err
}

// ListTasks implements Registry.
func (r *Tablestore) ListTasks(ctx context.Context, table string) ([]task.Task, error) {
	tasks := []task.Task{}
	start, end := table+"/", table+"0" // '0' follows '/': the ids of that table
	if table == "" {
		start, end = "", ""
	}
	err := r.scanKind(ctx, kindTask, start, end, []string{colTask}, func(id string, row map[string]any) error {
		data, err := stringCol(row, colTask)
		if err != nil {
			return fmt.Errorf("task %s: %w", id, err)
		}
		var t task.Task
		if err := json.Unmarshal([]byte(data), &t); err != nil {
			return fmt.Errorf("state: decode task %s: %w", id, err)
		}
		tasks = append(tasks, t)
		return nil
	})
	return tasks, err
}

// scanKind reads the rows of one kind with ids in [start, end) ("" = no
// bound), in id order.
func (r *Tablestore) scanKind(ctx context.Context, kind, start, end string, columns []string, fn func(id string, row map[string]any) error) error {
	startPK := &ots.PrimaryKey{}
	startPK.AddPrimaryKeyColumn(pkKind, kind)
	if start == "" {
		startPK.AddPrimaryKeyColumnWithMinValue(pkID)
	} else {
		startPK.AddPrimaryKeyColumn(pkID, start)
	}
	endPK := &ots.PrimaryKey{}
	endPK.AddPrimaryKeyColumn(pkKind, kind)
	if end == "" {
		endPK.AddPrimaryKeyColumnWithMaxValue(pkID)
	} else {
		endPK.AddPrimaryKeyColumn(pkID, end)
	}
	for startPK != nil {
		if err := ctx.Err(); err != nil {
			return err
		}
		resp, err := r.client.GetRange(&ots.GetRangeRequest{RangeRowQueryCriteria: &ots.RangeRowQueryCriteria{
			TableName: r.table, StartPrimaryKey: startPK, EndPrimaryKey: endPK,
			ColumnsToGet: columns, MaxVersion: 1, Direction: ots.FORWARD, Limit: 500,
		}})
		if err != nil {
			return fmt.Errorf("state: list %s rows: %w", kind, err)
		}
		for _, row := range resp.Rows {
			if row.PrimaryKey == nil || len(row.PrimaryKey.PrimaryKeys) != 2 || len(row.Columns) == 0 {
				continue
			}
			id, _ := row.PrimaryKey.PrimaryKeys[1].Value.(string)
			cols := make(map[string]any, len(row.Columns))
			for _, c := range row.Columns {
				cols[c.ColumnName] = c.Value
			}
			if err := fn(id, cols); err != nil {
				return err
			}
		}
		startPK = resp.NextStartPrimaryKey
	}
	return nil
}

// UpdateTask implements Registry.
func (r *Tablestore) UpdateTask(ctx context.Context, table, name string, fn func(*task.Task) error) (task.Task, error) {
	var out task.Task
	attempts := map[string]task.Task{} // token → the task that attempt wrote
	err := conditionalUpdate(ctx, "update task "+table+"/"+name, func() (bool, error) {
		t, version, writers, err := r.readTask(ctx, table, name)
		if err != nil {
			return false, err
		}
		for token, wrote := range attempts {
			if hasWriter(writers, token) { // an attempt that seemed to fail landed
				out = wrote
				return true, nil
			}
		}
		if err := fn(&t); err != nil {
			return false, err
		}
		// The key is the identity: a function must not rename the task.
		t.Table, t.Name = table, name
		token := writeToken()
		attempts[token] = t
		out = t
		return r.writeTaskAt(t, version, writers, token)
	})
	return out, err
}

// UpdateStatus implements Registry.
func (r *Tablestore) UpdateStatus(ctx context.Context, table, name string, fn func(*task.Status)) error {
	_, err := r.UpdateTask(ctx, table, name, func(t *task.Task) error {
		fn(&t.Status)
		return nil
	})
	return err
}

// DeleteTask implements Registry. The task's pipeline state lives in its
// row and goes with it.
func (r *Tablestore) DeleteTask(ctx context.Context, table, name string) error {
	attempted := false
	return conditionalUpdate(ctx, "delete task "+table+"/"+name, func() (bool, error) {
		_, version, _, err := r.readTask(ctx, table, name)
		if errors.Is(err, ErrNotFound) && attempted {
			return true, nil // gone: our delete (resent by the SDK) or another executor's
		}
		if err != nil {
			return false, err
		}
		attempted = true
		change := &ots.DeleteRowChange{TableName: r.table, PrimaryKey: primaryKey(kindTask, table+"/"+name)}
		change.SetCondition(ots.RowExistenceExpectation_EXPECT_EXIST)
		change.SetColumnCondition(versionIs(colTaskVersion, version))
		if _, err := r.client.DeleteRow(&ots.DeleteRowRequest{DeleteRowChange: change}); err != nil {
			if isConflict(err) {
				return false, nil
			}
			return false, fmt.Errorf("state: delete task %s/%s: %w", table, name, err)
		}
		return true, nil
	})
}

// ---- claims ----

type claimRecord struct {
	Owner   string    `json:"owner"`
	Expires time.Time `json:"expires"`
}

// Claim implements Claimer: the claim is a column of the task's row,
// written under the task's version condition.
func (r *Tablestore) Claim(ctx context.Context, table, name, what, owner string, ttl time.Duration) (bool, error) {
	if what == "" || strings.ContainsFunc(what, func(c rune) bool {
		return c != '_' && (c < 'a' || c > 'z') && (c < '0' || c > '9')
	}) {
		return false, fmt.Errorf("state: claim name %q must be lower-case letters, digits and underscores", what)
	}
	column := colClaimPrefix + what
	won := false
	err := conditionalUpdate(ctx, "claim "+what+" of task "+table+"/"+name, func() (bool, error) {
		row, err := r.getRow(ctx, kindTask, table+"/"+name, colTask, colTaskVersion, column)
		if err != nil {
			return false, err
		}
		if row == nil {
			return false, fmt.Errorf("task %s/%s: %w", table, name, ErrNotFound)
		}
		version, err := int64Col(row, colTaskVersion)
		if err != nil {
			return false, err
		}
		now := time.Now()
		if held, ok := row[column].(string); ok {
			var c claimRecord
			if json.Unmarshal([]byte(held), &c) == nil && c.Owner != owner && now.Before(c.Expires) {
				won = false
				return true, nil // someone else holds it
			}
		}
		data, err := json.Marshal(claimRecord{Owner: owner, Expires: now.Add(ttl)})
		if err != nil {
			return false, err
		}
		change := &ots.UpdateRowChange{TableName: r.table, PrimaryKey: primaryKey(kindTask, table+"/"+name)}
		change.PutColumn(column, string(data))
		change.PutColumn(colTaskVersion, version+1)
		change.SetCondition(ots.RowExistenceExpectation_EXPECT_EXIST)
		change.SetColumnCondition(versionIs(colTaskVersion, version))
		if _, err := r.client.UpdateRow(&ots.UpdateRowRequest{UpdateRowChange: change}); err != nil {
			if isConflict(err) {
				return false, nil
			}
			return false, fmt.Errorf("state: claim %s of task %s/%s: %w", what, table, name, err)
		}
		won = true
		return true, nil
	})
	return won, err
}

// ---- roles ----

func (r *Tablestore) decodeRole(data string) (RoleRecord, error) {
	var sr storedRole
	if err := json.Unmarshal([]byte(data), &sr); err != nil {
		return RoleRecord{}, fmt.Errorf("state: decode role: %w", err)
	}
	secret, err := openSecret(r.aead, sr.Name, sr.SealedSecret, "do all executors share the secret key?")
	if err != nil {
		return RoleRecord{}, err
	}
	return RoleRecord{Role: sr.Role, Credentials: Credentials{AccessKeyID: sr.AccessKeyID, AccessKeySecret: secret}}, nil
}

// PutRole implements Registry: a new role expects no row, a replacement
// expects the version it read.
func (r *Tablestore) PutRole(ctx context.Context, rec RoleRecord) error {
	sealed, err := sealSecret(r.aead, rec.Name, rec.Credentials.AccessKeySecret)
	if err != nil {
		return err
	}
	data, err := json.Marshal(storedRole{Role: rec.Role, AccessKeyID: rec.Credentials.AccessKeyID, SealedSecret: sealed})
	if err != nil {
		return fmt.Errorf("state: encode role %s: %w", rec.Name, err)
	}
	return conditionalUpdate(ctx, "put role "+rec.Name, func() (bool, error) {
		row, err := r.getRow(ctx, kindRole, rec.Name, colVersion)
		if err != nil {
			return false, err
		}
		change := &ots.PutRowChange{TableName: r.table, PrimaryKey: primaryKey(kindRole, rec.Name)}
		change.AddColumn(colRole, string(data))
		if row == nil {
			change.AddColumn(colVersion, int64(1))
			change.SetCondition(ots.RowExistenceExpectation_EXPECT_NOT_EXIST)
		} else {
			version, err := int64Col(row, colVersion)
			if err != nil {
				return false, fmt.Errorf("role %s: %w", rec.Name, err)
			}
			change.AddColumn(colVersion, version+1)
			change.SetCondition(ots.RowExistenceExpectation_EXPECT_EXIST)
			change.SetColumnCondition(versionIs(colVersion, version))
		}
		if _, err := r.client.PutRow(&ots.PutRowRequest{PutRowChange: change}); err != nil {
			if isConflict(err) {
				return false, nil
			}
			return false, fmt.Errorf("state: put role %s: %w", rec.Name, err)
		}
		return true, nil
	})
}

// GetRole implements Registry.
func (r *Tablestore) GetRole(ctx context.Context, name string) (RoleRecord, error) {
	row, err := r.getRow(ctx, kindRole, name, colRole)
	if err != nil {
		return RoleRecord{}, err
	}
	if row == nil {
		return RoleRecord{}, fmt.Errorf("role %s: %w", name, ErrNotFound)
	}
	data, err := stringCol(row, colRole)
	if err != nil {
		return RoleRecord{}, fmt.Errorf("role %s: %w", name, err)
	}
	return r.decodeRole(data)
}

func (r *Tablestore) scanRoles(ctx context.Context, fn func(data string, sr storedRole) error) error {
	return r.scanKind(ctx, kindRole, "", "", []string{colRole}, func(id string, row map[string]any) error {
		data, err := stringCol(row, colRole)
		if err != nil {
			return fmt.Errorf("role %s: %w", id, err)
		}
		var sr storedRole
		if err := json.Unmarshal([]byte(data), &sr); err != nil {
			return fmt.Errorf("state: decode role %s: %w", id, err)
		}
		return fn(data, sr)
	})
}

// RoleByARN implements Registry.
func (r *Tablestore) RoleByARN(ctx context.Context, arn string) (RoleRecord, error) {
	var found string
	err := r.scanRoles(ctx, func(data string, sr storedRole) error {
		if sr.ARN == arn && found == "" {
			found = data
		}
		return nil
	})
	if err != nil {
		return RoleRecord{}, err
	}
	if found == "" {
		return RoleRecord{}, fmt.Errorf("role with ARN %s: %w", arn, ErrNotFound)
	}
	return r.decodeRole(found)
}

// ListRoles implements Registry.
func (r *Tablestore) ListRoles(ctx context.Context) ([]task.Role, error) {
	roles := []task.Role{}
	err := r.scanRoles(ctx, func(_ string, sr storedRole) error {
		roles = append(roles, sr.Role)
		return nil
	})
	return roles, err
}

// DeleteRole implements Registry.
func (r *Tablestore) DeleteRole(ctx context.Context, name string) error {
	attempted := false
	return conditionalUpdate(ctx, "delete role "+name, func() (bool, error) {
		row, err := r.getRow(ctx, kindRole, name, colVersion)
		if err != nil {
			return false, err
		}
		if row == nil {
			if attempted {
				return true, nil // gone: our delete (resent by the SDK) or another executor's
			}
			return false, fmt.Errorf("role %s: %w", name, ErrNotFound)
		}
		attempted = true
		version, err := int64Col(row, colVersion)
		if err != nil {
			return false, fmt.Errorf("role %s: %w", name, err)
		}
		change := &ots.DeleteRowChange{TableName: r.table, PrimaryKey: primaryKey(kindRole, name)}
		change.SetCondition(ots.RowExistenceExpectation_EXPECT_EXIST)
		change.SetColumnCondition(versionIs(colVersion, version))
		if _, err := r.client.DeleteRow(&ots.DeleteRowRequest{DeleteRowChange: change}); err != nil {
			if isConflict(err) {
				return false, nil
			}
			return false, fmt.Errorf("state: delete role %s: %w", name, err)
		}
		return true, nil
	})
}

// ---- pipeline state ----

// PipelineState implements Registry. The keys live as columns of the task's
// row; the task must exist (ErrNotFound otherwise).
func (r *Tablestore) PipelineState(table, name string) PipelineState {
	return &tablestorePipelineState{r: r, id: table + "/" + name}
}

type tablestorePipelineState struct {
	r  *Tablestore
	id string
}

// psColumn names the column of a pipeline key. Keys may hold any bytes and
// be long, while column names are short identifiers, so the name is a hash
// and the value carries the key itself (see encodePSValue).
func psColumn(key string) string {
	sum := sha256.Sum256([]byte(key))
	return colPSPrefix + hex.EncodeToString(sum[:16])
}

// encodePSValue is uvarint(len(key)) || key || value.
func encodePSValue(key string, value []byte) []byte {
	out := binary.AppendUvarint(make([]byte, 0, binary.MaxVarintLen64+len(key)+len(value)), uint64(len(key)))
	out = append(out, key...)
	return append(out, value...)
}

func decodePSValue(data []byte) (key string, value []byte, err error) {
	n, size := binary.Uvarint(data)
	if size <= 0 || n > uint64(len(data)-size) {
		return "", nil, errors.New("state: corrupt pipeline-state cell")
	}
	return string(data[size : size+int(n)]), data[size+int(n):], nil
}

func (p *tablestorePipelineState) Get(ctx context.Context, key string) ([]byte, bool, error) {
	row, err := p.r.getRow(ctx, kindTask, p.id, psColumn(key))
	if err != nil || row == nil {
		return nil, false, err
	}
	return p.cell(row, key)
}

// Apply writes every put and delete in one single-row update, conditioned
// on the pipeline-state version: atomic, and ordered after every step it
// read past.
func (p *tablestorePipelineState) Apply(ctx context.Context, puts map[string][]byte, deletes []string) error {
	return p.ApplyIf(ctx, nil, puts, deletes)
}

// ApplyIf reads the expected keys together with the pipeline-state version
// and writes on the condition that the version is unchanged: any write in
// between (by this executor or another) fails the condition, and the next
// round checks the expectations again against what that write left.
//
// Like the task writes it leaves a token in the row (ps_writers), so that a
// write whose answer was lost and which the SDK resent, meeting its own
// version, is recognized as landed rather than repeated or, worse, reported
// as a conflict with itself.
func (p *tablestorePipelineState) ApplyIf(ctx context.Context, expect, puts map[string][]byte, deletes []string) error {
	if err := checkPutKeys(puts); err != nil {
		return err
	}
	columns := []string{colPSVersion, colPSWriters}
	for k := range expect {
		columns = append(columns, psColumn(k))
	}
	var tokens []string // one per attempted write
	return conditionalUpdate(ctx, "pipeline state of "+p.id, func() (bool, error) {
		row, err := p.r.getRow(ctx, kindTask, p.id, columns...)
		if err != nil {
			return false, err
		}
		if row == nil {
			return false, fmt.Errorf("pipeline state of task %s: %w", p.id, ErrNotFound)
		}
		writers, _ := row[colPSWriters].(string)
		for _, token := range tokens {
			if hasWriter(writers, token) { // an attempt that seemed to fail landed
				return true, nil
			}
		}
		version, err := int64Col(row, colPSVersion)
		if err != nil {
			return false, fmt.Errorf("task %s: %w", p.id, err)
		}
		if err := checkExpect(expect, func(k string) ([]byte, bool, error) { return p.cell(row, k) }); err != nil {
			return false, fmt.Errorf("state: pipeline state of task %s: %w", p.id, err)
		}
		token := writeToken()
		tokens = append(tokens, token)
		change := p.stepChange(puts, deletes)
		change.PutColumn(colPSVersion, version+1)
		change.PutColumn(colPSWriters, appendWriter(writers, token))
		change.SetCondition(ots.RowExistenceExpectation_EXPECT_EXIST)
		change.SetColumnCondition(versionIs(colPSVersion, version))
		if _, err := p.r.client.UpdateRow(&ots.UpdateRowRequest{UpdateRowChange: change}); err != nil {
			if isConflict(err) {
				return false, nil
			}
			return false, fmt.Errorf("state: apply pipeline state of %s: %w", p.id, err)
		}
		return true, nil
	})
}

// stepChange is the row update of one step's puts and deletes (a key both
// put and deleted is put), without its condition.
func (p *tablestorePipelineState) stepChange(puts map[string][]byte, deletes []string) *ots.UpdateRowChange {
	change := &ots.UpdateRowChange{TableName: p.r.table, PrimaryKey: primaryKey(kindTask, p.id)}
	for _, k := range deletes {
		if _, put := puts[k]; !put {
			change.DeleteColumn(psColumn(k))
		}
	}
	keys := make([]string, 0, len(puts))
	for k := range puts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		change.PutColumn(psColumn(k), encodePSValue(k, puts[k]))
	}
	return change
}

// cell decodes the value of key from a row read with its column.
func (p *tablestorePipelineState) cell(row map[string]any, key string) ([]byte, bool, error) {
	raw, present := row[psColumn(key)]
	if !present {
		return nil, false, nil
	}
	data, ok := raw.([]byte)
	if !ok {
		return nil, false, fmt.Errorf("state: pipeline key %q of %s is not binary", key, p.id)
	}
	k, v, err := decodePSValue(data)
	if err != nil {
		return nil, false, fmt.Errorf("state: pipeline key %q of %s: %w", key, p.id, err)
	}
	if k != key {
		return nil, false, fmt.Errorf("state: pipeline key %q of %s: cell holds key %q", key, p.id, k)
	}
	return v, true, nil
}

// Scan reads the whole row once and returns the matching keys in order:
// a consistent snapshot of the pipeline state.
func (p *tablestorePipelineState) Scan(ctx context.Context, prefix string, fn func(key string, value []byte) error) error {
	row, err := p.r.getRow(ctx, kindTask, p.id)
	if err != nil || row == nil {
		return err
	}
	type entry struct {
		key   string
		value []byte
	}
	var entries []entry
	for name, v := range row {
		data, ok := v.([]byte)
		if !ok || !strings.HasPrefix(name, colPSPrefix) {
			continue
		}
		k, value, err := decodePSValue(data)
		if err != nil {
			return fmt.Errorf("state: pipeline column %s of %s: %w", name, p.id, err)
		}
		if strings.HasPrefix(k, prefix) {
			entries = append(entries, entry{k, value})
		}
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.key, b.key) })
	for _, e := range entries {
		if err := fn(e.key, e.value); err != nil {
			return err
		}
	}
	return nil
}
