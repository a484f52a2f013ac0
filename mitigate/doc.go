// Package mitigate holds the policies that could have cut the 2015 requeue
// storm short: exponential backoff with full jitter before a failed start is
// retried (Backoff), a retry budget in the manner of gRPC's retry throttling
// (RetryBudget), and a circuit breaker in front of the VM API (Breaker).
//
// Each policy is a pure state machine on model time and seeded streams. It
// never reads the wall clock or a global random source: its methods take now,
// the model time since the start of the run, from the caller (the model
// clock), and a policy that draws takes the *rand.Rand to draw from (a stream
// from internal/dist). So the same seed makes the same decisions however the
// model's goroutines are scheduled, and a test drives a policy through any
// history by passing the times it wants. Where each policy sits in the model
// and what it should change: docs/mitigations.md.
//
// The policies' settings, their defaults and their Validate live in
// config/policy, so that the configuration describes them without importing
// the model; the names here are aliases of those types.
package mitigate

import "vmstorm/config/policy"

// SettingError says which setting of a policy is wrong: policy.SettingError.
type SettingError = policy.SettingError
