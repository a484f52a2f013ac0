package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"

	"vmstorm/cluster"
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
	Seed     uint64
	Epoch    time.Time // calendar time of model time zero; zero for none

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
	// StallTimeout is how long a worker waits on a stalled build before it
	// gives up and requeues the job.
	StallTimeout time.Duration
	// ReportStale is the 2015 reporting defect: a janitor pass that fails
	// leaves the reported VM count at its last value instead of zero.
	ReportStale bool
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

// MaxSpeed runs a model unpaced (sim.Max).
const MaxSpeed Speed = sim.Max

// The paced speeds there are, in model seconds per wall second.
const (
	minSpeed = 1e-3
	maxSpeed = 1e7
)

func (s Speed) String() string {
	if s == MaxSpeed {
		return "max"
	}
	return strconv.FormatFloat(float64(s), 'g', -1, 64)
}

// Set reads "max" or a number, for the flag package.
func (s *Speed) Set(v string) error {
	if strings.TrimSpace(v) == "max" {
		*s = MaxSpeed
		return nil
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || f == 0 {
		return errSpeed
	}
	*s = Speed(f)
	return s.check()
}

// Get is the value, for the flag package.
func (s *Speed) Get() any { return *s }

var errSpeed = fmt.Errorf("want max, or model seconds per wall second from %g to %g (e.g. 120)", minSpeed, maxSpeed)

func (s Speed) check() error {
	if s == MaxSpeed || (s >= minSpeed && s <= maxSpeed) {
		return nil
	}
	return errSpeed
}

// MarshalYAML writes "max" or the number.
func (s Speed) MarshalYAML() (any, error) {
	if s == MaxSpeed {
		return "max", nil
	}
	return float64(s), nil
}

// UnmarshalYAML reads "max" or a number; a mistake names its place.
func (s *Speed) UnmarshalYAML(node ast.Node) error {
	v := strings.Trim(strings.TrimSpace(node.String()), `"'`)
	if err := s.Set(v); err != nil {
		return &yaml.SyntaxError{Message: fmt.Sprintf("speed %s: %v", v, err), Token: node.GetToken()}
	}
	return nil
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
}

// Burst multiplies the rate by Factor for For from At.
type Burst struct {
	At, For time.Duration
	Factor  float64
}

// Factor is the traffic factor at model time t.
func (tr *Traffic) Factor(epoch time.Time, t time.Duration) float64 {
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
	m := max(1, tr.Weekend)
	for _, b := range tr.Bursts {
		m *= max(b.Factor, 1)
	}
	return m
}

// Alerts are the rules monitoring evaluates on what it sees, each off when
// zero.
type Alerts struct {
	// VMCountMin and VMCountMax bound the VM count the janitor reports.
	VMCountMin, VMCountMax int64
	// RequeueRateMax is requeues per model minute, over Window.
	RequeueRateMax float64
	// BacklogAgeMax is the longest a job may wait for a VM.
	BacklogAgeMax time.Duration
	// Window is the span rates are measured over (default StatusEvery).
	Window time.Duration
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
		Queues:            []Queue{{Name: "com", Share: 1}, {Name: "org", Share: 1}},
		StallTimeout:      10 * time.Minute,
		ReportStale:       true,
		Drained:           10 * time.Minute,
		// Normal is no requeues and waits of a minute or two.
		Alerts: Alerts{RequeueRateMax: 30, BacklogAgeMax: 30 * time.Minute},
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

// Validate checks every parameter and returns the first that is wrong.
func (c Config) Validate() error {
	ints := []struct {
		name     string
		v        int64
		min, max int64
	}{
		{"vms", c.VMs, 1, 10_000_000},
		{"build-workers", int64(c.BuildWorkers), 1, 100_000},
		{"run-workers", int64(c.RunWorkers), 1, 100_000},
		{"cleanup-workers", int64(c.CleanupWorkers), 1, 100_000},
		{"cleanup-concurrency", int64(c.CleanupConcurrency), 0, 100_000},
		{"queue-size", int64(c.QueueSize), 0, 10_000_000},
		{"max-attempts", int64(c.MaxAttempts), 0, 1_000_000},
		{"max-jobs", c.MaxJobs, 0, 1 << 40},
	}
	for _, p := range ints {
		if p.v < p.min || p.v > p.max {
			return &ParamError{p.name, fmt.Sprint(p.v), fmt.Sprintf("an integer from %d to %d", p.min, p.max)}
		}
	}
	floats := []struct {
		name     string
		v        float64
		min, max float64
		want     string
	}{
		{"arrival-rate", c.ArrivalsPerMinute, 1e-6, 1e7, "jobs per model minute, above 0 (e.g. 12)"},
		{"cleanup-rate", c.CleanupRate, 0, 1e7, "VMs per model second, 0 (no limit) or more (e.g. 5)"},
	}
	for _, p := range floats {
		// The negated form also rejects NaN.
		if !(p.v >= p.min && p.v <= p.max) {
			return &ParamError{p.name, fmt.Sprint(p.v), p.want}
		}
	}
	if err := c.Speed.check(); err != nil {
		return &ParamError{"speed", c.Speed.String(), err.Error()}
	}
	durations := []struct {
		name string
		v    time.Duration
		min  time.Duration
	}{
		{"duration", c.Duration, time.Nanosecond},
		{"break-at", c.BreakAt, 0},
		{"clone-time", c.Clone.Mean, 0},
		{"clone-spread", c.Clone.Spread, 0},
		{"boot-time", c.PowerOn.Mean, 0},
		{"boot-spread", c.PowerOn.Spread, 0},
		{"destroy-time", c.Destroy.Mean, 0},
		{"destroy-spread", c.Destroy.Spread, 0},
		{"build-time", c.Build.Mean, 0},
		{"build-spread", c.Build.Spread, 0},
		{"start-timeout", c.StartTimeout, 0},
		{"reject-time", c.RejectTime, cluster.MinCallTime},
		{"build-timeout", c.BuildTimeout, 0},
		{"cleanup-every", c.CleanupEvery, time.Nanosecond},
		{"cleanup-cutoff", c.CleanupCutoff, time.Nanosecond},
		{"status-every", c.StatusEvery, time.Nanosecond},
		{"sample-every", c.SampleEvery, time.Nanosecond},
	}
	for _, p := range durations {
		if p.v < p.min {
			want := "a duration of 0 or more (e.g. 30s)"
			switch {
			case p.min > time.Nanosecond:
				want = fmt.Sprintf("a duration of at least %v (e.g. 10s)", p.min)
			case p.min > 0:
				want = "a duration above 0 (e.g. 1m)"
			}
			return &ParamError{p.name, p.v.String(), want}
		}
	}
	if c.BreakAt > c.Duration {
		return &ParamError{"break-at", c.BreakAt.String(), fmt.Sprintf("a model time within the run's -duration %v", c.Duration)}
	}
	more := []struct {
		name string
		bad  bool
		v    any
		want string
	}{
		{"cpu-vms", c.CPUVMs < 0, c.CPUVMs, "0 (no CPU ceiling) or more VMs"},
		{"api-rate", !(c.APIRate >= 0), c.APIRate, "0 (no limit) or more calls per model second"},
		{"api-burst", c.APIBurst < 0, c.APIBurst, "0 or more calls"},
		{"client-api-rate", !(c.ClientAPIRate >= 0), c.ClientAPIRate, "0 (no limit) or more calls per model second"},
		{"stall-timeout", c.StallTimeout <= 0, c.StallTimeout, "a duration above 0 (e.g. 10m)"},
		{"drained", c.Drained <= 0, c.Drained, "a duration above 0 (e.g. 10m)"},
		{"queues", len(c.Queues) == 0, len(c.Queues), "at least one queue"},
	}
	for _, m := range more {
		if m.bad {
			return &ParamError{m.name, fmt.Sprint(m.v), m.want}
		}
	}
	seen := map[string]bool{}
	for _, q := range c.Queues {
		switch {
		case q.Name == "" || q.Name == "all" || seen[q.Name]:
			return &ParamError{"queues", fmt.Sprintf("%q", q.Name), "distinct queue names, none empty or \"all\""}
		case !(q.Share > 0):
			return &ParamError{"queues", fmt.Sprintf("share %v of %s", q.Share, q.Name), "a share above 0"}
		case q.MaxBuilds < 0:
			return &ParamError{"queues", fmt.Sprintf("max_builds %d of %s", q.MaxBuilds, q.Name), "0 (no limit) or more builds"}
		}
		seen[q.Name] = true
	}
	if tr := c.Traffic; tr != nil {
		switch {
		case !(tr.Night > 0 && tr.Night <= 1):
			return &ParamError{"traffic", fmt.Sprintf("night %v", tr.Night), "a night factor above 0 and at most 1"}
		case !(tr.Weekend > 0):
			return &ParamError{"traffic", fmt.Sprintf("weekend %v", tr.Weekend), "a weekend factor above 0"}
		case !(tr.PeakHour >= 0 && tr.PeakHour < 24):
			return &ParamError{"traffic", fmt.Sprintf("peak_hour %v", tr.PeakHour), "an hour from 0 to 24"}
		}
		for _, b := range tr.Bursts {
			if !(b.Factor > 0) || b.For <= 0 || b.At < 0 {
				return &ParamError{"traffic", fmt.Sprintf("burst at %v", b.At), "a burst with at >= 0, a length above 0 and a factor above 0"}
			}
		}
	}
	a := c.Alerts
	if a.VMCountMin < 0 || a.VMCountMax < 0 || (a.VMCountMax > 0 && a.VMCountMin > a.VMCountMax) || !(a.RequeueRateMax >= 0) || a.BacklogAgeMax < 0 || a.Window < 0 {
		return &ParamError{"alerts", fmt.Sprintf("%+v", a), "non-negative thresholds, with vm_count_min at most vm_count_max"}
	}
	for _, ev := range c.FullTimeline() {
		if err := ev.Validate(c.QueueNames()); err != nil {
			return &ParamError{"timeline", fmt.Sprintf("%s at %v", ev.Action, ev.At), err.Error()}
		}
		if ev.At < 0 || ev.At > c.Duration {
			return &ParamError{"timeline", fmt.Sprintf("%s at %v", ev.Action, ev.At), fmt.Sprintf("a model time within the run's duration %v", c.Duration)}
		}
	}
	return nil
}
