package logx

import (
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"vmstorm/cluster"
	"vmstorm/internal/format"
	"vmstorm/series"
)

// Status logs a run as the analysis judges it: what changes at each sample
// (an alert firing or resolving, a phase beginning, a storm beginning or
// ending, the cluster filling), and a status line every Every of model
// time. It is a series.Watcher.
type Status struct {
	log   *zap.Logger
	every time.Duration
	next  time.Duration
}

// NewStatus returns a Status that writes to log, with a status line every
// every of model time.
func NewStatus(log *zap.Logger, every time.Duration) *Status {
	return &Status{log: log, every: every, next: every}
}

// Mark does nothing: the timeline logs its own events as it applies them.
func (s *Status) Mark(series.Mark) {}

// Row logs r's changes, and the status line when it is due.
func (s *Status) Row(r series.Row) {
	for _, c := range r.Changes {
		s.change(r, c)
	}
	if r.T < s.next {
		return
	}
	for s.next <= r.T {
		s.next += s.every
	}
	fields := []zap.Field{
		zap.Int64("vms", r.VMs), zap.Int64("reported_vms", r.ReportedVMs),
		zap.Int64("in_use", r.InUse), zap.Int64("capacity", r.Capacity),
	}
	if r.CPUCapacity > 0 {
		fields = append(fields, zap.Int64("cpu_in_use", r.CPUInUse), zap.Int64("cpu_capacity", r.CPUCapacity))
	}
	fields = append(fields,
		zap.Int64("never_booted", r.ByState[cluster.NeverBooted]),
		zap.Int64("backlog", r.Backlog), zap.Float64("oldest_wait_min", format.Round1(r.OldestWait.Minutes())),
		zap.Int64("in_flight", r.InFlight),
		zap.Float64("arrivals_per_min", format.Round1(r.Rates.Arrivals)),
		zap.Float64("requeues_per_min", format.Round1(r.Rates.Requeues)),
		zap.Float64("completions_per_min", format.Round1(r.Rates.Completions)),
		zap.String("phase", r.Phase))
	s.log.Info("status", fields...)
}

// levels are how loud each change is.
var levels = map[string]zapcore.Level{
	"alert_firing": zapcore.ErrorLevel, "requeue_storm": zapcore.ErrorLevel,
	"alert_resolved": zapcore.WarnLevel, "phase_changed": zapcore.WarnLevel,
	"requeue_storm_over": zapcore.WarnLevel, "cluster_full": zapcore.WarnLevel,
	"cluster_has_room": zapcore.InfoLevel,
}

func (s *Status) change(r series.Row, c series.Change) {
	var fields []zap.Field
	switch c.Event {
	case "alert_firing", "alert_resolved":
		fields = append(fields, zap.String("alert", c.Name), zap.Float64("value", c.Value))
	case "phase_changed":
		fields = append(fields, zap.String("from", c.From), zap.String("to", c.Name))
	case "requeue_storm", "requeue_storm_over":
		fields = append(fields, zap.Float64("requeues_per_min", format.Round1(r.Rates.Requeues)),
			zap.Float64("arrivals_per_min", format.Round1(r.Rates.Arrivals)))
	case "cluster_full", "cluster_has_room":
		fields = append(fields, zap.Int64("in_use", r.InUse), zap.Int64("capacity", r.Capacity))
	}
	if c.Detail != "" {
		fields = append(fields, zap.String("note", c.Detail))
	}
	lvl, ok := levels[c.Event]
	if !ok {
		lvl = zapcore.InfoLevel
	}
	if ce := s.log.Check(lvl, c.Event); ce != nil {
		ce.Write(fields...)
	}
}
