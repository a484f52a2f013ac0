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
	// listing sorts finished, which a pass soon empties.
	finished, parked bag

	// listings counts the listings (Walk), and VM.since says at which a VM came
	// onto parked or stranded. sinceList is the VMs given back (Unclaim)
	// since the last listing that were parked when it listed, and returns
	// counts them: see Pass.
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
// belongs on. A parked VM given back is told of (returnedSince) if the last
// listing left it out.
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

// A Pass is a janitor's pass over the cluster: what a whole listing gives,
// oldest first, as it walks it. It lists what its Listing asks for, and
// what it comes to want as it goes joins it where it has yet to come: a
// parked VM given back (Unclaim) before the pass reaches its place, which
// a whole listing had, finished and claimed, so that the pass would claim
// it there; and the never-booted VMs, once its caller wants them (the
// reaper turned on), as the listing had them. What comes before the
// VM the pass came to last, it is past already, as it would be with them
// listed. Its arrays are reused from pass to pass.
type Pass struct {
	c        *Cluster
	listed   []Info
	i        int    // the next of listed
	ahead    []Info // joined during the pass, where it has yet to come
	seen     int    // of the VMs given back since the Listing
	at       *VM    // the VM the pass came to last
	stranded bool   // the never-booted VMs are in the pass
}

// Walk begins p as a pass over what l asks for (see Pass), and returns how
// many VMs are on the cluster, all of them. It is not an API call: make
// one first (Call).
func (c *Cluster) Walk(p *Pass, l Listing) (all int) {
	listed, all := c.listing(p.listed[:0], l)
	if n := len(p.listed); len(listed) < n {
		clear(p.listed[len(listed):n]) // hold no VM the cluster may have let go
	}
	clear(p.ahead)
	*p = Pass{c: c, listed: listed, ahead: p.ahead[:0], stranded: l.Stranded}
	return all
}

// Next returns the pass's next VM, and false at its end; stranded says
// whether the caller now wants the never-booted VMs too.
func (p *Pass) Next(stranded bool) (Info, bool) {
	if n := p.c.returnedSince(); n > p.seen {
		p.join(p.c.appendReturned(nil, p.seen))
		p.seen = n
	}
	if stranded && !p.stranded {
		p.join(p.c.appendStranded(nil))
		p.stranded = true
	}
	var vm Info
	switch {
	case len(p.ahead) > 0 && (p.i == len(p.listed) || compareAge(p.ahead[0].VM, p.listed[p.i].VM) < 0):
		vm = p.ahead[0]
		p.ahead[0] = Info{} // the array is kept: hold no VM in it
		p.ahead = p.ahead[1:]
	case p.i < len(p.listed):
		vm = p.listed[p.i]
		p.i++
	default:
		return Info{}, false
	}
	p.at = vm.VM
	return vm, true
}

// join adds to ahead, and keeps oldest first, the VMs of more that come
// after the VM the pass came to last (all of them before it came to any).
func (p *Pass) join(more []Info) {
	for _, vm := range more {
		if p.at == nil || compareAge(p.at, vm.VM) < 0 {
			p.ahead = append(p.ahead, vm)
		}
	}
	slices.SortFunc(p.ahead, func(a, b Info) int { return compareAge(a.VM, b.VM) })
}

// listing appends to dst the VMs of List that l asks for, oldest first,
// and returns how many VMs are on the cluster, all of them.
func (c *Cluster) listing(dst []Info, l Listing) ([]Info, int) {
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

// returnedSince is how many VMs Unclaim has given back since the last
// listing that were parked when it listed.
func (c *Cluster) returnedSince() int { return int(c.inv.returns.Load()) }

// appendReturned appends to dst the entries of those VMs (returnedSince),
// from the n-th on, in the order given back: each finished, as it was when
// the last listing left it out.
func (c *Cluster) appendReturned(dst []Info, n int) []Info {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, vm := range c.inv.sinceList[n:] {
		dst = append(dst, entry(vm))
	}
	return dst
}

// appendStranded appends to dst the entries of the never-booted VMs that
// were so when the last listing was made, oldest first, as they were then
// (a never-booted VM changes no more).
func (c *Cluster) appendStranded(dst []Info) []Info {
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
