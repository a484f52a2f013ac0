// Package workers runs the model's goroutine pools, joined by channels: the
// job source, Build (clone a VM and power it on), Run (run the build on it),
// and the janitor that lists the cluster and feeds its Cleanup pool. Its
// Ledger accounts for every job that enters the model.
package workers

import (
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"vmstorm/cluster"
)

// Job is one build job. A job is handed from goroutine to goroutine over
// channels and is touched by one goroutine at a time.
type Job struct {
	ID        uint64
	Queue     int           // index of its queue in QueueControls.Names
	QueueName string        // its queue's name (e.g. com or org)
	ArrivedAt time.Duration // model time it first entered the backlog
	// WaitingSince is when it last began to wait for a VM: its arrival, or
	// the moment it lost its VM to a crashed worker or a stalled build.
	WaitingSince time.Duration
	Attempts     int           // VM starts tried so far; travels with the job through requeues
	BuildTime    time.Duration // how long its build runs once it has a VM
	VM           *cluster.VM   // the VM of its current attempt
}

func (j *Job) fields(extra ...zap.Field) []zap.Field {
	return append([]zap.Field{zap.Uint64("job_id", j.ID), zap.String("queue", j.QueueName), zap.Int("attempt", j.Attempts)}, extra...)
}

// logAt writes msg about j to l at lvl, with j's own fields and extra. The
// fields are built only if l writes that level: a storm makes thousands of
// these lines, and most runs log at most their changes of state.
func (j *Job) logAt(l *zap.Logger, lvl zapcore.Level, msg string, extra ...zap.Field) {
	if ce := check(l, lvl, msg); ce != nil {
		ce.Write(j.fields(extra...)...)
	}
}

// check is l.Check(lvl, msg) for the levels below DPanic, asking l's core
// first whether it writes lvl, as zap's Check itself does: zap's Check has a
// large stack frame, and a worker goroutine that called it only to be told
// no (most lifecycle lines are at Debug, which a run rarely writes) grew its
// stack for it, by copying: 14 % of a storm's time.
func check(l *zap.Logger, lvl zapcore.Level, msg string) *zapcore.CheckedEntry {
	if !l.Core().Enabled(lvl) {
		return nil
	}
	return l.Check(lvl, msg)
}

// waitField is how long j has waited for a VM at model time now: one name,
// wait_s, wherever the log says it.
func (j *Job) waitField(now time.Duration) zap.Field {
	return seconds("wait_s", now-j.WaitingSince)
}

// vmField names vm; its name is only spelled out if the line is written.
func vmField(vm *cluster.VM) zap.Field { return zap.Stringer("vm", vm) }

func seconds(key string, d time.Duration) zap.Field {
	return zap.Float64(key, d.Seconds())
}
