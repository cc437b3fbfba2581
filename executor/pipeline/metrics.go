package pipeline

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the pipelines' Prometheus series. A nil *metrics records nothing.
type metrics struct {
	recordsTotal *prometheus.CounterVec
	objects      *prometheus.CounterVec
	bytes        *prometheus.CounterVec
	errors       *prometheus.CounterVec
	durable      *prometheus.GaugeVec
	lag          *prometheus.GaugeVec
	buffered     *prometheus.GaugeVec
	budgetUse    prometheus.GaugeFunc
	orderBroken  *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, budget *memoryBudget) (*metrics, error) {
	m := &metrics{
		recordsTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "delivery_pipeline_records_total",
			Help: "Tunnel records handled per task and channel, by outcome: buffered (a row), dirty, ignored (deletes), replayed (already delivered before a restart).",
		}, []string{"task", "channel", "outcome"}),
		objects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "delivery_pipeline_objects_total",
			Help: "Objects written to OSS per task, by kind (data or dirty).",
		}, []string{"task", "kind"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "delivery_pipeline_bytes_total",
			Help: "Bytes written to OSS per task.",
		}, []string{"task"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "delivery_pipeline_errors_total",
			Help: "Failed delivery attempts per task, by error code.",
		}, []string{"task", "code"}),
		durable: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "delivery_pipeline_channel_durable_timestamp_seconds",
			Help: "Per channel: the write time up to which every record is durably in OSS.",
		}, []string{"task", "channel"}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "delivery_pipeline_channel_lag_seconds",
			Help: "Per stream channel: now minus the durable write time.",
		}, []string{"task", "channel"}),
		buffered: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "delivery_pipeline_channel_buffered_rows",
			Help: "Per channel: rows read but not yet in OSS.",
		}, []string{"task", "channel"}),
		orderBroken: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "delivery_pipeline_base_order_violations_total",
			Help: "Base channels seen delivering a primary key not greater than the one before; such a channel's replayed rows are delivered again rather than skipped (at least once).",
		}, []string{"task", "channel"}),
		budgetUse: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "delivery_pipeline_buffered_bytes",
			Help: "Estimated bytes buffered by all pipelines (bounded by the memory budget).",
		}, func() float64 { return float64(budget.used.Load()) }),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.recordsTotal, m.objects, m.bytes, m.errors, m.durable, m.lag, m.buffered, m.budgetUse, m.orderBroken} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, err
			}
		}
	}
	return m, nil
}

func (m *metrics) records(taskName, channel, outcome string, n int) {
	if m != nil && n > 0 {
		m.recordsTotal.WithLabelValues(taskName, channel, outcome).Add(float64(n))
	}
}

func (m *metrics) object(taskName, kind string, size int) {
	if m != nil {
		m.objects.WithLabelValues(taskName, kind).Inc()
		m.bytes.WithLabelValues(taskName).Add(float64(size))
	}
}

func (m *metrics) orderViolation(taskName, channel string) {
	if m != nil {
		m.orderBroken.WithLabelValues(taskName, channel).Inc()
	}
}

func (m *metrics) failure(taskName, code string) {
	if m != nil {
		m.errors.WithLabelValues(taskName, code).Inc()
	}
}

func (m *metrics) channelProgress(taskName, channel string, durable time.Time, stream bool, buffered int, now time.Time) {
	if m == nil {
		return
	}
	if !durable.IsZero() {
		m.durable.WithLabelValues(taskName, channel).Set(float64(durable.UnixNano()) / 1e9)
		if stream {
			m.lag.WithLabelValues(taskName, channel).Set(now.Sub(durable).Seconds())
		}
	}
	m.buffered.WithLabelValues(taskName, channel).Set(float64(buffered))
}

func (m *metrics) forgetTask(taskName string) {
	if m == nil {
		return
	}
	labels := prometheus.Labels{"task": taskName}
	m.recordsTotal.DeletePartialMatch(labels)
	m.objects.DeletePartialMatch(labels)
	m.bytes.DeletePartialMatch(labels)
	m.errors.DeletePartialMatch(labels)
	m.durable.DeletePartialMatch(labels)
	m.lag.DeletePartialMatch(labels)
	m.buffered.DeletePartialMatch(labels)
	m.orderBroken.DeletePartialMatch(labels)
}
