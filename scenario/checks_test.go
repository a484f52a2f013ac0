package scenario

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/analysis"
	"vmstorm/incident"
	"vmstorm/series"
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
			13, 14, []string{`no cause "janitor_broke"`, "the causes are janitor_broken, stale_report, requeue_loop"}},
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
// every kind's keys are read as written, into the analysis's Check.
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
  - name: at the end
    calibration: true
    metric: backlog
    stat: at
    at: end
    max: 10
  - name: after detection
    calibration: true
    metric: vms_true
    stat: max
    from: detection
    min: 2
`))
	require.NoError(t, err)
	require.Len(t, s.Checks, 6)
	absent := analysis.Moment{Absent: true}
	want := []analysis.Check{
		{Name: "the check", Causes: []string{"janitor_broken", "stale_report"},
			AlertBand: &analysis.AlertBand{Inside: "vms_reported", Above: "vms_true"},
			At:        absent, From: analysis.Moment{T: 10 * time.Minute}, To: analysis.Moment{T: 50 * time.Minute}},
		{Name: "storm", Causes: []string{"janitor_broken"}, Metric: "requeues", Stat: "delta", Per: "arrived", Min: ptr(1.0),
			At: absent, From: absent, To: absent},
		{Name: "noticed", Causes: []string{"stale_report"},
			Detected: &analysis.Detected{NotBefore: 10 * time.Minute, By: 50 * time.Minute, Alert: "backlog_age_high"},
			At:       absent, From: absent, To: absent},
		{Name: "a calibration", Calibration: true, PhaseSeen: "storm", At: absent, From: absent, To: absent},
		{Name: "at the end", Calibration: true, Metric: "backlog", Stat: "at", Max: ptr(10.0),
			At: analysis.Moment{End: true}, From: absent, To: absent},
		{Name: "after detection", Calibration: true, Metric: "vms_true", Stat: "max", Min: ptr(2.0),
			At: absent, From: analysis.Moment{Detection: true}, To: absent},
	}
	for i := range want {
		want[i].Band = [2]int64{1, 400} // the VM-count alert's, from the file
	}
	assert.Equal(t, want, s.Checks)
	assert.Equal(t, []string{"janitor_broken", "stale_report"}, s.CauseNames(), "each once, in catalogue order")
}

// knownRun is a made-up run for the evaluation tests, as the model would
// emit it: the janitor breaks at 5 minutes (the fault), a leak that its
// frozen report hides, a requeue storm, and jobs waiting longer than the
// backlog-age alert's 30 minutes from 20 minutes on, so that the alert
// fires at 30 minutes (alerts.for is 1m).
func knownRun() ([]series.Row, []series.Mark) {
	marks := []series.Mark{{T: 5 * time.Minute, Name: "rotate_cleanup_password"}}
	var rows []series.Row
	for i, v := range []struct {
		vms, requeues, arrived int64
		wait                   time.Duration
	}{{100, 0, 0, 0}, {300, 10, 10, 31 * time.Minute}, {500, 40, 20, 41 * time.Minute}, {700, 90, 30, 51 * time.Minute}, {900, 160, 40, 61 * time.Minute}} {
		rows = append(rows, series.Row{Sample: series.Sample{T: time.Duration(i+1) * 10 * time.Minute, VMs: v.vms, ReportedVMs: 100,
			Requeues: v.requeues, Arrived: v.arrived, OldestWait: v.wait}})
	}
	return rows, marks
}

// TestEvaluate judges each kind of check, as the file writes it, on a run
// whose figures are known.
func TestEvaluate(t *testing.T) {
	tests := []struct {
		name  string
		check string
		ok    bool
		model string
	}{
		{"the report stays in the band while the truth leaves it", "alert_band: {inside: vms_reported, above: vms_true}",
			true, "vms_reported from 100 to 100; vms_true from 100 to 900, above the band from T+00:30 (T+00:10 to T+00:50)"},
		{"a figure that leaves the band", "alert_band: {inside: vms_true}",
			false, "vms_true from 100 to 900, out of the band at T+00:30"},
		{"a figure that never rises above it", "alert_band: {above: vms_reported}",
			false, "vms_reported from 100 to 100, never above the band"},
		{"the band over a span", "alert_band: {inside: vms_true, above: vms_true}\n    from: 10m\n    to: 20m",
			false, "vms_true from 100 to 300; vms_true from 100 to 300, never above the band (T+00:10 to T+00:20)"},
		{"requeues per arrival", "metric: requeues\n    stat: delta\n    per: arrived\n    min: 4",
			true, "delta of requeues per arrived (160 / 40) = 4, T+00:10 to T+00:50"},
		{"requeues per arrival, over a bound", "metric: requeues\n    stat: delta\n    per: arrived\n    max: 3.9",
			false, "= 4,"},
		{"per with no arrivals", "metric: requeues\n    stat: delta\n    per: arrived\n    from: 20m\n    to: 20m\n    min: 0",
			false, "no arrived from T+00:20 to T+00:20"},
		{"a figure at a time", "metric: vms_true\n    stat: at\n    at: 35m\n    min: 500\n    max: 500",
			true, "500 vms_true at T+00:30"},
		{"a figure at detection", "metric: requeues\n    stat: at\n    at: detection\n    min: 41",
			false, "40 requeues at T+00:30"},
		{"the largest figure after detection", "metric: vms_true\n    stat: max\n    from: detection\n    min: 900",
			true, "max of vms_true = 900, T+00:30 to T+00:50"},
		{"the smallest figure until detection", "metric: vms_true\n    stat: min\n    to: detection\n    max: 99",
			false, "min of vms_true = 100, T+00:10 to T+00:30"},
		{"the first alert, by name", "detected: {not_before: 20m, by: 40m, alert: backlog_age_high}",
			true, "backlog_age_high fired at T+00:30"},
		{"the first alert, another name", "detected: {not_before: 20m, by: 40m, alert: vm_count_out_of_band}",
			false, "backlog_age_high fired at T+00:30"},
		{"the first alert, too early", "detected: {not_before: 35m, by: 40m}",
			false, "backlog_age_high fired at T+00:30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse("checks.yaml", []byte(checksHead+"    calibration: true\n    "+tt.check+"\n"))
			require.NoError(t, err)
			rows, marks := knownRun()
			r := analysis.Replay(s.Config, incident.Classify, s.Checks, rows, marks).Checks
			require.Len(t, r, 1)
			assert.Equal(t, tt.ok, r[0].OK, "model %s, want %s", r[0].Model, r[0].Want)
			assert.Contains(t, r[0].Model, tt.model)
			assert.Equal(t, tt.ok, analysis.Hold(r))
		})
	}
}
