package report

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/config"
	"vmstorm/incident"
)

// TestConfigParams: the page's parameters are every one of config.Params,
// by its flag and as the flag takes it, in the table's order, then the
// queues, the traffic curve and the timeline.
func TestConfigParams(t *testing.T) {
	cfg := config.Default()
	cfg.Seed = 9
	cfg.Timeline = incident.Timeline{{At: time.Minute, Action: "restart_janitor"}}
	cfg.BreakCleanup = true
	got := configParams(cfg)
	require.Len(t, got, len(config.Params)+3, "one row per parameter")
	for i, p := range config.Params {
		assert.Equal(t, p.Flag, got[i].Name)
		// Whatever Config gains, the table shows values, not addresses.
		assert.NotContains(t, got[i].Value, "0x", "%s", p.Flag)
	}
	byName := map[string]string{}
	for _, p := range got {
		byName[p.Name] = p.Value
	}
	for name, want := range map[string]string{
		"vms": "200", "seed": "9", "break-cleanup": "true", "duration": "1h0m0s", "epoch": "none",
		"clone-time": "30s", "clone-spread": "10s", "arrival-rate": "12", "speed": "120", "window": "5m0s",
		"queues":   "com (share 1, no limit); org (share 1, no limit)",
		"traffic":  "constant",
		"timeline": "2 events",
	} {
		assert.Equal(t, want, byName[name], name)
	}

	cfg.Queues[1].MaxBuilds = 80
	cfg.Traffic = &config.Traffic{PeakHour: 17, Night: 0.3, Weekend: 0.5, Bursts: []config.Burst{{At: time.Hour, For: time.Hour, Factor: 2}}}
	cfg.Epoch = time.Date(2015, 8, 4, 19, 3, 0, 0, time.FixedZone("CEST", 2*3600))
	byName = map[string]string{}
	for _, p := range configParams(cfg) {
		byName[p.Name] = p.Value
	}
	assert.Equal(t, "com (share 1, no limit); org (share 1, at most 80 builds)", byName["queues"])
	assert.Equal(t, "peak at 17 h UTC, night 0.3, weekend 0.5, 1 bursts", byName["traffic"])
	assert.Equal(t, "2015-08-04T17:03:00Z", byName["epoch"], "a calendar time, in UTC")

	// A scenario rotates the password in its timeline, not with the flag:
	// its page does not say break-cleanup false.
	cfg.BreakCleanup = false
	cfg.Timeline = incident.Timeline{{At: 20 * time.Hour, Action: "rotate_cleanup_password"}, {At: 21 * time.Hour, Action: "restart_janitor"}}
	byName = map[string]string{}
	for _, p := range configParams(cfg) {
		byName[p.Name] = p.Value
	}
	assert.Equal(t, "not given: the timeline rotates the password (rotate_cleanup_password at 2015-08-05 13:03:00)", byName["break-cleanup"])
	assert.Equal(t, "not used: -break-cleanup is not given", byName["break-at"])
}
