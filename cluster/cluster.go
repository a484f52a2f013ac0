// Package cluster simulates the vSphere cluster that the build VMs live on:
// its inventory of VMs, the clone, power-on and destroy calls and how long
// they take, and the admission of powered-on VMs through the capacity gauge.
package cluster

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"vmstorm/capacity"
	"vmstorm/internal/dist"
	"vmstorm/internal/sim"
	"vmstorm/internal/vmstate"
)

// State is where a VM is in its life (vmstate says what each state means).
type State = vmstate.State

// The states, in order (vmstate.States).
const (
	Cloned      = vmstate.Cloned
	Booting     = vmstate.Booting
	Running     = vmstate.Running
	Finished    = vmstate.Finished
	Orphaned    = vmstate.Orphaned
	NeverBooted = vmstate.NeverBooted
	numStates   = vmstate.Count
)

// States lists every state, in order.
var States = vmstate.States

// Errors of a failed call. Each makes the worker requeue the job.
var (
	// ErrNoCapacity: the cluster holds as many VMs as it can (in 2015: it
	// could not satisfy the VMs' resource reservations; on a cloud: the
	// instance quota).
	ErrNoCapacity = errors.New("cluster cannot satisfy the VM's resource reservation")
	// ErrNoCPU: powering on one more VM would exceed the CPU that the
	// reservations allow (the second 2015 failure).
	ErrNoCPU        = errors.New("insufficient CPU resources to satisfy the VM's CPU reservation")
	ErrStartTimeout = errors.New("VM did not start within the start timeout")
	// ErrRateLimited: the cloud API refused the call (rate limit exceeded).
	ErrRateLimited = errors.New("API rate limit exceeded")
	// ErrDestroyed: the VM was destroyed (by an aggressive janitor) before
	// or while it powered on.
	ErrDestroyed = errors.New("VM was destroyed before it booted")
	// ErrStopped: the run stopped before the call came back.
	ErrStopped = errors.New("the run stopped")
)

// MinCallTime is the least model time a refused call may take to come
// back. A worker that retries refused calls must spend model time doing
// it, as a real one does; with no cost, a retry loop would spin without
// model time passing.
const MinCallTime = time.Millisecond

// Config is the cluster's behaviour.
type Config struct {
	// OnRoom, if not nil, is called whenever a destroyed VM gives its slot
	// back (capacity-aware dispatch waits for it): a hook, as
	// net/http.Server's ConnState is one.
	OnRoom                  func()
	Clone, PowerOn, Destroy dist.Latency
	// StartTimeout is how long a worker waits for a VM to boot before it
	// gives up and requeues the job (4 minutes in travis-ci/worker).
	StartTimeout time.Duration
	// CPUVMs is how many VMs the CPU reservations let the cluster run at
	// once: a second ceiling, below which booted VMs must stay while they
	// are on. 0 means no such ceiling.
	CPUVMs int64
	// APIRate is the cloud API's own limit on calls per model second, and
	// APIBurst the calls it allows at once; a call over it fails with
	// ErrRateLimited. 0 means no limit.
	APIRate  float64
	APIBurst int
	// ClientRate is the clients' own limit (self-imposed) on API calls per
	// model second: over it, a call waits rather than fails. 0 means none.
	ClientRate float64
	// RejectTime is how long a refused call takes to come back: an API call
	// over the rate limit, or a power-on that admission control refuses (on
	// vSphere, a task that runs and then fails). It is at least MinCallTime.
	RejectTime time.Duration
	Seed       uint64

	// The model's assumptions (config.Assumptions says why each default).
	//
	// NeverBootedHoldsSlot: a VM whose power-on failed holds one of the
	// cluster's slots until it is destroyed, as a finished VM does, even
	// above the capacity (it was refused because the cluster was full);
	// otherwise it holds none.
	NeverBootedHoldsSlot bool
	// RefusedStartHoldsCPU: a power-on that admission control refuses
	// holds a CPU reservation, above the ceiling if need be, until its
	// refusal comes back (RejectTime); otherwise a refusal holds no CPU.
	RefusedStartHoldsCPU bool
	// RefusedCallsCount: a call the cloud API refuses still takes a token
	// from its limit, the bucket owing at most one burst; otherwise a
	// refused call costs the limit nothing.
	RefusedCallsCount bool
}

// VM is one build VM. Its fields are the cluster's to change.
type VM struct {
	JobID   uint64
	Attempt int

	createdAt, admittedAt time.Duration
	boot, destroy         time.Duration // drawn at clone time from the VM's own stream

	// Guarded by Cluster.mu, and packed small: with them a VM fits the
	// allocator's 64-byte class, one per clone of a storm.
	at         int32  // its index in the inventory's list it is on
	since      uint32 // the listings made when it came onto that list
	list       which  // which list that is
	state      State
	claimed    bool // being destroyed (by the janitor, or by its worker)
	destroyed  bool
	holdsSlot  bool
	holdsCPU   bool
	everBooted bool
}

// Name is the VM's name, as travis-ci/worker named them: the job and the
// attempt.
func (vm *VM) Name() string { return fmt.Sprintf("travis-job-%d-%d", vm.JobID, vm.Attempt) }

// String is the VM's name.
func (vm *VM) String() string { return vm.Name() }

// Info is what listing the cluster tells about one VM.
type Info struct {
	VM        *VM
	State     State
	CreatedAt time.Duration
	// Uptime is whether the VM has ever been powered on.
	Uptime bool
}

// Cluster is the simulated vSphere cluster. Its books balance at every
// moment: every change of a VM's state, and every slot and CPU reservation
// taken or given back, happens under one lock (Audit checks them).
type Cluster struct {
	cfg   Config
	draw  struct{ clone, powerOn, destroy dist.Sampler } // cfg's latencies
	clock sim.Clock
	gauge *capacity.Gauge
	cpu   *capacity.Gauge
	api   *api

	mu sync.Mutex
	// inv is the inventory: every VM on the cluster, on the list its state
	// and claim say (inventory.go).
	inv inventory

	// Written under mu, read by anyone.
	byState [numStates]atomic.Int64
	// onCluster counts every VM on the cluster, with its peak: a gauge
	// with no limit.
	onCluster   *capacity.Gauge
	cloned      atomic.Int64
	admitted    atomic.Int64
	destroyed   atomic.Int64
	released    atomic.Int64
	lifetimeSum atomic.Int64 // model ns from admission to destruction, over released VMs
	filledAt    atomic.Int64 // model ns when the gauge first reached capacity, or -1
	rateLimited atomic.Int64 // API calls refused
	// heldByNeverBooted counts the never-booted VMs holding a slot
	// (NeverBootedHoldsSlot), and refusedCPU the refused power-ons holding
	// CPU while their refusal comes back (RefusedStartHoldsCPU).
	heldByNeverBooted atomic.Int64
	refusedCPU        atomic.Int64
}

// New returns an empty cluster whose powered-on VMs are counted by gauge.
func New(cfg Config, clock sim.Clock, gauge *capacity.Gauge) *Cluster {
	if cfg.RejectTime < MinCallTime {
		panic(fmt.Sprintf("cluster: RejectTime %v is under MinCallTime %v", cfg.RejectTime, MinCallTime))
	}
	c := &Cluster{cfg: cfg, clock: clock, gauge: gauge}
	c.draw.clone, c.draw.powerOn, c.draw.destroy = cfg.Clone.Sampler(), cfg.PowerOn.Sampler(), cfg.Destroy.Sampler()
	c.cpu = capacity.New(cpuLimit(cfg.CPUVMs))
	c.onCluster = capacity.New(math.MaxInt64)
	c.api = newAPI(cfg.APIRate, cfg.APIBurst, cfg.ClientRate, cfg.RefusedCallsCount)
	c.filledAt.Store(-1)
	return c
}

func cpuLimit(n int64) int64 {
	if n <= 0 {
		return math.MaxInt64
	}
	return n
}

// SetCPUVMs changes the CPU ceiling, as a change of the reservation
// configuration does; 0 removes it.
func (c *Cluster) SetCPUVMs(n int64) { c.cpu.SetCapacity(cpuLimit(n)) }

// SetClientRate changes the clients' own API rate limit; 0 removes it.
func (c *Cluster) SetClientRate(perSecond float64) { c.api.setClientRate(c.clock.Now(), perSecond) }

// Call is one cloud API call: it waits for the clients' own limit, then
// fails if the cloud's limit is exceeded (ErrRateLimited, once RejectTime
// has passed), or if the run stops first (ErrStopped). The cluster's calls
// make one each; a caller makes one before a read that stands for a call,
// such as a Listing.
func (c *Cluster) Call(ctx context.Context) error {
	if wait := c.api.clientWait(c.clock.Now()); wait > 0 && !sim.Sleep(ctx, wait) {
		return ErrStopped
	}
	if !c.api.allow(c.clock.Now()) {
		c.rateLimited.Add(1)
		return c.reject(ctx, ErrRateLimited)
	}
	return nil
}

// reject waits for a refusal to come back, then returns it (or ErrStopped).
func (c *Cluster) reject(ctx context.Context, err error) error {
	if !sim.Sleep(ctx, c.cfg.RejectTime) {
		return ErrStopped
	}
	return err
}

// FilledAt is the model time at which the cluster first became full, and
// false if it never has.
func (c *Cluster) FilledAt() (time.Duration, bool) {
	t := c.filledAt.Load()
	return time.Duration(t), t >= 0
}

// Gauge is the cluster's capacity gauge.
func (c *Cluster) Gauge() *capacity.Gauge { return c.gauge }

// Clone makes a new VM for a job's attempt from the build image. It fails,
// having made nothing, if the API refuses the call or the run stops first.
func (c *Cluster) Clone(ctx context.Context, jobID uint64, attempt int) (*VM, error) {
	r := dist.VMDraws.Stream(c.cfg.Seed, jobID, uint64(attempt))
	cloneTime := c.draw.clone.Draw(r)
	vm := &VM{
		JobID:   jobID,
		Attempt: attempt,
		boot:    c.draw.powerOn.Draw(r),
		destroy: c.draw.destroy.Draw(r),
	}
	if err := c.Call(ctx); err != nil {
		return nil, err
	}
	if !sim.Sleep(ctx, cloneTime) {
		return nil, ErrStopped
	}
	vm.createdAt = c.clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	vm.state = Cloned
	c.inv.add(vm)
	c.byState[Cloned].Add(1)
	c.cloned.Add(1)
	c.onCluster.TryAcquire() // never refused: it has no limit
	return vm, nil
}

// PowerOn powers vm on. Admission control comes first: if the cluster is
// full (ErrNoCapacity) or the CPU reservations allow no more VMs on
// (ErrNoCPU) the call fails after RejectTime and leaves vm behind, never
// booted. Otherwise vm takes a slot and CPU and boots; if booting takes
// longer than the start timeout the call gives up with ErrStartTimeout and
// vm is left on, orphaned. A vm destroyed before or while it boots fails
// with ErrDestroyed. If the run stops first, PowerOn returns ErrStopped and
// leaves vm as it is.
func (c *Cluster) PowerOn(ctx context.Context, vm *VM) error {
	if err := c.Call(ctx); err != nil {
		if err != ErrStopped {
			c.neverBoot(vm)
		}
		return err
	}
	if err := c.admit(vm); err != nil {
		if errors.Is(err, ErrDestroyed) {
			return err
		}
		if err := c.refuse(ctx, err); err == ErrStopped {
			return err
		}
		c.neverBoot(vm)
		return err
	}

	boot, err := vm.boot, error(nil)
	if c.cfg.StartTimeout > 0 && boot > c.cfg.StartTimeout {
		boot, err = c.cfg.StartTimeout, ErrStartTimeout
	}
	if !sim.Sleep(ctx, boot) {
		return ErrStopped
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case vm.destroyed:
		return ErrDestroyed
	case err != nil:
		c.setState(vm, Orphaned)
		return err
	}
	c.setState(vm, Running)
	return nil
}

// admit is admission control: vm takes a slot and a CPU reservation, or
// the call is refused with ErrNoCapacity or ErrNoCPU, or, if an aggressive
// janitor destroyed vm meanwhile, with ErrDestroyed.
func (c *Cluster) admit(vm *VM) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if vm.destroyed {
		return ErrDestroyed
	}
	n, ok := c.gauge.TryAcquire()
	if !ok {
		return ErrNoCapacity
	}
	if _, ok := c.cpu.TryAcquire(); !ok {
		c.gauge.Release()
		return ErrNoCPU
	}
	vm.admittedAt = c.clock.Now()
	c.admitted.Add(1)
	if n >= c.gauge.Capacity() {
		c.filledAt.CompareAndSwap(-1, int64(vm.admittedAt))
	}
	vm.holdsSlot, vm.holdsCPU, vm.everBooted = true, true, true
	c.setState(vm, Booting)
	return nil
}

// refuse is a power-on that admission control refused: it waits for the
// refusal to come back, holding CPU meanwhile if RefusedStartHoldsCPU.
func (c *Cluster) refuse(ctx context.Context, err error) error {
	if !c.cfg.RefusedStartHoldsCPU {
		return c.reject(ctx, err)
	}
	c.mu.Lock()
	c.cpu.Acquire()
	c.refusedCPU.Add(1)
	c.mu.Unlock()
	err = c.reject(ctx, err)
	c.mu.Lock()
	c.cpu.Release()
	c.refusedCPU.Add(-1)
	c.mu.Unlock()
	return err
}

// neverBoot leaves vm, whose power-on failed, never booted, unless it has
// been destroyed meanwhile. With NeverBootedHoldsSlot it takes a slot, even
// above the capacity, and holds it until it is destroyed.
func (c *Cluster) neverBoot(vm *VM) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if vm.destroyed {
		return
	}
	c.setState(vm, NeverBooted)
	if c.cfg.NeverBootedHoldsSlot && !vm.holdsSlot {
		vm.holdsSlot = true
		c.heldByNeverBooted.Add(1)
		if n := c.gauge.Acquire(); n >= c.gauge.Capacity() {
			c.filledAt.CompareAndSwap(-1, int64(c.clock.Now()))
		}
	}
}

// Orphan marks a running vm as abandoned by its worker (the worker crashed,
// or the build stalled): the VM stays on, holding its slot and its CPU,
// until the janitor's age cutoff destroys it. It returns false if vm was
// already destroyed.
func (c *Cluster) Orphan(vm *VM) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if vm.destroyed {
		return false
	}
	c.setState(vm, Orphaned)
	return true
}

// PowerOff is the worker letting vm go when its build ends: vm is powered
// off, which frees its CPU, and left for the janitor, Finished. It keeps
// its slot of capacity until it is destroyed (the gauge's Release frees
// that). It returns false if vm was already destroyed under the build.
func (c *Cluster) PowerOff(vm *VM) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if vm.destroyed {
		return false
	}
	c.setState(vm, Finished)
	c.releaseCPU(vm)
	return true
}

// releaseCPU gives back vm's CPU reservation, if it holds one; c.mu must be
// held.
func (c *Cluster) releaseCPU(vm *VM) {
	if vm.holdsCPU {
		vm.holdsCPU = false
		c.cpu.Release()
	}
}

// compareAge orders VMs oldest first: by creation time, then job, then
// attempt.
func compareAge(a, b *VM) int {
	// Not cmp.Or, which would compare all three every time: the creation
	// times differ nearly always.
	if c := cmp.Compare(a.createdAt, b.createdAt); c != 0 {
		return c
	}
	if c := cmp.Compare(a.JobID, b.JobID); c != 0 {
		return c
	}
	return cmp.Compare(a.Attempt, b.Attempt)
}

// Claim marks vm as being destroyed, so that one janitor pass does not pick
// a VM that an earlier pass is still destroying. It returns false if vm is
// already claimed or gone. A finished VM claimed is parked (see
// inventory).
func (c *Cluster) Claim(vm *VM) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if vm.claimed || vm.destroyed {
		return false
	}
	vm.claimed = true
	c.inv.place(vm)
	return true
}

// Discard removes a vm that never booted, as a cloud's failed instance
// insert leaves nothing behind: no API call, no wait. It returns false if vm
// booted, is being destroyed, or is already gone.
func (c *Cluster) Discard(vm *VM) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if vm.destroyed || vm.claimed || vm.everBooted {
		return false
	}
	c.remove(vm)
	return true
}

// Unclaim gives a claimed vm back, when destroying it failed, so that a
// later pass may try again.
func (c *Cluster) Unclaim(vm *VM) {
	c.mu.Lock()
	defer c.mu.Unlock()
	vm.claimed = false
	if !vm.destroyed {
		c.inv.place(vm)
	}
}

// Destroy deletes a claimed vm, taking as long as deleting it takes, and
// gives its slot back. It fails if the API refuses the call (vm stays
// claimed: Unclaim it to retry) or the run stops first (ErrStopped).
func (c *Cluster) Destroy(ctx context.Context, vm *VM) error {
	if err := c.Call(ctx); err != nil {
		return err
	}
	if !sim.Sleep(ctx, vm.destroy) {
		return ErrStopped
	}
	c.mu.Lock()
	freed := vm.holdsSlot
	c.remove(vm)
	c.mu.Unlock()
	if freed && c.cfg.OnRoom != nil {
		c.cfg.OnRoom()
	}
	return nil
}

// remove takes vm off the cluster, giving back what it holds; c.mu must be
// held.
func (c *Cluster) remove(vm *VM) {
	c.inv.drop(vm)
	c.byState[vm.state].Add(-1)
	c.releaseCPU(vm)
	if vm.holdsSlot {
		vm.holdsSlot = false
		c.gauge.Release()
		if vm.everBooted {
			c.released.Add(1)
			c.lifetimeSum.Add(int64(c.clock.Now() - vm.admittedAt))
		} else {
			c.heldByNeverBooted.Add(-1)
		}
	}
	vm.destroyed = true
	c.destroyed.Add(1)
	c.onCluster.Release()
}

// setState moves vm, which is on the cluster, to s; c.mu must be held.
func (c *Cluster) setState(vm *VM, s State) {
	c.byState[vm.state].Add(-1)
	vm.state = s
	c.byState[s].Add(1)
	c.inv.place(vm)
}

// Audit checks the cluster's books against its inventory: every VM in
// exactly one state and counted there, the gauge equal to the VMs holding
// a slot and never above capacity, the CPU gauge equal to the VMs holding a
// reservation, nothing negative. It returns every discrepancy it finds.
func (c *Cluster) Audit() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var byState [numStates]int64
	var slots, admittedSlots, neverBootedSlots, cpus int64
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	vms := 0
	c.inv.audit(bad, func(vm *VM) {
		vms++
		byState[vm.state]++
		if vm.holdsSlot {
			slots++
			if vm.everBooted {
				admittedSlots++
			} else {
				neverBootedSlots++
			}
		}
		if vm.holdsSlot && !vm.everBooted && (!c.cfg.NeverBootedHoldsSlot || vm.state != NeverBooted) {
			bad("%s holds a slot it was not admitted to", vm.Name())
		}
		if vm.holdsCPU {
			cpus++
		}
		if vm.destroyed {
			bad("%s is destroyed but still in the inventory", vm.Name())
		}
		if vm.holdsCPU && !vm.holdsSlot {
			bad("%s holds CPU without a slot", vm.Name())
		}
	})
	for s, n := range byState {
		if got := c.byState[s].Load(); got != n {
			bad("%d VMs %s, counted %d", n, State(s), got)
		}
	}

	if n, got := int64(vms), c.onCluster.InUse(); n != got {
		bad("%d VMs in the inventory, counted %d", n, got)
	}
	if got := c.gauge.InUse(); got != slots {
		bad("%d VMs hold a slot, the gauge says %d", slots, got)
	}
	if got := c.heldByNeverBooted.Load(); got != neverBootedSlots {
		bad("%d never-booted VMs hold a slot, counted %d", neverBootedSlots, got)
	}
	if limit := c.gauge.Capacity(); admittedSlots > limit {
		// Only admission is bounded: never-booted VMs that hold a slot
		// (NeverBootedHoldsSlot) may take the count above capacity.
		bad("%d admitted VMs hold a slot, above capacity %d", admittedSlots, limit)
	}
	if got, refused := c.cpu.InUse(), c.refusedCPU.Load(); got != cpus+refused {
		bad("%d VMs hold CPU and %d refused power-ons do, the CPU gauge says %d", cpus, refused, got)
	}
	if c.cloned.Load()-c.destroyed.Load() != int64(vms) {
		bad("%d cloned - %d destroyed != %d VMs", c.cloned.Load(), c.destroyed.Load(), vms)
	}
	if len(problems) > 0 {
		return errors.New("cluster: the books do not balance: " + strings.Join(problems, "; "))
	}
	return nil
}

// Stats is a consistent-enough snapshot of the cluster's counters: each is
// read atomically, but not all at one instant.
type Stats struct {
	VMs          int64 // true VM count: every VM in the inventory
	PeakVMs      int64
	InUse        int64 // VMs holding capacity (the gauge)
	Capacity     int64
	PeakInUse    int64
	ByState      [numStates]int64
	Cloned       int64
	Admitted     int64 // powered on: took a slot
	Destroyed    int64
	Released     int64         // destroyed VMs that were admitted (held a slot from power-on)
	MeanSlotHeld time.Duration // mean time from admission to destruction
	// HeldByNeverBooted is the slots of InUse that never-booted VMs hold
	// (assumption NeverBootedHoldsSlot; 0 otherwise): InUse is Admitted -
	// Released + HeldByNeverBooted.
	HeldByNeverBooted int64
	CPUInUse          int64 // VMs on and holding a CPU reservation
	CPUCapacity       int64 // the CPU ceiling; 0 if none
	PeakCPU           int64
	RateLimited       int64 // API calls refused by the cloud's rate limit
}

// VMs is how many VMs are on the cluster, whatever their state.
func (c *Cluster) VMs() int64 { return c.onCluster.InUse() }

// Stats reads the cluster's counters.
func (c *Cluster) Stats() Stats {
	s := Stats{
		VMs:       c.onCluster.InUse(),
		PeakVMs:   c.onCluster.Peak(),
		InUse:     c.gauge.InUse(),
		Capacity:  c.gauge.Capacity(),
		PeakInUse: c.gauge.Peak(),
		Cloned:    c.cloned.Load(),
		Admitted:  c.admitted.Load(),
		Destroyed: c.destroyed.Load(),
		Released:  c.released.Load(),

		HeldByNeverBooted: c.heldByNeverBooted.Load(),
	}
	for i := range s.ByState {
		s.ByState[i] = c.byState[i].Load()
	}
	s.CPUInUse, s.PeakCPU, s.RateLimited = c.cpu.InUse(), c.cpu.Peak(), c.rateLimited.Load()
	if limit := c.cpu.Capacity(); limit != math.MaxInt64 {
		s.CPUCapacity = limit
	}
	if s.Released > 0 {
		s.MeanSlotHeld = time.Duration(c.lifetimeSum.Load() / s.Released)
	}
	return s
}
