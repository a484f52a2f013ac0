package outcome_test

import (
	"bytes"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/analysis"
	"vmstorm/config"
	"vmstorm/outcome"
	"vmstorm/scenario"
	"vmstorm/series"
)

// TestSettingsReadBackAsWritten: what judges a run (its alert rules,
// window, drained, queues, duration, scenario and checks) reads back from
// its settings as it was; the checks by a fingerprint that two sets of
// checks that judge alike share, and no other.
func TestSettingsReadBackAsWritten(t *testing.T) {
	s, err := scenario.LoadBuiltin("travis-2018-gce")
	require.NoError(t, err)
	cfg := s.Config
	cfg.Window, cfg.Drained, cfg.Alerts.For = 7*time.Minute, 21*time.Minute, 3*time.Minute
	cfg.Queues = append(cfg.Queues, config.Queue{Name: "third", Share: 1})
	got, err := outcome.ParseSettings(outcome.SettingsOf(cfg, "travis-2018-gce", s.Checks))
	require.NoError(t, err)
	assert.Empty(t, got.Mismatch(cfg, nil), "every judging parameter, and the queues' number")
	assert.Equal(t, cfg.Alerts, got.Config.Alerts)
	assert.Equal(t, [2]time.Duration{7 * time.Minute, 21 * time.Minute}, [2]time.Duration{got.Config.Window, got.Config.Drained})
	assert.Len(t, got.Config.Queues, 3)
	assert.Equal(t, cfg.Duration, got.Duration)
	assert.Equal(t, "travis-2018-gce", got.Scenario)
	assert.Equal(t, s.Name, got.Name)
	assert.Equal(t, outcome.ChecksFingerprint(s.Checks), got.Checks)
	assert.NotEqual(t, outcome.ChecksFingerprint(s.Checks), outcome.ChecksFingerprint(s.Checks[1:]))
	other := append([]analysis.Check(nil), s.Checks...)
	other[0].Name += "!"
	assert.NotEqual(t, outcome.ChecksFingerprint(s.Checks), outcome.ChecksFingerprint(other))

	cfg.Window = 8 * time.Minute
	assert.Equal(t, "-window 7m0s, not 8m0s", got.Mismatch(cfg, nil))
	assert.Empty(t, got.Mismatch(cfg, func(p config.Param) bool { return p.Flag != "window" }), "only the parameters asked")

	none, err := outcome.ParseSettings(outcome.SettingsOf(config.Default(), "", nil))
	require.NoError(t, err)
	assert.Empty(t, none.Scenario+none.Checks+none.Name, "a run of no scenario")
}

// TestSettingsThatNoRunWrites are refused, each saying what is wrong.
func TestSettingsThatNoRunWrites(t *testing.T) {
	good := outcome.SettingsOf(config.Default(), "", nil)
	for name, tt := range map[string]struct {
		edit func(v url.Values)
		says string
	}{
		"another form":          {func(v url.Values) { v.Set("vmstorm-series", "2") }, `settings of form "2"`},
		"no form":               {func(v url.Values) { v.Del("vmstorm-series") }, `settings of form ""`},
		"a key unknown":         {func(v url.Values) { v.Set("colour", "blue") }, "the settings' colour is not one this vmstorm knows"},
		"a key given twice":     {func(v url.Values) { v.Add("queues", "3") }, "the settings' queues is not one this vmstorm knows (once each)"},
		"a judging key missing": {func(v url.Values) { v.Del("window") }, "the settings give no window"},
		"a value out of range":  {func(v url.Values) { v.Set("window", "0s") }, "-window 0s: want"},
		"no queues":             {func(v url.Values) { v.Set("queues", "0") }, `queues "0": want a number of queues from 1 to 100000`},
		"a billion queues":      {func(v url.Values) { v.Set("queues", "1000000000") }, `queues "1000000000"`},
		"a bad duration":        {func(v url.Values) { v.Set("duration", "forever") }, `duration "forever"`},
		"a scenario, no checks": {func(v url.Values) { v.Set("scenario", "x.yaml") }, "a scenario without its checks' fingerprint"},
	} {
		t.Run(name, func(t *testing.T) {
			v := url.Values{}
			for k, vs := range good {
				v[k] = append([]string(nil), vs...)
			}
			tt.edit(v)
			_, err := outcome.ParseSettings(v)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.says)
			assert.NotContains(t, err.Error(), "\n")
		})
	}
}

// TestAnalyzeRefusesWhatNoRunWrites: Analyze refuses, in one line that
// says where, a row past the longest run, rows closer than a model second
// but for the last (which a run takes at its end), and more marks than the
// analysis holds (analysis.MaxHeld, a million, tested lowered in the
// analysis's own tests: here at its real size it would take a million
// marks); the same rows a second apart, or the last one closer, are
// judged.
func TestAnalyzeRefusesWhatNoRunWrites(t *testing.T) {
	write := func(ts []time.Duration) []byte {
		var b bytes.Buffer
		sw := series.NewWriter(&b, time.Time{})
		for _, at := range ts {
			sw.Row(series.Row{Sample: series.Sample{T: at, Capacity: 10}})
		}
		require.NoError(t, sw.Close())
		return b.Bytes()
	}
	s := time.Second
	for _, tt := range []struct {
		name  string
		csv   []byte
		says  string // "" for judged
		lines int
	}{
		{"a second apart", write([]time.Duration{s, 2 * s, 3 * s, 4 * s}), "", 0},
		{"the last a nanosecond after the one before", write([]time.Duration{s, 2 * s, 3 * s, 3*s + 1}), "", 0},
		{"rows a nanosecond apart", write([]time.Duration{s, s + 1, s + 2, s + 3}), "line 4: the two rows before it are 0.000000001s apart", 0},
		{"a row past the longest run", write([]time.Duration{s, config.MaxDuration + s}), "line 3, column model_s: 315360001 is past the longest run, 87600h", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := outcome.Analyze(bytes.NewReader(tt.csv), config.Default(), nil)
			if tt.says == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.says)
			assert.NotContains(t, err.Error(), "\n")
		})
	}
}
