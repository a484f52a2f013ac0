package analysis_test

import (
	"testing"
	"time"

	"go.uber.org/goleak"

	"vmstorm/analysis"
	"vmstorm/config"
	"vmstorm/incident"
	"vmstorm/series"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// minute is model time, in whole minutes: the scripted series here take one
// sample a minute, at T = 1m, 2m, ... as the pipeline does.
func minute(n int) time.Duration { return time.Duration(n) * time.Minute }

// quiet is the default configuration with every alert rule off and a
// window of one sample, so that each test turns on only what it tests and
// a sample's rates are its change from the sample before.
func quiet() config.Config {
	cfg := config.Default()
	cfg.Window = time.Minute
	cfg.Alerts = config.Alerts{}
	return cfg
}

// recorder is a series.Watcher that keeps what it is given.
type recorder struct {
	rows  []series.Row
	marks []series.Mark
}

func (r *recorder) Row(row series.Row) { r.rows = append(r.rows, row) }
func (r *recorder) Mark(m series.Mark) { r.marks = append(r.marks, m) }

// rowAt is the row of the sample at model time t.
func (r *recorder) rowAt(t time.Duration) (series.Row, bool) {
	for _, row := range r.rows {
		if row.T == t {
			return row, true
		}
	}
	return series.Row{}, false
}

// judge feeds an Analyzer of cfg the samples and the marks in model-time
// order, a mark before a sample at the same time (as the pipeline applies
// an event before the sample due at its instant), the marks after the last
// sample last. It returns what a watcher saw and the result.
func judge(cfg config.Config, checks []analysis.Check, samples []series.Sample, marks ...series.Mark) (*recorder, analysis.Result) {
	return judgeWith(cfg, checks, nil, samples, marks...)
}

// judgeWith is judge with more watchers.
func judgeWith(cfg config.Config, checks []analysis.Check, watchers []series.Watcher, samples []series.Sample, marks ...series.Mark) (*recorder, analysis.Result) {
	rec := &recorder{}
	a := analysis.New(cfg, incident.Classify, checks, append([]series.Watcher{rec}, watchers...)...)
	for _, s := range samples {
		for len(marks) > 0 && marks[0].T <= s.T {
			a.Mark(marks[0])
			marks = marks[1:]
		}
		a.Sample(s)
	}
	for _, m := range marks {
		a.Mark(m)
	}
	return rec, a.Result()
}

// script is a run written one minute at a time: n samples, at 1m to n m,
// on a cluster of 200 VMs; each minute's step sets the sample's state, and
// adds this minute's arrivals, completions and requeues to the totals.
func script(n int, step func(m int, s *series.Sample) (arrived, completed, requeued int64)) []series.Sample {
	var out []series.Sample
	var arrived, completed, requeues int64
	for m := 1; m <= n; m++ {
		s := series.Sample{T: minute(m), Capacity: 200}
		a, c, r := step(m, &s)
		arrived, completed, requeues = arrived+a, completed+c, requeues+r
		s.Arrived, s.Completed, s.Requeues = arrived, completed, requeues
		out = append(out, s)
	}
	return out
}

// mark is a timeline event at minute m.
func mark(m int, name string) series.Mark { return series.Mark{T: minute(m), Name: name, Note: name} }

// changes are the changes of event in the rows, as "T name" strings.
func changes(rows []series.Row, event string) []string {
	var out []string
	for _, r := range rows {
		for _, c := range r.Changes {
			if c.Event == event {
				out = append(out, r.T.String()+" "+c.Name)
			}
		}
	}
	return out
}
