package policy

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Backoff is capped exponential backoff with full jitter (Marc Brooker,
// "Exponential Backoff and Jitter", AWS Architecture Blog, 2015): before
// retry n the caller waits a delay drawn uniformly from
// [0, min(Cap, Base·Multiplier^n)). gRPC's retry policy (gRFC A6) draws its
// backoff the same way. Full jitter spreads the retries of clients that
// failed together over the whole interval, so they do not come back as a
// herd.
//
// A Backoff is a value with no state: the delay depends only on the attempt
// number and the draw. Its ceiling and its draw are arithmetic on its
// settings, so they stay with them; the model (the Build workers' waiting
// room) calls Delay with a seeded stream.
type Backoff struct {
	// Base is the ceiling of the first delay.
	Base time.Duration
	// Cap bounds every ceiling, however many attempts came before.
	Cap time.Duration
	// Multiplier is the ceiling's growth per attempt (2 in the AWS post).
	Multiplier float64
}

// DefaultBackoff is the suggested requeue backoff for VM starts that take
// minutes: a first delay of up to 30 s, doubling, capped at 10 m
// (docs/mitigations.md says why, and what it should change).
func DefaultBackoff() Backoff {
	return Backoff{Base: 30 * time.Second, Cap: 10 * time.Minute, Multiplier: 2}
}

// Validate returns a *SettingError for the first setting that is wrong.
func (b Backoff) Validate() error {
	switch {
	case b.Base <= 0:
		return &SettingError{"backoff", "Base", b.Base.String(), "a duration above 0 (e.g. 30s)"}
	case b.Cap < b.Base:
		return &SettingError{"backoff", "Cap", b.Cap.String(), fmt.Sprintf("a duration of at least the base, %v (e.g. 10m)", b.Base)}
	case !(b.Multiplier >= 1) || math.IsInf(b.Multiplier, 1):
		return &SettingError{"backoff", "Multiplier", fmt.Sprint(b.Multiplier), "a finite number of at least 1 (e.g. 2)"}
	}
	return nil
}

// Ceiling is the largest delay before retry attempt: min(Cap, Base·Multiplier^attempt).
// attempt counts the retries made before this one, from 0 (AWS's formula):
// the wait after a job's first failed start is drawn under Ceiling(0) = Base.
// A negative attempt counts as 0. The ceiling is computed in floating point
// and compared with Cap before it is converted, so no attempt number
// overflows it.
func (b Backoff) Ceiling(attempt int) time.Duration {
	c := float64(b.Base) * math.Pow(b.Multiplier, float64(max(attempt, 0)))
	if !(c < float64(b.Cap)) { // also +Inf and NaN
		return b.Cap
	}
	return min(time.Duration(c), b.Cap)
}

// Delay draws the wait before retry attempt (counted as in Ceiling) from r:
// uniform in [0, Ceiling(attempt)). It takes exactly one draw from r, so the
// draws that follow on the same stream do not depend on the delay's value.
func (b Backoff) Delay(attempt int, r *rand.Rand) time.Duration {
	c := b.Ceiling(attempt)
	return min(time.Duration(r.Float64()*float64(c)), c)
}
