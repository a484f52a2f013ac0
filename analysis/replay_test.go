package analysis_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/analysis"
	"vmstorm/config"
	"vmstorm/incident"
	"vmstorm/series"
)

// TestReplayEqualsLive: Replay, given the rows a watcher saw and the marks,
// judges the run as the live analysis did: the marks go in before the rows
// at their model times, and the ones after the last row at the end.
func TestReplayEqualsLive(t *testing.T) {
	base, baseMarks := incident2015()
	checks := []analysis.Check{
		detectedBetween(minute(20), minute(30), analysis.AlertBacklogAge),
		phaseSeen(analysis.PhaseCatchUp),
		metric("requeues", "delta", absent, detection, absent, num(0), num(0)),
		metric("backlog", "max", absent, absent, at(minute(22)), num(72), num(72)),
	}
	cases := []struct {
		name  string
		marks []series.Mark
	}{
		{"the 2015 shape", baseMarks},
		{"a mark between samples", append([]series.Mark{{T: minute(3) + 30*time.Second, Name: "crash_workers"}}, baseMarks...)},
		// The first mark at the first sample of a high backlog: whether it
		// goes in before that sample moves the catch-up a minute.
		{"the first mark at a sample's time", []series.Mark{mark(28, "restart_janitor")}},
		{"a mark after the last sample", append(append([]series.Mark(nil), baseMarks...), series.Mark{T: minute(41), Name: "resume_builds"})},
		{"no marks", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := quiet()
			cfg.Alerts = config.Alerts{BacklogAgeMax: 15 * time.Minute, KeepFiringFor: 2 * time.Minute}
			cfg.Window = 3 * time.Minute
			rec, live := judge(cfg, checks, base, tc.marks...)
			require.Equal(t, tc.marks, rec.marks, "the watcher saw every mark")
			replayed := analysis.Replay(cfg, incident.Classify, checks, rec.rows, rec.marks)
			assert.Equal(t, live, replayed)
		})
	}

	t.Run("nothing to replay", func(t *testing.T) {
		assert.Equal(t, analysis.New(quiet(), incident.Classify, nil).Result(), analysis.Replay(quiet(), incident.Classify, nil, nil, nil))
	})
}

// TestReplayOfItsCSV: a series written to CSV and read back (series.Writer,
// series.Read) is judged as it was live, a series that ends between two
// sample times, at an odd model time, too (as a run that -max-jobs or the
// memory budget ends does).
func TestReplayOfItsCSV(t *testing.T) {
	samples, marks := incident2015()
	cases := []struct {
		name       string
		last, wait time.Duration // the last sample's model time and oldest wait
	}{
		{"on the minute", minute(41), 20 * time.Minute},
		{"at an odd time", minute(41) + 185405247, 20*time.Minute + 185405247},
		{"at another odd time", 8*time.Minute + 47185405247, 47185405247},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var run []series.Sample
			for _, s := range samples {
				if s.T < tc.last {
					run = append(run, s)
				}
			}
			end := run[len(run)-1]
			end.T, end.OldestWait = tc.last, tc.wait
			run = append(run, end)
			// A run's marks come before its last sample (the pipeline
			// samples at its end): a Writer writes a mark with the row after.
			var within []series.Mark
			for _, m := range marks {
				if m.T <= tc.last {
					within = append(within, m)
				}
			}
			cfg := quiet()
			cfg.Alerts = config.Alerts{BacklogAgeMax: 15 * time.Minute}
			var buf bytes.Buffer
			w := series.NewWriter(&buf, time.Time{})
			rec, live := judgeWith(cfg, nil, []series.Watcher{w}, run, within...)
			require.NoError(t, w.Close())

			rows, read, _, err := series.Read(&buf)
			require.NoError(t, err)
			require.Len(t, rows, len(rec.rows))
			for i, r := range rows {
				require.Equal(t, rec.rows[i].Sample, r.Sample, "the sample at %v, read back to the nanosecond", rec.rows[i].T)
			}
			// The CSV keeps the marks' names and times, not their notes.
			for i := range live.Marks {
				live.Marks[i].Note = ""
			}
			assert.Equal(t, live, analysis.Replay(cfg, incident.Classify, nil, rows, read))
		})
	}
}
