package gameday

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"vmstorm/incident"
	"vmstorm/internal/format"
	"vmstorm/internal/sim"
	"vmstorm/series"
)

// view is one sample as the on-call could see it: nothing of the true VM
// count, the janitor's health or the analysis's phases.
type view struct {
	T            time.Duration
	ReportedVMs  int64
	Backlog      int64
	OldestWait   time.Duration
	Requeues     float64 // per model minute, over the window
	PowerOnFails float64 // per model minute, since the last sample
	Firing       int
	Paused       int
}

// Alert is an alert firing or resolving, as monitoring showed it.
type Alert struct {
	T      time.Duration
	Name   string
	Firing bool
	Value  float64
}

// watcher is the game as the run's series.Watcher: it keeps what the
// on-call could see of each row.
type watcher Game

func (w *watcher) Row(r series.Row) {
	g := (*Game)(w)
	fails := g.log.takeFails()
	g.mu.Lock()
	defer g.mu.Unlock()
	var gap time.Duration = g.cfg.SampleEvery
	if n := len(g.rows); n > 0 {
		gap = r.T - g.rows[n-1].T
	}
	perMin := 0.0
	if gap > 0 {
		perMin = float64(fails) / gap.Minutes()
	}
	g.last = r
	g.rows = append(g.rows, view{
		T: r.T, ReportedVMs: r.ReportedVMs, Backlog: r.Backlog, OldestWait: r.OldestWait,
		Requeues: r.Rates.Requeues, PowerOnFails: perMin, Firing: len(r.Firing), Paused: r.Paused,
	})
	for _, c := range r.Changes {
		switch c.Event {
		case "alert_firing", "alert_resolved":
			g.alerts = append(g.alerts, Alert{T: r.T, Name: c.Name, Firing: c.Event == "alert_firing", Value: c.Value})
		}
	}
}

func (w *watcher) Mark(series.Mark) {}

// visible are the log messages the on-call could read: the creation
// service's power-on failures and requeues, and the operators' own
// actions. The janitor's failed log-ins were logged nowhere they looked
// (they show only to an investigation), and a fault does not announce
// itself.
func visible(msg string) bool {
	switch msg {
	case "power_on_failed", "job_requeued", "first_requeue":
		return true
	}
	return incident.IsOperatorAction(msg)
}

// tailLines is how many log lines the tail keeps.
const tailLines = 40

// tail is the zap core of the game's log: it keeps the last lines the
// on-call could read, stamped with model time, and counts the power-on
// failures for their rate.
type tail struct {
	clock sim.Clock
	epoch time.Time

	mu    sync.Mutex
	lines []string
	seq   int64 // lines ever kept
	fails int64 // power-on failures since the last row
}

func newTail(clock sim.Clock, epoch time.Time) *tail { return &tail{clock: clock, epoch: epoch} }

func (t *tail) Enabled(l zapcore.Level) bool      { return l >= zapcore.InfoLevel }
func (t *tail) With([]zapcore.Field) zapcore.Core { return t }
func (t *tail) Sync() error                       { return nil }
func (t *tail) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if visible(e.Message) {
		return ce.AddCore(e, t)
	}
	return ce
}

func (t *tail) Write(e zapcore.Entry, fields []zapcore.Field) error {
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range fields {
		f.AddTo(enc)
	}
	var kv []string
	for _, k := range slices.Sorted(maps.Keys(enc.Fields)) {
		kv = append(kv, fmt.Sprintf("%s=%v", k, enc.Fields[k]))
	}
	line := fmt.Sprintf("%s  %-5s  %s  %s", format.ModelTime(t.epoch, t.clock.Now()), strings.ToUpper(e.Level.String()), e.Message, strings.Join(kv, " "))
	t.mu.Lock()
	defer t.mu.Unlock()
	if e.Message == "power_on_failed" {
		t.fails++
	}
	t.lines = append(t.lines, line)
	if len(t.lines) > 2*tailLines {
		t.lines = append(t.lines[:0], t.lines[len(t.lines)-tailLines:]...)
	}
	t.seq++
	return nil
}

// takeFails gives the power-on failures since the last call.
func (t *tail) takeFails() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := t.fails
	t.fails = 0
	return n
}

// Lines is the last lines kept.
func (t *tail) Lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.lines[max(0, len(t.lines)-tailLines):])
}

// zapcoreTee gives the run's log to the tail and to another logger.
func zapcoreTee(t *tail, other *zap.Logger) zapcore.Core {
	return zapcore.NewTee(t, other.Core())
}
