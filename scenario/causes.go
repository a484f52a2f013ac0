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
// on, with its ablation: how to derive the same scenario with that
// mechanism, and nothing else, taken out. A check names its causes; the
// scenario tests replay each ablation and require the check to fail.
type Cause struct {
	Name string
	// Doc says in one line what the mechanism is, and what its ablation
	// changes.
	Doc    string
	remove func(*config.Config)
}

// Causes is the catalogue of causes, in the order a person reads them.
var Causes = []Cause{
	{"janitor_broken", "the janitor's password is rotated and it cannot log in, so it cleans nothing (removed: no rotate_cleanup_password event)",
		func(c *config.Config) {
			c.Timeline = dropActions(c.Timeline, "rotate_cleanup_password")
			c.BreakCleanup = false
		}},
	{"stale_report", "a failed janitor pass keeps reporting its last VM count to monitoring (removed: report_stale false, the count drops to 0)",
		func(c *config.Config) { c.ReportStale = false }},
	{"unbounded_requeue", "a job whose VM fails to start is requeued at once, with no limit on its attempts (removed: max_attempts 2, one retry)",
		func(c *config.Config) {
			if c.MaxAttempts == 0 {
				c.MaxAttempts = 2
			}
		}},
	{"failed_vms_left_behind", "the VM of a failed start stays on the cluster, never booted, and the janitor skips it for ever (removed: delete_failed_vms true)",
		func(c *config.Config) { c.DeleteFailedVMs = true }},
	{"slow_cleanup", "the janitor deletes only a few VMs at once, so a large leak takes hours to clean (removed: concurrency 0, all its workers at once)",
		func(c *config.Config) { c.CleanupConcurrency = 0 }},
	{"aggressive_cleanup", "operators switch the janitor to its aggressive mode, which deletes every VM (removed: no aggressive_cleanup or normal_cleanup event)",
		func(c *config.Config) { c.Timeline = dropActions(c.Timeline, "aggressive_cleanup", "normal_cleanup") }},
	{"cpu_ceiling", "the CPU reservations admit fewer running VMs than the cluster holds, so power-on fails there (removed: cpu_vms 0 and no set_cpu_capacity event)",
		func(c *config.Config) {
			c.CPUVMs = 0
			c.Timeline = dropActions(c.Timeline, "set_cpu_capacity")
		}},
	{"reduced_rate", "operators lower the queues' limits of concurrent builds (removed: no set_max_builds event)",
		func(c *config.Config) { c.Timeline = dropActions(c.Timeline, "set_max_builds") }},
	{"worker_crashes", "Run workers crash, orphaning their builds' VMs and requeueing the jobs (removed: no crash_workers event)",
		func(c *config.Config) { c.Timeline = dropActions(c.Timeline, "crash_workers") }},
	{"stalled_vms", "booted VMs stall: their builds are given up and requeued, the VMs left behind (removed: no set_stall_chance event)",
		func(c *config.Config) { c.Timeline = dropActions(c.Timeline, "set_stall_chance") }},
	{"late_cleanup", "the janitor deletes an abandoned VM only once it is older than its cutoff, hours later (removed: the cutoff is start_timeout + build_timeout + every, the shortest that spares every running build)",
		func(c *config.Config) {
			if spare := c.StartTimeout + c.BuildTimeout + c.CleanupEvery; c.CleanupCutoff > spare {
				c.CleanupCutoff = spare
			}
		}},
	{"api_rate_limit", "the cloud API refuses calls over its rate limit, shared by creation and cleanup (removed: api_rate 0)",
		func(c *config.Config) { c.APIRate, c.APIBurst = 0, 0 }},
	{"lowered_api_limit", "operators lower the clients' own API limit below the cloud's, so calls wait rather than fail (removed: no set_api_rate_limit event)",
		func(c *config.Config) { c.Timeline = dropActions(c.Timeline, "set_api_rate_limit") }},
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

// Without derives the configuration with the cause taken out. It changes
// nothing if the configuration does not have the cause.
func (c Cause) Without(cfg config.Config) config.Config {
	out := cloneConfig(cfg)
	c.remove(&out)
	return out
}

// In reports whether the configuration has the cause: whether taking it
// out changes anything.
func (c Cause) In(cfg config.Config) bool {
	return !reflect.DeepEqual(cfg, c.Without(cfg))
}

// Ablate derives the scenario with the named cause taken out: the same
// file, checks and everything else. It fails if there is no such cause, or
// if the scenario does not have it.
func (s *Scenario) Ablate(cause string) (*Scenario, error) {
	c, ok := LookupCause(cause)
	if !ok {
		return nil, fmt.Errorf("no cause %q; the causes are %s", cause, causeNames())
	}
	if !c.In(s.Config) {
		return nil, fmt.Errorf("%s is not in scenario %s: removing it changes nothing", cause, s.Config.Name)
	}
	out := *s
	out.Config = c.Without(s.Config)
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

// dropActions is the timeline without the events of the named actions.
func dropActions(tl incident.Timeline, actions ...string) incident.Timeline {
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
