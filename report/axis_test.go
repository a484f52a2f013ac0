package report

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"vmstorm/config"
	"vmstorm/pipeline"
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
			a := newTimeAxis(&pipeline.Summary{Model: tt.end, Config: config.Config{Epoch: tt.epoch}})
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
	tests := []struct {
		name string
		s    pipeline.Summary
		end  time.Duration
	}{
		{"the run's model time", pipeline.Summary{Model: time.Hour}, time.Hour},
		{"a last sample past it", pipeline.Summary{Model: time.Hour, Series: []pipeline.Sample{{T: 61 * time.Minute}}}, 61 * time.Minute},
		{"a mark past it", pipeline.Summary{Model: time.Hour, Marks: []pipeline.Mark{{T: 62 * time.Minute}}}, 62 * time.Minute},
		{"an empty run", pipeline.Summary{}, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.end, newTimeAxis(&tt.s).end)
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

func TestRates(t *testing.T) {
	smp := func(t time.Duration, requeues, completed, arrived int64) pipeline.Sample {
		return pipeline.Sample{T: t, Requeues: requeues, Completed: completed, Arrived: arrived}
	}
	s, m := time.Second, time.Minute
	tests := []struct {
		name   string
		series []pipeline.Sample
		want   []rate
	}{
		{"within the first minute, from the start", []pipeline.Sample{smp(30*s, 1, 2, 3)},
			[]rate{{30 * s, 2, 4, 6}}},
		{"over the minute before each sample", []pipeline.Sample{
			smp(30*s, 1, 0, 0), smp(60*s, 4, 0, 0), smp(90*s, 10, 0, 0), smp(120*s, 10, 0, 0)},
			[]rate{{30 * s, 2, 0, 0}, {60 * s, 4, 0, 0}, {90 * s, 9, 0, 0}, {120 * s, 6, 0, 0}}},
		{"samples further apart: consecutive ones", []pipeline.Sample{smp(2*m, 10, 4, 20), smp(4*m, 30, 4, 44)},
			[]rate{{2 * m, 5, 2, 10}, {4 * m, 10, 0, 12}}},
		{"a sample at the start has no window", []pipeline.Sample{smp(0, 0, 0, 0), smp(m, 3, 0, 0)},
			[]rate{{m, 3, 0, 0}}},
		{"the run's last sample twice", []pipeline.Sample{smp(m, 3, 0, 0), smp(m, 4, 0, 0)},
			[]rate{{m, 3, 0, 0}, {m, 4, 0, 0}}},
		{"no samples", nil, []rate{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, rates(tt.series))
		})
	}
}
