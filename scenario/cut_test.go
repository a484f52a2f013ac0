package scenario

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/analysis"
	"vmstorm/incident"
)

// cutFile is a scenario with events, bursts and checks at known times, up
// to its duration, 4h.
const cutFile = `name: cut
epoch: 2015-07-31T00:00:00Z
duration: 4h
workload:
  traffic:
    peak_hour: 17
    night: 0.5
    bursts:
      - at: 30m
        for: 1h
        factor: 2
      - at: 2015-07-31T02:30:00Z
        for: 1h
        factor: 1.5
timeline:
  - at: 10m
    action: rotate_cleanup_password
  - at: 2h
    action: pause_builds
    queue: com
  - at: 3h
    action: set_max_builds
    queue: all
    max_builds: 5
checks:
  - name: a phase
    calibration: true
    phase_seen: leak
  - name: a window to 1h
    calibration: true
    metric: vms_true
    stat: max
    from: 10m
    to: 1h
    min: 1
  - name: a point at 3h
    calibration: true
    metric: backlog
    stat: at
    at: 3h
    max: 100
  - name: after detection, to the end
    calibration: true
    metric: backlog
    stat: max
    from: detection
    to: end
    max: 100
  - name: an alert by 2h30m
    calibration: true
    detected:
      not_before: 10m
      by: 2h30m
`

// TestCutTo: a run shorter than its scenario leaves out the events, bursts
// and checks after its end (an event or a check at the end itself is kept,
// and detection and the end are within any run), lists them in s.Cut, and
// says so; neither the Config given nor the scenario's own is changed.
func TestCutTo(t *testing.T) {
	tests := []struct {
		end       time.Duration
		events    []string
		bursts    []time.Duration
		checks    []string
		cutChecks []string
		lines     int
		header    string
	}{
		{end: 4 * time.Hour, events: []string{"rotate_cleanup_password", "pause_builds", "set_max_builds"},
			bursts: []time.Duration{30 * time.Minute, 150 * time.Minute},
			checks: []string{"a phase", "a window to 1h", "a point at 3h", "after detection, to the end", "an alert by 2h30m"}},
		{end: 3 * time.Hour, events: []string{"rotate_cleanup_password", "pause_builds", "set_max_builds"},
			bursts: []time.Duration{30 * time.Minute, 150 * time.Minute},
			checks: []string{"a phase", "a window to 1h", "a point at 3h", "after detection, to the end", "an alert by 2h30m"}},
		{end: 2 * time.Hour, events: []string{"rotate_cleanup_password", "pause_builds"},
			bursts:    []time.Duration{30 * time.Minute},
			checks:    []string{"a phase", "a window to 1h", "after detection, to the end"},
			cutChecks: []string{"a point at 3h", "an alert by 2h30m"}, lines: 1 + 1 + 1 + 2,
			header: "-duration 2h cuts the scenario at 2015-07-31T02:00:00Z: 1 timeline event and 1 traffic burst after it are left out; 2 checks are not evaluated"},
		{end: 5 * time.Minute,
			checks:    []string{"a phase", "after detection, to the end"},
			cutChecks: []string{"a window to 1h", "a point at 3h", "an alert by 2h30m"}, lines: 1 + 3 + 2 + 3,
			header: "-duration 5m cuts the scenario at 2015-07-31T00:05:00Z: 3 timeline events and 2 traffic bursts after it are left out; 3 checks are not evaluated"},
	}
	for _, tt := range tests {
		t.Run(tt.end.String(), func(t *testing.T) {
			s, err := Parse("cut.yaml", []byte(cutFile))
			require.NoError(t, err)
			orig, err := Parse("cut.yaml", []byte(cutFile))
			require.NoError(t, err)
			given := s.Config
			given.Duration = tt.end
			givenCopy := cloneConfig(given)

			cfg := s.CutTo(given)
			require.NoError(t, cfg.Validate(), "the cut Config runs")
			assert.Equal(t, tt.end, cfg.Duration)
			var events []string
			for _, ev := range cfg.Timeline {
				events = append(events, ev.Action)
			}
			assert.Equal(t, tt.events, events, "timeline events kept")
			var bursts []time.Duration
			for _, b := range cfg.Traffic.Bursts {
				bursts = append(bursts, b.At)
			}
			assert.Equal(t, tt.bursts, bursts, "bursts kept")
			assert.Equal(t, tt.checks, checkNames(s), "checks kept")
			assert.Equal(t, tt.cutChecks, names(s.Cut.Checks), "checks not evaluated")
			assert.Len(t, s.Cut.Events, len(orig.Config.Timeline)-len(events))
			assert.Len(t, s.Cut.Bursts, len(orig.Config.Traffic.Bursts)-len(bursts))
			assert.Equal(t, tt.end, s.Cut.End)

			assert.Equal(t, givenCopy, given, "the Config given is not changed")
			assert.Equal(t, orig.Config, s.Config, "the scenario's own Config is not cut")

			lines := s.Cut.Lines()
			var out bytes.Buffer
			require.NoError(t, s.Cut.FormatChecks(&out, "cut"))
			if tt.header == "" {
				assert.True(t, s.Cut.Empty())
				assert.Empty(t, lines, "nothing to say")
				assert.Empty(t, out.String())
				return
			}
			assert.False(t, s.Cut.Empty())
			require.Len(t, lines, tt.lines, "a line for the cut, and one for each thing left out: %q", lines)
			assert.Equal(t, tt.header, lines[0])
			epoch := time.Date(2015, 7, 31, 0, 0, 0, 0, time.UTC)
			assert.Contains(t, out.String(), "NOT EVALUATED (cut): after the end of the run at "+epoch.Add(tt.end).Format(time.RFC3339)+"\n")
			for _, name := range tt.cutChecks {
				assert.Contains(t, out.String(), "  --    "+name+"\n")
			}
		})
	}
}

func checkNames(s *Scenario) []string { return names(s.Checks) }

func names(checks []analysis.Check) []string {
	var out []string
	for _, c := range checks {
		out = append(out, c.Name)
	}
	return out
}

// TestCutNamesEveryArgument: an event left out is written with all its
// arguments, as a scenario file writes them (a mitigation's name too).
func TestCutNamesEveryArgument(t *testing.T) {
	rate, vms := 2.5, int64(40)
	for _, tt := range []struct {
		args incident.Args
		want string
	}{
		{incident.Args{}, ""},
		{incident.Args{Queue: "com", Rate: &rate}, " (queue: com, rate: 2.5)"},
		{incident.Args{VMs: &vms}, " (vms: 40)"},
		{incident.Args{Mitigation: "breaker"}, " (mitigation: breaker)"},
	} {
		assert.Equal(t, tt.want, args(tt.args))
	}
}
