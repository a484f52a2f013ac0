package incident

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func ptr[T any](v T) *T { return &v }

func TestValidateRejectsBadEvents(t *testing.T) {
	queues := []string{"com", "org"}
	tests := []struct {
		name    string
		ev      Event
		wantArg string
		wantMsg string
	}{
		{"unknown action", Event{Action: "reboot_everything"}, "action", `unknown action "reboot_everything"`},
		{"missing argument", Event{Action: "pause_builds"}, "action", "pause_builds needs queue: the jobs of the queue given are no longer started"},
		{"missing one of two", Event{Action: "set_max_builds", Args: Args{Queue: "com"}}, "action", "set_max_builds needs max_builds: queue com runs at most `max_builds` builds at once"},
		{"missing both", Event{Action: "set_max_builds"}, "action", "set_max_builds needs queue and max_builds: the queue given runs at most `max_builds` builds at once"},
		{"missing a number", Event{Action: "aggressive_cleanup"}, "action", "aggressive_cleanup needs rate: the janitor destroys every VM, new build VMs included, at `rate` VMs per second"},
		{"missing one, the other not a queue", Event{Action: "set_max_builds", Args: Args{Queue: "n\x1b[2Jet"}}, "action", "set_max_builds needs max_builds: the queue given runs"},
		{"missing a fraction", Event{Action: "crash_workers"}, "action", "crash_workers needs fraction: `fraction` of the Run workers crash"},
		{"argument it does not take", Event{Action: "restart_janitor", Args: Args{Queue: "com"}}, "queue", "restart_janitor does not take queue"},
		{"unknown queue", Event{Action: "pause_builds", Args: Args{Queue: "net"}}, "queue", `no queue "net"; the queues are com, org, or all`},
		{"negative rate", Event{Action: "aggressive_cleanup", Args: Args{Rate: ptr(-1.0)}}, "rate", "0 or more"},
		{"fraction over 1", Event{Action: "crash_workers", Args: Args{Fraction: ptr(1.5)}}, "fraction", "from 0 to 1"},
		{"negative VMs", Event{Action: "set_cpu_capacity", Args: Args{VMs: ptr(int64(-3))}}, "vms", "0 or more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.ev.Validate(queues)
			var argErr *ArgError
			require.ErrorAs(t, err, &argErr)
			assert.Equal(t, tt.wantArg, argErr.Arg)
			assert.Contains(t, argErr.Msg, tt.wantMsg)
			assert.NotContains(t, argErr.Msg, "{", "no raw placeholder in what a user reads")
		})
	}
}

// TestSplitSortsAndSetsDetectionApart: Split puts the events timed from
// zero in order of time (ties as given) and the events that wait for
// detection apart, in order of their delays, and leaves the timeline as
// it was.
func TestSplitSortsAndSetsDetectionApart(t *testing.T) {
	tl := Timeline{
		{At: 90 * time.Minute, Action: "restart_janitor"},
		{At: 20 * time.Minute, Action: "restart_workers", AfterDetection: true},
		{At: 0, Action: "pause_builds", Args: Args{Queue: "all"}},
		{At: 5 * time.Minute, Action: "fix_cleanup_credentials", AfterDetection: true},
		{At: 90 * time.Minute, Action: "set_max_builds", Args: Args{Queue: "org", MaxBuilds: ptr(int64(80))}}, // a tie keeps its order
	}
	atTimes, afterDetection := tl.Split()
	actions := func(tl Timeline) (out []string) {
		for _, ev := range tl {
			out = append(out, ev.Action)
		}
		return out
	}
	assert.Equal(t, []string{"pause_builds", "restart_janitor", "set_max_builds"}, actions(atTimes))
	assert.Equal(t, []string{"fix_cleanup_credentials", "restart_workers"}, actions(afterDetection))
	assert.Equal(t, "restart_janitor", tl[0].Action, "the timeline itself is left as it was")
}

// TestFaults: the actions that inject a fault, from which an incident is
// timed, are the password's rotation, the workers' crash and the stalls.
func TestFaults(t *testing.T) {
	var faults []string
	for _, a := range Actions {
		assert.Equal(t, a.Fault, IsFault(a.Name), a.Name)
		if a.Fault {
			faults = append(faults, a.Name)
		}
	}
	assert.Equal(t, []string{"rotate_cleanup_password", "crash_workers", "set_stall_chance"}, faults)
	assert.False(t, IsFault("no_such_action"))
}

// TestDescribeFillsTheArguments: every action's description is filled from
// the event's arguments, with no placeholder left, for a number of 0 (which
// often reads "no limit") as for any other.
func TestDescribeFillsTheArguments(t *testing.T) {
	tests := []struct {
		ev         Event
		want, zero string // zero: the description with the action's number 0
	}{
		{Event{Action: "rotate_cleanup_password"}, "the vSphere account's password is rotated; the janitor keeps the old one and can no longer log in", ""},
		{Event{Action: "fix_cleanup_credentials"}, "the janitor's configuration gets the current password (it reads it when it restarts)", ""},
		{Event{Action: "restart_janitor"}, "the janitor restarts: it rereads its configuration and makes a pass at once", ""},
		{Event{Action: "aggressive_cleanup", Args: Args{Rate: ptr(50.0)}}, "the janitor destroys every VM, new build VMs included, at 50 VMs per second",
			"the janitor destroys every VM, new build VMs included, as fast as it can"},
		{Event{Action: "normal_cleanup"}, "the janitor goes back to its normal rules and rate", ""},
		{Event{Action: "pause_builds", Args: Args{Queue: "all"}}, "the jobs of every queue are no longer started (builds already started go on)", ""},
		{Event{Action: "resume_builds", Args: Args{Queue: "com"}}, "the jobs of queue com are started again", ""},
		{Event{Action: "set_max_builds", Args: Args{Queue: "com", MaxBuilds: ptr(int64(100))}}, "queue com runs at most 100 builds at once: the build rate changes",
			"queue com runs with no limit of builds at once"},
		{Event{Action: "set_cpu_capacity", Args: Args{VMs: ptr(int64(240))}}, "the reservation configuration changes: the cluster can run 240 VMs at once",
			"the reservation configuration changes: no CPU ceiling any more"},
		{Event{Action: "crash_workers", Args: Args{Fraction: ptr(0.3)}}, "30% of the Run workers crash: their builds' VMs are orphaned and the jobs requeued",
			"0% of the Run workers crash: their builds' VMs are orphaned and the jobs requeued"},
		{Event{Action: "restart_workers"}, "the crashed workers are restarted", ""},
		{Event{Action: "set_api_rate_limit", Args: Args{Rate: ptr(3.5)}}, "the clients' own limit on cloud API calls becomes 3.5 calls per second",
			"the clients' own limit on cloud API calls is lifted"},
		{Event{Action: "set_stall_chance", Args: Args{Fraction: ptr(0.25)}}, "a booted VM stalls (its build never makes progress) with a chance of 25%",
			"booted VMs no longer stall"},
		{Event{Action: "enable_mitigation", Args: Args{Mitigation: "capacity_aware"}}, "operators turn on capacity aware", ""},
		{Event{Action: "disable_mitigation", Args: Args{Mitigation: "retry_budget"}}, "operators turn off retry budget", ""},
	}
	require.Len(t, tests, len(Actions), "every action in the catalogue is tested")
	for _, tt := range tests {
		t.Run(tt.ev.Action, func(t *testing.T) {
			require.NoError(t, tt.ev.Validate([]string{"com", "org"}))
			assert.Equal(t, tt.want, tt.ev.Describe())
			assert.NotContains(t, tt.ev.Describe(), "{", "no placeholder left")

			zero := tt.ev
			zero.Args = Args{Queue: tt.ev.Args.Queue, Mitigation: tt.ev.Args.Mitigation}
			if tt.ev.Args.Rate != nil {
				zero.Args.Rate = ptr(0.0)
			}
			if tt.ev.Args.VMs != nil {
				zero.Args.VMs = ptr(int64(0))
			}
			if tt.ev.Args.MaxBuilds != nil {
				zero.Args.MaxBuilds = ptr(int64(0))
			}
			if tt.ev.Args.Fraction != nil {
				zero.Args.Fraction = ptr(0.0)
			}
			require.NoError(t, zero.Validate([]string{"com", "org"}))
			if tt.zero != "" {
				assert.Equal(t, tt.zero, zero.Describe())
			}
			assert.NotContains(t, zero.Describe(), "{", "no placeholder left with 0")
		})
	}
}

func TestDescribeWithANoteKeepsTheArguments(t *testing.T) {
	tests := []struct {
		ev   Event
		want string
	}{
		{Event{Action: "set_api_rate_limit", Args: Args{Rate: ptr(3.5)}, Note: "lowered below the cloud's"}, "lowered below the cloud's (rate 3.5)"},
		{Event{Action: "set_max_builds", Args: Args{Queue: "all", MaxBuilds: ptr(int64(100))}, Note: "a reduced rate"}, "a reduced rate (queue all, max_builds 100)"},
		{Event{Action: "rotate_cleanup_password", Note: "the 90-day expiry"}, "the 90-day expiry"},
	}
	for _, tt := range tests {
		t.Run(tt.ev.Action, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.ev.Describe())
		})
	}
}
