package incident

import "fmt"

// Mitigation names one of the changes that could have stopped the 2015
// storm, as a part of the model that can be switched on
// (docs/mitigations.md): the value of enable_mitigation's and
// disable_mitigation's argument. The model reads its switches by it.
//
// Each mitigation is declared once, as a constant here and its entry in
// MitigationTable (its name, its switch and its settings); the model wires
// it by the same constant in package pipeline (pipeline/mitigations.go),
// and its tests fail if either entry is missing. Adding a mitigation is
// those two entries, its parameters in package config, and its behaviour.
type Mitigation int

// The mitigations with a switch. Honest monitoring is two settings rather
// than a switch: the janitor's report_stale and the janitor-age alert.
const (
	Backoff         Mitigation = iota // a failed start backs off before its retry
	RetryBudget                       // retries only while the Build pool's budget allows
	Breaker                           // a circuit breaker in front of the VM API
	DeleteFailedVMs                   // a failed start leaves no VM behind
	Reaper                            // the janitor destroys old never-booted VMs
	CapacityAware                     // the scheduler hands out jobs only while the cluster has room
	Shed                              // jobs that waited too long are dropped from the backlog
	NumMitigations
)

// MitigationEntry is what the data says of one mitigation.
type MitigationEntry struct {
	// Name is the mitigation's name in a timeline action, in the summary and
	// in a scenario file's key: its switch's flag in snake_case.
	Name string
	// Switch is the flag of the parameter that turns it on from the start
	// (package config's Params).
	Switch string
	// Settings are the flags of the parameters it works with, each named
	// after the switch (-backoff-base) and doing nothing while it is off.
	Settings []string
}

// MitigationTable is the one table of the mitigations, by Mitigation: the
// names, the valid names of enable_mitigation's argument, the summary's
// list and config's switches and settings all come from it.
var MitigationTable = [NumMitigations]MitigationEntry{
	Backoff:         {Name: "backoff", Switch: "backoff", Settings: []string{"backoff-base", "backoff-cap", "backoff-multiplier"}},
	RetryBudget:     {Name: "retry_budget", Switch: "retry-budget", Settings: []string{"retry-budget-tokens", "retry-budget-ratio"}},
	Breaker:         {Name: "breaker", Switch: "breaker", Settings: []string{"breaker-min-requests", "breaker-failure-ratio", "breaker-window", "breaker-open-timeout", "breaker-probes"}},
	DeleteFailedVMs: {Name: "delete_failed_vms", Switch: "delete-failed-vms"},
	Reaper:          {Name: "reaper", Switch: "reaper", Settings: []string{"reaper-ttl"}},
	CapacityAware:   {Name: "capacity_aware", Switch: "capacity-aware"},
	Shed:            {Name: "shed", Switch: "shed", Settings: []string{"shed-after"}},
}

// MitigationNames are the mitigations' names (MitigationTable's), by
// Mitigation.
var MitigationNames = func() (names [NumMitigations]string) {
	for m, e := range MitigationTable {
		names[m] = e.Name
	}
	return names
}()

func (m Mitigation) String() string {
	if m < 0 || m >= NumMitigations {
		return fmt.Sprintf("Mitigation(%d)", int(m))
	}
	return MitigationNames[m]
}

// LookupMitigation returns the mitigation with that name.
func LookupMitigation(name string) (Mitigation, bool) {
	for i, n := range MitigationNames {
		if n == name {
			return Mitigation(i), true
		}
	}
	return 0, false
}
