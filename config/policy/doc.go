// Package policy holds the settings of the mitigations' policies (the
// backoff, the retry budget and the circuit breaker): their fields, their
// defaults and their Validate, and the error a wrong setting gives. It is
// part of the configuration, and imports nothing of vmstorm: config reads
// these settings into its table of parameters without importing the model,
// and package mitigate, which builds the policies from them, names the same
// types (mitigate.Backoff is policy.Backoff, and so on).
package policy

import "fmt"

// SettingError says which setting of a policy is wrong, its value, and what
// a valid one is: enough for the caller to name its flag or scenario key in
// one line.
type SettingError struct {
	Policy  string // "backoff", "retry budget" or "breaker"
	Setting string // the field of the policy's settings, e.g. "Base"
	Value   string
	Want    string
}

func (e *SettingError) Error() string {
	return fmt.Sprintf("%s %s %s: want %s", e.Policy, e.Setting, e.Value, e.Want)
}
