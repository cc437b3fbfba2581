// Package api is the executor's REST API: HTTP handlers for delivery tasks
// and service roles, bearer-token authentication, JSON errors naming the
// rejected field, the OpenAPI document, /metrics and /healthz, and the task
// lifecycle (initialization in the background, resume after a restart).
//
// The pipelines that move data plug in through Runner and report their
// progress through the state registry.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/catalog"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/state"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// Runner runs the pipelines of tasks; the pipelines package implements it.
type Runner interface {
	// Start creates the task's tunnel if it has none (synchronously: when
	// Start returns, no change made from now on can be missed) and starts
	// its pipeline in the background. It is called once initialization has
	// resolved the columns, and again for every task past INIT when the
	// executor restarts, so it must resume from the task's checkpoints.
	Start(ctx context.Context, t task.Task) error
	// Update gives a running pipeline the task after a PATCH of mutable fields.
	Update(ctx context.Context, t task.Task) error
	// Stop stops the task's pipeline and removes its tunnel before the task
	// is deleted. It never deletes delivered objects.
	Stop(ctx context.Context, table, name string) error
}

// Config wires a Server.
type Config struct {
	// Token is the bearer token every /v1 call must present. Required.
	Token string
	// Registry stores tasks and roles. Required.
	Registry state.Registry
	// Catalog describes the source instance. Required.
	Catalog catalog.Catalog
	// Runner runs pipelines. Required.
	Runner Runner
	// Region is the source instance's region; tasks must name it (and get it
	// when they leave region empty). Required.
	Region string
	// AccountID goes into role ARNs; default task.DefaultAccountID.
	AccountID string
	// Logger; default slog.Default().
	Logger *slog.Logger
	// Metrics is where the API registers its collectors and what /metrics
	// serves; default a new registry. Pass a shared one to expose the
	// pipelines' metrics on the same endpoint.
	Metrics *prometheus.Registry
	// SampleRows is how many rows an automatic schema samples; default
	// catalog.DefaultSampleRows.
	SampleRows int
	// RetryInterval is the first pause before initialization steps are
	// retried (doubling up to 5 s); default 200 ms.
	RetryInterval time.Duration

	// Scale-out over a registry shared by several executors (see
	// reconcile.go). ReconcileInterval > 0 makes the server read the
	// registry that often: tasks in INIT get initialized (by the one
	// executor that claims them, when the Registry is a state.Claimer), and
	// a Runner that implements Reconciler gets the full task list to start
	// and stop pipelines for tasks created or deleted elsewhere. 0: off
	// (single executor).
	ReconcileInterval time.Duration
	// Owner names this executor in initialization claims; default a random id.
	Owner string
	// InitClaimTTL is how long an initialization claim lasts without being
	// renewed (each attempt renews it); default 30 s.
	InitClaimTTL time.Duration
	// SchemaRefreshInterval is how often the tables of running auto-schema
	// tasks are described again, so that a defined column added to a table
	// (AddDefinedColumn) joins the task's resolved columns; default 1 s, as
	// the pipelines' status refresh. Negative: never.
	SchemaRefreshInterval time.Duration
}

// Server is the executor API. It is an http.Handler.
type Server struct {
	cfg     Config
	log     *slog.Logger
	mux     *http.ServeMux
	handler http.Handler
	token   Token

	ctx    context.Context // cancelled by Close; bounds background work
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu         sync.Mutex
	taskLocks  map[string]*taskLock
	inflight   map[string]bool // tasks whose initialization goroutine runs
	closed     bool
	requests   *prometheus.CounterVec
	durations  *prometheus.HistogramVec
	metricsReg *prometheus.Registry
}

// route is one documented endpoint; the OpenAPI test checks the document
// against this table.
type route struct {
	method, path string
	auth         bool
	handler      func(*Server, http.ResponseWriter, *http.Request)
}

var routes = []route{
	{http.MethodGet, "/healthz", false, (*Server).health},
	{http.MethodGet, "/metrics", false, nil}, // served by promhttp
	{http.MethodGet, "/openapi.yaml", false, (*Server).openAPI},
	{http.MethodGet, "/v1/roles", true, (*Server).listRoles},
	{http.MethodPut, "/v1/roles/{name}", true, (*Server).putRole},
	{http.MethodGet, "/v1/roles/{name}", true, (*Server).getRole},
	{http.MethodDelete, "/v1/roles/{name}", true, (*Server).deleteRole},
	{http.MethodPost, "/v1/tasks", true, (*Server).createTask},
	{http.MethodGet, "/v1/tasks", true, (*Server).listTasks},
	{http.MethodGet, "/v1/tasks/{table}/{name}", true, (*Server).getTask},
	{http.MethodPatch, "/v1/tasks/{table}/{name}", true, (*Server).patchTask},
	{http.MethodDelete, "/v1/tasks/{table}/{name}", true, (*Server).deleteTask},
	{http.MethodGet, "/v1/tasks/{table}/{name}/ddl", true, (*Server).getDDL},
}

// New builds the server and resumes the stored tasks: initialization runs
// again for tasks still in INIT, and the Runner is started for tasks past it
// (except finished ones).
func New(cfg Config) (*Server, error) {
	switch {
	case cfg.Token == "":
		return nil, errors.New("api: Token is required")
	case cfg.Registry == nil:
		return nil, errors.New("api: Registry is required")
	case cfg.Catalog == nil:
		return nil, errors.New("api: Catalog is required")
	case cfg.Runner == nil:
		return nil, errors.New("api: Runner is required")
	case cfg.Region == "":
		return nil, errors.New("api: Region is required")
	}
	if cfg.AccountID == "" {
		cfg.AccountID = task.DefaultAccountID
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = prometheus.NewRegistry()
	}
	if cfg.SampleRows == 0 {
		cfg.SampleRows = catalog.DefaultSampleRows
	}
	if cfg.RetryInterval <= 0 {
		cfg.RetryInterval = 200 * time.Millisecond
	}
	if cfg.Owner == "" {
		cfg.Owner = randomOwner()
	}
	if cfg.InitClaimTTL <= 0 {
		cfg.InitClaimTTL = 30 * time.Second
	}
	if cfg.SchemaRefreshInterval == 0 {
		cfg.SchemaRefreshInterval = time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg:        cfg,
		log:        cfg.Logger.With("component", "api"),
		mux:        http.NewServeMux(),
		token:      NewToken(cfg.Token),
		ctx:        ctx,
		cancel:     cancel,
		taskLocks:  map[string]*taskLock{},
		inflight:   map[string]bool{},
		metricsReg: cfg.Metrics,
	}
	if err := s.registerMetrics(); err != nil {
		cancel()
		return nil, err
	}
	// paths matches a request's path against every route whatever its
	// method, so that a known path with another method is answered 405 with
	// the methods it allows, not 404.
	paths := http.NewServeMux()
	allowed := map[string][]string{}
	for _, rt := range routes {
		if _, seen := allowed[rt.path]; !seen {
			paths.Handle(rt.path, http.NotFoundHandler())
		}
		allowed[rt.path] = append(allowed[rt.path], rt.method)
	}
	for _, rt := range routes {
		pattern := rt.method + " " + rt.path
		var h http.Handler
		if rt.handler == nil {
			h = promhttp.HandlerFor(cfg.Metrics, promhttp.HandlerOpts{})
		} else {
			fn := rt.handler
			h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fn(s, w, r) })
		}
		if rt.auth {
			h = s.authenticate(h)
		}
		s.mux.Handle(pattern, h)
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1/") && !s.authorized(r) {
			writeError(w, http.StatusUnauthorized, task.CodeUnauthenticated, "missing or invalid bearer token", "")
			return
		}
		if _, path := paths.Handler(r); path != "" {
			methods := strings.Join(allowed[path], ", ")
			w.Header().Set("Allow", methods)
			writeError(w, http.StatusMethodNotAllowed, task.CodeMethodNotAllowed,
				fmt.Sprintf("%s is not allowed on %s; use %s", r.Method, r.URL.Path, methods), "")
			return
		}
		writeError(w, http.StatusNotFound, task.CodeNotFound, fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path), "")
	})
	s.handler = s.instrument(s.mux)
	if err := s.resume(); err != nil {
		cancel()
		return nil, err
	}
	s.startReconcile()
	s.startSchemaRefresh()
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Close stops the background initializations and waits for them. It does not
// stop the Runner's pipelines: the Runner's owner does that.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return nil
}

func (s *Server) authorized(r *http.Request) bool {
	presented, ok := BearerToken(r)
	return ok && s.token.Matches(presented)
}

func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="delivery-executor"`)
			writeError(w, http.StatusUnauthorized, task.CodeUnauthenticated, "missing bearer token (Authorization: Bearer <token>)", "")
			return
		}
		if !s.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="delivery-executor", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, task.CodeUnauthenticated, "invalid bearer token", "")
			return
		}
		next.ServeHTTP(w, r)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		_, pattern := s.mux.Handler(r)
		if pattern == "" || pattern == "/" {
			pattern = "unmatched"
		}
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		code := fmt.Sprint(rec.status)
		s.requests.WithLabelValues(pattern, code).Inc()
		s.durations.WithLabelValues(pattern).Observe(time.Since(start).Seconds())
		level := slog.LevelDebug
		if rec.status >= 500 {
			level = slog.LevelWarn
		}
		// Never the body: role secrets travel in it.
		s.log.Log(r.Context(), level, "request", "method", r.Method, "route", pattern,
			"status", rec.status, "duration", time.Since(start))
	})
}

func (s *Server) health(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// taskLock is a per-task mutex counted by its users, so the map of locks
// only holds tasks someone is working on.
type taskLock struct {
	sync.Mutex
	users int
}

// lockTask serialises the lifecycle steps of one task (delete, patch, the
// clean-up of a task deleted while it started) so they never interleave.
func (s *Server) lockTask(table, name string) func() {
	id := table + "/" + name
	s.mu.Lock()
	l, ok := s.taskLocks[id]
	if !ok {
		l = &taskLock{}
		s.taskLocks[id] = l
	}
	l.users++
	s.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		s.mu.Lock()
		l.users--
		if l.users == 0 {
			delete(s.taskLocks, id)
		}
		s.mu.Unlock()
	}
}
