// Package config is a run's configuration: every parameter of the model,
// with its default, its range and its doc, in one table (Params) that the
// flags, the scenario files' keys, -h, docs/scenarios.md, the log's
// run_started line and the report's parameters table are all made from.
package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"

	"vmstorm/config/policy"
	"vmstorm/incident"
	"vmstorm/internal/dist"
	"vmstorm/internal/sim"
)

// Config is everything a run needs. Parameter names in errors are the
// command-line flag names, so that a person can mend the flag they gave.
type Config struct {
	VMs int64 // cluster capacity: VMs it can hold powered on at once

	BreakCleanup bool          // the janitor's password is rotated ...
	BreakAt      time.Duration // ... at this model time

	Duration time.Duration // model time the run lasts
	Speed    Speed         // how fast model time runs
	// MaxHeld is the run's memory budget: the most jobs (not yet finished)
	// and VMs (on the cluster) the model holds at once.
	MaxHeld int64
	Seed    uint64
	Epoch   time.Time // calendar time of model time zero; zero for none

	ArrivalsPerMinute float64 // mean job arrival rate, per model minute
	MaxJobs           int64   // stop arrivals after this many jobs; 0 for no limit

	BuildWorkers, RunWorkers, CleanupWorkers int
	// CleanupConcurrency is how many of the Cleanup workers destroy VMs at
	// once in the janitor's normal mode (0: all); its aggressive mode uses
	// them all.
	CleanupConcurrency int
	QueueSize          int // buffer of each channel between stages

	Clone, PowerOn, Destroy, Build dist.Latency
	StartTimeout                   time.Duration
	RejectTime                     time.Duration // a refused call's time to come back (see cluster.Config)
	BuildTimeout                   time.Duration
	MaxAttempts                    int

	CleanupEvery  time.Duration
	CleanupRate   float64 // VMs per model second
	CleanupCutoff time.Duration

	StatusEvery time.Duration // status line interval, model time
	SampleEvery time.Duration // time-series sampling interval, model time
	// Window is the span every rate is measured over: alerts, phases, the
	// storm, the status line, the live view.
	Window time.Duration

	// Queues the jobs arrive in (.com and .org in 2015), with their shares
	// of the arrivals and their limits of concurrent builds.
	Queues []Queue
	// CPUVMs is the second ceiling: how many VMs the CPU reservations let the
	// cluster run at once (0: none). A finished VM is off and holds no CPU.
	CPUVMs int64
	// APIRate and APIBurst are the cloud API's own rate limit (calls per
	// model second; 0: none): a call over it fails. ClientAPIRate is the
	// clients' self-imposed limit: over it, a call waits (0: none).
	APIRate       float64
	APIBurst      int
	ClientAPIRate float64
	// WorkerDeletesVMs: the Run worker deletes its VM after the build (the
	// GCE setup); otherwise it leaves it for the janitor (2015 vSphere).
	WorkerDeletesVMs bool
	// DeleteFailedVMs: a failed start's VM is deleted at once rather than
	// left behind, never booted.
	DeleteFailedVMs bool
	// DeletesLostVMs: the VM of a build lost with its worker, or given up
	// as stalled, is deleted rather than left on, orphaned, for the janitor.
	DeletesLostVMs bool
	// StallTimeout is how long a worker waits on a stalled build before it
	// gives up and requeues the job.
	StallTimeout time.Duration
	// Assumptions are the model's choices that no report or code settles,
	// and that decide outcomes (see Assumptions, the table of their
	// evidence).
	Assumptions ModelAssumptions
	// Mitigations are the changes that could have stopped the storm.
	Mitigations Mitigations
	// ReportStale is the 2015 reporting defect: a janitor pass that fails
	// leaves the reported VM count at its last value instead of zero.
	ReportStale bool
	// ReportFresh: a janitor pass that fails still reports the VMs on the
	// cluster, counted with an account the rotation did not touch.
	ReportFresh bool
	// Traffic shapes the arrival rate over model time; ArrivalsPerMinute is
	// then the rate at the daily peak. Nil means a constant rate.
	Traffic *Traffic
	Alerts  Alerts
	// Drained is the longest wait for a VM that counts as a normal backlog:
	// phases and "jobs delayed" are judged by it.
	Drained time.Duration
	// Timeline is the run's faults and operators' actions.
	Timeline incident.Timeline
	// Name is the scenario the run replays, if any.
	Name string
}

// Speed is how fast model time runs: model seconds per wall second, or
// MaxSpeed, as fast as the machine allows. As a flag and in a scenario file
// it is "max" or a number.
type Speed float64

// MaxSpeed runs a model unpaced (sim.Max), as fast as the machine allows:
// no paced speed, however high, is it.
const MaxSpeed Speed = sim.Max

// The slowest and the fastest paced speeds, in model seconds per wall
// second.
const (
	slowestPaced = 1e-3
	fastestPaced = 1e7
)

func (s Speed) String() string {
	if s == MaxSpeed {
		return "max"
	}
	return strconv.FormatFloat(float64(s), 'g', -1, 64)
}

// Set reads "max" or a number, as a flag and a scenario file spell it.
func (s *Speed) Set(v string) error {
	if strings.TrimSpace(v) == "max" {
		*s = MaxSpeed
		return nil
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || f == 0 || Speed(f).check() != nil {
		return errSpeed // and s as it was
	}
	*s = Speed(f)
	return nil
}

var errSpeed = fmt.Errorf("want max, or model seconds per wall second from %g to %g (e.g. 120)", slowestPaced, fastestPaced)

func (s Speed) check() error {
	if s == MaxSpeed || (s >= slowestPaced && s <= fastestPaced) {
		return nil
	}
	return errSpeed
}

// Queue is one job queue.
type Queue struct {
	Name      string
	Share     float64 // of the arrivals, relative to the other queues'
	MaxBuilds int64   // concurrent builds at most; 0 for no limit
}

// Traffic is the shape of the arrival rate over model time, as factors of
// the peak rate. The calendar comes from Config.Epoch (UTC).
type Traffic struct {
	// PeakHour is the UTC hour of the daily peak, and Night the factor at
	// the opposite hour; the rate follows a cosine between them.
	PeakHour float64
	Night    float64
	// Weekend is the factor on Saturdays and Sundays.
	Weekend float64
	Bursts  []Burst
	// Hold, if not nil, holds the rate at a constant factor for a span:
	// an experiment's constant load (experiment.Recovery's load), which no
	// scenario file sets.
	Hold *Hold
}

// Hold holds the traffic factor at Factor from From for For: the daily
// curve, the weekend and the bursts do not apply in that span.
type Hold struct {
	From, For time.Duration
	Factor    float64
}

// MaxHoldFactor is the largest factor a hold may take.
const MaxHoldFactor = 1000

// WeekMean is the daily curve's mean over the first week from epoch, with
// its weekends and without its bursts (which are one-off) or its hold: the
// load the curve puts on the cluster in the long run.
func (tr *Traffic) WeekMean(epoch time.Time) float64 {
	plain := Traffic{PeakHour: tr.PeakHour, Night: tr.Night, Weekend: tr.Weekend}
	const step = time.Minute
	n, sum := 0, 0.0
	for t := time.Duration(0); t < 7*24*time.Hour; t += step {
		sum += plain.Factor(epoch, t)
		n++
	}
	return sum / float64(n)
}

// Burst multiplies the rate by Factor for For from At.
type Burst struct {
	At, For time.Duration
	Factor  float64
}

// Factor is the traffic factor at model time t.
func (tr *Traffic) Factor(epoch time.Time, t time.Duration) float64 {
	if h := tr.Hold; h != nil && t >= h.From && t < h.From+h.For {
		return h.Factor
	}
	cal := epoch.Add(t).UTC()
	hour := float64(cal.Hour()) + float64(cal.Minute())/60 + float64(cal.Second())/3600
	day := tr.Night + (1-tr.Night)*(1+math.Cos(2*math.Pi*(hour-tr.PeakHour)/24))/2
	if wd := cal.Weekday(); wd == time.Saturday || wd == time.Sunday {
		day *= tr.Weekend
	}
	for _, b := range tr.Bursts {
		if t >= b.At && t < b.At+b.For {
			day *= b.Factor
		}
	}
	return day
}

// Max bounds Factor from above: the daily curve peaks at 1, a weekend
// factor above 1 raises that peak, and every burst above 1 multiplies it
// (as if all of them overlapped). Without bursts it is the least bound.
func (tr *Traffic) Max() float64 {
	m := max(1, tr.Weekend) * tr.maxBursts()
	if h := tr.Hold; h != nil {
		m = max(m, h.Factor)
	}
	return m
}

// maxBursts is the largest product of the bursts' factors at one time
// (at least 1): the product can only rise where a burst begins, so it is
// the largest of the products at the bursts' starts. Bursts are few (at
// most MaxBursts), so this looks at every pair.
func (tr *Traffic) maxBursts() float64 {
	m := 1.0
	for _, s := range tr.Bursts {
		p := 1.0
		for _, b := range tr.Bursts {
			if s.At >= b.At && s.At < b.At+b.For {
				p *= b.Factor
			}
		}
		m = max(m, p)
	}
	return m
}

// MaxBursts is the most bursts a traffic curve may have, and
// MaxBurstFactor the largest factor of one.
const (
	MaxBursts      = 1000
	MaxBurstFactor = 1000
)

// Alerts are the rules monitoring evaluates on what it sees, each off when
// its threshold is zero. Like Prometheus's rules, a rule fires once its
// condition has held For, and resolves once it has been false
// KeepFiringFor: a value that hovers at a threshold does not flap.
type Alerts struct {
	// VMCountMin and VMCountMax bound the VM count the janitor reports.
	VMCountMin, VMCountMax int64
	// RequeueRateMax is requeues per model minute, over Config.Window.
	RequeueRateMax float64
	// BacklogAgeMax is the longest a job may wait for a VM.
	BacklogAgeMax time.Duration
	// JanitorAgeMax is the longest since the janitor's last successful
	// pass (honest monitoring: a batch job's last-success age).
	JanitorAgeMax      time.Duration
	For, KeepFiringFor time.Duration
}

// ModelAssumptions are the model's choices that decide whether a storm can
// sustain itself and that neither the incident's report nor the services'
// code settles, each a switch whose default is the model's original choice
// (Assumptions gives each one's evidence and alternative).
type ModelAssumptions struct {
	// NeverBootedHoldsSlot: a VM whose power-on failed holds a slot of the
	// cluster (cluster.Config.NeverBootedHoldsSlot).
	NeverBootedHoldsSlot bool
	// RefusedStartHoldsCPU: a refused power-on holds CPU until its refusal
	// comes back (cluster.Config.RefusedStartHoldsCPU).
	RefusedStartHoldsCPU bool
	// RefusedCallsCount: a call the cloud API refuses uses up its rate
	// limit (cluster.Config.RefusedCallsCount).
	RefusedCallsCount bool
}

// Mitigations are the changes that could have stopped the 2015 storm, as
// parts of the model (docs/mitigations.md): each is off unless its switch
// is on from the start (here) or turned on by a timeline action, and then
// works with its settings here. incident.MitigationTable names each one's
// switch and settings parameters (delete-failed-vms is a worker's switch,
// Config.DeleteFailedVMs).
type Mitigations struct {
	// Backoff: a failed start waits, with full jitter, before the job is
	// offered again, holding no Build worker.
	Backoff         bool
	BackoffSettings policy.Backoff
	// RetryBudget: a failed start is retried only while the Build pool's
	// token bucket allows; past it the job fails for good.
	RetryBudget         bool
	RetryBudgetSettings policy.RetryBudgetSettings
	// Breaker: a circuit breaker in front of the VM API; while it is open
	// no Build worker takes a job.
	Breaker         bool
	BreakerSettings policy.BreakerSettings
	// Reaper: the janitor also destroys a never-booted VM older than
	// ReaperTTL.
	Reaper    bool
	ReaperTTL time.Duration
	// CapacityAware: the scheduler hands a job to Build only while the
	// cluster has room for one more start.
	CapacityAware bool
	// Shed: a job that has waited longer than ShedAfter is dropped from
	// the backlog, as a user cancels a stuck build.
	Shed      bool
	ShedAfter time.Duration
}

// Default is the 2015 OS X cluster on a normal day, from the incident brief
// and the defaults of travis-ci/worker and vsphere-janitor. Where the brief
// has no number, the value is chosen so that the healthy cluster runs at a
// mean of about 115 VMs, well under its normal peak of about 200.
func Default() Config {
	return Config{
		VMs:               200,
		Duration:          time.Hour,
		Speed:             120,
		MaxHeld:           DefaultMaxHeld,
		ArrivalsPerMinute: 12,
		BuildWorkers:      50,
		RunWorkers:        250,
		CleanupWorkers:    5,
		QueueSize:         100,
		Clone:             dist.Latency{Mean: 30 * time.Second, Spread: 10 * time.Second},
		PowerOn:           dist.Latency{Mean: 20 * time.Second, Spread: 5 * time.Second},
		Destroy:           dist.Latency{Mean: 10 * time.Second, Spread: 3 * time.Second},
		Build:             dist.Latency{Mean: 8 * time.Minute, Spread: 6 * time.Minute},
		StartTimeout:      4 * time.Minute,
		RejectTime:        10 * time.Second, // a power-on task that admission control refuses
		BuildTimeout:      50 * time.Minute,
		CleanupEvery:      time.Minute,
		CleanupRate:       5,
		CleanupCutoff:     2 * time.Hour,
		StatusEvery:       2 * time.Minute,
		SampleEvery:       10 * time.Second,
		Window:            5 * time.Minute,
		Queues:            []Queue{{Name: "com", Share: 1}, {Name: "org", Share: 1}},
		StallTimeout:      10 * time.Minute,
		ReportStale:       true,
		Drained:           10 * time.Minute,
		// Normal is no requeues and waits of a minute or two.
		Alerts: Alerts{RequeueRateMax: 30, BacklogAgeMax: 30 * time.Minute, For: time.Minute, KeepFiringFor: 10 * time.Minute},
		Mitigations: Mitigations{
			BackoffSettings:     policy.DefaultBackoff(),
			RetryBudgetSettings: policy.DefaultRetryBudgetSettings(),
			BreakerSettings:     policy.DefaultBreakerSettings(),
			ReaperTTL:           15 * time.Minute,
			ShedAfter:           2 * time.Hour,
		},
	}
}

// QueueNames are the names of the queues, in order.
func (c Config) QueueNames() []string {
	names := make([]string, len(c.Queues))
	for i, q := range c.Queues {
		names[i] = q.Name
	}
	return names
}

// FullTimeline is the timeline with -break-cleanup's event added.
func (c Config) FullTimeline() incident.Timeline {
	tl := append(incident.Timeline(nil), c.Timeline...)
	if c.BreakCleanup {
		tl = append(tl, incident.Event{At: c.BreakAt, Action: "rotate_cleanup_password"})
	}
	return tl
}

// ParamError says which parameter is wrong and what it should be.
type ParamError struct {
	Param string // the flag's name, without the dash
	Value string
	Want  string
}

func (e *ParamError) Error() string {
	return fmt.Sprintf("-%s %s: want %s", e.Param, e.Value, e.Want)
}

// Validate checks every parameter, each against its range in Params, then
// the ones that must agree with each other, and returns the first that is
// wrong.
func (c Config) Validate() error {
	for _, p := range Params {
		if err := p.Check(&c); err != nil {
			return err
		}
	}
	if !c.Epoch.IsZero() && c.Epoch.Add(c.Duration).After(lastCalendarTime) {
		// RFC 3339 has years of four digits: the log's, the series' and
		// the charts' calendar times of a run past it could not be read.
		return &ParamError{"epoch", c.Epoch.Format(time.RFC3339), fmt.Sprintf("an epoch whose run (-duration %v) ends by %s", c.Duration, lastCalendarTime.Format(time.RFC3339))}
	}
	if c.BreakAt > c.Duration {
		return &ParamError{"break-at", c.BreakAt.String(), fmt.Sprintf("a model time within the run's -duration %v", c.Duration)}
	}
	if len(c.Queues) == 0 {
		return &ParamError{"queues", "none", "at least one queue"}
	}
	seen := map[string]bool{}
	for _, q := range c.Queues {
		switch {
		case q.Name == "" || NameKey(q.Name) == "all" || seen[NameKey(q.Name)]:
			return &ParamError{"queues", fmt.Sprintf("%q", q.Name), "distinct queue names, none empty or \"all\""}
		case !(q.Share > 0):
			return &ParamError{"queues", fmt.Sprintf("share %v of %s", q.Share, q.Name), "a share above 0"}
		case q.MaxBuilds < 0:
			return &ParamError{"queues", fmt.Sprintf("max_builds %d of %s", q.MaxBuilds, q.Name), "0 (no limit) or more builds"}
		}
		seen[NameKey(q.Name)] = true
	}
	if tr := c.Traffic; tr != nil {
		switch {
		case !(tr.Night > 0 && tr.Night <= 1):
			return &ParamError{"traffic", fmt.Sprintf("night %v", tr.Night), "a night factor above 0 and at most 1"}
		case !(tr.Weekend > 0):
			return &ParamError{"traffic", fmt.Sprintf("weekend %v", tr.Weekend), "a weekend factor above 0"}
		case !(tr.PeakHour >= 0 && tr.PeakHour < 24):
			return &ParamError{"traffic", fmt.Sprintf("peak_hour %v", tr.PeakHour), "an hour from 0 up to, but not including, 24"}
		}
		if len(tr.Bursts) > MaxBursts {
			return &ParamError{"traffic", fmt.Sprintf("%d bursts", len(tr.Bursts)), fmt.Sprintf("at most %d bursts", MaxBursts)}
		}
		for _, b := range tr.Bursts {
			if !(b.Factor > 0 && b.Factor <= MaxBurstFactor) || b.For <= 0 || b.At < 0 {
				return &ParamError{"traffic", fmt.Sprintf("burst at %v", b.At), fmt.Sprintf("a burst with at >= 0, a length above 0 and a factor above 0 and at most %v", MaxBurstFactor)}
			}
		}
		if h := tr.Hold; h != nil && (!(h.Factor > 0 && h.Factor <= MaxHoldFactor) || h.From < 0 || h.For <= 0) {
			return &ParamError{"traffic", fmt.Sprintf("a hold at %v of factor %v", h.From, h.Factor), fmt.Sprintf("a hold from 0 or later, for a length above 0, at a factor above 0 and at most %v", MaxHoldFactor)}
		}
		if peak := c.ArrivalsPerMinute * tr.Max(); !(peak <= MaxRate) {
			return &ParamError{"traffic", fmt.Sprintf("a peak of %.4g jobs per model min", peak),
				fmt.Sprintf("an arrival rate times the weekend and the bursts that overlap of at most %v jobs per model min", MaxRate)}
		}
	}
	m := c.Mitigations
	if m.BackoffSettings.Cap < m.BackoffSettings.Base {
		return &ParamError{"backoff-cap", m.BackoffSettings.Cap.String(), fmt.Sprintf("at least the backoff's base, %v", m.BackoffSettings.Base)}
	}
	for _, err := range []error{m.BackoffSettings.Validate(), m.RetryBudgetSettings.Validate(), m.BreakerSettings.Validate()} {
		if err != nil {
			return err // the parameters' ranges are narrower: a bug if it happens
		}
	}
	if c.StatusEvery < c.SampleEvery {
		// A status line reads the analysis of the samples: it cannot come
		// more often than they do.
		return &ParamError{"status-every", c.StatusEvery.String(), fmt.Sprintf("at least -sample-every %v: a status line reports a sample", c.SampleEvery)}
	}
	if a := c.Alerts; a.VMCountMax > 0 && a.VMCountMin > a.VMCountMax {
		return &ParamError{"alert-vm-count-min", fmt.Sprint(a.VMCountMin), fmt.Sprintf("at most -alert-vm-count-max %d", a.VMCountMax)}
	}
	if err := c.Timeline.CheckIDs(); err != nil {
		return &ParamError{"timeline", err.Error(), "each id given once, a letter then letters, digits, _ or -"}
	}
	for _, ev := range c.FullTimeline() {
		what := fmt.Sprintf("%s at %v", ev.Action, ev.At)
		if ev.AfterDetection {
			what = fmt.Sprintf("%s at detection + %v", ev.Action, ev.At)
		}
		if err := ev.Validate(c.QueueNames()); err != nil {
			return &ParamError{"timeline", what, err.Error()}
		}
		switch {
		case ev.AfterDetection && (ev.At < 0 || ev.At > c.Duration):
			return &ParamError{"timeline", what, fmt.Sprintf("a delay after detection within the run's duration %v: a longer one could never happen in the run", c.Duration)}
		case ev.At < 0 || ev.At > c.Duration:
			return &ParamError{"timeline", what, fmt.Sprintf("a model time within the run's duration %v", c.Duration)}
		}
	}
	return nil
}

// lastCalendarTime is the last time RFC 3339 can write: a run with an
// epoch ends by it.
var lastCalendarTime = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// NameKey is what tells names apart (of queues, of an experiment's
// variants): their Unicode compatibility normal form (NFKC), so that two
// names a reader cannot tell apart ("e" and an accent, and "é"; "ﬁx" and
// "fix") are one name.
func NameKey(name string) string { return norm.NFKC.String(name) }
