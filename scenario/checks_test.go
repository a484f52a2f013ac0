package scenario

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/config"
	"vmstorm/pipeline"
)

// checksHead is a valid scenario up to its checks; each case below adds
// one check, whose name is on line 12 and whose keys start on line 13.
//
//	 1 name: checks
//	 2 duration: 1h
//	 3 janitor:
//	 4   report_stale: true
//	 5 alerts:
//	 6   vm_count_min: 1
//	 7   vm_count_max: 400
//	 8 timeline:
//	 9   - at: 10m
//	10     action: rotate_cleanup_password
//	11 checks:
//	12   - name: the check
const checksHead = `name: checks
duration: 1h
janitor:
  report_stale: true
alerts:
  vm_count_min: 1
  vm_count_max: 400
timeline:
  - at: 10m
    action: rotate_cleanup_password
checks:
  - name: the check
`

// TestParseRejectsBadChecks: each mistake in a check is an *Error that
// points at it and says what is valid.
func TestParseRejectsBadChecks(t *testing.T) {
	tests := []struct {
		name      string
		check     string // the check's keys after its name, from line 13
		line, col int
		msg       []string
	}{
		{"an unknown cause", "    causes: [janitor_broke]\n    metric: vms_true\n    stat: max\n    min: 1\n",
			13, 14, []string{`no cause "janitor_broke"`, "the causes are janitor_broken, stale_report, unbounded_requeue"}},
		{"an unknown second cause", "    causes:\n      - janitor_broken\n      - cpu\n    metric: vms_true\n    stat: max\n    min: 1\n",
			15, 9, []string{`no cause "cpu"`, "lowered_api_limit"}},
		{"neither causes nor calibration", "    metric: vms_true\n    stat: max\n    min: 1\n",
			12, 9, []string{"names no causes and is not a calibration", "calibration: true"}},
		{"causes and calibration", "    causes: [janitor_broken]\n    calibration: true\n    metric: vms_true\n    stat: max\n    min: 1\n",
			14, 18, []string{"names causes and is a calibration"}},
		{"a cause the scenario does not have", "    causes: [janitor_broken, cpu_ceiling]\n    metric: vms_true\n    stat: max\n    min: 1\n",
			13, 30, []string{"does not have the cause cpu_ceiling", "changes nothing"}},
		{"a cause named twice", "    causes: [janitor_broken, janitor_broken]\n    metric: vms_true\n    stat: max\n    min: 1\n",
			13, 30, []string{"janitor_broken is named twice"}},
		{"at and from", "    calibration: true\n    metric: vms_true\n    stat: at\n    at: 30m\n    from: 10m\n    max: 1\n",
			16, 9, []string{"both at and from/to"}},
		{"at and to on a max", "    calibration: true\n    metric: vms_true\n    stat: max\n    at: 30m\n    to: 40m\n    max: 1\n",
			16, 9, []string{"both at and from/to"}},
		{"per on a max", "    calibration: true\n    metric: requeues\n    stat: max\n    per: arrived\n    min: 1\n",
			16, 10, []string{"per is for stat delta"}},
		{"per with an unknown metric", "    calibration: true\n    metric: requeues\n    stat: delta\n    per: arrivals\n    min: 1\n",
			16, 10, []string{`no metric "arrivals"`, "the metrics are"}},
		{"two kinds", "    calibration: true\n    metric: vms_true\n    stat: max\n    min: 1\n    phase_seen: storm\n",
			12, 9, []string{"exactly one of metric, detected, phase_seen or alert_band"}},
		{"an alert band with neither inside nor above", "    calibration: true\n    alert_band: {}\n",
			14, 17, []string{"neither inside nor above"}},
		{"an alert band with an unknown metric", "    calibration: true\n    alert_band:\n      inside: vms_repotred\n",
			15, 15, []string{`no metric "vms_repotred"`}},
		{"an alert band at a time", "    calibration: true\n    alert_band:\n      inside: vms_reported\n    at: 30m\n",
			16, 9, []string{"takes from and to, not at"}},
		{"an unknown alert", "    calibration: true\n    detected:\n      not_before: 10m\n      by: 50m\n      alert: vm_count\n",
			17, 14, []string{`no alert "vm_count"`, "vm_count_out_of_band, requeue_rate_high, backlog_age_high"}},
		{"a detection over a span", "    calibration: true\n    detected:\n      not_before: 10m\n      by: 50m\n    from: 10m\n",
			17, 11, []string{"a detected check takes no from"}},
		{"bounds on a detection", "    calibration: true\n    detected:\n      not_before: 10m\n      by: 50m\n    min: 1\n",
			12, 9, []string{"min and max are for a metric check"}},
		{"a stat on a phase check", "    calibration: true\n    phase_seen: storm\n    stat: max\n",
			15, 11, []string{"stat is for a metric check"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("checks.yaml", []byte(checksHead+tt.check))
			var e *Error
			require.True(t, errors.As(err, &e), "want an *Error, got %v", err)
			assert.Equal(t, tt.line, e.Line, "line of %v", err)
			assert.Equal(t, tt.col, e.Column, "column of %v", err)
			for _, m := range tt.msg {
				assert.Contains(t, err.Error(), m)
			}
			assert.NotContains(t, err.Error(), "\n", "one line")
		})
	}
}

func TestParseRejectsAnAlertBandWithNoBand(t *testing.T) {
	for _, tt := range []struct{ alerts, band, msg string }{
		{"  vm_count_min: 0\n  vm_count_max: 0\n", "inside: vms_reported", "the VM-count alert is off"},
		{"  vm_count_min: 1\n  vm_count_max: 0\n", "above: vms_true", "no top to rise above"},
	} {
		file := strings.Replace(checksHead, "  vm_count_min: 1\n  vm_count_max: 400\n", tt.alerts, 1) +
			"    calibration: true\n    alert_band: {" + tt.band + "}\n"
		_, err := Parse("checks.yaml", []byte(file))
		require.Error(t, err)
		assert.Contains(t, err.Error(), tt.msg)
	}
}

// TestParseAcceptsEveryKindOfCheck: the causes, the calibration mark and
// the new keys are read as written.
func TestParseAcceptsEveryKindOfCheck(t *testing.T) {
	s, err := Parse("checks.yaml", []byte(checksHead+`    causes: [janitor_broken, stale_report]
    alert_band: {inside: vms_reported, above: vms_true}
    from: 10m
    to: 50m
  - name: storm
    causes: [janitor_broken]
    metric: requeues
    stat: delta
    per: arrived
    min: 1
  - name: noticed
    causes: [stale_report]
    detected: {not_before: 10m, by: 50m, alert: backlog_age_high}
  - name: a calibration
    calibration: true
    phase_seen: storm
`))
	require.NoError(t, err)
	require.Len(t, s.Checks, 4)
	assert.Equal(t, []string{"janitor_broken", "stale_report"}, s.Checks[0].Causes)
	assert.Equal(t, &AlertBand{Inside: "vms_reported", Above: "vms_true"}, s.Checks[0].AlertBand)
	assert.Equal(t, moment{t: 10 * time.Minute}, s.Checks[0].from)
	assert.Equal(t, "arrived", s.Checks[1].Per)
	assert.Equal(t, "backlog_age_high", s.Checks[2].Detected.Alert)
	assert.True(t, s.Checks[3].Calibration)
	assert.Empty(t, s.Checks[3].Causes)
	assert.Equal(t, []string{"janitor_broken", "stale_report"}, s.CauseNames(), "each once, in catalogue order")
}

// run is a made-up run for the evaluation tests: a leak the janitor's
// frozen report hides, a requeue storm, and an alert at 30 minutes.
func run() *pipeline.Summary {
	cfg := config.Default()
	cfg.Alerts.VMCountMin, cfg.Alerts.VMCountMax = 1, 400
	s := &pipeline.Summary{Config: cfg, Model: 50 * time.Minute}
	for i, v := range []struct{ vms, requeues, arrived int64 }{{100, 0, 0}, {300, 10, 10}, {500, 40, 20}, {700, 90, 30}, {900, 160, 40}} {
		s.Series = append(s.Series, pipeline.Sample{T: time.Duration(i+1) * 10 * time.Minute, VMs: v.vms, ReportedVMs: 100,
			Requeues: v.requeues, Arrived: v.arrived})
	}
	s.Incident = pipeline.IncidentStats{Faulted: true, Detected: true, DetectedAt: 30 * time.Minute, DetectedBy: pipeline.AlertBacklogAge}
	return s
}

// TestEvaluate judges each kind of check on a run whose figures are known.
func TestEvaluate(t *testing.T) {
	tests := []struct {
		name  string
		check string
		ok    bool
		model string
	}{
		{"the report stays in the band while the truth leaves it", "alert_band: {inside: vms_reported, above: vms_true}",
			true, "vms_reported from 100 to 100; vms_true from 100 to 900, above the band from T+30m0s (T+10m0s to T+50m0s)"},
		{"a figure that leaves the band", "alert_band: {inside: vms_true}",
			false, "vms_true from 100 to 900, out of the band at T+30m0s"},
		{"a figure that never rises above it", "alert_band: {above: vms_reported}",
			false, "vms_reported from 100 to 100, never above the band"},
		{"the band over a span", "alert_band: {inside: vms_true, above: vms_true}\n    from: 10m\n    to: 20m",
			false, "vms_true from 100 to 300; vms_true from 100 to 300, never above the band (T+10m0s to T+20m0s)"},
		{"requeues per arrival", "metric: requeues\n    stat: delta\n    per: arrived\n    min: 4",
			true, "delta of requeues per arrived (160 / 40) = 4, T+10m0s to T+50m0s"},
		{"requeues per arrival, over a bound", "metric: requeues\n    stat: delta\n    per: arrived\n    max: 3.9",
			false, "= 4,"},
		{"per with no arrivals", "metric: requeues\n    stat: delta\n    per: arrived\n    from: 20m\n    to: 20m\n    min: 0",
			false, "no arrived from T+20m0s to T+20m0s"},
		{"the first alert, by name", "detected: {not_before: 20m, by: 40m, alert: backlog_age_high}",
			true, "backlog_age_high fired at T+30m0s"},
		{"the first alert, another name", "detected: {not_before: 20m, by: 40m, alert: vm_count_out_of_band}",
			false, "backlog_age_high fired at T+30m0s"},
		{"the first alert, too early", "detected: {not_before: 35m, by: 40m}",
			false, "backlog_age_high fired at T+30m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse("checks.yaml", []byte(checksHead+"    calibration: true\n    "+tt.check+"\n"))
			require.NoError(t, err)
			r := s.Evaluate(run())
			require.Len(t, r, 1)
			assert.Equal(t, tt.ok, r[0].OK, "model %s, want %s", r[0].Model, r[0].Want)
			assert.Contains(t, r[0].Model, tt.model)
			assert.Equal(t, tt.ok, Hold(r))
		})
	}
}

// TestFormatResultsListsCalibrationsApart: the checks, with their causes,
// and then, in a table of their own, the calibrations.
func TestFormatResultsListsCalibrationsApart(t *testing.T) {
	results := []Result{
		{Check: Check{Name: "the leak fills the cluster", Causes: []string{"janitor_broken"}}, OK: true, Model: "7046", Want: "at least 6000"},
		{Check: Check{Name: "a normal peak", Calibration: true}, OK: true, Model: "226", Want: "from 150 to 250"},
		{Check: Check{Name: "the alert is late", Causes: []string{"janitor_broken", "stale_report"}}, OK: false, Model: "20:01", Want: "16:30 to 18:46"},
	}
	var out bytes.Buffer
	require.NoError(t, FormatResults(&out, "s", results))
	text := out.String()
	checks, calibrations, found := strings.Cut(text, "CALIBRATIONS (s")
	require.True(t, found, "a calibrations table:\n%s", text)
	assert.Contains(t, checks, "FAITHFULNESS (s)")
	assert.Regexp(t, `ok   the leak fills the cluster +7046 +at least 6000 +janitor_broken\n`, checks)
	assert.Regexp(t, `FAIL the alert is late +20:01 +16:30 to 18:46 +janitor_broken, stale_report\n`, checks)
	assert.Contains(t, checks, "1 of 2 checks hold")
	assert.NotContains(t, checks, "a normal peak")
	assert.Regexp(t, `ok   a normal peak +226 +from 150 to 250 +none: a calibration\n`, calibrations)
	assert.Contains(t, calibrations, "1 of 1 calibrations hold")
	assert.False(t, Hold(results))

	out.Reset()
	require.NoError(t, FormatResults(&out, "s", results[:1]))
	assert.NotContains(t, out.String(), "CALIBRATIONS", "no empty table")
}
