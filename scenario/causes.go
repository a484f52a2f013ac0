package scenario

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"vmstorm/config"
	"vmstorm/incident"
)

// Cause is a mechanism of an incident that a faithfulness check depends
// on, with its ablations: independent ways to derive the same scenario with
// that mechanism, and nothing else, taken out. A check names its causes;
// the scenario tests replay every ablation of each and require the check to
// fail under every one, so that a check that holds when its mechanism is
// removed another way (it restates the inputs) is found.
type Cause struct {
	Name string
	// Doc says in one line what the mechanism is.
	Doc string
	// Ablations are the ways to take it out, at least two, each by another
	// part of the model; the first is Without's and Ablate's.
	Ablations []Ablation
}

// Ablation is one way to take a cause out of a configuration.
type Ablation struct {
	Name string
	// Doc says in one line what it changes.
	Doc    string
	remove func(*config.Config)
}

// Causes is the catalogue of causes, in the order a person reads them.
var Causes = []Cause{
	{"janitor_broken", "the janitor's password is rotated and it cannot log in, so it cleans nothing", []Ablation{
		{"no_rotation", "no rotate_cleanup_password event", func(c *config.Config) {
			c.Timeline = DropActions(c.Timeline, "rotate_cleanup_password")
			c.BreakCleanup = false
		}},
		{"configuration_follows_the_rotation", "the password rotated, the janitor's configuration fixed and the janitor restarted at once, at each rotation", func(c *config.Config) {
			c.Timeline = c.FullTimeline()
			c.BreakCleanup = false
			for i := 0; i < len(c.Timeline); i++ {
				ev := c.Timeline[i]
				if ev.Action != "rotate_cleanup_password" {
					continue
				}
				fix := incident.Event{At: ev.At, AfterDetection: ev.AfterDetection, Action: "fix_cleanup_credentials"}
				restart := fix
				restart.Action = "restart_janitor"
				if next := c.Timeline[i+1:]; len(next) >= 2 && reflect.DeepEqual(next[:2], incident.Timeline{fix, restart}) {
					continue // followed already
				}
				c.Timeline = slices.Insert(c.Timeline, i+1, fix, restart)
			}
		}},
	}},
	{"stale_report", "a failed janitor pass keeps reporting its last VM count to monitoring", []Ablation{
		{"report_zero", "report_stale false: a failed pass reports 0", func(c *config.Config) { c.ReportStale = false }},
		{"report_fresh", "report_fresh true: a failed pass reports the VMs on the cluster, counted with an account of its own", func(c *config.Config) { c.ReportFresh = true }},
	}},
	{"requeue_loop", "a job whose VM fails to start goes back to the queue and a Build worker tries it again while the cluster is still full", []Ablation{
		{"no_retry", "max_attempts 1: a failed start fails the job for good", func(c *config.Config) { c.MaxAttempts = 1 }},
		{"capacity_aware", "capacity_aware true: the scheduler hands out no job while the cluster has no room, so the full cluster is a queue", func(c *config.Config) { c.Mitigations.CapacityAware = true }},
		{"retry_budget", "retry_budget true: retries stop once failed starts have spent the Build pool's token bucket", func(c *config.Config) { c.Mitigations.RetryBudget = true }},
	}},
	{"failed_vms_left_behind", "the VM of a failed start stays on the cluster, never booted, and the janitor skips it for ever", []Ablation{
		{"delete_failed_vms", "delete_failed_vms true: a failed start leaves no VM", func(c *config.Config) { c.DeleteFailedVMs = true }},
		{"reaper", "reaper true: the janitor destroys a never-booted VM once it is older than reaper_ttl", func(c *config.Config) { c.Mitigations.Reaper = true }},
	}},
	{"slow_cleanup", "the fixed janitor destroys VMs slowly, a few at once and each slowly, so a large leak takes hours", []Ablation{
		{"all_workers", "janitor concurrency 0: all its workers at once", func(c *config.Config) { c.CleanupConcurrency = 0 }},
		{"fast_destroy", "destroy_time and destroy_spread at their defaults (10s, 3s) if longer", func(c *config.Config) {
			d := config.Default().Destroy
			c.Destroy.Mean, c.Destroy.Spread = min(c.Destroy.Mean, d.Mean), min(c.Destroy.Spread, d.Spread)
		}},
	}},
	{"aggressive_cleanup", "operators switch the janitor to its aggressive mode, which sets all its workers to delete every VM", []Ablation{
		{"no_aggressive_mode", "no aggressive_cleanup or normal_cleanup event", func(c *config.Config) {
			c.Timeline = DropActions(c.Timeline, "aggressive_cleanup", "normal_cleanup")
		}},
		{"no_extra_workers", "the janitor's workers no more than its normal concurrency: the mode deletes every VM, at the normal pace", func(c *config.Config) {
			if c.CleanupConcurrency > 0 {
				c.CleanupWorkers = min(c.CleanupWorkers, c.CleanupConcurrency)
			}
		}},
	}},
	{"cpu_ceiling", "the CPU reservations admit fewer running VMs than the cluster holds, so power-on fails there", []Ablation{
		{"no_ceiling", "cpu_vms 0 and no set_cpu_capacity event", func(c *config.Config) {
			c.CPUVMs = 0
			c.Timeline = DropActions(c.Timeline, "set_cpu_capacity")
		}},
		{"ceiling_above_every_build", "cpu_vms, and every set_cpu_capacity to a ceiling, at least the most builds that can run at once (the queues' limits, or the Run pool)", func(c *config.Config) {
			most := mostBuilds(*c)
			if c.CPUVMs > 0 {
				c.CPUVMs = max(c.CPUVMs, most)
			}
			for i, ev := range c.Timeline {
				if ev.Action == "set_cpu_capacity" && ev.Args.VMs != nil && *ev.Args.VMs > 0 && *ev.Args.VMs < most {
					c.Timeline[i].Args.VMs = &most
				}
			}
		}},
	}},
	{"reduced_rate", "operators lower the queues' limits of concurrent builds", []Ablation{
		{"no_reduction", "no set_max_builds event", func(c *config.Config) { c.Timeline = DropActions(c.Timeline, "set_max_builds") }},
		{"limits_kept", "every set_max_builds sets the limits the queues began with", func(c *config.Config) {
			for i, ev := range c.Timeline {
				if ev.Action == "set_max_builds" {
					c.Timeline[i].Args.MaxBuilds = ptr(configuredLimit(*c, ev.Args.Queue))
				}
			}
		}},
	}},
	{"worker_crashes", "Run workers crash, orphaning their builds' VMs and requeueing the jobs", []Ablation{
		{"no_crash", "no crash_workers event", func(c *config.Config) { c.Timeline = DropActions(c.Timeline, "crash_workers") }},
		{"crashes_take_no_worker", "every crash_workers takes a fraction of 0", func(c *config.Config) { setFraction(c, "crash_workers", 0) }},
	}},
	{"stalled_vms", "booted VMs stall: their builds are given up and requeued, the VMs left behind", []Ablation{
		{"no_stall", "no set_stall_chance event", func(c *config.Config) { c.Timeline = DropActions(c.Timeline, "set_stall_chance") }},
		{"stall_chance_zero", "every set_stall_chance sets a chance of 0", func(c *config.Config) { setFraction(c, "set_stall_chance", 0) }},
	}},
	{"late_cleanup", "an abandoned VM stays on until the janitor's cutoff, hours later", []Ablation{
		{"shortest_cutoff", "the janitor's cutoff at start_timeout + build_timeout + every, the shortest that spares every running build", func(c *config.Config) {
			if spare := c.StartTimeout + c.BuildTimeout + c.CleanupEvery; c.CleanupCutoff > spare {
				c.CleanupCutoff = spare
			}
		}},
		{"lost_vms_deleted", "deletes_lost_vms true: the VM of a lost or stalled build is deleted, not left for the janitor", func(c *config.Config) { c.DeletesLostVMs = true }},
	}},
	{"api_rate_limit", "the cloud API refuses calls over its rate limit, shared by creation and cleanup", []Ablation{
		{"no_limit", "api_rate 0", func(c *config.Config) { c.APIRate, c.APIBurst = 0, 0 }},
		{"limit_never_reached", "api_rate and api_burst at 100,000: far above any demand", func(c *config.Config) {
			if c.APIRate > 0 {
				c.APIRate, c.APIBurst = max(c.APIRate, 1e5), max(c.APIBurst, 100_000)
			}
		}},
	}},
	{"lowered_api_limit", "operators lower the clients' own API limit below the cloud's, so calls wait rather than fail", []Ablation{
		{"no_lowering", "no set_api_rate_limit event", func(c *config.Config) { c.Timeline = DropActions(c.Timeline, "set_api_rate_limit") }},
		{"lowered_above_the_cloud", "every set_api_rate_limit lowers to twice the cloud's limit, no lower: calls still fail rather than wait", func(c *config.Config) {
			for i, ev := range c.Timeline {
				if ev.Action == "set_api_rate_limit" && c.APIRate > 0 && ev.Args.Rate != nil && *ev.Args.Rate < 2*c.APIRate {
					c.Timeline[i].Args.Rate = ptr(2 * c.APIRate)
				}
			}
		}},
	}},
}

// LookupCause returns the cause of that name.
func LookupCause(name string) (Cause, bool) {
	for _, c := range Causes {
		if c.Name == name {
			return c, true
		}
	}
	return Cause{}, false
}

func causeNames() string {
	names := make([]string, len(Causes))
	for i, c := range Causes {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

// Without derives the configuration with the cause taken out by its first
// ablation. It changes nothing if the configuration does not have the
// cause.
func (c Cause) Without(cfg config.Config) config.Config { return c.Ablations[0].Without(cfg) }

// Without derives the configuration with the ablation's change.
func (a Ablation) Without(cfg config.Config) config.Config {
	out := cloneConfig(cfg)
	a.remove(&out)
	return out
}

// Changes reports whether the ablation changes the configuration.
func (a Ablation) Changes(cfg config.Config) bool { return !reflect.DeepEqual(cfg, a.Without(cfg)) }

// In reports whether the configuration has the cause: whether taking it
// out changes anything.
func (c Cause) In(cfg config.Config) bool {
	return !reflect.DeepEqual(cfg, c.Without(cfg))
}

// Ablate derives the scenario with the named cause taken out by its first
// ablation: the same file, checks and everything else. It fails if there is
// no such cause, or if the scenario does not have it.
func (s *Scenario) Ablate(cause string) (*Scenario, error) {
	c, ok := LookupCause(cause)
	if !ok {
		return nil, fmt.Errorf("no cause %q; the causes are %s", cause, causeNames())
	}
	return s.AblateBy(cause, c.Ablations[0].Name)
}

// AblateBy derives the scenario with the named cause taken out by the named
// one of its ablations. It fails if there is no such cause or ablation, if
// the scenario does not have the cause, or if the ablation changes nothing
// in it.
func (s *Scenario) AblateBy(cause, ablation string) (*Scenario, error) {
	c, ok := LookupCause(cause)
	if !ok {
		return nil, fmt.Errorf("no cause %q; the causes are %s", cause, causeNames())
	}
	i := slices.IndexFunc(c.Ablations, func(a Ablation) bool { return a.Name == ablation })
	if i < 0 {
		return nil, fmt.Errorf("cause %s has no ablation %q", cause, ablation)
	}
	if !c.In(s.Config) {
		return nil, fmt.Errorf("%s is not in scenario %s: removing it changes nothing", cause, s.Config.Name)
	}
	a := c.Ablations[i]
	if !a.Changes(s.Config) {
		return nil, fmt.Errorf("%s's ablation %s changes nothing in scenario %s", cause, a.Name, s.Config.Name)
	}
	out := *s
	out.Config = a.Without(s.Config)
	return &out, nil
}

// CauseNames lists, once each and in catalogue order, the causes the
// scenario's checks name.
func (s *Scenario) CauseNames() []string {
	var out []string
	for _, c := range Causes {
		for _, ch := range s.Checks {
			if slices.Contains(ch.Causes, c.Name) {
				out = append(out, c.Name)
				break
			}
		}
	}
	return out
}

// setFraction sets the fraction of every event of the action.
func setFraction(c *config.Config, action string, f float64) {
	for i, ev := range c.Timeline {
		if ev.Action == action {
			c.Timeline[i].Args.Fraction = ptr(f)
		}
	}
}

// mostBuilds is the most builds that can run at once: the sum of the
// queues' limits if each has one, and never more than the Run pool.
func mostBuilds(c config.Config) int64 {
	var sum int64
	for _, q := range c.Queues {
		if q.MaxBuilds == 0 {
			return int64(c.RunWorkers)
		}
		sum += q.MaxBuilds
	}
	return min(sum, int64(c.RunWorkers))
}

// configuredLimit is the limit of concurrent builds queue (a name, or all)
// began with; for all, the largest of them (0, no limit, if one has none).
func configuredLimit(c config.Config, queue string) int64 {
	var limit int64
	for _, q := range c.Queues {
		if queue == "all" || q.Name == queue {
			if q.MaxBuilds == 0 {
				return 0
			}
			limit = max(limit, q.MaxBuilds)
		}
	}
	return limit
}

func ptr[T any](v T) *T { return &v }

// DropActions is the timeline without the events of the named actions.
func DropActions(tl incident.Timeline, actions ...string) incident.Timeline {
	return slices.DeleteFunc(slices.Clone(tl), func(ev incident.Event) bool { return slices.Contains(actions, ev.Action) })
}

// cloneConfig copies the configuration deeply enough that an ablation can
// change it without touching the original: its lists and its traffic.
func cloneConfig(cfg config.Config) config.Config {
	cfg.Queues = slices.Clone(cfg.Queues)
	cfg.Timeline = slices.Clone(cfg.Timeline)
	if cfg.Traffic != nil {
		tr := *cfg.Traffic
		tr.Bursts = slices.Clone(tr.Bursts)
		cfg.Traffic = &tr
	}
	return cfg
}
