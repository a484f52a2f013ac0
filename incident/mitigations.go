package incident

import "fmt"

// Mitigation names one of the changes that could have stopped the 2015
// storm, as a part of the model that can be switched on
// (docs/mitigations.md): the value of enable_mitigation's and
// disable_mitigation's argument. The model reads its switches by it.
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

// MitigationNames are the mitigations' names, as a timeline action names
// them, by Mitigation.
var MitigationNames = [NumMitigations]string{
	"backoff", "retry_budget", "breaker", "delete_failed_vms", "reaper", "capacity_aware", "shed",
}

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
