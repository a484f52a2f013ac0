package scenario

import (
	"crypto/sha256"
	"fmt"
	"hash"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"vmstorm/config"
	"vmstorm/incident"
	"vmstorm/internal/racedetect"
	"vmstorm/internal/sim"
	"vmstorm/logx"
	"vmstorm/outcome"
	"vmstorm/pipeline"
)

// modelLog is a zap core that keeps what a run's log says of the model:
// a hash of its lines, in order and without times, but run_started (which
// lists -sample-every) and the lifecycle events other than a job's end;
// and each job's outcome by the lifecycle event that ends it.
type modelLog struct {
	mu       *sync.Mutex
	h        hash.Hash
	lines    *int
	outcomes map[uint64]string
	enc      zapcore.Encoder
	fields   []zapcore.Field
}

func newModelLog() *modelLog {
	return &modelLog{mu: &sync.Mutex{}, h: sha256.New(), lines: new(int), outcomes: map[uint64]string{},
		enc: zapcore.NewJSONEncoder(zapcore.EncoderConfig{MessageKey: "msg", NameKey: "logger", LevelKey: "level",
			EncodeLevel: zapcore.LowercaseLevelEncoder, EncodeDuration: zapcore.StringDurationEncoder})}
}

func (l *modelLog) Enabled(zapcore.Level) bool { return true }

func (l *modelLog) With(fields []zapcore.Field) zapcore.Core {
	c := *l
	c.fields = append(append([]zapcore.Field(nil), l.fields...), fields...)
	return &c
}

// Check takes every line but the lifecycle events that do not end a job
// (those are many, and what they count the summary's counters hold).
func (l *modelLog) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if _, ends := jobOutcomes[e.Message]; e.LoggerName == logx.LifecycleLogger && !ends {
		return ce
	}
	return ce.AddCore(e, l)
}

// jobOutcomes are the lifecycle events that end a job.
var jobOutcomes = map[string]string{"build_finished": "completed", "job_failed": "failed", "job_shed": "shed"}

func (l *modelLog) Write(e zapcore.Entry, fields []zapcore.Field) error {
	if e.Message == "run_started" {
		return nil
	}
	e.Time = time.Time{} // the model's times are in the fields; the entry's is the wall clock's
	all := append(append([]zapcore.Field(nil), l.fields...), fields...)
	buf, err := l.enc.EncodeEntry(e, all)
	if err != nil {
		return err
	}
	defer buf.Free()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.h.Write(buf.Bytes())
	*l.lines++
	if o, ok := jobOutcomes[e.Message]; ok {
		for _, f := range all {
			if f.Key == "job_id" {
				id := uint64(f.Integer)
				if prev, twice := l.outcomes[id]; twice {
					return fmt.Errorf("job %d ends twice: %s, then %s", id, prev, o)
				}
				l.outcomes[id] = o
			}
		}
	}
	return nil
}

func (l *modelLog) Sync() error { return nil }

// observedRun is what a run did, as the model counted it and logged it;
// nothing in it is the observer's.
type observedRun struct {
	counters pipeline.Summary // without Config, Clock, Wall and LogLinesDropped
	log      [sha256.Size]byte
	lines    int
	outcomes map[uint64]string
}

func observeRun(t *testing.T, cfg config.Config) observedRun {
	t.Helper()
	ml := newModelLog()
	o, err := outcome.Run(t.Context(), cfg, pipeline.NewKernel(cfg, sim.Serial), outcome.Options{Log: zap.New(ml)})
	require.NoError(t, err)
	sum := *o.Summary
	sum.Config, sum.Clock, sum.Wall, sum.LogLinesDropped = config.Config{}, pipeline.ClockStats{}, 0, 0
	return observedRun{counters: sum, log: [sha256.Size]byte(ml.h.Sum(nil)), lines: *ml.lines, outcomes: ml.outcomes}
}

// allMitigations turns on every mitigation the model has, so that each
// one's state is observed as the run goes (the breaker's, the budget's,
// the backoff room's, the shed scan's).
func allMitigations(cfg *config.Config) {
	m := &cfg.Mitigations
	m.Backoff, m.RetryBudget, m.Breaker, m.Reaper, m.CapacityAware, m.Shed = true, true, true, true, true, true
	cfg.DeleteFailedVMs = true
}

// TestObservationNeverChangesTheModel: every built-in scenario, as written
// and with every mitigation on, sampled every 10s, every minute and every
// 7 minutes, is the same run: every job ends the same way, the log says
// the same of the model line for line (but the lifecycle events that do
// not end a job), and every counter of the summary is
// the same. Sampling reads the model and never acts on it (the scheduler
// keeps its shed scans' schedule itself; a sample reads the breaker's
// state without moving it).
func TestObservationNeverChangesTheModel(t *testing.T) {
	if racedetect.On {
		t.Skip("Serial runs only: see internal/racedetect")
	}
	everies := []time.Duration{10 * time.Second, time.Minute, 7 * time.Minute}
	for _, b := range Builtins() {
		for _, mitigated := range []bool{false, true} {
			name := b.Name + map[bool]string{false: "/as_written", true: "/every_mitigation"}[mitigated]
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				s, err := LoadBuiltin(b.Name)
				require.NoError(t, err)
				var runs []observedRun
				for _, every := range everies {
					cfg := cloneConfig(s.Config)
					cfg.Speed, cfg.SampleEvery, cfg.StatusEvery = config.MaxSpeed, every, max(cfg.StatusEvery, every)
					if mitigated {
						allMitigations(&cfg)
					}
					runs = append(runs, observeRun(t, cfg))
				}
				first := runs[0]
				require.NotEmpty(t, first.outcomes, "jobs ended")
				if mitigated {
					on := first.counters.Mitigations.On
					assert.Contains(t, on, incident.MitigationNames[incident.Shed], "the shed scan runs")
				}
				t.Logf("%d jobs ended (%d lines of the model's log), %d requeues, %d shed", len(first.outcomes), first.lines,
					first.counters.Jobs.Requeues, first.counters.Jobs.Shed)
				for i, r := range runs[1:] {
					every := everies[i+1]
					for id, o := range first.outcomes {
						if r.outcomes[id] != o {
							t.Errorf("sampled every %v: job %d %s, not %s as sampled every %v", every, id, r.outcomes[id], o, everies[0])
							break
						}
					}
					assert.Len(t, r.outcomes, len(first.outcomes), "sampled every %v: jobs ended", every)
					assert.Equal(t, first.counters, r.counters, "sampled every %v: the model's counters", every)
					assert.Equal(t, first.lines, r.lines, "sampled every %v: lines of the model's log", every)
					assert.Equal(t, first.log, r.log, "sampled every %v: the model's log, line for line", every)
				}
			})
		}
	}
}
