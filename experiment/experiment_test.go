package experiment

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/compare"
	"vmstorm/config"
	"vmstorm/incident"
	"vmstorm/internal/racedetect"
	"vmstorm/internal/sim"
	"vmstorm/metastable"
	"vmstorm/outcome"
	"vmstorm/pipeline"
	"vmstorm/series"
)

// fixtureDir holds the experiment files of these tests, with their base
// scenario (broken-default.yaml: the default run, its janitor broken from
// the start, 30 model minutes of a few milliseconds each).
var fixtureDir = "testdata"

// fixture loads the experiment file name.yaml of fixtureDir.
func fixture(t testing.TB, name string) *Experiment {
	t.Helper()
	e, err := LoadExperiment(filepath.Join(fixtureDir, name+".yaml"))
	require.NoError(t, err)
	return e
}

// cheap is the cheap experiment's every result, run one task at a time with
// RunTask, in the plan's order: once, for every test that needs them.
var cheap struct {
	once    sync.Once
	results []Result
	err     error
}

func cheapResults(t *testing.T) (*Experiment, []Result) {
	t.Helper()
	e := fixture(t, "cheap")
	cheap.once.Do(func() {
		for _, task := range Plan(e) {
			r, err := RunTask(context.Background(), e, task)
			if err != nil {
				cheap.err = err
				return
			}
			cheap.results = append(cheap.results, r)
		}
	})
	require.NoError(t, cheap.err)
	return e, slices.Clone(cheap.results)
}

func variantNames(e *Experiment) []string {
	var names []string
	for _, v := range e.Variants {
		names = append(names, v.Name)
	}
	return names
}

// TestPlan: every replica of every variant, in the file's order of
// variants, then every point of the sweep (x major, y minor), replica by
// replica, each replica followed by its control where its timeline has an
// entry that removes the trigger (not "never fixed"); Index is the place
// in the plan, Pair the replica's (its control's too), and replica r's
// seed is ReplicaSeed(seed, r) wherever it runs, its control's too.
func TestPlan(t *testing.T) {
	e := fixture(t, "cheap")
	var want []Task
	pair := 0
	add := func(variant string, point []int, replicas int, controlled bool) {
		for r := range replicas {
			task := Task{Index: len(want), Pair: pair, Variant: variant, Point: point, Replica: r, Seed: ReplicaSeed(7, r)}
			want = append(want, task)
			if controlled {
				task.Index, task.Control = len(want), true
				want = append(want, task)
			}
			pair++
		}
	}
	for _, v := range []string{"fixed at 20m", "never fixed", "bigger", "fixed at detection"} {
		add(v, nil, 4, v != "never fixed")
	}
	variants := len(want)
	for _, p := range [][]int{{0, 0}, {0, 1}, {1, 0}, {1, 1}} {
		add("fixed at 20m", p, 3, true)
	}
	plan := Plan(e)
	assert.Equal(t, want, plan)
	assert.Len(t, plan, 3*4*2+4+2*2*3*2, "variants × replicas, then points × sweep replicas, each with its control but never fixed's")

	t.Run("one axis", func(t *testing.T) {
		one := *e
		s := *e.Sweep
		s.Y = Axis{}
		one.Sweep = &s
		var points [][]int
		for _, task := range Plan(&one)[variants:] {
			if !task.Control {
				points = append(points, task.Point)
			}
		}
		assert.Equal(t, [][]int{{0}, {0}, {0}, {1}, {1}, {1}}, points)
	})
	t.Run("no sweep", func(t *testing.T) {
		none := *e
		none.Sweep = nil
		assert.Equal(t, want[:variants], Plan(&none))
	})
	t.Run("a control has no fault, and the replica's own seed", func(t *testing.T) {
		for _, task := range plan {
			cfg, err := Config(e, task)
			require.NoError(t, err)
			faults := slices.ContainsFunc(cfg.Timeline, func(ev incident.Event) bool { return incident.IsFault(ev.Action) })
			assert.Equal(t, !task.Control, faults, "%s %v replica %d control %t", task.Variant, task.Point, task.Replica, task.Control)
		}
	})
}

// TestReplicaSeed: replica r runs with one seed in every variant and at
// every point (common random numbers); the seeds of an experiment's
// replicas differ from one another and from another experiment seed's,
// and none is 0 (which would ask the model to pick one).
// TestStartOrder: Run starts every task once, the variants' first in
// their order, then the sweep's a point at a time, its tasks together and
// as planned, the points spread over the grid: the first tenth of the
// 20 x 20 map's points reaches every one of its 20 arrival rates, where
// row by row it reached the first two.
func TestStartOrder(t *testing.T) {
	e, err := LoadExperiment("testdata/map-2015.yaml")
	require.NoError(t, err)
	plan := Plan(e)
	order := startOrder(plan)
	require.Len(t, order, len(plan))
	seen := map[int]bool{}
	for _, task := range order {
		require.False(t, seen[task.Index], "task %d started twice", task.Index)
		seen[task.Index] = true
	}
	variants := slices.IndexFunc(order, func(t Task) bool { return t.Swept() })
	assert.Equal(t, plan[:variants], order[:variants], "the variants' tasks first, as planned")
	perPoint := 2 * e.Sweep.Replicas // each replica with its control
	for i := variants; i < len(order); i += perPoint {
		point := order[i : i+perPoint]
		first := slices.IndexFunc(plan, func(t Task) bool { return t.Index == point[0].Index })
		assert.Equal(t, plan[first:first+perPoint], point, "a point's tasks together, as planned")
	}
	rates := func(tasks []Task) map[int]bool {
		xs := map[int]bool{}
		for _, task := range tasks {
			xs[task.Point[0]] = true
		}
		return xs
	}
	tenth := (len(order) - variants) / 10
	assert.Len(t, rates(order[variants:variants+tenth]), 20, "the first tenth spread over every arrival rate")
	assert.Len(t, rates(plan[variants:variants+tenth]), 2, "where the plan's order reached two")
}

// TestStartOrderKeepsRefinementsTogether: a tipping round's tasks, whose
// points are refinements, start a point at a time too.
func TestStartOrderKeepsRefinementsTogether(t *testing.T) {
	var tasks []Task
	for _, x := range []string{"3.5", "3.75", "4.2"} {
		for r := range 2 {
			for _, control := range []bool{false, true} {
				// A refinement of its own for each task, as Rounds makes them.
				tasks = append(tasks, Task{Index: len(tasks), Refine: &Refinement{Round: 1, X: x}, Replica: r, Control: control})
			}
		}
	}
	order := startOrder(tasks)
	require.Len(t, order, len(tasks))
	for i := 0; i < len(order); i += 4 {
		for _, task := range order[i : i+4] {
			assert.Equal(t, order[i].Refine.X, task.Refine.X, "a refinement's four tasks together")
		}
	}
}

func TestReplicaSeed(t *testing.T) {
	e := fixture(t, "cheap")
	byReplica := map[int]uint64{}
	for _, task := range Plan(e) {
		if s, ok := byReplica[task.Replica]; ok {
			assert.Equal(t, s, task.Seed, "replica %d of %s %v", task.Replica, task.Variant, task.Point)
		}
		byReplica[task.Replica] = task.Seed
	}
	for _, seed := range []uint64{0, 1, 7, 20150804, 1<<64 - 1} {
		seen := map[uint64]int{}
		for r := range 10_000 {
			s := ReplicaSeed(seed, r)
			require.NotZero(t, s, "seed %d, replica %d", seed, r)
			if prev, dup := seen[s]; dup {
				t.Fatalf("seed %d: replicas %d and %d share the seed %d", seed, prev, r, s)
			}
			seen[s] = r
			require.Equal(t, s, ReplicaSeed(seed, r), "a function of its arguments")
		}
		assert.NotEqual(t, ReplicaSeed(seed, 0), ReplicaSeed(seed+1, 0))
	}
}

// TestShard: the n shards of a plan partition it (each task in exactly one
// shard, none lost, in the plan's order), and with n no larger than the
// replicas every shard gets a share of every variant and every point.
func TestShard(t *testing.T) {
	e := fixture(t, "cheap")
	plan := Plan(e)
	for _, n := range []int{1, 2, 3, 4, 5, 27, 28, 29, 100} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			owner := map[int]int{}
			var union []Task
			for i := range n {
				shard := Shard(plan, i, n)
				assert.True(t, slices.IsSortedFunc(shard, func(a, b Task) int { return a.Index - b.Index }), "shard %d in the plan's order", i)
				for _, task := range shard {
					if prev, dup := owner[task.Index]; dup {
						t.Fatalf("task %d in shards %d and %d", task.Index, prev, i)
					}
					owner[task.Index] = i
				}
				union = append(union, shard...)
				if n <= 3 { // the sweep's 3 replicas a point, the variants' 4
					for _, task := range plan {
						assert.True(t, slices.ContainsFunc(shard, func(s Task) bool {
							return s.Variant == task.Variant && slices.Equal(s.Point, task.Point)
						}), "shard %d of %d has no replica of %s %v", i, n, task.Variant, task.Point)
					}
				}
			}
			slices.SortFunc(union, func(a, b Task) int { return a.Index - b.Index })
			assert.Equal(t, plan, union)
		})
	}
}

// TestConfig: a variant's replica runs its variant's configuration with
// its seed, unpaced; a sweep point sets its parameters, and a
// recovery.trigger_removed value moves every removed_by action to it (one
// placed after detection too); the experiment is left as it was.
func TestConfig(t *testing.T) {
	e := fixture(t, "cheap")
	before := deepCopyVariants(e)

	got, err := Config(e, Task{Variant: "bigger", Replica: 2, Seed: 99})
	require.NoError(t, err)
	want := e.Variants[2].Config
	want.Seed, want.Speed = 99, config.MaxSpeed
	assert.Equal(t, want, got)

	got, err = Config(e, Task{Variant: "fixed at 20m", Point: []int{1, 0}, Seed: 5})
	require.NoError(t, err)
	want = e.Variants[0].Config
	want.Seed, want.Speed = 5, config.MaxSpeed
	want.ArrivalsPerMinute = 12
	want.Timeline = incident.Timeline{
		{At: 0, Action: "rotate_cleanup_password"},
		{At: 10 * time.Minute, Action: "fix_cleanup_credentials"},
		{At: 10 * time.Minute, Action: "restart_janitor"},
	}
	assert.Equal(t, want, got)

	t.Run("a trigger placed after detection", func(t *testing.T) {
		d := *e
		d.Sweep = &Sweep{Variant: "fixed at detection", Replicas: 1,
			X: Axis{Key: TriggerRemovedKey, Values: []string{"15m"}}}
		require.True(t, slices.ContainsFunc(e.Variants[3].Config.Timeline, func(ev incident.Event) bool { return ev.AfterDetection }))
		got, err := Config(&d, Task{Variant: "fixed at detection", Point: []int{0}, Seed: 3})
		require.NoError(t, err)
		assert.Equal(t, incident.Timeline{
			{At: 0, Action: "rotate_cleanup_password"},
			{At: 15 * time.Minute, Action: "fix_cleanup_credentials"},
			{At: 15 * time.Minute, Action: "restart_janitor"},
		}, got.Timeline)
	})
	t.Run("an unknown variant", func(t *testing.T) {
		_, err := Config(e, Task{Variant: "nope"})
		require.Error(t, err)
		assert.Contains(t, err.Error(), `"nope"`)
	})
	assert.Equal(t, before, deepCopyVariants(e), "Config changes no variant")
}

func deepCopyVariants(e *Experiment) []Variant {
	out := slices.Clone(e.Variants)
	for i := range out {
		out[i].Config.Timeline = slices.Clone(out[i].Config.Timeline)
		out[i].Config.Queues = slices.Clone(out[i].Config.Queues)
	}
	return out
}

// TestResultsRoundTrip: WriteJSON writes one line a result, and ReadJSON
// reads back exactly what was written, measures that are null included.
func TestResultsRoundTrip(t *testing.T) {
	_, results := cheapResults(t)
	var buf bytes.Buffer
	for _, r := range results {
		require.NoError(t, WriteJSON(&buf, r))
	}
	assert.Equal(t, len(results), strings.Count(buf.String(), "\n"), "one line a result")
	back, err := ReadJSON("r.jsonl", &buf)
	require.NoError(t, err)
	assert.Equal(t, results, back)
	nulls := 0
	for _, r := range back {
		for _, v := range r.Measures {
			if v == nil {
				nulls++
			}
		}
	}
	assert.Positive(t, nulls, "some measures are null (never detected, never recovered), and stay so")
}

// TestSeedsAreWrittenAsStrings: a seed past 2^53, which a float64 (jq,
// JavaScript) rounds to another seed, is written as a string of its
// digits; it reads back exactly from that, and from a number as older
// files wrote it.
func TestSeedsAreWrittenAsStrings(t *testing.T) {
	const big = 16969601660470026205 // jq prints 16969601660470026000
	require.NotEqual(t, uint64(big), uint64(float64(big)), "the seed is one a float64 cannot hold")
	var buf bytes.Buffer
	require.NoError(t, WriteJSON(&buf, Result{Experiment: "e", Variant: "v", Seed: big, Measures: map[string]*float64{}}))
	assert.Contains(t, buf.String(), `"seed":"16969601660470026205"`)
	var generic map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &generic), "any JSON reader")
	assert.Equal(t, "16969601660470026205", generic["seed"], "a reader that takes numbers as float64 keeps the seed")
	for _, line := range []string{buf.String(), strings.Replace(buf.String(), `"16969601660470026205"`, `16969601660470026205`, 1)} {
		back, err := ReadJSON("r.jsonl", strings.NewReader(line))
		require.NoError(t, err, line)
		require.Len(t, back, 1)
		assert.Equal(t, Seed(big), back[0].Seed, line)
	}
	for _, bad := range []string{`"-1"`, `"1.5"`, `"18446744073709551616"`, `"abc"`, `1e3`, `true`} {
		_, err := ReadJSON("r.jsonl", strings.NewReader(strings.Replace(buf.String(), `"16969601660470026205"`, bad, 1)))
		assert.ErrorContains(t, err, "r.jsonl:1: not a vmstorm result", bad)
	}
}

// TestReadJSONErrors: a line that is not a result is an error that names
// the file and the line, in one line.
func TestReadJSONErrors(t *testing.T) {
	_, results := cheapResults(t)
	var one bytes.Buffer
	require.NoError(t, WriteJSON(&one, results[0]))
	good := strings.TrimSuffix(one.String(), "\n")
	for _, tc := range []struct {
		name, text, want string
		bug              string
	}{
		{name: "not JSON, after a blank line", text: good + "\n\nnot json\n", want: "r.jsonl:3: not a vmstorm result"},
		{name: "a line cut short", text: good + "\n" + good[:len(good)/2] + "\n", want: "r.jsonl:2: not a vmstorm result"},
		{name: "an unknown field", text: `{"experiment":"cheap","variant":"bigger","measures":{},"colour":"red"}` + "\n", want: "r.jsonl:1: not a vmstorm result"},
		{name: "a field of the wrong type", text: `{"experiment":"cheap","variant":"bigger","measures":{},"replica":"one"}` + "\n", want: "r.jsonl:1: not a vmstorm result"},
		{name: "no measures", text: `{"experiment":"cheap","variant":"bigger"}` + "\n", want: "r.jsonl:1: not a vmstorm result: no experiment, variant or measures"},
		{name: "no experiment", text: good + "\n" + `{"variant":"bigger","measures":{}}` + "\n", want: "r.jsonl:2: not a vmstorm result"},
		{name: "two results on one line", text: good + good + "\n", want: "r.jsonl:1: not a vmstorm result: more than one JSON value"},
		{name: "a line over the limit", text: good + "\n" + `{"experiment":"` + strings.Repeat("x", maxLine) + `"}` + "\n", want: "r.jsonl:2: not a vmstorm result: a line longer than 4 MiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := ReadJSON("r.jsonl", strings.NewReader(tc.text))
			var problem string
			switch {
			case err == nil:
				problem = fmt.Sprintf("accepted, as %d results", len(rs))
			case !strings.HasPrefix(err.Error(), tc.want):
				problem = fmt.Sprintf("%q does not begin %q", err, tc.want)
			case strings.Contains(err.Error(), "\n"):
				problem = fmt.Sprintf("%q is more than one line", err)
			}
			if tc.bug != "" {
				if problem == "" {
					t.Fatalf("fixed: %s; remove the bug mark", tc.bug)
				}
				t.Skipf("BUG: %s: %s", tc.bug, problem)
			}
			assert.Empty(t, problem)
		})
	}
}

// TestCheck: the results of one experiment, each task's at most once, pass
// (all of them, or any shard's); a task given twice, another experiment's
// result or an unknown variant's is refused, and so is any result that is
// not a task of the plan.
func TestCheck(t *testing.T) {
	e, results := cheapResults(t)
	require.NoError(t, Check(e, results))
	require.NoError(t, Check(e, oddHalf(results)))
	require.NoError(t, Check(e, nil))

	sweepAt := slices.IndexFunc(results, func(r Result) bool { return r.Point != nil })
	require.Positive(t, sweepAt)
	for _, tc := range []struct {
		name   string
		change func(rs []Result) []Result
		want   string
		bug    string
	}{
		{"a task given twice", func(rs []Result) []Result { return append(rs, rs[5]) }, "given twice", ""},
		{"a sweep task given twice", func(rs []Result) []Result { return append(rs, rs[sweepAt]) }, "given twice", ""},
		{"another experiment's result", func(rs []Result) []Result { rs[3].Experiment = "other"; return rs }, `"other"`, ""},
		{"a result of another version of the file", func(rs []Result) []Result { rs[3].File = "0123456789abcdef"; return rs }, "another version of the file", ""},
		{"a result of a vmstorm whose fingerprint was the file's alone", func(rs []Result) []Result { rs[3].File = fileFingerprint(e); return rs }, "written by an older vmstorm", ""},
		{"a variant's result with an empty point", func(rs []Result) []Result { rs[3].Point = []int{}; return rs }, "the sweep point [], which is none", ""},
		{"a sweep result with an empty point", func(rs []Result) []Result { rs[sweepAt].Point = []int{}; return rs }, "the sweep point [], which is none", ""},
		{"an unknown variant", func(rs []Result) []Result { rs[3].Variant = "nope"; return rs }, `"nope"`, ""},
		{"a sweep point off the grid", func(rs []Result) []Result { rs[sweepAt].Point = []int{5, 0}; return rs }, "no task of experiment", ""},
		{"a point of one axis in a grid of two", func(rs []Result) []Result { rs[sweepAt].Point = []int{0}; return rs }, "no task of experiment", ""},
		{"a replica the plan does not have", func(rs []Result) []Result { rs[3].Replica = 40; return rs }, "no task of experiment", ""},
		{"a seed not the plan's", func(rs []Result) []Result { rs[3].Seed = Seed(ReplicaSeed(8, rs[3].Replica)); return rs }, "not the plan's", ""},
		{"a sweep result of a variant the sweep does not run", func(rs []Result) []Result { rs[sweepAt].Variant = "bigger"; return rs }, "no task of experiment", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(e, tc.change(slices.Clone(results)))
			var problem string
			switch {
			case err == nil:
				problem = "accepted"
			case !strings.Contains(err.Error(), tc.want):
				problem = fmt.Sprintf("%q does not say %q", err, tc.want)
			}
			if tc.bug != "" {
				if problem == "" {
					t.Fatalf("fixed: %s; remove the bug mark", tc.bug)
				}
				t.Skipf("BUG: %s: %s", tc.bug, problem)
			}
			assert.Empty(t, problem)
		})
	}
}

// TestFingerprintCoversTheBase: the fingerprint changes with the
// experiment file's text and with its base scenario's, and with nothing
// else: the same texts give the same fingerprint, and a file's text moved
// into its base's does not.
func TestFingerprintCoversTheBase(t *testing.T) {
	e := fixture(t, "cheap")
	require.NotEmpty(t, e.BaseSource, "the base's text is kept")
	same := *e
	assert.Equal(t, Fingerprint(e), Fingerprint(&same))
	for name, change := range map[string]func(x *Experiment){
		"the file": func(x *Experiment) { x.Source = append(slices.Clone(x.Source), '#') },
		"the base": func(x *Experiment) { x.BaseSource = append(slices.Clone(x.BaseSource), '#') },
		"a byte moved over": func(x *Experiment) {
			x.Source, x.BaseSource = append(slices.Clone(x.Source), x.BaseSource[0]), x.BaseSource[1:]
		},
	} {
		x := *e
		change(&x)
		assert.NotEqual(t, Fingerprint(e), Fingerprint(&x), name)
	}
}

// oddHalf is shard 1 of 2 of results, as a -shard 1/2 run gives them.
func oddHalf(results []Result) []Result {
	var out []Result
	for i, r := range results {
		if i%2 == 1 {
			out = append(out, r)
		}
	}
	return out
}

// TestSort puts results, shuffled, back in the plan's order.
func TestSort(t *testing.T) {
	e, results := cheapResults(t)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 5 {
		shuffled := slices.Clone(results)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		Sort(shuffled, variantNames(e))
		assert.Equal(t, results, shuffled)
	}
}

// writeTable is the table of results as a person reads it.
func writeTable(t *testing.T, e *Experiment, results []Result) (*Table, string) {
	t.Helper()
	table, err := Summarize(e, results)
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, WriteTable(&buf, e, table))
	return table, buf.String()
}

// TestSummarizeIgnoresOrder: the same results in any order give the same
// table, byte for byte.
func TestSummarizeIgnoresOrder(t *testing.T) {
	e, results := cheapResults(t)
	want, wantText := writeTable(t, e, results)
	require.NotNil(t, want.Sweep)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 5 {
		shuffled := slices.Clone(results)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		got, gotText := writeTable(t, e, shuffled)
		// (Measures hold functions, which no two tables share by
		// DeepEqual; the rest is data.)
		assert.Equal(t, want.Variants, got.Variants, "shuffle %d", i)
		assert.Equal(t, want.Sweep, got.Sweep, "shuffle %d", i)
		assert.Equal(t, wantText, gotText, "shuffle %d", i)
	}
	// The table can tell results apart: a table of other results differs.
	other := slices.Clone(results)
	v := *other[0].Measures["wait_max"] + 1000
	other[0].Measures = map[string]*float64{}
	for k, p := range results[0].Measures {
		other[0].Measures[k] = p
	}
	other[0].Measures["wait_max"] = &v
	_, otherText := writeTable(t, e, other)
	assert.NotEqual(t, wantText, otherText)
}

// TestSummarizeOfMergedShards: each shard's results written to a results
// file of its own and read back, merged in any order of files, give the
// table of the whole plan, byte for byte.
func TestSummarizeOfMergedShards(t *testing.T) {
	e, results := cheapResults(t)
	_, want := writeTable(t, e, results)
	plan := Plan(e)
	byIndex := map[int]Result{}
	for i, task := range plan {
		byIndex[task.Index] = results[i]
	}
	for _, n := range []int{2, 3, 7} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var merged []Result
			for i := n - 1; i >= 0; i-- { // the files in reverse order
				var file bytes.Buffer
				for _, task := range Shard(plan, i, n) {
					require.NoError(t, WriteJSON(&file, byIndex[task.Index]))
				}
				rs, err := ReadJSON(fmt.Sprintf("shard-%d.jsonl", i), &file)
				require.NoError(t, err)
				merged = append(merged, rs...)
			}
			require.Len(t, merged, len(plan))
			_, got := writeTable(t, e, merged)
			assert.Equal(t, want, got)
		})
	}
}

// TestRunMatchesRunTask: Run, its tasks in parallel, gives each task's
// result once, the same as RunTask gives it alone (same seed, same run,
// however many run at once); this is also the race detector's test of
// Run's goroutines.
func TestRunMatchesRunTask(t *testing.T) {
	e, want := cheapResults(t)
	var got []Result
	require.NoError(t, Run(t.Context(), e, Plan(e), 3, func(r Result) { got = append(got, r) }))
	require.Len(t, got, len(want))
	Sort(got, variantNames(e))
	assert.Equal(t, want, got)
}

// TestRunInterrupted: once its context is done, Run stops the tasks under
// way and starts no more, gives no result of a task cut short, and says
// ErrInterrupted; it leaves no goroutine behind (TestMain checks).
func TestRunInterrupted(t *testing.T) {
	e := fixture(t, "cheap")
	plan := Plan(e)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var got []Result
	err := Run(ctx, e, plan, 2, func(r Result) {
		got = append(got, r)
		cancel()
	})
	require.ErrorIs(t, err, ErrInterrupted)
	assert.NotEmpty(t, got)
	assert.Less(t, len(got), len(plan))
	for _, r := range got {
		assert.Empty(t, r.Error, "a result given is a whole run")
	}

	done, stop := context.WithCancel(t.Context())
	stop()
	_, err = RunTask(done, e, plan[0])
	assert.ErrorIs(t, err, ErrInterrupted)
}

// TestMeasures: one table of measures, each named once, with its meaning
// and the way it improves; every result holds every measure of its
// experiment, null where the run has none.
func TestMeasures(t *testing.T) {
	names := MeasureNames()
	require.Len(t, names, len(Measures))
	seen := map[string]bool{}
	for i, m := range Measures {
		assert.Equal(t, m.Name, names[i])
		assert.False(t, seen[m.Name], "%s is named twice", m.Name)
		seen[m.Name] = true
		assert.NotEmpty(t, m.Doc, m.Name)
		assert.True(t, m.Better == compare.LowerIsBetter || m.Better == compare.HigherIsBetter, m.Name)
		got, ok := LookupMeasure(m.Name)
		assert.True(t, ok)
		assert.Equal(t, m.Name, got.Name)
	}
	_, ok := LookupMeasure("nope")
	assert.False(t, ok)

	e, results := cheapResults(t)
	for _, r := range results {
		require.Len(t, r.Measures, len(e.Measures))
		if r.Variant == "never fixed" {
			assert.Nil(t, r.Measures["time_to_recover"], "never fixed never recovers: none")
			require.NotNil(t, r.Trace)
			assert.Nil(t, r.Trace.RemovedH, "never fixed: its trigger is never removed")
		}
	}
}

// rowsOf keeps every judged row and mark of a run, as a recorder sees
// them.
type rowsOf struct {
	rows  []series.Row
	marks []series.Mark
}

func (w *rowsOf) Row(r series.Row)   { w.rows = append(w.rows, r) }
func (w *rowsOf) Mark(m series.Mark) { w.marks = append(w.marks, m) }

// TestTraceFollowsEveryRow: a replica's trace says what its every sample
// says, worked out here from all the rows the analysis judged: the removal
// (the first mark of an entry removed_by names), the first unhealthy
// sample, and the start of the healthy stretch that reaches the end (none
// if the last sample is unhealthy). In the cheap experiment the cluster of
// 400 VMs ("bigger") never fills in 30 minutes: its leak is silent, and
// the fix at 20m ends it; the others storm.
func TestTraceFollowsEveryRow(t *testing.T) {
	if racedetect.On {
		t.Skip("Serial runs only: see internal/racedetect")
	}
	e := fixture(t, "cheap")
	healthyAtEnd, unhealthyAtEnd := 0, 0
	for _, task := range Plan(e) {
		cfg, err := Config(e, task)
		require.NoError(t, err)
		var w rowsOf
		_, err = outcome.Run(t.Context(), cfg, pipeline.NewKernel(cfg, sim.Serial), outcome.Options{Watchers: []series.Watcher{&w}})
		require.NoError(t, err)
		r, err := RunTask(t.Context(), e, task)
		require.NoError(t, err)
		name := fmt.Sprintf("%s %v replica %d control %t", task.Variant, task.Point, task.Replica, task.Control)
		require.NotNil(t, r.Trace, name)
		removed, ok := e.Recovery.TriggerRemoved(w.marks)
		if assert.Equal(t, ok, r.Trace.RemovedH != nil, name) && ok {
			assert.InDelta(t, removed.Hours(), *r.Trace.RemovedH, 1e-9, name)
		}
		var first, from *float64
		healthy := true
		for _, row := range w.rows {
			h := metastable.Healthy(row, cfg.Drained)
			if !h && first == nil {
				x := row.T.Hours()
				first = &x
			}
			if h && !healthy {
				x := row.T.Hours()
				from = &x
			}
			healthy = h
		}
		if healthy && from == nil {
			zero := 0.0
			from = &zero
		}
		if !healthy {
			from = nil
			unhealthyAtEnd++
		} else {
			healthyAtEnd++
		}
		assert.Equal(t, first, r.Trace.FirstUnhealthyH, name)
		assert.Equal(t, from, r.Trace.HealthyFromH, name)
		assert.Equal(t, task.Control, r.Trace.BacklogNormal != nil, "%s: a control's trace, and only a control's, has its normal levels", name)
	}
	require.Positive(t, healthyAtEnd, "the fixture has runs healthy at their end")
	require.Positive(t, unhealthyAtEnd, "and runs that are not")
}

// resultsOf are the results of variant at point, its controls left out.
func resultsOf(results []Result, variant string, point []int) []Result {
	var out []Result
	for _, r := range results {
		if r.Variant == variant && slices.Equal(r.Point, point) && r.Refine == nil && !r.Control {
			out = append(out, r)
		}
	}
	return out
}

// TestCollectLessOften: the command's garbage collector target is
// GCPercent, with a soft memory limit of MemoryFloor, unless GOGC or
// GOMEMLIMIT says otherwise, and restore puts back the ones before.
func TestCollectLessOften(t *testing.T) {
	target := func() int {
		p := debug.SetGCPercent(100)
		debug.SetGCPercent(p)
		return p
	}
	limit := func() int64 { return debug.SetMemoryLimit(-1) } // -1 reads it
	before, beforeLimit := target(), limit()
	t.Setenv("GOGC", "") // restored at the end
	t.Setenv("GOMEMLIMIT", "")
	require.NoError(t, os.Unsetenv("GOGC"))
	require.NoError(t, os.Unsetenv("GOMEMLIMIT"))
	restore := CollectLessOften()
	assert.Equal(t, GCPercent, target())
	assert.Equal(t, int64(MemoryFloor), limit())
	restore()
	assert.Equal(t, before, target())
	assert.Equal(t, beforeLimit, limit())

	for _, env := range []string{"GOGC", "GOMEMLIMIT"} {
		t.Run(env, func(t *testing.T) {
			t.Setenv(env, "50") // a valid GOGC; for GOMEMLIMIT, 50 bytes, read only at start
			restore = CollectLessOften()
			assert.Equal(t, before, target(), "%s has the last word", env)
			assert.Equal(t, beforeLimit, limit())
			restore()
			assert.Equal(t, before, target())
		})
	}
}

// TestMemoryLimitFollowsTheHeap: the soft limit is MemoryFloor for a heap
// that holds less than half of it, and twice what the heap holds beyond
// that, so that an experiment that holds much is collected as at Go's
// default, never against a limit it is already over; followHeap sets it
// from the live heap.
func TestMemoryLimitFollowsTheHeap(t *testing.T) {
	for _, tt := range []struct {
		live uint64
		want int64
	}{
		{0, MemoryFloor}, {MemoryFloor / 4, MemoryFloor}, {MemoryFloor / 2, MemoryFloor},
		{MemoryFloor, 2 * MemoryFloor}, {3 << 30, 6 << 30},
	} {
		assert.Equal(t, tt.want, memoryLimit(tt.live), "live %d", tt.live)
	}

	was := debug.SetMemoryLimit(MemoryFloor)
	defer debug.SetMemoryLimit(was)
	held := make([]byte, MemoryFloor*5/8) // 160 MiB held: more than half the floor
	runtime.GC()
	followHeap()
	got := debug.SetMemoryLimit(-1)
	assert.GreaterOrEqual(t, got, int64(2*len(held)), "twice the held 160 MiB at least")
	assert.Less(t, got, int64(2*len(held))+64<<20, "and not much more")
	runtime.KeepAlive(held)
}

// TestDrawnReplicasAreWithinTheBudget: the report draws the curves of a
// variant's first CurveReplicas replicas, and of CurveBudget replicas at
// most in all, however many variants there are; never a sweep point's.
func TestDrawnReplicasAreWithinTheBudget(t *testing.T) {
	for _, variants := range []int{1, 4, CurveBudget / CurveReplicas, CurveBudget/CurveReplicas + 1, 100, CurveBudget, CurveBudget + 1} {
		e := &Experiment{Variants: make([]Variant, variants), Replicas: 2 * CurveReplicas}
		n := DrawnReplicas(e)
		assert.LessOrEqual(t, n, CurveReplicas, "%d variants", variants)
		assert.LessOrEqual(t, n*variants, CurveBudget, "%d variants", variants)
		if variants <= CurveBudget/CurveReplicas {
			assert.Equal(t, CurveReplicas, n, "%d variants: each its first %d", variants, CurveReplicas)
		} else if variants <= CurveBudget {
			assert.Positive(t, n, "%d variants: a few replicas each", variants)
		}
		assert.Equal(t, n > 0, Drawn(e, Result{Variant: "v", Replica: 0}))
		assert.False(t, Drawn(e, Result{Variant: "v", Replica: n}), "replica %d of %d variants", n, variants)
		assert.False(t, Drawn(e, Result{Variant: "v", Point: []int{0}, Replica: 0}), "a sweep point's")
	}
}
