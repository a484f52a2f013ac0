package report

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"vmstorm/config"
	"vmstorm/outcome"
	"vmstorm/pipeline"
	"vmstorm/series"
)

func TestTimeAxis(t *testing.T) {
	utc := func(h, m int) time.Time { return time.Date(2015, 8, 4, h, m, 0, 0, time.UTC) }
	tests := []struct {
		name   string
		end    time.Duration
		epoch  time.Time
		label  string
		labels []string
	}{
		{"an hour, in minutes", time.Hour, time.Time{}, "model time (minutes since the start)",
			[]string{"0", "10", "20", "30", "40", "50", "60"}},
		{"eight hours, in hours", 8 * time.Hour, time.Time{}, "model time (hours since the start)",
			[]string{"0", "1", "2", "3", "4", "5", "6", "7", "8"}},
		{"ninety seconds, in seconds", 90 * time.Second, time.Time{}, "model time (seconds since the start)",
			[]string{"0", "15", "30", "45", "60", "75", "90"}},
		{"an hour from 17:03 UTC, at round times", time.Hour, utc(17, 3), "time (UTC), 2015-08-04",
			[]string{"17:10", "17:20", "17:30", "17:40", "17:50", "18:00"}},
		{"an epoch in another zone, in UTC", time.Hour, utc(17, 3).In(time.FixedZone("CEST", 2*3600)), "time (UTC), 2015-08-04",
			[]string{"17:10", "17:20", "17:30", "17:40", "17:50", "18:00"}},
		{"across midnight, dated at the start and at midnight", 6 * time.Hour, utc(22, 3), "time (UTC)",
			[]string{"Aug 4 23:00", "Aug 5 00:00", "01:00", "02:00", "03:00", "04:00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTimeAxis(&outcome.Outcome{Summary: &pipeline.Summary{Model: tt.end, Config: config.Config{Epoch: tt.epoch}}})
			assert.Equal(t, tt.label, a.label())
			var got []string
			minor := 0
			for _, tk := range a.Ticks(0, a.x(tt.end)) {
				assert.GreaterOrEqual(t, tk.Value, 0.0)
				assert.LessOrEqual(t, tk.Value, a.x(tt.end))
				if tk.Label == "" {
					minor++
					continue
				}
				got = append(got, tk.Label)
			}
			assert.Equal(t, tt.labels, got)
			assert.GreaterOrEqual(t, minor, len(got)-1, "a minor tick between labelled ones")
		})
	}
}

func TestTimeAxisCoversTheRun(t *testing.T) {
	hour := &pipeline.Summary{Model: time.Hour}
	tests := []struct {
		name string
		o    outcome.Outcome
		end  time.Duration
	}{
		{"the run's model time", outcome.Outcome{Summary: hour}, time.Hour},
		{"a last row past it", outcome.Outcome{Summary: hour, Rows: []series.Row{{Sample: series.Sample{T: 61 * time.Minute}}}}, 61 * time.Minute},
		{"a mark past it", outcome.Outcome{Summary: hour, Marks: []series.Mark{{T: 62 * time.Minute}}}, 62 * time.Minute},
		{"an empty run", outcome.Outcome{Summary: &pipeline.Summary{}}, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.end, newTimeAxis(&tt.o).end)
		})
	}
}

func TestCountTicks(t *testing.T) {
	tests := []struct {
		lo, hi float64
		want   []string
	}{
		{0, 4757, []string{"0", "1000", "2000", "3000", "4000"}},
		{0, 499, []string{"0", "100", "200", "300", "400"}},
		{0, 130, []string{"0", "50", "100"}},
		{0, 1, []string{"0.0", "0.2", "0.4", "0.6", "0.8", "1.0"}},
		{0, 0, []string{"0"}},
	}
	for _, tt := range tests {
		var got []string
		for _, tk := range (countTicks{}).Ticks(tt.lo, tt.hi) {
			if tk.Label != "" {
				got = append(got, tk.Label)
			}
		}
		assert.Equal(t, tt.want, got, "ticks from %g to %g", tt.lo, tt.hi)
	}
}

// TestChartRates: the charts' rates are per model minute, at each row,
// since the newest row at least a display window before it (or since the
// start, when every total was zero); the display window is the run's, or a
// 150th of the run's span if that is longer.
func TestChartRates(t *testing.T) {
	type rate struct {
		t                             time.Duration
		requeues, completed, arrivals float64
	}
	row := func(t time.Duration, requeues, completed, arrived int64) series.Row {
		return series.Row{Sample: series.Sample{T: t, Requeues: requeues, Completed: completed, Arrived: arrived}}
	}
	s, m := time.Second, time.Minute
	tests := []struct {
		name         string
		window, span time.Duration
		rows         []series.Row
		want         []rate
	}{
		{"within the first window, from the start", m, m, []series.Row{row(30*s, 1, 2, 3)},
			[]rate{{30 * s, 2, 4, 6}}},
		{"over the window before each row", m, 2 * m, []series.Row{
			row(30*s, 1, 0, 0), row(60*s, 4, 0, 0), row(90*s, 10, 0, 0), row(120*s, 10, 0, 0)},
			[]rate{{30 * s, 2, 0, 0}, {60 * s, 4, 0, 0}, {90 * s, 9, 0, 0}, {120 * s, 6, 0, 0}}},
		{"rows further apart: consecutive ones", m, 4 * m, []series.Row{row(2*m, 10, 4, 20), row(4*m, 30, 4, 44)},
			[]rate{{2 * m, 5, 2, 10}, {4 * m, 10, 0, 12}}},
		{"the run's window, however long", 5 * m, 10 * m, []series.Row{row(5*m, 10, 0, 0), row(6*m, 16, 0, 0), row(10*m, 20, 0, 0)},
			[]rate{{5 * m, 2, 0, 0}, {6 * m, 16.0 / 6, 0, 0}, {10 * m, 2, 0, 0}}},
		{"a long run: a 150th of its span", m, 150 * 2 * m, []series.Row{row(m, 1, 0, 0), row(2*m, 2, 0, 0), row(3*m, 9, 0, 0)},
			[]rate{{m, 1, 0, 0}, {2 * m, 1, 0, 0}, {3 * m, 4, 0, 0}}},
		{"a row at the start has no window", m, m, []series.Row{row(0, 0, 0, 0), row(m, 3, 0, 0)},
			[]rate{{m, 3, 0, 0}}},
		{"the run's last row twice", m, m, []series.Row{row(m, 3, 0, 0), row(m, 4, 0, 0)},
			[]rate{{m, 3, 0, 0}, {m, 4, 0, 0}}},
		{"no rows", m, m, nil, []rate{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := []rate{}
			for _, r := range chartRates(tt.rows, tt.window, tt.span) {
				got = append(got, rate{r.T, r.Rates.Requeues, r.Rates.Completions, r.Rates.Arrivals})
			}
			assert.Equal(t, tt.want, got)
		})
	}
}
