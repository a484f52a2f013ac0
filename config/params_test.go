package config_test

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/config"
	"vmstorm/incident"
)

// The forms of Want, and the range ends they name.
var (
	intRange   = regexp.MustCompile(`^an integer from (-?\d+) to (\d+)$`)
	floatRange = regexp.MustCompile(`^a number from (\S+) to (\S+)$`)
	durRange   = regexp.MustCompile(`^a duration from (\S+) to (\S+) \(e\.g\. 90s, 10m, 4h\)$`)
	durAbove   = regexp.MustCompile(`^a duration above 0, at most (\S+) \(e\.g\. 90s, 10m, 4h\)$`)
)

// other is a valid value of p that is not its default, as Get spells it:
// an end of its range, from its Want.
func other(t *testing.T, p config.Param) string {
	t.Helper()
	def := config.Default()
	want := p.Want()
	var lo, hi string
	switch p.Value(&def).(type) {
	case bool:
		lo, hi = "false", "true"
	case uint64:
		lo, hi = "0", "42"
	case string:
		if p.Flag == "speed" {
			lo, hi = "max", "1"
		} else {
			lo, hi = "", "2015-07-31T00:00:00Z"
		}
	case float64:
		if p.Flag == "speed" {
			lo, hi = "max", "120"
			break
		}
		if m := floatRange.FindStringSubmatch(want); m != nil {
			lo, hi = m[1], m[2]
		}
		for _, v := range []*string{&lo, &hi} {
			x, err := strconv.ParseFloat(*v, 64)
			require.NoError(t, err, want)
			*v = strconv.FormatFloat(x, 'g', -1, 64)
		}
	case int64:
		m := intRange.FindStringSubmatch(want)
		require.NotNil(t, m, want)
		lo, hi = m[1], m[2]
	case time.Duration:
		m := durRange.FindStringSubmatch(want)
		if m == nil {
			m = durAbove.FindStringSubmatch(want)
			require.NotNil(t, m, want)
			m = []string{"", "1ns", m[1]}
		}
		for i, v := range []*string{&lo, &hi} {
			d, err := time.ParseDuration(m[i+1])
			require.NoError(t, err, want)
			*v = d.String()
		}
	default:
		t.Fatalf("-%s: a value of type %T the test does not know", p.Flag, p.Value(&def))
	}
	if hi != p.Get(&def) {
		return hi
	}
	return lo
}

// TestParamsSetGetRoundTrip: every parameter's Set writes its own field of
// Config and no other, Get reads it back as it was written, and setting
// the default back restores Default() exactly.
func TestParamsSetGetRoundTrip(t *testing.T) {
	def := config.Default()
	for _, p := range config.Params {
		t.Run(p.Flag, func(t *testing.T) {
			v := other(t, p)
			require.NotEqual(t, p.Get(&def), v)

			c := config.Default()
			require.NoError(t, p.Set(&c, v))
			assert.Equal(t, v, p.Get(&c))
			require.NoError(t, p.Check(&c))
			for _, q := range config.Params {
				if q.Flag != p.Flag {
					assert.Equal(t, q.Get(&def), q.Get(&c), "setting -%s changed -%s", p.Flag, q.Flag)
				}
			}

			require.NoError(t, p.Set(&c, p.Get(&def)), "the default, as Get spells it")
			assert.Equal(t, p.Get(&def), p.Get(&c))
			assert.Equal(t, p.Value(&def), p.Value(&c))
			assert.Equal(t, def, c)

			// From a zero Config too: nothing of Default is needed to set it.
			var zero config.Config
			require.NoError(t, p.Set(&zero, p.Get(&def)))
			assert.Equal(t, p.Get(&def), p.Get(&zero))
		})
	}
}

// rejects requires that Set refuses s for p, with a *ParamError of one
// line that names the flag, the value and the valid range (Want), and
// leaves the configuration as it was.
func rejects(t *testing.T, p config.Param, s string) {
	t.Helper()
	c := config.Default()
	err := p.Set(&c, s)
	require.Error(t, err, "-%s %s", p.Flag, s)
	var pe *config.ParamError
	require.True(t, errors.As(err, &pe), "%T", err)
	assert.Equal(t, config.ParamError{Param: p.Flag, Value: s, Want: p.Want()}, *pe)
	assert.Equal(t, fmt.Sprintf("-%s %s: want %s", p.Flag, s, p.Want()), err.Error())
	assert.NotContains(t, err.Error(), "\n")
	if p.Flag != "speed" { // see TestSpeedRefusedIsNotWritten
		assert.Equal(t, config.Default(), c, "a value refused is not written")
	}
}

// TestSpeedRefusedIsNotWritten: like every other parameter's, a -speed
// that Set refuses leaves the configuration as it was.
func TestSpeedRefusedIsNotWritten(t *testing.T) {
	p, ok := config.Lookup("speed")
	require.True(t, ok)
	for _, bad := range []string{"0.0009", "-1", "1.1e7", "NaN"} {
		t.Run(bad, func(t *testing.T) {
			c := config.Default()
			require.Error(t, p.Set(&c, bad))
			assert.Equal(t, config.Default(), c)
		})
	}
}

func accepts(t *testing.T, p config.Param, s string) {
	t.Helper()
	c := config.Default()
	require.NoError(t, p.Set(&c, s), "-%s %s", p.Flag, s)
	require.NoError(t, p.Check(&c), "-%s %s", p.Flag, s)
}

// TestParamsRange: each parameter's Want names its valid range, and Set
// accepts the range's ends and refuses what is just outside them, or of
// the wrong form.
func TestParamsRange(t *testing.T) {
	def := config.Default()
	for _, p := range config.Params {
		t.Run(p.Flag, func(t *testing.T) {
			want := p.Want()
			require.NotEmpty(t, want)
			switch p.Value(&def).(type) {
			case int64:
				m := intRange.FindStringSubmatch(want)
				require.NotNil(t, m, want)
				lo, _ := strconv.ParseInt(m[1], 10, 64)
				hi, _ := strconv.ParseInt(m[2], 10, 64)
				accepts(t, p, m[1])
				accepts(t, p, m[2])
				rejects(t, p, strconv.FormatInt(lo-1, 10))
				rejects(t, p, strconv.FormatInt(hi+1, 10))
				rejects(t, p, "1.5")
				rejects(t, p, "")
			case float64:
				if p.Flag == "speed" {
					assert.Equal(t, "max, or model seconds per wall second from 0.001 to 1e+07 (e.g. 120)", want)
					for _, ok := range []string{"max", "0.001", "1e7"} {
						accepts(t, p, ok)
					}
					for _, bad := range []string{"0", "0.0009", "-0.001", "1.1e7", "fast", "NaN", "-1e8"} {
						rejects(t, p, bad)
					}
					return
				}
				m := floatRange.FindStringSubmatch(want)
				require.NotNil(t, m, want)
				lo, _ := strconv.ParseFloat(m[1], 64)
				hi, _ := strconv.ParseFloat(m[2], 64)
				accepts(t, p, m[1])
				rejects(t, p, strconv.FormatFloat(math.Nextafter(lo, math.Inf(-1)), 'g', -1, 64))
				accepts(t, p, strconv.FormatFloat(hi, 'g', -1, 64))
				rejects(t, p, strconv.FormatFloat(math.Nextafter(hi, math.Inf(1)), 'g', -1, 64))
				for _, bad := range []string{"NaN", "+Inf", "-Inf", "a lot", ""} {
					rejects(t, p, bad)
				}
			case time.Duration:
				var lo, hi time.Duration
				var err error
				if m := durAbove.FindStringSubmatch(want); m != nil {
					lo = time.Nanosecond
					hi, err = time.ParseDuration(m[1])
				} else {
					m := durRange.FindStringSubmatch(want)
					require.NotNil(t, m, want)
					lo, err = time.ParseDuration(m[1])
					require.NoError(t, err)
					hi, err = time.ParseDuration(m[2])
				}
				require.NoError(t, err)
				accepts(t, p, lo.String())
				accepts(t, p, hi.String())
				rejects(t, p, (lo - time.Nanosecond).String())
				rejects(t, p, (hi + time.Nanosecond).String())
				rejects(t, p, "10")
				rejects(t, p, "")
			case bool:
				assert.Equal(t, "true or false", want)
				assert.True(t, p.IsBool())
				accepts(t, p, "true")
				accepts(t, p, "false")
				rejects(t, p, "maybe")
				rejects(t, p, "")
			case uint64:
				assert.Equal(t, "a whole number from 0 to 18446744073709551615", want)
				accepts(t, p, "0")
				accepts(t, p, "18446744073709551615")
				rejects(t, p, "-1")
				rejects(t, p, "18446744073709551616")
			case string: // epoch
				require.Equal(t, "epoch", p.Flag)
				accepts(t, p, "")
				accepts(t, p, "2015-08-04T17:45:00Z")
				rejects(t, p, "2015-08-04")
				rejects(t, p, "yesterday")
			default:
				t.Fatalf("-%s: a value of type %T the test does not know", p.Flag, p.Value(&def))
			}
			if _, isBool := p.Value(&def).(bool); !isBool {
				assert.False(t, p.IsBool())
			}
		})
	}
}

// TestParamsBounds: the shared bounds are the ones enforced: a run and
// every duration at most MaxDuration, a latency at most MaxLatency, a
// model loop's interval at least MinInterval.
func TestParamsBounds(t *testing.T) {
	cases := []struct {
		name  string
		flags []string
		ok    time.Duration
		bad   time.Duration
	}{
		{"MaxDuration", []string{"duration", "break-at", "cleanup-cutoff", "alert-backlog-age-max", "alert-for", "alert-keep-firing-for", "status-every", "drained"},
			config.MaxDuration, config.MaxDuration + time.Nanosecond},
		{"MaxLatency", []string{"clone-time", "clone-spread", "boot-time", "boot-spread", "destroy-time", "destroy-spread", "reject-time",
			"build-time", "build-spread", "build-timeout", "start-timeout", "stall-timeout", "cleanup-every"},
			config.MaxLatency, config.MaxLatency + time.Nanosecond},
		{"MinInterval", []string{"cleanup-every", "window", "status-every", "sample-every"},
			config.MinInterval, config.MinInterval - time.Nanosecond},
	}
	for _, tc := range cases {
		for _, flag := range tc.flags {
			t.Run(tc.name+"/"+flag, func(t *testing.T) {
				p, ok := config.Lookup(flag)
				require.True(t, ok)
				accepts(t, p, tc.ok.String())
				rejects(t, p, tc.bad.String())
			})
		}
	}
	assert.Equal(t, 10*365*24*time.Hour, config.MaxDuration)
	assert.Equal(t, 1000*time.Hour, config.MaxLatency)
	assert.Equal(t, time.Second, config.MinInterval)
}

// TestParamsTable: every parameter is found by its flag and by its key,
// has a one-line doc, a unit unless it is a switch, and a section of
// Sections, and the table is in the order of Sections.
func TestParamsTable(t *testing.T) {
	flags, keys := map[string]bool{}, map[string]bool{}
	flagForm := regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)
	keyForm := regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?$`)
	def := config.Default()
	section := 0
	for _, p := range config.Params {
		t.Run(p.Flag, func(t *testing.T) {
			assert.Regexp(t, flagForm, p.Flag)
			assert.False(t, flags[p.Flag], "the flag is used twice")
			flags[p.Flag] = true

			got, ok := config.Lookup(p.Flag)
			require.True(t, ok)
			assert.Equal(t, p.Key, got.Key)
			assert.Equal(t, p.Doc, got.Doc)
			if p.Key != "" {
				assert.Regexp(t, keyForm, p.Key)
				assert.False(t, keys[p.Key], "the key is used twice")
				keys[p.Key] = true
				got, ok := config.LookupKey(p.Key)
				require.True(t, ok)
				assert.Equal(t, p.Flag, got.Flag)
				// A key sits under its section, but for the run's, at the top.
				if p.Section == config.SectionRun {
					assert.NotContains(t, p.Key, ".")
				} else {
					assert.True(t, strings.HasPrefix(p.Key, p.Section+"."), "key %s, section %s", p.Key, p.Section)
				}
			}

			assert.NotEmpty(t, strings.TrimSpace(p.Doc))
			assert.NotContains(t, p.Doc, "\n")
			assert.Equal(t, p.IsBool(), p.Unit == "", "a unit, unless a switch: %q", p.Unit)
			assert.Equal(t, strings.ReplaceAll(p.Flag, "-", "_"), p.LogKey())

			i := slices.Index(config.Sections, p.Section)
			require.GreaterOrEqual(t, i, 0, "section %q is not in Sections", p.Section)
			assert.GreaterOrEqual(t, i, section, "-%s (%s) comes after section %s", p.Flag, p.Section, config.Sections[section])
			section = max(section, i)
			assert.NoError(t, p.Check(&def), "the default is in range")
		})
	}
	for _, s := range config.Sections {
		assert.True(t, slices.ContainsFunc(config.Params, func(p config.Param) bool { return p.Section == s }), "section %s has no parameter", s)
	}
	for _, missing := range []string{"", "no-such-flag", "Vms", "-vms"} {
		_, ok := config.Lookup(missing)
		assert.False(t, ok, "%q", missing)
	}
	for _, missing := range []string{"", "vms", "cluster", "cluster.VMs", "alerts.window"} {
		_, ok := config.LookupKey(missing)
		assert.False(t, ok, "%q", missing)
	}
	assert.NoError(t, def.Validate())
}

// TestValidate: Validate returns the first thing wrong as one line that
// names the flag, what it was and what is valid: a parameter out of its
// range, or parameters that disagree.
func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		edit func(c *config.Config)
		want string // the whole message, or its start when it ends in ...
	}{
		{"vms 0", func(c *config.Config) { c.VMs = 0 }, "-vms 0: want an integer from 1 to 10000000"},
		{"a window under MinInterval", func(c *config.Config) { c.Window = 500 * time.Millisecond }, "-window 500ms: want a duration from 1s to 24h (e.g. 90s, 10m, 4h)"},
		{"a run over MaxDuration", func(c *config.Config) { c.Duration = config.MaxDuration + time.Hour }, "-duration 87601h0m0s: want a duration above 0, at most 87600h (e.g. 90s, 10m, 4h)"},
		{"a latency over MaxLatency", func(c *config.Config) { c.Clone.Mean = config.MaxLatency + time.Hour }, "-clone-time 1001h0m0s: want a duration from 0s to 1000h (e.g. 90s, 10m, 4h)"},
		{"speed over the fastest", func(c *config.Config) { c.Speed = 1e8 }, "-speed 1e+08: want max, or model seconds per wall second from 0.001 to 1e+07 (e.g. 120)"},
		{"arrival rate NaN", func(c *config.Config) { c.ArrivalsPerMinute = math.NaN() }, "-arrival-rate NaN: want a number from 1e-06 to 1e+07"},
		{"sample interval under a second", func(c *config.Config) { c.SampleEvery = 999 * time.Millisecond }, "-sample-every 999ms: want a duration from 1s to 24h (e.g. 90s, 10m, 4h)"},
		{"break at after the end", func(c *config.Config) { c.BreakAt = 2 * time.Hour }, "-break-at 2h0m0s: want a model time within the run's -duration 1h0m0s"},
		{"a run past year 9999", func(c *config.Config) {
			c.Epoch, c.Duration = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), 48*time.Hour
		}, "-epoch 9999-12-31T00:00:00Z: want an epoch whose run (-duration 48h0m0s) ends by 9999-12-31T23:59:59Z"},
		{"two queues of one name, written two ways", func(c *config.Config) { c.Queues[1].Name = "\uff43om" }, "-queues \"\uff43om\": want distinct queue names, none empty or \"all\""},
		{"no queues", func(c *config.Config) { c.Queues = nil }, "-queues none: want at least one queue"},
		{"two queues of one name", func(c *config.Config) { c.Queues[1].Name = "com" }, `-queues "com": want distinct queue names, none empty or "all"`},
		{"a queue called all", func(c *config.Config) { c.Queues[0].Name = "all" }, `-queues "all": want distinct queue names, none empty or "all"`},
		{"a share of 0", func(c *config.Config) { c.Queues[0].Share = 0 }, "-queues share 0 of com: want a share above 0"},
		{"negative max builds", func(c *config.Config) { c.Queues[1].MaxBuilds = -1 }, "-queues max_builds -1 of org: want 0 (no limit) or more builds"},
		{"a night of 0", func(c *config.Config) { c.Traffic = &config.Traffic{Night: 0, Weekend: 1} }, "-traffic night 0: want a night factor above 0 and at most 1"},
		{"a weekend of 0", func(c *config.Config) { c.Traffic = &config.Traffic{Night: 1, Weekend: 0} }, "-traffic weekend 0: want a weekend factor above 0"},
		{"a peak at 24", func(c *config.Config) { c.Traffic = &config.Traffic{Night: 1, Weekend: 1, PeakHour: 24} }, "-traffic peak_hour 24: want an hour from 0 up to, but not including, 24"},
		{"a burst of no length", func(c *config.Config) {
			c.Traffic = &config.Traffic{Night: 1, Weekend: 1, Bursts: []config.Burst{{At: time.Hour, Factor: 2}}}
		}, "-traffic burst at 1h0m0s: want a burst with at >= 0, a length above 0 and a factor above 0 and at most 1000"},
		{"too many bursts", func(c *config.Config) {
			c.Traffic = &config.Traffic{Night: 1, Weekend: 1, Bursts: make([]config.Burst, config.MaxBursts+1)}
		}, "-traffic 1001 bursts: want at most 1000 bursts"},
		{"bursts that overlap past the largest rate", func(c *config.Config) {
			c.ArrivalsPerMinute = 1e5
			c.Traffic = &config.Traffic{Night: 1, Weekend: 1, Bursts: []config.Burst{
				{At: time.Hour, For: time.Hour, Factor: 20}, {At: 90 * time.Minute, For: time.Hour, Factor: 10}}}
		}, "-traffic a peak of 2e+07 jobs per model min: want an arrival rate times the weekend and the bursts that overlap of at most 1e+07 jobs per model min"},
		{"a status line between samples", func(c *config.Config) { c.StatusEvery, c.SampleEvery = 5*time.Second, 10*time.Second },
			"-status-every 5s: want at least -sample-every 10s: a status line reports a sample"},
		{"an action after detection later than the run could last", func(c *config.Config) {
			c.Timeline = incident.Timeline{{At: 61 * time.Minute, AfterDetection: true, Action: "fix_cleanup_credentials"}}
		}, "-timeline fix_cleanup_credentials at detection + 1h1m0s: want a delay after detection within the run's duration 1h0m0s: a longer one could never happen in the run"},
		{"a band upside down", func(c *config.Config) { c.Alerts.VMCountMin, c.Alerts.VMCountMax = 500, 400 }, "-alert-vm-count-min 500: want at most -alert-vm-count-max 400"},
		{"an event on a queue there is not", func(c *config.Config) {
			c.Timeline = incident.Timeline{{At: time.Minute, Action: "pause_builds", Args: incident.Args{Queue: "nope"}}}
		}, "-timeline pause_builds at 1m0s: want ..."},
		{"an event after the end", func(c *config.Config) {
			c.Timeline = incident.Timeline{{At: 2 * time.Hour, Action: "restart_janitor"}}
		}, "-timeline restart_janitor at 2h0m0s: want a model time within the run's duration 1h0m0s"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := config.Default()
			tc.edit(&c)
			err := c.Validate()
			require.Error(t, err)
			var pe *config.ParamError
			require.True(t, errors.As(err, &pe), "%T", err)
			msg := err.Error()
			assert.NotContains(t, msg, "\n")
			if prefix, ok := strings.CutSuffix(tc.want, "..."); ok {
				assert.True(t, strings.HasPrefix(msg, prefix), "%q", msg)
				assert.Greater(t, len(msg), len(prefix), "it says what is valid")
			} else {
				assert.Equal(t, tc.want, msg)
			}
		})
	}
}
