package pipeline

import (
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"vmstorm/cluster"
	"vmstorm/config"
	"vmstorm/internal/sim"
	"vmstorm/workers"
)

// Summary is what a run did, as the model counted it at its end: every job
// and VM accounted for. What the run's samples show (its phases, its storm,
// its alerts, its checks) is the analysis's (package analysis).
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
	StillWaiting WaitStats
	// AllWaits is both: every wait for a VM, of a start or, so far, of a
	// job still waiting at the end, so that a run that starts nothing does
	// not read as one with short waits.
	AllWaits WaitStats
	// JobsDelayed is the VM starts that came after a wait longer than
	// Config.Drained, and the jobs still waiting that have waited longer.
	JobsDelayed int64
	Cluster     cluster.Stats
	FilledAt    time.Duration
	Filled      bool
	Stages      [3]workers.StageStats // build, run, cleanup: see workers.StageNames
	Janitor     workers.JanitorStats
	Mitigations MitigationStats
	Clock       ClockStats
	// LogLinesDropped is how many console lines sampling left out, set by
	// the caller that owns the logs.
	LogLinesDropped int64
}

// MitigationStats is what the mitigations did (docs/mitigations.md).
type MitigationStats struct {
	On []string // the mitigations on at the end, by name
	// BackingOff is the jobs of the backlog still waiting out a backoff.
	BackingOff int64
	// BreakerOpened is how many times the breaker opened from closed;
	// BreakerState is its state at the end ("" if it was never on).
	BreakerOpened int
	BreakerState  string
	// RetryTokens is the retry budget's tokens at the end.
	RetryTokens float64
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

// Balanced reports whether every job that arrived is accounted for exactly
// once: completed, failed permanently, shed, still queued or in flight.
func (s *Summary) Balanced() bool {
	j := s.Jobs
	return j.Arrived == j.Completed+j.Failed+j.Shed+s.Queued+j.InFlight
}

// Leaked is the VMs left on the cluster with no build on them: finished and
// not yet destroyed, orphaned by a start timeout, or never booted.
func (s *Summary) Leaked() int64 {
	b := s.Cluster.ByState
	return b[cluster.Finished] + b[cluster.Orphaned] + b[cluster.NeverBooted]
}

type summaryInput struct {
	cfg         config.Config
	kernel      *sim.Kernel
	end         time.Duration
	ended       string
	cluster     *cluster.Cluster
	ledger      *workers.Ledger
	queued      []*workers.Job
	stages      [3]workers.StageStats
	janitor     workers.JanitorStats
	mitigations MitigationStats
}

func summarize(in summaryInput) *Summary {
	k := in.kernel
	s := &Summary{
		Config: in.cfg, Ended: in.ended, Model: in.end,
		Jobs: in.ledger.Counts(), Queued: int64(len(in.queued)),
		Cluster: in.cluster.Stats(), Stages: in.stages, Janitor: in.janitor, Mitigations: in.mitigations,
		Clock: ClockStats{Mode: k.Mode(), Speed: k.Speed(), Lag: k.Lag(), Events: k.Events()},
	}
	s.FilledAt, s.Filled = in.cluster.FilledAt()
	waits, delayedStarts := in.ledger.Waits() // the ledger's own: the run is over
	s.Waits = waitStats(waits)
	s.AllWaits = s.Waits
	var stillDelayed int64
	if len(in.queued) > 0 {
		still := workers.NewWaitHistogram()
		for _, j := range in.queued {
			w := in.end - j.WaitingSince
			workers.RecordWait(still, w)
			workers.RecordWait(waits, w) // as merging still into waits would
			if w > in.cfg.Drained {
				stillDelayed++
			}
		}
		s.StillWaiting = waitStats(still)
		s.AllWaits = waitStats(waits)
		workers.FreeWaitHistogram(still)
	}
	s.JobsDelayed = delayedStarts + stillDelayed
	return s
}

// waitStats summarises a histogram of waits.
func waitStats(h *hdrhistogram.Histogram) WaitStats {
	if h.TotalCount() == 0 {
		return WaitStats{}
	}
	// The quantiles in one walk through the counts: the 100th is Max.
	q := h.ValueAtPercentilesSlice(waitQuantiles[:])
	return WaitStats{N: int(h.TotalCount()), Mean: time.Duration(h.Mean() * float64(time.Millisecond)),
		P50: workers.WaitAt(q[0]), P95: workers.WaitAt(q[1]), Max: workers.WaitAt(q[2])}
}

// waitQuantiles are the percentiles waitStats reads.
var waitQuantiles = [...]float64{50, 95, 100}
