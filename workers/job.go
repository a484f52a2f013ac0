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
	if ce := l.Check(lvl, msg); ce != nil {
		ce.Write(j.fields(extra...)...)
	}
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
