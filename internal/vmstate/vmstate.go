// Package vmstate names where a build VM is in its life: the states the
// cluster moves its VMs through (cluster.State is this State), and the
// series counts VMs by (series.Sample.ByState, the vms_* columns). It is
// data alone, so that the samples and their judgement can read the states
// without the model.
package vmstate

import "fmt"

// State is where a VM is in its life.
type State uint8

const (
	// Cloned: the VM exists but has never been powered on (zero uptime).
	Cloned State = iota
	// Booting: admitted and powering on; it holds cluster capacity.
	Booting
	// Running: booted and running a build.
	Running
	// Finished: its build is over and the worker has let it go; it holds its
	// capacity until the janitor destroys it. When the janitor is broken,
	// this is the leak.
	Finished
	// Orphaned: it took longer to boot than the worker's start timeout, so
	// the worker gave up on it while it was on; the janitor destroys it once
	// it is older than its cutoff.
	Orphaned
	// NeverBooted: its power-on failed. It holds no capacity but stays in the
	// inventory, and the janitor, which skips zero-uptime VMs, never
	// destroys it.
	NeverBooted
	// Count is the number of states: not a state.
	Count
)

var names = [Count]string{"cloned", "booting", "running", "finished", "orphaned", "never_booted"}

func (s State) String() string {
	if s < Count {
		return names[s]
	}
	return fmt.Sprintf("State(%d)", s)
}

// States lists every state, in order.
var States = [Count]State{Cloned, Booting, Running, Finished, Orphaned, NeverBooted}
