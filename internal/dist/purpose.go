package dist

import (
	"fmt"
	"math/rand/v2"
)

// Purpose is one use the model makes of the seeded streams. Every draw in
// the model comes from a Purpose's stream, for the ids that purpose names
// (a job, an attempt), so that each thing's draws are its own: a run with
// the same seed draws the same numbers however its goroutines are
// scheduled, and a change to one purpose's draws (a mitigation switched
// on) leaves every other purpose's as they were.
//
// The purposes are the constants below, one each; purposes says which
// identity each draws from. Two purposes must never share an identity:
// TestPurposesDrawFromDisjointIdentities checks that no identity one
// purpose can draw from is one another can, and TestModelDrawsOnlyThrough
// Purposes that the model's source draws only through these constants,
// each at one place.
type Purpose uint8

// The model's purposes.
const (
	// Arrivals: when each job arrives. One stream for the run.
	Arrivals Purpose = iota + 1
	// JanitorPhase: where in its period the janitor's first pass falls.
	// One stream for the run.
	JanitorPhase
	// JobDraws: a job's own draws at its arrival (its build time, its
	// queue). One stream a job.
	JobDraws
	// VMDraws: the VM of one attempt of a job (its clone, power-on and
	// destroy latencies). One stream an attempt, attempts counting from 1.
	VMDraws
	// Stall: whether an attempt's VM stalls in its build.
	Stall
	// Crash: whether a crash of the Run workers takes an attempt's build.
	Crash
	// Backoff: how long a job backs off after an attempt that failed to
	// start.
	Backoff

	numPurposes // one past the last
)

// identity is the shape of a purpose's identities: its ids, in order, each
// at least its minimum, then its tag, if it has one. The stream of
// (seed, ids, tag) is Stream(seed, ids..., tag).
type identity struct {
	name   string
	ids    []idRange
	tagged bool
	tag    uint64
}

// idRange is one id of an identity, and the least value the model gives it.
type idRange struct {
	name string
	min  uint64
}

var (
	job     = idRange{"job", 1}     // job ids count from 1
	attempt = idRange{"attempt", 1} // attempts count from 1
)

// purposes is the one list of the identities the model draws from.
// (Job-level draws are tagged 0 and a VM's attempts count from 1, so that
// the job's stream is never an attempt's; the run-wide streams have no ids.)
var purposes = [numPurposes]identity{
	Arrivals:     {name: "arrivals"},
	JanitorPhase: {name: "janitor phase", tagged: true, tag: 0},
	JobDraws:     {name: "job draws", ids: []idRange{job}, tagged: true, tag: 0},
	VMDraws:      {name: "VM draws", ids: []idRange{job, attempt}},
	Stall:        {name: "stall", ids: []idRange{job, attempt}, tagged: true, tag: 1},
	Crash:        {name: "crash", ids: []idRange{job, attempt}, tagged: true, tag: 2},
	Backoff:      {name: "backoff", ids: []idRange{job, attempt}, tagged: true, tag: 3},
}

func (p Purpose) String() string {
	if p == 0 || p >= numPurposes {
		return fmt.Sprintf("Purpose(%d)", uint8(p))
	}
	return purposes[p].name
}

// Stream is the stream of purpose p for the thing the ids name (as many as
// p's identity has: none, a job, or a job and an attempt), fixed by the
// run's seed. It panics if given another number of ids.
func (p Purpose) Stream(seed uint64, ids ...uint64) *rand.Rand {
	// Small enough to inline, as Stream is.
	return rand.New(rand.NewPCG(seed, p.key(seed, ids)))
}

// key is the second half of the PCG seed of p's stream for ids: Stream's
// key of the ids followed by p's tag.
//
//go:noinline
func (p Purpose) key(seed uint64, ids []uint64) uint64 {
	if p == 0 || p >= numPurposes {
		panic(fmt.Sprintf("dist: %v is not a purpose", p))
	}
	id := purposes[p]
	if len(ids) != len(id.ids) {
		panic(fmt.Sprintf("dist: the %s stream takes %d ids, not %d", id.name, len(id.ids), len(ids)))
	}
	h := key(seed, ids)
	if id.tagged {
		h = mix(h ^ id.tag)
	}
	return h
}
