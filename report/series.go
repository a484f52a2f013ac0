// Package report turns a run into files a person reads: the model's time
// series as CSV while the run goes, and at its end an HTML page, or a chart
// alone, of what happened.
package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"vmstorm/cluster"
	"vmstorm/pipeline"
)

// Column is one column of the CSV time series, and one array of the data
// embedded in the HTML report.
type Column struct {
	Name    string
	Meaning string
	// value is the column's figure in a sample: int64, float64, string or
	// bool, so that the CSV and the JSON each spell it naturally.
	value func(pipeline.Sample) any
}

// columns is the one list of the series' columns. Adding a field to
// pipeline.Sample is one line here; the CSV, the HTML's data and the column
// documentation all follow it. Existing names never change, so that scripts
// reading the CSV by header keep working. A duration goes in as float64
// seconds, with a name ending in _s, like model_s.
var columns = func() []Column {
	cols := []Column{
		{"model_s", "model seconds since the start of the run", func(s pipeline.Sample) any { return s.T.Seconds() }},
		{"vms_true", "VMs on the cluster, the true count", func(s pipeline.Sample) any { return s.VMs }},
		{"vms_reported", "VMs the janitor last reported to monitoring", func(s pipeline.Sample) any { return s.ReportedVMs }},
		{"capacity", "VMs the cluster can hold (a VM counts from power-on until destroyed)", func(s pipeline.Sample) any { return s.Capacity }},
		{"in_use", "VMs holding capacity (the gauge)", func(s pipeline.Sample) any { return s.InUse }},
	}
	for _, st := range cluster.States {
		cols = append(cols, Column{"vms_" + st.String(), "VMs in state " + st.String(),
			func(s pipeline.Sample) any { return s.ByState[st] }})
	}
	return append(cols, []Column{
		{"backlog", "jobs waiting for a VM", func(s pipeline.Sample) any { return s.Backlog }},
		{"arrived_total", "jobs arrived since the start", func(s pipeline.Sample) any { return s.Arrived }},
		{"completed_total", "jobs completed since the start", func(s pipeline.Sample) any { return s.Completed }},
		{"failed_total", "jobs failed permanently since the start", func(s pipeline.Sample) any { return s.Failed }},
		{"requeues_total", "requeue events since the start", func(s pipeline.Sample) any { return s.Requeues }},
		{"in_flight", "jobs with a VM: booting or building", func(s pipeline.Sample) any { return s.InFlight }},
		{"busy_build", "Build workers busy", func(s pipeline.Sample) any { return s.BusyWorkers[0] }},
		{"busy_run", "Run workers busy", func(s pipeline.Sample) any { return s.BusyWorkers[1] }},
		{"busy_cleanup", "Cleanup workers busy", func(s pipeline.Sample) any { return s.BusyWorkers[2] }},
		{"cpu_in_use", "VMs on and holding a CPU reservation", func(s pipeline.Sample) any { return s.CPUInUse }},
		{"cpu_capacity", "the CPU ceiling, 0 if none", func(s pipeline.Sample) any { return s.CPUCapacity }},
		{"oldest_wait_s", "seconds the longest-waiting job has waited for a VM (to within a minute)", func(s pipeline.Sample) any { return s.OldestWait.Seconds() }},
		{"rate_limited_total", "API calls the cloud refused since the start", func(s pipeline.Sample) any { return s.RateLimited }},
		{"queues_paused", "job queues paused", func(s pipeline.Sample) any { return int64(s.Paused) }},
		{"phase", "the incident's phase", func(s pipeline.Sample) any { return s.Phase }},
		{"alerts_firing", "the alerts firing, separated by +", func(s pipeline.Sample) any { return strings.Join(s.Firing, "+") }},
	}...)
}()

// Columns lists the series' columns in order, with what each means, so that
// documentation can be generated from, or checked against, the code.
func Columns() []Column { return append([]Column(nil), columns...) }

// Header is the CSV's header row: the column names in order.
func Header() []string {
	h := make([]string, len(columns))
	for i, c := range columns {
		h[i] = c.Name
	}
	return h
}

// format spells a column's value for the CSV.
func format(v any) string {
	switch v := v.(type) {
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	default:
		return fmt.Sprint(v)
	}
}

// SeriesWriter writes a run's samples as CSV, one row per sample, as the
// run goes. It is a pipeline.Observer; timeline marks are not part of the
// series and are ignored.
//
// The header row, written once before the first row, is
//
//	model_s,vms_true,vms_reported,capacity,in_use,
//	vms_cloned,vms_booting,vms_running,vms_finished,vms_orphaned,vms_never_booted,
//	backlog,arrived_total,completed_total,failed_total,requeues_total,in_flight,
//	busy_build,busy_run,busy_cleanup,
//	cpu_in_use,cpu_capacity,oldest_wait_s,rate_limited_total,queues_paused,
//	phase,alerts_firing
//
// (one line in the file). model_s and oldest_wait_s are seconds, decimals;
// phase is the phase's name and alerts_firing the names of the alerts
// firing, joined by +; every other column is an integer count. Columns are only ever
// added, at the end; Columns describes each.
//
// Each row is flushed to the underlying writer as it is written, so that
// `tail -f` on a file shows the run live. The first write error stops the
// writing; Err and Close report it.
type SeriesWriter struct {
	mu     sync.Mutex // Err and Close may come from another goroutine than Observe
	w      *csv.Writer
	header bool // written
	closed bool
	err    error
}

// NewSeriesWriter returns a SeriesWriter that writes to w.
func NewSeriesWriter(w io.Writer) *SeriesWriter {
	return &SeriesWriter{w: csv.NewWriter(w)}
}

// Observe writes one row for s.
func (sw *SeriesWriter) Observe(s pipeline.Sample) {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if sw.closed || sw.err != nil {
		return
	}
	sw.writeHeader()
	row := make([]string, len(columns))
	for i, c := range columns {
		row[i] = format(c.value(s))
	}
	sw.write(row)
}

// Mark ignores timeline marks: the CSV holds samples only.
func (sw *SeriesWriter) Mark(pipeline.Mark) {}

// Err is the first write error, if any.
func (sw *SeriesWriter) Err() error {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	return sw.err
}

// Close ends the series: a run that made no sample still leaves a CSV with
// its header. Later samples are ignored, since a shutdown path may close the
// writer while the run takes its last sample. It reports the first write error;
// it does not close the underlying writer, which the caller owns.
func (sw *SeriesWriter) Close() error {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if !sw.closed && sw.err == nil {
		sw.writeHeader()
	}
	sw.closed = true
	return sw.err
}

func (sw *SeriesWriter) writeHeader() {
	if sw.header {
		return
	}
	sw.header = true
	sw.write(Header())
}

func (sw *SeriesWriter) write(row []string) {
	if sw.err != nil {
		return
	}
	if err := sw.w.Write(row); err != nil {
		sw.err = fmt.Errorf("report: writing the series: %w", err)
		return
	}
	sw.w.Flush()
	if err := sw.w.Error(); err != nil {
		sw.err = fmt.Errorf("report: writing the series: %w", err)
	}
}
