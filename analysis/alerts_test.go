package analysis_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/analysis"
	"vmstorm/config"
	"vmstorm/incident"
	"vmstorm/series"
)

// backlogPattern is a series with one sample a minute; at minute i+1 the
// backlog_age_high rule's condition holds if pattern[i] is '#'.
func backlogPattern(pattern string) []series.Sample {
	return script(len(pattern), func(m int, s *series.Sample) (int64, int64, int64) {
		if pattern[m-1] == '#' {
			s.OldestWait = 31 * time.Minute
		}
		return 10, 10, 0
	})
}

func backlogRule(forDur, keep time.Duration) config.Config {
	cfg := quiet()
	cfg.Alerts = config.Alerts{BacklogAgeMax: 30 * time.Minute, For: forDur, KeepFiringFor: keep}
	return cfg
}

func fired(m int) analysis.AlertEvent {
	return analysis.AlertEvent{T: minute(m), Name: analysis.AlertBacklogAge, Firing: true}
}

func resolved(m int) analysis.AlertEvent {
	return analysis.AlertEvent{T: minute(m), Name: analysis.AlertBacklogAge}
}

// TestAlertForAndKeepFiringFor: a rule fires once its condition has held
// for For, and resolves once it has been false for KeepFiringFor; a
// condition that comes back while the rule still fires restarts the wait.
func TestAlertForAndKeepFiringFor(t *testing.T) {
	cases := []struct {
		name      string
		forDur    time.Duration
		keep      time.Duration
		pattern   string // minute 1 first
		events    []analysis.AlertEvent
		firstFire time.Duration // 0: never fired
	}{
		{"held for less than for: pending, never fires", 2 * time.Minute, 3 * time.Minute,
			"..##........", nil, 0},
		{"fires once held for for, resolves once false for keep_firing_for", 2 * time.Minute, 3 * time.Minute,
			"..#####..........", []analysis.AlertEvent{fired(5), resolved(11)}, minute(5)},
		{"back while still firing: no resolve, the keep restarts", 2 * time.Minute, 3 * time.Minute,
			"..#####.#.........", []analysis.AlertEvent{fired(5), resolved(13)}, minute(5)},
		{"for 0 fires at once, keep 0 resolves at once", 0, 0,
			"..##..#..", []analysis.AlertEvent{fired(3), resolved(5), fired(7), resolved(8)}, minute(3)},
		{"fires twice; first fired is the first", 2 * time.Minute, 3 * time.Minute,
			"..####.......####.......", []analysis.AlertEvent{fired(5), resolved(10), fired(16), resolved(21)}, minute(5)},
		{"still firing at the end", 2 * time.Minute, 3 * time.Minute,
			"....######..", []analysis.AlertEvent{fired(7)}, minute(7)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec, res := judge(backlogRule(tc.forDur, tc.keep), nil, backlogPattern(tc.pattern))
			assert.Equal(t, tc.events, res.Alerts)
			if tc.firstFire == 0 {
				assert.Empty(t, res.FirstFired)
			} else {
				assert.Equal(t, map[string]time.Duration{analysis.AlertBacklogAge: tc.firstFire}, res.FirstFired)
			}
			// Each row says the alert fires exactly from a firing event up
			// to its resolving, and each event is a change of its row.
			firing := false
			var fires, resolves []string
			for _, row := range rec.rows {
				for _, e := range tc.events {
					if e.T == row.T {
						firing = e.Firing
					}
				}
				if firing {
					assert.Equal(t, []string{analysis.AlertBacklogAge}, row.Firing, "at %v", row.T)
				} else {
					assert.Empty(t, row.Firing, "at %v", row.T)
				}
			}
			for _, e := range tc.events {
				if e.Firing {
					fires = append(fires, e.T.String()+" "+e.Name)
				} else {
					resolves = append(resolves, e.T.String()+" "+e.Name)
				}
			}
			assert.Equal(t, fires, changes(rec.rows, "alert_firing"))
			assert.Equal(t, resolves, changes(rec.rows, "alert_resolved"))
		})
	}
}

// TestAlertRules: each rule's condition, each off at a threshold of 0
// (For and KeepFiringFor 0, so that a rule fires at the sample its
// condition first holds).
func TestAlertRules(t *testing.T) {
	const n = 8
	cases := []struct {
		name   string
		alerts config.Alerts
		window time.Duration
		step   func(m int, s *series.Sample) (int64, int64, int64)
		want   map[string]time.Duration // first fired
		value  float64                  // the alert_firing change's value
	}{
		{"reported count below the band: only once a window has passed", config.Alerts{VMCountMin: 100}, 5 * time.Minute,
			func(m int, s *series.Sample) (int64, int64, int64) { s.ReportedVMs = 50; return 0, 0, 0 },
			map[string]time.Duration{analysis.AlertVMCount: minute(5)}, 50},
		{"reported count above the band", config.Alerts{VMCountMax: 300}, time.Minute,
			func(m int, s *series.Sample) (int64, int64, int64) { s.ReportedVMs = 299 + int64(m); return 0, 0, 0 },
			map[string]time.Duration{analysis.AlertVMCount: minute(2)}, 301},
		{"the true count is not the reported count", config.Alerts{VMCountMax: 300}, time.Minute,
			func(m int, s *series.Sample) (int64, int64, int64) { s.VMs, s.ReportedVMs = 1000, 250; return 0, 0, 0 },
			map[string]time.Duration{}, 0},
		{"no band: no rule", config.Alerts{}, time.Minute,
			func(m int, s *series.Sample) (int64, int64, int64) { s.ReportedVMs = 0; return 0, 0, 0 },
			map[string]time.Duration{}, 0},
		{"requeue rate over the window above the threshold", config.Alerts{RequeueRateMax: 10}, time.Minute,
			func(m int, s *series.Sample) (int64, int64, int64) { return 0, 0, int64(8 + m) }, // 10 at 2m, 11 at 3m
			map[string]time.Duration{analysis.AlertRequeueRate: minute(3)}, 11},
		{"requeue rate measured over the window, not the last minute", config.Alerts{RequeueRateMax: 10}, 4 * time.Minute,
			func(m int, s *series.Sample) (int64, int64, int64) { // one bad minute, 20, averaged over 4
				if m == 6 {
					return 0, 0, 20
				}
				return 0, 0, 0
			},
			map[string]time.Duration{}, 0},
		{"requeue rule off at 0", config.Alerts{}, time.Minute,
			func(m int, s *series.Sample) (int64, int64, int64) { return 0, 0, 1000 },
			map[string]time.Duration{}, 0},
		{"backlog older than the threshold, strictly", config.Alerts{BacklogAgeMax: 30 * time.Minute}, time.Minute,
			func(m int, s *series.Sample) (int64, int64, int64) {
				s.OldestWait = 30*time.Minute + time.Duration(m-4)*time.Second // over at 5m
				return 0, 0, 0
			},
			map[string]time.Duration{analysis.AlertBacklogAge: minute(5)}, 30},
		{"backlog rule off at 0", config.Alerts{}, time.Minute,
			func(m int, s *series.Sample) (int64, int64, int64) { s.OldestWait = 100 * time.Hour; return 0, 0, 0 },
			map[string]time.Duration{}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := quiet()
			cfg.Window, cfg.Alerts = tc.window, tc.alerts
			rec, res := judge(cfg, nil, script(n, tc.step))
			assert.Equal(t, tc.want, res.FirstFired)
			for name, at := range tc.want {
				row, ok := rec.rowAt(at)
				require.True(t, ok)
				var got []series.Change
				for _, c := range row.Changes {
					if c.Event == "alert_firing" {
						got = append(got, c)
					}
				}
				assert.Equal(t, []series.Change{{Event: "alert_firing", Name: name, Value: tc.value}}, got)
			}
		})
	}
}

// TestDetection: the detection is the first alert that fires at or after
// the first fault (incident.Classify); an alert already firing when the
// fault comes is not one, and an operator's action is not a fault.
// Mitigation is the first operator's action at or after the detection.
func TestDetection(t *testing.T) {
	rotate, crash := "rotate_cleanup_password", "crash_workers"
	cases := []struct {
		name    string
		forDur  time.Duration
		pattern string // backlog_age_high's condition, from minute 1
		// requeueAt, if not 0, makes requeue_rate_high fire from that minute on.
		requeueAt int
		marks     []series.Mark
		want      analysis.IncidentStats
		guards    string // what the case guards against, for its failure message
	}{
		{"fires after the fault", 0, "...........#####", 0, []series.Mark{mark(10, rotate)},
			analysis.IncidentStats{Faulted: true, FaultAt: minute(10), Detected: true, DetectedAt: minute(12), DetectedBy: analysis.AlertBacklogAge}, ""},
		{"fires at the fault's own sample", 0, ".........#####", 0, []series.Mark{mark(10, rotate)},
			analysis.IncidentStats{Faulted: true, FaultAt: minute(10), Detected: true, DetectedAt: minute(10), DetectedBy: analysis.AlertBacklogAge}, ""},
		{"fires one sample before the fault: not a detection", 0, "........######", 0, []series.Mark{mark(10, rotate)},
			analysis.IncidentStats{Faulted: true, FaultAt: minute(10)}, ""},
		{"pending before the fault, fires after it", 5 * time.Minute, ".......###########", 0, []series.Mark{mark(10, rotate)},
			analysis.IncidentStats{Faulted: true, FaultAt: minute(10), Detected: true, DetectedAt: minute(13), DetectedBy: analysis.AlertBacklogAge}, ""},
		{"firing since before the fault, another alert fires after it", 0, "..##############", 15, []series.Mark{mark(10, rotate)},
			analysis.IncidentStats{Faulted: true, FaultAt: minute(10), Detected: true, DetectedAt: minute(15), DetectedBy: analysis.AlertRequeueRate}, ""},
		{"the first fault starts the incident", 0, "...............###", 0, []series.Mark{mark(10, crash), mark(14, rotate)},
			analysis.IncidentStats{Faulted: true, FaultAt: minute(10), Detected: true, DetectedAt: minute(16), DetectedBy: analysis.AlertBacklogAge}, ""},
		{"an operator's action is not a fault", 0, "...........#####", 0, []series.Mark{mark(10, "restart_janitor")},
			analysis.IncidentStats{}, ""},
		{"mitigation: the first operator's action at or after detection", 0, "...........#####", 0,
			[]series.Mark{mark(9, "restart_janitor"), mark(10, rotate), mark(11, "restart_workers"), mark(12, crash), mark(14, "set_max_builds"), mark(15, "resume_builds")},
			analysis.IncidentStats{Faulted: true, FaultAt: minute(10), Detected: true, DetectedAt: minute(12), DetectedBy: analysis.AlertBacklogAge,
				Mitigated: true, MitigatedAt: minute(14)}, ""},
		{"fired and resolved before the fault, fires again after it", 0, "..###......####", 0, []series.Mark{mark(10, rotate)},
			analysis.IncidentStats{Faulted: true, FaultAt: minute(10), Detected: true, DetectedAt: minute(12), DetectedBy: analysis.AlertBacklogAge},
			"an alert that fired and resolved before the fault is the detection when it fires again after it (detection once compared an alert's first firing ever with the fault)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := backlogRule(tc.forDur, 0)
			samples := backlogPattern(tc.pattern)
			if tc.requeueAt > 0 {
				cfg.Alerts.RequeueRateMax = 10
				for i := range samples {
					if m := i + 1; m >= tc.requeueAt {
						samples[i].Requeues += int64(20 * (m - tc.requeueAt + 1))
						samples[i].Arrived += int64(20 * (m - tc.requeueAt + 1)) // no storm
					}
				}
			}
			_, res := judge(cfg, nil, samples, tc.marks...)
			assert.Equal(t, tc.want, res.Incident, tc.guards)
		})
	}
}

// TestDetectionReadsItsCatalogue: which marks are faults and which are
// operators' actions is the catalogue the Analyzer is handed, not the
// analysis's own: the same marks, judged with a catalogue that calls
// restart_janitor the fault and rotate_cleanup_password an operators'
// action, time the incident from the other mark; with one that knows no
// action, there is no incident.
func TestDetectionReadsItsCatalogue(t *testing.T) {
	swapped := func(name string) (timeline, fault bool) {
		switch name {
		case "restart_janitor":
			return true, true
		case "rotate_cleanup_password":
			return true, false
		}
		return false, false
	}
	none := func(string) (timeline, fault bool) { return false, false }
	marks := []series.Mark{mark(9, "restart_janitor"), mark(13, "rotate_cleanup_password")}
	cases := []struct {
		name    string
		actions analysis.Catalogue
		want    analysis.IncidentStats
	}{
		{"the model's catalogue", incident.Classify, analysis.IncidentStats{Faulted: true, FaultAt: minute(13)}},
		{"a catalogue with the two swapped", swapped, analysis.IncidentStats{Faulted: true, FaultAt: minute(9), Detected: true, DetectedAt: minute(12),
			DetectedBy: analysis.AlertBacklogAge, Mitigated: true, MitigatedAt: minute(13)}},
		{"a catalogue that knows no action", none, analysis.IncidentStats{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := analysis.New(backlogRule(0, 0), tc.actions, nil)
			ms := marks
			for _, s := range backlogPattern("...........#####") {
				for len(ms) > 0 && ms[0].T <= s.T {
					a.Mark(ms[0])
					ms = ms[1:]
				}
				a.Sample(s)
			}
			assert.Equal(t, tc.want, a.Result().Incident)
		})
	}
}
