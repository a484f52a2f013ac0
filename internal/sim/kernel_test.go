package sim

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/internal/simtest"
)

// modes is the behaviour suite's table: every test that takes a mode runs
// against every implementation of model time. Wall runs inside a synctest
// bubble, whose fake clock makes its timers exact; the virtual modes need
// no bubble, but run in one too, so that a test that paces them can use
// the fake wall clock.
var modes = []Mode{Serial, Parallel, Wall}

// inKernel runs body as the one process of a new kernel in mode m (at
// speed 1 in Wall mode, unless o says otherwise, so that model durations
// are whole wall durations), then runs the kernel to its end and returns
// why it stopped. body runs on the process's goroutine, not the test's: it
// checks with its t, the process's checks (simtest), whose failures the
// test goroutine reports once the run is over.
func inKernel(t *testing.T, m Mode, o Options, body func(t *simtest.Checks, ctx context.Context, k *Kernel)) error {
	t.Helper()
	o.Mode = m
	if m == Wall && o.Speed == 0 {
		o.Speed = 1
	}
	var err error
	synctest.Test(t, func(t *testing.T) {
		checks := simtest.New(t)
		k := New(o)
		k.Go(t.Context(), func(ctx context.Context) { body(checks, ctx, k) })
		err = k.Run(t.Context())
		checks.Report()
	})
	return err
}

func eachMode(t *testing.T, f func(t *testing.T, m Mode)) {
	for _, m := range modes {
		t.Run(m.String(), func(t *testing.T) { f(t, m) })
	}
}

func TestSleepTakesExactlyItsModelTime(t *testing.T) {
	eachMode(t, func(t *testing.T, m Mode) {
		var times []time.Duration
		err := inKernel(t, m, Options{}, func(t *simtest.Checks, ctx context.Context, k *Kernel) {
			for _, d := range []time.Duration{time.Minute, 30 * time.Second, 0, -time.Hour, 2 * time.Hour, time.Nanosecond * 60} {
				assert.True(t, Sleep(ctx, d))
				times = append(times, k.Now())
			}
		})
		require.NoError(t, err, "the processes returned by themselves")
		m1, m90 := time.Minute, 90*time.Second
		want := []time.Duration{m1, m90, m90, m90, m90 + 2*time.Hour, m90 + 2*time.Hour + 60}
		assert.Equal(t, want, times)
	})
}

func TestSleepUntil(t *testing.T) {
	tests := []struct {
		name          string
		before, until time.Duration
		wantAt        time.Duration
	}{
		{"future", 0, 15 * time.Minute, 15 * time.Minute},
		{"future after some time", 5 * time.Minute, 15 * time.Minute, 15 * time.Minute},
		{"now", 10 * time.Minute, 10 * time.Minute, 10 * time.Minute},
		{"past", 10 * time.Minute, 5 * time.Minute, 10 * time.Minute},
		{"long past", time.Hour, -time.Hour, time.Hour},
	}
	eachMode(t, func(t *testing.T, m Mode) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				inKernel(t, m, Options{}, func(t *simtest.Checks, ctx context.Context, k *Kernel) {
					assert.True(t, Sleep(ctx, tt.before))
					assert.True(t, SleepUntil(ctx, tt.until))
					assert.Equal(t, tt.wantAt, k.Now())
				})
			})
		}
	})
}

func TestWakeUpsAtOneTimeComeInTheOrderAsked(t *testing.T) {
	// Serial only: the order of wake-ups at one model time is what makes a
	// run repeat.
	var order []int
	inKernel(t, Serial, Options{}, func(t *simtest.Checks, ctx context.Context, k *Kernel) {
		var g Group
		for i := range 20 {
			g.Go(ctx, func(ctx context.Context) {
				assert.True(t, SleepUntil(ctx, time.Duration(i%3)*time.Second))
				order = append(order, i)
			})
		}
		g.Wait(ctx)
	})
	want := []int{0, 3, 6, 9, 12, 15, 18} // due at once: no wait, in start order
	for _, r := range []int{1, 2} {
		for i := r; i < 20; i += 3 {
			want = append(want, i)
		}
	}
	assert.Equal(t, want, order)
}

func TestStopEndsEveryWait(t *testing.T) {
	eachMode(t, func(t *testing.T, m Mode) {
		cause := errors.New("enough")
		var results sync.Map
		err := inKernel(t, m, Options{}, func(t *simtest.Checks, ctx context.Context, k *Kernel) {
			ch := NewChan[int](k, 1)
			full := NewChan[int](k, 0)
			gate := NewGate(k, 0)
			sig := NewSignal(k)
			var g Group
			g.Go(ctx, func(ctx context.Context) { results.Store("sleep", Sleep(ctx, time.Hour)) })
			g.Go(ctx, func(ctx context.Context) { _, ok := ch.Recv(ctx); results.Store("recv", ok) })
			g.Go(ctx, func(ctx context.Context) { results.Store("send", full.Send(ctx, 1)) })
			g.Go(ctx, func(ctx context.Context) { results.Store("gate", gate.Wait(ctx, 0)) })
			g.Go(ctx, func(ctx context.Context) {
				woken, ok := SleepOrWake(ctx, time.Hour, sig)
				results.Store("sleep-or-wake", woken || ok)
			})
			assert.True(t, Sleep(ctx, time.Minute))
			k.Stop(cause)
			k.Stop(errors.New("a later cause is not kept"))
			g.Wait(ctx) // not ended by the stop: the members end
			assert.False(t, Sleep(ctx, time.Second), "a wait after the stop returns false at once")
			assert.False(t, ch.Send(ctx, 1))
			assert.Equal(t, time.Minute, k.Now(), "no model time passes after the stop")
		})
		assert.Equal(t, cause, err)
		for _, name := range []string{"sleep", "recv", "send", "gate", "sleep-or-wake"} {
			v, ok := results.Load(name)
			require.True(t, ok, name)
			assert.False(t, v.(bool), "%s returns false", name)
		}
	})
}

func TestRunStopsAtItsContextsCause(t *testing.T) {
	eachMode(t, func(t *testing.T, m Mode) {
		synctest.Test(t, func(t *testing.T) {
			k := New(Options{Mode: m, Speed: 60})
			cause := errors.New("interrupted")
			ctx, cancel := context.WithCancelCause(t.Context())
			var slept bool
			k.Go(ctx, func(ctx context.Context) { slept = Sleep(ctx, 24*time.Hour) })
			go func() { time.Sleep(10 * time.Second); cancel(cause) }()
			assert.Equal(t, cause, k.Run(ctx))
			assert.False(t, slept)
			if m == Wall {
				// 10 wall seconds at 60 model seconds a wall second.
				assert.Equal(t, 10*time.Minute, k.Now())
			} else {
				// Model time moves from one wake-up to the next, when the
				// pace allows it: the only one was a day away.
				assert.Zero(t, k.Now())
			}
		})
	})
}

// TestStopFromOutsideAnUnpacedRun: a goroutine that is not the model's
// stops a run that never waits for the wall clock, and reads the kernel
// meanwhile. (In Serial mode the model takes no lock: the stop is recorded,
// and acted on between two of the model's calls into the kernel; the race
// detector checks that nothing else is shared.)
func TestStopFromOutsideAnUnpacedRun(t *testing.T) {
	for _, m := range []Mode{Serial, Parallel} {
		t.Run(m.String(), func(t *testing.T) {
			k := New(Options{Mode: m})
			ping, pong := NewChan[int](k, 0), NewChan[int](k, 0)
			var sends, recvs atomic.Int64
			k.Go(t.Context(), func(ctx context.Context) {
				for ping.Send(ctx, 1) {
					sends.Add(1)
					if _, ok := pong.Recv(ctx); !ok {
						return
					}
				}
			})
			k.Go(t.Context(), func(ctx context.Context) {
				for {
					v, ok := ping.Recv(ctx)
					if !ok || !pong.Send(ctx, v) {
						return
					}
					recvs.Add(1)
				}
			})
			cause := errors.New("stopped from outside")
			stopped := make(chan struct{})
			// What the outside goroutine reads, checked once it is done.
			var seen struct {
				stopped, stoppedAfter bool
				cause                 error
				time                  time.Duration
			}
			go func() {
				defer close(stopped)
				for k.Events() < 1000 {
					runtime.Gosched()
				}
				seen.stopped, seen.cause, seen.time = k.Stopped(), k.Cause(), k.Lag()+k.Now()
				k.Stop(cause)
				seen.stoppedAfter = k.Stopped()
			}()
			assert.Equal(t, cause, k.Run(t.Context()))
			<-stopped
			assert.False(t, seen.stopped)
			assert.Nil(t, seen.cause)
			assert.Zero(t, seen.time, "no model time passes in a run of hand-offs")
			assert.True(t, seen.stoppedAfter)
			assert.GreaterOrEqual(t, sends.Load(), int64(500))
			assert.InDelta(t, sends.Load(), recvs.Load(), 1, "every value sent was taken, but for the last")
		})
	}
}

func TestHorizon(t *testing.T) {
	eachMode(t, func(t *testing.T, m Mode) {
		var atHorizon, after bool
		err := inKernel(t, m, Options{Horizon: time.Hour}, func(t *simtest.Checks, ctx context.Context, k *Kernel) {
			var g Group
			g.Go(ctx, func(ctx context.Context) { atHorizon = SleepUntil(ctx, time.Hour) })
			g.Go(ctx, func(ctx context.Context) { after = SleepUntil(ctx, time.Hour+time.Nanosecond) })
			g.Wait(ctx)
			if m != Wall {
				assert.Equal(t, time.Hour, k.Now())
			}
		})
		assert.ErrorIs(t, err, ErrHorizon)
		if m != Wall { // a real timer at the horizon races the stop
			assert.True(t, atHorizon, "a wake-up due at the horizon happens")
		}
		assert.False(t, after, "one due after it does not")
	})
}

func TestIdleRunStops(t *testing.T) {
	for _, m := range []Mode{Serial, Parallel} {
		t.Run(m.String(), func(t *testing.T) {
			var got bool
			err := inKernel(t, m, Options{}, func(t *simtest.Checks, ctx context.Context, k *Kernel) {
				_, got = NewChan[int](k, 0).Recv(ctx)
			})
			assert.ErrorIs(t, err, ErrIdle, "nothing can ever send: the run ends rather than hang")
			assert.False(t, got)
		})
	}
}

func TestChanHandsValuesOverInOrder(t *testing.T) {
	for _, size := range []int{0, 1, 5} {
		eachMode(t, func(t *testing.T, m Mode) {
			t.Run(fmt.Sprint("size ", size), func(t *testing.T) {
				var got []int
				var sent bool
				inKernel(t, m, Options{}, func(t *simtest.Checks, ctx context.Context, k *Kernel) {
					ch := NewChan[int](k, size)
					var g Group
					g.Go(ctx, func(ctx context.Context) {
						defer ch.Close()
						for i := range 20 {
							assert.True(t, ch.Send(ctx, i))
						}
						sent = true
					})
					g.Go(ctx, func(ctx context.Context) {
						for {
							v, ok := ch.Recv(ctx)
							if !ok {
								return
							}
							got = append(got, v)
							assert.True(t, Sleep(ctx, time.Second))
						}
					})
					g.Wait(ctx)
				})
				assert.True(t, sent)
				want := make([]int, 20)
				for i := range want {
					want[i] = i
				}
				assert.Equal(t, want, got, "every value, in order, then false once closed")
			})
		})
	}
}

func TestChanBlocksWhenFullAndWhenEmpty(t *testing.T) {
	eachMode(t, func(t *testing.T, m Mode) {
		inKernel(t, m, Options{}, func(t *simtest.Checks, ctx context.Context, k *Kernel) {
			ch := NewChan[string](k, 2)
			var sentAt, recvAt time.Duration
			var g Group
			g.Go(ctx, func(ctx context.Context) {
				for _, v := range []string{"a", "b", "c"} {
					assert.True(t, ch.Send(ctx, v))
				}
				sentAt = k.Now() // the third waits for room
			})
			g.Go(ctx, func(ctx context.Context) {
				assert.True(t, Sleep(ctx, time.Minute))
				for _, want := range []string{"a", "b", "c"} {
					v, ok := ch.Recv(ctx)
					assert.True(t, ok)
					assert.Equal(t, want, v)
				}
				_, _, _ = ch.RecvOrWake(ctx, nil) // nothing more: waits ...
				recvAt = k.Now()
			})
			assert.True(t, Sleep(ctx, time.Hour))
			assert.Equal(t, 0, ch.Len())
			ch.Close() // ... until the channel closes
			g.Wait(ctx)
			assert.Equal(t, time.Minute, sentAt, "a send to a full channel waits for a receiver")
			assert.Equal(t, time.Hour, recvAt, "a receive from an empty channel waits for a value or a close")
		})
	})
}

func TestChanDrainAndLen(t *testing.T) {
	inKernel(t, Serial, Options{}, func(t *simtest.Checks, ctx context.Context, k *Kernel) {
		ch := NewChan[int](k, 3)
		for i := range 3 {
			assert.True(t, ch.Send(ctx, i))
		}
		assert.Equal(t, 3, ch.Len())
		assert.Equal(t, []int{0, 1, 2}, ch.Drain())
		assert.Zero(t, ch.Len())
		assert.Panics(t, func() { ch.Close(); ch.Close() })
		assert.Panics(t, func() { ch.Send(ctx, 1) }, "a send on a closed channel")
	})
}

func TestRecvOrWake(t *testing.T) {
	eachMode(t, func(t *testing.T, m Mode) {
		inKernel(t, m, Options{}, func(t *simtest.Checks, ctx context.Context, k *Kernel) {
			ch := NewChan[int](k, 1)
			sig := NewSignal(k)
			var g Group
			var woken bool
			var at time.Duration
			g.Go(ctx, func(ctx context.Context) {
				_, ok, w := ch.RecvOrWake(ctx, sig)
				woken, at = w && !ok, k.Now()
			})
			assert.True(t, Sleep(ctx, time.Minute))
			sig.Notify()
			g.Wait(ctx)
			assert.True(t, woken, "the signal cuts the receive short")
			assert.Equal(t, time.Minute, at)
			assert.False(t, sig.Pending(), "the waiter took the notification")

			// A pending notification wins over a value that is ready, and
			// is taken by the wait.
			assert.True(t, ch.Send(ctx, 7))
			sig.Notify()
			_, ok, w := ch.RecvOrWake(ctx, sig)
			assert.True(t, w)
			assert.False(t, ok)
			v, ok, w := ch.RecvOrWake(ctx, sig)
			assert.Equal(t, []any{7, true, false}, []any{v, ok, w}, "the value is still there")
		})
	})
}

func TestSleepOrWake(t *testing.T) {
	eachMode(t, func(t *testing.T, m Mode) {
		inKernel(t, m, Options{}, func(t *simtest.Checks, ctx context.Context, k *Kernel) {
			sig := NewSignal(k)
			woken, ok := SleepOrWake(ctx, time.Minute, sig)
			assert.Equal(t, []bool{false, true}, []bool{woken, ok}, "no notification: the whole sleep")
			assert.Equal(t, time.Minute, k.Now())

			var g Group
			g.Go(ctx, func(ctx context.Context) {
				assert.True(t, Sleep(ctx, 10*time.Second))
				sig.Notify()
			})
			woken, ok = SleepOrWake(ctx, time.Hour, sig)
			assert.Equal(t, []bool{true, true}, []bool{woken, ok})
			assert.Equal(t, time.Minute+10*time.Second, k.Now(), "woken when notified")
			g.Wait(ctx)

			sig.Notify() // nobody waits: kept for the next wait
			assert.True(t, sig.Pending())
			woken, ok = SleepOrWake(ctx, time.Hour, sig)
			assert.Equal(t, []bool{true, true}, []bool{woken, ok})
			assert.Equal(t, time.Minute+10*time.Second, k.Now(), "a pending notification returns at once")
		})
	})
}

// TestWaitFor: a wait with no deadline ends when the signal is notified,
// however late, and at once for a pending notification; a stop ends it.
func TestWaitFor(t *testing.T) {
	eachMode(t, func(t *testing.T, m Mode) {
		err := inKernel(t, m, Options{}, func(t *simtest.Checks, ctx context.Context, k *Kernel) {
			sig := NewSignal(k)
			var g Group
			g.Go(ctx, func(ctx context.Context) {
				assert.True(t, Sleep(ctx, 100*time.Hour))
				sig.Notify()
			})
			assert.True(t, WaitFor(ctx, sig))
			assert.Equal(t, 100*time.Hour, k.Now(), "woken when notified")
			g.Wait(ctx)

			sig.Notify()
			assert.True(t, WaitFor(ctx, sig))
			assert.Equal(t, 100*time.Hour, k.Now(), "a pending notification returns at once")

			g.Go(ctx, func(ctx context.Context) {
				assert.True(t, Sleep(ctx, time.Minute))
				k.Stop(errors.New("done"))
			})
			assert.False(t, WaitFor(ctx, sig), "the stop ends the wait")
			g.Wait(ctx)
		})
		assert.EqualError(t, err, "done")
	})
}

func TestGateLetsTheFirstNWork(t *testing.T) {
	eachMode(t, func(t *testing.T, m Mode) {
		inKernel(t, m, Options{}, func(t *simtest.Checks, ctx context.Context, k *Kernel) {
			gate := NewGate(k, 2)
			assert.True(t, gate.Wait(ctx, 0))
			assert.True(t, gate.Wait(ctx, 1))
			var passedAt [4]atomic.Int64
			var g Group
			for i := 2; i < 4; i++ {
				g.Go(ctx, func(ctx context.Context) {
					if gate.Wait(ctx, i) {
						passedAt[i].Store(int64(k.Now()))
					}
				})
			}
			assert.True(t, Sleep(ctx, time.Minute))
			gate.Set(3)
			assert.Equal(t, 3, gate.Open())
			assert.True(t, Sleep(ctx, time.Minute))
			assert.Equal(t, int64(time.Minute), passedAt[2].Load(), "opening to 3 lets worker 2 through")
			assert.Zero(t, passedAt[3].Load(), "but not worker 3")
			gate.Set(4)
			g.Wait(ctx)
			assert.Equal(t, int64(2*time.Minute), passedAt[3].Load())
		})
	})
}

func TestGroupWaitsForItsMembers(t *testing.T) {
	eachMode(t, func(t *testing.T, m Mode) {
		inKernel(t, m, Options{}, func(t *simtest.Checks, ctx context.Context, k *Kernel) {
			var g Group
			g.Wait(ctx) // no members: returns at once
			var ended atomic.Int64
			for i := range 5 {
				g.Go(ctx, func(ctx context.Context) {
					assert.True(t, Sleep(ctx, time.Duration(i)*time.Minute))
					ended.Add(1)
				})
			}
			g.Wait(ctx)
			assert.Equal(t, int64(5), ended.Load())
			assert.Equal(t, 4*time.Minute, k.Now(), "until the last one returns")
		})
	})
}

func TestAWaitOutsideAProcessPanics(t *testing.T) {
	assert.PanicsWithValue(t, "sim: a wait outside a model process: start the goroutine with Kernel.Go or Group.Go",
		func() { Sleep(context.Background(), time.Second) })
}

func TestRunWithNoProcessesReturns(t *testing.T) {
	assert.NoError(t, New(Options{}).Run(context.Background()))
}

func TestCalendar(t *testing.T) {
	epoch := time.Date(2015, 7, 31, 0, 0, 0, 0, time.UTC)
	k := New(Options{Epoch: epoch})
	assert.Equal(t, epoch, k.Epoch())
	assert.Equal(t, time.Date(2015, 8, 4, 17, 45, 0, 0, time.UTC), k.Calendar(4*24*time.Hour+17*time.Hour+45*time.Minute))
	assert.True(t, New(Options{}).Calendar(time.Hour).IsZero(), "no epoch, no calendar")
}

func TestNewRejectsBadOptions(t *testing.T) {
	for _, o := range []Options{{Mode: Wall}, {Mode: Wall, Speed: -1}, {Speed: -1}, {Mode: 7}} {
		assert.Panics(t, func() { New(o) }, "%+v", o)
	}
}

// TestSerialRunsOneProcessAtATime counts the processes inside a section
// with no waits in it: a Serial kernel never lets two in at once.
func TestSerialRunsOneProcessAtATime(t *testing.T) {
	var inside, most atomic.Int64
	inKernel(t, Serial, Options{}, func(t *simtest.Checks, ctx context.Context, k *Kernel) {
		ch := NewChan[int](k, 4)
		var g Group
		for i := range 50 {
			g.Go(ctx, func(ctx context.Context) {
				r := rand.New(rand.NewPCG(uint64(i), 1))
				for range 100 {
					n := inside.Add(1)
					most.Store(max(most.Load(), n))
					runtime.Gosched() // let another goroutine in, if the kernel would
					inside.Add(-1)
					switch r.IntN(3) {
					case 0:
						Sleep(ctx, time.Duration(r.IntN(3))*time.Second)
					case 1:
						ch.Send(ctx, i)
					default:
						ch.RecvOrWake(ctx, nil)
					}
				}
			})
		}
		g.Wait(ctx)
	})
	assert.Equal(t, int64(1), most.Load())
}

// TestParallelRunsProcessesAtOnce needs two processes running at one
// moment: they meet on a Go channel, which the kernel does not see.
func TestParallelRunsProcessesAtOnce(t *testing.T) {
	k := New(Options{Mode: Parallel})
	meet := make(chan int)
	var got int
	k.Go(context.Background(), func(ctx context.Context) { meet <- 42 })
	k.Go(context.Background(), func(ctx context.Context) { got = <-meet })
	require.NoError(t, k.Run(context.Background()))
	assert.Equal(t, 42, got)
}

// TestParallelTimeWaitsForEveryProcess: model time moves only when every
// process is blocked, however long one computes.
func TestParallelTimeWaitsForEveryProcess(t *testing.T) {
	k := New(Options{Mode: Parallel})
	var busyDone atomic.Bool
	var sawBusyDone bool
	k.Go(context.Background(), func(ctx context.Context) {
		x := 0
		for i := range 20_000_000 {
			x += i
		}
		runtime.KeepAlive(x)
		busyDone.Store(true)
	})
	k.Go(context.Background(), func(ctx context.Context) {
		Sleep(ctx, time.Nanosecond)
		sawBusyDone = busyDone.Load()
	})
	require.NoError(t, k.Run(context.Background()))
	assert.True(t, sawBusyDone, "the sleeper woke only after the busy process finished")
}

// traceRun runs a small model (producers, a bounded channel, consumers
// that sleep random times, a gate and a signal) and returns what happened,
// in order, with model times.
func traceRun(t *testing.T, o Options, seed uint64) []string { return traceRunIn(t, o, nil, seed) }

// traceRunIn is traceRun with the kernel's processes on goroutines from
// pool (nil for new ones).
func traceRunIn(t *testing.T, o Options, pool *Pool, seed uint64) []string {
	var mu sync.Mutex
	var trace []string
	log := func(k *Kernel, format string, a ...any) {
		mu.Lock()
		trace = append(trace, fmt.Sprintf("%v ", k.Now())+fmt.Sprintf(format, a...))
		mu.Unlock()
	}
	k := New(o)
	k.Reuse(pool)
	k.Go(context.Background(), func(ctx context.Context) {
		ch := NewChan[int](k, 3)
		gate := NewGate(k, 2)
		sig := NewSignal(k)
		var producers, consumers Group
		for p := range 4 {
			producers.Go(ctx, func(ctx context.Context) {
				r := rand.New(rand.NewPCG(seed, uint64(p)))
				for i := range 50 {
					Sleep(ctx, time.Duration(r.IntN(4))*time.Second)
					ch.Send(ctx, p*1000+i)
					log(k, "sent %d", p*1000+i)
				}
			})
		}
		for c := range 4 {
			consumers.Go(ctx, func(ctx context.Context) {
				r := rand.New(rand.NewPCG(seed, uint64(100+c)))
				for gate.Wait(ctx, c) {
					v, ok, woken := ch.RecvOrWake(ctx, sig)
					if !ok && !woken {
						return
					}
					log(k, "consumer %d got %d woken %v", c, v, woken)
					Sleep(ctx, time.Duration(r.IntN(5))*time.Second)
				}
			})
		}
		Sleep(ctx, 20*time.Second)
		gate.Set(4)
		sig.Notify()
		producers.Wait(ctx)
		ch.Close()
		consumers.Wait(ctx)
	})
	require.NoError(t, k.Run(context.Background()))
	return append(trace, fmt.Sprintf("%v end", k.Now()))
}

func TestSerialRunsRepeatExactly(t *testing.T) {
	want := traceRun(t, Options{Mode: Serial}, 1)
	require.Greater(t, len(want), 300)
	assert.NotEqual(t, want, traceRun(t, Options{Mode: Serial}, 2), "another seed, another run")

	// Under load from other goroutines, with one core or all of them.
	stop := make(chan struct{})
	var burners sync.WaitGroup
	for range runtime.NumCPU() {
		burners.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					runtime.Gosched()
				}
			}
		})
	}
	defer func() { close(stop); burners.Wait() }()
	for _, procs := range []int{1, runtime.NumCPU()} {
		prev := runtime.GOMAXPROCS(procs)
		for range 3 {
			assert.Equal(t, want, traceRun(t, Options{Mode: Serial}, 1), "GOMAXPROCS %d", procs)
		}
		runtime.GOMAXPROCS(prev)
	}
}

func TestPacedSerialRunIsTheSameRunAndKeepsItsPace(t *testing.T) {
	want := traceRun(t, Options{Mode: Serial}, 3)
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		got := traceRun(t, Options{Mode: Serial, Speed: 2}, 3)
		assert.Equal(t, want, got, "pacing changes when things are seen, never what happens")
		last, err := time.ParseDuration(strings.Fields(want[len(want)-1])[0])
		require.NoError(t, err)
		assert.Equal(t, last/2, time.Since(start), "2 model seconds a wall second")
	})
}

func TestLagIsReportedNotFeltByTheModel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := New(Options{Mode: Serial, Speed: 1})
		var woke time.Duration
		k.Go(t.Context(), func(ctx context.Context) {
			time.Sleep(3 * time.Second) // the machine is busy for 3 wall seconds at model time 0
			Sleep(ctx, time.Second)
			woke = k.Now()
		})
		require.NoError(t, k.Run(t.Context()))
		assert.Equal(t, time.Second, woke, "the model sees its own time")
		assert.Equal(t, 2*time.Second, k.Lag(), "due at wall 1s, reached at wall 3s")
	})
}

func TestEventsCountsWakeUps(t *testing.T) {
	inKernel(t, Serial, Options{}, func(t *simtest.Checks, ctx context.Context, k *Kernel) {
		before := k.Events()
		for range 10 {
			Sleep(ctx, time.Second)
		}
		assert.Equal(t, before+10, k.Events())
	})
}

// TestAHandOffDoesNotAllocate: a value handed to a waiting receiver, or
// left by a waiting sender, is kept in the channel's typed slots, not boxed
// in an interface: a hand-off of a struct allocates nothing.
func TestAHandOffDoesNotAllocate(t *testing.T) {
	type msg struct {
		kind  int
		job   *int
		queue int
	}
	k := New(Options{Mode: Serial})
	toRecv, toSend := NewChan[msg](k, 0), NewChan[msg](k, 0)
	job := new(int)
	k.Go(t.Context(), func(ctx context.Context) {
		for {
			m, ok := toRecv.Recv(ctx)        // waits: each value is handed to it
			if !ok || !toSend.Send(ctx, m) { // waits for the other to take it
				return
			}
		}
	})
	// What the process saw, checked after the run.
	var allocs float64
	var wrong int // round trips that brought back another job
	k.Go(t.Context(), func(ctx context.Context) {
		allocs = testing.AllocsPerRun(100, func() {
			toRecv.Send(ctx, msg{kind: 1, job: job, queue: 2})
			if m, _ := toSend.Recv(ctx); m.job != job {
				wrong++
			}
		})
		toRecv.Close()
	})
	require.NoError(t, k.Run(t.Context()))
	assert.Zero(t, wrong, "every round trip brings back its job")
	assert.Zero(t, allocs, "allocations a round trip")
}

func BenchmarkHandOff(b *testing.B) {
	for _, m := range []Mode{Serial, Parallel} {
		b.Run(m.String(), func(b *testing.B) {
			k := New(Options{Mode: m})
			ping, pong := NewChan[int](k, 0), NewChan[int](k, 0)
			k.Go(context.Background(), func(ctx context.Context) {
				for i := range b.N {
					ping.Send(ctx, i)
					pong.Recv(ctx)
				}
				ping.Close()
			})
			k.Go(context.Background(), func(ctx context.Context) {
				for {
					v, ok := ping.Recv(ctx)
					if !ok {
						return
					}
					pong.Send(ctx, v)
				}
			})
			b.ResetTimer()
			require.NoError(b, k.Run(context.Background()))
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(2*b.N), "ns/hand-off")
		})
	}
}

func BenchmarkTimer(b *testing.B) {
	for _, procs := range []int{1, 100, 10_000} {
		b.Run(fmt.Sprint(procs, " sleepers"), func(b *testing.B) {
			k := New(Options{Mode: Serial})
			per := max(b.N/procs, 1)
			for p := range procs {
				k.Go(context.Background(), func(ctx context.Context) {
					r := rand.New(rand.NewPCG(uint64(p), 0))
					for range per {
						Sleep(ctx, time.Duration(1+r.IntN(1000))*time.Millisecond)
					}
				})
			}
			b.ResetTimer()
			require.NoError(b, k.Run(context.Background()))
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(per*procs), "ns/timer")
			b.ReportMetric(float64(k.Events())/b.Elapsed().Seconds(), "events/s")
		})
	}
}

func TestAProcessEndedByGoexitHandsTheRunOn(t *testing.T) {
	for _, m := range []Mode{Serial, Parallel} {
		t.Run(m.String(), func(t *testing.T) {
			k := New(Options{Mode: m})
			var after time.Duration
			k.Go(t.Context(), func(ctx context.Context) {
				Sleep(ctx, time.Second)
				runtime.Goexit() // as a test's FailNow does
			})
			k.Go(t.Context(), func(ctx context.Context) {
				Sleep(ctx, time.Minute)
				after = k.Now()
			})
			require.NoError(t, k.Run(t.Context()))
			assert.Equal(t, time.Minute, after)
		})
	}
}

// TestAPanicInASerialProcessReachesRun: a Serial process runs on a
// coroutine that Run's goroutine resumes, so its panic comes out of Run,
// with the process's own stack.
func TestAPanicInASerialProcessReachesRun(t *testing.T) {
	k := New(Options{Mode: Serial})
	k.Go(t.Context(), func(ctx context.Context) {
		Sleep(ctx, time.Second)
		panicInAProcess()
	})
	defer func() {
		r := recover()
		require.NotNil(t, r, "Run panics")
		msg := fmt.Sprint(r)
		assert.True(t, strings.HasPrefix(msg, "boom\n"), "the panic's value first: %q", msg)
		assert.Contains(t, msg, "panicInAProcess", "and the process's stack")
	}()
	k.Run(t.Context())
}

func panicInAProcess() { panic("boom") }

// TestWaitsLeaveNothingBehind: a process that waits again and again on a
// Signal and a Chan, woken each time by the Chan, leaves no trace of its
// ended waits in them: a long run's memory must not grow with its events.
func TestWaitsLeaveNothingBehind(t *testing.T) {
	inKernel(t, Serial, Options{}, func(t *simtest.Checks, ctx context.Context, k *Kernel) {
		ch := NewChan[int](k, 0)
		sig := NewSignal(k)
		var g Group
		g.Go(ctx, func(ctx context.Context) {
			for {
				if _, ok, _ := ch.RecvOrWake(ctx, sig); !ok {
					return
				}
			}
		})
		for i := range 1000 {
			assert.True(t, ch.Send(ctx, i))
			assert.True(t, Sleep(ctx, time.Second))
		}
		k.mu.Lock()
		assert.Len(t, sig.waiting, 1, "the receiver waits once, now")
		assert.LessOrEqual(t, ch.recvq.len(), 1)
		k.mu.Unlock()
		ch.Close()
		g.Wait(ctx)
	})
}

// TestWaitsCutShortLeaveLittleBehind: a receiver whose waits a Signal
// cuts short, again and again with no value sent (a scheduler poked at
// every sample of an idle run), leaves stale entries in the Chan's queue;
// they must not outnumber the live waits more than the queue's growth
// allows, however long the run.
func TestWaitsCutShortLeaveLittleBehind(t *testing.T) {
	inKernel(t, Serial, Options{}, func(t *simtest.Checks, ctx context.Context, k *Kernel) {
		ch := NewChan[int](k, 0)
		sig := NewSignal(k)
		var g Group
		g.Go(ctx, func(ctx context.Context) {
			for {
				if _, ok, woken := ch.RecvOrWake(ctx, sig); !ok && !woken {
					return
				}
			}
		})
		for range 10_000 {
			assert.True(t, Sleep(ctx, time.Second))
			sig.Notify()
		}
		assert.True(t, Sleep(ctx, time.Second))
		k.mu.Lock()
		assert.LessOrEqual(t, ch.recvq.len(), 8, "one live wait, and stale ones up to the queue's smallest size")
		k.mu.Unlock()
		ch.Close()
		g.Wait(ctx)
	})
}

// Broadcast wakes every process waiting on a Signal at once, and keeps
// nothing for a process that waits after it.
func TestBroadcastWakesEveryWaiter(t *testing.T) {
	eachMode(t, func(t *testing.T, m Mode) {
		var woke sync.Map
		err := inKernel(t, m, Options{}, func(t *simtest.Checks, ctx context.Context, k *Kernel) {
			sig := NewSignal(k)
			var g Group
			for i := range 3 {
				g.Go(ctx, func(ctx context.Context) {
					woken, ok := SleepOrWake(ctx, time.Hour, sig)
					if woken && ok {
						woke.Store(i, k.Now())
					}
				})
			}
			assert.True(t, Sleep(ctx, time.Minute))
			sig.Broadcast()
			g.Wait(ctx)
			woken, ok := SleepOrWake(ctx, time.Second, sig)
			assert.False(t, woken, "nothing kept for a later wait")
			assert.True(t, ok)
		})
		require.NoError(t, err)
		for i := range 3 {
			at, ok := woke.Load(i)
			require.True(t, ok, "waiter %d woken", i)
			assert.Equal(t, time.Minute, at)
		}
	})
}
