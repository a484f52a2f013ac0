package mitigate

import "vmstorm/config/policy"

// Backoff is capped exponential backoff with full jitter: policy.Backoff,
// whose settings are also its whole state.
type Backoff = policy.Backoff

// DefaultBackoff is the suggested requeue backoff: policy.DefaultBackoff.
func DefaultBackoff() Backoff { return policy.DefaultBackoff() }
