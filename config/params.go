package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Param is one parameter of a run, declared once, in Params: its flag, its
// key in a scenario file, the field of Config it sets, its unit, its valid
// range and its one-line doc. The flags and their -h, Validate, the
// scenario decoder and printer, the run's log fields and the key table of
// docs/scenarios.md all come from Params.
//
// Adding a parameter is one entry in Params (and its field in Config, with
// its default in Default); its test is the table test over Params.
type Param struct {
	Flag    string // the flag's name, without the dash
	Key     string // its key in a scenario file, dotted (cluster.vms); "" for a flag alone
	Section string // its part of -h and of docs/scenarios.md
	Unit    string // what its value counts
	Doc     string
	v       value
}

// value is a Param's view of its field of Config.
type value interface {
	get(c *Config) string          // as a flag and a scenario file spell it
	set(c *Config, s string) error // parsed and checked; the error says what is valid
	check(c *Config) error         // in range? the error says what is valid
	typed(c *Config) any
	want() string // the valid values, for -h and errors
}

// Get is the parameter's value in c, as a flag and a scenario file spell it.
func (p Param) Get(c *Config) string { return p.v.get(c) }

// Set sets the parameter in c from its spelling as a flag or a scenario
// file's value. A value of the wrong form or out of range is a *ParamError.
func (p Param) Set(c *Config, s string) error {
	if err := p.v.set(c, s); err != nil {
		return &ParamError{Param: p.Flag, Value: s, Want: err.Error()}
	}
	return nil
}

// Check reports whether the parameter's value in c is in its range.
func (p Param) Check(c *Config) error {
	if err := p.v.check(c); err != nil {
		return &ParamError{Param: p.Flag, Value: p.v.get(c), Want: err.Error()}
	}
	return nil
}

// Value is the parameter's value in c, typed (int64, float64, bool,
// time.Duration, ...).
func (p Param) Value(c *Config) any { return p.v.typed(c) }

// Want says what values are valid.
func (p Param) Want() string { return p.v.want() }

// IsBool reports whether the parameter is a switch: a flag given alone
// turns it on.
func (p Param) IsBool() bool {
	_, ok := p.v.(boolField)
	return ok
}

// LogKey is the parameter's name in the run's log: its flag in snake_case.
func (p Param) LogKey() string { return strings.ReplaceAll(p.Flag, "-", "_") }

// The sections of Params, in order.
const (
	SectionRun         = "run"
	SectionCluster     = "cluster"
	SectionWorkload    = "workload"
	SectionWorkers     = "workers"
	SectionJanitor     = "janitor"
	SectionAssumptions = "assumptions"
	SectionMitigations = "mitigations"
	SectionAlerts      = "alerts"
	SectionReporting   = "reporting"
)

// Sections lists the sections of Params in order.
var Sections = []string{SectionRun, SectionCluster, SectionWorkload, SectionWorkers, SectionJanitor, SectionAssumptions, SectionMitigations, SectionAlerts, SectionReporting}

// Bounds that several parameters share.
const (
	// MaxDuration bounds every duration a parameter sets, and a run's
	// length: ten years of model time.
	MaxDuration = 10 * 365 * 24 * time.Hour
	// MaxLatency bounds a latency's mean and spread.
	MaxLatency = 1000 * time.Hour
	// MinInterval is the shortest interval a loop of the model may run at
	// (the janitor's pass, a sample, a status line): shorter ones would
	// spin in model time without modelling anything.
	MinInterval = time.Second
	// MaxWorkers bounds each pool.
	MaxWorkers = 100_000
	// MaxCount bounds counts of VMs, jobs and buffers.
	MaxCount = 10_000_000
	// DefaultMaxHeld and MaxHeld are the default and the largest memory
	// budget, in jobs and VMs held at once (a few hundred bytes each: see
	// docs/benchmarks.md).
	DefaultMaxHeld = 5_000_000
	MaxHeld        = 20_000_000
	// MaxRate bounds rates per model second or minute.
	MaxRate = 1e7
)

// Params is the one table of a run's parameters, by section.
var Params = []Param{
	{"duration", "duration", SectionRun, "model time", "model time the run lasts",
		durationV(func(c *Config) *time.Duration { return &c.Duration }, time.Nanosecond, MaxDuration)},
	{"speed", "speed", SectionRun, "model s per wall s", "how fast model time runs: model seconds per wall-clock second, or max for as fast as the machine allows; the results are the same at every speed",
		speedV{}},
	{"seed", "seed", SectionRun, "seed", "random seed; 0 picks one, and the seed in use is printed",
		uintV(func(c *Config) *uint64 { return &c.Seed })},
	{"epoch", "epoch", SectionRun, "RFC 3339", "the calendar time (UTC) of model time zero: logs, charts and checks then use the incident's clock; empty for none",
		timeV(func(c *Config) *time.Time { return &c.Epoch })},
	{"max-held", "max_held", SectionRun, "jobs and VMs", "the memory budget: the most jobs (waiting or in flight) and VMs (on the cluster) the model may hold at once; a run that would hold more stops there, and says so",
		intV(func(c *Config) *int64 { return &c.MaxHeld }, 1000, MaxHeld)},
	{"break-cleanup", "", SectionRun, "", "break the janitor: its vSphere password is rotated and it can no longer log in, as on 2015-07-31 (a timeline event; a scenario writes it in its timeline)",
		boolV(func(c *Config) *bool { return &c.BreakCleanup })},
	{"break-at", "", SectionRun, "model time", "model time at which -break-cleanup breaks the janitor",
		durationV(func(c *Config) *time.Duration { return &c.BreakAt }, 0, MaxDuration)},

	{"vms", "cluster.vms", SectionCluster, "VMs", "what the cluster can hold: a VM counts from power-on until it is destroyed (200 was the 2015 normal peak; on a cloud, the instance quota)",
		intV(func(c *Config) *int64 { return &c.VMs }, 1, MaxCount)},
	{"cpu-vms", "cluster.cpu_vms", SectionCluster, "VMs", "the second ceiling: VMs the CPU reservations let run at once (a finished VM is off); 0 for none",
		intV(func(c *Config) *int64 { return &c.CPUVMs }, 0, MaxCount)},
	{"api-rate", "cluster.api_rate", SectionCluster, "calls per model s", "the cloud API's rate limit: a call over it fails; 0 for none",
		floatV(func(c *Config) *float64 { return &c.APIRate }, 0, MaxRate)},
	{"api-burst", "cluster.api_burst", SectionCluster, "calls", "the calls the cloud API's limit allows at once",
		intV(func(c *Config) *int { return &c.APIBurst }, 0, MaxCount)},
	{"client-api-rate", "cluster.client_api_rate", SectionCluster, "calls per model s", "the clients' self-imposed API limit: a call over it waits; 0 for none",
		floatV(func(c *Config) *float64 { return &c.ClientAPIRate }, 0, MaxRate)},
	{"clone-time", "cluster.clone_time", SectionCluster, "model time", "mean time to clone a VM from the image",
		durationV(func(c *Config) *time.Duration { return &c.Clone.Mean }, 0, MaxLatency)},
	{"clone-spread", "cluster.clone_spread", SectionCluster, "model time", "standard deviation of the clone time",
		durationV(func(c *Config) *time.Duration { return &c.Clone.Spread }, 0, MaxLatency)},
	{"boot-time", "cluster.boot_time", SectionCluster, "model time", "mean time for an admitted VM to power on and boot",
		durationV(func(c *Config) *time.Duration { return &c.PowerOn.Mean }, 0, MaxLatency)},
	{"boot-spread", "cluster.boot_spread", SectionCluster, "model time", "standard deviation of the boot time",
		durationV(func(c *Config) *time.Duration { return &c.PowerOn.Spread }, 0, MaxLatency)},
	{"destroy-time", "cluster.destroy_time", SectionCluster, "model time", "mean time to destroy a VM",
		durationV(func(c *Config) *time.Duration { return &c.Destroy.Mean }, 0, MaxLatency)},
	{"destroy-spread", "cluster.destroy_spread", SectionCluster, "model time", "standard deviation of the destroy time",
		durationV(func(c *Config) *time.Duration { return &c.Destroy.Spread }, 0, MaxLatency)},
	{"reject-time", "cluster.reject_time", SectionCluster, "model time", "how long a refused call (a full cluster, a rate limit) takes to come back; at least 1ms, so that retrying costs model time",
		durationV(func(c *Config) *time.Duration { return &c.RejectTime }, time.Millisecond, MaxLatency)},

	{"arrival-rate", "workload.arrival_rate", SectionWorkload, "jobs per model min", "mean job arrivals (Poisson), at the daily peak when there is a traffic curve",
		floatV(func(c *Config) *float64 { return &c.ArrivalsPerMinute }, 1e-6, MaxRate)},
	{"max-jobs", "workload.max_jobs", SectionWorkload, "jobs", "stop arrivals after this many jobs, and end the run when all are finished; 0 for no limit",
		intV(func(c *Config) *int64 { return &c.MaxJobs }, 0, 1<<40)},
	{"build-time", "workload.build_time", SectionWorkload, "model time", "a build's mean length",
		durationV(func(c *Config) *time.Duration { return &c.Build.Mean }, 0, MaxLatency)},
	{"build-spread", "workload.build_spread", SectionWorkload, "model time", "standard deviation of a build's length",
		durationV(func(c *Config) *time.Duration { return &c.Build.Spread }, 0, MaxLatency)},
	{"build-timeout", "workload.build_timeout", SectionWorkload, "model time", "a build's time limit; 0 for none",
		durationV(func(c *Config) *time.Duration { return &c.BuildTimeout }, 0, MaxLatency)},

	{"build-workers", "workers.build", SectionWorkers, "workers", "Build pool: VMs being cloned and powered on at once",
		intV(func(c *Config) *int { return &c.BuildWorkers }, 1, MaxWorkers)},
	{"run-workers", "workers.run", SectionWorkers, "workers", "Run pool: builds running at once",
		intV(func(c *Config) *int { return &c.RunWorkers }, 1, MaxWorkers)},
	{"queue-size", "workers.queue_size", SectionWorkers, "items", "buffer of each channel between stages; the backlog itself is unbounded",
		intV(func(c *Config) *int { return &c.QueueSize }, 0, MaxCount)},
	{"start-timeout", "workers.start_timeout", SectionWorkers, "model time", "a worker gives up on a VM not booted by then, and requeues the job; 0 for no limit",
		durationV(func(c *Config) *time.Duration { return &c.StartTimeout }, 0, MaxLatency)},
	{"max-attempts", "workers.max_attempts", SectionWorkers, "attempts", "fail a job for good after this many failed VM starts; 0 retries for ever, as in 2015",
		intV(func(c *Config) *int { return &c.MaxAttempts }, 0, 1_000_000)},
	{"worker-deletes-vms", "workers.deletes_vms", SectionWorkers, "", "the worker deletes its VM after the build (GCE); otherwise the janitor does (2015 vSphere)",
		boolV(func(c *Config) *bool { return &c.WorkerDeletesVMs })},
	{"delete-failed-vms", "workers.delete_failed_vms", SectionWorkers, "", "a failed start leaves no VM behind (a cloud's failed insert; a Travis follow-up)",
		boolV(func(c *Config) *bool { return &c.DeleteFailedVMs })},
	{"deletes-lost-vms", "workers.deletes_lost_vms", SectionWorkers, "", "a build lost with its worker (a crash) or given up (a stall) has its VM deleted, by the worker or its supervisor, instead of left on for the janitor",
		boolV(func(c *Config) *bool { return &c.DeletesLostVMs })},
	{"stall-timeout", "workers.stall_timeout", SectionWorkers, "model time", "how long a worker waits on a stalled build before it requeues the job",
		durationV(func(c *Config) *time.Duration { return &c.StallTimeout }, time.Nanosecond, MaxLatency)},

	{"cleanup-every", "janitor.every", SectionJanitor, "model time", "sleep between the janitor's passes (CLEANUP_LOOP_SLEEP)",
		durationV(func(c *Config) *time.Duration { return &c.CleanupEvery }, MinInterval, MaxLatency)},
	{"cleanup-rate", "janitor.rate", SectionJanitor, "VMs per model s", "VMs the janitor hands out for destruction (RATE_PER_SECOND); 0 for no pacing",
		floatV(func(c *Config) *float64 { return &c.CleanupRate }, 0, MaxRate)},
	{"cleanup-cutoff", "janitor.cutoff", SectionJanitor, "model time", "the janitor destroys any booted VM older than this",
		durationV(func(c *Config) *time.Duration { return &c.CleanupCutoff }, time.Nanosecond, MaxDuration)},
	{"cleanup-workers", "janitor.workers", SectionJanitor, "workers", "Cleanup pool: VMs destroyed at once in the aggressive mode",
		intV(func(c *Config) *int { return &c.CleanupWorkers }, 1, MaxWorkers)},
	{"cleanup-concurrency", "janitor.concurrency", SectionJanitor, "workers", "Cleanup workers at work in the janitor's normal mode; 0 for all",
		intV(func(c *Config) *int { return &c.CleanupConcurrency }, 0, MaxWorkers)},
	{"report-stale", "janitor.report_stale", SectionJanitor, "", "the 2015 defect: a failed pass keeps reporting its last count, instead of none",
		boolV(func(c *Config) *bool { return &c.ReportStale })},
	{"report-fresh", "janitor.report_fresh", SectionJanitor, "", "a failed pass still reports the VMs on the cluster, counted with an account of its own that no rotation touches (report_stale is then moot)",
		boolV(func(c *Config) *bool { return &c.ReportFresh })},

	{"never-booted-holds-slot", "assumptions.never_booted_holds_slot", SectionAssumptions, "", "a VM whose power-on failed holds one of the cluster's slots until it is destroyed, as a finished VM does, even above the capacity; false: it holds none",
		boolV(func(c *Config) *bool { return &c.Assumptions.NeverBootedHoldsSlot })},
	{"refused-start-holds-cpu", "assumptions.refused_start_holds_cpu", SectionAssumptions, "", "a power-on that admission control refuses holds CPU, above the ceiling if need be, until its refusal comes back (-reject-time), so failed starts crowd out builds; false: a refusal holds no CPU",
		boolV(func(c *Config) *bool { return &c.Assumptions.RefusedStartHoldsCPU })},
	{"refused-calls-count", "assumptions.refused_calls_count", SectionAssumptions, "", "a call the cloud API refuses still uses up its rate limit (the limit owing at most one burst), so calls made while it is exhausted keep it exhausted; false: a refused call costs the limit nothing",
		boolV(func(c *Config) *bool { return &c.Assumptions.RefusedCallsCount })},

	{"backoff", "mitigations.backoff", SectionMitigations, "", "a failed start waits before the job is offered again: exponential, capped, with full jitter; the job holds no Build worker meanwhile",
		boolV(func(c *Config) *bool { return &c.Mitigations.Backoff })},
	{"backoff-base", "mitigations.backoff_base", SectionMitigations, "model time", "the ceiling of the first backoff wait",
		durationV(func(c *Config) *time.Duration { return &c.Mitigations.BackoffSettings.Base }, time.Millisecond, MaxLatency)},
	{"backoff-cap", "mitigations.backoff_cap", SectionMitigations, "model time", "the largest ceiling of a backoff wait",
		durationV(func(c *Config) *time.Duration { return &c.Mitigations.BackoffSettings.Cap }, time.Millisecond, MaxLatency)},
	{"backoff-multiplier", "mitigations.backoff_multiplier", SectionMitigations, "times", "the growth of the ceiling with each failed start",
		floatV(func(c *Config) *float64 { return &c.Mitigations.BackoffSettings.Multiplier }, 1, 1000)},
	{"retry-budget", "mitigations.retry_budget", SectionMitigations, "", "retry a failed start only while the Build pool's token bucket allows (gRPC's retry throttling); past it the job fails for good",
		boolV(func(c *Config) *bool { return &c.Mitigations.RetryBudget })},
	{"retry-budget-tokens", "mitigations.retry_budget_tokens", SectionMitigations, "tokens", "the bucket's size: a failed start costs a token, and retries stop below half of it",
		floatV(func(c *Config) *float64 { return &c.Mitigations.RetryBudgetSettings.MaxTokens }, 0.001, 1000)},
	{"retry-budget-ratio", "mitigations.retry_budget_ratio", SectionMitigations, "tokens", "tokens a successful start puts back",
		floatV(func(c *Config) *float64 { return &c.Mitigations.RetryBudgetSettings.TokenRatio }, 0.001, 1000)},
	{"breaker", "mitigations.breaker", SectionMitigations, "", "a circuit breaker in front of the VM API: while it is open no Build worker takes a job, and jobs wait in the backlog",
		boolV(func(c *Config) *bool { return &c.Mitigations.Breaker })},
	{"breaker-min-requests", "mitigations.breaker_min_requests", SectionMitigations, "starts", "the breaker opens only with at least this many starts in its window (Travis: 3)",
		intV(func(c *Config) *int { return &c.Mitigations.BreakerSettings.MinRequests }, 1, MaxCount)},
	{"breaker-failure-ratio", "mitigations.breaker_failure_ratio", SectionMitigations, "share", "... of which at least this share failed (Travis: 0.6)",
		floatV(func(c *Config) *float64 { return &c.Mitigations.BreakerSettings.FailureRatio }, 0.001, 1)},
	{"breaker-window", "mitigations.breaker_window", SectionMitigations, "model time", "the span of starts the closed breaker counts; 0 counts since it last closed (gobreaker's Interval 0, as Travis ran it)",
		durationV(func(c *Config) *time.Duration { return &c.Mitigations.BreakerSettings.Window }, 0, MaxLatency)},
	{"breaker-open-timeout", "mitigations.breaker_open_timeout", SectionMitigations, "model time", "how long the breaker stays open before it lets probes through",
		durationV(func(c *Config) *time.Duration { return &c.Mitigations.BreakerSettings.OpenTimeout }, time.Millisecond, MaxLatency)},
	{"breaker-probes", "mitigations.breaker_probes", SectionMitigations, "starts", "starts the half-open breaker lets through: that many successes close it, one failure opens it",
		intV(func(c *Config) *int { return &c.Mitigations.BreakerSettings.Probes }, 1, MaxCount)},
	{"reaper", "mitigations.reaper", SectionMitigations, "", "the janitor also destroys a never-booted VM older than -reaper-ttl, instead of skipping it for ever",
		boolV(func(c *Config) *bool { return &c.Mitigations.Reaper })},
	{"reaper-ttl", "mitigations.reaper_ttl", SectionMitigations, "model time", "the age past which the reaper destroys a never-booted VM (keep it above the start timeout)",
		durationV(func(c *Config) *time.Duration { return &c.Mitigations.ReaperTTL }, time.Millisecond, MaxLatency)},
	{"capacity-aware", "mitigations.capacity_aware", SectionMitigations, "", "the scheduler hands a job to Build only while the cluster has room for one more start: a full cluster is a queue, not a requeue loop",
		boolV(func(c *Config) *bool { return &c.Mitigations.CapacityAware })},
	{"shed", "mitigations.shed", SectionMitigations, "", "drop a job from the backlog once it has waited longer than -shed-after, as a user cancels a stuck build",
		boolV(func(c *Config) *bool { return &c.Mitigations.Shed })},
	{"shed-after", "mitigations.shed_after", SectionMitigations, "model time", "how long a job may wait for a VM before it is shed",
		durationV(func(c *Config) *time.Duration { return &c.Mitigations.ShedAfter }, time.Millisecond, MaxDuration)},

	{"alert-vm-count-min", "alerts.vm_count_min", SectionAlerts, "VMs", "fire when the reported VM count is below this; 0 for no rule",
		intV(func(c *Config) *int64 { return &c.Alerts.VMCountMin }, 0, MaxCount)},
	{"alert-vm-count-max", "alerts.vm_count_max", SectionAlerts, "VMs", "fire when the reported VM count is above this; 0 for no rule",
		intV(func(c *Config) *int64 { return &c.Alerts.VMCountMax }, 0, MaxCount)},
	{"alert-requeue-rate-max", "alerts.requeue_rate_max", SectionAlerts, "requeues per model min", "fire when requeues over the window outrun this; 0 for no rule",
		floatV(func(c *Config) *float64 { return &c.Alerts.RequeueRateMax }, 0, MaxRate)},
	{"alert-backlog-age-max", "alerts.backlog_age_max", SectionAlerts, "model time", "fire when a job has waited longer than this for a VM; 0 for no rule",
		durationV(func(c *Config) *time.Duration { return &c.Alerts.BacklogAgeMax }, 0, MaxDuration)},
	{"alert-janitor-age-max", "alerts.janitor_age_max", SectionAlerts, "model time", "fire when the janitor's last successful pass is older than this (honest monitoring); 0 for no rule",
		durationV(func(c *Config) *time.Duration { return &c.Alerts.JanitorAgeMax }, 0, MaxDuration)},
	{"alert-for", "alerts.for", SectionAlerts, "model time", "a rule fires once its condition has held this long (Prometheus's for:)",
		durationV(func(c *Config) *time.Duration { return &c.Alerts.For }, 0, MaxDuration)},
	{"alert-keep-firing-for", "alerts.keep_firing_for", SectionAlerts, "model time", "a firing rule resolves once its condition has been false this long (Prometheus's keep_firing_for:)",
		durationV(func(c *Config) *time.Duration { return &c.Alerts.KeepFiringFor }, 0, MaxDuration)},

	{"window", "reporting.window", SectionReporting, "model time", "the span every rate is measured over: alerts, phases, the storm, the status line, the live view",
		durationV(func(c *Config) *time.Duration { return &c.Window }, MinInterval, 24*time.Hour)},
	{"status-every", "reporting.status_every", SectionReporting, "model time", "model time between status lines: at least -sample-every, as a line reports a sample",
		durationV(func(c *Config) *time.Duration { return &c.StatusEvery }, MinInterval, MaxDuration)},
	{"sample-every", "reporting.sample_every", SectionReporting, "model time", "model time between samples of the model's state",
		durationV(func(c *Config) *time.Duration { return &c.SampleEvery }, MinInterval, 24*time.Hour)},
	{"drained", "reporting.drained", SectionReporting, "model time", "the longest wait for a VM that counts as a normal backlog: phases and jobs delayed are judged by it",
		durationV(func(c *Config) *time.Duration { return &c.Drained }, time.Nanosecond, MaxDuration)},
}

// Lookup returns the parameter with that flag.
func Lookup(flag string) (Param, bool) {
	for _, p := range Params {
		if p.Flag == flag {
			return p, true
		}
	}
	return Param{}, false
}

// LookupKey returns the parameter with that key in a scenario file.
func LookupKey(key string) (Param, bool) {
	for _, p := range Params {
		if p.Key != "" && p.Key == key {
			return p, true
		}
	}
	return Param{}, false
}

type integer interface{ ~int | ~int64 }

type intField[T integer] struct {
	f        func(*Config) *T
	min, max T
}

func intV[T integer](f func(*Config) *T, min, max T) value { return intField[T]{f, min, max} }

func (v intField[T]) get(c *Config) string { return strconv.FormatInt(int64(*v.f(c)), 10) }
func (v intField[T]) typed(c *Config) any  { return int64(*v.f(c)) }
func (v intField[T]) want() string         { return fmt.Sprintf("an integer from %d to %d", v.min, v.max) }

func (v intField[T]) set(c *Config, s string) error {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || T(n) < v.min || T(n) > v.max {
		return fmt.Errorf("%s", v.want())
	}
	*v.f(c) = T(n)
	return nil
}

func (v intField[T]) check(c *Config) error {
	if n := *v.f(c); n < v.min || n > v.max {
		return fmt.Errorf("%s", v.want())
	}
	return nil
}

type uintField struct{ f func(*Config) *uint64 }

func uintV(f func(*Config) *uint64) value { return uintField{f} }

func (v uintField) get(c *Config) string  { return strconv.FormatUint(*v.f(c), 10) }
func (v uintField) typed(c *Config) any   { return *v.f(c) }
func (v uintField) want() string          { return "a whole number from 0 to 18446744073709551615" }
func (v uintField) check(c *Config) error { return nil }

func (v uintField) set(c *Config, s string) error {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return fmt.Errorf("%s", v.want())
	}
	*v.f(c) = n
	return nil
}

type floatField struct {
	f        func(*Config) *float64
	min, max float64
}

func floatV(f func(*Config) *float64, min, max float64) value { return floatField{f, min, max} }

func (v floatField) get(c *Config) string { return strconv.FormatFloat(*v.f(c), 'g', -1, 64) }
func (v floatField) typed(c *Config) any  { return *v.f(c) }
func (v floatField) want() string         { return fmt.Sprintf("a number from %g to %g", v.min, v.max) }

func (v floatField) set(c *Config, s string) error {
	x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || !(x >= v.min && x <= v.max) { // the negated form rejects NaN too
		return fmt.Errorf("%s", v.want())
	}
	*v.f(c) = x
	return nil
}

func (v floatField) check(c *Config) error {
	if x := *v.f(c); !(x >= v.min && x <= v.max) {
		return fmt.Errorf("%s", v.want())
	}
	return nil
}

type durationField struct {
	f        func(*Config) *time.Duration
	min, max time.Duration
}

func durationV(f func(*Config) *time.Duration, min, max time.Duration) value {
	return durationField{f, min, max}
}

func (v durationField) get(c *Config) string { return v.f(c).String() }
func (v durationField) typed(c *Config) any  { return *v.f(c) }
func (v durationField) want() string {
	max := v.max.String()
	if v.max%time.Hour == 0 {
		max = fmt.Sprintf("%dh", v.max/time.Hour)
	}
	switch v.min {
	case 0:
		return fmt.Sprintf("a duration from 0s to %s (e.g. 90s, 10m, 4h)", max)
	case time.Nanosecond:
		return fmt.Sprintf("a duration above 0, at most %s (e.g. 90s, 10m, 4h)", max)
	}
	return fmt.Sprintf("a duration from %v to %s (e.g. 90s, 10m, 4h)", v.min, max)
}

func (v durationField) set(c *Config, s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil || d < v.min || d > v.max {
		return fmt.Errorf("%s", v.want())
	}
	*v.f(c) = d
	return nil
}

func (v durationField) check(c *Config) error {
	if d := *v.f(c); d < v.min || d > v.max {
		return fmt.Errorf("%s", v.want())
	}
	return nil
}

type boolField struct{ f func(*Config) *bool }

func boolV(f func(*Config) *bool) value { return boolField{f} }

func (v boolField) get(c *Config) string  { return strconv.FormatBool(*v.f(c)) }
func (v boolField) typed(c *Config) any   { return *v.f(c) }
func (v boolField) want() string          { return "true or false" }
func (v boolField) check(c *Config) error { return nil }

func (v boolField) set(c *Config, s string) error {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true":
		*v.f(c) = true
	case "false":
		*v.f(c) = false
	default:
		return fmt.Errorf("%s", v.want()) // as it says: not 1, t or yes
	}
	return nil
}

type timeField struct{ f func(*Config) *time.Time }

func timeV(f func(*Config) *time.Time) value { return timeField{f} }

func (v timeField) get(c *Config) string {
	if t := *v.f(c); !t.IsZero() {
		return t.UTC().Format(time.RFC3339)
	}
	return ""
}
func (v timeField) typed(c *Config) any { return v.get(c) }
func (v timeField) want() string {
	return "an RFC 3339 time such as 2015-07-31T00:00:00Z, or empty for none"
}
func (v timeField) check(c *Config) error { return nil }

func (v timeField) set(c *Config, s string) error {
	if s = strings.TrimSpace(s); s == "" {
		*v.f(c) = time.Time{}
		return nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return fmt.Errorf("%s", v.want())
	}
	*v.f(c) = t.UTC()
	return nil
}

type speedV struct{}

func (speedV) get(c *Config) string { return c.Speed.String() }
func (speedV) typed(c *Config) any {
	if c.Speed == MaxSpeed {
		return "max"
	}
	return float64(c.Speed)
}
func (speedV) want() string { return errSpeed.Error()[len("want "):] }
func (speedV) check(c *Config) error {
	if err := c.Speed.check(); err != nil {
		return fmt.Errorf("%s", speedV{}.want())
	}
	return nil
}

func (speedV) set(c *Config, s string) error {
	if err := c.Speed.Set(s); err != nil {
		return fmt.Errorf("%s", speedV{}.want())
	}
	return nil
}
