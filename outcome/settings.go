package outcome

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"time"

	"vmstorm/analysis"
	"vmstorm/config"
)

// Settings are what judges a run besides its samples: the parameters the
// analysis reads (analysis.Judges), the number of the run's queues, its
// duration (which decides the scenario's checks it can judge), and the
// scenario it replayed with the fingerprint of its checks. A series
// carries them on its first row (series.Writer.Settings), so that
// `vmstorm -analyze` of the series alone judges it as the run judged
// itself, and refuses flags or a scenario that would judge it otherwise.
type Settings struct {
	// Config holds the judging parameters, and as many queues as the run
	// had (the analysis reads their number alone); every other field is
	// the default's.
	Config   config.Config
	Duration time.Duration
	// Scenario is the scenario the run replayed as -scenario named it (a
	// built-in's name, or a file's path), Name the name the scenario gives
	// itself, and Checks the fingerprint of the checks the run was judged
	// by (ChecksFingerprint); all empty for a run of no scenario.
	Scenario, Name, Checks string
}

// The keys of Settings besides the judging parameters' (their flags).
const (
	settingsVersion  = "vmstorm-series" // the form of the settings: "1"
	settingsQueues   = "queues"
	settingsDuration = "duration"
	settingsScenario = "scenario"
	settingsName     = "name"
	settingsChecks   = "checks"
)

// MaxQueues bounds the queues that settings may say a run had (a scenario
// file of 1 MiB holds about 50,000).
const MaxQueues = 100_000

// SettingsOf is the settings of a run of cfg, of the scenario named so
// by -scenario ("" for none) and judged by checks, as a series carries
// them.
func SettingsOf(cfg config.Config, scenario string, checks []analysis.Check) url.Values {
	v := url.Values{}
	v.Set(settingsVersion, "1")
	for _, p := range config.Params {
		if analysis.Judges(p) {
			v.Set(p.Flag, p.Get(&cfg))
		}
	}
	v.Set(settingsQueues, strconv.Itoa(len(cfg.Queues)))
	v.Set(settingsDuration, cfg.Duration.String())
	if scenario != "" {
		v.Set(settingsScenario, scenario)
		v.Set(settingsName, cfg.Name)
		v.Set(settingsChecks, ChecksFingerprint(checks))
	}
	return v
}

// ParseSettings reads settings as SettingsOf wrote them. A key it does not
// know (a later vmstorm's), a missing one or a value out of its range is
// an error that says which.
func ParseSettings(v url.Values) (Settings, error) {
	if got := v.Get(settingsVersion); got != "1" {
		return Settings{}, fmt.Errorf("settings of form %q, which this vmstorm does not read (it reads form 1)", got)
	}
	s := Settings{Config: config.Default()}
	known := []string{settingsVersion, settingsQueues, settingsDuration, settingsScenario, settingsName, settingsChecks}
	for _, p := range config.Params {
		if !analysis.Judges(p) {
			continue
		}
		known = append(known, p.Flag)
		value, ok := v[p.Flag]
		if !ok || len(value) != 1 {
			return Settings{}, fmt.Errorf("the settings give no %s (or more than one)", p.Flag)
		}
		if err := p.Set(&s.Config, value[0]); err != nil {
			return Settings{}, fmt.Errorf("the settings' %v", err)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(v)) {
		if !slices.Contains(known, k) || len(v[k]) != 1 {
			return Settings{}, fmt.Errorf("the settings' %s is not one this vmstorm knows (once each): a later vmstorm's series?", k)
		}
	}
	n, err := strconv.Atoi(v.Get(settingsQueues))
	if err != nil || n < 1 || n > MaxQueues {
		return Settings{}, fmt.Errorf("the settings' queues %q: want a number of queues from 1 to %d", v.Get(settingsQueues), MaxQueues)
	}
	s.Config.Queues = make([]config.Queue, n)
	for i := range s.Config.Queues {
		s.Config.Queues[i] = config.Queue{Name: fmt.Sprintf("queue %d", i+1), Share: 1}
	}
	if s.Duration, err = time.ParseDuration(v.Get(settingsDuration)); err != nil || s.Duration <= 0 || s.Duration > config.MaxDuration {
		return Settings{}, fmt.Errorf("the settings' duration %q: want a run's duration", v.Get(settingsDuration))
	}
	s.Scenario, s.Name, s.Checks = v.Get(settingsScenario), v.Get(settingsName), v.Get(settingsChecks)
	if (s.Scenario == "") != (s.Checks == "") {
		return Settings{}, fmt.Errorf("the settings give a scenario without its checks' fingerprint, or the reverse")
	}
	if err := s.Config.Validate(); err != nil {
		return Settings{}, fmt.Errorf("the settings' %v", err)
	}
	return s, nil
}

// ChecksFingerprint is the checks' fingerprint: the first 16 hex digits of
// the SHA-256 of their JSON, so that two sets of checks that judge alike
// have one.
func ChecksFingerprint(checks []analysis.Check) string {
	b, err := json.Marshal(checks)
	if err != nil {
		panic(fmt.Sprintf("outcome: checks that are not JSON: %v", err)) // plain data: cannot happen
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// Mismatch says how the settings of cfg differ from s: the first judging
// parameter (or the number of queues) that has another value, "" if none.
// only, if not nil, says which parameters to compare (those given).
func (s Settings) Mismatch(cfg config.Config, only func(config.Param) bool) string {
	for _, p := range config.Params {
		if analysis.Judges(p) && (only == nil || only(p)) && p.Get(&cfg) != p.Get(&s.Config) {
			return fmt.Sprintf("-%s %s, not %s", p.Flag, p.Get(&s.Config), p.Get(&cfg))
		}
	}
	if only == nil && len(cfg.Queues) != len(s.Config.Queues) {
		return fmt.Sprintf("%d queues, not %d", len(s.Config.Queues), len(cfg.Queues))
	}
	return ""
}
