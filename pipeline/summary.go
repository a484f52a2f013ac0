package pipeline

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"vmstorm/cluster"
	"vmstorm/config"
	"vmstorm/incident"
	"vmstorm/internal/logx"
	"vmstorm/internal/sim"
	"vmstorm/workers"
)

// Summary is what a run did, accounted for at its end.
type Summary struct {
	Config config.Config
	Ended  string        // why the run ended
	Model  time.Duration // model time the run lasted
	// Wall is the wall-clock time the run took, set by the caller that
	// timed it (the model never reads the wall clock).
	Wall time.Duration

	Jobs   workers.Counts
	Queued int64 // still waiting in the backlog at the end, counted from the queues
	// Waits is, per VM start, how long the job waited for it: from its
	// arrival, or from the loss of its last build.
	Waits WaitStats
	// StillWaiting is how long the jobs still queued at the end have waited
	// so far: in a storm, the jobs that got a VM are the lucky ones.
	StillWaiting    WaitStats
	Cluster         cluster.Stats
	FilledAt        time.Duration
	Filled          bool
	Stages          [3]workers.StageStats // build, run, cleanup
	Janitor         workers.JanitorStats
	Storm           StormStats
	Series          []Sample
	Marks           []Mark // the timeline's events, as applied
	Phases          []PhaseStats
	Incident        IncidentStats
	Clock           ClockStats
	formatClock     sim.Clock
	LogLinesDropped int64 // set by the caller that owns the logs
}

// ClockStats is how the kernel ran the model's time.
type ClockStats struct {
	Mode   sim.Mode
	Speed  float64       // the pace, model seconds per wall second; sim.Max for none
	Lag    time.Duration // the most model time fell behind its pace
	Events int64         // processes resumed: the kernel's unit of work
}

// WaitStats describes a set of waits.
type WaitStats struct {
	N                   int
	Mean, P50, P95, Max time.Duration
}

// StormStats says whether a requeue storm happened and how large it was.
type StormStats struct {
	Happened bool
	// PerArrival is requeue events divided by jobs arrived.
	PerArrival float64
	Start      time.Duration // end of the first status window in which requeues outran arrivals
	PeakRate   float64       // highest requeue rate over a status window, per model minute
}

// PhaseStats is one phase of the run, as the series shows it.
type PhaseStats struct {
	Name                  string
	Start, Length         time.Duration
	Completed, Requeues   int64
	PeakVMs, PeakReported int64
	PeakBacklog           int64
	WorstWait             time.Duration // the longest any job had waited for a VM, at any sample
}

// IncidentStats times the incident: from its first fault to detection (the
// first alert after it), to mitigation (the first operator's action after
// detection), and to recovery (the start of the last "recovered" phase).
type IncidentStats struct {
	FaultAt, DetectedAt, MitigatedAt, RecoveredAt time.Duration
	Faulted, Detected, Mitigated, Recovered       bool
	DetectedBy                                    string // the first alert
	// JobsDelayed is jobs that waited longer than config.Config.Drained for a VM,
	// counting the ones still waiting.
	JobsDelayed int64
}

// Balanced reports whether every job that arrived is accounted for exactly
// once: completed, failed permanently, still queued or in flight.
func (s *Summary) Balanced() bool {
	j := s.Jobs
	return j.Arrived == j.Completed+j.Failed+s.Queued+j.InFlight
}

// Leaked is the VMs left on the cluster with no build on them: finished and
// not yet destroyed, orphaned by a start timeout, or never booted.
func (s *Summary) Leaked() int64 {
	b := s.Cluster.ByState
	return b[cluster.Finished] + b[cluster.Orphaned] + b[cluster.NeverBooted]
}

type summaryInput struct {
	cfg     config.Config
	kernel  *sim.Kernel
	end     time.Duration
	ended   string
	cluster *cluster.Cluster
	ledger  *workers.Ledger
	queued  []*workers.Job
	stages  [3]workers.StageStats
	janitor workers.JanitorStats
	rep     *reporter
}

func summarize(in summaryInput) *Summary {
	k := in.kernel
	s := &Summary{
		Config: in.cfg, Ended: in.ended, Model: in.end,
		Jobs: in.ledger.Counts(), Queued: int64(len(in.queued)),
		Cluster: in.cluster.Stats(), Stages: in.stages, Janitor: in.janitor,
		Series: in.rep.series, Marks: in.rep.marks, formatClock: k,
		Clock: ClockStats{Mode: k.Mode(), Speed: k.Speed(), Lag: k.Lag(), Events: k.Events()},
	}
	s.FilledAt, s.Filled = in.cluster.FilledAt()
	waits, delayedStarts := in.ledger.Waits()
	s.Waits = waitStats(waits)
	still := workers.NewWaitHistogram()
	var stillDelayed int64
	for _, j := range in.queued {
		w := in.end - j.WaitingSince
		workers.RecordWait(still, w)
		if w > in.cfg.Drained {
			stillDelayed++
		}
	}
	s.StillWaiting = waitStats(still)
	s.Phases = phases(s.Series)
	s.Incident = incidentStats(s, in.rep.firstFired)
	s.Incident.JobsDelayed = delayedStarts + stillDelayed
	s.Storm = StormStats{Happened: in.rep.stormSeen, Start: in.rep.stormStart, PeakRate: in.rep.peakRate}
	if s.Jobs.Arrived > 0 {
		s.Storm.PerArrival = float64(s.Jobs.Requeues) / float64(s.Jobs.Arrived)
	}
	return s
}

func (w WaitStats) String() string {
	if w.N == 0 {
		return "none"
	}
	return fmt.Sprintf("mean %s  p50 %s  p95 %s  max %s", dur(w.Mean), dur(w.P50), dur(w.P95), dur(w.Max))
}

// phases groups the series into its runs of one phase.
func phases(series []Sample) []PhaseStats {
	var out []PhaseStats
	var prev Sample // the state before the phase began
	for i, smp := range series {
		if i == 0 || smp.Phase != series[i-1].Phase {
			if i > 0 {
				prev = series[i-1]
			}
			out = append(out, PhaseStats{Name: smp.Phase, Start: prev.T})
		}
		p := &out[len(out)-1]
		p.Length = smp.T - p.Start
		p.Completed = smp.Completed - prev.Completed
		p.Requeues = smp.Requeues - prev.Requeues
		p.PeakVMs = max(p.PeakVMs, smp.VMs)
		p.PeakReported = max(p.PeakReported, smp.ReportedVMs)
		p.PeakBacklog = max(p.PeakBacklog, smp.Backlog)
		p.WorstWait = max(p.WorstWait, smp.OldestWait)
	}
	return out
}

func incidentStats(s *Summary, firstFired map[string]time.Duration) IncidentStats {
	var in IncidentStats
	for _, m := range s.Marks {
		if incident.IsFault(m.Name) {
			in.FaultAt, in.Faulted = m.T, true
			break
		}
	}
	if in.Faulted {
		for name, t := range firstFired {
			if t >= in.FaultAt && (!in.Detected || t < in.DetectedAt || (t == in.DetectedAt && name < in.DetectedBy)) {
				in.DetectedAt, in.Detected, in.DetectedBy = t, true, name
			}
		}
		// Mitigation is the operators' first action once they know:
		// actions before detection (a supervisor restarting workers) do
		// not count.
		for _, m := range s.Marks {
			if in.Detected && m.T >= in.DetectedAt && !incident.IsFault(m.Name) {
				in.MitigatedAt, in.Mitigated = m.T, true
				break
			}
		}
		if n := len(s.Phases); n > 0 && s.Phases[n-1].Name == PhaseRecovered {
			in.RecoveredAt, in.Recovered = s.Phases[n-1].Start, true
		}
	}
	return in
}

// waitStats summarises a histogram of waits.
func waitStats(h *hdrhistogram.Histogram) WaitStats {
	if h.TotalCount() == 0 {
		return WaitStats{}
	}
	at := func(q float64) time.Duration { return workers.WaitAt(h.ValueAtQuantile(q)) }
	return WaitStats{N: int(h.TotalCount()), Mean: time.Duration(h.Mean() * float64(time.Millisecond)),
		P50: at(50), P95: at(95), Max: workers.WaitAt(h.Max())}
}

var stageNames = [3]string{"build (clone + power on)", "run (build)", "cleanup (destroy)"}

// Format writes the summary as a table a person reads in a few seconds.
func (s *Summary) Format(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(format string, a ...any) { fmt.Fprintf(tw, format+"\n", a...) }
	mt := func(t time.Duration) string { return logx.FormatModelTime(s.formatClock, t) }
	j, c := s.Jobs, s.Cluster

	p("vmstorm summary\t")
	p("  ended\t%s, after %s of model time (seed %d)", s.Ended, s.Model.Round(time.Second), s.Config.Seed)
	p("  cleanup\t%s", cleanupLine(s))
	p("  clock\t%s", s.clockLine())
	p("\t")
	p("JOBS\t")
	p("  arrived\t%d", j.Arrived)
	p("  completed\t%d", j.Completed)
	p("  failed permanently\t%d", j.Failed)
	p("  still in backlog\t%d", s.Queued)
	p("  in flight\t%d", j.InFlight)
	if s.Balanced() {
		p("  nothing lost\tyes: %d + %d + %d + %d = %d arrived", j.Completed, j.Failed, s.Queued, j.InFlight, j.Arrived)
	} else {
		p("  nothing lost\tNO: %d + %d + %d + %d != %d arrived (a bug: please report it)", j.Completed, j.Failed, s.Queued, j.InFlight, j.Arrived)
	}
	p("  requeued\t%d events, %d distinct jobs", j.Requeues, j.RequeuedJobs)
	p("  wait for a VM\t%s  (%d VM starts; a job whose build was lost waits again)", s.Waits, s.Waits.N)
	p("  still waiting\t%s  (%d jobs, waited so far)", s.StillWaiting, s.StillWaiting.N)
	p("\t")
	p("VMS\t")
	p("  capacity\t%d VMs the cluster can hold (every VM counts from power-on until destroyed)", c.Capacity)
	p("  in use (gauge)\tpeak %d, final %d", c.PeakInUse, c.InUse)
	if c.CPUCapacity > 0 || s.Config.CPUVMs > 0 {
		ceiling := "none at the end"
		if c.CPUCapacity > 0 {
			ceiling = fmt.Sprint(c.CPUCapacity)
		}
		p("  running (CPU ceiling)\tpeak %d, final %d; ceiling %s", c.PeakCPU, c.CPUInUse, ceiling)
	}
	if c.RateLimited > 0 {
		p("  API calls refused\t%d, by the cloud's rate limit", c.RateLimited)
	}
	p("  on the cluster (true)\tpeak %d, final %d; the janitor last reported %d", c.PeakVMs, c.VMs, s.Janitor.Reported)
	p("  leaked\t%d with no build on them (finished %d, never booted %d, orphaned %d)",
		s.Leaked(), c.ByState[cluster.Finished], c.ByState[cluster.NeverBooted], c.ByState[cluster.Orphaned])
	p("  created / destroyed\t%d cloned, %d powered on, %d destroyed", c.Cloned, c.Admitted, c.Destroyed)
	if s.Filled {
		p("  cluster filled at\t%s", mt(s.FilledAt))
	} else {
		p("  cluster filled at\tnever")
	}
	p("\t")
	p("STAGES\tworkers\ttaken\tsucceeded\tfailed\tbusy")
	for i, st := range s.Stages {
		p("  %s\t%d\t%d\t%d\t%d\t%.0f%%", stageNames[i], st.Workers, st.Taken, st.Succeeded, st.Failed, 100*st.BusyFraction(s.Model))
	}
	p("\t")
	p("REQUEUE STORM\t%s", stormLine(s, mt))
	if len(s.Marks) > 0 {
		p("\t")
		p("INCIDENT\t")
		in := s.Incident
		since := func(ok bool, t time.Duration) string {
			if !ok || !in.Faulted {
				return "never"
			}
			return fmt.Sprintf("%s after the fault, at %s", dur(t-in.FaultAt), mt(t))
		}
		if in.Faulted {
			p("  first fault\t%s", mt(in.FaultAt))
		}
		detected := since(in.Detected, in.DetectedAt)
		if in.Detected {
			detected += " (" + in.DetectedBy + ")"
		}
		p("  time to detect\t%s", detected)
		p("  time to mitigate\t%s", since(in.Mitigated, in.MitigatedAt))
		p("  time to recover\t%s", since(in.Recovered, in.RecoveredAt))
		p("  jobs delayed\t%d waited over %s for a VM", in.JobsDelayed, dur(s.Config.Drained))
	}
	if len(s.Phases) > 1 || (len(s.Phases) == 1 && s.Phases[0].Name != PhaseHealthy) {
		p("\t")
		p("PHASES\tstart\tlength\tcompleted\trequeues\tpeak VMs (true/reported)\tpeak backlog\tworst wait")
		for _, ph := range s.Phases {
			p("  %s\t%s\t%s\t%d\t%d\t%d / %d\t%d\t%s", ph.Name, mt(ph.Start), dur(ph.Length), ph.Completed, ph.Requeues,
				ph.PeakVMs, ph.PeakReported, ph.PeakBacklog, dur(ph.WorstWait))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if s.LogLinesDropped > 0 {
		_, err := fmt.Fprintf(w, "(%d repetitive console log lines were left out by sampling; -log-file has every event)\n", s.LogLinesDropped)
		return err
	}
	return nil
}

// clockLine says how the kernel kept model time: its pace, how far model
// time lagged behind it, and the wall time the run took. None of it
// changes what happened in the model.
func (s *Summary) clockLine() string {
	c := s.Clock
	var line string
	switch {
	case c.Mode == sim.Wall:
		line = fmt.Sprintf("model time ran on the wall clock at %gx (a test mode: figures vary with the machine's load)", c.Speed)
	case c.Speed == sim.Max:
		line = "unpaced (-speed max): model time ran as fast as the machine allows"
	case c.Lag <= 0:
		line = fmt.Sprintf("paced at %gx; model time kept its pace", c.Speed)
	default:
		line = fmt.Sprintf("paced at %gx; model time lagged its pace by up to %s (only when it was seen, never what happened)", c.Speed, dur(c.Lag))
	}
	if s.Wall > 0 {
		line += fmt.Sprintf("; %s wall, %d events", s.Wall.Round(time.Millisecond), c.Events)
	}
	return line
}

func cleanupLine(s *Summary) string {
	j := s.Janitor
	line := fmt.Sprintf("janitor: %d passes cleaned, %d failed to log in and cleaned nothing", j.Passes, j.FailedPasses)
	if s.Config.BreakCleanup {
		line += fmt.Sprintf(" (its password was rotated at %s)", logx.FormatModelTime(s.formatClock, s.Config.BreakAt))
	}
	return line
}

func stormLine(s *Summary, mt func(time.Duration) string) string {
	if !s.Storm.Happened {
		return fmt.Sprintf("no: %d requeues for %d arrivals (%.2f per arrival)", s.Jobs.Requeues, s.Jobs.Arrived, s.Storm.PerArrival)
	}
	return fmt.Sprintf("yes: %d requeues for %d arrivals (%.1f per arrival); requeues first outran arrivals in the status window to %s; peak %.0f requeues/min against %.0f arrivals/min",
		s.Jobs.Requeues, s.Jobs.Arrived, s.Storm.PerArrival, mt(s.Storm.Start), s.Storm.PeakRate, s.Config.ArrivalsPerMinute)
}

func dur(d time.Duration) string {
	switch {
	case d == 0:
		return "0s"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	default:
		// 2m0s reads better as 2m, and 1h5m0s as 1h5m.
		out := d.Round(time.Second).String()
		if strings.HasSuffix(out, "m0s") {
			out = strings.TrimSuffix(out, "0s")
		}
		return out
	}
}
