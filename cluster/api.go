package cluster

import (
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// api is the cloud's API as the model's clients see it: the cloud's own
// rate limit, which refuses calls over it, and the clients' self-imposed
// limit, which makes them wait instead. Both run on model time: the
// limiters are given model instants, never the wall clock.
type api struct {
	mu     sync.Mutex // serialises SetClientRate
	cloud  *rate.Limiter
	client atomic.Pointer[rate.Limiter] // nil for none; read on every call, without a lock
	// refusedCount: a refused call still takes a token (the assumption
	// Config.RefusedCallsCount), the bucket owing at most one burst.
	refusedCount bool
	owe          sync.Mutex // makes charging a refused call one step
}

func newAPI(cloudRate float64, burst int, clientRate float64, refusedCount bool) *api {
	a := &api{cloud: limiter(cloudRate, burst), refusedCount: refusedCount}
	a.client.Store(limiter(clientRate, 1))
	return a
}

// limiter returns a token bucket, or nil for "no limit".
func limiter(perSecond float64, burst int) *rate.Limiter {
	if perSecond <= 0 {
		return nil
	}
	return rate.NewLimiter(rate.Limit(perSecond), max(burst, 1))
}

// instant turns model time into the time.Time the limiters count in.
func instant(t time.Duration) time.Time { return time.Unix(0, 0).Add(t) }

// allow reports whether the cloud accepts a call at now. A refused call
// costs the limit nothing (AllowN takes no token when it refuses), unless
// refused calls count: then it takes its token anyway, so that calls made
// while the limit is exhausted keep it exhausted, down to one burst owed.
func (a *api) allow(now time.Duration) bool {
	if a.cloud == nil {
		return true
	}
	if !a.refusedCount {
		return a.cloud.AllowN(instant(now), 1)
	}
	a.owe.Lock()
	defer a.owe.Unlock()
	t := instant(now)
	if a.cloud.AllowN(t, 1) {
		return true
	}
	if a.cloud.TokensAt(t) > -float64(a.cloud.Burst()) {
		a.cloud.ReserveN(t, 1) // not cancelled: the refused call's token is owed
	}
	return false
}

// clientWait reserves a call under the clients' own limit and returns how
// long, in model time, the caller must wait before making it.
func (a *api) clientWait(now time.Duration) time.Duration {
	l := a.client.Load()
	if l == nil {
		return 0
	}
	return l.ReserveN(instant(now), 1).DelayFrom(instant(now))
}

func (a *api) setClientRate(now time.Duration, perSecond float64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	l := a.client.Load()
	switch {
	case perSecond <= 0:
		a.client.Store(nil)
	case l == nil:
		a.client.Store(limiter(perSecond, 1))
	default:
		l.SetLimitAt(instant(now), rate.Limit(perSecond))
	}
}
