package config_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/config"
	"vmstorm/incident"
)

// TestMitigationTableNamesParams: every switch and setting that
// incident.MitigationTable names is a parameter of the right kind, each
// mitigation's name is its switch's log key (the name a timeline, the log
// and a scenario file share), a setting is named after its switch and
// belongs to one mitigation, and every parameter of the mitigations'
// section belongs to one: a parameter added without its entry, or an entry
// naming a flag that is not a parameter, fails here.
func TestMitigationTableNamesParams(t *testing.T) {
	owner := map[string]incident.Mitigation{} // flag: the mitigation it belongs to
	for m, e := range incident.MitigationTable {
		m := incident.Mitigation(m)
		t.Run(m.String(), func(t *testing.T) {
			require.NotEmpty(t, e.Name, "mitigation %d has no entry", int(m))
			sw, ok := config.Lookup(e.Switch)
			require.True(t, ok, "switch -%s is no parameter", e.Switch)
			assert.True(t, sw.IsBool(), "switch -%s is a switch", e.Switch)
			assert.Equal(t, e.Name, sw.LogKey(), "the name is the switch's log key")
			assert.Equal(t, e.Name, sw.Key[strings.LastIndex(sw.Key, ".")+1:], "the switch's key ends in the name")
			for _, flag := range append([]string{e.Switch}, e.Settings...) {
				prev, dup := owner[flag]
				assert.False(t, dup, "-%s belongs to %v and %v", flag, prev, m)
				owner[flag] = m
			}
			for _, flag := range e.Settings {
				p, ok := config.Lookup(flag)
				require.True(t, ok, "setting -%s is no parameter", flag)
				assert.False(t, p.IsBool(), "setting -%s is a value, not a switch", flag)
				assert.Equal(t, config.SectionMitigations, p.Section, "-%s", flag)
				assert.True(t, strings.HasPrefix(flag, e.Switch+"-"), "setting -%s is named after its switch -%s", flag, e.Switch)
			}
		})
	}
	for _, p := range config.Params {
		if p.Section == config.SectionMitigations {
			_, ok := owner[p.Flag]
			assert.True(t, ok, "-%s is in the mitigations' section but in no entry of incident.MitigationTable", p.Flag)
		}
	}
}

// TestSwitchOf pins the switch each setting sets, from the table, and that
// a switch or another parameter sets none.
func TestSwitchOf(t *testing.T) {
	tests := []struct{ flag, sw string }{
		{"backoff-base", "backoff"}, {"backoff-cap", "backoff"}, {"backoff-multiplier", "backoff"},
		{"retry-budget-tokens", "retry-budget"}, {"retry-budget-ratio", "retry-budget"},
		{"breaker-min-requests", "breaker"}, {"breaker-failure-ratio", "breaker"}, {"breaker-window", "breaker"},
		{"breaker-open-timeout", "breaker"}, {"breaker-probes", "breaker"},
		{"reaper-ttl", "reaper"}, {"shed-after", "shed"}, {"api-burst", "api-rate"},
		{"backoff", ""}, {"delete-failed-vms", ""}, {"capacity-aware", ""}, {"vms", ""}, {"api-rate", ""}, {"no-such-flag", ""},
	}
	for _, tt := range tests {
		t.Run(tt.flag, func(t *testing.T) {
			sw, ok := config.SwitchOf(tt.flag)
			assert.Equal(t, tt.sw != "", ok)
			assert.Equal(t, tt.sw, sw)
		})
	}
}

// TestMitigationOnAndUses: each mitigation's switch, set as a parameter,
// turns that mitigation on and no other; Uses sees it, or a timeline that
// enables it by name, and not one that enables another.
func TestMitigationOnAndUses(t *testing.T) {
	for m, e := range incident.MitigationTable {
		m := incident.Mitigation(m)
		t.Run(e.Name, func(t *testing.T) {
			cfg := config.Default()
			for o := range incident.NumMitigations {
				require.False(t, cfg.MitigationOn(o), "%v off by default", o)
			}
			assert.False(t, cfg.Uses(e.Switch))

			on := cfg
			sw, ok := config.Lookup(e.Switch)
			require.True(t, ok)
			require.NoError(t, sw.Set(&on, "true"))
			for o := range incident.NumMitigations {
				assert.Equal(t, o == m, on.MitigationOn(o), "-%s turns on %v alone", e.Switch, m)
			}
			assert.True(t, on.Uses(e.Switch))

			other := (m + 1) % incident.NumMitigations
			byTimeline := cfg
			byTimeline.Timeline = incident.Timeline{{Action: "enable_mitigation", Args: incident.Args{Mitigation: other.String()}}}
			assert.False(t, byTimeline.Uses(e.Switch), "enabling %v is not enabling %v", other, m)
			byTimeline.Timeline[0].Args.Mitigation = e.Name
			assert.True(t, byTimeline.Uses(e.Switch))
			assert.False(t, byTimeline.MitigationOn(m), "a timeline's switch is not on from the start")
		})
	}
	cfg := config.Default()
	assert.False(t, cfg.Uses("api-rate"))
	cfg.APIRate = 5
	assert.True(t, cfg.Uses("api-rate"))
}
