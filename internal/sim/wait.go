package sim

import (
	"context"
	"slices"
	"time"
)

// Sleep waits for d of model time. It returns false, early, if the kernel
// is stopped first. A d of zero or less returns at once.
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return !Stopped(ctx)
	}
	p := procOf(ctx)
	return sleepUntil(p, p.k.Now()+d)
}

// SleepUntil waits until model time t. Pacing a loop against absolute times
// keeps it to its schedule exactly. It returns false, early, if the kernel
// is stopped first; a t that has passed returns at once.
func SleepUntil(ctx context.Context, t time.Duration) bool {
	return sleepUntil(procOf(ctx), t)
}

func sleepUntil(p *proc, t time.Duration) bool {
	k := p.k
	k.lock()
	if t <= k.nowLocked() {
		ok := !k.stopped
		k.unlock()
		return ok
	}
	if !k.beginLocked(p, true) {
		k.unlock()
		return false
	}
	k.deadlineLocked(p, t)
	return k.block(p) == timedOut
}

// Signal is a wake-up call, such as a restart request or the crash of a
// worker. A notification wakes one waiting process, the one that has waited
// longest; one that finds no process waiting is kept until one waits: the
// next wait on the Signal returns at once and takes it.
type Signal struct {
	k       *Kernel
	pending bool    // guarded by k.mu
	waiting []*proc // guarded by k.mu; a process leaves it when its wait ends
}

// NewSignal returns a Signal with no notification pending.
func NewSignal(k *Kernel) *Signal { return &Signal{k: k} }

// Notify wakes the process that has waited longest on s, or, if none
// waits, keeps the notification for the next wait.
func (s *Signal) Notify() {
	s.k.lock()
	defer s.k.unlock()
	if len(s.waiting) > 0 {
		s.k.wakeLocked(s.waiting[0], signalled)
		return
	}
	s.pending = true
}

// Broadcast wakes every process waiting on s, such as the workers waiting
// for a circuit breaker to change state. Unlike Notify, it keeps nothing
// for a later wait: a process that waits after it waits for the next.
func (s *Signal) Broadcast() {
	s.k.lock()
	defer s.k.unlock()
	for len(s.waiting) > 0 {
		s.k.wakeLocked(s.waiting[0], signalled) // takes it off s.waiting
	}
}

// Pending reports whether a notification waits to be taken.
func (s *Signal) Pending() bool {
	s.k.lock()
	defer s.k.unlock()
	return s.pending
}

// take consumes a pending notification; k.mu must be held.
func (s *Signal) take() bool {
	if s.pending {
		s.pending = false
		return true
	}
	return false
}

// wait registers p, which has begun its wait, as waiting on s; k.mu must
// be held.
func (s *Signal) wait(p *proc) {
	s.waiting = append(s.waiting, p)
	p.sig = s
}

// leave takes p, whose wait has ended, off s; k.mu must be held.
func (s *Signal) leave(p *proc) {
	i := slices.Index(s.waiting, p)
	s.waiting = slices.Delete(s.waiting, i, i+1)
}

// SleepOrWake waits for d of model time, or until s is notified. It reports
// whether s cut the sleep short (taking its notification); ok is false if
// the kernel is stopped first.
func SleepOrWake(ctx context.Context, d time.Duration, s *Signal) (woken, ok bool) {
	if d <= 0 {
		d = -1 // at once, unless s is pending: not WaitFor's "no deadline"
	}
	return sleepOrWake(ctx, d, s)
}

// WaitFor waits, with no deadline, until s is notified (taking its
// notification). It returns false if the kernel is stopped first.
func WaitFor(ctx context.Context, s *Signal) bool {
	_, ok := sleepOrWake(ctx, 0, s)
	return ok
}

// sleepOrWake is SleepOrWake for d above 0, WaitFor for d 0, and a look at
// s alone for d below 0.
func sleepOrWake(ctx context.Context, d time.Duration, s *Signal) (woken, ok bool) {
	p := procOf(ctx)
	k := p.k
	k.lock()
	if k.stopped {
		k.unlock()
		return false, false
	}
	if s.take() {
		k.unlock()
		return true, true
	}
	if d < 0 {
		k.unlock()
		return false, true
	}
	k.beginLocked(p, true)
	if d > 0 {
		k.deadlineLocked(p, k.nowLocked()+d)
	}
	s.wait(p)
	switch k.block(p) {
	case signalled:
		return true, true
	case timedOut:
		return false, true
	default:
		return false, false
	}
}
