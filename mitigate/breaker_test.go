package mitigate

import (
	"math"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const s = time.Second

// call sends one request at model time at that completes at once.
func call(t *testing.T, b *Breaker, at time.Duration, success bool) {
	t.Helper()
	done, ok := b.Allow(at)
	require.True(t, ok, "a request at %v must be let through", at)
	done(at, success)
}

func newBreaker(t *testing.T, st BreakerSettings) *Breaker {
	t.Helper()
	b, err := NewBreaker(st, nil)
	require.NoError(t, err)
	return b
}

// tripped returns a default breaker that opened at 2 s (failures at 0, 1 and
// 2 s).
func tripped(t *testing.T, st BreakerSettings) *Breaker {
	t.Helper()
	b := newBreaker(t, st)
	for i := range 3 {
		call(t, b, time.Duration(i)*s, false)
	}
	require.Equal(t, Open, b.State(2*s))
	return b
}

func TestBreakerTripsAtTheThreshold(t *testing.T) {
	// Travis's thresholds: at least 3 requests, at least 60% of them failed.
	// One outcome a second, all within the 60 s window; want is the state
	// after each (C closed, O open).
	tests := []struct {
		name     string
		outcomes string // S success, F failure
		want     string
	}{
		{"2 requests, both failed: too few to trip", "FF", "CC"},
		{"3 requests, 2 failed (67%): trips", "SFF", "CCO"},
		{"the same outcomes in another order trip too, on the success", "FFS", "CCO"},
		{"3 requests, 3 failed: trips at the third", "FFF", "CCO"},
		{"5 requests, 2 failed (40%): does not trip", "SSSFF", "CCCCC"},
		{"5 requests, 3 failed: exactly 60% trips", "SSFFF", "CCCCO"},
		{"4 requests, 2 failed (50%): does not trip", "SFSF", "CCCC"},
		{"failures after successes: trips at 5 of 8 (62.5%), not 4 of 7 (57%)", "SSSFFFFF", "CCCCCCCO"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Len(t, tt.want, len(tt.outcomes))
			b := newBreaker(t, DefaultBreakerSettings())
			var got []byte
			for i, o := range []byte(tt.outcomes) {
				at := time.Duration(i) * s
				call(t, b, at, o == 'S')
				got = append(got, "COH"[b.State(at)])
			}
			assert.Equal(t, tt.want, string(got))
		})
	}
}

func TestBreakerCountsOverItsWindow(t *testing.T) {
	type ev struct {
		at time.Duration
		ok bool
	}
	window := DefaultBreakerSettings() // 60 s
	sinceClosed := DefaultBreakerSettings()
	sinceClosed.Window = 0
	var healthyThenFailing []ev // 10 successes, then 14 failures, an hour apart
	for i := range 24 {
		healthyThenFailing = append(healthyThenFailing, ev{time.Duration(i) * time.Hour, i < 10})
	}
	tests := []struct {
		name         string
		st           BreakerSettings
		events       []ev
		want         State
		wantRequests int
		wantFailures int
	}{
		{"failures older than the window do not count", window,
			[]ev{{0, false}, {30 * s, false}, {61 * s, false}}, Closed, 2, 2},
		{"an outcome exactly a window old is out", window,
			[]ev{{0, false}, {30 * s, false}, {60 * s, false}}, Closed, 2, 2},
		{"three failures within the window trip", window,
			[]ev{{0, false}, {30 * s, false}, {60*s - 1, false}}, Open, 0, 0},
		{"successes leave the window too, and the ratio rises", window,
			[]ev{{0, true}, {1 * s, true}, {30 * s, false}, {50 * s, false}, {61 * s, false}}, Open, 0, 0},
		{"window 0 never forgets: failures hours apart trip", sinceClosed,
			[]ev{{0, false}, {time.Hour, false}, {2 * time.Hour, false}}, Open, 0, 0},
		{"window 0: ten earlier successes hold off 14 failures (58%)", sinceClosed,
			healthyThenFailing, Closed, 24, 14},
		{"window 0: the 15th failure is 60%", sinceClosed,
			append(healthyThenFailing, ev{24 * time.Hour, false}), Open, 0, 0},
		{"a 60 s window forgets earlier successes: trips at the third failure", window,
			[]ev{{0, true}, {1 * s, true}, {2 * s, true}, {3 * s, true}, {120 * s, false}, {121 * s, false}, {122 * s, false}}, Open, 0, 0},
		{"failures an hour apart never share a 60 s window", window,
			healthyThenFailing, Closed, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBreaker(t, tt.st)
			for _, e := range tt.events {
				require.Equal(t, Closed, b.State(e.at), "closed before the request at %v", e.at)
				call(t, b, e.at, e.ok)
			}
			last := tt.events[len(tt.events)-1].at
			assert.Equal(t, tt.want, b.State(last))
			requests, failures := b.Counts(last)
			assert.Equal(t, tt.wantRequests, requests, "requests in the window")
			assert.Equal(t, tt.wantFailures, failures, "failures in the window")
		})
	}
}

func TestBreakerCountsForgetAsTimePasses(t *testing.T) {
	b := newBreaker(t, DefaultBreakerSettings())
	call(t, b, 0, false)
	call(t, b, 10*s, true)
	tests := []struct {
		at                 time.Duration
		requests, failures int
	}{
		{10 * s, 2, 1},
		{60*s - 1, 2, 1},
		{60 * s, 1, 0},
		{70 * s, 0, 0},
	}
	for _, tt := range tests {
		requests, failures := b.Counts(tt.at)
		assert.Equal(t, [2]int{tt.requests, tt.failures}, [2]int{requests, failures}, "at %v", tt.at)
	}
}

func TestBreakerOpensThenHalfOpensAfterTheTimeout(t *testing.T) {
	// Opened at 2 s with a 60 s timeout: half-open from 62 s, dated 62 s
	// however late it is first asked.
	tests := []struct {
		name    string
		at      time.Duration
		want    State
		allowed bool
	}{
		{"refused at once", 2 * s, Open, false},
		{"refused a nanosecond before the timeout", 62*s - 1, Open, false},
		{"a probe at the timeout", 62 * s, HalfOpen, true},
		{"a probe long after", time.Hour, HalfOpen, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tripped(t, DefaultBreakerSettings())
			_, ok := b.Allow(tt.at)
			assert.Equal(t, tt.allowed, ok)
			assert.Equal(t, tt.want, b.State(tt.at))
			want := []Transition{{2 * s, Closed, Open}}
			if tt.want == HalfOpen {
				want = append(want, Transition{62 * s, Open, HalfOpen})
			}
			assert.Equal(t, want, b.Recent())
		})
	}
}

func TestBreakerOpenUntil(t *testing.T) {
	b := newBreaker(t, DefaultBreakerSettings())
	_, open := b.OpenUntil(0)
	assert.False(t, open, "a closed breaker is not open")
	for i := range 3 {
		call(t, b, time.Duration(i)*s, false)
	}
	tests := []struct {
		at       time.Duration
		want     time.Duration
		wantOpen bool
	}{
		{2 * s, 62 * s, true},
		{62*s - 1, 62 * s, true},
		{62 * s, 0, false}, // half-open
	}
	for _, tt := range tests {
		until, open := b.OpenUntil(tt.at)
		assert.Equal(t, tt.wantOpen, open, "at %v", tt.at)
		assert.Equal(t, tt.want, until, "at %v", tt.at)
	}
	done, ok := b.Allow(62 * s)
	require.True(t, ok)
	done(90*s, false)
	until, open := b.OpenUntil(90 * s)
	assert.True(t, open, "a failed probe opens it again")
	assert.Equal(t, 150*s, until, "for another timeout from the failure")
}

func TestBreakerHalfOpenProbes(t *testing.T) {
	const halfOpen = 62 * s // tripped at 2 s, 60 s timeout
	tests := []struct {
		name   string
		probes int
		// outcomes of the probes, reported in order at halfOpen+1s, +2s, ...
		outcomes string
		want     State
		// whether one more request is let through after the outcomes
		allowed bool
	}{
		{"one probe; its success closes", 1, "S", Closed, true},
		{"one probe; its failure reopens", 1, "F", Open, false},
		{"three probes; two successes are not enough", 3, "SS", HalfOpen, false},
		{"three probes; three successes close", 3, "SSS", Closed, true},
		{"three probes; a failure after a success reopens", 3, "SF", Open, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := DefaultBreakerSettings()
			st.Probes = tt.probes
			b := tripped(t, st)
			var dones []Done
			for range tt.probes {
				done, ok := b.Allow(halfOpen)
				require.True(t, ok, "each of the %d probes is let through", tt.probes)
				dones = append(dones, done)
			}
			_, ok := b.Allow(halfOpen)
			require.False(t, ok, "no more than %d probes", tt.probes)
			at := halfOpen
			for i, o := range []byte(tt.outcomes) {
				at += s
				dones[i](at, o == 'S')
			}
			assert.Equal(t, tt.want, b.State(at))
			_, ok = b.Allow(at)
			assert.Equal(t, tt.allowed, ok)
		})
	}
}

func TestBreakerReopensForAnotherTimeout(t *testing.T) {
	b := tripped(t, DefaultBreakerSettings())
	done, ok := b.Allow(62 * s)
	require.True(t, ok)
	done(100*s, false) // the probe fails 38 s later: open again from 100 s
	for _, tt := range []struct {
		at   time.Duration
		want State
	}{{100 * s, Open}, {160*s - 1, Open}, {160 * s, HalfOpen}} {
		assert.Equal(t, tt.want, b.State(tt.at), "at %v", tt.at)
	}
	call(t, b, 170*s, true)
	assert.Equal(t, Closed, b.State(170*s))
	requests, failures := b.Counts(170 * s)
	assert.Zero(t, requests+failures, "a breaker closes with an empty window")
	assert.Equal(t, []Transition{
		{2 * s, Closed, Open},
		{62 * s, Open, HalfOpen},
		{100 * s, HalfOpen, Open},
		{160 * s, Open, HalfOpen},
		{170 * s, HalfOpen, Closed},
	}, b.Recent())
}

func TestBreakerIgnoresOutcomesFromAnEarlierState(t *testing.T) {
	// Sixty Build workers start VMs at 0 s; three fail at 10 s and trip the
	// breaker. The others' outcomes arrive later and must not count.
	b := newBreaker(t, DefaultBreakerSettings())
	var dones []Done
	for range 60 {
		done, ok := b.Allow(0)
		require.True(t, ok)
		dones = append(dones, done)
	}
	for _, done := range dones[:3] {
		done(10*s, false)
	}
	require.Equal(t, Open, b.State(10*s))
	dones[3](20*s, true)
	assert.Equal(t, Open, b.State(20*s), "a success begun while closed does not count while open")
	probe, ok := b.Allow(70 * s)
	require.True(t, ok, "half-open from 70 s")
	dones[4](75*s, true)
	assert.Equal(t, HalfOpen, b.State(75*s), "a success begun while closed is not a probe")
	dones[5](76*s, false)
	assert.Equal(t, HalfOpen, b.State(76*s), "nor is a failure")
	probe(80*s, true)
	assert.Equal(t, Closed, b.State(80*s))
	dones[6](90*s, false)
	requests, failures := b.Counts(90 * s)
	assert.Zero(t, requests+failures, "nor does it count after the breaker closed again")
}

func TestBreakerReportsEachTransition(t *testing.T) {
	var seen []Transition
	b, err := NewBreaker(DefaultBreakerSettings(), func(tr Transition) { seen = append(seen, tr) })
	require.NoError(t, err)
	for i := range 3 {
		call(t, b, time.Duration(i)*s, false)
	}
	require.Equal(t, []Transition{{2 * s, Closed, Open}}, seen, "called at the transition")
	b.State(time.Hour)
	want := []Transition{{2 * s, Closed, Open}, {62 * s, Open, HalfOpen}}
	assert.Equal(t, want, seen)
	assert.Equal(t, want, b.Recent())
	b.Recent()[0].At = 0
	assert.Equal(t, want, b.Recent(), "the log is a copy")
}

func TestBreakerMisuse(t *testing.T) {
	tests := []struct {
		name string
		f    func(b *Breaker)
	}{
		{"a Done called twice", func(b *Breaker) {
			done, _ := b.Allow(0)
			done(s, true)
			done(s, true)
		}},
		{"time going back", func(b *Breaker) {
			b.State(10 * s)
			b.Allow(5 * s)
		}},
		{"a Done dated before the last call", func(b *Breaker) {
			done, _ := b.Allow(0)
			b.State(10 * s)
			done(5*s, true)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBreaker(t, DefaultBreakerSettings())
			assert.Panics(t, func() { tt.f(b) })
		})
	}
}

func TestBreakerValidate(t *testing.T) {
	valid := DefaultBreakerSettings()
	with := func(f func(*BreakerSettings)) BreakerSettings {
		st := valid
		f(&st)
		return st
	}
	tests := []struct {
		name    string
		st      BreakerSettings
		setting string // "" when valid
	}{
		{"default (Travis's thresholds)", valid, ""},
		{"window 0 (since the breaker last closed)", with(func(x *BreakerSettings) { x.Window = 0 }), ""},
		{"ratio 1", with(func(x *BreakerSettings) { x.FailureRatio = 1 }), ""},
		{"no requests", with(func(x *BreakerSettings) { x.MinRequests = 0 }), "MinRequests"},
		{"ratio 0", with(func(x *BreakerSettings) { x.FailureRatio = 0 }), "FailureRatio"},
		{"ratio above 1", with(func(x *BreakerSettings) { x.FailureRatio = 1.5 }), "FailureRatio"},
		{"ratio NaN", with(func(x *BreakerSettings) { x.FailureRatio = math.NaN() }), "FailureRatio"},
		{"negative window", with(func(x *BreakerSettings) { x.Window = -x.Window }), "Window"},
		{"no open timeout", with(func(x *BreakerSettings) { x.OpenTimeout = 0 }), "OpenTimeout"},
		{"no probes", with(func(x *BreakerSettings) { x.Probes = 0 }), "Probes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := NewBreaker(tt.st, nil)
			if tt.setting == "" {
				require.NoError(t, err)
				assert.Equal(t, Closed, b.State(0))
				return
			}
			assert.Nil(t, b)
			var se *SettingError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, "breaker", se.Policy)
			assert.Equal(t, tt.setting, se.Setting)
			assert.NotContains(t, err.Error(), "\n", "one line")
		})
	}
}

func TestBreakerSharedByGoroutines(t *testing.T) {
	// Every Build worker asks the one breaker: no outcome may be lost.
	b := newBreaker(t, DefaultBreakerSettings())
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			if done, ok := b.Allow(s); ok {
				done(s, true)
			}
		})
	}
	wg.Wait()
	requests, failures := b.Counts(s)
	assert.Equal(t, 100, requests)
	assert.Zero(t, failures)
}

func TestStateString(t *testing.T) {
	for st, want := range map[State]string{Closed: "closed", Open: "open", HalfOpen: "half-open", State(7): "State(7)"} {
		assert.Equal(t, want, st.String())
	}
}

// TestBreakerObserveDoesNotMoveIt: Observe reports what State would, an
// open breaker past its timeout as half-open, but moves nothing: no
// transition is made or reported, so that an observer (a sample) reading
// it changes nothing the breaker does. State does move it.
func TestBreakerObserveDoesNotMoveIt(t *testing.T) {
	st := DefaultBreakerSettings()
	b := tripped(t, st)
	before := b.Recent()
	past := 2*s + st.OpenTimeout + s
	assert.Equal(t, Open, b.Observe(2*s+st.OpenTimeout-time.Nanosecond))
	assert.Equal(t, HalfOpen, b.Observe(past), "past the timeout, as State would say")
	assert.Equal(t, before, b.Recent(), "observing made no transition")
	assert.Equal(t, HalfOpen, b.State(past))
	after := b.Recent()
	require.Len(t, after, len(before)+1, "State made the transition")
	assert.Equal(t, 2*s+st.OpenTimeout, after[len(after)-1].At, "dated when the timeout ran out")
}

// TestBreakerKeepsCountsAndOnlyItsRecentChanges: a breaker that flaps for a
// whole run holds RecentTransitions of its changes, the latest, in order,
// and counts every change and every opening from closed.
func TestBreakerKeepsCountsAndOnlyItsRecentChanges(t *testing.T) {
	const cycles = 40 // each: closed -> open -> half-open -> closed
	var all []Transition
	b, err := NewBreaker(BreakerSettings{MinRequests: 1, FailureRatio: 1, OpenTimeout: time.Second, Probes: 1},
		func(tr Transition) { all = append(all, tr) })
	require.NoError(t, err)
	now := time.Duration(0)
	for range cycles {
		done, ok := b.Allow(now)
		require.True(t, ok)
		done(now, false) // closed -> open
		now += time.Second
		done, ok = b.Allow(now) // open -> half-open, and a probe
		require.True(t, ok)
		done(now, true) // half-open -> closed
		now += time.Second
	}
	changes, openings := b.Changes()
	assert.Equal(t, 3*cycles, changes)
	assert.Equal(t, cycles, openings)
	require.Len(t, all, changes, "onChange heard every change")
	assert.Equal(t, all[len(all)-RecentTransitions:], b.Recent(), "the latest, oldest first")
}
