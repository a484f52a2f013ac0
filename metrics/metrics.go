// Package metrics exports a run's state to Prometheus: an Exporter watches
// the run as a series.Watcher, and Serve publishes its latest sample (and,
// only if asked for, the Go runtime's pprof profiles) over HTTP.
//
// Every Exporter has its own registry, never the global default one, so that
// two runs in one process (the tests, or a later multi-run driver) never
// collide. The metrics are computed from the latest sample at scrape time,
// so a scrape costs the model nothing and always shows one consistent
// moment of model time.
//
// The true and the janitor's reported VM counts are two gauges,
// vmstorm_vms_true and vmstorm_vms_reported, and not one metric with a view
// label: summing over such a label would add a count to a report of the
// same count, and Prometheus's convention is that every sum over a label is
// meaningful. Their gap is the 2015 defect: vmstorm_vms_true -
// vmstorm_vms_reported.
package metrics

import (
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"vmstorm/analysis"
	"vmstorm/cluster"
	"vmstorm/mitigate"
	"vmstorm/series"
)

// Exporter keeps the latest sample and the timeline of a run, and exposes
// them through its own registry. Row and Mark may be called from any
// goroutine, concurrently with scrapes.
type Exporter struct {
	speed  float64
	latest atomic.Pointer[series.Row]

	mu     sync.Mutex
	events map[string]eventStat // by the mark's name; guarded by mu

	reg *prometheus.Registry
}

type eventStat struct {
	count int64
	last  time.Duration
}

var _ series.Watcher = (*Exporter)(nil)

// NewExporter returns an exporter for a run whose model time runs speed
// model seconds per wall second. Its registry also holds the Go runtime and
// process collectors, so one scrape shows the model and the process that
// runs it.
func NewExporter(speed float64) *Exporter {
	e := &Exporter{speed: speed, events: make(map[string]eventStat), reg: prometheus.NewRegistry()}
	e.reg.MustRegister(
		collector{e},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return e
}

// Registry is the exporter's own registry, to serve or to gather from.
func (e *Exporter) Registry() *prometheus.Registry { return e.reg }

// Row keeps r as the latest sample, judged. It does not block: the
// model waits for it.
func (e *Exporter) Row(r series.Row) { e.latest.Store(&r) }

// Mark counts a timeline event and remembers when it last happened.
func (e *Exporter) Mark(m series.Mark) {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := e.events[m.Name]
	st.count++
	st.last = m.T
	e.events[m.Name] = st
}

// Latest is the latest sample observed, and false before the first.
func (e *Exporter) Latest() (series.Row, bool) {
	s := e.latest.Load()
	if s == nil {
		return series.Row{}, false
	}
	return *s, true
}

// family is one metric family computed from a sample. Its each calls emit
// once for every series of the family, with the series' label values in
// the order of the desc's labels.
type family struct {
	desc *prometheus.Desc
	typ  prometheus.ValueType
	each func(s *series.Row, emit func(v float64, labelValues ...string))
}

// scalar is a family of one series, with no labels.
func scalar(typ prometheus.ValueType, name, help string, v func(*series.Row) float64) family {
	return family{
		desc: prometheus.NewDesc(name, help, nil, nil), typ: typ,
		each: func(s *series.Row, emit func(float64, ...string)) { emit(v(s)) },
	}
}

// vector is a family with one label, one series for each of its values;
// v gives the value of the series whose label value is values[i].
func vector(typ prometheus.ValueType, name, help, label string, values []string, v func(s *series.Row, i int) float64) family {
	return family{
		desc: prometheus.NewDesc(name, help, []string{label}, nil), typ: typ,
		each: func(s *series.Row, emit func(float64, ...string)) {
			for i, lv := range values {
				emit(v(s, i), lv)
			}
		},
	}
}

const (
	gauge   = prometheus.GaugeValue
	counter = prometheus.CounterValue
)

// stateNames are the cluster's states, in the order of Sample.ByState.
var stateNames = func() []string {
	out := make([]string, len(cluster.States))
	for i, st := range cluster.States {
		out[i] = st.String()
	}
	return out
}()

// pools name Sample.BusyWorkers, in its order.
var pools = []string{"build", "run", "cleanup"}

// outcomes name the job totals of jobsTotal, in its order.
var outcomes = []string{"arrived", "completed", "failed", "shed"}

func jobsTotal(s *series.Row, i int) float64 {
	return float64([...]int64{s.Arrived, s.Completed, s.Failed, s.Shed}[i])
}

// breakerStates are the circuit breaker's states, as mitigate names them.
var breakerStates = []string{mitigate.Closed.String(), mitigate.Open.String(), mitigate.HalfOpen.String()}

// sampleFamilies are the metrics of a sample: one row for each field.
// A field added to series.Row needs one row here; TestEverySampleField
// fails until it has one.
var sampleFamilies = []family{
	scalar(gauge, "vmstorm_model_time_seconds",
		"Model time of the latest sample, since the start of the run.",
		func(s *series.Row) float64 { return s.T.Seconds() }),
	scalar(gauge, "vmstorm_vms_true",
		"VMs on the cluster, counted from its inventory: the true count.",
		func(s *series.Row) float64 { return float64(s.VMs) }),
	scalar(gauge, "vmstorm_vms_reported",
		"VMs the janitor last reported to monitoring; frozen while it cannot log in.",
		func(s *series.Row) float64 { return float64(s.ReportedVMs) }),
	vector(gauge, "vmstorm_vms",
		"VMs on the cluster by state.", "state", stateNames,
		func(s *series.Row, i int) float64 { return float64(s.ByState[i]) }),
	scalar(gauge, "vmstorm_capacity_vms",
		"VMs the cluster can hold powered on at once.",
		func(s *series.Row) float64 { return float64(s.Capacity) }),
	scalar(gauge, "vmstorm_capacity_in_use_vms",
		"VMs holding cluster capacity: the capacity gauge.",
		func(s *series.Row) float64 { return float64(s.InUse) }),
	scalar(gauge, "vmstorm_backlog_jobs",
		"Jobs waiting for a Build worker, in the backlog and the channels around it.",
		func(s *series.Row) float64 { return float64(s.Backlog) }),
	vector(counter, "vmstorm_jobs_total",
		"Jobs that arrived, completed, failed permanently, or were shed past their deadline, since the start of the run.", "outcome", outcomes,
		jobsTotal),
	scalar(counter, "vmstorm_jobs_failed_by_retry_budget_total",
		"Jobs failed permanently because the retry budget refused their retry (part of outcome failed).",
		func(s *series.Row) float64 { return float64(s.FailedByBudget) }),
	scalar(gauge, "vmstorm_backoff_jobs",
		"Jobs waiting out a backoff before their next start (part of the backlog).",
		func(s *series.Row) float64 { return float64(s.BackingOff) }),
	stateSet("vmstorm_breaker_state",
		"The circuit breaker in front of the VM API: 1 for its state, 0 for the others (closed while it is off).", "state", breakerStates,
		func(s *series.Row) []string { return []string{mitigate.State(s.Breaker).String()} }),
	scalar(gauge, "vmstorm_retry_budget_tokens",
		"Tokens in the Build pool's retry budget.",
		func(s *series.Row) float64 { return s.RetryTokens }),
	scalar(counter, "vmstorm_reaped_vms_total",
		"Never-booted VMs the reaper handed out for destruction, since the start of the run.",
		func(s *series.Row) float64 { return float64(s.Reaped) }),
	scalar(gauge, "vmstorm_janitor_last_success_age_seconds",
		"Model seconds since the janitor's last successful pass (since the start, if none): honest monitoring alerts on it.",
		func(s *series.Row) float64 { return s.JanitorAge.Seconds() }),
	scalar(counter, "vmstorm_requeues_total",
		"Jobs sent back to the backlog after a failed start, since the start of the run.",
		func(s *series.Row) float64 { return float64(s.Requeues) }),
	scalar(gauge, "vmstorm_jobs_in_flight",
		"Jobs taken from the backlog and not yet finished.",
		func(s *series.Row) float64 { return float64(s.InFlight) }),
	vector(gauge, "vmstorm_busy_workers",
		"Workers of each pool busy at the sample.", "pool", pools,
		func(s *series.Row, i int) float64 { return float64(s.BusyWorkers[i]) }),
	scalar(gauge, "vmstorm_cpu_in_use_vms",
		"VMs on and holding a CPU reservation: the second ceiling's gauge.",
		func(s *series.Row) float64 { return float64(s.CPUInUse) }),
	scalar(gauge, "vmstorm_cpu_capacity_vms",
		"VMs the CPU reservations let the cluster run at once; 0 when there is no such ceiling.",
		func(s *series.Row) float64 { return float64(s.CPUCapacity) }),
	scalar(gauge, "vmstorm_backlog_oldest_wait_seconds",
		"How long the job that has waited longest for a VM has waited (to within a minute).",
		func(s *series.Row) float64 { return s.OldestWait.Seconds() }),
	scalar(counter, "vmstorm_api_rate_limited_total",
		"Cloud API calls refused by the cloud's rate limit, since the start of the run.",
		func(s *series.Row) float64 { return float64(s.RateLimited) }),
	scalar(gauge, "vmstorm_queues_paused",
		"Job queues paused by an operator.",
		func(s *series.Row) float64 { return float64(s.Paused) }),
	scalar(gauge, "vmstorm_queues_reduced",
		"Job queues running under a lower limit of concurrent builds than they began with.",
		func(s *series.Row) float64 { return float64(s.ReducedQueues) }),
	scalar(gauge, "vmstorm_janitor_failing",
		"1 while the janitor's last pass failed (it could not log in, or its listing was refused).",
		func(s *series.Row) float64 { return b2f(s.JanitorFailing) }),
	stateSet("vmstorm_phase",
		"The incident's phase: 1 for the current one, 0 for the others.", "phase", analysis.Phases,
		func(s *series.Row) []string { return []string{s.Phase} }),
	stateSet("vmstorm_alert_firing",
		"Alerts on what monitoring sees: 1 while firing.", "alert", analysis.Alerts,
		func(s *series.Row) []string { return s.Firing }),
}

// stateSet is a family with one series per known value of a label, 1 for
// the values that hold and 0 for the others (Prometheus's "state set"); a
// value that holds but is not known gets a series of its own.
func stateSet(name, help, label string, known []string, holding func(*series.Row) []string) family {
	return family{
		desc: prometheus.NewDesc(name, help, []string{label}, nil), typ: gauge,
		each: func(s *series.Row, emit func(float64, ...string)) {
			on := holding(s)
			for _, v := range known {
				emit(b2f(slices.Contains(on, v)), v)
			}
			for _, v := range on {
				if v != "" && !slices.Contains(known, v) {
					emit(1, v)
				}
			}
		},
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

var (
	speedDesc = prometheus.NewDesc("vmstorm_model_speed",
		"Model seconds per wall-clock second.", nil, nil)
	eventsDesc = prometheus.NewDesc("vmstorm_timeline_events_total",
		"Timeline events (faults, operators' actions) applied, by event name.", []string{"event"}, nil)
	lastEventDesc = prometheus.NewDesc("vmstorm_last_event_model_time_seconds",
		"Model time at which each timeline event was last applied.", []string{"event"}, nil)
)

// collector computes the exporter's metrics at scrape time.
type collector struct{ e *Exporter }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, f := range sampleFamilies {
		ch <- f.desc
	}
	ch <- speedDesc
	ch <- eventsDesc
	ch <- lastEventDesc
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(speedDesc, gauge, c.e.speed)

	// Copied out so that a slow scrape never holds up Mark, and with it the
	// timeline's goroutine.
	c.e.mu.Lock()
	events := maps.Clone(c.e.events)
	c.e.mu.Unlock()
	for name, st := range events {
		ch <- prometheus.MustNewConstMetric(eventsDesc, counter, float64(st.count), name)
		ch <- prometheus.MustNewConstMetric(lastEventDesc, gauge, st.last.Seconds(), name)
	}

	// Before the first sample there is nothing true to say about the model:
	// a capacity of 0 would be a lie, so its series are absent.
	s, ok := c.e.Latest()
	if !ok {
		return
	}
	for _, f := range sampleFamilies {
		f.each(&s, func(v float64, labelValues ...string) {
			ch <- prometheus.MustNewConstMetric(f.desc, f.typ, v, labelValues...)
		})
	}
}
