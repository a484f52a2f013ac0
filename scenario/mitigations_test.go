package scenario

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/analysis"
	"vmstorm/config"
	"vmstorm/incident"
	"vmstorm/internal/racedetect"
	"vmstorm/internal/sim"
	"vmstorm/outcome"
	"vmstorm/pipeline"
)

// The mitigations' claims about the 2015 storm (docs/mitigations.md): each
// is judged on the built-in travis-2015-osx, with its seed, on a Serial
// kernel at -speed max. A claim's checks must hold with its mitigation on
// and fail in every ablation (the mitigation off, or a setting that the
// claim says matters taken back); a check marked Calibration states what
// the mitigation does NOT change, and must hold in every one of those runs.
// Each check's name gives the model's figure with the mitigation on, and
// without it, as measured with the command in docs/mitigations.md.

// epoch2015 is travis-2015-osx's model time zero.
var epoch2015 = time.Date(2015, 7, 31, 0, 0, 0, 0, time.UTC)

// clock is a Moment at a 2015 time, "08-04 16:00"; "" is none (the run's
// start for a span's from, its end for its to) and "end" the run's end.
func clock(s string) analysis.Moment {
	switch s {
	case "":
		return analysis.Moment{Absent: true}
	case "end":
		return analysis.Moment{End: true}
	}
	t, err := time.Parse("2006-01-02 15:04", "2015-"+s)
	if err != nil {
		panic(err)
	}
	return analysis.Moment{T: t.Sub(epoch2015)}
}

// over is a metric check of stat (max, min or delta) over from..to.
func over(name, metric, stat, from, to string, b bound) analysis.Check {
	return analysis.Check{Name: name, Metric: metric, Stat: stat, Min: b.min, Max: b.max,
		At: clock(""), From: clock(from), To: clock(to)}
}

// perArrival is the delta of metric per arrival over from..to.
func perArrival(name, metric, from, to string, b bound) analysis.Check {
	c := over(name, metric, "delta", from, to, b)
	c.Per = "arrived"
	return c
}

// At is a metric check at one time ("end" for the run's end).
func at(name, metric, when string, b bound) analysis.Check {
	return analysis.Check{Name: name, Metric: metric, Stat: "at", Min: b.min, Max: b.max,
		At: clock(when), From: clock(""), To: clock("")}
}

// detectedBetween is a check that the first alert after the fault fired between
// notBefore and by (and was alert, unless that is "").
func detectedBetween(name, notBefore, by, alert string) analysis.Check {
	return analysis.Check{Name: name, Detected: &analysis.Detected{NotBefore: clock(notBefore).T, By: clock(by).T, Alert: alert},
		At: clock(""), From: clock(""), To: clock("")}
}

// unchanged marks a check as a calibration: what the mitigation leaves as
// it was, holding with it and without.
func unchanged(c analysis.Check) analysis.Check { c.Calibration = true; return c }

type bound struct{ min, max *float64 }

func atMost(v float64) bound  { return bound{max: &v} }
func atLeast(v float64) bound { return bound{min: &v} }

// The runs the claims are judged on: the built-in, and the built-in with
// one change each.
const (
	as2015          = "2015 as it was"
	breaker         = "breaker"
	breakerNoWindow = "breaker counting since it last closed (window 0)"
	backoff         = "backoff"
	backoffBase5m   = "backoff, base 5m, cap 1h"
	backoffCap1h    = "backoff, cap 1h"
	retryBudget     = "retry budget"
	capacityAware   = "capacity-aware dispatch"
	shed            = "shed after 2h"
	reaper          = "reaper"
	noAggressive    = "no aggressive cleanup"
	noAggressiveDFV = "no aggressive cleanup, delete failed VMs"
	noAggressiveRip = "no aggressive cleanup, reaper"
	honestReport    = "honest report (report_stale false)"
	janitorAgeAlert = "janitor-age alert at 5m"
	respondHonest   = "response at detection + 61m, honest report"
	respondStale    = "response at detection + 61m, stale report"
	respondAt1846   = "response at 18:46, honest report"
	breakerDetected = "breaker turned on at detection"
)

// timeline reads timeline entries through the scenario package, as a user
// writes them in a scenario file (at: detection + 61m included).
func timeline(entries string) (incident.Timeline, error) {
	s, err := Parse("timeline.yaml", []byte("name: timeline\nepoch: 2015-07-31T00:00:00Z\nduration: 150h\ntimeline:\n"+entries))
	if err != nil {
		return nil, err
	}
	return s.Config.Timeline, nil
}

// responseTimeline is the 2015 fault and the operators' fix, placed by at:
// a what-if where the fix, not the storm's pauses and cleanups, is the
// whole response; reportStale is the janitor's report.
func responseTimeline(at string, reportStale bool) func(*config.Config) error {
	return func(c *config.Config) error {
		tl, err := timeline(fmt.Sprintf(`  - at: 2015-07-31T20:00:00Z
    action: rotate_cleanup_password
  - at: %[1]s
    action: fix_cleanup_credentials
  - at: %[1]s
    action: restart_janitor
`, at))
		c.Timeline, c.ReportStale = tl, reportStale
		return err
	}
}

// breakerAtDetection is the 2015 timeline with one more entry: operators
// turn the breaker on when the first alert fires.
func breakerAtDetection(c *config.Config) error {
	tl, err := timeline("  - at: detection\n    action: enable_mitigation\n    mitigation: breaker\n")
	c.Timeline = append(slices.Clone(c.Timeline), tl...)
	return err
}

// set is a variant that cannot fail.
func set(edit func(*config.Config)) func(*config.Config) error {
	return func(c *config.Config) error { edit(c); return nil }
}

func withoutAggressiveCleanup(c *config.Config) {
	cause, _ := LookupCause("aggressive_cleanup")
	*c = cause.Without(*c)
}

// mitigationVariants are the runs' configurations: the built-in's, edited.
var mitigationVariants = map[string]func(*config.Config) error{
	as2015: set(func(*config.Config) {}),
	breaker: set(func(c *config.Config) {
		c.Mitigations.Breaker = true
	}),
	breakerNoWindow: set(func(c *config.Config) {
		c.Mitigations.Breaker = true
		c.Mitigations.BreakerSettings.Window = 0
	}),
	backoff: set(func(c *config.Config) {
		c.Mitigations.Backoff = true
	}),
	backoffBase5m: set(func(c *config.Config) {
		c.Mitigations.Backoff = true
		c.Mitigations.BackoffSettings.Base, c.Mitigations.BackoffSettings.Cap = 5*time.Minute, time.Hour
	}),
	backoffCap1h: set(func(c *config.Config) {
		c.Mitigations.Backoff = true
		c.Mitigations.BackoffSettings.Cap = time.Hour
	}),
	retryBudget: set(func(c *config.Config) {
		c.Mitigations.RetryBudget = true
	}),
	capacityAware: set(func(c *config.Config) {
		c.Mitigations.CapacityAware = true
	}),
	shed: set(func(c *config.Config) {
		c.Mitigations.Shed = true
	}),
	reaper: set(func(c *config.Config) {
		c.Mitigations.Reaper = true
	}),
	noAggressive: set(withoutAggressiveCleanup),
	noAggressiveDFV: set(func(c *config.Config) {
		withoutAggressiveCleanup(c)
		c.DeleteFailedVMs = true
	}),
	noAggressiveRip: set(func(c *config.Config) {
		withoutAggressiveCleanup(c)
		c.Mitigations.Reaper = true
	}),
	honestReport: set(func(c *config.Config) {
		c.ReportStale = false
	}),
	janitorAgeAlert: set(func(c *config.Config) {
		c.Alerts.JanitorAgeMax = 5 * time.Minute
	}),
	respondHonest:   responseTimeline("detection + 61m", false),
	respondStale:    responseTimeline("detection + 61m", true),
	respondAt1846:   responseTimeline("2015-08-04T18:46:00Z", false),
	breakerDetected: breakerAtDetection,
}

// mitigationClaim is one claim of docs/mitigations.md: its checks hold on
// the run On and each fails on every run of Off; its calibrations hold on
// all of them.
type mitigationClaim struct {
	id     string // the claim's name in docs/mitigations.md
	on     string
	off    []string
	checks []analysis.Check
}

var mitigationClaims = []mitigationClaim{
	{"C1 breaker", breaker, []string{as2015, breakerNoWindow}, []analysis.Check{
		perArrival("C1: requeues per arrival 16:00-18:46 fall by an order of magnitude, to at most 0.38 (0.16 = 89/540; 3.8 without, and with window 0)",
			"requeues", "08-04 16:00", "08-04 18:46", atMost(0.38)),
	}},
	{"C2 breaker", breaker, []string{as2015, breakerNoWindow}, []analysis.Check{
		over("C2: never-booted VMs 18:50-22:09 fall by the same factor, min at most 211 (90; 2111 without)",
			"never_booted", "min", "08-04 18:50", "08-04 22:09", atMost(211)),
	}},
	{"C5 C6 breaker", breaker, []string{as2015, breakerNoWindow}, []analysis.Check{
		unchanged(at("C5: the breaker does not end the storm: the cluster is still full at 18:45, at least 6000 VMs (6089; 8076 without)",
			"vms_true", "08-04 18:45", atLeast(6000))),
		over("C6: requeues on the 22:56 resume fall by at least half, at most 139 (115; 279 without)",
			"requeues", "delta", "08-04 22:56", "08-04 23:28", atMost(139)),
	}},
	{"B backoff", backoff, []string{as2015}, []analysis.Check{
		over("B0: backoff thins the storm's first 22 minutes, requeues 16:38-17:00 at most 225 (218; 236 without)",
			"requeues", "delta", "08-04 16:38", "08-04 17:00", atMost(225)),
		unchanged(perArrival("B1: ... and no more: requeues per arrival 16:00-18:46 stay at least 2.5 (3.8 with and without)",
			"requeues", "08-04 16:00", "08-04 18:46", atLeast(2.5))),
		unchanged(over("B1: full jitter has no floor: requeues 17:30-18:30 at least 960, 16 a minute, the Build pool's own limit of 60 workers / 3.5 m (1035; 1040 without)",
			"requeues", "delta", "08-04 17:30", "08-04 18:30", atLeast(960))),
	}},
	{"B3 backoff base 5m", backoffBase5m, []string{as2015, backoff}, []analysis.Check{
		over("B3: with a 5m base, requeues 16:38-17:23 (the first 45 minutes) at most 500 (436; 626 without, 609 with the default base)",
			"requeues", "delta", "08-04 16:38", "08-04 17:23", atMost(500)),
		unchanged(perArrival("B3: ... yet requeues per arrival 16:00-18:46 stay at least 2.5 (3.4; 3.8 without)",
			"requeues", "08-04 16:00", "08-04 18:46", atLeast(2.5))),
	}},
	{"R retry budget", retryBudget, []string{as2015}, []analysis.Check{
		perArrival("R1: requeues per arrival 16:00-18:46 at most 0.2 (0.007 = 4/540; 3.8 without)",
			"requeues", "08-04 16:00", "08-04 18:46", atMost(0.2)),
		over("R2: the price, jobs failed by the budget 16:38-18:46 at least 325, 80% of the 406 arrivals (408; 0 without)",
			"failed_by_budget", "delta", "08-04 16:38", "08-04 18:46", atLeast(325)),
		at("R2: each refused job's one attempt still leaves a VM: never-booted at 18:45 at most 500 (411; 2042 without) ...",
			"never_booted", "08-04 18:45", atMost(500)),
		unchanged(at("R2: ... but the leak goes on: never-booted at 18:45 at least 300 (411; 2042 without)",
			"never_booted", "08-04 18:45", atLeast(300))),
		over("R4: failing jobs fast hides the storm from the backlog-age alert: oldest wait 16:00-18:46 at most 45m (8; 130 without)",
			"oldest_wait_min", "max", "08-04 16:00", "08-04 18:46", atMost(45)),
		detectedBetween("R4: ... so nothing fires before the 18:46 fix (vm_count_out_of_band at 18:48; backlog_age_high at 17:23 without)",
			"08-04 18:46", "08-06 06:00", ""),
	}},
	{"A capacity-aware", capacityAware, []string{as2015}, []analysis.Check{
		over("A1: requeues 16:00-18:46 at most 120 (0; 2061 without)",
			"requeues", "delta", "08-04 16:00", "08-04 18:46", atMost(120)),
		at("A1: never-booted VMs at 18:45 at most 120 (0; 2042 without)",
			"never_booted", "08-04 18:45", atMost(120)),
		unchanged(over("A3: the VM gauge does not see the CPU ceiling: requeues on the 22:56 resume at least 50 (274; 279 without)",
			"requeues", "delta", "08-04 22:56", "08-04 23:28", atLeast(50))),
		unchanged(detectedBetween("A4: detection unchanged, backlog_age_high between 16:30 and 18:46 (17:23 with and without)",
			"08-04 16:30", "08-04 18:46", analysis.AlertBacklogAge)),
	}},
	{"L shed", shed, []string{as2015}, []analysis.Check{
		over("L1: the oldest wait stays within the deadline + the start timeout + a sample, at most 125m (123; 591 without)",
			"oldest_wait_min", "max", "", "", atMost(125)),
		over("L3: with the backlog shed, the 22:56 resume stays under the CPU ceiling: requeues 22:56-23:28 at most 20 (0; 279 without)",
			"requeues", "delta", "08-04 22:56", "08-04 23:28", atMost(20)),
		unchanged(perArrival("L: shedding does not touch the storm: requeues per arrival 16:00-18:46 at least 2.5 (3.8 with and without)",
			"requeues", "08-04 16:00", "08-04 18:46", atLeast(2.5))),
	}},
	{"D delete failed VMs", noAggressiveDFV, []string{noAggressive}, []analysis.Check{
		over("D1: with no aggressive cleanup, no VM is ever left never-booted, max 0 (0; 2519 without)",
			"never_booted", "max", "", "", atMost(0)),
		unchanged(at("D2: fixing the janitor alone ends the storm, with and without: the backlog has drained by 08-05 23:59, oldest wait at most 15m",
			"oldest_wait_min", "08-05 23:59", atMost(15))),
		unchanged(over("D3: requeues 16:00-18:46 unchanged, at least 2000 (2061 with and without)",
			"requeues", "delta", "08-04 16:00", "08-04 18:46", atLeast(2000))),
	}},
	{"P1 P2 reaper", reaper, []string{as2015}, []analysis.Check{
		unchanged(at("P1: the reaper shares the janitor's login: never-booted at 18:45 at least 2000 (2042 with and without)",
			"never_booted", "08-04 18:45", atLeast(2000))),
		unchanged(over("P2: after the fix it waits behind the finished VMs: never-booted 18:50-22:09 min at least 2000 (2111 with and without)",
			"never_booted", "min", "08-04 18:50", "08-04 22:09", atLeast(2000))),
		at("P: the 22:56 resume's never-booted VMs are reaped by the end, at most 0 (0; 328 without)",
			"never_booted", "end", atMost(0)),
	}},
	{"P3 reaper", noAggressiveRip, []string{noAggressive}, []analysis.Check{
		at("P3: with no aggressive cleanup, no never-booted VM is left at the end, at most 0 (0; 2519 without)",
			"never_booted", "end", atMost(0)),
		unchanged(at("P3: fixing the janitor alone ends the storm, with and without: the backlog has drained by 08-05 23:59, oldest wait at most 15m",
			"oldest_wait_min", "08-05 23:59", atMost(15))),
	}},
	{"H1 honest report", honestReport, []string{as2015}, []analysis.Check{
		detectedBetween("H1: detection within 10 minutes of the fault (vm_count_out_of_band at 07-31 20:02; 08-04 17:23 without)",
			"07-31 20:00", "07-31 20:10", analysis.AlertVMCount),
		unchanged(perArrival("H3: detection alone changes nothing else: requeues per arrival 16:00-18:46 at least 2.5 (3.8 with and without)",
			"requeues", "08-04 16:00", "08-04 18:46", atLeast(2.5))),
	}},
	{"H2 janitor-age alert", janitorAgeAlert, []string{as2015}, []analysis.Check{
		detectedBetween("H2: detection within 5m + a sample of the fault, by 07-31 20:07 (janitor_stale at 20:06; 08-04 17:23 without)",
			"07-31 20:00", "07-31 20:07", analysis.AlertJanitorStale),
	}},
	{"O1 response at detection + 61m", respondHonest, []string{respondStale, respondAt1846}, []analysis.Check{
		at("O1: no storm, requeues over the run at most 0 (0; 4223 with the stale report, 4911 with the fix at 18:46)",
			"requeues", "end", atMost(0)),
		over("O1: no job waits over 15m (6; 257 with the stale report, 306 with the fix at 18:46)",
			"oldest_wait_min", "max", "", "", atMost(15)),
		over("O1: the cluster peaks under the alert band's top, 400 VMs (345; 9978 with the stale report, 10643 with the fix at 18:46)",
			"vms_true", "max", "", "", atMost(400)),
	}},
	{"O3 breaker at detection", breakerDetected, []string{as2015}, []analysis.Check{
		over("O3: operators who turn the breaker on at detection (17:23, timeline enable_mitigation at: detection) cut requeues 17:23-18:46 to at most 200 (133; 1435 without)",
			"requeues", "delta", "08-04 17:23", "08-04 18:46", atMost(200)),
	}},
}

// refutedPrediction is a claim docs/mitigations.md predicted before the
// wiring that the model does not bear out: it must fail on run.
type refutedPrediction struct {
	run   string
	check analysis.Check
}

var refutedPredictions = []refutedPrediction{
	{backoffCap1h, perArrival("B2 (refuted): with cap 1h requeues per arrival 16:00-18:46 fall by a third, to at most 2.5 (3.8: a job fails about 4 times in the storm, its ceiling never reaches the cap)",
		"requeues", "08-04 16:00", "08-04 18:46", atMost(2.5))},
	{shed, over("L1 (refuted): the oldest wait stays within the deadline + a sample, 121m (123: a job in a failing start still waits, and is shed only once it is back)",
		"oldest_wait_min", "max", "", "", atMost(121))},
	{shed, over("L3 (refuted): shedding does not prevent the second failure, requeues 22:56-23:28 at least 50 (0: 163 jobs are left at 22:56, under the 240 CPU slots)",
		"requeues", "delta", "08-04 22:56", "08-04 23:28", atLeast(50))},
}

// allMitigationChecks judges every run: each run's checks are all of them,
// so that one replay of each variant serves every claim that reads it.
func allMitigationChecks() []analysis.Check {
	var all []analysis.Check
	for _, c := range mitigationClaims {
		all = append(all, c.checks...)
	}
	for _, p := range refutedPredictions {
		all = append(all, p.check)
	}
	return all
}

// mitigationRuns replays each variant once, whichever test asks first.
var mitigationRuns = struct {
	sync.Mutex
	runs map[string]func() (map[string]analysis.CheckResult, error)
}{runs: map[string]func() (map[string]analysis.CheckResult, error){}}

// mitigationRun is the variant's replay: the results of every check, by
// name. The run must account for every job and VM.
func mitigationRun(t *testing.T, variant string) map[string]analysis.CheckResult {
	t.Helper()
	edit, ok := mitigationVariants[variant]
	require.True(t, ok, "no variant %q", variant)
	mitigationRuns.Lock()
	run, ok := mitigationRuns.runs[variant]
	if !ok {
		run = sync.OnceValues(func() (map[string]analysis.CheckResult, error) {
			s, err := LoadBuiltin("travis-2015-osx")
			if err != nil {
				return nil, err
			}
			cfg := cloneConfig(s.Config)
			if err := edit(&cfg); err != nil {
				return nil, err
			}
			cfg.Speed = config.MaxSpeed
			if err := cfg.Validate(); err != nil {
				return nil, err
			}
			// Not the test's context: the replay is shared, and may outlive
			// the test that started it.
			o, err := outcome.Run(context.Background(), cfg, pipeline.NewKernel(cfg, sim.Serial), outcome.Options{Checks: allMitigationChecks()})
			if err != nil {
				return nil, err
			}
			if c := o.Summary.Cluster; !o.Summary.Balanced() || c.Cloned-c.Destroyed != c.VMs || c.Admitted-c.Released != c.InUse {
				return nil, fmt.Errorf("%s: a job, a VM or a unit of capacity is not accounted for", variant)
			}
			out := map[string]analysis.CheckResult{}
			for _, r := range o.Analysis.Checks {
				out[r.Check.Name] = r
			}
			return out, nil
		})
		mitigationRuns.runs[variant] = run
	}
	mitigationRuns.Unlock()
	results, err := run()
	require.NoError(t, err, variant)
	return results
}

// TestMitigationClaims: each mitigation's claims about the 2015 storm hold
// with it on and fail without it; what it does not change (calibrations)
// holds either way.
func TestMitigationClaims(t *testing.T) {
	if racedetect.On {
		t.Skip("Serial replays of a whole scenario: see internal/racedetect")
	}
	s, err := LoadBuiltin("travis-2015-osx")
	require.NoError(t, err)
	require.Equal(t, epoch2015, s.Config.Epoch, "the claims' clock times are the scenario's")
	names := map[string]bool{}
	for _, c := range allMitigationChecks() {
		require.False(t, names[c.Name], "check names are unique: %q", c.Name)
		names[c.Name] = true
	}
	used := map[string]bool{}
	for _, c := range mitigationClaims {
		used[c.on] = true
		for _, off := range c.off {
			used[off] = true
		}
	}
	for _, p := range refutedPredictions {
		used[p.run] = true
	}
	for variant := range mitigationVariants {
		require.True(t, used[variant], "the run %q judges a claim", variant)
	}
	// Replay every run first, each once and side by side; the claims then
	// read them.
	t.Run("replay", func(t *testing.T) {
		for variant := range mitigationVariants {
			t.Run(variant, func(t *testing.T) {
				t.Parallel()
				mitigationRun(t, variant)
			})
		}
	})
	for _, claim := range mitigationClaims {
		t.Run(claim.id, func(t *testing.T) {
			t.Parallel()
			require.NotEmpty(t, claim.off, "a claim names the runs without its cause")
			causal := 0
			on := mitigationRun(t, claim.on)
			for _, c := range claim.checks {
				r := on[c.Name]
				t.Logf("%s: %s; want %s", claim.on, r.Model, r.Want)
				assert.True(t, r.OK, "%q does not hold with %s: model %s, want %s", c.Name, claim.on, r.Model, r.Want)
				if !c.Calibration {
					causal++
				}
			}
			require.Positive(t, causal, "a claim has a check that its cause makes hold")
			for _, off := range claim.off {
				results := mitigationRun(t, off)
				for _, c := range claim.checks {
					r := results[c.Name]
					t.Logf("  %s: %s", off, r.Model)
					if c.Calibration {
						assert.True(t, r.OK, "%q (a calibration) does not hold with %s: model %s, want %s", c.Name, off, r.Model, r.Want)
					} else {
						assert.False(t, r.OK, "%q still holds with %s: model %s, want %s", c.Name, off, r.Model, r.Want)
					}
				}
			}
		})
	}
}

// TestMitigationPredictionsRefuted: the predictions of docs/mitigations.md
// that the model does not bear out still fail, so that the page's account
// of them stays true.
func TestMitigationPredictionsRefuted(t *testing.T) {
	if racedetect.On {
		t.Skip("Serial replays of a whole scenario: see internal/racedetect")
	}
	for _, p := range refutedPredictions {
		t.Run(strings.SplitN(p.check.Name, ":", 2)[0], func(t *testing.T) {
			t.Parallel()
			r := mitigationRun(t, p.run)[p.check.Name]
			t.Logf("%s: %s; want %s", p.run, r.Model, r.Want)
			assert.False(t, r.OK, "%q now holds with %s: model %s; docs/mitigations.md says it does not", p.check.Name, p.run, r.Model)
		})
	}
}
