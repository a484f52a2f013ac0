package pipeline

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/config"
	"vmstorm/incident"
	"vmstorm/internal/sim"
	"vmstorm/workers"
)

// TestEveryMitigationIsWired: every mitigation has its entry in wiring (a
// constant added to incident.Mitigation without one fails here, as one
// without its entry in incident.MitigationTable fails incident's test).
func TestEveryMitigationIsWired(t *testing.T) {
	for m, wire := range wiring {
		assert.NotNil(t, wire, "Mitigation(%d) (%v) has no entry in wiring", m, incident.Mitigation(m))
	}
}

// otherValue is a valid value of parameter p that is not its value in c.
func otherValue(t *testing.T, p config.Param, c config.Config) string {
	t.Helper()
	for _, v := range []string{"3", "0.5", "7", "37m", "3m", "25"} {
		try := c
		if p.Set(&try, v) == nil && p.Get(&try) != p.Get(&c) {
			return v
		}
	}
	t.Fatalf("no other valid value of -%s (%s)", p.Flag, p.Want())
	return ""
}

// TestMitigationSettingsReachTheirParts: each setting of each mitigation,
// changed, changes the parts' settings, and exactly as its mitigation's
// entry in wiring does alone: a setting that reached no part, or reached it
// other than through its entry, fails here.
func TestMitigationSettingsReachTheirParts(t *testing.T) {
	def := config.Default()
	base := settingsOf(def)
	for m, e := range incident.MitigationTable {
		for _, flag := range e.Settings {
			t.Run(flag, func(t *testing.T) {
				p, ok := config.Lookup(flag)
				require.True(t, ok)
				cfg := def
				require.NoError(t, p.Set(&cfg, otherValue(t, p, def)))
				got := settingsOf(cfg)
				assert.False(t, reflect.DeepEqual(base, got), "-%s reaches no part's settings", flag)
				byEntry := settingsOf(def)
				wiring[m](cfg, &byEntry)
				assert.True(t, reflect.DeepEqual(byEntry, got), "-%s reaches the parts through %v's entry alone", flag, incident.Mitigation(m))
			})
		}
	}
}

// TestSwitchesStartAsConfigured: each mitigation's switch, on in the
// configuration, is on in the run's switches from the start, and no other.
func TestSwitchesStartAsConfigured(t *testing.T) {
	for m, e := range incident.MitigationTable {
		t.Run(e.Name, func(t *testing.T) {
			cfg := config.Default()
			sw, ok := config.Lookup(e.Switch)
			require.True(t, ok)
			require.NoError(t, sw.Set(&cfg, "true"))
			k := sim.New(sim.Options{})
			queues := workers.NewQueueControls(k, cfg.QueueNames(), make([]int64, len(cfg.Queues)))
			p, _, err := newPolicies(cfg, settingsOf(cfg).policies, k, queues)
			require.NoError(t, err)
			for o := range incident.NumMitigations {
				assert.Equal(t, o == incident.Mitigation(m), p.Switches.On(o), "-%s: %v", e.Switch, o)
			}
		})
	}
}
