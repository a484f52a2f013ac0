// Package incident injects faults into a running model at model times: the
// 2015 janitor that lost its vSphere password, and the timeline of such
// events that a run plays out.
package incident

import (
	"context"
	"sort"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"vmstorm/internal/sim"
)

// Faults is the state of every injected fault. The model's parts read it on
// each operation; the timeline writes it.
type Faults struct {
	cleanupLoginBroken atomic.Bool
}

// CleanupLoginBroken reports whether the janitor's vSphere log-in fails, as
// it did from the 2015-07-31 password rotation until the fix on 08-04.
func (f *Faults) CleanupLoginBroken() bool { return f.cleanupLoginBroken.Load() }

// Event is one thing that happens to the model at a model time.
type Event struct {
	At   time.Duration
	Name string // fixed, snake_case: it is the event's name in the logs
	// Note says in a few words what the event is, for people reading the log.
	Note  string
	Apply func(*Faults)
}

// RotateCleanupPassword is the 2015 root cause: the vSphere account's
// password is rotated and the janitor keeps the old one, so from then on
// every log-in fails and nothing is cleaned.
func RotateCleanupPassword(at time.Duration) Event {
	return Event{
		At:    at,
		Name:  "cleanup_password_rotated",
		Note:  "vSphere password rotated; the janitor still has the old one and can no longer log in",
		Apply: func(f *Faults) { f.cleanupLoginBroken.Store(true) },
	}
}

// FixCleanupPassword gives the janitor the new password.
func FixCleanupPassword(at time.Duration) Event {
	return Event{
		At:    at,
		Name:  "cleanup_password_fixed",
		Note:  "the janitor is given the new password and can log in again",
		Apply: func(f *Faults) { f.cleanupLoginBroken.Store(false) },
	}
}

// Timeline is a run's events.
type Timeline []Event

// Begin sorts the timeline, applies the events due at model time zero (or
// before), so that they hold before any part of the model starts, and
// returns the events still to come, for Play.
func (tl Timeline) Begin(faults *Faults, log *zap.Logger, applied func(Event)) Timeline {
	events := append(Timeline(nil), tl...)
	sort.SliceStable(events, func(i, j int) bool { return events[i].At < events[j].At })
	for len(events) > 0 && events[0].At <= 0 {
		events[0].apply(faults, log, applied)
		events = events[1:]
	}
	return events
}

// Play waits for each event's model time and applies it, in order, until
// the events run out or ctx is done. The timeline must have come from Begin.
// Begin and Play call applied, if not nil, after applying each event.
func (tl Timeline) Play(ctx context.Context, clock *sim.Clock, faults *Faults, log *zap.Logger, applied func(Event)) {
	for _, ev := range tl {
		if !clock.SleepUntil(ctx, ev.At) {
			return
		}
		ev.apply(faults, log, applied)
	}
}

func (ev Event) apply(faults *Faults, log *zap.Logger, applied func(Event)) {
	ev.Apply(faults)
	log.Warn(ev.Name, zap.String("note", ev.Note))
	if applied != nil {
		applied(ev)
	}
}
