package analysis_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/analysis"
	"vmstorm/config"
	"vmstorm/series"
)

// checked is the run the checks are judged on, 20 minutes long: the true
// VM count is 10 a minute (10 at 1m, 200 at 20m); the reported count
// follows it up to 100 and stays there; the backlog falls by 5 a minute
// from 95; 5 arrivals a minute; 10 requeues a
// minute from 11m; a job waits over 30 minutes from 12m, when
// backlog_age_high fires: with the fault at 10m, that is the detection.
func checked(fault bool) (config.Config, []series.Sample, []series.Mark) {
	cfg := quiet()
	cfg.Alerts = config.Alerts{BacklogAgeMax: 30 * time.Minute}
	samples := script(20, func(m int, s *series.Sample) (int64, int64, int64) {
		s.VMs, s.ReportedVMs = 10*int64(m), min(10*int64(m), 100)
		s.Backlog = 100 - 5*int64(m)
		if m >= 12 {
			s.OldestWait = 31 * time.Minute
		}
		if m >= 11 {
			return 5, 0, 10
		}
		return 5, 0, 0
	})
	var marks []series.Mark
	if fault {
		marks = []series.Mark{mark(10, "rotate_cleanup_password")}
	}
	return cfg, samples, marks
}

func num(v float64) *float64 { return &v }

var (
	absent    = analysis.Moment{Absent: true}
	end       = analysis.Moment{End: true}
	detection = analysis.Moment{Detection: true}
)

func at(t time.Duration) analysis.Moment { return analysis.Moment{T: t} }

// metric is a metric check of stat over from..to (or at at, for stat at).
func metric(name, stat string, when, from, to analysis.Moment, lo, hi *float64) analysis.Check {
	return analysis.Check{Name: name + " " + stat, Causes: []string{"janitor_broken"}, Metric: name, Stat: stat,
		At: when, From: from, To: to, Min: lo, Max: hi}
}

func band(inside, above string, lo, hi int64, from, to analysis.Moment) analysis.Check {
	return analysis.Check{Name: "band", Causes: []string{"stale_report"}, AlertBand: &analysis.AlertBand{Inside: inside, Above: above},
		Band: [2]int64{lo, hi}, At: absent, From: from, To: to}
}

func detectedBetween(notBefore, by time.Duration, alert string) analysis.Check {
	return analysis.Check{Name: "detected", Causes: []string{"stale_report"}, At: absent, From: absent, To: absent,
		Detected: &analysis.Detected{NotBefore: notBefore, By: by, Alert: alert}}
}

func phaseSeen(name string) analysis.Check {
	return analysis.Check{Name: "phase " + name, Causes: []string{"requeue_loop"}, At: absent, From: absent, To: absent, PhaseSeen: name}
}

// TestChecks: each kind of check holds on the run that does what it says,
// and fails on the one that does not, saying what the model did.
func TestChecks(t *testing.T) {
	cases := []struct {
		name    string
		check   analysis.Check
		noFault bool // judge the run without its fault: no detection
		ok      bool
		model   string // in the result's Model
	}{
		{"at: the last sample at or before the time", metric("vms_true", "at", at(5*time.Minute+30*time.Second), absent, absent, num(50), num(50)), false, true, "50 vms_true at T+00:05"},
		{"at: out of bounds", metric("vms_true", "at", at(5*time.Minute), absent, absent, nil, num(49)), false, false, "50 vms_true"},
		{"at: before the first sample", metric("vms_true", "at", at(30*time.Second), absent, absent, num(0), nil), false, false, "no sample at"},
		{"at: the end", metric("vms_true", "at", end, absent, absent, num(200), nil), false, true, "200 vms_true at T+00:20"},
		{"at: the end, out of bounds", metric("vms_true", "at", end, absent, absent, num(201), nil), false, false, "200 vms_true"},
		{"at: detection", metric("vms_true", "at", detection, absent, absent, num(120), num(120)), false, true, "120 vms_true at T+00:12"},
		{"at: no detection", metric("vms_true", "at", detection, absent, absent, num(0), nil), true, false, "no detection to measure at"},
		{"max over a span", metric("vms_true", "max", absent, at(5*time.Minute), at(8*time.Minute), num(80), num(80)), false, true, "max of vms_true = 80, T+00:05 to T+00:08"},
		{"max over a span, out of bounds", metric("vms_true", "max", absent, at(5*time.Minute), at(8*time.Minute), nil, num(79)), false, false, "= 80"},
		{"min over a span", metric("vms_reported", "min", absent, at(5*time.Minute), absent, num(50), num(50)), false, true, "min of vms_reported = 50, T+00:05 to T+00:20"},
		{"min over a span, falling", metric("backlog", "min", absent, at(5*time.Minute), at(10*time.Minute), num(50), num(50)), false, true, "min of backlog = 50, T+00:05 to T+00:10"},
		{"min over a span, out of bounds", metric("backlog", "min", absent, at(5*time.Minute), at(10*time.Minute), num(51), nil), false, false, "= 50"},
		{"delta", metric("requeues", "delta", absent, at(10*time.Minute), at(20*time.Minute), num(100), num(100)), false, true, "delta of requeues = 100"},
		{"delta per another metric", func() analysis.Check {
			c := metric("requeues", "delta", absent, at(10*time.Minute), at(20*time.Minute), num(1.9), num(2.1))
			c.Per = "arrived"
			return c
		}(), false, true, "requeues per arrived (100 / 50) = 2"},
		{"delta per another metric, out of bounds", func() analysis.Check {
			c := metric("requeues", "delta", absent, at(10*time.Minute), at(20*time.Minute), num(2.5), nil)
			c.Per = "arrived"
			return c
		}(), false, false, "= 2"},
		{"delta per a metric that did not move", func() analysis.Check {
			c := metric("requeues", "delta", absent, at(10*time.Minute), at(20*time.Minute), num(0), nil)
			c.Per = "failed"
			return c
		}(), false, false, "no failed from T+00:10 to T+00:20"},
		{"a span with no samples", metric("vms_true", "max", absent, at(30*time.Minute), absent, num(0), nil), false, false, "no samples from T+00:30"},
		{"from detection", metric("oldest_wait_min", "min", absent, detection, absent, num(31), nil), false, true, "min of oldest_wait_min = 31, T+00:12 to T+00:20"},
		{"to detection: the span closes at it", metric("vms_true", "max", absent, absent, detection, nil, num(120)), false, true, "max of vms_true = 120, T+00:01 to T+00:12"},
		{"to detection, out of bounds", metric("vms_true", "max", absent, absent, detection, nil, num(119)), false, false, "= 120"},
		{"from detection without one", metric("vms_true", "max", absent, detection, absent, num(0), nil), true, false, "no detection to measure from"},

		{"detected in time", detectedBetween(10*time.Minute, 15*time.Minute, ""), false, true, "backlog_age_high fired at T+00:12"},
		{"detected by the alert named", detectedBetween(10*time.Minute, 15*time.Minute, analysis.AlertBacklogAge), false, true, "backlog_age_high fired"},
		{"detected too late", detectedBetween(10*time.Minute, 11*time.Minute, ""), false, false, "fired at T+00:12"},
		{"detected too early", detectedBetween(13*time.Minute, 15*time.Minute, ""), false, false, "fired at T+00:12"},
		{"detected by another alert", detectedBetween(10*time.Minute, 15*time.Minute, analysis.AlertRequeueRate), false, false, "backlog_age_high fired"},
		{"not detected", detectedBetween(0, 20*time.Minute, ""), true, false, "no alert fired"},

		{"a phase seen", phaseSeen(analysis.PhaseStorm), false, true, "phases: healthy, storm"},
		{"a phase not seen", phaseSeen(analysis.PhasePaused), false, false, "phases: healthy, storm"},

		{"reported inside the band while the true count rises above it", band("vms_reported", "vms_true", 0, 100, absent, absent), false, true,
			"vms_reported from 10 to 100; vms_true from 10 to 200, above the band from T+00:11"},
		{"the true count leaves the band", band("vms_true", "", 0, 100, absent, absent), false, false, "out of the band at T+00:11"},
		{"the true count inside the band until it leaves it", band("vms_true", "", 0, 100, absent, at(10*time.Minute)), false, true, "vms_true from 10 to 100"},
		{"under the band's bottom is out of it", band("vms_reported", "", 30, 100, absent, absent), false, false, "out of the band at T+00:01"},
		{"inside the band from its bottom on", band("vms_reported", "", 30, 100, at(3*time.Minute), absent), false, true, "vms_reported from 30 to 100"},
		{"never above the band", band("", "vms_reported", 0, 100, absent, absent), false, false, "never above the band"},
		{"a band with no top: nothing is above it", band("", "vms_true", 0, 0, absent, absent), false, false, "never above the band"},
		{"a band over no samples", band("vms_true", "", 0, 100, at(30*time.Minute), absent), false, false, "no samples from T+00:30"},
		{"a band from detection over no samples", band("vms_true", "", 0, 100, detection, at(5*time.Minute)), false, false, "no samples from"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, samples, marks := checked(!tc.noFault)
			_, res := judge(cfg, []analysis.Check{tc.check}, samples, marks...)
			require.Len(t, res.Checks, 1)
			got := res.Checks[0]
			assert.Equal(t, tc.check, got.Check)
			assert.Equal(t, tc.ok, got.OK, "model: %s; want: %s", got.Model, got.Want)
			assert.Contains(t, got.Model, tc.model)
			assert.NotEmpty(t, got.Want)
			assert.Equal(t, tc.ok, analysis.Hold(res.Checks))
		})
	}
}

// TestCheckResultsAndHold: the results come in the checks' order, each
// with its check (a calibration still labelled one), and Hold holds only
// if every one does, calibrations included.
func TestCheckResultsAndHold(t *testing.T) {
	holds := metric("vms_true", "at", end, absent, absent, num(200), nil)
	fails := metric("vms_true", "at", end, absent, absent, num(201), nil)
	calibration := func(c analysis.Check) analysis.Check {
		c.Name, c.Causes, c.Calibration = "calibration: "+c.Name, nil, true
		return c
	}
	cases := []struct {
		name   string
		checks []analysis.Check
		ok     []bool
	}{
		{"none", nil, nil},
		{"all hold", []analysis.Check{holds, calibration(holds)}, []bool{true, true}},
		{"a check fails", []analysis.Check{calibration(holds), fails}, []bool{true, false}},
		{"a calibration fails", []analysis.Check{holds, calibration(fails), holds}, []bool{true, false, true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, samples, marks := checked(true)
			_, res := judge(cfg, tc.checks, samples, marks...)
			require.Len(t, res.Checks, len(tc.checks))
			hold := true
			for i, r := range res.Checks {
				assert.Equal(t, tc.checks[i], r.Check)
				assert.Equal(t, tc.checks[i].Calibration, r.Check.Calibration)
				assert.Equal(t, tc.ok[i], r.OK)
				hold = hold && tc.ok[i]
			}
			assert.Equal(t, hold, analysis.Hold(res.Checks))
		})
	}
}
