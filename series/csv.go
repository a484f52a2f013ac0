package series

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"vmstorm/internal/vmstate"
)

// Column is one column of the CSV series, and one array of the data
// embedded in the HTML report.
type Column struct {
	Name    string
	Meaning string
	// value is the column's figure in a row: int64, Seconds, string or
	// bool, so that the CSV and the JSON each spell it naturally and
	// exactly; parse
	// reads it back into a row (nil for a column only written).
	value func(Row) any
	parse func(*Row, string) error
}

// columns is the one list of the series' columns. Adding a field to
// Sample is its line here and its value where the model's sampler fills it
// (pipeline/sample.go); the CSV, the reader, the HTML's data and the
// column documentation all follow this list. Existing names never change, so that
// scripts reading the CSV by header keep working, and columns are only
// ever added at the end. A duration goes in as Seconds (exact), with a name
// ending in _s, like model_s.
var columns = func() []Column {
	cols := []Column{
		{"model_s", "model seconds since the start of the run", func(r Row) any { return Seconds(r.T) }, durationCol(func(r *Row) *time.Duration { return &r.T })},
		{"vms_true", "VMs on the cluster, the true count", func(r Row) any { return r.VMs }, intCol(func(r *Row) *int64 { return &r.VMs })},
		{"vms_reported", "VMs the janitor last reported to monitoring", func(r Row) any { return r.ReportedVMs }, intCol(func(r *Row) *int64 { return &r.ReportedVMs })},
		{"capacity", "VMs the cluster can hold (a VM counts from power-on until destroyed)", func(r Row) any { return r.Capacity }, intCol(func(r *Row) *int64 { return &r.Capacity })},
		{"in_use", "VMs holding capacity (the gauge)", func(r Row) any { return r.InUse }, intCol(func(r *Row) *int64 { return &r.InUse })},
	}
	for _, st := range vmstate.States {
		cols = append(cols, Column{"vms_" + st.String(), "VMs in state " + st.String(),
			func(r Row) any { return r.ByState[st] }, intCol(func(r *Row) *int64 { return &r.ByState[st] })})
	}
	return append(cols, []Column{
		{"backlog", "jobs waiting for a VM", func(r Row) any { return r.Backlog }, intCol(func(r *Row) *int64 { return &r.Backlog })},
		{"arrived_total", "jobs arrived since the start", func(r Row) any { return r.Arrived }, intCol(func(r *Row) *int64 { return &r.Arrived })},
		{"completed_total", "jobs completed since the start", func(r Row) any { return r.Completed }, intCol(func(r *Row) *int64 { return &r.Completed })},
		{"failed_total", "jobs failed permanently since the start", func(r Row) any { return r.Failed }, intCol(func(r *Row) *int64 { return &r.Failed })},
		{"requeues_total", "requeue events since the start", func(r Row) any { return r.Requeues }, intCol(func(r *Row) *int64 { return &r.Requeues })},
		{"in_flight", "jobs with a VM: booting or building", func(r Row) any { return r.InFlight }, intCol(func(r *Row) *int64 { return &r.InFlight })},
		{"busy_build", "Build workers busy", func(r Row) any { return r.BusyWorkers[0] }, intCol(func(r *Row) *int64 { return &r.BusyWorkers[0] })},
		{"busy_run", "Run workers busy", func(r Row) any { return r.BusyWorkers[1] }, intCol(func(r *Row) *int64 { return &r.BusyWorkers[1] })},
		{"busy_cleanup", "Cleanup workers busy", func(r Row) any { return r.BusyWorkers[2] }, intCol(func(r *Row) *int64 { return &r.BusyWorkers[2] })},
		{"cpu_in_use", "VMs on and holding a CPU reservation", func(r Row) any { return r.CPUInUse }, intCol(func(r *Row) *int64 { return &r.CPUInUse })},
		{"cpu_capacity", "the CPU ceiling, 0 if none", func(r Row) any { return r.CPUCapacity }, intCol(func(r *Row) *int64 { return &r.CPUCapacity })},
		{"oldest_wait_s", "seconds the longest-waiting job has waited for a VM (to within a minute)", func(r Row) any { return Seconds(r.OldestWait) }, durationCol(func(r *Row) *time.Duration { return &r.OldestWait })},
		{"rate_limited_total", "API calls the cloud refused since the start", func(r Row) any { return r.RateLimited }, intCol(func(r *Row) *int64 { return &r.RateLimited })},
		{"queues_paused", "job queues paused", func(r Row) any { return int64(r.Paused) }, intCol(func(r *Row) *int { return &r.Paused })},
		{"phase", "the incident's phase, as the analysis judges it", func(r Row) any { return r.Phase }, func(r *Row, v string) error { r.Phase = v; return nil }},
		{"alerts_firing", "the alerts firing, separated by +", func(r Row) any { return strings.Join(r.Firing, "+") }, func(r *Row, v string) error {
			if v != "" {
				r.Firing = strings.Split(v, "+")
			}
			return nil
		}},
		{"queues_reduced", "job queues running under a lower build limit than configured", func(r Row) any { return int64(r.ReducedQueues) }, intCol(func(r *Row) *int { return &r.ReducedQueues })},
		{"janitor_failing", "whether the janitor's last pass failed", func(r Row) any { return r.JanitorFailing }, func(r *Row, v string) error {
			b, err := strconv.ParseBool(v)
			r.JanitorFailing = b
			return err
		}},
		// marks is written from the Marks between rows, and read back by
		// Read: see there.
		{"marks", "the timeline's events applied since the row before, as name@model_s, separated by +", nil, nil},
		{"model_time", "the calendar time of the row (UTC, RFC 3339), if the run has an epoch", nil, nil},
		{"failed_budget_total", "jobs failed because the retry budget refused their retry, since the start (part of failed_total)", func(r Row) any { return r.FailedByBudget }, intCol(func(r *Row) *int64 { return &r.FailedByBudget })},
		{"shed_total", "jobs dropped from the backlog past their deadline, since the start", func(r Row) any { return r.Shed }, intCol(func(r *Row) *int64 { return &r.Shed })},
		{"backing_off", "jobs waiting out a backoff before their next start (part of backlog)", func(r Row) any { return r.BackingOff }, intCol(func(r *Row) *int64 { return &r.BackingOff })},
		{"breaker_state", "the circuit breaker: 0 closed (or off), 1 open, 2 half-open", func(r Row) any { return r.Breaker }, intCol(func(r *Row) *int64 { return &r.Breaker })},
		{"retry_tokens", "the retry budget's tokens", func(r Row) any { return r.RetryTokens }, func(r *Row, v string) error {
			x, err := strconv.ParseFloat(v, 64)
			r.RetryTokens = x
			return err
		}},
		{"reaped_total", "never-booted VMs the reaper handed out for destruction, since the start", func(r Row) any { return r.Reaped }, intCol(func(r *Row) *int64 { return &r.Reaped })},
		{"janitor_age_s", "seconds since the janitor's last successful pass (or since the start)", func(r Row) any { return Seconds(r.JanitorAge) }, durationCol(func(r *Row) *time.Duration { return &r.JanitorAge })},
		// settings is written from the Writer's Settings on the first row
		// alone, and read back by ReadSettings.
		{"settings", "on the first row alone, what judges the run besides its rows: the parameters the analysis reads, the number of queues, the scenario and its checks' fingerprint, URL-encoded (key=value&...)", nil, nil},
	}...)
}()

func intCol[T ~int | ~int64](f func(*Row) *T) func(*Row, string) error {
	return func(r *Row, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		*f(r) = T(n)
		return err
	}
}

// Seconds is a duration as the series spells it: in seconds, exactly, with
// up to nine decimals (a float64 of seconds would lose nanoseconds past 48
// days of model time). It is a number in JSON too.
type Seconds time.Duration

func (s Seconds) String() string {
	d := time.Duration(s)
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	whole := strconv.FormatInt(int64(d/time.Second), 10)
	frac := d % time.Second
	if frac == 0 {
		return sign + whole
	}
	return sign + whole + "." + strings.TrimRight(fmt.Sprintf("%09d", int64(frac)), "0")
}

// MarshalJSON writes s as a JSON number of seconds.
func (s Seconds) MarshalJSON() ([]byte, error) { return []byte(s.String()), nil }

// ParseSeconds reads a duration in seconds as Seconds spells it, exactly;
// any other number of seconds (an exponent, more decimals) is rounded to
// the nearest nanosecond. A duration past the largest one (292 years) is
// an error, not one that wraps.
func ParseSeconds(v string) (time.Duration, error) {
	whole, frac, _ := strings.Cut(v, ".")
	if digits(whole) && len(whole) <= 10 && len(frac) <= 9 && (frac == "" || digits(frac)) {
		w, _ := strconv.ParseInt(whole, 10, 64)
		f, _ := strconv.ParseInt((frac + "000000000")[:9], 10, 64)
		if w > (math.MaxInt64-f)/int64(time.Second) {
			return 0, errors.New("more seconds than a duration holds")
		}
		return time.Duration(w)*time.Second + time.Duration(f), nil
	}
	x, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(x) || math.Abs(x) > float64(math.MaxInt64)/float64(time.Second) {
		return 0, fmt.Errorf("%q: want seconds", v)
	}
	return time.Duration(math.Round(x * float64(time.Second))), nil
}

// digits reports whether s is one or more decimal digits.
func digits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

func durationCol(f func(*Row) *time.Duration) func(*Row, string) error {
	return func(r *Row, v string) error {
		d, err := ParseSeconds(v)
		if err == nil && d < 0 {
			err = errors.New("a negative time: a run writes none")
		}
		*f(r) = d
		return err
	}
}

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

// Value is column c's figure in row r (see Column); the columns written
// from elsewhere than the row (marks, model_time) have none.
func (c Column) Value(r Row) (any, bool) {
	if c.value == nil {
		return nil, false
	}
	return c.value(r), true
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
	case Seconds:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	default:
		return fmt.Sprint(v)
	}
}

// Writer writes a run's rows as CSV, one row per sample, as the run goes:
// a Watcher. The timeline's events go in the marks column of the next row.
//
// The header row, written once before the first row, is Header(). model_s
// and the columns ending in _s are seconds, decimals; phase is the phase's
// name and alerts_firing the names of the alerts firing, joined by +;
// janitor_failing is true or false; marks is the timeline's events since
// the row before, as name@model_s joined by +; model_time is the row's
// calendar time, empty without an epoch; retry_tokens is a decimal;
// settings, on the first row alone, is what judges the run (Settings),
// URL-encoded; every other column is an integer count. Columns describes
// each.
//
// Each row is flushed to the underlying writer as it is written, so that
// `tail -f` on a file shows the run live. The first write error stops the
// writing; Err and Close report it.
type Writer struct {
	mu       sync.Mutex // Err and Close may come from another goroutine than Row
	w        *csv.Writer
	epoch    time.Time
	settings string // for the first row
	marks    []string
	header   bool // written
	rows     int  // written
	closed   bool
	err      error
}

// NewWriter returns a Writer that writes to w, with calendar times from
// epoch (the zero Time for none).
func NewWriter(w io.Writer, epoch time.Time) *Writer {
	return &Writer{w: csv.NewWriter(w), epoch: epoch}
}

// Settings keeps what judges the run besides its rows (outcome.Settings)
// for the settings column of the first row, so that the series alone can
// be judged as the run judged itself. Call it before the first row.
func (sw *Writer) Settings(v url.Values) {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	sw.settings = v.Encode()
}

// Mark keeps a timeline event for the next row.
func (sw *Writer) Mark(m Mark) {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	sw.marks = append(sw.marks, m.Name+"@"+Seconds(m.T).String())
}

// Row writes one row for r.
func (sw *Writer) Row(r Row) {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if sw.closed || sw.err != nil {
		return
	}
	sw.writeHeader()
	out := make([]string, len(columns))
	for i, c := range columns {
		switch {
		case c.value != nil:
			out[i] = format(c.value(r))
		case c.Name == "marks":
			out[i] = strings.Join(sw.marks, "+")
			sw.marks = sw.marks[:0]
		case c.Name == "model_time" && !sw.epoch.IsZero():
			out[i] = sw.epoch.Add(r.T).UTC().Format(time.RFC3339Nano)
		case c.Name == "settings" && sw.rows == 0:
			out[i] = sw.settings
		}
	}
	sw.rows++
	sw.write(out)
}

// Err is the first write error, if any.
func (sw *Writer) Err() error {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	return sw.err
}

// Close ends the series: a run that made no sample still leaves a CSV with
// its header. Later rows are ignored. It reports the first write error; it
// does not close the underlying writer, which the caller owns.
func (sw *Writer) Close() error {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if !sw.closed && sw.err == nil {
		sw.writeHeader()
	}
	sw.closed = true
	return sw.err
}

func (sw *Writer) writeHeader() {
	if sw.header {
		return
	}
	sw.header = true
	sw.write(Header())
}

func (sw *Writer) write(row []string) {
	if sw.err != nil {
		return
	}
	if err := sw.w.Write(row); err != nil {
		sw.err = fmt.Errorf("series: writing the CSV: %w", err)
		return
	}
	sw.w.Flush()
	if err := sw.w.Error(); err != nil {
		sw.err = fmt.Errorf("series: writing the CSV: %w", err)
	}
}

// Read reads back a series that a Writer wrote: its rows, the timeline's
// events (with their model times, without their notes), and the run's
// epoch if it had one. A file from an older vmstorm that lacks the columns
// added since reads with those left zero. A row with the wrong number of
// fields, or a value that does not parse, is an error naming its line.
func Read(r io.Reader) (rows []Row, marks []Mark, epoch time.Time, err error) {
	err = Each(r, func(row Row, ms []Mark, ep time.Time) error {
		rows, marks, epoch = append(rows, row), append(marks, ms...), ep
		return nil
	})
	if err != nil {
		return nil, nil, time.Time{}, err
	}
	return rows, marks, epoch, nil
}

// MaxLine bounds a line of a series file: a row is a few hundred bytes.
const MaxLine = 64 << 10

// Each reads a series as Read does, one row at a time, so that a caller
// need not hold them all: fn gets each row, the marks written on it, and
// the epoch as known so far (from the first row with a model_time). A
// line longer than MaxLine is an error, found before it is all read; so
// is what no Writer writes: a row at a negative time, or before the row
// before, or at its time but for the last (a run that stops at a sample's
// instant, having done more at that instant, ends with a second row at
// it: the state at its end), or a mark that is not between the row before
// and its own.
func Each(r io.Reader, fn func(row Row, marks []Mark, epoch time.Time) error) error {
	cr, at, err := open(r)
	if err != nil {
		return err
	}
	var epoch time.Time
	prev := time.Duration(-1) // the row before's model time; none yet
	again := 0                // the line of a row at the time of the row before, which must be the last
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("series: %w", err)
		}
		var row Row
		var marks []Mark
		for _, c := range columns {
			i, ok := at[c.Name]
			if !ok || rec[i] == "" {
				continue
			}
			switch {
			case c.parse != nil:
				if err := c.parse(&row, rec[i]); err != nil {
					return fmt.Errorf("series: line %d, column %s: %q: %w", line, c.Name, rec[i], err)
				}
			case c.Name == "marks":
				for _, m := range strings.Split(rec[i], "+") {
					name, s, ok := strings.Cut(m, "@")
					at, err := ParseSeconds(s)
					if !ok || err != nil {
						return fmt.Errorf("series: line %d, column marks: %q: want name@model_s", line, m)
					}
					marks = append(marks, Mark{T: at, Name: name})
				}
			case c.Name == "model_time" && epoch.IsZero():
				t, err := time.Parse(time.RFC3339Nano, rec[i])
				if err != nil {
					return fmt.Errorf("series: line %d, column model_time: %w", line, err)
				}
				epoch = t.Add(-row.T)
			}
		}
		switch {
		case row.T < prev:
			return fmt.Errorf("series: line %d, column model_s: %s is not after the row before's %s: a series' rows go forward in time", line, Seconds(row.T), Seconds(prev))
		case again > 0:
			return fmt.Errorf("series: line %d, column model_s: %s is the time of the row before it: a series' rows go forward in time, and only its last row, at the run's end, may repeat a time", again, Seconds(prev))
		case row.T == prev:
			again = line
		}
		for _, m := range marks {
			if m.T < max(prev, 0) || m.T > row.T {
				return fmt.Errorf("series: line %d, column marks: %s@%s is not between the row before (model_s %s) and this one (%s): a mark is written on the first row at or after it",
					line, m.Name, Seconds(m.T), Seconds(max(prev, 0)), Seconds(row.T))
			}
		}
		prev = row.T
		if err := fn(row, marks, epoch); err != nil {
			return err
		}
	}
}

// open reads a series' header, and returns the reader of its rows and each
// column's place.
func open(r io.Reader) (*csv.Reader, map[string]int, error) {
	cr := csv.NewReader(&lineLimit{r: r, max: MaxLine})
	header, err := cr.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("series: reading the header: %w", err)
	}
	at := map[string]int{}
	for i, name := range header {
		at[name] = i
	}
	if _, ok := at["model_s"]; !ok {
		return nil, nil, errors.New("series: the header has no model_s column: not a vmstorm series")
	}
	return cr, at, nil
}

// ReadSettings reads the settings a Writer wrote on a series' first row
// (see Writer.Settings): nil for a series with none (an older vmstorm's,
// or one of no rows).
func ReadSettings(r io.Reader) (url.Values, error) {
	cr, at, err := open(r)
	if err != nil {
		return nil, err
	}
	i, ok := at["settings"]
	if !ok {
		return nil, nil
	}
	rec, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("series: %w", err)
	}
	if rec[i] == "" {
		return nil, nil
	}
	v, err := url.ParseQuery(rec[i])
	if err != nil {
		return nil, fmt.Errorf("series: line 2, column settings: %w", err)
	}
	return v, nil
}

// lineLimit reads from r, and fails once a record runs past max bytes: a
// line, or the lines a quoted field holds together (a Writer writes none,
// but a field that opens a quote and never closes it would make one record
// of the whole file).
type lineLimit struct {
	r      io.Reader
	max    int
	line   int  // bytes of the current record so far
	quoted bool // within a quoted field: a quote seen an odd number of times
}

func (l *lineLimit) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for _, b := range p[:n] {
		if b == '"' {
			l.quoted = !l.quoted
		}
		if b == '\n' && !l.quoted {
			l.line = 0
		} else if l.line++; l.line > l.max {
			return 0, fmt.Errorf("a line longer than %d KiB: not a vmstorm series", l.max>>10)
		}
	}
	return n, err
}
