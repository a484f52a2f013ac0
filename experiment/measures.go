package experiment

import (
	"math"

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
}

// Measures is the one table of measures, in the order tables list them.
var Measures = []Measure{
	{"jobs_delayed", "jobs that waited longer than the run's drained threshold for a VM (starts, and jobs still waiting at the end)", "jobs",
		compare.LowerIsBetter, func(o *outcome.Outcome) (float64, bool) { return float64(o.Summary.JobsDelayed), true }},
	{"wait_p95", "95th percentile of the waits for a VM: of the VM starts, and of the jobs still waiting at the end (so far)", "min",
		compare.LowerIsBetter, func(o *outcome.Outcome) (float64, bool) { return o.Summary.AllWaits.P95.Minutes(), true }},
	{"wait_max", "the longest wait for a VM: of a start, or of a job still waiting at the end", "min",
		compare.LowerIsBetter, func(o *outcome.Outcome) (float64, bool) { return o.Summary.AllWaits.Max.Minutes(), true }},
	{"peak_backlog", "the most jobs waiting at a sample", "jobs",
		compare.LowerIsBetter, func(o *outcome.Outcome) (float64, bool) {
			var peak int64
			for _, p := range o.Analysis.Phases {
				peak = max(peak, p.PeakBacklog)
			}
			return float64(peak), true
		}},
	{"requeues_per_arrival", "requeues divided by the jobs that arrived", "",
		compare.LowerIsBetter, func(o *outcome.Outcome) (float64, bool) {
			j := o.Summary.Jobs
			if j.Arrived == 0 {
				return 0, false
			}
			return float64(j.Requeues) / float64(j.Arrived), true
		}},
	{"vms_leaked", "VMs left at the end with no build on them: finished, orphaned or never booted", "VMs",
		compare.LowerIsBetter, func(o *outcome.Outcome) (float64, bool) { return float64(o.Summary.Leaked()), true }},
	{"completed", "jobs completed", "jobs",
		compare.HigherIsBetter, func(o *outcome.Outcome) (float64, bool) { return float64(o.Summary.Jobs.Completed), true }},
	{"failed_or_shed", "jobs failed for good or shed", "jobs",
		compare.LowerIsBetter, func(o *outcome.Outcome) (float64, bool) {
			return float64(o.Summary.Jobs.Failed + o.Summary.Jobs.Shed), true
		}},
	{"time_to_detect", "from the first fault to the first alert after it; none if never detected", "h",
		compare.LowerIsBetter, func(o *outcome.Outcome) (float64, bool) {
			in := o.Analysis.Incident
			return (in.DetectedAt - in.FaultAt).Hours(), in.Faulted && in.Detected
		}},
	{"time_to_recover", "from the first fault to the start of the last phase, recovered; none if it did not recover", "h",
		compare.LowerIsBetter, func(o *outcome.Outcome) (float64, bool) {
			in := o.Analysis.Incident
			return (in.RecoveredAt - in.FaultAt).Hours(), in.Faulted && in.Recovered
		}},
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
