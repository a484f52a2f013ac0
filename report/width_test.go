package report_test

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/analysis"
	"vmstorm/config"
	"vmstorm/internal/format"
	"vmstorm/internal/racedetect"
	"vmstorm/internal/sim"
	"vmstorm/outcome"
	"vmstorm/pipeline"
	"vmstorm/report"
	"vmstorm/scenario"
)

// fits requires every line of text to be at most format.TextWidth columns
// and none to end in a space.
func fits(t *testing.T, what, text string) {
	t.Helper()
	require.NotEmpty(t, text, what)
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		assert.LessOrEqual(t, utf8.RuneCountInString(line), format.TextWidth, "%s, line %d is %d columns:\n%s", what, i+1, utf8.RuneCountInString(line), line)
		assert.False(t, strings.HasSuffix(line, " ") || strings.HasSuffix(line, "\t"), "%s, line %d ends in a space: %q", what, i+1, line)
	}
}

// allOn turns on every mitigation and takes the other value of every
// assumption: the summary's MITIGATIONS section, the ASSUMPTIONS section
// with its values not the defaults, and the storms they make.
func allOn(t *testing.T, cfg config.Config) config.Config {
	t.Helper()
	for _, p := range config.Params {
		if !p.IsBool() || (p.Section != config.SectionMitigations && p.Section != config.SectionAssumptions && p.Flag != "delete-failed-vms") {
			continue
		}
		v := "true"
		if p.Get(&cfg) == "true" {
			v = "false"
		}
		require.NoError(t, p.Set(&cfg, v), p.Flag)
	}
	return cfg
}

// writeAll is what a scenario run prints on stdout: the summary, the
// checks and the checks a cut leaves out; and what -analyze prints.
func writeAll(t *testing.T, sc *scenario.Scenario, o *outcome.Outcome) (run, analyzed string) {
	t.Helper()
	var out, an bytes.Buffer
	require.NoError(t, report.WriteSummary(&out, o))
	require.NoError(t, report.WriteChecks(&out, sc.Name, o.Analysis.Checks))
	require.NoError(t, sc.Cut.FormatChecks(&out, sc.Name))
	require.NoError(t, report.WriteAnalysis(&an, o.Summary.Config, o.Analysis))
	require.NoError(t, report.WriteChecks(&an, sc.Name, o.Analysis.Checks))
	return out.String(), an.String()
}

// TestSummaryFitsOneHundredColumns: no line of a built-in scenario's
// summary, checks or analysis is wider than 100 columns, as written, with
// every mitigation on and the assumptions' other values, and cut short;
// and none ends in spaces. The 2015 summary once had lines 348 columns
// wide, padded with spaces, and a faithfulness table no terminal could
// show. The whole replays are Serial runs, which the race detector cannot
// see into (internal/racedetect): under it the test runs each built-in
// for its first 2 hours instead, which still prints every section of the
// summary before the incident, and the checks the cut leaves out; the
// checks' own texts are written with the widest figures a check writes.
func TestSummaryFitsOneHundredColumns(t *testing.T) {
	for _, b := range scenario.Builtins() {
		for _, variant := range []string{"as written", "every mitigation on, the other assumptions"} {
			t.Run(b.Name+", "+variant, func(t *testing.T) {
				t.Parallel()
				sc, err := scenario.LoadBuiltin(b.Name)
				require.NoError(t, err)
				cfg := sc.Config
				if variant != "as written" {
					cfg = allOn(t, cfg)
				}
				if racedetect.On {
					cfg.Duration = min(cfg.Duration, 2*time.Hour)
				}
				cfg = sc.CutTo(cfg)
				cfg.Speed = sim.Max
				o, err := outcome.Run(t.Context(), cfg, pipeline.NewKernel(cfg, sim.Serial), outcome.Options{Checks: sc.Checks})
				require.NoError(t, err)
				run, analyzed := writeAll(t, sc, o)
				fits(t, "the summary", run)
				fits(t, "the analysis", analyzed)
				assert.Contains(t, run, "ASSUMPTIONS")
				if variant != "as written" {
					assert.Contains(t, run, "MITIGATIONS")
					assert.Contains(t, run, "not the default")
				}
			})
		}
	}

	// The checks' texts as the widest figures a check writes: a band's.
	for _, b := range scenario.Builtins() {
		sc, err := scenario.LoadBuiltin(b.Name)
		require.NoError(t, err)
		var results []analysis.CheckResult
		for i, c := range sc.Checks {
			results = append(results, analysis.CheckResult{Check: c, OK: i%2 == 0,
				Model: "vms_reported from 178 to 178; vms_true from 176 to 7046, above the band from 2015-07-31 21:28 (2015-07-31 20:00 to 2015-08-04 17:45)",
				Want:  "vms_reported inside the band [1, 400] throughout; vms_true above it at some time"})
		}
		var out bytes.Buffer
		require.NoError(t, report.WriteChecks(&out, sc.Name, results))
		fits(t, b.Name+"'s checks", out.String())
		// A scenario file's name is the user's: the tables' titles wrap.
		out.Reset()
		require.NoError(t, report.WriteChecks(&out, strings.Repeat(sc.Name+"-", 4), results))
		fits(t, b.Name+"'s checks under a long name", out.String())
	}
}
