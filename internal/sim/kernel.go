// Package sim is the model's runtime: a small discrete-event kernel whose
// processes are real goroutines. It keeps the model's time, and every point
// where a model goroutine waits (a sleep, a channel hand-off, a pool's gate,
// a wake-up call, an owner waiting for its goroutines) is one of its
// primitives, so that the kernel always knows which goroutines can run.
//
// # How time passes
//
// Model time is the kernel's own. It moves only when every model goroutine
// is blocked in one of the kernel's waits, and then straight to the earliest
// wake-up that is due: hours of model time pass in the time it takes to run
// what happens in them. Nothing in the model reads the wall clock.
//
// A kernel runs in one of three modes:
//
//   - Serial: one model goroutine runs at a time. When it blocks, the kernel
//     resumes the next goroutine that can run, in the order in which they
//     became able to (their wake-ups are ordered by model time, then by a
//     sequence number given when the wait began). Each goroutine is a
//     coroutine (iter.Pull) that the goroutine calling Run resumes in turn:
//     a hand-off is two coroutine switches on one thread, with no trip
//     through Go's scheduler and no idle thread woken to look for work.
//     With the seeded streams of internal/dist, a run is a function of its
//     configuration and seed: the same, event for event, at any speed and
//     under any load.
//   - Parallel: model goroutines that can run all run at once, on every core;
//     time still moves only when all of them are blocked, as under
//     testing/synctest. Runs repeat only in distribution, but the race
//     detector sees real concurrency on everything the goroutines share.
//   - Wall: model time is the wall clock times the speed, and waits use real
//     timers: the way the model ran before the kernel, kept so that tests can
//     run the same model under testing/synctest's fake clock and compare.
//
// A speed paces Serial and Parallel runs: model time then runs at most that
// many model seconds per wall second. When the machine cannot keep up, model
// time lags behind the pace; what happens in the model does not change, and
// Lag reports by how much. Speed 0 (Max) runs as fast as the machine allows.
//
// # Processes and waits
//
// A model goroutine is a process: it is started with Kernel.Go or Group.Go
// and its context carries it, so the package's waits (Sleep, SleepUntil,
// SleepOrWake, Chan.Send, Chan.Recv, Gate.Wait, Group.Wait) find it there.
// A wait called with a context that carries no process panics: a goroutine
// the kernel does not know about could run while it thinks all are blocked.
//
// Stop ends a run: every wait returns false from then on, each process
// returns, and Run returns once all have. Run stops the kernel when its
// context is done, and when model time reaches the horizon.
package sim

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// Mode is how a kernel runs its processes: see the package documentation.
type Mode uint8

const (
	Serial Mode = iota
	Parallel
	Wall
)

var modeNames = [...]string{"serial", "parallel", "wall"}

func (m Mode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return fmt.Sprintf("Mode(%d)", m)
}

// Max is the speed of a run that is not paced: as fast as the machine allows.
const Max = 0

// ErrHorizon is the cause of a run stopped because model time reached the
// horizon, and ErrIdle of one in which every process was blocked with no
// wake-up to come.
var (
	ErrHorizon = errors.New("model time reached its end")
	ErrIdle    = errors.New("every model goroutine is blocked with nothing left to wake it")
)

// Options configure a kernel.
type Options struct {
	Mode Mode
	// Speed is model seconds per wall second: a pace for Serial and
	// Parallel runs (Max, 0, for none) and the clock's rate in Wall mode,
	// where it must be above 0.
	Speed float64
	// Epoch is the calendar time of model time zero; the zero Time means the
	// model has no calendar.
	Epoch time.Time
	// Horizon, if above 0, is the model time at which the run stops: every
	// wake-up due at or before it happens, then the kernel stops with
	// ErrHorizon and model time reads Horizon.
	Horizon time.Duration
}

// Clock is what the model reads of time: the model time now, and the
// calendar time of a model time. A Kernel is one.
type Clock interface {
	Now() time.Duration
	Calendar(t time.Duration) time.Time
}

// Kernel is one run's model time and processes. Make one with New, start its
// processes with Go, then call Run.
type Kernel struct {
	mode    Mode
	speed   float64
	epoch   time.Time
	horizon time.Duration

	now    atomic.Int64          // model ns (Serial, Parallel)
	events atomic.Int64          // wake-ups: processes resumed
	cause  atomic.Pointer[error] // why the run stopped, set by the first Stop
	lag    atomic.Int64          // the most model time has lagged its pace, in ns
	stopCh chan struct{}         // closed by the first Stop

	// The model's state. In Parallel and Wall modes mu guards it. In Serial
	// mode only the model touches it (Run's goroutine and the process it
	// resumes, one at a time, each coroutine switch ordering what one did
	// before what the next does), so that a call into the kernel takes no
	// lock; Stop, which any goroutine may call, only records its cause,
	// which the model's next call into the kernel acts on (see lock).
	mu        sync.Mutex
	seq       uint64      // orders wake-ups at one model time
	timers    timerHeap   // processes with a deadline (Serial, Parallel)
	ready     fifo[*proc] // processes that can run, in order (Serial)
	pass      *proc       // the process that one blocking chose to run next (Serial)
	procs     []*proc     // live processes, for Stop
	pending   []*proc     // started before Run (Parallel, Wall)
	running   int         // processes not blocked (Parallel)
	started   bool
	stopped   bool          // the stop has been acted on: every wait woken
	done      chan struct{} // closed when the last process returns
	wallStart time.Time

	ended sync.WaitGroup // the goroutines that finish a Goexit (Serial)
	pool  *Pool          // where Serial processes' goroutines come from; nil for new ones
}

// New returns a kernel with no processes, at model time zero.
func New(o Options) *Kernel {
	if o.Mode > Wall {
		panic(fmt.Sprintf("sim: unknown mode %d", o.Mode))
	}
	if !(o.Speed >= 0) || (o.Mode == Wall && o.Speed <= 0) {
		panic(fmt.Sprintf("sim: speed %v in %v mode", o.Speed, o.Mode))
	}
	return &Kernel{
		mode: o.Mode, speed: o.Speed, epoch: o.Epoch, horizon: o.Horizon,
		stopCh: make(chan struct{}), done: make(chan struct{}),
	}
}

// Reuse makes a Serial kernel run its processes on goroutines that pl
// keeps, and give each back to pl when its process returns. Call it before
// Go; it has no effect in the other modes.
func (k *Kernel) Reuse(pl *Pool) { k.pool = pl }

// Mode is the kernel's mode.
func (k *Kernel) Mode() Mode { return k.mode }

// Speed is the pace, in model seconds per wall second (Max for none).
func (k *Kernel) Speed() float64 { return k.speed }

// Epoch is the calendar time of model time zero (zero if none).
func (k *Kernel) Epoch() time.Time { return k.epoch }

// Now is the model time. It may be read from any goroutine.
func (k *Kernel) Now() time.Duration {
	if k.mode != Wall {
		return time.Duration(k.now.Load())
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.nowLocked()
}

// lock begins a call into the kernel by the model: in Parallel and Wall
// modes it takes mu; in Serial mode it acts on a Stop recorded since the
// model's last call, which it does before anything else, as if the stop
// had been made between the two calls.
func (k *Kernel) lock() {
	if k.mode != Serial {
		k.mu.Lock()
	} else if !k.stopped && k.cause.Load() != nil {
		k.stopLocked(nil) // the recorded cause stands
	}
}

// unlock ends a call into the kernel that lock began.
func (k *Kernel) unlock() {
	if k.mode != Serial {
		k.mu.Unlock()
	}
}

// nowLocked is Now with k.mu held.
func (k *Kernel) nowLocked() time.Duration {
	if k.mode != Wall {
		return time.Duration(k.now.Load())
	}
	if !k.started {
		return 0
	}
	return time.Duration(float64(time.Since(k.wallStart)) * k.speed)
}

// Calendar is the calendar time of model time t, or the zero Time if the
// model has no epoch.
func (k *Kernel) Calendar(t time.Duration) time.Time { return calendar(k.epoch, t) }

// calendar is the calendar time of model time t from epoch, or the zero
// Time if there is no epoch.
func calendar(epoch time.Time, t time.Duration) time.Time {
	if epoch.IsZero() {
		return time.Time{}
	}
	return epoch.Add(t)
}

// Events is how many times a process has been resumed so far: the kernel's
// unit of work, for events per second.
func (k *Kernel) Events() int64 { return k.events.Load() }

// Lag is the most that model time fell behind its pace during the run: zero
// when the machine kept up, or when the run is not paced. It does not
// change what happens in the model, only when it is seen.
func (k *Kernel) Lag() time.Duration { return time.Duration(k.lag.Load()) }

// Stopped reports whether the kernel has been stopped. It may be called
// from any goroutine.
func (k *Kernel) Stopped() bool { return k.cause.Load() != nil }

// Cause is why the kernel stopped: the error given to Stop, ErrHorizon,
// ErrIdle, or the cause of Run's context. It is nil while the kernel runs.
// It may be called from any goroutine.
func (k *Kernel) Cause() error {
	if c := k.cause.Load(); c != nil {
		return *c
	}
	return nil
}

// wakeReason is why a blocked process was resumed.
type wakeReason uint8

const (
	timedOut  wakeReason = iota // its deadline came
	delivered                   // what it waited for happened (a value, a gate, its group)
	signalled                   // the Signal it waited on was notified
	stopped                     // the kernel stopped
)

// proc is one model goroutine. The fields after idx are guarded by k.mu.
type proc struct {
	k      *Kernel
	c      *carrier      // Serial: the coroutine it runs on
	exited bool          // Serial: ended by runtime.Goexit; owned by the coroutine, then the loop
	wake   chan struct{} // Parallel, Wall: a token resumes the goroutine
	idx    int           // in k.procs

	waiting       bool   // blocked in a wait
	interruptible bool   // Stop ends the wait (all but Group.Wait)
	gen           uint64 // counts waits; a queue entry of an older wait is stale
	reason        wakeReason
	at            time.Duration // deadline, if timer >= 0 (or wallTimer)
	seq           uint64
	timer         int  // index in k.timers, or -1
	hasDeadline   bool // Wall mode: wait on a real timer
	sig           *Signal
	slot          int  // a value's slot in a channel, given or taken (Chan.put)
	ok            bool // with slot: false for a closed channel
	group         *Group
}

// procKey is the context key of a process: a pointer, which a context's
// Value compares without a call (a struct{} key is compared by the
// runtime's efaceeq, on every wait).
var procKey = new(struct{ _ byte })

// procOf returns the process that ctx carries.
func procOf(ctx context.Context) *proc {
	p, ok := ctx.Value(procKey).(*proc)
	if !ok {
		panic("sim: a wait outside a model process: start the goroutine with Kernel.Go or Group.Go")
	}
	return p
}

// Stopped reports whether the kernel of the process that ctx carries has
// been stopped.
func Stopped(ctx context.Context) bool { return procOf(ctx).k.Stopped() }

// Go starts f as a process of the kernel, with a context derived from ctx
// that carries the process. Call it before Run, or from a process.
func (k *Kernel) Go(ctx context.Context, f func(ctx context.Context)) {
	k.lock()
	defer k.unlock()
	k.goLocked(ctx, f, nil)
}

func (k *Kernel) goLocked(ctx context.Context, f func(ctx context.Context), g *Group) {
	p := &proc{k: k, timer: -1, group: g, idx: len(k.procs)}
	k.procs = append(k.procs, p)
	pctx := context.WithValue(ctx, procKey, p)
	if k.mode == Serial {
		p.c = k.pool.get()
		p.c.run = func() { k.body(p, f, pctx) }
		k.ready.push(p)
		return
	}
	p.wake = make(chan struct{}, 1)
	go func() {
		<-p.wake
		// Deferred, so that a process ended by runtime.Goexit (a test's
		// FailNow) still hands the run on.
		defer k.exit(p)
		f(pctx)
	}()
	switch {
	case !k.started:
		k.pending = append(k.pending, p)
	default:
		k.running++
		p.wake <- struct{}{}
	}
}

// Run runs the processes until every one has returned, and returns why the
// kernel stopped (nil if the processes all returned by themselves). It
// stops the kernel when ctx is done, with ctx's cause. Run may be called
// once.
func (k *Kernel) Run(ctx context.Context) error {
	k.mu.Lock() // for Now in Wall mode, and a second Run
	if k.started {
		k.mu.Unlock()
		panic("sim: Run called twice")
	}
	k.started = true
	k.wallStart = time.Now()
	unwatch := context.AfterFunc(ctx, func() { k.Stop(context.Cause(ctx)) })
	defer unwatch()
	if k.mode == Wall && k.horizon > 0 {
		t := time.AfterFunc(k.wall(k.horizon), func() { k.Stop(ErrHorizon) })
		defer t.Stop()
	}
	if len(k.procs) == 0 {
		close(k.done)
		k.mu.Unlock()
	} else if k.mode == Serial {
		k.mu.Unlock()
		k.loop()
		k.ended.Wait()
	} else {
		k.running = len(k.pending)
		for _, p := range k.pending {
			p.wake <- struct{}{}
		}
		k.pending = nil
		k.mu.Unlock()
	}
	<-k.done
	return k.Cause()
}

// Stop stops the run with the given cause (the first cause given is kept):
// every process blocked in a wait is resumed, and every wait from now on
// returns false at once. It may be called from any goroutine. (In Serial
// mode it records the cause, and the model acts on it at its next call
// into the kernel: from a process, that is before anything else the
// kernel does; from another goroutine, between two of the model's calls.)
func (k *Kernel) Stop(cause error) {
	if k.mode == Serial {
		k.record(cause)
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.stopLocked(cause)
}

// record keeps cause as why the run stopped, unless a cause is kept
// already.
func (k *Kernel) record(cause error) {
	if k.cause.CompareAndSwap(nil, &cause) {
		close(k.stopCh)
	}
}

// stopLocked records cause (unless one is) and acts on the stop: every
// process waiting is resumed.
func (k *Kernel) stopLocked(cause error) {
	k.record(cause)
	if k.stopped {
		return
	}
	k.stopped = true
	for _, p := range k.procs {
		if p.waiting && p.interruptible {
			k.wakeLocked(p, stopped)
		}
	}
}

// exit is a process returning.
func (k *Kernel) exit(p *proc) {
	k.lock()
	last := len(k.procs) - 1
	k.procs[p.idx] = k.procs[last]
	k.procs[p.idx].idx = p.idx
	k.procs[last] = nil
	k.procs = k.procs[:last]
	if g := p.group; g != nil {
		g.n--
		if g.n == 0 && g.waiter != nil {
			k.wakeLocked(g.waiter, delivered)
			g.waiter = nil
		}
	}
	if len(k.procs) == 0 {
		close(k.done)
		k.unlock()
		return
	}
	switch k.mode {
	case Serial:
		k.unlock() // the loop resumes the next process
	case Parallel:
		k.running--
		if k.running == 0 {
			k.advanceLocked()
		}
		k.unlock()
	default:
		k.unlock()
	}
}

// block parks p, which the caller has set waiting and registered with what
// it waits for, until it is resumed; k.mu is held on entry and released.
// It returns why p was resumed.
func (k *Kernel) block(p *proc) wakeReason {
	if SitesCounted {
		countSite()
	}
	switch k.mode {
	case Serial:
		// The next process may be p itself, which then simply goes on;
		// any other, the loop resumes once p has yielded.
		if next := k.nextLocked(); next != p {
			k.pass = next
			k.unlock()
			p.c.yield(struct{}{})
		} else {
			k.unlock()
		}
	case Parallel:
		k.running--
		if k.running == 0 {
			k.advanceLocked()
		}
		k.unlock()
		<-p.wake
	default:
		deadline, at := p.hasDeadline, p.at
		k.unlock()
		k.blockWall(p, deadline, at)
	}
	return p.reason // written under k.mu before the token was sent
}

// loop runs a Serial kernel's processes, on the goroutine that called Run,
// until every one has returned: it resumes the process the last one to
// block chose, or the next that can run, and again when that one yields.
func (k *Kernel) loop() {
	for {
		k.lock()
		if len(k.procs) == 0 {
			k.unlock()
			return
		}
		next := k.pass
		k.pass = nil
		if next == nil {
			next = k.nextLocked()
		}
		k.unlock()
		c := next.c
		c.resume()
		switch {
		case next.exited:
			// It has left the run, in the middle of a runtime.Goexit
			// that must not end this goroutine: another one finishes it.
			k.ended.Go(c.stop)
		case c.done: // it has returned, and its goroutine is free
			c.done, next.c = false, nil
			k.pool.put(c)
		}
	}
}

// growStack makes the calling goroutine's stack 4 kB at once, while it holds
// only a few frames. A goroutine starts with 2 kB, and a model process's
// calls go deeper than that: the stack grew by copying from deep inside
// them, every frame adjusted, for each of the thousands of processes a run
// starts (a third of the storm's time, in morestack and copystack). A
// frame of this size makes the runtime grow it now, when the copy is cheap.
//
//go:noinline
func growStack() byte {
	var pad [2560]byte
	pad[padAt] = 1 // an index the compiler cannot see, so that pad stays
	return pad[padAt]
}

var padAt = 0

// body runs f as the Serial process p, on p's coroutine. A process that
// returns, panics or calls runtime.Goexit (a test's FailNow) leaves the
// run. A panic is carried to the goroutine that called Run, with p's stack;
// a Goexit yields to the loop, which has another goroutine finish it (a
// coroutine's Goexit would otherwise end the loop's goroutine too).
func (k *Kernel) body(p *proc, f func(context.Context), ctx context.Context) {
	returned := false
	defer func() {
		k.exit(p)
		if returned {
			return
		}
		if r := recover(); r != nil {
			panic(fmt.Sprintf("%v\n\n[in a model process, whose stack was:]\n%s", r, debug.Stack()))
		}
		p.exited = true
		p.c.yield(struct{}{}) // never resumed: the loop stops the coroutine
	}()
	f(ctx)
	returned = true
}

// blockWall waits for p's token, or for its deadline, if it has one, on a
// real timer.
func (k *Kernel) blockWall(p *proc, deadline bool, at time.Duration) {
	if !deadline {
		<-p.wake
		return
	}
	t := time.NewTimer(k.wall(at - k.Now()))
	defer t.Stop()
	select {
	case <-p.wake:
	case <-t.C:
		k.lock()
		if p.waiting {
			k.unwaitLocked(p, timedOut)
			k.unlock()
			return
		}
		k.unlock()
		<-p.wake // woken meanwhile: its token is on its way
	}
}

// wall is the wall-clock duration of model duration d at the kernel's speed.
func (k *Kernel) wall(d time.Duration) time.Duration {
	return max(time.Duration(float64(d)/k.speed), 0)
}

// beginLocked starts a wait of p. If the kernel is stopped it returns false
// and p does not wait.
func (k *Kernel) beginLocked(p *proc, interruptible bool) bool {
	if k.stopped && interruptible {
		return false
	}
	p.waiting, p.interruptible = true, interruptible
	p.gen++
	return true
}

// deadlineLocked gives p's wait a deadline at model time at.
func (k *Kernel) deadlineLocked(p *proc, at time.Duration) {
	p.at = at
	if k.mode == Wall {
		p.hasDeadline = true
		return
	}
	k.seq++
	p.seq = k.seq
	k.timers.push(p)
}

// unwaitLocked ends p's wait: it leaves the timers and its Signal (queue
// entries of channels and gates go stale by p.gen).
func (k *Kernel) unwaitLocked(p *proc, r wakeReason) {
	p.waiting, p.reason = false, r
	p.hasDeadline = false
	if p.timer >= 0 {
		k.timers.remove(p)
	}
	if p.sig != nil {
		p.sig.leave(p)
		p.sig = nil
	}
	k.events.Add(1)
}

// wakeLocked resumes the blocked process p for reason r.
func (k *Kernel) wakeLocked(p *proc, r wakeReason) {
	if !p.waiting {
		return
	}
	k.unwaitLocked(p, r)
	switch k.mode {
	case Serial:
		k.ready.push(p)
	case Parallel:
		k.running++
		p.wake <- struct{}{}
	default:
		p.wake <- struct{}{}
	}
}

// nextLocked returns the process to run next in a Serial run, advancing
// model time if none can run now. It may return the very process that is
// about to block, which then simply goes on.
func (k *Kernel) nextLocked() *proc {
	for {
		if p, ok := k.ready.pop(); ok {
			return p
		}
		k.advanceLocked()
	}
}

// advanceLocked moves model time to the earliest deadline and resumes the
// processes due then (Serial: the earliest alone, as the others at that
// time follow in turn; Parallel: all of them). If none is due by the
// horizon, it stops the kernel, which resumes every interruptible wait.
// Some process can always be resumed unless the model is deadlocked, which
// is a bug in the model: it panics then.
func (k *Kernel) advanceLocked() {
	for {
		if k.stopped {
			if k.ready.len() == 0 && k.running == 0 {
				panic(fmt.Sprintf("sim: the run is stopped, yet %d model goroutines are blocked for good (a Group.Wait whose goroutines are not its own?)", len(k.procs)))
			}
			return
		}
		if len(k.timers) == 0 || (k.horizon > 0 && k.timers[0].at > k.horizon) {
			cause := ErrIdle
			if k.horizon > 0 {
				k.now.Store(int64(k.horizon))
				cause = ErrHorizon
			}
			k.stopLocked(cause)
			continue
		}
		at := k.timers[0].at
		if !k.paceLocked(at) {
			continue // stopped while it waited for the wall clock
		}
		k.now.Store(int64(at))
		for len(k.timers) > 0 && k.timers[0].at == at {
			k.wakeLocked(k.timers[0], timedOut)
			if k.mode == Serial {
				break // the others due now come next, in turn
			}
		}
		return
	}
}

// paceLocked waits, with k.mu released, until the wall clock allows model
// time at. It returns false if the kernel was stopped meanwhile.
func (k *Kernel) paceLocked(at time.Duration) bool {
	if k.speed == Max || k.mode == Wall {
		return true
	}
	due := k.wallStart.Add(time.Duration(float64(at) / k.speed))
	wait := time.Until(due)
	if wait <= 0 {
		if lag := int64(float64(-wait) * k.speed); lag > k.lag.Load() {
			k.lag.Store(lag) // only the model writes it
		}
		return true
	}
	k.unlock()
	t := time.NewTimer(wait)
	select {
	case <-t.C:
	case <-k.stopCh:
	}
	t.Stop()
	k.lock()
	return !k.stopped
}
