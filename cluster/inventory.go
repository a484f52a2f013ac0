package cluster

import (
	"math"
	"slices"
	"sync/atomic"
	"time"
)

// The inventory: every VM on the cluster is on one of four lists, by its
// state and whether it is claimed (where, the one rule). A janitor's pass
// lists the cluster again and again, and most of what is on it the pass
// would only skip: the never-booted VMs it leaves for ever, the finished
// ones an earlier pass claimed and its Cleanup pool has yet to destroy,
// the young ones still booting or running. Kept apart, they are left out
// of a Listing that has no use for them, and a listing costs what the pass
// can use.
type inventory struct {
	// active is the VMs cloned, booting, running or orphaned, and
	// stranded the never-booted VMs, each oldest first: VMs come onto them
	// in about the order of their age.
	active, stranded aged
	// finished is the finished VMs not claimed, and parked those claimed:
	// the janitor's queue of VMs to destroy, thousands while its Cleanup
	// pool catches up. VMs finish in no order of age (their builds take
	// from minutes to hours), so that these are kept in no order, and a
	// Listing sorts finished, which a pass soon empties.
	finished, parked bag

	// listings counts the Listings, and VM.since says at which a VM came
	// onto parked or stranded. sinceList is the VMs given back (Unclaim)
	// since the last Listing that were parked when it listed, and returns
	// counts them: see Cluster.Returned.
	listings  uint32
	sinceList []*VM
	returns   atomic.Int64
}

// which names one of the inventory's lists.
type which uint8

const (
	onActive which = iota
	onFinished
	onStranded
	onParked
)

var whichNames = [...]string{"active", "finished", "stranded", "parked"}

func (w which) String() string { return whichNames[w] }

// where is the list vm belongs on.
func where(vm *VM) which {
	switch {
	case vm.state == NeverBooted:
		return onStranded
	case vm.state == Finished && vm.claimed:
		return onParked
	case vm.state == Finished:
		return onFinished
	}
	return onActive
}

// aged is VMs oldest first (see compareAge), with a nil where one has
// left; holes counts those, squeezed out once they are half of it.
type aged struct {
	vms   []*VM
	holes int
}

// insert adds vm at its place by age, found from the back: a VM comes onto
// a list at about the time the VMs of its age do.
func (a *aged) insert(vm *VM, w which) {
	vm.list, vm.at = w, int32(len(a.vms))
	a.vms = append(a.vms, vm)
	for i := vm.at - 1; i >= 0; i-- {
		prev := a.vms[i]
		if prev == nil {
			continue
		}
		if compareAge(prev, vm) < 0 {
			return
		}
		// prev comes after vm: they change places, the holes between
		// them staying where they are.
		a.vms[vm.at], a.vms[i] = prev, vm
		prev.at, vm.at = vm.at, i
	}
}

// remove takes vm out, leaving a hole.
func (a *aged) remove(vm *VM) {
	a.vms[vm.at] = nil
	a.holes++
	if a.holes < 64 || 2*a.holes < len(a.vms) {
		return
	}
	kept := a.vms[:0]
	for _, v := range a.vms {
		if v != nil {
			v.at = int32(len(kept))
			kept = append(kept, v)
		}
	}
	clear(a.vms[len(kept):])
	a.vms, a.holes = kept, 0
}

// bag is VMs in no order.
type bag []*VM

// add puts vm on b, as its last.
func (b *bag) add(vm *VM, w which) {
	vm.list, vm.at = w, int32(len(*b))
	*b = append(*b, vm)
}

// remove takes vm off b: the last takes its place.
func (b *bag) remove(vm *VM) {
	s, last := *b, len(*b)-1
	s[vm.at] = s[last]
	s[vm.at].at = vm.at
	s[last] = nil
	*b = s[:last]
}

// sort puts b oldest first.
func (b bag) sort() {
	slices.SortFunc(b, compareAge)
	for i, vm := range b {
		vm.at = int32(i)
	}
}

// add puts vm, which is on no list, on the list it belongs on.
func (inv *inventory) add(vm *VM) {
	switch w := where(vm); w {
	case onActive:
		inv.active.insert(vm, w)
	case onFinished:
		inv.finished.add(vm, w)
	case onStranded:
		inv.stranded.insert(vm, w)
		vm.since = inv.listings
	case onParked:
		inv.parked.add(vm, w)
		vm.since = inv.listings
	}
}

// drop takes vm off its list.
func (inv *inventory) drop(vm *VM) {
	switch vm.list {
	case onActive:
		inv.active.remove(vm)
	case onFinished:
		inv.finished.remove(vm)
	case onStranded:
		inv.stranded.remove(vm)
	case onParked:
		inv.parked.remove(vm)
	}
}

// place moves vm, whose state or claim has changed, to the list it now
// belongs on. A parked VM given back is told of (Returned) if the last
// Listing left it out.
func (inv *inventory) place(vm *VM) {
	w := where(vm)
	if w == vm.list {
		return
	}
	if vm.list == onParked && vm.since != inv.listings {
		inv.sinceList = append(inv.sinceList, vm)
		inv.returns.Add(1)
	}
	inv.drop(vm)
	inv.add(vm)
}

// A Listing says which VMs a janitor's listing holds: a listing as vSphere
// gives it, every VM with its state as of the call, oldest first, less
// those the pass has no use for. The parked VMs (finished, and claimed by
// an earlier pass or a worker deleting its own) are always left out.
type Listing struct {
	// Before: of the VMs neither finished nor never-booted, only those
	// created before this model time are listed (AllActive for all).
	Before time.Duration
	// Stranded: the never-booted VMs are listed.
	Stranded bool
}

// AllActive is a Listing's Before that lists every VM neither finished nor
// never-booted.
const AllActive = time.Duration(math.MaxInt64)

// List is what a vSphere inventory listing returns: every VM, with its
// state as of the call, oldest first (by creation time, then job and
// attempt: an order that does not depend on how the inventory is kept, so
// that runs with one seed repeat).
func (c *Cluster) List() []Info {
	c.mu.Lock()
	defer c.mu.Unlock()
	all := slices.Concat(c.inv.finished, c.inv.parked)
	for _, a := range []*aged{&c.inv.active, &c.inv.stranded} {
		for _, vm := range a.vms {
			if vm != nil {
				all = append(all, vm)
			}
		}
	}
	slices.SortFunc(all, compareAge)
	list := make([]Info, len(all))
	for i, vm := range all {
		list[i] = entry(vm)
	}
	return list
}

// Listing appends to dst (which a caller listing again and again may
// reuse) the VMs of List that l asks for, oldest first, and returns how
// many VMs are on the cluster, all of them. It is not an API call: make
// one first (Call). The parked VMs it leaves out, a pass would skip
// (Claim refuses them), unless given back before the pass comes to their
// places: Returned and AppendReturned tell it of those; and of the
// never-booted VMs it leaves out, AppendStranded tells, if the pass comes
// to want them.
func (c *Cluster) Listing(dst []Info, l Listing) ([]Info, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	inv := &c.inv
	clear(inv.sinceList)
	inv.sinceList = inv.sinceList[:0]
	inv.returns.Store(0)
	inv.listings++

	active := inv.active.vms
	if l.Before != AllActive {
		// Oldest first: the VMs created before l.Before are a prefix.
		n := 0
		for n < len(active) && (active[n] == nil || active[n].createdAt < l.Before) {
			n++
		}
		active = active[:n]
	}
	var stranded []*VM
	if l.Stranded {
		stranded = inv.stranded.vms
	}
	inv.finished.sort()
	dst = merge(dst, active, inv.finished, stranded)
	return dst, int(c.onCluster.InUse())
}

// merge appends to dst the entries of the VMs of lists, each oldest first
// with holes, oldest first.
func merge(dst []Info, lists ...[]*VM) []Info {
	for {
		best := -1
		for i, l := range lists {
			for len(l) > 0 && l[0] == nil {
				l = l[1:]
			}
			lists[i] = l
			if len(l) > 0 && (best < 0 || compareAge(l[0], lists[best][0]) < 0) {
				best = i
			}
		}
		if best < 0 {
			return dst
		}
		dst = append(dst, entry(lists[best][0]))
		lists[best] = lists[best][1:]
	}
}

// entry is vm's entry in a listing; c.mu must be held.
func entry(vm *VM) Info {
	return Info{VM: vm, State: vm.state, CreatedAt: vm.createdAt, Uptime: vm.everBooted}
}

// Compare orders VMs as a listing does (see compareAge): negative if a
// comes before b.
func Compare(a, b *VM) int { return compareAge(a, b) }

// Returned is how many VMs Unclaim has given back since the last Listing
// that were parked when it listed. It may be read from any goroutine.
func (c *Cluster) Returned() int { return int(c.inv.returns.Load()) }

// AppendReturned appends to dst the entries of those VMs (Returned), from
// the n-th on, in the order given back: each finished, as it was when the
// last Listing left it out.
func (c *Cluster) AppendReturned(dst []Info, n int) []Info {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, vm := range c.inv.sinceList[n:] {
		dst = append(dst, entry(vm))
	}
	return dst
}

// AppendStranded appends to dst the entries of the never-booted VMs that
// were so when the last Listing was made, oldest first, as they were then
// (a never-booted VM changes no more).
func (c *Cluster) AppendStranded(dst []Info) []Info {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, vm := range c.inv.stranded.vms {
		if vm != nil && vm.since != c.inv.listings {
			dst = append(dst, entry(vm))
		}
	}
	return dst
}

// audit checks the inventory's lists: each VM on the list it belongs on,
// where it thinks it is, each list oldest first; it calls each with every
// VM on the cluster. c.mu must be held.
func (inv *inventory) audit(bad func(format string, a ...any), each func(*VM)) {
	check := func(vm *VM, w which, i int) {
		if int(vm.at) != i || vm.list != w {
			bad("%s is at %d of the %s list, and thinks it is at %d of the %s list", vm.Name(), i, w, vm.at, vm.list)
		}
		if got := where(vm); got != w {
			bad("%s is on the %s list, and belongs on the %s list", vm.Name(), w, got)
		}
		each(vm)
	}
	for _, l := range []struct {
		a *aged
		w which
	}{{&inv.active, onActive}, {&inv.stranded, onStranded}} {
		var prev *VM
		holes := 0
		for i, vm := range l.a.vms {
			if vm == nil {
				holes++
				continue
			}
			if prev != nil && compareAge(prev, vm) >= 0 {
				bad("%s is listed after %s, which is younger", vm.Name(), prev.Name())
			}
			prev = vm
			check(vm, l.w, i)
		}
		if holes != l.a.holes {
			bad("%d holes in the %s list, counted %d", holes, l.w, l.a.holes)
		}
	}
	for i, vm := range inv.finished {
		check(vm, onFinished, i)
	}
	for i, vm := range inv.parked {
		check(vm, onParked, i)
	}
}
