package scenario

import (
	"errors"
	"fmt"
	"maps"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/config"
)

// The keys of a scenario file are config.Params' (each parameter with a
// Key) and the structured parts'. The tests here go over config.Params, so
// that a parameter added there is tested here without a change: it needs
// a value unlike its default (derived from its type, or given in
// nonDefaults), and a range its Want states (or a bad value in badValues).

// nonDefaults are values unlike config.Default()'s for the parameters whose
// type gives none (see nonDefault).
var nonDefaults = map[string]string{
	"epoch": "2015-07-31T00:00:00Z",
}

// badValues are values a parameter refuses, for the parameters whose Want
// states no range (see outOfRange).
var badValues = map[string][]string{
	"epoch": {"yesterday", "2015-07-31"},
}

// keyed is every parameter that has a key in a scenario file.
func keyed() []config.Param {
	var out []config.Param
	for _, p := range config.Params {
		if p.Key != "" {
			out = append(out, p)
		}
	}
	return out
}

// nonDefault is a valid value for p unlike its default: from nonDefaults,
// or derived from its type (a number one step up, the other bool, a
// duration a second longer).
func nonDefault(p config.Param) (string, bool) {
	if v, ok := nonDefaults[p.Key]; ok {
		return v, true
	}
	def := config.Default()
	switch v := p.Value(&def).(type) {
	case int64:
		return strconv.FormatInt(v+1, 10), true
	case uint64:
		return strconv.FormatUint(v+1, 10), true
	case float64:
		return strconv.FormatFloat(v+0.25, 'g', -1, 64), true
	case bool:
		return strconv.FormatBool(!v), true
	case time.Duration:
		return (v + time.Second).String(), true
	}
	return "", false
}

// bounds are the range p's Want states: "from LO to HI", or "above 0, at
// most HI" (LO is then 0, and excluded).
var (
	fromTo   = regexp.MustCompile(`from (\S+) to (\S+?)(?:$| \()`)
	aboveMax = regexp.MustCompile(`above 0, at most (\S+?)(?:$| \()`)
)

// edge is a value at one end of a parameter's range, or just beyond it.
type edge struct {
	value string
	valid bool
}

// rangeEdges are the values at the ends of the range p's Want states,
// which it must accept, and the values just beyond them, which it must
// refuse; false if Want states no range.
func rangeEdges(t *testing.T, p config.Param) ([]edge, bool) {
	t.Helper()
	want := p.Want()
	lo, hi, loIn := "", "", true
	if m := fromTo.FindStringSubmatch(want); m != nil {
		lo, hi = m[1], m[2]
	} else if m := aboveMax.FindStringSubmatch(want); m != nil {
		lo, hi, loIn = "0", m[1], false
	} else {
		return nil, false
	}
	def := config.Default()
	switch p.Value(&def).(type) {
	case int64, uint64:
		l, okL := new(big.Int).SetString(lo, 10)
		h, okH := new(big.Int).SetString(hi, 10)
		require.True(t, okL && okH, "%s: the range %q of %q", p.Key, lo+".."+hi, want)
		one := big.NewInt(1)
		return []edge{{l.String(), true}, {h.String(), true},
			{new(big.Int).Sub(l, one).String(), false}, {new(big.Int).Add(h, one).String(), false}}, true
	case float64:
		l, errL := strconv.ParseFloat(lo, 64)
		h, errH := strconv.ParseFloat(hi, 64)
		require.NoError(t, errors.Join(errL, errH), "%s: the range of %q", p.Key, want)
		f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
		below := l / 2
		if l <= 0 {
			below = l - 0.5
		}
		edges := []edge{{f(h), true}, {f(below), false}, {f(h * 2), false}}
		if loIn {
			edges = append(edges, edge{f(l), true})
		} else {
			edges = append(edges, edge{f(l), false})
		}
		return edges, true
	case time.Duration:
		parse := func(s string) time.Duration {
			d, err := time.ParseDuration(s)
			require.NoError(t, err, "%s: the range of %q", p.Key, want)
			return d
		}
		l, h := parse(lo), parse(hi)
		edges := []edge{{h.String(), true}, {(l - time.Nanosecond).String(), false}, {(h + time.Nanosecond).String(), false}}
		if loIn {
			edges = append(edges, edge{l.String(), true})
		} else {
			edges = append(edges, edge{l.String(), false})
		}
		return edges, true
	}
	return nil, false
}

// keyFile is the smallest valid file that sets key to value (written as
// is, unquoted), and other keys as also says, and the line and column of
// the value in it.
func keyFile(key, value string, also map[string]string) (data []byte, line, col int) {
	var b strings.Builder
	b.WriteString("name: keys\n")
	if _, ok := also["duration"]; !ok && key != "duration" {
		b.WriteString("duration: 1h\n")
	}
	keys := append([]string{key}, slices.Sorted(maps.Keys(also))...)
	values := maps.Clone(also)
	if values == nil {
		values = map[string]string{}
	}
	values[key] = value
	bySection := map[string][]string{}
	var sections []string
	for _, k := range keys {
		section, leaf, nested := strings.Cut(k, ".")
		if !nested {
			if k == key {
				line, col = strings.Count(b.String(), "\n")+1, len(k)+3
			}
			fmt.Fprintf(&b, "%s: %s\n", k, values[k])
			continue
		}
		if _, ok := bySection[section]; !ok {
			sections = append(sections, section)
		}
		bySection[section] = append(bySection[section], leaf)
	}
	for _, sec := range sections {
		b.WriteString(sec + ":\n")
		for _, leaf := range bySection[sec] {
			if sec+"."+leaf == key {
				line, col = strings.Count(b.String(), "\n")+1, len(leaf)+5
			}
			fmt.Fprintf(&b, "  %s: %s\n", leaf, values[sec+"."+leaf])
		}
	}
	return []byte(b.String()), line, col
}

// configWith is what keyFile(key, value, also) must read as: the
// defaults, the file's name and duration, and the parameters set.
func configWith(t *testing.T, p config.Param, value string, also map[string]string) config.Config {
	t.Helper()
	c := config.Default()
	c.Name, c.Duration = "keys", time.Hour
	for k, v := range also {
		q, ok := config.LookupKey(k)
		require.True(t, ok, k)
		require.NoError(t, q.Set(&c, v))
	}
	require.NoError(t, p.Set(&c, value))
	return c
}

// rangeCompanions are, for a parameter whose range is narrowed by another's
// value (a cross-field check of config.Validate), values of the others
// that let it take every value of its own range.
var rangeCompanions = map[string]map[string]string{
	"mitigations.backoff_base": {"mitigations.backoff_cap": "1000h"},
	"mitigations.backoff_cap":  {"mitigations.backoff_base": "1ms"},
	"reporting.status_every":   {"reporting.sample_every": "1s"},
	"reporting.sample_every":   {"reporting.status_every": "87600h"},
}

// TestEveryParamHasItsKey: the keys of config.Params are distinct, each
// parameter's key is in its section, and every section but the run's is a
// key of the file that holds its parameters.
func TestEveryParamHasItsKey(t *testing.T) {
	params := keyed()
	require.NotEmpty(t, params)
	seen := map[string]bool{}
	for _, p := range params {
		assert.False(t, seen[p.Key], "%s is the key of two parameters", p.Key)
		seen[p.Key] = true
		got, ok := config.LookupKey(p.Key)
		require.True(t, ok, p.Key)
		assert.Equal(t, p.Flag, got.Flag)
		section, _, nested := strings.Cut(p.Key, ".")
		if !nested {
			assert.Equal(t, config.SectionRun, p.Section, "%s is a top-level key: a run parameter", p.Key)
			continue
		}
		assert.Equal(t, p.Section, section, "%s is in the section of -h and the docs it is listed under", p.Key)
		assert.Contains(t, config.Sections, section)
	}
	for _, k := range structured {
		assert.False(t, seen[k], "%s is a parameter's key and a structured part's", k)
	}
	for _, table := range []map[string]string{nonDefaults, keysOf(badValues), keysOf(rangeCompanions)} {
		for k := range table {
			assert.True(t, seen[k], "a table of these tests has an entry for %s, which is no parameter's key", k)
		}
	}
}

func keysOf[V any](m map[string]V) map[string]string {
	out := map[string]string{}
	for k := range m {
		out[k] = ""
	}
	return out
}

// TestEveryParamReachesTheConfig: for every parameter with a key, present
// and future, a minimal file that sets it to a value unlike its default
// reads back as the defaults with that one parameter set to it.
func TestEveryParamReachesTheConfig(t *testing.T) {
	for _, p := range keyed() {
		t.Run(p.Key, func(t *testing.T) {
			v, ok := nonDefault(p)
			require.True(t, ok, "%s: its type (%T) gives no value unlike its default: add one to nonDefaults", p.Key, p.Value(new(config.Config)))
			def := config.Default()
			want := configWith(t, p, v, nil)
			require.NotEqual(t, p.Get(&def), p.Get(&want), "%s: %s is its default; nonDefault must differ", p.Key, v)

			data, _, _ := keyFile(p.Key, v, nil)
			s, err := Parse("keys.yaml", data)
			require.NoError(t, err, "the file:\n%s", data)
			assert.Equal(t, want, s.Config, "the file:\n%s", data)
			assert.Equal(t, p.Get(&want), p.Get(&s.Config), "the Config holds the file's %s", p.Key)
			assert.NotEqual(t, p.Get(&def), p.Get(&s.Config), "the default is replaced")
		})
	}
}

// TestEveryParamRejectsValuesOutOfItsRange: for every parameter with a key,
// the values at the ends of the range its Want states are accepted, and the
// values just beyond them are rejected at their place, in one line that
// says the key, the value and the range.
func TestEveryParamRejectsValuesOutOfItsRange(t *testing.T) {
	for _, p := range keyed() {
		t.Run(p.Key, func(t *testing.T) {
			edges, ok := rangeEdges(t, p)
			for _, v := range badValues[p.Key] {
				edges = append(edges, edge{v, false})
			}
			if p.IsBool() {
				edges = append(edges, edge{"maybe", false}, edge{"yes", false})
			}
			require.True(t, ok || len(edges) > 0, "%s: its Want (%q) states no range: add bad values to badValues", p.Key, p.Want())
			require.True(t, slices.ContainsFunc(edges, func(e edge) bool { return !e.valid }), "%s: no value to reject", p.Key)
			also := rangeCompanions[p.Key]
			for _, e := range edges {
				data, line, col := keyFile(p.Key, e.value, also)
				s, err := Parse("keys.yaml", data)
				if e.valid {
					if assert.NoError(t, err, "%s: %s is at an end of %q; if another key's value narrows the range, give one that does not in rangeCompanions; the file:\n%s",
						p.Key, e.value, p.Want(), data) {
						assert.Equal(t, configWith(t, p, e.value, also), s.Config)
					}
					continue
				}
				require.Error(t, err, "%s: %s is out of %q; the file:\n%s", p.Key, e.value, p.Want(), data)
				var pe *Error
				require.True(t, errors.As(err, &pe), "want an *Error, got %T: %v", err, err)
				assert.Equal(t, []any{"keys.yaml", line, col}, []any{pe.File, pe.Line, pe.Column}, "the value's place")
				prefix := fmt.Sprintf("keys.yaml:%d:%d: %s %s: want %s (", line, col, p.Key, e.value, p.Want())
				assert.True(t, strings.HasPrefix(err.Error(), prefix), "%q\nwant FILE:LINE:COL: KEY VALUE: want RANGE (hint): %q", err, prefix)
				assert.NotContains(t, err.Error(), "\n", "one line")
			}
		})
	}
}

// fileOf writes the parameters' values as one scenario file, each under
// its section, with one check.
func fileOf(values map[string]string) []byte {
	var b strings.Builder
	b.WriteString("name: every-param\ndescription: every parameter unlike its default\n")
	bySection := map[string][]string{}
	for _, p := range keyed() {
		v, ok := values[p.Key]
		if !ok {
			continue
		}
		section, leaf, nested := strings.Cut(p.Key, ".")
		if !nested {
			fmt.Fprintf(&b, "%s: %s\n", p.Key, v)
			continue
		}
		bySection[section] = append(bySection[section], fmt.Sprintf("  %s: %s\n", leaf, v))
	}
	for _, sec := range config.Sections {
		if lines := bySection[sec]; len(lines) > 0 {
			b.WriteString(sec + ":\n" + strings.Join(lines, ""))
		}
	}
	b.WriteString("checks:\n  - name: some VMs\n    calibration: true\n    metric: vms_true\n    stat: max\n    min: 1\n")
	return []byte(b.String())
}

// TestEveryParamIsReadAsWritten: a file with every parameter unlike its
// default sets each one, to the value its flag would set.
func TestEveryParamIsReadAsWritten(t *testing.T) {
	values := map[string]string{}
	for _, p := range keyed() {
		v, ok := nonDefault(p)
		require.True(t, ok, "%s has no value unlike its default: add one to nonDefaults", p.Key)
		values[p.Key] = v
	}
	data := fileOf(values)
	s, err := Parse("every.yaml", data)
	require.NoError(t, err, "the file:\n%s", data)
	def := config.Default()
	for _, p := range keyed() {
		assert.NotEqual(t, p.Get(&def), p.Get(&s.Config), "%s is set", p.Key)
		want := config.Default()
		require.NoError(t, p.Set(&want, values[p.Key]))
		assert.Equal(t, p.Get(&want), p.Get(&s.Config), "%s is read as written", p.Key)
	}
}

// TestExplicitZeroIsKept: a key given as 0 is 0, judged against its range,
// never replaced by the default as if it were left out: where 0 is out of
// the range, the error says so, with the range.
func TestExplicitZeroIsKept(t *testing.T) {
	tests := []struct {
		key   string
		valid bool
		want  string // the value read back, when 0 is valid
	}{
		{key: "workers.queue_size", valid: true, want: "0"},
		{key: "janitor.rate", valid: true, want: "0"},
		{key: "alerts.requeue_rate_max", valid: true, want: "0"},
		{key: "alerts.backlog_age_max", valid: true, want: "0s"},
		{key: "cluster.vms"},
		{key: "speed"},
		{key: "workload.arrival_rate"},
		{key: "workers.build"},
		{key: "workers.run"},
		{key: "janitor.workers"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			p, ok := config.LookupKey(tt.key)
			require.True(t, ok)
			data, line, col := keyFile(tt.key, "0", nil)
			s, err := Parse("zero.yaml", data)
			if !tt.valid {
				require.Error(t, err)
				assert.Contains(t, err.Error(), fmt.Sprintf("zero.yaml:%d:%d: %s 0: want %s (", line, col, tt.key, p.Want()))
				return
			}
			require.NoError(t, err)
			def := config.Default()
			require.NotEqual(t, tt.want, p.Get(&def), "0 is not the default")
			assert.Equal(t, tt.want, p.Get(&s.Config))
		})
	}
}

// TestStructuredKeysReachTheConfig: the queues' and the traffic curve's
// keys reach the Config; a key the traffic block leaves out takes its
// default (no change at night or at weekends, a peak at noon).
func TestStructuredKeysReachTheConfig(t *testing.T) {
	tests := []struct {
		name     string
		workload string // under workload:
		read     func(config.Config) any
		want     any
	}{
		{"a traffic peak hour", "  traffic:\n    peak_hour: 3\n",
			func(c config.Config) any { return *c.Traffic }, config.Traffic{PeakHour: 3, Night: 1, Weekend: 1}},
		{"a night factor", "  traffic:\n    night: 0.5\n",
			func(c config.Config) any { return *c.Traffic }, config.Traffic{PeakHour: 12, Night: 0.5, Weekend: 1}},
		{"a traffic block without weekend", "  traffic:\n    peak_hour: 17\n    night: 0.25\n",
			func(c config.Config) any { return c.Traffic.Weekend }, 1.0},
		{"a weekend factor", "  traffic:\n    weekend: 0.25\n",
			func(c config.Config) any { return *c.Traffic }, config.Traffic{PeakHour: 12, Night: 1, Weekend: 0.25}},
		{"a burst", "  traffic:\n    bursts:\n      - at: 1h\n        for: 30m\n        factor: 2.5\n",
			func(c config.Config) any { return c.Traffic.Bursts }, []config.Burst{{At: time.Hour, For: 30 * time.Minute, Factor: 2.5}}},
		{"a queue", "  queues:\n    - name: q7\n      share: 0.25\n      max_builds: 7\n",
			func(c config.Config) any { return c.Queues }, []config.Queue{{Name: "q7", Share: 0.25, MaxBuilds: 7}}},
		{"a queue without a limit", "  queues:\n    - name: q7\n      share: 2\n",
			func(c config.Config) any { return c.Queues }, []config.Queue{{Name: "q7", Share: 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse("workload.yaml", []byte("name: w\nduration: 10h\nworkload:\n"+tt.workload))
			require.NoError(t, err)
			assert.Equal(t, tt.want, tt.read(s.Config))
		})
	}
	s, err := Parse("workload.yaml", []byte("name: w\nduration: 10h\n"))
	require.NoError(t, err)
	assert.Nil(t, s.Config.Traffic, "no traffic block, no curve")
	assert.Equal(t, config.Default().Queues, s.Config.Queues)
}
