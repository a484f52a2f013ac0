package mitigate

import (
	"fmt"
	"sync"
	"time"

	"vmstorm/config/policy"
)

// State is a circuit breaker's state.
type State int

// A breaker is Closed (requests go through and are counted), Open (every
// request is refused at once) or HalfOpen (a few probes go through to see
// whether the service has recovered).
const (
	Closed State = iota
	Open
	HalfOpen
)

var stateNames = [...]string{"closed", "open", "half-open"}

func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return fmt.Sprintf("State(%d)", int(s))
	}
	return stateNames[s]
}

// BreakerSettings configure a Breaker: policy.BreakerSettings.
type BreakerSettings = policy.BreakerSettings

// DefaultBreakerSettings are Travis's thresholds over a rolling window of
// the last 60 s of model time: policy.DefaultBreakerSettings.
func DefaultBreakerSettings() BreakerSettings { return policy.DefaultBreakerSettings() }

// Transition is one change of a breaker's state, at a model time.
type Transition struct {
	At       time.Duration
	From, To State
}

// Done reports the outcome of a request the breaker let through, at the
// model time it completed. Each Done must be called exactly once.
type Done func(now time.Duration, success bool)

// outcome is one completed request in a closed breaker's window.
type outcome struct {
	at     time.Duration
	failed bool
}

// Breaker is a circuit breaker (Nygard, Release It!) on model time, for the
// Build workers' calls to the VM API. A worker asks Allow before a VM start
// and reports its outcome through the Done it got; while the breaker is open
// Allow refuses, so the job waits instead of failing.
//
//   - Closed: every request goes through. When a request completes, the
//     breaker counts the requests completed in its window; if there are at
//     least MinRequests and at least FailureRatio of them failed, it opens.
//     It checks on every outcome, a success included, so the order of the
//     outcomes in the window does not matter.
//   - Open: every request is refused. OpenTimeout after it opened it is
//     half-open; the transition is dated then, even if the next call comes
//     later.
//   - HalfOpen: Probes requests go through and the rest are refused. A
//     failed probe opens it again, for another OpenTimeout; when Probes of
//     them have succeeded it closes with an empty window.
//
// An outcome counts only in the state the request was let through in: a
// request that began before the breaker last changed state is ignored when
// it completes, as gobreaker ignores an earlier generation's. Model time
// must not go back from one call to the next. A Breaker may be called from
// several goroutines.
type Breaker struct {
	mu       sync.Mutex
	s        BreakerSettings
	onChange func(Transition)

	state State
	since time.Duration // when state began
	gen   uint64        // counts state changes: a Done from an earlier one is ignored
	now   time.Duration // the latest model time seen

	// Closed: the completed requests in the window, oldest first (kept only
	// when Window > 0), and their counts.
	window             []outcome
	requests, failures int
	// HalfOpen: probes let through, and those that succeeded.
	probes, passed int

	// The state changes so far, counted (changes, and openings from
	// closed), and the last RecentTransitions of them, in a ring whose
	// next slot is changes % RecentTransitions: a breaker that flaps for a
	// whole run holds no more than this.
	changes, openings int
	recent            [RecentTransitions]Transition
}

// RecentTransitions is how many of its latest state changes a breaker
// keeps.
const RecentTransitions = 16

// NewBreaker returns a closed breaker at model time 0, or the settings'
// *SettingError. onChange, if not nil, is called at every transition, with
// the breaker's lock held: it must not call the breaker.
func NewBreaker(s BreakerSettings, onChange func(Transition)) (*Breaker, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &Breaker{s: s, onChange: onChange}, nil
}

// Allow asks to send one request at model time now. If the breaker lets it
// through, it returns the Done to report the request's outcome with, and
// true; otherwise nil and false.
func (b *Breaker) Allow(now time.Duration) (Done, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance(now)
	switch b.state {
	case Open:
		return nil, false
	case HalfOpen:
		if b.probes >= b.s.Probes {
			return nil, false
		}
		b.probes++
	}
	gen, reported := b.gen, false
	return func(now time.Duration, success bool) {
		b.mu.Lock()
		defer b.mu.Unlock()
		if reported {
			panic("mitigate: a breaker's Done was called twice")
		}
		reported = true
		b.advance(now)
		if gen == b.gen {
			b.record(now, success)
		}
	}, true
}

// State is the breaker's state at model time now.
func (b *Breaker) State(now time.Duration) State {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance(now)
	return b.state
}

// Observe is the state State reports at model time now, without moving the
// breaker there: an open breaker whose timeout has run out is reported
// half-open, and stays open until one who acts on it asks. For an observer
// (a sample), whose reading must not change what the model does.
func (b *Breaker) Observe(now time.Duration) State {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == Open && now-b.since >= b.s.OpenTimeout {
		return HalfOpen
	}
	return b.state
}

// OpenUntil reports, for a breaker open at model time now, the model time
// it turns half-open, and true; for one that is not open, 0 and false. A
// worker refused by an open breaker can sleep until then instead of polling.
func (b *Breaker) OpenUntil(now time.Duration) (time.Duration, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance(now)
	if b.state != Open {
		return 0, false
	}
	return b.since + b.s.OpenTimeout, true
}

// Counts are the completed requests, and the failed ones among them, that a
// closed breaker's window holds at model time now; 0 and 0 when it is not
// closed.
func (b *Breaker) Counts(now time.Duration) (requests, failures int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance(now)
	b.evict(now)
	return b.requests, b.failures
}

// Recent is the breaker's latest state changes, at most
// RecentTransitions, oldest first: a copy.
func (b *Breaker) Recent() []Transition {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := min(b.changes, RecentTransitions)
	out := make([]Transition, 0, n)
	for i := b.changes - n; i < b.changes; i++ {
		out = append(out, b.recent[i%RecentTransitions])
	}
	return out
}

// Changes is how many times the breaker has changed state, and Openings
// how many of those opened it from closed (not the reopenings of a failed
// probe).
func (b *Breaker) Changes() (changes, openings int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.changes, b.openings
}

// advance moves the breaker to model time now: an open breaker whose
// timeout has run out becomes half-open, dated when it ran out.
func (b *Breaker) advance(now time.Duration) {
	if now < b.now {
		panic(fmt.Sprintf("mitigate: breaker time went back from %v to %v", b.now, now))
	}
	b.now = now
	if b.state == Open && now-b.since >= b.s.OpenTimeout {
		b.set(HalfOpen, b.since+b.s.OpenTimeout)
	}
}

// record counts the outcome of a request let through in the current state.
func (b *Breaker) record(now time.Duration, success bool) {
	switch b.state {
	case Closed:
		b.evict(now)
		if b.s.Window > 0 {
			b.window = append(b.window, outcome{now, !success})
		}
		b.requests++
		if !success {
			b.failures++
		}
		// The quotient of two counts is the double nearest their ratio, so 3
		// of 5 is exactly the double 0.6 is, and trips at FailureRatio 0.6.
		if b.requests >= b.s.MinRequests && float64(b.failures)/float64(b.requests) >= b.s.FailureRatio {
			b.set(Open, now)
		}
	case HalfOpen:
		if !success {
			b.set(Open, now)
			return
		}
		if b.passed++; b.passed >= b.s.Probes {
			b.set(Closed, now)
		}
	}
}

// evict drops from a closed breaker's window the outcomes older than Window.
func (b *Breaker) evict(now time.Duration) {
	if b.s.Window <= 0 || b.state != Closed {
		return
	}
	// An outcome at exactly now-Window is out: the window is (now-Window, now].
	// now-Window cannot overflow: now >= 0 and Window > 0.
	from := now - b.s.Window
	i := 0
	for ; i < len(b.window) && b.window[i].at <= from; i++ {
		b.requests--
		if b.window[i].failed {
			b.failures--
		}
	}
	b.window = b.window[i:]
}

// set changes the state at model time at, and starts the new state afresh.
func (b *Breaker) set(to State, at time.Duration) {
	tr := Transition{At: at, From: b.state, To: to}
	b.state, b.since = to, at
	b.gen++
	b.window, b.requests, b.failures = nil, 0, 0
	b.probes, b.passed = 0, 0
	b.recent[b.changes%RecentTransitions] = tr
	b.changes++
	if tr.From == Closed && tr.To == Open {
		b.openings++
	}
	if b.onChange != nil {
		b.onChange(tr)
	}
}
