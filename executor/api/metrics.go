package api

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// taskCollector reports how many tasks are in each phase with each error
// code, read from the registry at scrape time so it can never drift from it.
type taskCollector struct {
	s    *Server
	desc *prometheus.Desc
	up   *prometheus.Desc
}

func (c *taskCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.desc
	ch <- c.up
}

func (c *taskCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tasks, err := c.s.cfg.Registry.ListTasks(ctx, "")
	if err != nil {
		c.s.log.Warn("metrics: list tasks", "error", err)
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	counts := map[[2]string]int{}
	// Every known combination is reported, zeros included, so dashboards
	// and alerts see a series before the first task gets there.
	for _, p := range task.Phases {
		for _, e := range task.ErrorCodes {
			counts[[2]string{string(p), string(e)}] = 0
		}
	}
	for _, t := range tasks {
		counts[[2]string{string(t.Status.Phase), string(t.Status.ErrorCode)}]++
	}
	for k, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), k[0], k[1])
	}
}

func (s *Server) registerMetrics() error {
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "delivery_api_requests_total",
		Help: "API requests by route and HTTP status.",
	}, []string{"route", "status"})
	s.durations = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "delivery_api_request_duration_seconds",
		Help:    "API request durations by route.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 4, 8),
	}, []string{"route"})
	tasks := &taskCollector{
		s: s,
		desc: prometheus.NewDesc("delivery_tasks", "Delivery tasks by phase and error code.",
			[]string{"phase", "error_code"}, nil),
		up: prometheus.NewDesc("delivery_registry_up", "1 when the task registry could be read at the last scrape.", nil, nil),
	}
	for _, c := range []prometheus.Collector{s.requests, s.durations, tasks} {
		if err := s.metricsReg.Register(c); err != nil {
			return fmt.Errorf("api: register metrics: %w", err)
		}
	}
	return nil
}
