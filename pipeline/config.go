package pipeline

import (
	"fmt"
	"time"

	"vmstorm/internal/dist"
)

// Config is everything a run needs. Parameter names in errors are the
// command-line flag names, so that a person can mend the flag they gave.
type Config struct {
	VMs int64 // cluster capacity: VMs it can hold powered on at once

	BreakCleanup bool          // the janitor's password is rotated ...
	BreakAt      time.Duration // ... at this model time

	Duration time.Duration // model time the run lasts
	Speed    float64       // model seconds per wall second
	Seed     uint64
	Epoch    time.Time // calendar time of model time zero; zero for none

	ArrivalsPerMinute float64 // mean job arrival rate, per model minute
	MaxJobs           int64   // stop arrivals after this many jobs; 0 for no limit

	BuildWorkers, RunWorkers, CleanupWorkers int
	QueueSize                                int // buffer of each channel between stages

	Clone, PowerOn, Destroy, Build dist.Latency
	StartTimeout                   time.Duration
	BuildTimeout                   time.Duration
	MaxAttempts                    int

	CleanupEvery  time.Duration
	CleanupRate   float64 // VMs per model second
	CleanupCutoff time.Duration

	StatusEvery time.Duration // status line interval, model time
	SampleEvery time.Duration // time-series sampling interval, model time
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
		BuildTimeout:      50 * time.Minute,
		CleanupEvery:      time.Minute,
		CleanupRate:       5,
		CleanupCutoff:     2 * time.Hour,
		StatusEvery:       2 * time.Minute,
		SampleEvery:       10 * time.Second,
	}
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
		{"speed", c.Speed, 1e-3, 1e7, "model seconds per wall second, from 0.001 to 10000000 (e.g. 60)"},
		{"arrival-rate", c.ArrivalsPerMinute, 1e-6, 1e7, "jobs per model minute, above 0 (e.g. 12)"},
		{"cleanup-rate", c.CleanupRate, 0, 1e7, "VMs per model second, 0 (no limit) or more (e.g. 5)"},
	}
	for _, p := range floats {
		// The negated form also rejects NaN.
		if !(p.v >= p.min && p.v <= p.max) {
			return &ParamError{p.name, fmt.Sprint(p.v), p.want}
		}
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
		{"build-timeout", c.BuildTimeout, 0},
		{"cleanup-every", c.CleanupEvery, time.Nanosecond},
		{"cleanup-cutoff", c.CleanupCutoff, time.Nanosecond},
		{"status-every", c.StatusEvery, time.Nanosecond},
		{"sample-every", c.SampleEvery, time.Nanosecond},
	}
	for _, p := range durations {
		if p.v < p.min {
			want := "a duration of 0 or more (e.g. 30s)"
			if p.min > 0 {
				want = "a duration above 0 (e.g. 1m)"
			}
			return &ParamError{p.name, p.v.String(), want}
		}
	}
	if c.BreakAt > c.Duration {
		return &ParamError{"break-at", c.BreakAt.String(), fmt.Sprintf("a model time within the run's -duration %v", c.Duration)}
	}
	return nil
}
