package config

// Assumption is one of the model's choices that decide an outcome and that
// neither the incident's report nor the services' code settles: a switch of
// Params' assumptions section, with the evidence for its default and what
// the other value would mean. -h, the run's summary, the HTML report and
// docs/scenarios.md (ASSUMPTIONS) show them.
type Assumption struct {
	Flag string // the parameter's flag, in Params
	// Evidence is why the default, in a sentence, with its sources.
	Evidence string
	// Otherwise is the other plausible value, and who would have it.
	Otherwise string
	// Decides is the outcome it decides, as the model measured it
	// (docs/scenarios.md gives the commands).
	Decides string
}

// Assumptions are the model's assumptions, in the order of Params.
var Assumptions = []Assumption{
	{Flag: "never-booted-holds-slot",
		Evidence: "vSphere's admission control counts the reservations of powered-on VMs only (ClusterFailoverResourcesAdmissionControlPolicy), " +
			"and the report says power-on failed because reservations could not be satisfied: a VM that never powered on reserved nothing",
		Otherwise: "what filled the cluster was registered VMs or their disks (vCenter 6.0 supports 8,000 VMs a cluster; jupiter-brain made linked clones " +
			"and left a clone whose power-on failed), which a VM that never booted holds as much as a finished one; the report calls those VMs \"part of the leak\"",
		Decides: "whether the 2015 storm sustains itself once the janitor is fixed: with it, every failed start takes a slot the janitor never gives back, " +
			"and the fix alone never recovers (0 of 20 replicas; 3.6 h without it); it is the one value that reproduces the report's 21:01 failure of the resumed queue"},
	{Flag: "refused-start-holds-cpu",
		Evidence: "vSphere refuses a power-on at admission control, before the VM runs: a refused VM takes no CPU",
		Otherwise: "the report says the reservations admitted more builds than the cluster had CPU for: a start over the CPU may run, contend " +
			"for the CPU and fail only after its task times out (the model's reject time), crowding out the builds that run",
		Decides: "whether requeues touch the bottleneck (the CPU ceiling): with it the second failure is worse (304 requeues from 22:56 to 23:28, not 279) " +
			"and the fix alone recovers later (4.0 h, not 3.6); the full build rate still finishes more builds than the reduced one (759 against 661 from 00:13 to 04:00)"},
	{Flag: "refused-calls-count",
		Evidence: "golang.org/x/time/rate's AllowN takes no token when it refuses; Compute Engine's rate quotas refill at the start of each " +
			"minute, so calls refused within a minute cost nothing after it",
		Otherwise: "an API that counts every request it sees, refused or not (a sliding window over all calls; GitHub, for one, may ban an " +
			"integration that keeps sending requests while it is rate limited): retries keep the limit exhausted",
		Decides: "whether the 2019 storm of refused calls sustains itself: with it, the storm never ends without the lowered limit, and " +
			"the lowering ends it, as the report says; without it, the storm ends by itself at about 11:14"},
}

// LookupAssumption returns the assumption of the parameter with that flag.
func LookupAssumption(flag string) (Assumption, bool) {
	for _, a := range Assumptions {
		if a.Flag == flag {
			return a, true
		}
	}
	return Assumption{}, false
}
