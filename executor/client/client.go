// Package client is the Go client of the delivery executor's REST API, used
// by the Terraform provider and the command line. Every call takes a context;
// failures the server answers are *APIError values (see IsNotFound,
// IsConflict, IsInvalid); 5xx answers and connection errors are retried with
// exponential backoff, 4xx answers never are.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// Client calls one executor.
type Client struct {
	base       *url.URL
	token      string
	http       *http.Client
	maxRetries int
	minBackoff time.Duration
	maxBackoff time.Duration
	userAgent  string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (default: one with a 30 s timeout).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithRetries sets how many times a call is retried after a 5xx answer or a
// connection error (default 4; 0 disables retries) and the backoff bounds
// (default 100 ms doubling up to 2 s, with jitter).
func WithRetries(maxRetries int, minBackoff, maxBackoff time.Duration) Option {
	return func(c *Client) {
		c.maxRetries, c.minBackoff, c.maxBackoff = maxRetries, minBackoff, maxBackoff
	}
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// New returns a client of the executor at endpoint (such as
// "http://127.0.0.1:8470") authenticating with the bearer token.
func New(endpoint, token string, opts ...Option) (*Client, error) {
	if endpoint == "" {
		return nil, errors.New("client: endpoint is required")
	}
	u, err := url.Parse(strings.TrimRight(endpoint, "/"))
	if err != nil {
		return nil, fmt.Errorf("client: endpoint %q: %w", endpoint, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("client: endpoint %q must be an http:// or https:// URL with a host", endpoint)
	}
	c := &Client{
		base:       u,
		token:      token,
		http:       &http.Client{Timeout: 30 * time.Second},
		maxRetries: 4,
		minBackoff: 100 * time.Millisecond,
		maxBackoff: 2 * time.Second,
		userAgent:  "tablestore-delivery-client",
	}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// APIError is an error answered by the executor.
type APIError struct {
	Status  int    // HTTP status
	Code    string // task.Code* value
	Message string
	Field   string // the rejected field, for 400s
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("executor API: %d %s: %s", e.Status, e.Code, e.Message)
	if e.Field != "" && !strings.HasPrefix(e.Message, e.Field+":") {
		msg += " (field " + e.Field + ")"
	}
	return msg
}

func statusOf(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// IsNotFound reports whether err is a 404 answer.
func IsNotFound(err error) bool { return statusOf(err) == http.StatusNotFound }

// IsConflict reports whether err is a 409 answer (name taken, or the task is
// initializing).
func IsConflict(err error) bool { return statusOf(err) == http.StatusConflict }

// IsInvalid reports whether err is a 400 answer (a rejected field).
func IsInvalid(err error) bool { return statusOf(err) == http.StatusBadRequest }

// IsUnauthenticated reports whether err is a 401 answer.
func IsUnauthenticated(err error) bool { return statusOf(err) == http.StatusUnauthorized }

// IsInitializing reports whether err is the 409 TaskInitializing answer to a
// DELETE during initialization; retry later.
func IsInitializing(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Code == task.CodeTaskInitializing
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

// do sends one request, retrying on 5xx and connection errors, and decodes a
// 2xx body into out (when out is not nil).
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("client: encode %s %s: %w", method, path, err)
		}
	}
	// Path segments are escaped by the callers (seg), so the URL is built as text.
	target := c.base.String() + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	var lastErr error
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if err := c.sleep(ctx, attempt); err != nil {
				return fmt.Errorf("client: %s %s: %w (last error: %w)", method, path, err, lastErr)
			}
		}
		retry, err := c.once(ctx, method, target, body, out)
		if err == nil {
			return nil
		}
		lastErr = err
		if !retry || attempt >= c.maxRetries || ctx.Err() != nil {
			return err
		}
	}
}

func (c *Client) once(ctx context.Context, method, u string, body []byte, out any) (retry bool, err error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return false, fmt.Errorf("client: build %s %s: %w", method, u, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return true, fmt.Errorf("client: %s %s: %w", method, u, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return true, fmt.Errorf("client: %s %s: read answer: %w", method, u, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if out == nil || resp.StatusCode == http.StatusNoContent {
			return false, nil
		}
		if err := json.Unmarshal(data, out); err != nil {
			return false, fmt.Errorf("client: %s %s: decode answer: %w", method, u, err)
		}
		return false, nil
	}
	apiErr := &APIError{Status: resp.StatusCode}
	var eb errorBody
	if json.Unmarshal(data, &eb) == nil && eb.Error.Code != "" {
		apiErr.Code, apiErr.Message, apiErr.Field = eb.Error.Code, eb.Error.Message, eb.Error.Field
	} else {
		apiErr.Code = http.StatusText(resp.StatusCode)
		apiErr.Message = strings.TrimSpace(string(data))
	}
	return resp.StatusCode >= 500, apiErr
}

func (c *Client) sleep(ctx context.Context, attempt int) error {
	d := c.minBackoff << (attempt - 1)
	if d > c.maxBackoff || d <= 0 {
		d = c.maxBackoff
	}
	// Full jitter between half and all of the backoff.
	if d > 1 {
		d = d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func seg(s string) string { return url.PathEscape(s) }

// PutRole creates or replaces a role and returns it (never its secret).
func (c *Client) PutRole(ctx context.Context, name string, in task.RoleInput) (*task.Role, error) {
	var r task.Role
	if err := c.do(ctx, http.MethodPut, "/v1/roles/"+seg(name), nil, in, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// GetRole returns a role.
func (c *Client) GetRole(ctx context.Context, name string) (*task.Role, error) {
	var r task.Role
	if err := c.do(ctx, http.MethodGet, "/v1/roles/"+seg(name), nil, nil, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// ListRoles returns every role, by name.
func (c *Client) ListRoles(ctx context.Context) ([]task.Role, error) {
	var l task.RoleList
	if err := c.do(ctx, http.MethodGet, "/v1/roles", nil, nil, &l); err != nil {
		return nil, err
	}
	return l.Roles, nil
}

// DeleteRole deletes a role.
func (c *Client) DeleteRole(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/v1/roles/"+seg(name), nil, nil, nil)
}

// CreateTask creates a task; it starts in phase INIT.
func (c *Client) CreateTask(ctx context.Context, spec task.Spec) (*task.Task, error) {
	var t task.Task
	if err := c.do(ctx, http.MethodPost, "/v1/tasks", nil, spec, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// GetTask returns a task with its status.
func (c *Client) GetTask(ctx context.Context, table, name string) (*task.Task, error) {
	var t task.Task
	if err := c.do(ctx, http.MethodGet, "/v1/tasks/"+seg(table)+"/"+seg(name), nil, nil, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// ListTasks returns the tasks of a table, or of every table when table is "".
func (c *Client) ListTasks(ctx context.Context, table string) ([]task.Task, error) {
	var q url.Values
	if table != "" {
		q = url.Values{"table": {table}}
	}
	var l task.TaskList
	if err := c.do(ctx, http.MethodGet, "/v1/tasks", q, nil, &l); err != nil {
		return nil, err
	}
	return l.Tasks, nil
}

// UpdateTask changes the patch's non-nil fields in place and returns the
// task; task.PatchFor builds a patch from two specs. A change task.Diff
// calls a replacement answers 400 ImmutableField (see IsInvalid).
func (c *Client) UpdateTask(ctx context.Context, table, name string, patch task.Patch) (*task.Task, error) {
	var t task.Task
	if err := c.do(ctx, http.MethodPatch, "/v1/tasks/"+seg(table)+"/"+seg(name), nil, patch, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// DeleteTask deletes a task: its pipeline stops and its tunnel is removed;
// delivered objects stay. A task still initializing answers 409
// TaskInitializing (see IsInitializing).
func (c *Client) DeleteTask(ctx context.Context, table, name string) error {
	return c.do(ctx, http.MethodDelete, "/v1/tasks/"+seg(table)+"/"+seg(name), nil, nil, nil)
}

// DDLOption adds a parameter to GetDDL.
type DDLOption func(url.Values)

// DDLLocation replaces the data's base URL in the statement (see task.DDLOptions).
func DDLLocation(location string) DDLOption {
	return func(q url.Values) { q.Set("location", location) }
}

// DDLTableName sets the lake table name (default: the source table's name).
func DDLTableName(name string) DDLOption {
	return func(q url.Values) { q.Set("table_name", name) }
}

// DDLSince sets when the lake table was created: AlterStatement then adds
// the columns appended after it (default: every column appended after the
// task began).
func DDLSince(t time.Time) DDLOption {
	return func(q url.Values) { q.Set("since", t.UTC().Format(time.RFC3339)) }
}

// GetDDL returns the statement that makes the task's objects queryable in a
// dialect (task.DialectHive, DialectSpark, DialectTrino, DialectDuckDB), and
// the one bringing an older lake table up to date (AlterStatement).
func (c *Client) GetDDL(ctx context.Context, table, name string, dialect task.Dialect, opts ...DDLOption) (*task.DDLResponse, error) {
	q := url.Values{"dialect": {string(dialect)}}
	for _, o := range opts {
		o(q)
	}
	var d task.DDLResponse
	if err := c.do(ctx, http.MethodGet, "/v1/tasks/"+seg(table)+"/"+seg(name)+"/ddl", q, nil, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// Health checks GET /healthz (no token needed).
func (c *Client) Health(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, "/healthz", nil, nil, nil)
}
