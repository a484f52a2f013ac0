package report

import (
	"fmt"
	"io"
	"strings"
	"time"

	"vmstorm/analysis"
	"vmstorm/cluster"
	"vmstorm/config"
	"vmstorm/internal/format"
	"vmstorm/internal/sim"
	"vmstorm/outcome"
	"vmstorm/pipeline"
	"vmstorm/workers"
)

// WriteSummary writes the run's summary as a sheet a person reads in a few
// seconds: how it ended, every job and VM accounted for, the stages, the
// storm, the incident's times and its phases. No line is wider than
// format.TextWidth: long values wrap under their column.
func WriteSummary(w io.Writer, o *outcome.Outcome) error {
	var sh sheet
	p := sh.kv
	s, an := o.Summary, o.Analysis
	mt := func(t time.Duration) string { return format.ModelTime(s.Config.Epoch, t) }
	j, c := s.Jobs, s.Cluster

	sh.title("vmstorm summary")
	p("  ended", "%s, after %s of model time (seed %d)", s.Ended, format.Duration(s.Model), s.Config.Seed)
	p("  cleanup", "%s", cleanupLine(o))
	p("  clock", "%s", clockLine(o))
	sh.blank()
	sh.title("JOBS")
	p("  arrived", "%d", j.Arrived)
	p("  completed", "%d", j.Completed)
	if j.FailedByBudget > 0 {
		p("  failed permanently", "%d (%d refused a retry by the retry budget)", j.Failed, j.FailedByBudget)
	} else {
		p("  failed permanently", "%d", j.Failed)
	}
	p("  shed", "%d dropped from the backlog after waiting over %s", j.Shed, format.Duration(s.Config.Mitigations.ShedAfter))
	if b := s.Mitigations.BackingOff; b > 0 {
		p("  still in backlog", "%d (%d waiting out a backoff)", s.Queued, b)
	} else {
		p("  still in backlog", "%d", s.Queued)
	}
	p("  in flight", "%d", j.InFlight)
	if s.Balanced() {
		p("  nothing lost", "yes: %d + %d + %d + %d + %d = %d arrived", j.Completed, j.Failed, j.Shed, s.Queued, j.InFlight, j.Arrived)
	} else {
		p("  nothing lost", "NO: %d + %d + %d + %d + %d != %d arrived (a bug: please report it)", j.Completed, j.Failed, j.Shed, s.Queued, j.InFlight, j.Arrived)
	}
	p("  requeued", "%d events, %d distinct jobs", j.Requeues, j.RequeuedJobs)
	p("  wait for a VM", "%s  (%d VM starts; a job whose build was lost waits again)", waits(s.Waits), s.Waits.N)
	p("  still waiting", "%s  (%d jobs, waited so far)", waits(s.StillWaiting), s.StillWaiting.N)
	p("  jobs delayed", "%d waited over %s for a VM (starts, and jobs still waiting)", s.JobsDelayed, format.Duration(s.Config.Drained))
	sh.blank()
	sh.title("VMS")
	p("  capacity", "%d VMs the cluster can hold (every VM counts from power-on until destroyed)", c.Capacity)
	p("  in use (gauge)", "peak %d, final %d", c.PeakInUse, c.InUse)
	if c.CPUCapacity > 0 || s.Config.CPUVMs > 0 {
		ceiling := "none at the end"
		if c.CPUCapacity > 0 {
			ceiling = fmt.Sprint(c.CPUCapacity)
		}
		p("  running (CPU ceiling)", "peak %d, final %d; ceiling %s", c.PeakCPU, c.CPUInUse, ceiling)
	}
	if c.RateLimited > 0 {
		p("  API calls refused", "%d, by the cloud's rate limit", c.RateLimited)
	}
	p("  on the cluster (true)", "peak %d, final %d; the janitor last reported %d", c.PeakVMs, c.VMs, s.Janitor.Reported)
	p("  leaked", "%d with no build on them (finished %d, never booted %d, orphaned %d)",
		s.Leaked(), c.ByState[cluster.Finished], c.ByState[cluster.NeverBooted], c.ByState[cluster.Orphaned])
	p("  created / destroyed", "%d cloned, %d powered on, %d destroyed", c.Cloned, c.Admitted, c.Destroyed)
	if s.Filled {
		p("  cluster filled at", "%s", mt(s.FilledAt))
	} else {
		p("  cluster filled at", "never")
	}
	sh.blank()
	mitigationLines(&sh, s)
	assumptionLines(&sh, s.Config)
	stages := [][]string{{"STAGES", "workers", "taken", "succeeded", "failed", "busy"}}
	for i, st := range s.Stages {
		stages = append(stages, []string{"  " + workers.StageNames[i], fmt.Sprint(st.Workers), fmt.Sprint(st.Taken),
			fmt.Sprint(st.Succeeded), fmt.Sprint(st.Failed), fmt.Sprintf("%.0f%%", 100*st.BusyFraction(s.Model))})
	}
	sh.table(stages...)
	sh.blank()
	judged(&sh, s.Config, an)
	if s.LogLinesDropped > 0 {
		sh.title(fmt.Sprintf("(%d repetitive console log lines were left out by sampling; -log-file has every event)", s.LogLinesDropped))
	}
	return sh.write(w)
}

// assumptionLines writes the model's assumptions the run made
// (config.Assumptions): each one's key and value, and whether it is the
// default, so that a figure of the summary is read with the choices it
// rests on.
func assumptionLines(sh *sheet, c config.Config) {
	def := config.Default()
	sh.kv("ASSUMPTIONS", "(docs/scenarios.md: the evidence for each default, and what it decides)")
	for _, a := range config.Assumptions {
		param, _ := config.Lookup(a.Flag)
		v, was := param.Get(&c), param.Get(&def)
		which := "the default"
		if v != was {
			which = "not the default, " + was
		}
		sh.kv("  "+strings.TrimPrefix(param.Key, config.SectionAssumptions+"."), "%s (%s)", v, which)
	}
	sh.blank()
}

// judged writes what the analysis says of a run: its storm, its incident
// and its phases; the summary and -analyze alike, from the series alone
// (its last sample is the state at the run's end).
func judged(sh *sheet, cfg config.Config, an analysis.Result) {
	mt := func(t time.Duration) string { return format.ModelTime(cfg.Epoch, t) }
	sh.kv("REQUEUE STORM", "%s", stormLine(cfg, an.Storm, an.Totals.Requeues, an.Totals.Arrived))
	if len(an.Marks) > 0 {
		in := an.Incident
		since := func(ok bool, t time.Duration) string {
			if !ok || !in.Faulted {
				return "never"
			}
			return fmt.Sprintf("%s after the fault, at %s", format.Duration(t-in.FaultAt), mt(t))
		}
		sh.blank()
		sh.title("INCIDENT")
		if in.Faulted {
			sh.kv("  first fault", "%s", mt(in.FaultAt))
		}
		detected := since(in.Detected, in.DetectedAt)
		if in.Detected {
			detected += " (" + in.DetectedBy + ")"
		}
		sh.kv("  time to detect", "%s", detected)
		sh.kv("  time to mitigate", "%s", since(in.Mitigated, in.MitigatedAt))
		sh.kv("  time to recover", "%s", since(in.Recovered, in.RecoveredAt))
	}
	if ph := an.Phases; len(ph) > 1 || (len(ph) == 1 && ph[0].Name != analysis.PhaseHealthy) {
		sh.blank()
		rows := [][]string{
			{"PHASES", "", "", "", "", "peak VMs", "peak", "worst"},
			{"", "start", "length", "completed", "requeues", "true / reported", "backlog", "wait"},
		}
		for _, r := range phaseRows(cfg.Epoch, an.Phases) {
			rows = append(rows, []string{"  " + r.Name, r.Start, r.Length, fmt.Sprint(r.Completed), fmt.Sprint(r.Requeues),
				fmt.Sprintf("%d / %d", r.PeakVMs, r.PeakReported), fmt.Sprint(r.PeakBacklog), r.WorstWait})
		}
		sh.table(rows...)
	}
}

// WriteAnalysis writes what the analysis says of a series read back from
// its CSV file: the same storm, incident and phase tables as the summary.
func WriteAnalysis(w io.Writer, cfg config.Config, an analysis.Result) error {
	var sh sheet
	sh.title("vmstorm analysis")
	sh.kv("  series", "%s of model time; judged with a window of %s", format.Duration(an.End), format.Duration(cfg.Window))
	sh.blank()
	judged(&sh, cfg, an)
	return sh.write(w)
}

// phaseRow is one phase of the run, as the summary and the page show it.
type phaseRow struct {
	Name, Start, Length                string
	Completed, Requeues                int64
	PeakVMs, PeakReported, PeakBacklog int64
	WorstWait                          string
}

// phaseRows are the run's phases, spelled once for the summary and the
// page alike.
func phaseRows(epoch time.Time, phases []analysis.PhaseStats) []phaseRow {
	var out []phaseRow
	for _, ph := range phases {
		out = append(out, phaseRow{
			Name: ph.Name, Start: format.ModelTime(epoch, ph.Start), Length: format.Duration(ph.Length),
			Completed: ph.Completed, Requeues: ph.Requeues,
			PeakVMs: ph.PeakVMs, PeakReported: ph.PeakReported, PeakBacklog: ph.PeakBacklog,
			WorstWait: format.Duration(ph.WorstWait),
		})
	}
	return out
}

// waits describes a set of waits for people.
func waits(w pipeline.WaitStats) string {
	if w.N == 0 {
		return "none"
	}
	return fmt.Sprintf("mean %s  p50 %s  p95 %s  max %s", format.Duration(w.Mean), format.Duration(w.P50), format.Duration(w.P95), format.Duration(w.Max))
}

// clockLine says how the kernel kept model time: its pace, how far model
// time lagged behind it, and the wall time the run took. None of it
// changes what happened in the model.
func clockLine(o *outcome.Outcome) string {
	c := o.Summary.Clock
	var line string
	switch {
	case c.Mode == sim.Wall:
		line = fmt.Sprintf("model time ran on the wall clock at %gx (a test mode: figures vary with the machine's load)", c.Speed)
	case c.Speed == sim.Max:
		line = "unpaced (-speed max): model time ran as fast as the machine allows"
	case c.Lag <= 0:
		line = fmt.Sprintf("paced at %gx; model time kept its pace", c.Speed)
	default:
		line = fmt.Sprintf("paced at %gx; model time lagged its pace by up to %s (only when it was seen, never what happened)", c.Speed, format.Duration(c.Lag))
	}
	if w := o.Summary.Wall; w > 0 {
		line += fmt.Sprintf("; %s wall, %d events", w.Round(time.Millisecond), c.Events)
	}
	return line
}

func cleanupLine(o *outcome.Outcome) string {
	s := o.Summary
	j := s.Janitor
	line := fmt.Sprintf("janitor: %d passes cleaned, %d failed to log in and cleaned nothing", j.Passes, j.FailedPasses)
	if s.Config.BreakCleanup {
		line += fmt.Sprintf(" (its password was rotated at %s)", format.ModelTime(s.Config.Epoch, s.Config.BreakAt))
	}
	return line
}

// stormLine says whether requeues outran arrivals, with the run's
// requeues per arrival: a figure that is not zero is never written as one
// (139 requeues for 11714 arrivals is 0.012, not 0.0).
func stormLine(cfg config.Config, st analysis.StormStats, requeues, arrived int64) string {
	per := 0.0
	if arrived > 0 {
		per = float64(requeues) / float64(arrived)
	}
	if !st.Happened {
		return fmt.Sprintf("no: %d requeues for %d arrivals (%s per arrival)", requeues, arrived, format.Figure(per))
	}
	peak := fmt.Sprintf("%.0f", st.PeakRate) // whole requeues a minute, as the console writes them
	if st.PeakRate < 1 {
		peak = format.Figure(st.PeakRate)
	}
	return fmt.Sprintf("yes: %d requeues for %d arrivals (%s per arrival); requeues first outran arrivals at %s, over the %s before; peak %s requeues/min",
		requeues, arrived, format.Figure(per), format.ModelTime(cfg.Epoch, st.Start), format.Duration(cfg.Window), peak)
}

// WriteChecks writes a scenario's checks, each with the model's figure
// beside what the report says and the causes it depends on, on lines of
// their own under it; then, apart, the calibrations. No line is wider than
// format.TextWidth.
func WriteChecks(w io.Writer, name string, results []analysis.CheckResult) error {
	if len(results) == 0 {
		return nil
	}
	var checks, calibrations []analysis.CheckResult
	for _, r := range results {
		if r.Check.Calibration {
			calibrations = append(calibrations, r)
		} else {
			checks = append(checks, r)
		}
	}
	var b strings.Builder
	table := func(title, noun string, rs []analysis.CheckResult) {
		if len(rs) == 0 {
			return
		}
		b.WriteString("\n")
		for _, line := range format.Wrap(title, 0, 2, format.TextWidth) {
			b.WriteString(line + "\n")
		}
		passed := 0
		for _, r := range rs {
			mark := "FAIL"
			if r.OK {
				mark, passed = "ok", passed+1
			}
			b.WriteString(hanging(fmt.Sprintf("  %-4s", mark), checkIndent, r.Check.Name))
			b.WriteString(hanging(strings.Repeat(" ", checkIndent)+"model", checkValue, r.Model))
			b.WriteString(hanging(strings.Repeat(" ", checkIndent)+"want", checkValue, r.Want))
			if !r.Check.Calibration {
				b.WriteString(hanging(strings.Repeat(" ", checkIndent)+"causes", checkValue, strings.Join(r.Check.Causes, ", ")))
			}
		}
		fmt.Fprintf(&b, "  %d of %d %s hold\n", passed, len(rs), noun)
	}
	table(fmt.Sprintf("FAITHFULNESS (%s)", name), "checks", checks)
	table(fmt.Sprintf("CALIBRATIONS (%s: inputs chosen to match the report, with no cause to take out)", name), "calibrations", calibrations)
	_, err := io.WriteString(w, b.String())
	return err
}

// A check's text starts at checkIndent, after its mark; its figures'
// values at checkValue, after their labels.
const (
	checkIndent = 8
	checkValue  = 16
)

// mitigationLines writes what the mitigations did, if any was on.
func mitigationLines(sh *sheet, s *pipeline.Summary) {
	p := sh.kv
	m := s.Mitigations
	if len(m.On) == 0 && m.BreakerState == "" && s.Janitor.Reaped == 0 {
		return
	}
	on := "none at the end"
	if len(m.On) > 0 {
		on = strings.Join(m.On, ", ")
	}
	sh.title("MITIGATIONS")
	p("  on", "%s", on)
	if m.BreakerState != "" {
		p("  circuit breaker", "opened %d times; %s at the end", m.BreakerOpened, m.BreakerState)
	}
	for _, name := range m.On {
		switch name {
		case "retry_budget":
			p("  retry budget", "%s tokens at the end; %d jobs refused a retry", format.Num(m.RetryTokens), s.Jobs.FailedByBudget)
		case "backoff":
			p("  backoff", "%d jobs waiting out a backoff at the end", m.BackingOff)
		}
	}
	if s.Janitor.Reaped > 0 {
		p("  reaper", "%d never-booted VMs handed out for destruction", s.Janitor.Reaped)
	}
	sh.blank()
}
