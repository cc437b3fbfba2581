package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// Status is the body of GET /ui/status.json.
type Status struct {
	GeneratedAt time.Time  `json:"generated_at"`
	Tasks       []TaskView `json:"tasks"`
}

// TaskView is what the page shows about one task.
type TaskView struct {
	ID             string     `json:"id"`
	Table          string     `json:"table"`
	Name           string     `json:"name"`
	SyncMode       string     `json:"sync_mode"`
	Bucket         string     `json:"bucket"`
	Prefix         string     `json:"prefix"`
	Phase          task.Phase `json:"phase"`
	ErrorCode      string     `json:"error_code"`
	ErrorDetail    string     `json:"error_detail"`
	LastSyncedAt   *time.Time `json:"last_synced_at,omitempty"`
	LagSeconds     *float64   `json:"lag_seconds"`
	RowsDelivered  int64      `json:"rows_delivered"`
	RowsDirty      int64      `json:"rows_dirty"`
	ObjectsWritten int64      `json:"objects_written"`
	BytesWritten   int64      `json:"bytes_written"`
	// EstimatedRows is the source table's row count, counted once when the
	// page or this JSON was first read during the task's full sync; nil when
	// unknown (not counted yet, incremental task, or too large to count).
	EstimatedRows *int64 `json:"estimated_rows"`
	// Counting is true while the estimate is being computed.
	Counting bool     `json:"counting"`
	History  []Sample `json:"history"`
	Objects  []Object `json:"latest_objects"`
	// ObjectsError says why the latest objects could not be listed.
	ObjectsError string `json:"latest_objects_error,omitempty"`
	// ObjectsPartial is true when the task has too many objects to list:
	// the latest objects are then those of the newest time partition.
	ObjectsPartial bool `json:"latest_objects_partial,omitempty"`
}

// InFullSync reports whether the task is scanning the table's existing rows.
func (v TaskView) InFullSync() bool { return v.Phase == task.PhaseFull || v.Phase == task.PhaseInit }

// ProgressPercent is the rows delivered of the estimate, capped at 100.
func (v TaskView) ProgressPercent() float64 {
	if v.EstimatedRows == nil || *v.EstimatedRows <= 0 {
		return 0
	}
	return math.Min(100, 100*float64(v.RowsDelivered)/float64(*v.EstimatedRows))
}

// snapshot reads the tasks afresh and joins what the sampler knows. A reader
// is what a row count waits for: the snapshot starts the counts of tasks in a
// full sync that have none yet.
func (p *Page) snapshot(ctx context.Context) (Status, error) {
	tasks, err := p.cfg.Registry.ListTasks(ctx, "")
	if err != nil {
		return Status{}, fmt.Errorf("list tasks: %w", err)
	}
	now := p.cfg.Now()
	out := Status{GeneratedAt: now.UTC(), Tasks: make([]TaskView, 0, len(tasks))}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, t := range tasks {
		v := TaskView{
			ID: t.ID(), Table: t.Table, Name: t.Name, SyncMode: string(t.SyncMode), Bucket: t.Bucket, Prefix: t.Prefix,
			Phase: t.Status.Phase, ErrorCode: string(t.Status.ErrorCode), ErrorDetail: t.Status.ErrorDetail,
			LastSyncedAt: t.Status.LastSyncedAt, LagSeconds: lagSeconds(t.Status, now),
			RowsDelivered: t.Status.RowsDelivered, RowsDirty: t.Status.RowsDirty,
			ObjectsWritten: t.Status.ObjectsWritten, BytesWritten: t.Status.BytesWritten,
			History: []Sample{}, Objects: []Object{},
		}
		st := p.tasks[t.ID()]
		if st == nil { // not sampled yet; the sampler keeps it from now on
			st = &taskState{objectsFor: -1}
			p.tasks[t.ID()] = st
		}
		p.startEstimate(t, st)
		v.EstimatedRows, v.Counting = st.estimate, st.counting
		v.History = append(v.History, st.history...)
		v.Objects = append(v.Objects, st.objects...)
		v.ObjectsError, v.ObjectsPartial = st.objectsErr, st.objectsTruncate
		out.Tasks = append(out.Tasks, v)
	}
	return out, nil
}

func (p *Page) serveJSON(w http.ResponseWriter, r *http.Request) {
	s, err := p.snapshot(r.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(s)
}

func (p *Page) servePage(w http.ResponseWriter, r *http.Request) {
	// A new task should appear with its first sample without waiting a full
	// interval.
	select {
	case p.sample <- struct{}{}:
	default:
	}
	s, err := p.snapshot(r.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	name := "page"
	if r.URL.Query().Get("part") == "tasks" {
		name = "tasks"
	}
	if err := pageTemplate.ExecuteTemplate(w, name, pageData{Status: s, RefreshMillis: p.cfg.SampleInterval.Milliseconds(), Refresh: p.cfg.SampleInterval.String()}); err != nil {
		p.log.Warn("status page: render", "err", err)
	}
}

type pageData struct {
	Status
	RefreshMillis int64
	Refresh       string
}

// chart is the lag-over-time chart of one task as SVG geometry.
type chart struct {
	Width, Height int
	Points        string // polyline points "x,y x,y ..."
	MaxLabel      string // lag at the top of the chart
	SpanLabel     string // time covered by the x axis
	Samples       int
}

const chartWidth, chartHeight = 560, 110

func lagChart(history []Sample) chart {
	c := chart{Width: chartWidth, Height: chartHeight}
	var pts []Sample
	for _, s := range history {
		if s.LagSeconds != nil {
			pts = append(pts, s)
		}
	}
	c.Samples = len(pts)
	if len(pts) == 0 {
		return c
	}
	maxLag := 1.0
	for _, s := range pts {
		maxLag = math.Max(maxLag, *s.LagSeconds)
	}
	first, last := pts[0].At, pts[len(pts)-1].At
	span := last.Sub(first).Seconds()
	var b strings.Builder
	for i, s := range pts {
		x := float64(chartWidth)
		if span > 0 {
			x = float64(chartWidth) * s.At.Sub(first).Seconds() / span
		} else if len(pts) == 1 {
			x = float64(chartWidth) / 2
		}
		y := float64(chartHeight) - float64(chartHeight-10)*(*s.LagSeconds)/maxLag
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%.1f,%.1f", x, y)
	}
	c.Points = b.String()
	c.MaxLabel = formatSeconds(maxLag)
	c.SpanLabel = formatSeconds(span)
	return c
}

func formatSeconds(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Second).String()
}

// formatBytes renders a size in binary units.
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// formatCount renders an integer with thousands separators.
func formatCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"chart":   lagChart,
	"bytes":   formatBytes,
	"count":   formatCount,
	"seconds": formatSeconds,
	"when": func(t *time.Time) string {
		if t == nil {
			return "never"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"stamp":   func(t time.Time) string { return t.UTC().Format("15:04:05") },
	"percent": func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) },
	"deref":   func(p *int64) int64 { return *p },
	"derefF":  func(p *float64) float64 { return *p },
}).Parse(pageHTML))
