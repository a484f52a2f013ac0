package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/analysis"
	"vmstorm/config"
	"vmstorm/scenario"
	"vmstorm/series"
)

func TestBadFlagsAreRejectedInOneLine(t *testing.T) {
	tests := []struct {
		args []string
		want string // part of the one-line error
	}{
		{[]string{"-vms", "0"}, `invalid value "0" for flag -vms: want an integer from 1 to 10000000`},
		{[]string{"-vms", "-5"}, `invalid value "-5" for flag -vms: want an integer from 1 to`},
		{[]string{"-vms", "many"}, `invalid value "many" for flag -vms: want an integer from 1 to 10000000`},
		{[]string{"-vms", "1.5"}, `invalid value "1.5" for flag -vms: want an integer from 1 to 10000000`},
		{[]string{"-speed", "0"}, `invalid value "0" for flag -speed: want max, or model seconds per wall second from 0.001 to 1e+07`},
		{[]string{"-speed", "NaN"}, `invalid value "NaN" for flag -speed: want max`},
		{[]string{"-speed", "maximum"}, `invalid value "maximum" for flag -speed: want max`},
		{[]string{"-arrival-rate", "-1"}, `invalid value "-1" for flag -arrival-rate: want a number from 1e-06 to 1e+07`},
		{[]string{"-arrival-rate", "1e8"}, `invalid value "1e8" for flag -arrival-rate: want a number from 1e-06 to 1e+07`},
		{[]string{"-reject-time", "1ns"}, `invalid value "1ns" for flag -reject-time: want a duration from 1ms to 1000h`},
		{[]string{"-reject-time", "0"}, `invalid value "0" for flag -reject-time: want a duration from 1ms to 1000h`},
		{[]string{"-cleanup-rate", "-1"}, `invalid value "-1" for flag -cleanup-rate: want a number from 0 to 1e+07`},
		{[]string{"-duration", "10"}, `invalid value "10" for flag -duration: want a duration above 0, at most 87600h (e.g. 90s, 10m, 4h)`},
		{[]string{"-duration", "0s"}, `invalid value "0s" for flag -duration: want a duration above 0`},
		{[]string{"-duration", "100000h"}, `invalid value "100000h" for flag -duration: want a duration above 0, at most 87600h`},
		{[]string{"-clone-time", "-1s"}, `invalid value "-1s" for flag -clone-time: want a duration from 0s to 1000h`},
		{[]string{"-build-time", "1000000h"}, `invalid value "1000000h" for flag -build-time: want a duration from 0s to 1000h`},
		{[]string{"-cleanup-every", "1ns"}, `invalid value "1ns" for flag -cleanup-every: want a duration from 1s to 1000h`},
		{[]string{"-sample-every", "1ns"}, `invalid value "1ns" for flag -sample-every: want a duration from 1s to 24h`},
		{[]string{"-build-workers", "0"}, `invalid value "0" for flag -build-workers: want an integer from 1 to 100000`},
		{[]string{"-break-cleanup=maybe"}, `invalid boolean value "maybe" for -break-cleanup: want true or false`},
		{[]string{"-break-at", "2h", "-duration", "1h"}, "-break-at 2h0m0s: want a model time within the run's -duration 1h0m0s"},
		{[]string{"-no-such-flag"}, "flag provided but not defined: -no-such-flag; run 'vmstorm -h'"},
		{[]string{"stray"}, `unexpected argument "stray"`},
		{[]string{"-vms", " 5"}, `invalid value " 5" for flag -vms: want an integer from 1 to 10000000`},
		{[]string{"-parallel", "-1"}, `invalid value "-1" for flag -parallel: want 0 (one per core) to 1024 replicas at once`},
		{[]string{"-status-every", "1s"}, "-status-every 1s: want at least -sample-every 10s: a status line reports a sample"},
		// An unset shell variable: the run would go on without what was
		// asked.
		{[]string{"-scenario", ""}, "-scenario is given an empty value: give it a value, or leave the flag out"},
		{[]string{"-report", ""}, "-report is given an empty value"},
		{[]string{"-log-file", ""}, "-log-file is given an empty value"},
		{[]string{"-series", ""}, "-series is given an empty value"},
		{[]string{"-metrics-addr", ""}, "-metrics-addr is given an empty value"},
		{[]string{"-analyze", ""}, "-analyze is given an empty value"},
		{[]string{"-experiment", ""}, "-experiment is given an empty value"},
		{[]string{"-print-scenario", ""}, "-print-scenario is given an empty value"},
		{[]string{"-experiment", "travis-2015-what-if", "-merge", ""}, `invalid value "" for flag -merge: want a file or a glob`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, _, _, err := parseFlags(tt.args, io.Discard)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "\n", "one line")
		})
	}
}

func TestDefaultFlagsAreValid(t *testing.T) {
	for _, args := range [][]string{nil, {"-vms", "200", "-break-cleanup"}, {"-duration", "90s", "-speed", "1000"}} {
		_, _, _, err := parseFlags(args, io.Discard)
		assert.NoError(t, err, "%v", args)
	}
}

func TestHelpListsEveryFlagWithItsDefault(t *testing.T) {
	var out bytes.Buffer
	_, _, _, err := parseFlags([]string{"-h"}, &out)
	require.True(t, errors.Is(err, flag.ErrHelp))
	help := out.String()
	for _, name := range []string{"vms", "break-cleanup", "duration", "speed", "seed", "arrival-rate", "log-file",
		"build-workers", "run-workers", "cleanup-workers", "clone-time", "boot-time", "build-time", "destroy-time",
		"start-timeout", "cleanup-every", "cleanup-rate", "cleanup-cutoff", "max-attempts", "status-every"} {
		assert.Contains(t, help, "-"+name+" ", "help lists -%s", name)
	}
	assert.Contains(t, help, "(default 200; key cluster.vms;")
	assert.Contains(t, help, "(default 1h0m0s; key duration;")
	// The model's assumptions, each with its evidence, in a section of
	// their own.
	assert.Contains(t, help, "\nAssumptions:\n")
	for _, a := range config.Assumptions {
		assert.Contains(t, help, "\n  -"+a.Flag+"\n", "help lists -%s", a.Flag)
		assert.Contains(t, help, "the default, because: "+a.Evidence+"\n")
		assert.Contains(t, help, "otherwise: "+a.Otherwise+"\n")
		assert.Contains(t, help, "it decides: "+a.Decides+"\n")
	}
}

// binary builds vmstorm once for the tests that run it as a user would.
var builtBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "vmstorm-test")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "vmstorm")
	out, err := exec.Command("go", "build", "-o", path, ".").CombinedOutput()
	if err != nil {
		return "", errors.New(string(out))
	}
	return path, nil
})

func buildBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	path, err := builtBinary()
	require.NoError(t, err)
	return path
}

func TestBinaryRejectsBadInputWithStatus2AndWritesNothing(t *testing.T) {
	bin := buildBinary(t)
	for _, args := range [][]string{{"-vms", "0"}, {"-speed", "0"}, {"-unknown"}, {"-duration", "soon"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			logFile := filepath.Join(t.TempDir(), "events.jsonl")
			cmd := exec.Command(bin, append([]string{"-log-file", logFile}, args...)...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit)
			assert.Equal(t, 2, exit.ExitCode())
			assert.Empty(t, stdout.String())
			assert.Equal(t, 1, strings.Count(stderr.String(), "\n"), "one line: %q", stderr.String())
			assert.True(t, strings.HasPrefix(stderr.String(), "vmstorm: "))
			assert.NoFileExists(t, logFile, "nothing half-written")
		})
	}
}

func TestBinaryHelpExitsZero(t *testing.T) {
	out, err := exec.Command(buildBinary(t), "-h").Output()
	require.NoError(t, err)
	assert.Contains(t, string(out), "-break-cleanup")
}

// TestSignalStopsRunCleanly interrupts a long run once it is under way,
// and checks the summary is printed, the log file is complete and the exit
// status follows the convention.
func TestSignalStopsRunCleanly(t *testing.T) {
	bin := buildBinary(t)
	// A scenario whose check cannot hold: the signal's status still wins
	// over the checks' (3).
	failing := filepath.Join(t.TempDir(), "failing.yaml")
	require.NoError(t, os.WriteFile(failing, []byte(`name: failing
duration: 100h
speed: 600
timeline:
  - at: 10m
    action: rotate_cleanup_password
checks:
  - name: a million VMs
    causes: [janitor_broken]
    metric: vms_true
    stat: max
    min: 1000000
`), 0o644))
	tests := []struct {
		sig  syscall.Signal
		code int
		name string
		of   string
		args []string
	}{
		{syscall.SIGINT, 130, "interrupt", "a run", []string{"-vms", "200", "-break-cleanup", "-duration", "100h", "-speed", "600"}},
		{syscall.SIGTERM, 143, "terminated", "a run", []string{"-vms", "200", "-break-cleanup", "-duration", "100h", "-speed", "600"}},
		{syscall.SIGINT, 130, "interrupt", "a scenario whose check fails", []string{"-scenario", failing}},
		{syscall.SIGINT, 130, "interrupt", "an unpaced run", []string{"-duration", "5000h", "-speed", "max", "-sample-every", "1m"}},
		{syscall.SIGTERM, 143, "terminated", "an unpaced run", []string{"-duration", "5000h", "-speed", "max", "-sample-every", "1m"}},
	}
	for _, tt := range tests {
		t.Run(tt.name+" of "+tt.of, func(t *testing.T) {
			logFile := filepath.Join(t.TempDir(), "events.jsonl")
			cmd := exec.Command(bin, append(tt.args, "-status-every", "1m", "-log-file", logFile)...)
			var stdout bytes.Buffer
			cmd.Stdout = &stdout
			stderr, err := cmd.StderrPipe()
			require.NoError(t, err)
			require.NoError(t, cmd.Start())

			// Wait until the run reports its state, then interrupt it.
			lines := bufio.NewScanner(stderr)
			for lines.Scan() && !strings.Contains(lines.Text(), "\tstatus\t") {
			}
			require.NoError(t, cmd.Process.Signal(tt.sig))
			_, _ = io.Copy(io.Discard, stderr)
			err = cmd.Wait()

			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit)
			assert.Equal(t, tt.code, exit.ExitCode())
			assert.Contains(t, stdout.String(), "vmstorm summary")
			assert.Contains(t, stdout.String(), "interrupted: "+tt.name+" received")
			assert.Contains(t, stdout.String(), "nothing lost  ")
			assert.Contains(t, stdout.String(), "yes:")

			data, err := os.ReadFile(logFile)
			require.NoError(t, err)
			events := strings.Split(strings.TrimSpace(string(data)), "\n")
			require.Greater(t, len(events), 2)
			for i, line := range events {
				var ev map[string]any
				require.NoError(t, json.Unmarshal([]byte(line), &ev), "line %d is JSON: %s", i+1, line)
				assert.Contains(t, ev, "model_s", "line %d has model time", i+1)
			}
			var last map[string]any
			require.NoError(t, json.Unmarshal([]byte(events[len(events)-1]), &last))
			assert.Equal(t, "run_ended", last["msg"], "the log was flushed to its last line")
		})
	}
}

func TestFlagsGivenOverrideTheScenario(t *testing.T) {
	cfg, _, sc, err := parseFlags([]string{"-scenario", "travis-2015-osx", "-speed", "500", "-cpu-vms", "300"}, io.Discard)
	require.NoError(t, err)
	require.NotNil(t, sc)
	assert.Equal(t, config.Speed(500), cfg.Speed, "a flag given overrides the scenario")
	assert.Equal(t, int64(300), cfg.CPUVMs)
	assert.Equal(t, sc.Config.VMs, cfg.VMs, "a flag not given keeps the scenario's value")
	assert.Equal(t, sc.Config.Epoch, cfg.Epoch)
	assert.Equal(t, sc.Config.Timeline, cfg.Timeline)
	assert.NotEqual(t, config.Default().VMs, cfg.VMs, "the scenario's values, not the defaults")
}

func TestScenarioCommands(t *testing.T) {
	var out, errOut bytes.Buffer
	require.Equal(t, exitOK, run([]string{"-list-scenarios"}, &out, &errOut))
	for _, b := range scenario.Builtins() {
		assert.Contains(t, out.String(), b.Name+" ", "-list-scenarios lists %s", b.Name)
	}
	assert.Equal(t, len(scenario.Builtins()), strings.Count(out.String(), "\n"), "a line each")

	// -print-scenario prints a file that reads back as the same scenario.
	out.Reset()
	require.Equal(t, exitOK, run([]string{"-print-scenario", "travis-2019-gce"}, &out, &errOut))
	printed, err := scenario.Parse("printed.yaml", out.Bytes())
	require.NoError(t, err)
	builtin, err := scenario.LoadBuiltin("travis-2019-gce")
	require.NoError(t, err)
	assert.Equal(t, builtin.Config, printed.Config)

	errOut.Reset()
	assert.Equal(t, exitBadInput, run([]string{"-print-scenario", "nope"}, &out, &errOut))
	assert.Equal(t, 1, strings.Count(errOut.String(), "\n"))
}

func TestBadScenarioFileIsRejectedWithItsPlace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mine.yaml")
	require.NoError(t, os.WriteFile(path, []byte("name: mine\nduration: 1h\ncluster:\n  vmz: 10\n"), 0o644))
	var out, errOut bytes.Buffer
	assert.Equal(t, exitBadInput, run([]string{"-scenario", path}, &out, &errOut))
	assert.Empty(t, out.String(), "nothing runs on a bad file")
	assert.Equal(t, 1, strings.Count(errOut.String(), "\n"), "one line: %q", errOut.String())
	assert.Contains(t, errOut.String(), path+":4:3: ")
	assert.Contains(t, errOut.String(), "vmz")
}

func TestScenarioRunPrintsItsChecks(t *testing.T) {
	csv := filepath.Join(t.TempDir(), "series.csv")
	var out, errOut bytes.Buffer
	// The replay is exact at any speed (the model's own clock): every check
	// holds. A check that fails, and its status, is
	// TestScenarioChecksSetTheExitStatus.
	code := run([]string{"-scenario", "travis-2018-gce", "-speed", "max", "-quiet", "-series", csv}, &out, &errOut)
	assert.Contains(t, out.String(), "vmstorm summary")
	assert.Contains(t, out.String(), "FAITHFULNESS (travis-2018-gce)")
	assert.Contains(t, out.String(), "CALIBRATIONS (travis-2018-gce")
	assert.NotContains(t, out.String(), "  FAIL ")
	require.Equal(t, exitOK, code, errOut.String())
	assert.Empty(t, errOut.String(), "-quiet prints the summary alone")
	data, err := os.ReadFile(csv)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	require.Greater(t, len(lines), 2, "a header and rows")
	assert.Equal(t, strings.Join(series.Header(), ","), lines[0])
	last := strings.Split(lines[len(lines)-1], ",")
	require.Len(t, last, len(series.Header()))
	end, err := strconv.ParseFloat(last[0], 64)
	require.NoError(t, err)
	assert.Equal(t, 86400.0, end, "the last row is the state at the end of the scenario's day")
	assert.NotEmpty(t, last[slices.Index(series.Header(), "phase")], "rows carry the phase")
}

// nonModelFlags are the flags that are not model parameters: commands and
// outputs. Every other flag sets a parameter of config.Config.
var nonModelFlags = map[string]bool{
	"log-file": true, "report": true, "scenario": true, "quiet": true, "series": true,
	"metrics-addr": true, "pprof": true, "list-scenarios": true, "print-scenario": true, "analyze": true,
	"experiment": true, "print-experiment": true, "results": true, "verdicts": true, "shard": true, "merge": true, "parallel": true,
	"gameday": true, "gameday-addr": true, "gameday-start": true, "gameday-pace": true, "gameday-idle": true,
}

// flagsWithoutKey are the model parameters that a scenario file has no key
// for, and why.
var flagsWithoutKey = map[string]string{
	"break-cleanup": "a scenario breaks the janitor with rotate_cleanup_password in its timeline",
	"break-at":      "a scenario breaks the janitor with rotate_cleanup_password in its timeline",
}

// byName are values for the parameters whose type does not say what a
// valid value looks like.
var byName = map[string][2]string{
	"speed":              {"max", "0.5"},
	"epoch":              {"2015-07-31T00:00:00Z", "2019-03-27T00:00:00Z"},
	"max-held":           {"7000", "9000"},  // at least 1000
	"backoff-multiplier": {"3", "5"},        // at least 1
	"backoff-base":       {"3m7s", "5m11s"}, // under the default cap, 10m
	"backoff-cap":        {"3h7m", "5h11m"}, // over the default base, 30s
	"breaker-window":     {"3h7m", "5h11m"}, // 0 is valid too: as the duration's
	"shed-after":         {"3h7m", "5h11m"},
	"sample-every":       {"37s", "1m11s"}, // at most -status-every's default, 2m
}

// flagValues are, for each type of flag, a value for the scenario file and
// a third value for the flag, both valid for every parameter and unlike
// every default.
func flagValues(t *testing.T, f *flag.Flag) (file, given string) {
	t.Helper()
	if v, ok := byName[f.Name]; ok {
		return v[0], v[1]
	}
	switch v := f.Value.(flag.Getter).Get().(type) {
	case time.Duration:
		return "3h7m", "5h11m"
	case int, int64, uint64:
		return "7", "9"
	case float64:
		return "0.25", "0.5"
	case bool:
		// Two values only: the file's is not the default, the flag's is.
		def, _ := strconv.ParseBool(f.DefValue)
		return strconv.FormatBool(!def), f.DefValue
	default:
		t.Fatalf("-%s is a %T: give flagValues values of that type", f.Name, v)
		return "", ""
	}
}

// valueOf is the value of a flag's parameter in cfg, as the flag writes it.
func valueOf(t *testing.T, cfg config.Config, name string) string {
	t.Helper()
	f := newFlagSet(&cfg, &options{}).Lookup(name)
	require.NotNil(t, f, "-%s", name)
	return f.Value.String()
}

// canonical is value as flag name writes it back (3h7m0s for 3h7m).
func canonical(t *testing.T, name, value string) string {
	t.Helper()
	cfg := config.Default()
	fs := newFlagSet(&cfg, &options{})
	require.NoError(t, fs.Set(name, value), "-%s %s", name, value)
	return fs.Lookup(name).Value.String()
}

// scenarioSetting writes a minimal scenario file that sets the YAML path
// key (e.g. $.cluster.vms) to value, or no key when key is empty.
func scenarioSetting(t *testing.T, key, value string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("name: flags\n")
	if key != "$.duration" {
		b.WriteString("duration: 10h\n")
	}
	if key != "" {
		segments := strings.Split(strings.TrimPrefix(key, "$."), ".")
		for i, s := range segments {
			b.WriteString(strings.Repeat("  ", i) + s + ":")
			if i < len(segments)-1 {
				b.WriteString("\n")
			}
		}
		b.WriteString(" " + value + "\n")
	}
	path := filepath.Join(t.TempDir(), "flags.yaml")
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	return path
}

// TestEveryFlagKeepsTheScenariosValueUnlessGiven: for every flag that sets
// a model parameter, a scenario file that sets the parameter keeps its
// value when the flag is not given, and the flag wins when it is. A new
// flag fails here until it is classed: a parameter with its scenario key
// (scenario.Key), a parameter without one (flagsWithoutKey), or not a
// parameter (nonModelFlags).
func TestEveryFlagKeepsTheScenariosValueUnlessGiven(t *testing.T) {
	cfg := config.Default()
	fs := newFlagSet(&cfg, &options{})
	var model []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) {
		if !nonModelFlags[f.Name] {
			model = append(model, f)
		}
	})
	require.NotEmpty(t, model)
	for _, f := range model {
		t.Run(f.Name, func(t *testing.T) {
			p, isParam := config.Lookup(f.Name)
			require.True(t, isParam, "-%s: a flag is a parameter of config.Params, or listed in nonModelFlags", f.Name)
			key, hasKey := "$."+p.Key, p.Key != ""
			why, keyless := flagsWithoutKey[f.Name]
			require.True(t, hasKey != keyless, "-%s: give it a key in config.Params, or list it in flagsWithoutKey", f.Name)
			fileValue, given := flagValues(t, f)
			if keyless {
				t.Log(why)
				key, fileValue = "", f.DefValue // the file holds the default, its only value
				if p.IsBool() {
					given = strconv.FormatBool(f.DefValue != "true")
				}
			} else {
				require.NotEqual(t, canonical(t, f.Name, f.DefValue), canonical(t, f.Name, fileValue), "the file's value is not the default")
			}
			path := scenarioSetting(t, key, fileValue)

			cfg, _, sc, err := parseFlags([]string{"-scenario", path}, io.Discard)
			require.NoError(t, err)
			require.NotNil(t, sc)
			assert.Equal(t, canonical(t, f.Name, fileValue), valueOf(t, cfg, f.Name), "-%s not given: the file's %s holds", f.Name, key)
			assert.Equal(t, valueOf(t, sc.Config, f.Name), valueOf(t, cfg, f.Name))

			args := []string{"-scenario", path, "-" + f.Name + "=" + given}
			if f.Name == "break-at" {
				args = append(args, "-break-cleanup") // alone, it would do nothing: refused
			}
			if sw, ok := config.SwitchOf(f.Name); ok {
				on := map[bool]string{true: "true", false: "1"}[sw != "api-rate"]
				args = append(args, "-"+sw+"="+on) // alone, a setting would do nothing: refused
			}
			cfg, _, _, err = parseFlags(args, io.Discard)
			require.NoError(t, err)
			require.NotEqual(t, canonical(t, f.Name, fileValue), canonical(t, f.Name, given))
			assert.Equal(t, canonical(t, f.Name, given), valueOf(t, cfg, f.Name), "-%s given: the flag wins over the file", f.Name)
		})
	}
}

// cutScenario has timeline events, traffic bursts and checks at known
// model times, for the -duration cuts below.
const cutScenario = `name: cut
epoch: 2015-07-31T00:00:00Z
duration: 4h
speed: 1000000
workload:
  traffic:
    peak_hour: 17
    night: 0.5
    weekend: 1
    bursts:
      - at: 30m
        for: 1h
        factor: 2
      - at: 2h30m
        for: 30m
        factor: 3
timeline:
  - at: 1h
    action: rotate_cleanup_password
  - at: 2h
    action: pause_builds
    queue: com
  - at: 3h
    action: resume_builds
    queue: com
checks:
  - name: a phase
    phase_seen: healthy
    calibration: true
  - name: a window to 1h
    metric: backlog
    stat: max
    to: 1h
    max: 1000
    calibration: true
  - name: a point at 3h
    metric: backlog
    stat: at
    at: 3h
    max: 1000
    calibration: true
  - name: an alert by 2h30m
    detected:
      not_before: 1h
      by: 2h30m
    calibration: true
  - name: a point at the end
    metric: backlog
    stat: at
    at: end
    max: 1000
    calibration: true
`

// TestShorterDurationCutsTheScenario: a -duration shorter than the
// scenario's leaves out the events, bursts and checks after the new end,
// keeps what is at or before it, and says so; none is cut otherwise.
func TestShorterDurationCutsTheScenario(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cut.yaml")
	require.NoError(t, os.WriteFile(path, []byte(cutScenario), 0o644))
	allChecks := []string{"a phase", "a window to 1h", "a point at 3h", "an alert by 2h30m", "a point at the end"}
	tests := []struct {
		name       string
		args       []string
		events     []string        // actions kept, in order
		bursts     []time.Duration // bursts kept, by start
		checks     []string        // checks evaluated
		cutEvents  int
		cutBursts  int
		cutChecks  []string
		headerPart string // of the first line, when anything is cut
	}{
		{name: "no -duration: nothing cut", args: nil,
			events: []string{"rotate_cleanup_password", "pause_builds", "resume_builds"}, bursts: []time.Duration{30 * time.Minute, 150 * time.Minute},
			checks: allChecks},
		{name: "the scenario's own duration: nothing cut", args: []string{"-duration", "4h"},
			events: []string{"rotate_cleanup_password", "pause_builds", "resume_builds"}, bursts: []time.Duration{30 * time.Minute, 150 * time.Minute},
			checks: allChecks},
		{name: "longer: nothing cut", args: []string{"-duration", "9h"},
			events: []string{"rotate_cleanup_password", "pause_builds", "resume_builds"}, bursts: []time.Duration{30 * time.Minute, 150 * time.Minute},
			checks: allChecks},
		{name: "some cut; an event at the end is kept", args: []string{"-duration", "2h"},
			events: []string{"rotate_cleanup_password", "pause_builds"}, bursts: []time.Duration{30 * time.Minute},
			checks:    []string{"a phase", "a window to 1h", "a point at the end"},
			cutEvents: 1, cutBursts: 1, cutChecks: []string{"a point at 3h", "an alert by 2h30m"},
			headerPart: "-duration 2h cuts the scenario at 2015-07-31T02:00:00Z: 1 timeline event and 1 traffic burst after it are left out; 2 checks are not evaluated"},
		{name: "all cut", args: []string{"-duration", "20m"},
			checks:    []string{"a phase", "a point at the end"},
			cutEvents: 3, cutBursts: 2, cutChecks: []string{"a window to 1h", "a point at 3h", "an alert by 2h30m"},
			headerPart: "-duration 20m cuts the scenario at 2015-07-31T00:20:00Z: 3 timeline events and 2 traffic bursts after it are left out; 3 checks are not evaluated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _, sc, err := parseFlags(append([]string{"-scenario", path}, tt.args...), io.Discard)
			require.NoError(t, err)
			require.NotNil(t, sc)
			require.NoError(t, cfg.Validate())

			var events []string
			for _, ev := range cfg.Timeline {
				events = append(events, ev.Action)
			}
			assert.Equal(t, tt.events, events, "timeline events kept")
			require.NotNil(t, cfg.Traffic)
			var bursts []time.Duration
			for _, b := range cfg.Traffic.Bursts {
				bursts = append(bursts, b.At)
			}
			assert.Equal(t, tt.bursts, bursts, "bursts kept")
			assert.Equal(t, tt.checks, checkNames(sc.Checks), "checks evaluated")

			assert.Len(t, sc.Cut.Events, tt.cutEvents, "events left out")
			assert.Len(t, sc.Cut.Bursts, tt.cutBursts, "bursts left out")
			assert.Equal(t, tt.cutChecks, checkNames(sc.Cut.Checks), "checks not evaluated")
			lines := sc.Cut.Lines()
			if tt.headerPart == "" {
				assert.Empty(t, lines, "nothing to say")
			} else {
				require.Len(t, lines, 1+tt.cutEvents+tt.cutBursts+len(tt.cutChecks), "a line for the cut, and one for each thing left out")
				assert.Equal(t, tt.headerPart, lines[0])
			}

			assert.Len(t, sc.Config.Timeline, 3, "the scenario's own Config is not cut")
			assert.Len(t, sc.Config.Traffic.Bursts, 2)
		})
	}
}

func checkNames(checks []analysis.Check) []string {
	var names []string
	for _, ch := range checks {
		names = append(names, ch.Name)
	}
	return names
}

// TestCutRunSaysWhatItLeftOut runs a cut scenario as a user would: the
// lines before the run on stderr, the checks not evaluated after the
// results.
func TestCutRunSaysWhatItLeftOut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cut.yaml")
	require.NoError(t, os.WriteFile(path, []byte(cutScenario), 0o644))
	var out, errOut bytes.Buffer
	code := run([]string{"-scenario", path, "-duration", "2h", "-quiet"}, &out, &errOut)
	require.Equal(t, exitOK, code, errOut.String())
	assert.Equal(t, `vmstorm: -duration 2h cuts the scenario at 2015-07-31T02:00:00Z: 1 timeline event and 1 traffic burst after it are left out; 2 checks are not evaluated
vmstorm:   left out: resume_builds (queue: com) at 2015-07-31T03:00:00Z
vmstorm:   left out: traffic burst x3 for 30m at 2015-07-31T02:30:00Z
vmstorm:   not evaluated: check "a point at 3h": after the end of the run
vmstorm:   not evaluated: check "an alert by 2h30m": after the end of the run
`, errOut.String())
	assert.Contains(t, out.String(), "CALIBRATIONS (cut")
	assert.Contains(t, out.String(), "3 of 3 calibrations hold")
	assert.Contains(t, out.String(), "NOT EVALUATED (cut): after the end of the run at 2015-07-31T02:00:00Z\n  --    a point at 3h\n  --    an alert by 2h30m\n")
}

// TestFlagsAreValidatedOnTheScenario: flags are judged against the
// scenario they override, not against the defaults.
func TestFlagsAreValidatedOnTheScenario(t *testing.T) {
	tests := []struct {
		args []string
		want string // part of the error; empty for none
	}{
		{[]string{"-scenario", "travis-2015-osx", "-break-cleanup", "-break-at", "100h"}, ""},
		{[]string{"-scenario", "travis-2015-osx", "-break-at", "151h"}, "-break-at 151h0m0s: want a model time within the run's -duration 150h0m0s"},
		{[]string{"-break-at", "100h"}, "-break-at 100h0m0s: want a model time within the run's -duration 1h0m0s"},
		{[]string{"-scenario", "travis-2015-osx", "-duration", "110h"}, ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, _, _, err := parseFlags(tt.args, io.Discard)
			if tt.want == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// TestScenarioChecksSetTheExitStatus: a scenario run whose checks all hold
// exits 0; one with a check or a calibration that does not hold exits 3,
// after printing every check, and says so in one line.
func TestScenarioChecksSetTheExitStatus(t *testing.T) {
	if testing.Short() {
		t.Skip("runs scenarios on the wall clock")
	}
	// Ten model minutes of a small cluster, at a speed that takes a few
	// milliseconds. Its bounds hold (or fail) by a wide margin, whatever
	// the wall clock's jitter.
	const base = `name: short
duration: 10m
speed: 100000
seed: 7
cluster:
  vms: 50
workload:
  arrival_rate: 30
  build_time: 2m
workers:
  build: 10
  run: 50
timeline:
  - at: 1m
    action: rotate_cleanup_password
checks:
`
	const holds = `  - name: jobs arrive
    calibration: true
    metric: arrived
    stat: delta
    min: 1
  - name: the broken janitor leaks VMs
    causes: [janitor_broken]
    metric: vms_true
    stat: max
    min: 1
`
	tests := []struct {
		name   string
		checks string
		want   int
	}{
		{"every check holds", holds, exitOK},
		{"a check fails", holds + `  - name: a million VMs
    causes: [janitor_broken]
    metric: vms_true
    stat: max
    min: 1000000
`, exitChecksFailed},
		{"a calibration fails", holds + `  - name: no job arrives
    calibration: true
    metric: arrived
    stat: delta
    max: 0
`, exitChecksFailed},
	}
	const fails = holds + `  - name: a million VMs
    causes: [janitor_broken]
    metric: vms_true
    stat: max
    min: 1000000
`
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "short.yaml")
			require.NoError(t, os.WriteFile(path, []byte(base+tt.checks), 0o644))
			var out, errOut bytes.Buffer
			code := run([]string{"-scenario", path, "-quiet"}, &out, &errOut)
			assert.Equal(t, tt.want, code, "stderr: %s", errOut.String())
			assert.Contains(t, out.String(), "FAITHFULNESS (short)", "the checks are printed either way")
			assert.Contains(t, out.String(), "CALIBRATIONS (short")
			if tt.want == exitOK {
				assert.Empty(t, errOut.String())
				assert.NotContains(t, out.String(), "FAIL")
				return
			}
			assert.Contains(t, out.String(), "  FAIL ")
			assert.Equal(t, "vmstorm: 1 of the 3 checks and calibrations of short did not hold\n", errOut.String())
		})
	}

	// A run that changes the scenario (a mitigation, another value) is not
	// the incident as written: the line names what changed it, so that the
	// exit status 3 of a mitigation's one-liner is read as the mitigation's
	// effect. The scenario's own values given again, and -speed, change
	// nothing and are not named.
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, ""},
		{[]string{"-seed", "7", "-speed", "50000", "-vms", "50"}, ""},
		{[]string{"-breaker", "-seed", "7"}, " with -breaker, which the scenario does not set"},
		{[]string{"-vms", "40", "-seed", "8", "-capacity-aware=false"}, " with -seed 8 -vms 40, which the scenario does not set"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "short.yaml")
			require.NoError(t, os.WriteFile(path, []byte(base+fails), 0o644))
			var out, errOut bytes.Buffer
			code := run(append([]string{"-scenario", path, "-quiet"}, tt.args...), &out, &errOut)
			require.Equal(t, exitChecksFailed, code, "stderr: %s", errOut.String())
			line := "vmstorm: 1 of the 3 checks and calibrations of short did not hold"
			if tt.want == "" {
				assert.Equal(t, line+"\n", errOut.String())
				return
			}
			assert.True(t, strings.HasPrefix(errOut.String(), line+tt.want), "%s", errOut.String())
			assert.Contains(t, errOut.String(), "a mitigation or another value is expected to change")
			assert.Equal(t, 1, strings.Count(errOut.String(), "\n"), "one line")
		})
	}
}
