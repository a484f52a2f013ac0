package scenario

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"vmstorm/config"

	"github.com/goccy/go-yaml"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// keysSkipped are the keys the walk does not enter: they are no parameter
// of the run, or lists whose entries have tests of their own
// (TestParseValidFile, TestParseTimes, the checks' tests).
var keysSkipped = map[string]bool{"description": true, "timeline": true, "checks": true}

// configOf reads, for every scalar key of a scenario file, the Config field
// it sets. A key the walk finds without an entry here fails the test: add
// the entry, and the key is covered.
var configOf = map[string]func(config.Config) any{
	"name":     func(c config.Config) any { return c.Name },
	"epoch":    func(c config.Config) any { return c.Epoch },
	"duration": func(c config.Config) any { return c.Duration },
	"speed":    func(c config.Config) any { return c.Speed },
	"seed":     func(c config.Config) any { return c.Seed },

	"cluster.vms":             func(c config.Config) any { return c.VMs },
	"cluster.cpu_vms":         func(c config.Config) any { return c.CPUVMs },
	"cluster.api_rate":        func(c config.Config) any { return c.APIRate },
	"cluster.api_burst":       func(c config.Config) any { return c.APIBurst },
	"cluster.client_api_rate": func(c config.Config) any { return c.ClientAPIRate },
	"cluster.clone_time":      func(c config.Config) any { return c.Clone.Mean },
	"cluster.clone_spread":    func(c config.Config) any { return c.Clone.Spread },
	"cluster.boot_time":       func(c config.Config) any { return c.PowerOn.Mean },
	"cluster.boot_spread":     func(c config.Config) any { return c.PowerOn.Spread },
	"cluster.destroy_time":    func(c config.Config) any { return c.Destroy.Mean },
	"cluster.destroy_spread":  func(c config.Config) any { return c.Destroy.Spread },
	"cluster.reject_time":     func(c config.Config) any { return c.RejectTime },

	"workload.arrival_rate":            func(c config.Config) any { return c.ArrivalsPerMinute },
	"workload.traffic.peak_hour":       func(c config.Config) any { return traffic(c).PeakHour },
	"workload.traffic.night":           func(c config.Config) any { return traffic(c).Night },
	"workload.traffic.weekend":         func(c config.Config) any { return traffic(c).Weekend },
	"workload.traffic.bursts[].at":     func(c config.Config) any { return burst(c).At },
	"workload.traffic.bursts[].for":    func(c config.Config) any { return burst(c).For },
	"workload.traffic.bursts[].factor": func(c config.Config) any { return burst(c).Factor },
	"workload.queues[].name":           func(c config.Config) any { return c.Queues[0].Name },
	"workload.queues[].share":          func(c config.Config) any { return c.Queues[0].Share },
	"workload.queues[].max_builds":     func(c config.Config) any { return c.Queues[0].MaxBuilds },
	"workload.build_time":              func(c config.Config) any { return c.Build.Mean },
	"workload.build_spread":            func(c config.Config) any { return c.Build.Spread },
	"workload.build_timeout":           func(c config.Config) any { return c.BuildTimeout },
	"workload.max_jobs":                func(c config.Config) any { return c.MaxJobs },
	"workers.build":                    func(c config.Config) any { return c.BuildWorkers },
	"workers.run":                      func(c config.Config) any { return c.RunWorkers },
	"workers.queue_size":               func(c config.Config) any { return c.QueueSize },
	"workers.start_timeout":            func(c config.Config) any { return c.StartTimeout },
	"workers.max_attempts":             func(c config.Config) any { return c.MaxAttempts },
	"workers.deletes_vms":              func(c config.Config) any { return c.WorkerDeletesVMs },
	"workers.delete_failed_vms":        func(c config.Config) any { return c.DeleteFailedVMs },
	"workers.stall_timeout":            func(c config.Config) any { return c.StallTimeout },
	"janitor.every":                    func(c config.Config) any { return c.CleanupEvery },
	"janitor.rate":                     func(c config.Config) any { return c.CleanupRate },
	"janitor.cutoff":                   func(c config.Config) any { return c.CleanupCutoff },
	"janitor.workers":                  func(c config.Config) any { return c.CleanupWorkers },
	"janitor.concurrency":              func(c config.Config) any { return c.CleanupConcurrency },
	"janitor.report_stale":             func(c config.Config) any { return c.ReportStale },
	"alerts.vm_count_min":              func(c config.Config) any { return c.Alerts.VMCountMin },
	"alerts.vm_count_max":              func(c config.Config) any { return c.Alerts.VMCountMax },
	"alerts.requeue_rate_max":          func(c config.Config) any { return c.Alerts.RequeueRateMax },
	"alerts.backlog_age_max":           func(c config.Config) any { return c.Alerts.BacklogAgeMax },
	"alerts.window":                    func(c config.Config) any { return c.Alerts.Window },
	"reporting.status_every":           func(c config.Config) any { return c.StatusEvery },
	"reporting.sample_every":           func(c config.Config) any { return c.SampleEvery },
	"reporting.drained":                func(c config.Config) any { return c.Drained },
}

func traffic(c config.Config) config.Traffic {
	if c.Traffic == nil {
		return config.Traffic{}
	}
	return *c.Traffic
}

func burst(c config.Config) config.Burst {
	if tr := traffic(c); len(tr.Bursts) > 0 {
		return tr.Bursts[0]
	}
	return config.Burst{}
}

// keyContexts are what a key needs around it to make a valid file: the
// keys a list entry or a traffic block requires, with base values. A key
// that is itself in its context is set there to its base value, and the
// file "without the key" holds that base value instead.
var keyContexts = []struct {
	prefix string
	keys   map[string]any
}{
	{"workload.traffic.", map[string]any{"workload.traffic.peak_hour": 3, "workload.traffic.night": 0.5, "workload.traffic.weekend": 1}},
	{"workload.traffic.bursts[].", map[string]any{"workload.traffic.bursts[].at": "1h", "workload.traffic.bursts[].for": "1h", "workload.traffic.bursts[].factor": 2}},
	{"workload.queues[].", map[string]any{"workload.queues[].name": "com", "workload.queues[].share": 1}},
}

// keyValues override the value derived from a key's Go type where that
// value would be invalid or the default. By type: a string is a duration
// ("3h7m"), an integer 7, a number 0.25, a bool true.
var keyValues = map[string]any{
	"epoch":                  "2015-07-31T00:00:00Z", // an RFC 3339 time, not a duration
	"janitor.report_stale":   false,                  // true is the default
	"workload.queues[].name": "q7",                   // a name, not a duration
}

// leafKey is a scalar key of a scenario file, such as cluster.vms or
// workload.queues[].share, and its Go type.
type leafKey struct {
	path string
	typ  reflect.Type
}

// leafKeys walks a File type by its yaml tags, through nested structs,
// pointers and lists of structs (a list entry's keys under "[]").
func leafKeys(t *testing.T, typ reflect.Type, prefix string) []leafKey {
	t.Helper()
	var out []leafKey
	for i := range typ.NumField() {
		f := typ.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		require.NotEmpty(t, tag, "%s%s has no yaml key", prefix, f.Name)
		path := prefix + tag
		if keysSkipped[path] {
			continue
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case ft.Kind() == reflect.Struct:
			out = append(out, leafKeys(t, ft, path+".")...)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			out = append(out, leafKeys(t, ft.Elem(), path+"[].")...)
		case ft.Kind() == reflect.String, ft.Kind() == reflect.Bool, ft.Kind() == reflect.Float64,
			ft.Kind() >= reflect.Int && ft.Kind() <= reflect.Uint64:
			out = append(out, leafKey{path, ft})
		default:
			t.Fatalf("key %s is a %s: teach leafKeys and keyValue about it", path, ft)
		}
	}
	return out
}

// keyValue is the value a key is set to: its override, or one derived
// from its type.
func keyValue(k leafKey) any {
	if v, ok := keyValues[k.path]; ok {
		return v
	}
	switch k.typ.Kind() {
	case reflect.String:
		return "3h7m"
	case reflect.Bool:
		return true
	case reflect.Float64:
		return 0.25
	default:
		return 7
	}
}

// setKey sets a dotted key in a YAML tree, making the maps and the one-
// entry lists ("[]") on its way.
func setKey(tree map[string]any, path string, v any) {
	parts := strings.Split(path, ".")
	m := tree
	for _, p := range parts[:len(parts)-1] {
		if name, ok := strings.CutSuffix(p, "[]"); ok {
			list, _ := m[name].([]any)
			if list == nil {
				list = []any{map[string]any{}}
				m[name] = list
			}
			m = list[0].(map[string]any)
			continue
		}
		next, _ := m[p].(map[string]any)
		if next == nil {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[parts[len(parts)-1]] = v
}

// baseFile is the smallest valid file around key: a name, a duration and
// the key's contexts.
func baseFile(key string) map[string]any {
	tree := map[string]any{"name": "keys", "duration": "10h"}
	for _, c := range keyContexts {
		if strings.HasPrefix(key, c.prefix) {
			for k, v := range c.keys {
				setKey(tree, k, v)
			}
		}
	}
	return tree
}

func parseTree(t *testing.T, tree map[string]any) config.Config {
	t.Helper()
	data, err := yaml.Marshal(tree)
	require.NoError(t, err)
	s, err := Parse("keys.yaml", data)
	require.NoError(t, err, "the file:\n%s", data)
	return s.Config
}

// want is v, as a scenario file writes it, converted to the type of the
// Config field it sets.
func want(t *testing.T, v any, field reflect.Type) any {
	t.Helper()
	switch field {
	case reflect.TypeFor[time.Duration]():
		d, err := time.ParseDuration(v.(string))
		require.NoError(t, err)
		return d
	case reflect.TypeFor[time.Time]():
		tm, err := time.Parse(time.RFC3339, v.(string))
		require.NoError(t, err)
		return tm
	}
	return reflect.ValueOf(v).Convert(field).Interface()
}

// TestEveryKeyReachesTheConfig: for every scalar key of a scenario file,
// present and future, a minimal file that sets it to a value unlike the
// default gives a Config that differs from the same file without it, and
// the Config field the key names holds the value. A key added to File
// without an entry in configOf fails here.
func TestEveryKeyReachesTheConfig(t *testing.T) {
	keys := leafKeys(t, reflect.TypeFor[File](), "")
	walked := map[string]bool{}
	for _, k := range keys {
		walked[k.path] = true
		t.Run(k.path, func(t *testing.T) {
			read, ok := configOf[k.path]
			require.True(t, ok, "key %s has no entry in configOf: add the Config field it sets", k.path)

			base := baseFile(k.path)
			without := parseTree(t, base)
			setKey(base, k.path, keyValue(k))
			with := parseTree(t, base)

			assert.NotEqual(t, without, with, "setting %s changes the Config", k.path)
			got := read(with)
			wantV := want(t, keyValue(k), reflect.TypeOf(got))
			if tm, ok := wantV.(time.Time); ok {
				assert.True(t, tm.Equal(got.(time.Time)), "%s: got %v, want %v", k.path, got, tm)
			} else {
				assert.Equal(t, wantV, got, "the Config holds the file's %s", k.path)
			}
			assert.NotEqual(t, got, read(without), "without %s, the Config holds another value", k.path)
		})
	}
	stale := slices.Sorted(maps.Keys(configOf))
	stale = slices.DeleteFunc(stale, func(k string) bool { return walked[k] })
	assert.Empty(t, stale, "configOf has entries for keys that File no longer has")
}

// TestExplicitZeroIsKept: a key given as 0 is 0, judged by Validate, never
// replaced by the default as if it were left out.
func TestExplicitZeroIsKept(t *testing.T) {
	tests := []struct {
		key  string
		read func(config.Config) any
		want any    // the Config's value, when 0 is valid
		err  string // the error, when it is not
	}{
		{key: "workers.queue_size", read: configOf["workers.queue_size"], want: 0},
		{key: "janitor.rate", read: configOf["janitor.rate"], want: 0.0},
		{key: "cluster.vms", err: "vms 0: want an integer from 1 to"},
		{key: "speed", err: "speed 0: want max, or model seconds per wall second"},
		{key: "workload.arrival_rate", err: "arrival-rate 0: want jobs per model minute, above 0"},
		{key: "workers.build", err: "build-workers 0: want an integer from 1"},
		{key: "workers.run", err: "run-workers 0: want an integer from 1"},
		{key: "janitor.workers", err: "cleanup-workers 0: want an integer from 1"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			tree := baseFile(tt.key)
			setKey(tree, tt.key, 0)
			data, err := yaml.Marshal(tree)
			require.NoError(t, err)
			s, err := Parse("zero.yaml", data)
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, reflect.ValueOf(tt.want).Convert(reflect.TypeOf(tt.read(s.Config))).Interface(), tt.read(s.Config))
		})
	}
}
