package experiment

import (
	"math"

	"vmstorm/analysis"
	"vmstorm/compare"
	"vmstorm/outcome"
)

// Measure is one figure an experiment compares across its variants, read
// from one replica's outcome.
type Measure struct {
	Name, Doc, Unit string
	Better          compare.Direction
	// of is the replica's figure, and false when the replica has none (a
	// time to detect in a run that was never detected).
	of func(o *outcome.Outcome) (float64, bool)
	// censor, for a time that a run's end can cut short, is the time the
	// run had for it (from the first fault to the end), and true, when
	// the run has no figure because it ended first: the figure is then
	// censored, known only to be later. nil for the other measures.
	censor func(o *outcome.Outcome) (float64, bool)
}

// Measures is the one table of measures, in the order tables list them.
var Measures = []Measure{
	{"jobs_delayed", "jobs that waited longer than the run's drained threshold for a VM (starts, and jobs still waiting at the end)", "jobs",
		compare.LowerIsBetter, func(o *outcome.Outcome) (float64, bool) { return float64(o.Summary.JobsDelayed), true }, nil},
	{"wait_p95", "95th percentile of the waits for a VM: of the VM starts, and of the jobs still waiting at the end (so far)", "min",
		compare.LowerIsBetter, func(o *outcome.Outcome) (float64, bool) { return o.Summary.AllWaits.P95.Minutes(), true }, nil},
	{"wait_max", "the longest wait for a VM: of a start, or of a job still waiting at the end", "min",
		compare.LowerIsBetter, func(o *outcome.Outcome) (float64, bool) { return o.Summary.AllWaits.Max.Minutes(), true }, nil},
	{"peak_backlog", "the most jobs waiting at a sample", "jobs",
		compare.LowerIsBetter, func(o *outcome.Outcome) (float64, bool) {
			var peak int64
			for _, p := range o.Analysis.Phases {
				peak = max(peak, p.PeakBacklog)
			}
			return float64(peak), true
		}, nil},
	{"requeues_per_arrival", "requeues divided by the jobs that arrived", "",
		compare.LowerIsBetter, func(o *outcome.Outcome) (float64, bool) {
			j := o.Summary.Jobs
			if j.Arrived == 0 {
				return 0, false
			}
			return float64(j.Requeues) / float64(j.Arrived), true
		}, nil},
	{"vms_leaked", "VMs left at the end with no build on them: finished, orphaned or never booted", "VMs",
		compare.LowerIsBetter, func(o *outcome.Outcome) (float64, bool) { return float64(o.Summary.Leaked()), true }, nil},
	{"completed", "jobs completed", "jobs",
		compare.HigherIsBetter, func(o *outcome.Outcome) (float64, bool) { return float64(o.Summary.Jobs.Completed), true }, nil},
	{"failed_or_shed", "jobs failed for good or shed", "jobs",
		compare.LowerIsBetter, func(o *outcome.Outcome) (float64, bool) {
			return float64(o.Summary.Jobs.Failed + o.Summary.Jobs.Shed), true
		}, nil},
	{"time_to_detect", "from the first fault to the first alert after it; censored at the end of a run never detected", "h",
		compare.LowerIsBetter, func(o *outcome.Outcome) (float64, bool) {
			in := o.Analysis.Incident
			return (in.DetectedAt - in.FaultAt).Hours(), in.Faulted && in.Detected
		}, func(o *outcome.Outcome) (float64, bool) {
			in := o.Analysis.Incident
			return faultToEnd(o), in.Faulted && !in.Detected
		}},
	{"time_to_recover", "from the first fault to the start of the last phase, recovered; censored at the end of a run still unwell; none if the fault was never detected and the run ended well", "h",
		compare.LowerIsBetter, func(o *outcome.Outcome) (float64, bool) {
			in := o.Analysis.Incident
			return (in.RecoveredAt - in.FaultAt).Hours(), in.Faulted && in.Recovered
		}, func(o *outcome.Outcome) (float64, bool) {
			in := o.Analysis.Incident
			return faultToEnd(o), in.Faulted && !in.Recovered && !endsWell(o)
		}},
}

// faultToEnd is the model hours from a run's first fault to its end.
func faultToEnd(o *outcome.Outcome) float64 {
	return (o.Summary.Model - o.Analysis.Incident.FaultAt).Hours()
}

// endsWell reports whether a run's last phase is a good one: healthy, or
// recovered.
func endsWell(o *outcome.Outcome) bool {
	ph := o.Analysis.Phases
	if len(ph) == 0 {
		return false
	}
	last := ph[len(ph)-1].Name
	return last == analysis.PhaseHealthy || last == analysis.PhaseRecovered
}

// RelativeMargin is the default practical margin of a measure, as a share
// of the baseline's median; Floor bounds it below.
const RelativeMargin = 0.05

// floors are the margins' absolute floors, by unit: the smallest
// difference that matters whatever the baseline's median (docs/experiments.md
// says why each).
var floors = map[string]float64{
	"jobs": 10,   // a few minutes of arrivals, at the 2015 rate of 3.3 a minute
	"min":  1,    // the alerts' default for:, below which no rule tells two waits apart
	"VMs":  10,   // a handful of the 2015 cluster's 6,000 slots
	"h":    0.25, // a quarter of an hour: less changes no responder's action
	"":     0.01, // requeues per arrival: one in a hundred arrivals
}

// Floor is the smallest margin of the measure: its unit's floor.
func (m Measure) Floor() float64 { return floors[m.Unit] }

// Censored says a run can end before the measure's event, leaving its
// figure censored rather than missing (CensoredAt).
func (m Measure) Censored() bool { return m.censor != nil }

// CensoredAt is, for a run that has no figure because it ended before the
// measure's event, the time it had (from the first fault to the end), and
// true; false for a run with a figure, or with none for another reason
// (no fault at all).
func (m Measure) CensoredAt(o *outcome.Outcome) (float64, bool) {
	if m.censor == nil {
		return 0, false
	}
	if _, ok := m.Of(o); ok {
		return 0, false
	}
	c, ok := m.censor(o)
	if !ok || math.IsNaN(c) || math.IsInf(c, 0) {
		return 0, false
	}
	return max(c, 0), true
}

// MeasureNames are the measures' names, in order.
func MeasureNames() []string {
	out := make([]string, len(Measures))
	for i, m := range Measures {
		out[i] = m.Name
	}
	return out
}

// LookupMeasure returns the measure of that name.
func LookupMeasure(name string) (Measure, bool) {
	for _, m := range Measures {
		if m.Name == name {
			return m, true
		}
	}
	return Measure{}, false
}

// Of is the replica's figure, and false if it has none.
func (m Measure) Of(o *outcome.Outcome) (float64, bool) {
	v, ok := m.of(o)
	if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}
