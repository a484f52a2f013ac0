package policy

import (
	"fmt"
	"time"
)

// BreakerSettings configure a Breaker. The defaults are Travis's: the breaker
// jupiter-brain put in front of vSphere after the 2015 outage was
// sony/gobreaker with ReadyToTrip "at least 3 requests and a failure ratio of
// at least 0.6", and gobreaker's defaults for the rest (a 60 s open timeout,
// one half-open probe).
type BreakerSettings struct {
	// MinRequests: the breaker trips only when its window holds at least
	// this many completed requests (Travis: 3) ...
	MinRequests int
	// FailureRatio: ... of which at least this share failed (Travis: 0.6).
	FailureRatio float64
	// Window is the span of model time the closed breaker counts over: the
	// requests that completed in (now-Window, now]. 0 counts every request
	// since the breaker last closed, as gobreaker does with Interval 0, the
	// setting jupiter-brain ran.
	Window time.Duration
	// OpenTimeout is how long the breaker stays open before it lets probes
	// through (gobreaker's Timeout).
	OpenTimeout time.Duration
	// Probes is how many requests the half-open breaker lets through: that
	// many successes close it, and one failure opens it again (gobreaker's
	// MaxRequests).
	Probes int
}

// DefaultBreakerSettings are Travis's thresholds over a rolling window of
// the last 60 s of model time. Travis counted since the breaker last closed
// (Window 0), which after days of healthy traffic needs more failures than
// the successes before them to reach 60%; docs/mitigations.md compares the
// two.
func DefaultBreakerSettings() BreakerSettings {
	return BreakerSettings{MinRequests: 3, FailureRatio: 0.6, Window: time.Minute, OpenTimeout: time.Minute, Probes: 1}
}

// Validate returns a *SettingError for the first setting that is wrong.
func (s BreakerSettings) Validate() error {
	switch {
	case s.MinRequests < 1:
		return &SettingError{"breaker", "MinRequests", fmt.Sprint(s.MinRequests), "a whole number of requests, at least 1 (e.g. 3)"}
	case !(s.FailureRatio > 0 && s.FailureRatio <= 1):
		return &SettingError{"breaker", "FailureRatio", fmt.Sprint(s.FailureRatio), "a share of failed requests above 0 and at most 1 (e.g. 0.6)"}
	case s.Window < 0:
		return &SettingError{"breaker", "Window", s.Window.String(), "a duration above 0 (e.g. 60s), or 0 to count since the breaker last closed"}
	case s.OpenTimeout <= 0:
		return &SettingError{"breaker", "OpenTimeout", s.OpenTimeout.String(), "a duration above 0 (e.g. 60s)"}
	case s.Probes < 1:
		return &SettingError{"breaker", "Probes", fmt.Sprint(s.Probes), "a whole number of requests, at least 1 (e.g. 1)"}
	}
	return nil
}
