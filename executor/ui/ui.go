// Package ui is the executor's read-only status page, served at /ui beside
// the REST API: every task with its phase, runtime error, last synced time and
// counters, a progress bar during a full sync, a chart of its lag over time
// and the latest objects it wrote. The page is server-rendered HTML with an
// inline SVG chart and a few lines of script that refresh it; nothing needs
// building. /ui/status.json serves the same data for programs (the command
// line's `status` reads the full-sync estimates from it).
//
// The page shows no secrets: tasks carry none, and role credentials are only
// used, in process, to list the latest objects.
//
// A sampler reads the registry every SampleInterval and keeps a bounded
// in-memory history per task (lost on restart, by design: it is for watching,
// not for auditing; /metrics is for monitoring systems).
//
// The full-sync estimate (a row count of the source table) is taken only when
// someone reads the page or status.json while the task is in INIT or FULL,
// once per task, and then served from memory. Tablestore has no cheap row
// count, so a count is a second scan of the table the full sync is reading:
// nobody watching, nobody pays for it.
package ui

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/objectstore"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/state"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// Config wires a Page.
type Config struct {
	// Registry is where tasks and roles are read from. Required.
	Registry state.Registry
	// OSSEndpoints maps a region to its OSS endpoint, to list the latest
	// objects of a task with its role's credentials. Missing: no objects shown.
	OSSEndpoints map[string]string
	// Counter estimates source table sizes for full-sync progress; nil: no
	// progress bar, only the delivered rows.
	Counter RowCounter
	// SampleInterval is how often the registry is sampled; default 3 s.
	SampleInterval time.Duration
	// HistorySize bounds the samples kept per task; default 600 (30 minutes
	// at the default interval).
	HistorySize int
	// LatestObjects is how many objects are shown per task; default 10.
	LatestObjects int
	// ListLimit bounds the objects listed per task to find the latest ones;
	// default 5000.
	ListLimit int
	Logger    *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Page is the status page and its sampler. It implements http.Handler for
// the paths under /ui.
type Page struct {
	cfg    Config
	log    *slog.Logger
	mux    *http.ServeMux
	ctx    context.Context // the page's lifetime; row counts run under it, not a request's
	stop   context.CancelFunc
	done   chan struct{}
	sample chan struct{}

	mu    sync.Mutex
	tasks map[string]*taskState // by task id "<table>/<name>"
}

// Sample is one point of a task's history.
type Sample struct {
	At time.Time `json:"at"`
	// LagSeconds is how far the delivered data is behind the source clock:
	// now minus current_sync_timestamp_ns; nil before the task has one.
	LagSeconds    *float64 `json:"lag_seconds"`
	RowsDelivered int64    `json:"rows_delivered"`
}

// Object is one delivered object as the page shows it.
type Object struct {
	Key          string    `json:"key"`
	Size         int64     `json:"size"`
	LastModified time.Time `json:"last_modified"`
}

// taskState is what the sampler keeps about one task.
type taskState struct {
	history []Sample // oldest first, at most HistorySize

	estimate        *int64 // rows of the source table, when counted
	estimateErr     string
	counting        bool
	estimateStarted bool

	objects         []Object
	objectsFor      int64 // objects_written when objects were last listed (-1: never)
	objectsErr      string
	objectsTruncate bool
}

// New builds the page and starts its sampler; Close stops it.
func New(cfg Config) (*Page, error) {
	if cfg.Registry == nil {
		return nil, errors.New("ui: Config.Registry is required")
	}
	if cfg.SampleInterval <= 0 {
		cfg.SampleInterval = 3 * time.Second
	}
	if cfg.HistorySize <= 0 {
		cfg.HistorySize = 600
	}
	if cfg.LatestObjects <= 0 {
		cfg.LatestObjects = 10
	}
	if cfg.ListLimit <= 0 {
		cfg.ListLimit = 5000
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	ctx, stop := context.WithCancel(context.Background())
	p := &Page{
		cfg:    cfg,
		log:    cfg.Logger,
		ctx:    ctx,
		stop:   stop,
		done:   make(chan struct{}),
		sample: make(chan struct{}, 1),
		tasks:  map[string]*taskState{},
	}
	p.mux = http.NewServeMux()
	p.mux.HandleFunc("GET /ui", p.servePage)
	p.mux.HandleFunc("GET /ui/{$}", p.servePage)
	p.mux.HandleFunc("GET /ui/status.json", p.serveJSON)
	p.mux.HandleFunc("/ui/", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "not found", http.StatusNotFound)
	})
	go p.run(ctx)
	return p, nil
}

// ServeHTTP implements http.Handler.
func (p *Page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The page is read-only and holds no secrets; forbid framing and
	// sniffing all the same.
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	p.mux.ServeHTTP(w, r)
}

// Close stops the sampler.
func (p *Page) Close() error {
	p.stop()
	<-p.done
	return nil
}

// Mount returns a handler that serves the page at /ui and /ui/... and hands
// every other path to next (the REST API). The page is read-only and shows
// nothing secret; wrap it in RequireToken to ask for the API token.
func Mount(page http.Handler, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ui" || strings.HasPrefix(r.URL.Path, "/ui/") {
			page.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (p *Page) run(ctx context.Context) {
	defer close(p.done)
	ticker := time.NewTicker(p.cfg.SampleInterval)
	defer ticker.Stop()
	for {
		p.sampleOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		case <-p.sample:
		}
	}
}

// sampleOnce records one history point per task and refreshes the latest
// objects of tasks that wrote new ones. It starts no row counts: those wait
// for a reader (startEstimate).
func (p *Page) sampleOnce(ctx context.Context) {
	tasks, err := p.cfg.Registry.ListTasks(ctx, "")
	if err != nil {
		if ctx.Err() == nil {
			p.log.Warn("status page: list tasks", "err", err)
		}
		return
	}
	now := p.cfg.Now()
	seen := map[string]bool{}
	var toList []task.Task
	p.mu.Lock()
	for _, t := range tasks {
		id := t.ID()
		seen[id] = true
		st := p.tasks[id]
		if st == nil {
			st = &taskState{objectsFor: -1}
			p.tasks[id] = st
		}
		// Page loads also trigger a sample (so a new task shows at once);
		// keep the history's spacing near the interval however many people
		// watch.
		if n := len(st.history); n == 0 || now.Sub(st.history[n-1].At) >= p.cfg.SampleInterval/2 {
			st.history = append(st.history, Sample{At: now, LagSeconds: lagSeconds(t.Status, now), RowsDelivered: t.Status.RowsDelivered})
		}
		if over := len(st.history) - p.cfg.HistorySize; over > 0 {
			st.history = slices.Delete(st.history, 0, over)
		}
		if t.Status.ObjectsWritten != st.objectsFor {
			toList = append(toList, t)
		}
	}
	for id := range p.tasks {
		if !seen[id] {
			delete(p.tasks, id)
		}
	}
	p.mu.Unlock()

	for _, t := range toList {
		p.mu.Lock()
		knownLarge := false
		if st := p.tasks[t.ID()]; st != nil {
			knownLarge = st.objectsTruncate
		}
		p.mu.Unlock()
		objects, truncated, err := p.latestObjects(ctx, t, knownLarge)
		p.mu.Lock()
		if st := p.tasks[t.ID()]; st != nil {
			if err != nil {
				st.objectsErr = err.Error()
			} else {
				st.objects, st.objectsTruncate, st.objectsErr = objects, truncated, ""
				st.objectsFor = t.Status.ObjectsWritten
			}
		}
		p.mu.Unlock()
	}
}

// startEstimate starts the row count of a task's source table if the task
// is in a full sync and its table has not been counted yet. The page calls it
// when someone reads the task's status, with p.mu held; the count itself runs
// in the background, so the reader sees "counting" and the next refresh the
// bar.
func (p *Page) startEstimate(t task.Task, st *taskState) {
	if p.cfg.Counter == nil || st.estimateStarted || t.SyncMode == task.SyncIncremental {
		return
	}
	if t.Status.Phase != task.PhaseInit && t.Status.Phase != task.PhaseFull {
		return
	}
	st.estimateStarted, st.counting = true, true
	go p.count(p.ctx, t.ID(), t.Table)
}

func (p *Page) count(ctx context.Context, id, table string) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	rows, err := p.cfg.Counter.CountRows(ctx, table)
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.tasks[id]
	if st == nil {
		return
	}
	st.counting = false
	if err != nil {
		st.estimateErr = err.Error()
		if ctx.Err() == nil {
			p.log.Warn("status page: count rows", "table", table, "err", err)
		}
		return
	}
	st.estimate = &rows
}

// latestObjects lists the task's static prefix with its role's credentials
// and returns the most recently written objects, newest first.
//
// Past ListLimit objects (truncated is then true, and knownLarge skips the
// full listing next time), only the newest time partition is listed.
func (p *Page) latestObjects(ctx context.Context, t task.Task, knownLarge bool) (objects []Object, truncated bool, err error) {
	endpoint, ok := p.cfg.OSSEndpoints[t.Region]
	if !ok {
		return nil, false, fmt.Errorf("no OSS endpoint for region %q", t.Region)
	}
	role, err := p.cfg.Registry.RoleByARN(ctx, t.RoleARN)
	if err != nil {
		return nil, false, fmt.Errorf("role %s: %w", t.RoleARN, err)
	}
	client, err := objectstore.New(objectstore.Config{
		Endpoint: endpoint,
		Region:   t.Region,
		Credentials: objectstore.Credentials{
			AccessKeyID:     role.Credentials.AccessKeyID,
			AccessKeySecret: role.Credentials.AccessKeySecret,
		},
		Timeout: 10 * time.Second,
	})
	if err != nil {
		return nil, false, err
	}
	prefix, depth := t.Prefix, 0
	if tmpl, err := task.ParsePrefix(t.Prefix); err == nil {
		prefix, depth = tmpl.StaticPrefix(), tmpl.DynamicFolders()
	}
	listCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	var infos []objectstore.ObjectInfo
	truncated = knownLarge
	if !knownLarge {
		if infos, truncated, err = client.ListInfo(listCtx, t.Bucket, prefix+"/", p.cfg.ListLimit); err != nil {
			return nil, false, err
		}
	}
	if truncated && depth > 0 {
		// Too many objects to list them all: time-partitioned folders sort
		// by time, so descend into the newest folder at each level and list
		// that partition. (Rows partitioned by an event time may also land
		// in older partitions; those are not shown then.)
		folder := prefix + "/"
		for range depth {
			folders, err := client.ListFolders(listCtx, t.Bucket, folder)
			if err != nil {
				return nil, false, err
			}
			if len(folders) == 0 {
				break
			}
			folder = folders[len(folders)-1]
		}
		if infos, _, err = client.ListInfo(listCtx, t.Bucket, folder, p.cfg.ListLimit); err != nil {
			return nil, false, err
		}
	}
	// Only this task's objects: their names start with "<task>_".
	objects = make([]Object, 0, len(infos))
	for _, o := range infos {
		name := o.Key[strings.LastIndexByte(o.Key, '/')+1:]
		if strings.HasPrefix(name, t.Name+"_") {
			objects = append(objects, Object{Key: o.Key, Size: o.Size, LastModified: o.LastModified})
		}
	}
	slices.SortFunc(objects, func(a, b Object) int {
		if c := b.LastModified.Compare(a.LastModified); c != 0 {
			return c
		}
		return cmp.Compare(b.Key, a.Key)
	})
	if len(objects) > p.cfg.LatestObjects {
		objects = objects[:p.cfg.LatestObjects]
	}
	return objects, truncated, nil
}

// lagSeconds is how far behind the source clock a task's delivered data is.
func lagSeconds(s task.Status, now time.Time) *float64 {
	if s.CurrentSyncTimestampNs <= 0 {
		return nil
	}
	lag := max(now.Sub(time.Unix(0, s.CurrentSyncTimestampNs)).Seconds(), 0)
	return &lag
}
