package analysis_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/analysis"
	"vmstorm/config"
	"vmstorm/internal/vmstate"
	"vmstorm/series"
)

// phase is a phase of the table: its name and the minute it starts.
type phase struct {
	name  string
	start int
}

func phaseNames(ps []analysis.PhaseStats) []phase {
	var out []phase
	for _, p := range ps {
		out = append(out, phase{p.Name, int(p.Start / time.Minute)})
	}
	return out
}

// incident2015 is the 2015 outage's shape in 40 minutes: healthy; the
// janitor's password rotated at 6m and it fails from then on, with no
// alert; a requeue storm from 16m; every queue paused from 23m; the janitor
// back and a high backlog from 28m (an operator's restart at 28m); a normal
// backlog from 35m.
func incident2015() ([]series.Sample, []series.Mark) {
	samples := script(40, func(m int, s *series.Sample) (int64, int64, int64) {
		switch {
		case m <= 5:
			return 10, 10, 0
		case m <= 15:
			s.JanitorFailing = true
			return 10, 10, 0
		case m <= 22:
			s.JanitorFailing = true
			s.Backlog = 50 + int64(m)
			return 10, 2, 30
		case m <= 27:
			s.JanitorFailing, s.Paused = true, 2
			return 10, 0, 0
		case m <= 34:
			s.OldestWait = 20 * time.Minute
			return 10, 20, 0
		default:
			return 10, 10, 0
		}
	})
	return samples, []series.Mark{mark(6, "rotate_cleanup_password"), mark(28, "restart_janitor")}
}

// TestPhasesOfAnIncident follows the 2015 shape through its phases: each
// phase begins once it has shown for three samples in a row, at the third
// (where its row and the console's phase_changed say it does), the table's
// phases are contiguous and add up to the run, and the incident recovers
// at the start of the last phase.
func TestPhasesOfAnIncident(t *testing.T) {
	cfg := quiet()
	cfg.Alerts = config.Alerts{BacklogAgeMax: 15 * time.Minute} // fires at 28m: the detection
	samples, marks := incident2015()
	rec, res := judge(cfg, nil, samples, marks...)

	assert.Equal(t, []phase{{analysis.PhaseHealthy, 0}, {analysis.PhaseSilentLeak, 8}, {analysis.PhaseStorm, 18},
		{analysis.PhasePaused, 25}, {analysis.PhaseCatchUp, 30}, {analysis.PhaseRecovered, 37}}, phaseNames(res.Phases))
	assert.Equal(t, []string{"8m0s silent leak", "18m0s storm", "25m0s paused", "30m0s catch-up", "37m0s recovered"},
		changes(rec.rows, "phase_changed"))
	var changedAt []time.Duration
	for _, r := range rec.rows {
		for _, c := range r.Changes {
			if c.Event == "phase_changed" {
				prev, ok := rec.rowAt(r.T - time.Minute)
				require.True(t, ok)
				assert.Equal(t, prev.Phase, c.From, "at %v", r.T)
				assert.Equal(t, c.Name, r.Phase, "the row of the change is the new phase's")
				changedAt = append(changedAt, r.T)
			}
		}
	}
	// A phase begins where the series and the console say it does: at the
	// row of its phase_changed (the table once began it a sample earlier).
	var starts []time.Duration
	for _, p := range res.Phases[1:] {
		starts = append(starts, p.Start)
	}
	assert.Equal(t, changedAt, starts)
	row, _ := rec.rowAt(minute(7))
	assert.Equal(t, analysis.PhaseHealthy, row.Phase, "two samples of a leak are not yet a phase")
	row, _ = rec.rowAt(minute(8))
	assert.Equal(t, analysis.PhaseSilentLeak, row.Phase)

	// The table covers the run without gaps, and each phase's counts are
	// the change of the totals over it.
	at := func(t time.Duration) series.Sample {
		r, ok := rec.rowAt(t)
		if !ok {
			return series.Sample{}
		}
		return r.Sample
	}
	end := time.Duration(0)
	for _, p := range res.Phases {
		assert.Equal(t, end, p.Start, "%s starts where the phase before ends", p.Name)
		end = p.Start + p.Length
		assert.Equal(t, at(end).Completed-at(p.Start).Completed, p.Completed, p.Name)
		assert.Equal(t, at(end).Requeues-at(p.Start).Requeues, p.Requeues, p.Name)
	}
	assert.Equal(t, res.End, end)
	assert.Equal(t, minute(40), res.End)
	assert.Equal(t, samples[len(samples)-1], res.Totals)
	assert.EqualValues(t, 30*4, res.Phases[2].Requeues, "the storm phase's requeues: its first three minutes, to the sample that began it, were still the leak's")
	assert.EqualValues(t, 72, res.Phases[2].PeakBacklog, "the storm's peak backlog")
	assert.Equal(t, 20*time.Minute, res.Phases[4].WorstWait, "the catch-up's worst wait")
	assert.Zero(t, res.Phases[5].WorstWait, "the recovered backlog")

	assert.Equal(t, analysis.IncidentStats{
		Faulted: true, FaultAt: minute(6),
		Detected: true, DetectedAt: minute(28), DetectedBy: analysis.AlertBacklogAge,
		Mitigated: true, MitigatedAt: minute(28),
		Recovered: true, RecoveredAt: minute(37),
	}, res.Incident)
}

// TestPhases: each phase, from what the samples show.
func TestPhases(t *testing.T) {
	orphans := func(m int, s *series.Sample, n int64) { s.ByState[vmstate.Orphaned] = n }
	cases := []struct {
		name   string
		alerts config.Alerts
		n      int
		step   func(m int, s *series.Sample) (int64, int64, int64)
		marks  []series.Mark
		want   []phase
		guards string // what the case guards against, for its failure message
	}{
		{"healthy", config.Alerts{}, 10,
			func(m int, s *series.Sample) (int64, int64, int64) { return 10, 10, 0 }, nil,
			[]phase{{analysis.PhaseHealthy, 0}}, ""},
		{"silent leak: the janitor fails and no alert fires", config.Alerts{}, 10,
			func(m int, s *series.Sample) (int64, int64, int64) { s.JanitorFailing = m >= 3; return 10, 10, 0 }, nil,
			[]phase{{analysis.PhaseHealthy, 0}, {analysis.PhaseSilentLeak, 5}}, ""},
		{"leak: the janitor fails and an alert fires", config.Alerts{VMCountMin: 100}, 10,
			func(m int, s *series.Sample) (int64, int64, int64) {
				s.JanitorFailing, s.ReportedVMs = m >= 3, 50 // vm_count_out_of_band fires from 1m
				return 10, 10, 0
			}, nil,
			[]phase{{analysis.PhaseHealthy, 0}, {analysis.PhaseLeak, 5}},
			"a leak that monitoring sees is a leak, not a silent leak: the phase reads whether an alert is firing (it once ignored alerts, and called every leak silent)"},
		{"a janitor failing for two samples is not a phase", config.Alerts{}, 10,
			func(m int, s *series.Sample) (int64, int64, int64) {
				s.JanitorFailing = m == 3 || m == 4
				return 10, 10, 0
			}, nil,
			[]phase{{analysis.PhaseHealthy, 0}}, ""},
		{"leak: orphans pile up, then stay, then drain", config.Alerts{}, 16,
			func(m int, s *series.Sample) (int64, int64, int64) {
				switch {
				case m < 3:
				case m <= 7:
					orphans(m, s, 12*int64(m-2)) // 12 more a minute: over 10, and a twentieth of 200
				case m <= 11:
					orphans(m, s, 60) // staying put: still a leak
				default:
					orphans(m, s, 60-5*int64(m-11)) // draining: not a leak
				}
				return 10, 10, 0
			}, nil,
			[]phase{{analysis.PhaseHealthy, 0}, {analysis.PhaseLeak, 5}, {analysis.PhaseRecovered, 14}}, ""},
		{"orphans growing slowly are not a leak", config.Alerts{}, 16,
			func(m int, s *series.Sample) (int64, int64, int64) { orphans(m, s, 9*int64(m)); return 10, 10, 0 }, nil,
			[]phase{{analysis.PhaseHealthy, 0}}, ""},
		{"a cluster draining its orphans is not leaking", config.Alerts{}, 10,
			func(m int, s *series.Sample) (int64, int64, int64) { orphans(m, s, 100-5*int64(m)); return 10, 10, 0 }, nil,
			[]phase{{analysis.PhaseHealthy, 0}}, ""},
		{"storm, recovered, and a second failure with the janitor working", config.Alerts{}, 20,
			func(m int, s *series.Sample) (int64, int64, int64) {
				if (m >= 4 && m <= 8) || m >= 15 {
					return 10, 0, 30
				}
				return 10, 10, 0
			}, nil,
			[]phase{{analysis.PhaseHealthy, 0}, {analysis.PhaseStorm, 6}, {analysis.PhaseRecovered, 11}, {analysis.PhaseSecondFailure, 17}}, ""},
		{"a storm again with the janitor failing is a storm", config.Alerts{}, 20,
			func(m int, s *series.Sample) (int64, int64, int64) {
				s.JanitorFailing = m >= 15
				if (m >= 4 && m <= 8) || m >= 15 {
					return 10, 0, 30
				}
				return 10, 10, 0
			}, nil,
			[]phase{{analysis.PhaseHealthy, 0}, {analysis.PhaseStorm, 6}, {analysis.PhaseRecovered, 11}, {analysis.PhaseStorm, 17}}, ""},
		{"paused: every queue", config.Alerts{}, 10,
			func(m int, s *series.Sample) (int64, int64, int64) {
				if m >= 3 {
					s.Paused = 2
				}
				return 10, 0, 0
			}, nil,
			[]phase{{analysis.PhaseHealthy, 0}, {analysis.PhasePaused, 5}}, ""},
		{"one queue of two paused is not paused", config.Alerts{}, 10,
			func(m int, s *series.Sample) (int64, int64, int64) { s.Paused = 1; return 10, 5, 0 }, nil,
			[]phase{{analysis.PhaseHealthy, 0}}, ""},
		{"reduced rate, high until under half of drained", config.Alerts{}, 16,
			func(m int, s *series.Sample) (int64, int64, int64) {
				s.ReducedQueues = 1
				switch {
				case m < 3:
				case m <= 8:
					s.OldestWait = 20 * time.Minute
				case m <= 12:
					s.OldestWait = 8 * time.Minute // under drained (10m), over half of it
				default:
					s.OldestWait = 4 * time.Minute
				}
				return 10, 10, 0
			}, nil,
			[]phase{{analysis.PhaseHealthy, 0}, {analysis.PhaseReducedRate, 5}, {analysis.PhaseRecovered, 15}}, ""},
		{"catch-up: a high backlog once the timeline has acted", config.Alerts{}, 10,
			func(m int, s *series.Sample) (int64, int64, int64) {
				if m >= 3 {
					s.OldestWait = 20 * time.Minute
				}
				return 10, 10, 0
			}, []series.Mark{mark(1, "restart_janitor")},
			[]phase{{analysis.PhaseHealthy, 0}, {analysis.PhaseCatchUp, 5}}, ""},
		{"a high backlog before the timeline acts is not a catch-up", config.Alerts{}, 10,
			func(m int, s *series.Sample) (int64, int64, int64) {
				if m >= 3 {
					s.OldestWait = 20 * time.Minute
				}
				return 10, 10, 0
			}, nil,
			[]phase{{analysis.PhaseHealthy, 0}}, ""},
		{"a breaker opening is not the timeline acting", config.Alerts{}, 10,
			func(m int, s *series.Sample) (int64, int64, int64) {
				if m >= 3 {
					s.OldestWait = 20 * time.Minute
				}
				return 10, 10, 0
			}, []series.Mark{mark(1, "breaker_opened")},
			[]phase{{analysis.PhaseHealthy, 0}}, "the model's own marks (the breaker's) once counted as operators' actions"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := quiet()
			cfg.Alerts = tc.alerts
			_, res := judge(cfg, nil, script(tc.n, tc.step), tc.marks...)
			got := phaseNames(res.Phases)
			assert.Equal(t, tc.want, got, tc.guards)
			for _, p := range tc.want {
				assert.Contains(t, analysis.Phases, p.name)
			}
		})
	}
}

// TestClusterFull: cluster_full when the VMs holding capacity reach it,
// cluster_has_room when they fall under it, each once per change.
func TestClusterFull(t *testing.T) {
	cases := []struct {
		name     string
		capacity int64
		inUse    []int64
		want     []string // "minute event value"
	}{
		{"fills, gets room, fills over, empties", 200, []int64{150, 200, 200, 199, 201, 201, 0},
			[]string{"2 cluster_full 200", "4 cluster_has_room 199", "5 cluster_full 201", "7 cluster_has_room 0"}},
		{"never full", 200, []int64{0, 100, 199, 199}, nil},
		{"no capacity is not full", 0, []int64{0, 0, 5}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			samples := script(len(tc.inUse), func(m int, s *series.Sample) (int64, int64, int64) {
				s.Capacity, s.InUse = tc.capacity, tc.inUse[m-1]
				return 0, 0, 0
			})
			rec, _ := judge(quiet(), nil, samples)
			var got []string
			for _, r := range rec.rows {
				for _, c := range r.Changes {
					if c.Event == "cluster_full" || c.Event == "cluster_has_room" {
						got = append(got, fmt.Sprintf("%d %s %v", r.T/time.Minute, c.Event, c.Value))
					}
				}
			}
			assert.Equal(t, tc.want, got)
		})
	}
}
