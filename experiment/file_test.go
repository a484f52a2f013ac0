package experiment

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/config"
	"vmstorm/incident"
	"vmstorm/internal/filetest"
	"vmstorm/scenario"
)

// expMeasures are the measures this package defines (MeasureNames), as
// an experiment that names none compares them.
var expMeasures = []string{"jobs_delayed", "wait_p95", "wait_max", "peak_backlog", "requeues_per_arrival",
	"vms_leaked", "completed", "failed_or_shed", "time_to_detect", "time_to_recover"}

// expSmall is a valid experiment; every bad file below is a minimal edit of
// it. Its lines, for the positions the cases expect:
//
//	 1 name: small-what-if
//	 2 description: a small valid experiment
//	 3 base: travis-2015-osx
//	 4 replicas: 3
//	 5 seed: 11
//	 6 measures: [wait_max, vms_leaked]
//	 7 recovery:
//	 8   removed_by: [fix_cleanup_credentials, restart_janitor]
//	 9   within: 12h
//	10 timeline:
//	11   - at: 2015-07-31T20:00:00Z
//	12     action: rotate_cleanup_password
//	13   - at: 2015-08-04T18:46:00Z
//	14     action: fix_cleanup_credentials
//	15   - at: 2015-08-04T18:46:00Z
//	16     action: restart_janitor
//	17 variants:
//	18   - name: fix only
//	19   - name: never fixed
//	20     drop: [fix_cleanup_credentials, restart_janitor]
//	21   - name: bigger
//	22     set: {cluster: {vms: 12000}}
//	23   - name: late fix
//	24     drop: [fix_cleanup_credentials]
//	25     add:
//	26       - at: 2015-08-05T06:00:00Z
//	27         action: fix_cleanup_credentials
//	28 sweep:
//	29   variant: fix only
//	30   replicas: 2
//	31   x:
//	32     key: workload.arrival_rate
//	33     values: [2, 3.3]
//	34   y:
//	35     key: recovery.trigger_removed
//	36     values: [2015-08-04T18:46:00Z, 2015-08-05T06:00:00Z]
const expSmall = `name: small-what-if
description: a small valid experiment
base: travis-2015-osx
replicas: 3
seed: 11
measures: [wait_max, vms_leaked]
recovery:
  removed_by: [fix_cleanup_credentials, restart_janitor]
  within: 12h
timeline:
  - at: 2015-07-31T20:00:00Z
    action: rotate_cleanup_password
  - at: 2015-08-04T18:46:00Z
    action: fix_cleanup_credentials
  - at: 2015-08-04T18:46:00Z
    action: restart_janitor
variants:
  - name: fix only
  - name: never fixed
    drop: [fix_cleanup_credentials, restart_janitor]
  - name: bigger
    set: {cluster: {vms: 12000}}
  - name: late fix
    drop: [fix_cleanup_credentials]
    add:
      - at: 2015-08-05T06:00:00Z
        action: fix_cleanup_credentials
sweep:
  variant: fix only
  replicas: 2
  x:
    key: workload.arrival_rate
    values: [2, 3.3]
  y:
    key: recovery.trigger_removed
    values: [2015-08-04T18:46:00Z, 2015-08-05T06:00:00Z]
`

// expEdit replaces the one occurrence of from in text with to.
func expEdit(t *testing.T, text, from, to string) string {
	t.Helper()
	require.Equal(t, 1, strings.Count(text, from), "the edit's %q must occur once", from)
	return strings.Replace(text, from, to, 1)
}

func parseExp(t *testing.T, text string) (*Experiment, error) {
	t.Helper()
	return ParseExperiment("exp.yaml", []byte(text), t.TempDir())
}

// mLine is expSmall's measures: a margin goes after it.
const mLine = "measures: [wait_max, vms_leaked]\n"

// badExperiment is a minimal edit of expSmall that ParseExperiment must
// reject, and where.
type badExperiment struct {
	name     string
	from, to string // the edit of expSmall; from "" replaces the whole file
	// fromB, toB, if set, are a second edit, after the first.
	fromB, toB string
	line, col  int
	msg, hint  []string // what the message and the hint say, in part
	// bug, if set, is a known defect on this file: the case skips while
	// the defect shows, and fails once it is gone, to remove the mark.
	bug string
}

// Positions: a mapping is placed at the ':' after its first key, a
// sequence at its first '-' (or '['), a scalar at its first character;
// that is where goccy/go-yaml puts its nodes.
var badExperiments = []badExperiment{
	// Keys.
	{name: "unknown top-level key", from: "replicas: 3\n", to: "replica: 3\n",
		line: 4, col: 1, msg: []string{`unknown key "replica"`}, hint: []string{"replicas"}},
	{name: "a key given twice", from: "seed: 11\n", to: "seed: 11\nreplicas: 4\n",
		line: 6, col: 1, msg: []string{`"replicas"`, "already defined"}, hint: []string{"a key may appear once"}},
	{name: "unknown key in recovery", from: "  within: 12h\n", to: "  within: 12h\n  whithin: 1h\n",
		line: 10, col: 3, msg: []string{`unknown field "whithin"`}},
	{name: "unknown key in a variant", from: "  - name: bigger\n", to: "  - name: bigger\n    sets: {}\n",
		line: 22, col: 5, msg: []string{`unknown key "sets" in a variant`}, hint: []string{"name, set, drop and add"}},
	{name: "unknown scenario key in set, with did-you-mean", from: "{cluster: {vms: 12000}}", to: "{cluster: {vmz: 12000}}",
		line: 22, col: 21, msg: []string{`unknown key "cluster.vmz"`}, hint: []string{"did you mean cluster.vms?"}},
	{name: "unknown key in the sweep", from: "  replicas: 2\n", to: "  replicas: 2\n  z: {key: seed, values: [1]}\n",
		line: 31, col: 3, msg: []string{`unknown field "z"`}},
	{name: "unknown sweep key, with did-you-mean", from: "key: workload.arrival_rate", to: "key: workload.arival_rate",
		line: 32, col: 10, msg: []string{`unknown key "workload.arival_rate"`}, hint: []string{"did you mean workload.arrival_rate?", TriggerRemovedKey}},

	// The experiment's own keys.
	{name: "no name", from: "name: small-what-if\n", to: "",
		line: 1, col: 12, msg: []string{"the experiment has no name"}, hint: []string{"name:"}},
	{name: "no base", from: "base: travis-2015-osx\n", to: "",
		line: 1, col: 5, msg: []string{"the experiment has no base scenario"}, hint: []string{"base: travis-2015-osx"}},
	{name: "an unknown built-in base", from: "base: travis-2015-osx\n", to: "base: travis-2016-osx\n",
		line: 3, col: 7, msg: []string{`"travis-2016-osx"`}, hint: []string{"a built-in scenario"}},
	{name: "a base file that is not there", from: "base: travis-2015-osx\n", to: "base: missing.yaml\n",
		line: 3, col: 7, msg: []string{"missing.yaml"}, hint: []string{"a scenario file"}},
	{name: "replicas 0", from: "replicas: 3\n", to: "replicas: 0\n",
		line: 4, col: 11, msg: []string{"replicas 0: want from 1 to 100000"}},
	{name: "no replicas", from: "replicas: 3\n", to: "",
		line: 1, col: 5, msg: []string{"replicas 0: want from 1 to 100000"}},
	{name: "replicas over MaxReplicas", from: "replicas: 3\n", to: fmt.Sprintf("replicas: %d\n", MaxReplicas+1),
		line: 4, col: 11, msg: []string{"replicas 100001: want from 1 to 100000"}},
	{name: "replicas not a number", from: "replicas: 3\n", to: "replicas: many\n",
		line: 4, col: 11, msg: []string{"replicas many: want a whole number"}, hint: []string{"docs/experiments.md gives each key's type"}},
	{name: "replicas not whole", from: "replicas: 3\n", to: "replicas: 1.5\n",
		line: 4, col: 11, msg: []string{"replicas 1.5: want a whole number"}},
	{name: "a seed not whole", from: "seed: 11\n", to: "seed: 2.5\n",
		line: 5, col: 7, msg: []string{"seed 2.5: want a whole number"}},
	{name: "a variant's seed", from: "set: {cluster: {vms: 12000}}", to: "set: {seed: 5}", line: 22, col: 10,
		msg: []string{"set cannot give seed"}, hint: []string{"each replica's seed comes from the experiment's seed"}},
	{name: "a variant's speed", from: "set: {cluster: {vms: 12000}}", to: "set: {speed: 100}", line: 22, col: 10,
		msg: []string{"set cannot give speed"}, hint: []string{"every replica runs at speed max"}},
	{name: "a measure twice", from: "[wait_max, vms_leaked]", to: "[wait_max, vms_leaked, wait_max]",
		line: 6, col: 34, msg: []string{"the measure wait_max is given twice"}, hint: []string{"name each measure once"}},
	{name: "too many runs", from: "replicas: 3\n", to: "replicas: 60000\n",
		line: 4, col: 11, msg: []string{"the experiment has 420016 runs (its variants' replicas and its sweep's, with their controls)"}, hint: []string{"at most 100000"}},
	{name: "a negative seed", from: "seed: 11\n", to: "seed: -11\n",
		line: 5, col: 7, msg: []string{"-11"}},
	{name: "an unknown measure", from: "[wait_max, vms_leaked]", to: "[wait_max, vms_leak]",
		line: 6, col: 22, msg: []string{`unknown measure "vms_leak"`}, hint: []string{"the measures are jobs_delayed, wait_p95"}},
	{name: "an unknown removed_by action", from: "  removed_by: [fix_cleanup_credentials, restart_janitor]\n", to: "  removed_by: [fix_cleanup_credentials, restart_jani]\n",
		line: 8, col: 41, msg: []string{`no timeline entry has the id restart_jani, and no action is named so`}, hint: []string{"fix_cleanup_credentials"}},
	{name: "an operators' action after the removal", from: "    action: restart_janitor\nvariants:", to: "    action: restart_janitor\n  - at: 2015-08-05T00:00:00Z\n    action: pause_builds\n    queue: all\nvariants:",
		line: 17, col: 7, msg: []string{"the entry pause_builds at 120h into the run, an operators' action, may come at or after the trigger's removal (fix_cleanup_credentials at 114h46m into the run): the run would not recover by itself"},
		hint: []string{"name it in recovery.removed_by if it is part of the removal"}},
	{name: "an operators' action at the removal's time", from: "    action: restart_janitor\nvariants:", to: "    action: restart_janitor\n  - at: 2015-08-04T18:46:00Z\n    action: pause_builds\n    queue: all\nvariants:",
		line: 17, col: 7, msg: []string{"the entry pause_builds at 114h46m into the run, an operators' action, may come at or after the trigger's removal"}},
	{name: "a variant's action after the removal", from: "  - name: bigger\n", to: "  - name: bigger\n    add:\n      - at: 2015-08-05T00:00:00Z\n        action: set_max_builds\n        queue: all\n        max_builds: 50\n",
		line: 23, col: 11, msg: []string{"the entry set_max_builds at 120h into the run, an operators' action, may come at or after"}},
	{name: "an action after detection that may come after a removal at a model time", from: "  - name: bigger\n", to: "  - name: bigger\n    add:\n      - at: detection + 1h\n        action: pause_builds\n        queue: all\n",
		line: 23, col: 11, msg: []string{"the entry pause_builds at detection + 1h, an operators' action, may come at or after the trigger's removal"}},
	{name: "a sweep point moves the removal past an action", from: "    action: restart_janitor\nvariants:", to: "    action: restart_janitor\n  - at: 2015-08-05T00:00:00Z\n    action: pause_builds\n    queue: all\n  - at: 2015-08-05T00:00:00Z\n    action: resume_builds\n    queue: all\nvariants:",
		line: 17, col: 7, msg: []string{"pause_builds at 120h into the run"}},
	{name: "an id no entry has", from: "  removed_by: [fix_cleanup_credentials, restart_janitor]\n", to: "  removed_by: [the-fix]\n",
		line: 8, col: 16, msg: []string{"no timeline entry has the id the-fix, and no action is named so"}},
	{name: "an id given twice", from: "  - at: 2015-08-04T18:46:00Z\n    action: fix_cleanup_credentials\n", to: "  - id: fix\n    at: 2015-08-04T18:46:00Z\n    action: fix_cleanup_credentials\n  - id: fix\n    at: 2015-08-04T18:46:00Z\n    action: fix_cleanup_credentials\n",
		line: 16, col: 9, msg: []string{"the id fix is given to an entry before this one"}},
	{name: "a bad id", from: "  - at: 2015-08-04T18:46:00Z\n    action: fix_cleanup_credentials\n", to: "  - id: 1fix\n    at: 2015-08-04T18:46:00Z\n    action: fix_cleanup_credentials\n",
		line: 13, col: 9, msg: []string{`id 1fix: want a letter`}},
	{name: "a constant load with no horizon", from: "  within: 12h\n", to: "  within: 12h\n  load: constant\n",
		line: 8, col: 13, msg: []string{"load: constant has no horizon"}, hint: []string{"horizon: 24h"}},
	{name: "an unknown load", from: "  within: 12h\n", to: "  within: 12h\n  load: steady\n",
		line: 10, col: 9, msg: []string{"load steady: want constant"}},
	{name: "a load factor without a constant load", from: "  within: 12h\n", to: "  within: 12h\n  load_factor: 0.5\n",
		line: 10, col: 16, msg: []string{"load_factor without load: constant"}},
	{name: "a bad load factor", from: "  within: 12h\n", to: "  within: 12h\n  horizon: 24h\n  load: constant\n  load_factor: lots\n",
		line: 12, col: 16, msg: []string{"load_factor lots: want a number above 0"}},
	{name: "a horizon shorter than within", from: "  within: 12h\n", to: "  within: 12h\n  horizon: 6h\n",
		line: 10, col: 12, msg: []string{"horizon 6h is shorter than within (12h)"}},
	{name: "a trend longer than the horizon", from: "  within: 12h\n", to: "  within: 12h\n  horizon: 12h\n  trend: 13h\n",
		line: 11, col: 10, msg: []string{"trend 13h is longer than the horizon (12h)"}},
	{name: "a constant load past the run's end", from: "  within: 12h\n", to: "  within: 12h\n  horizon: 40h\n  load: constant\n",
		line: 20, col: 9, msg: []string{"the run ends 35h14m after the trigger's removal, before the horizon (40h)"}, hint: []string{"lengthen the run"}},
	{name: "a constant load with a removal after detection", from: "  within: 12h\n", to: "  within: 12h\n  horizon: 24h\n  load: constant\n",
		fromB: "    drop: [fix_cleanup_credentials]\n    add:\n      - at: 2015-08-05T06:00:00Z\n", toB: "    drop: [fix_cleanup_credentials, restart_janitor]\n    add:\n      - at: detection + 1h\n",
		line: 25, col: 9, msg: []string{"under load: constant the trigger's removal (fix_cleanup_credentials) must be at a model time"}},
	{name: "recovery without within", from: "  within: 12h\n", to: "",
		line: 8, col: 13, msg: []string{"the recovery has no within"}, hint: []string{"within: 12h"}},
	{name: "a within of 0", from: "  within: 12h\n", to: "  within: 0s\n",
		line: 8, col: 13, msg: []string{"the recovery has no within"}},
	{name: "a within that is not a duration", from: "  within: 12h\n", to: "  within: half a day\n",
		line: 9, col: 11, msg: []string{`"half a day" is not a duration`}, hint: []string{"a Go duration such as 90s"}},
	{name: "an experiment timeline that goes backwards", from: "  - at: 2015-08-04T18:46:00Z\n    action: fix_cleanup_credentials\n",
		to:   "  - at: 2015-07-31T19:00:00Z\n    action: fix_cleanup_credentials\n",
		line: 13, col: 9, msg: []string{"goes back in time"}},

	// Margins (line 7, after the measures).
	{name: "a margin of an unknown measure", from: mLine, to: mLine + "margins: {wait_maxx: 5}\n",
		line: 7, col: 11, msg: []string{`unknown measure "wait_maxx"`}, hint: []string{"the measures are jobs_delayed"}},
	{name: "a margin of a measure not compared", from: mLine, to: mLine + "margins: {jobs_delayed: 5}\n",
		line: 7, col: 11, msg: []string{"a margin for jobs_delayed, which the experiment does not compare"}, hint: []string{"add it to measures"}},
	{name: "a margin of 0", from: mLine, to: mLine + "margins: {wait_max: 0}\n",
		line: 7, col: 21, msg: []string{"the margin of wait_max 0: want a number above 0, or a percentage above 0% up to 100%"}, hint: []string{"wait_max: 10%"}},
	{name: "a negative margin", from: mLine, to: mLine + "margins:\n  vms_leaked: -20\n",
		line: 8, col: 15, msg: []string{"the margin of vms_leaked -20"}},
	{name: "a margin that is not a number", from: mLine, to: mLine + "margins: {wait_max: lots}\n",
		line: 7, col: 21, msg: []string{"the margin of wait_max lots"}},
	{name: "a percentage over 100", from: mLine, to: mLine + "margins: {wait_max: 150%}\n",
		line: 7, col: 21, msg: []string{"the margin of wait_max 150%"}},
	{name: "a margin of NaN", from: mLine, to: mLine + "margins: {wait_max: .nan}\n",
		line: 7, col: 21, msg: []string{"the margin of wait_max .nan"}},
	{name: "a margin past float64", from: mLine, to: mLine + "margins: {wait_max: 1e999}\n",
		line: 7, col: 21, msg: []string{"the margin of wait_max 1e999"}},
	{name: "a margin that is a list", from: mLine, to: mLine + "margins: {wait_max: [1]}\n",
		line: 7, col: 21, msg: []string{`the margin of wait_max ""`}},
	{name: "a margin given twice", from: mLine, to: mLine + "margins:\n  wait_max: 1\n  wait_max: 2\n",
		line: 9, col: 3, msg: []string{"wait_max"}},
	{name: "margins that are a list", from: mLine, to: mLine + "margins: [wait_max]\n",
		line: 7, col: 10, msg: []string{"margins is a mapping of measures to their margins"}},
	{name: "margins given twice", from: mLine, to: mLine + "margins: {wait_max: 1}\nmargins: {wait_max: 2}\n",
		line: 8, col: 1, msg: []string{"margins"}},

	// Variants.
	{name: "no variants", from: "variants:\n  - name: fix only\n  - name: never fixed\n    drop: [fix_cleanup_credentials, restart_janitor]\n  - name: bigger\n    set: {cluster: {vms: 12000}}\n  - name: late fix\n    drop: [fix_cleanup_credentials]\n    add:\n      - at: 2015-08-05T06:00:00Z\n        action: fix_cleanup_credentials\n",
		to: "", line: 1, col: 5, msg: []string{"the experiment has no variants"}},
	{name: "a variant without a name", from: "  - name: bigger\n    set:", to: "  - set:",
		line: 21, col: 8, msg: []string{"the variant has no name"}, hint: []string{"name:"}},
	{name: "two variants of one name", from: "  - name: bigger\n", to: "  - name: never fixed\n",
		line: 21, col: 11, msg: []string{`the variant name "never fixed" is given twice`}},
	{name: "two variants of one name written two ways (NFC and NFD)", from: "  - name: bigger\n", to: "  - name: \"caf\\u00e9\"\n  - name: \"cafe\\u0301\"\n", // é, and e with an accent
		line: 22, col: 11, msg: []string{`the variant name "cafe\u0301" is "caf\u00e9" written another way`}, hint: []string{"a name of its own"}},
	{name: "two variants of one name written two ways (a ligature)", from: "  - name: bigger\n", to: "  - name: \"\\uFB01x only\"\n", // ﬁ
		line: 21, col: 11, msg: []string{`the variant name "\ufb01x only" is "fix only" written another way (the same name under Unicode normalisation, NFKC)`}},
	{name: "a variant's name that clears the screen", from: "  - name: bigger\n", to: "  - name: \"\\e[2Jbigger\"\n",
		line: 21, col: 11, msg: []string{`"\x1b[2Jbigger" holds U+001B, a control character`}},
	{name: "an experiment's description that sets the window's title", from: "description: a small valid experiment\n", to: "description: \"\\e]0;TITLE\\a\"\n",
		line: 2, col: 14, msg: []string{"U+001B, a control character"}},
	{name: "a variant that is not a mapping", from: "  - name: fix only\n", to: "  - fix only\n",
		line: 18, col: 5, msg: []string{"a variant is a mapping"}},
	{name: "set with the timeline", from: "{cluster: {vms: 12000}}", to: "{timeline: [{at: 1h, action: restart_janitor}]}",
		line: 22, col: 10, msg: []string{"set cannot give timeline"}, hint: []string{"drop and add"}},
	{name: "set with the queues", from: "{cluster: {vms: 12000}}", to: "{workload: {queues: [{name: a, share: 1}]}}",
		line: 22, col: 10, msg: []string{"set cannot give workload.queues"}},
	{name: "set with a value out of range", from: "{cluster: {vms: 12000}}", to: "{cluster: {vms: 0}}",
		line: 22, col: 26, msg: []string{"cluster.vms 0: want an integer from 1 to 10000000"}},
	{name: "set with a value out of its range", from: "{cluster: {vms: 12000}}", to: "{janitor: {cutoff: 0s}}",
		line: 22, col: 29, msg: []string{"janitor.cutoff 0s: want a duration above 0"}},
	{name: "set that puts the timeline past the end of the run", from: "{cluster: {vms: 12000}}", to: "{duration: 10h}",
		line: 22, col: 10, msg: []string{"timeline rotate_cleanup_password at 20h0m0s: want a model time within the run's duration 10h0m0s"}},
	{name: "set given twice", from: "  - name: bigger\n", to: "  - name: bigger\n    set: {cluster: {vms: 5}}\n",
		line: 23, col: 5, msg: []string{`"set"`, "already defined"}},
	{name: "set that is a list", from: "{cluster: {vms: 12000}}", to: "[cluster]",
		line: 22, col: 10, msg: []string{"set holds scenario keys"}},
	{name: "an unknown drop action", from: "    drop: [fix_cleanup_credentials]\n", to: "    drop: [fix_janitor]\n",
		line: 24, col: 12, msg: []string{`unknown action "fix_janitor"`}, hint: []string{"pause_builds"}},
	{name: "an add entry with a bad time", from: "      - at: 2015-08-05T06:00:00Z\n", to: "      - at: tomorrow\n",
		line: 26, col: 13, msg: []string{`"tomorrow" is neither a time nor a duration`}},
	{name: "an add entry after the end of the run", from: "      - at: 2015-08-05T06:00:00Z\n", to: "      - at: 2015-08-07T06:00:00Z\n",
		line: 26, col: 13, msg: []string{"after the end of the run"}},
	{name: "an add entry with an unknown action", from: "        action: fix_cleanup_credentials\nsweep:", to: "        action: fix_everything\nsweep:",
		line: 27, col: 17, msg: []string{`unknown action "fix_everything"`}},

	// The sweep.
	{name: "a sweep that names no variant", from: "  variant: fix only\n", to: "",
		line: 29, col: 11, msg: []string{"the sweep names no variant"}},
	{name: "a sweep of an unknown variant", from: "  variant: fix only\n", to: "  variant: fixed\n",
		line: 29, col: 12, msg: []string{`no variant "fixed"`}, hint: []string{"one of the experiment's variants"}},
	{name: "sweep replicas over MaxReplicas", from: "  replicas: 2\n", to: "  replicas: 100001\n",
		line: 30, col: 13, msg: []string{"replicas 100001: want from 1 to 100000"}},
	{name: "a bad sweep value", from: "values: [2, 3.3]", to: "values: [2, lots]",
		line: 33, col: 17, msg: []string{"workload.arrival_rate lots"}},
	{name: "a sweep value out of range", from: "values: [2, 3.3]", to: "values: [2, 0]",
		line: 33, col: 17, msg: []string{"workload.arrival_rate 0"}},
	{name: "a bad trigger time", from: "values: [2015-08-04T18:46:00Z, 2015-08-05T06:00:00Z]", to: "values: [2015-08-04T18:46:00Z, soon]",
		line: 36, col: 36, msg: []string{"recovery.trigger_removed soon", `"soon" is neither a time nor a duration`}},
	{name: "a trigger time before the epoch", from: "values: [2015-08-04T18:46:00Z, 2015-08-05T06:00:00Z]", to: "values: [2015-08-04T18:46:00Z, 2015-07-30T06:00:00Z]",
		line: 36, col: 36, msg: []string{"2015-07-30T06:00:00Z is before the epoch"}},
	{name: "a trigger time after the end of the run", from: "values: [2015-08-04T18:46:00Z, 2015-08-05T06:00:00Z]", to: "values: [2015-08-04T18:46:00Z, 2015-08-07T00:00:00Z]",
		line: 36, col: 36, msg: []string{"recovery.trigger_removed 2015-08-07T00:00:00Z: want a model time within the run's duration"}},
	{name: "a y key without values", from: "    values: [2015-08-04T18:46:00Z, 2015-08-05T06:00:00Z]\n", to: "",
		line: 35, col: 8, msg: []string{"the sweep's y has a key without values"}, hint: []string{"give both"}},
	{name: "an x without values", from: "    values: [2, 3.3]\n", to: "",
		line: 32, col: 8, msg: []string{"the sweep's x has no key or no values"}},
	{name: "trigger_removed with no removed_by", from: "recovery:\n  removed_by: [fix_cleanup_credentials, restart_janitor]\n  within: 12h\n", to: "",
		line: 32, col: 10, msg: []string{"recovery.trigger_removed moves the recovery's removed_by actions"}},
	{name: "a sweep of the seed", from: "    key: workload.arrival_rate\n", to: "    key: seed\n",
		line: 32, col: 10, msg: []string{"a sweep cannot vary seed"}, hint: []string{"each replica's seed comes from the experiment's seed"}},
	{name: "a sweep of the speed", from: "    key: recovery.trigger_removed\n", to: "    key: speed\n",
		line: 35, col: 10, msg: []string{"a sweep cannot vary speed"}, hint: []string{"every replica runs at speed max"}},
	{name: "one key on both axes", from: "    key: recovery.trigger_removed\n", to: "    key: workload.arrival_rate\n",
		line: 35, col: 10, msg: []string{"the sweep's x and y are both workload.arrival_rate"}},
	{name: "a backoff's base above its cap at one point of the grid",
		from: "    key: workload.arrival_rate\n    values: [2, 3.3]\n  y:\n    key: recovery.trigger_removed\n    values: [2015-08-04T18:46:00Z, 2015-08-05T06:00:00Z]\n",
		to:   "    key: mitigations.backoff_base\n    values: [1m, 8m]\n  y:\n    key: mitigations.backoff_cap\n    values: [2m, 10m]\n",
		line: 36, col: 14, msg: []string{"the sweep's point mitigations.backoff_base 8m, mitigations.backoff_cap 2m is no valid run: mitigations.backoff_cap 2m0s: want at least the backoff's base, 8m0s"},
		hint: []string{"valid together"}},
	{name: "a trigger after a shorter run's end at one point of the grid",
		from: "    key: workload.arrival_rate\n    values: [2, 3.3]\n  y:\n    key: recovery.trigger_removed\n    values: [2015-08-04T18:46:00Z, 2015-08-05T06:00:00Z]\n",
		to:   "    key: duration\n    values: [100h, 200h]\n  y:\n    key: recovery.trigger_removed\n    values: [2015-08-02T00:00:00Z, 2015-08-05T06:00:00Z]\n",
		line: 36, col: 36, msg: []string{"the sweep's point duration 100h, recovery.trigger_removed 2015-08-05T06:00:00Z is no valid run: timeline", "want a model time within the run's duration 100h0m0s"}},
	{name: "a value valid alone that no point of its row takes",
		from: "    key: workload.arrival_rate\n    values: [2, 3.3]\n  y:\n    key: recovery.trigger_removed\n    values: [2015-08-04T18:46:00Z, 2015-08-05T06:00:00Z]\n",
		to:   "    key: mitigations.backoff_base\n    values: [1m, 8m]\n  y:\n    key: mitigations.backoff_cap\n    values: [2m, 5m]\n",
		line: 33, col: 18, msg: []string{"mitigations.backoff_base 8m: -backoff-cap 2m0s: want at least the backoff's base, 8m0s"}},
	{name: "too many points", from: "values: [2, 3.3]", to: "values: [" + strings.TrimSuffix(strings.Repeat("2, ", MaxSweepPoints/2+1), ", ") + "]",
		line: 29, col: 10, msg: []string{fmt.Sprintf("the grid has %d points", 2*(MaxSweepPoints/2+1))}, hint: []string{fmt.Sprintf("at most %d", MaxSweepPoints)}},

	// The file as a whole.
	{name: "an empty file", from: "", to: "",
		line: 1, col: 1, msg: []string{"the experiment is empty"}, hint: []string{"-print-experiment"}},
	{name: "a file of blank lines", from: "", to: "\n  \n\t\n",
		line: 1, col: 1, msg: []string{"the experiment is empty"}},
	{name: "two documents", from: "    values: [2015-08-04T18:46:00Z, 2015-08-05T06:00:00Z]\n", to: "    values: [2015-08-04T18:46:00Z, 2015-08-05T06:00:00Z]\n---\nname: other\n",
		line: 37, col: 1, msg: []string{"more than one YAML document"}},
	{name: "a tag", from: "replicas: 3\n", to: "replicas: !!int 3\n",
		line: 4, col: 11, msg: []string{"the tag !!int"}, hint: []string{"no tags"}},
	{name: "not a mapping", from: "", to: "- name: x\n",
		line: 1, col: 1, msg: []string{"the experiment is not a mapping"}},
	{name: "deep nesting", from: "description: a small valid experiment\n", to: "description: " + strings.Repeat("[", 33) + strings.Repeat("]", 33) + "\n",
		line: 2, col: 45, msg: []string{"nests more than 32 lists or mappings deep"}},
	{name: "deep nesting after a block scalar that opens a quote", from: "description: a small valid experiment\n", to: "description: >-\n  'it\ncolour: " + strings.Repeat("[", 40) + strings.Repeat("]", 40) + "\n",
		line: 4, col: 40, msg: []string{"nests more than 32 lists or mappings deep"}},
}

func (b badExperiment) want() filetest.Want {
	return filetest.Want{File: "exp.yaml", Line: b.line, Col: b.col, Msg: b.msg, Hint: b.hint, Bug: b.bug}
}

func TestSmallExperimentParses(t *testing.T) {
	e, err := parseExp(t, expSmall)
	require.NoError(t, err)
	assert.Equal(t, "small-what-if", e.Name)
	assert.Equal(t, "a small valid experiment", e.Description)
	assert.Equal(t, "exp.yaml", e.File)
	assert.Equal(t, expSmall, string(e.Source))
	assert.Equal(t, "travis-2015-osx", e.Base.Name)
	assert.Equal(t, 3, e.Replicas)
	assert.Equal(t, uint64(11), e.Seed)
	assert.Equal(t, []string{"wait_max", "vms_leaked"}, e.Measures)
	assert.Equal(t, Recovery{RemovedBy: []string{"fix_cleanup_credentials", "restart_janitor"}, Within: 12 * time.Hour, Trend: DefaultTrend}, e.Recovery)
	var names []string
	for _, v := range e.Variants {
		names = append(names, v.Name)
		assert.NoError(t, v.Config.Validate(), v.Name)
	}
	assert.Equal(t, []string{"fix only", "never fixed", "bigger", "late fix"}, names)
	require.NotNil(t, e.Sweep)
	assert.Equal(t, Sweep{Variant: "fix only", Replicas: 2,
		X: Axis{Key: "workload.arrival_rate", Values: []string{"2", "3.3"}},
		Y: Axis{Key: TriggerRemovedKey, Values: []string{"2015-08-04T18:46:00Z", "2015-08-05T06:00:00Z"}}}, *e.Sweep)
}

// TestExperimentMargins: a margin is a number in the measure's unit, or a
// percentage of the baseline's median; a measure without one has none in
// Margins (the default, package experiment's).
func TestExperimentMargins(t *testing.T) {
	e, err := parseExp(t, expEdit(t, expSmall, mLine, mLine+"margins:\n  wait_max: 12.5%\n  vms_leaked: 40\n"))
	require.NoError(t, err)
	assert.Equal(t, map[string]MarginSetting{"wait_max": {Value: 0.125, Relative: true}, "vms_leaked": {Value: 40}}, e.Margins)
	e, err = parseExp(t, expSmall)
	require.NoError(t, err)
	assert.Empty(t, e.Margins)
}

func TestParseExperimentRejectsBadFiles(t *testing.T) {
	for _, tc := range badExperiments {
		t.Run(tc.name, func(t *testing.T) {
			text := tc.to
			if tc.from != "" {
				text = expEdit(t, expSmall, tc.from, tc.to)
			}
			if tc.fromB != "" {
				text = expEdit(t, text, tc.fromB, tc.toB)
			}
			e, err := parseExp(t, text)
			tc.want().Rejected(t, err, refusal, func() string { return fmt.Sprintf("with variants %d and sweep %+v", len(e.Variants), e.Sweep) })
		})
	}
}

// expTimeline is the experiment-level timeline of expSmall, in the base's
// model time (its epoch is 2015-07-31T00:00:00Z).
func expTimeline() incident.Timeline {
	return incident.Timeline{
		{At: 20 * time.Hour, Action: "rotate_cleanup_password"},
		{At: 114*time.Hour + 46*time.Minute, Action: "fix_cleanup_credentials"},
		{At: 114*time.Hour + 46*time.Minute, Action: "restart_janitor"},
	}
}

// TestExperimentVariantsAreTheBasePlusTheirChanges: each variant's Config is
// the base scenario's, with the experiment's timeline in place of the
// base's, plus exactly its own set, drop and add; no variant's changes
// reach another's.
func TestExperimentVariantsAreTheBasePlusTheirChanges(t *testing.T) {
	e, err := parseExp(t, expSmall)
	require.NoError(t, err)
	base, err := scenario.LoadBuiltin("travis-2015-osx")
	require.NoError(t, err)
	require.Greater(t, len(base.Config.Timeline), 3, "the base's own timeline has the operators' actions, which the experiment's replaces")

	want := base.Config
	want.Timeline = expTimeline()
	byName := map[string]Variant{}
	for _, v := range e.Variants {
		byName[v.Name] = v
	}

	t.Run("fix only: the base with the experiment's timeline", func(t *testing.T) {
		assert.Equal(t, want, byName["fix only"].Config)
	})
	t.Run("never fixed: drop", func(t *testing.T) {
		w := want
		w.Timeline = expTimeline()[:1]
		assert.Equal(t, w, byName["never fixed"].Config)
	})
	t.Run("bigger: set one key", func(t *testing.T) {
		got := byName["bigger"].Config
		require.NotEqual(t, want.VMs, got.VMs)
		assert.Equal(t, int64(12000), got.VMs)
		got.VMs = want.VMs // field by field, every other field is the base's
		assert.Equal(t, want, got)
	})
	t.Run("late fix: drop and add, merged in order of time", func(t *testing.T) {
		w := want
		w.Timeline = incident.Timeline{expTimeline()[0], expTimeline()[2],
			{At: 126 * time.Hour, Action: "fix_cleanup_credentials"}}
		assert.Equal(t, w, byName["late fix"].Config)
	})
}

// TestExperimentTimelineReplacesTheBases: without a timeline of its own, an
// experiment's variants keep the base scenario's; with one, that one
// replaces it entirely (no action of the base's survives).
func TestExperimentTimelineReplacesTheBases(t *testing.T) {
	base, err := scenario.LoadBuiltin("travis-2015-osx")
	require.NoError(t, err)
	e, err := parseExp(t, expSmall)
	require.NoError(t, err)
	assert.Equal(t, expTimeline(), e.Variants[0].Config.Timeline)

	text := expEdit(t, expSmall, "timeline:\n  - at: 2015-07-31T20:00:00Z\n    action: rotate_cleanup_password\n  - at: 2015-08-04T18:46:00Z\n    action: fix_cleanup_credentials\n  - at: 2015-08-04T18:46:00Z\n    action: restart_janitor\n", "")
	// The base's operators act after the fix (a pause, a resume, ...): its
	// runs could not answer the recovery question, which is left out.
	_, err = parseExp(t, text)
	require.ErrorContains(t, err, "may come at or after the trigger's removal")
	text = expEdit(t, text, "recovery:\n  removed_by: [fix_cleanup_credentials, restart_janitor]\n  within: 12h\n", "")
	text = expEdit(t, text, "  y:\n    key: recovery.trigger_removed\n    values: [2015-08-04T18:46:00Z, 2015-08-05T06:00:00Z]\n", "")
	e, err = parseExp(t, text)
	require.NoError(t, err)
	assert.Equal(t, base.Config.Timeline, e.Variants[0].Config.Timeline)
	assert.Equal(t, base.Config, e.Variants[0].Config)
}

func TestExperimentDefaults(t *testing.T) {
	t.Run("the seed is the base scenario's", func(t *testing.T) {
		e, err := parseExp(t, expEdit(t, expSmall, "seed: 11\n", ""))
		require.NoError(t, err)
		base, err := scenario.LoadBuiltin("travis-2015-osx")
		require.NoError(t, err)
		require.NotZero(t, base.Config.Seed)
		assert.Equal(t, base.Config.Seed, e.Seed)
	})
	t.Run("a base with no seed gives 1, never 0", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "b.yaml"), []byte("name: b\nduration: 1h\n"), 0o644))
		text := "name: x\nbase: b.yaml\nreplicas: 2\nvariants:\n  - name: a\n"
		e, err := ParseExperiment("exp.yaml", []byte(text), dir)
		require.NoError(t, err)
		assert.Equal(t, uint64(1), e.Seed)
		assert.Equal(t, "b", e.Base.Name, "a relative base is read from the experiment's directory")
	})
	t.Run("the measures are all of them", func(t *testing.T) {
		e, err := parseExp(t, expEdit(t, expSmall, "measures: [wait_max, vms_leaked]\n", ""))
		require.NoError(t, err)
		assert.Equal(t, expMeasures, e.Measures)
	})
	t.Run("the sweep's replicas are the experiment's", func(t *testing.T) {
		e, err := parseExp(t, expEdit(t, expSmall, "  replicas: 2\n", ""))
		require.NoError(t, err)
		assert.Equal(t, 3, e.Sweep.Replicas)
	})
	t.Run("no recovery, no sweep", func(t *testing.T) {
		text := expEdit(t, expSmall, "recovery:\n  removed_by: [fix_cleanup_credentials, restart_janitor]\n  within: 12h\n", "")
		text = text[:strings.Index(text, "sweep:")]
		e, err := parseExp(t, text)
		require.NoError(t, err)
		assert.Empty(t, e.Recovery)
		assert.Nil(t, e.Sweep)
	})
}

// TestExperimentSweepAxisApply: an axis sets its parameter, or moves every
// removed_by action of the timeline (one placed after detection too) to
// its time, keeping the timeline in order.
func TestExperimentSweepAxisApply(t *testing.T) {
	e, err := parseExp(t, expSmall)
	require.NoError(t, err)
	cfg := e.Variants[0].Config
	got, err := e.Sweep.X.Apply(cfg, 0, e.Recovery)
	require.NoError(t, err)
	want := cfg
	want.ArrivalsPerMinute = 2
	assert.Equal(t, want, got)

	tl := slices.Clone(cfg.Timeline)
	tl = append(tl, incident.Event{At: time.Hour, AfterDetection: true, Action: "fix_cleanup_credentials"})
	cfg.Timeline = tl
	got, err = e.Sweep.Y.Apply(cfg, 1, e.Recovery)
	require.NoError(t, err)
	assert.Equal(t, incident.Timeline{
		{At: 20 * time.Hour, Action: "rotate_cleanup_password"},
		{At: 126 * time.Hour, Action: "fix_cleanup_credentials"},
		{At: 126 * time.Hour, Action: "restart_janitor"},
		{At: 126 * time.Hour, Action: "fix_cleanup_credentials"},
	}, got.Timeline)
	assert.Equal(t, tl, cfg.Timeline, "Apply changes a copy")

	xs, ok := e.Sweep.X.Floats()
	assert.True(t, ok)
	assert.Equal(t, []float64{2, 3.3}, xs)
	_, ok = e.Sweep.Y.Floats()
	assert.False(t, ok, "calendar times are not numbers")
}

// TestBuiltinExperimentsParse: every built-in experiment parses, by name,
// and the 2015 what-if says what its file says.
func TestBuiltinExperimentsParse(t *testing.T) {
	names := Experiments()
	require.Contains(t, names, "travis-2015-what-if")
	for _, name := range names {
		e, err := LoadExperiment(name)
		require.NoError(t, err, name)
		assert.Equal(t, name, e.Name)
		src, ok := ExperimentSource(name)
		require.True(t, ok)
		assert.Equal(t, src, e.Source)
	}
	e, err := LoadExperiment("travis-2015-what-if")
	require.NoError(t, err)
	assert.Equal(t, "travis-2015-osx", e.Base.Name)
	assert.Equal(t, 30, e.Replicas)
	assert.Equal(t, uint64(20150804), e.Seed)
	assert.Len(t, e.Variants, 6)
	assert.Equal(t, "fix only", e.Variants[0].Name)
	assert.Equal(t, Recovery{RemovedBy: []string{"fix_cleanup_credentials", "restart_janitor"}, Within: 12 * time.Hour, Horizon: 24 * time.Hour,
		Load: RecoveryLoad{Constant: true, Factor: 1}, Trend: DefaultTrend}, e.Recovery,
		"the janitor reads its password when it restarts: the trigger goes with the fix and the restart")
	require.NotNil(t, e.Sweep)
	assert.Equal(t, 5*2, len(e.Sweep.X.Values)*len(e.Sweep.Y.Values))

	_, err = LoadExperiment("travis-2016-what-if")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "travis-2015-what-if", "the error lists the built-ins")
	assert.NotContains(t, err.Error(), "\n")
}

// TestAssumptionsExperimentCoversEveryCombination: the built-in
// travis-2015-assumptions runs the what-if's fix only under every
// combination of the assumptions that bear on 2015, and the API's once,
// everything else as the what-if's first variant.
func TestAssumptionsExperimentCoversEveryCombination(t *testing.T) {
	e, err := LoadExperiment("travis-2015-assumptions")
	require.NoError(t, err)
	whatIf, err := LoadExperiment("travis-2015-what-if")
	require.NoError(t, err)
	assert.Equal(t, whatIf.Base.Name, e.Base.Name)
	assert.Equal(t, whatIf.Recovery, e.Recovery)
	assert.Equal(t, whatIf.Seed, e.Seed)
	fixOnly := whatIf.Variants[0].Config
	require.Zero(t, fixOnly.APIRate, "2015 has no API limit: refused_calls_count cannot matter")
	seen := map[config.ModelAssumptions]bool{}
	for _, v := range e.Variants {
		a := v.Config.Assumptions
		assert.False(t, seen[a], "%s: a combination once", v.Name)
		seen[a] = true
		rest := v.Config
		rest.Assumptions = config.ModelAssumptions{}
		assert.Equal(t, fixOnly, rest, "%s: the what-if's fix only but for its assumptions", v.Name)
	}
	for _, nb := range []bool{false, true} {
		for _, cpu := range []bool{false, true} {
			assert.True(t, seen[config.ModelAssumptions{NeverBootedHoldsSlot: nb, RefusedStartHoldsCPU: cpu}], "never-booted %v, CPU %v", nb, cpu)
		}
	}
	assert.True(t, seen[config.ModelAssumptions{RefusedCallsCount: true}])
}

// TestExperimentFromFile: an experiment file is read by path, with the
// limits of a scenario file, and its base relative to its directory.
func TestExperimentFromFile(t *testing.T) {
	e, err := LoadExperiment(filepath.Join("testdata", "cheap.yaml"))
	require.NoError(t, err)
	assert.Equal(t, "broken-default", e.Base.Name)

	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	require.NoError(t, os.WriteFile(big, []byte("name: x\n"+strings.Repeat("#\n", scenario.MaxFileSize)), 0o644))
	_, err = LoadExperiment(big)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "want a file of at most")
}

// TestVariantsTimelinesAreBounded: a timeline (here one entry repeated by
// alias, a few bytes an entry) times many variants, each of which holds
// its own, is refused once the variants' timelines pass MaxTimelineEvents
// entries in all, at the variant that passes it; the same timeline with
// fewer variants is fine.
func TestVariantsTimelinesAreBounded(t *testing.T) {
	const entries = 10_000
	file := func(variants int) string {
		var b strings.Builder
		b.WriteString("name: many\nbase: travis-2015-osx\nreplicas: 1\ntimeline:\n  - &e {at: 1h, action: restart_janitor}\n")
		b.WriteString(strings.Repeat("  - *e\n", entries-1))
		b.WriteString("variants:\n")
		for i := range variants {
			fmt.Fprintf(&b, "  - name: v%d\n", i)
		}
		return b.String()
	}
	e, err := parseExp(t, file(MaxTimelineEvents/entries))
	require.NoError(t, err)
	assert.Len(t, e.Variants[0].Config.Timeline, entries)

	_, err = parseExp(t, file(MaxTimelineEvents/entries+1))
	var pe *scenario.Error
	require.True(t, errors.As(err, &pe), "want an *scenario.Error, got %T: %v", err, err)
	assert.Contains(t, pe.Msg, fmt.Sprintf("the variants' timelines hold more than %d entries in all, with this one's %d", MaxTimelineEvents, entries))
	assert.Equal(t, entries+6+MaxTimelineEvents/entries, pe.Line, "at the variant past the limit: %v", err)
}

// TestSweepIsCheckedPointByPoint: a value that the variant alone would
// refuse (a backoff's base of 12m over the default cap of 10m) is fine
// when every point of the grid gives it a cap that takes it; and At makes
// each point's configuration as it runs.
func TestSweepIsCheckedPointByPoint(t *testing.T) {
	e, err := parseExp(t, expEdit(t, expSmall,
		"    key: workload.arrival_rate\n    values: [2, 3.3]\n  y:\n    key: recovery.trigger_removed\n    values: [2015-08-04T18:46:00Z, 2015-08-05T06:00:00Z]\n",
		"    key: mitigations.backoff_base\n    values: [1m, 12m]\n  y:\n    key: mitigations.backoff_cap\n    values: [15m, 20m]\n"))
	require.NoError(t, err)
	cfg, err := e.Sweep.At(e.Variants[0].Config, []int{1, 0}, e.Recovery)
	require.NoError(t, err)
	assert.Equal(t, [2]time.Duration{12 * time.Minute, 15 * time.Minute}, [2]time.Duration{cfg.Mitigations.BackoffSettings.Base, cfg.Mitigations.BackoffSettings.Cap})
	for _, point := range [][]int{nil, {}, {0, 0, 0}, {2, 0}, {0, -1}} {
		_, err := e.Sweep.At(e.Variants[0].Config, point, e.Recovery)
		assert.Error(t, err, "point %v", point)
	}
}

// TestMapOfEightThousandRuns: the map docs/benchmarks.md times, a 20 x 20
// sweep of 10 replicas a point with their controls, is a file vmstorm
// accepts, of the runs it says.
func TestMapOfEightThousandRuns(t *testing.T) {
	e, err := LoadExperiment("testdata/map-2015.yaml")
	require.NoError(t, err)
	require.NotNil(t, e.Sweep)
	assert.Len(t, e.Sweep.X.Values, 20)
	assert.Len(t, e.Sweep.Y.Values, 20)
	assert.Equal(t, 8002, e.Runs(), "400 points of 10 replicas and their controls, and the variant's one replica and its control")
}
