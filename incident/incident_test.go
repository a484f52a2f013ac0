package incident

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"vmstorm/internal/sim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func observed() (*zap.Logger, *observer.ObservedLogs) {
	core, logs := observer.New(zapcore.DebugLevel)
	return zap.New(core), logs
}

func messages(logs *observer.ObservedLogs) []string {
	var out []string
	for _, e := range logs.All() {
		out = append(out, e.Message)
	}
	return out
}

func names(tl Timeline) []string {
	var out []string
	for _, ev := range tl {
		out = append(out, ev.Name)
	}
	return out
}

// recorder makes events whose Apply records their names in order.
type recorder struct {
	mu      sync.Mutex
	applied []string
}

func (r *recorder) event(at time.Duration, name string) Event {
	return Event{At: at, Name: name, Note: "note of " + name, Apply: func(*Faults) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.applied = append(r.applied, name)
	}}
}

func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.applied...)
}

func TestFaultsZeroValue(t *testing.T) {
	var f Faults
	assert.False(t, f.CleanupLoginBroken())
}

func TestPasswordEventsToggleCleanupLogin(t *testing.T) {
	tests := []struct {
		name   string
		events []Event
		want   bool
	}{
		{"none", nil, false},
		{"rotated", []Event{RotateCleanupPassword(time.Hour)}, true},
		{"rotated then fixed", []Event{RotateCleanupPassword(time.Hour), FixCleanupPassword(2 * time.Hour)}, false},
		{"fixed alone", []Event{FixCleanupPassword(time.Hour)}, false},
		{"rotated again", []Event{RotateCleanupPassword(0), FixCleanupPassword(1), RotateCleanupPassword(2)}, true},
		{"rotated twice", []Event{RotateCleanupPassword(0), RotateCleanupPassword(1)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f Faults
			for _, ev := range tt.events {
				ev.Apply(&f)
			}
			assert.Equal(t, tt.want, f.CleanupLoginBroken())
		})
	}
}

func TestPasswordEventFields(t *testing.T) {
	tests := []struct {
		ev       Event
		at       time.Duration
		wantName string
	}{
		{RotateCleanupPassword(90 * time.Minute), 90 * time.Minute, "cleanup_password_rotated"},
		{FixCleanupPassword(4 * 24 * time.Hour), 4 * 24 * time.Hour, "cleanup_password_fixed"},
	}
	for _, tt := range tests {
		t.Run(tt.wantName, func(t *testing.T) {
			assert.Equal(t, tt.at, tt.ev.At)
			assert.Equal(t, tt.wantName, tt.ev.Name)
			assert.NotEmpty(t, tt.ev.Note)
			assert.NotNil(t, tt.ev.Apply)
		})
	}
}

func TestBegin(t *testing.T) {
	var r recorder
	tl := Timeline{
		r.event(5*time.Minute, "at_5m"),
		r.event(0, "at_0_first"),
		r.event(-time.Minute, "before_start"),
		r.event(2*time.Minute, "at_2m"),
		r.event(0, "at_0_second"),
		r.event(2*time.Minute, "at_2m_second"),
	}
	orig := names(tl)
	log, logs := observed()
	var f Faults

	rest := tl.Begin(&f, log, nil)

	assert.Equal(t, []string{"before_start", "at_0_first", "at_0_second"}, r.got(),
		"events at or before zero are applied at once, in time order, ties in timeline order")
	assert.Equal(t, []string{"at_2m", "at_2m_second", "at_5m"}, names(rest),
		"the rest are returned sorted, ties in timeline order")
	assert.Equal(t, orig, names(tl), "Begin does not reorder the caller's timeline")
	assert.Equal(t, r.got(), messages(logs), "each applied event is logged")
	for _, e := range logs.All() {
		assert.Equal(t, zapcore.WarnLevel, e.Level)
		assert.Equal(t, "note of "+e.Message, e.ContextMap()["note"])
	}
}

func TestBeginAppliesFaultsAtZero(t *testing.T) {
	tests := []struct {
		name       string
		tl         Timeline
		wantBroken bool
		wantRest   []string
	}{
		{"empty", nil, false, nil},
		{"broken from the start", Timeline{RotateCleanupPassword(0)}, true, nil},
		{"broken later", Timeline{RotateCleanupPassword(time.Hour)}, false, []string{"cleanup_password_rotated"}},
		{"broken then fixed later", Timeline{FixCleanupPassword(time.Hour), RotateCleanupPassword(0)}, true,
			[]string{"cleanup_password_fixed"}},
		{"broken and fixed before start", Timeline{FixCleanupPassword(0), RotateCleanupPassword(-time.Hour)}, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, logs := observed()
			var f Faults
			rest := tt.tl.Begin(&f, log, nil)
			assert.Equal(t, tt.wantBroken, f.CleanupLoginBroken())
			assert.Equal(t, tt.wantRest, names(rest))
			assert.Equal(t, len(tt.tl)-len(rest), logs.Len())
		})
	}
}

func TestPlayAppliesEachAtItsModelTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clock := sim.NewClock(60, time.Time{})
		log, logs := observed()
		var f Faults
		const rotateAt, fixAt = 10 * time.Minute, 30 * time.Minute

		// Record the model time of each change of the fault.
		var mu sync.Mutex
		var changedAt []time.Duration
		tl := Timeline{FixCleanupPassword(fixAt), RotateCleanupPassword(rotateAt)}
		for i := range tl {
			apply := tl[i].Apply
			tl[i].Apply = func(f *Faults) {
				before := f.CleanupLoginBroken()
				apply(f)
				if f.CleanupLoginBroken() != before {
					mu.Lock()
					changedAt = append(changedAt, clock.Now())
					mu.Unlock()
				}
			}
		}
		rest := tl.Begin(&f, log, nil)
		require.Len(t, rest, 2)

		var wg sync.WaitGroup
		wg.Go(func() { rest.Play(t.Context(), clock, &f, log, nil) })

		// Just before each event the fault is as it was; at it, changed.
		time.Sleep(rotateAt/60 - time.Nanosecond)
		synctest.Wait()
		assert.False(t, f.CleanupLoginBroken(), "before %v", rotateAt)
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		assert.True(t, f.CleanupLoginBroken(), "at %v", rotateAt)
		assert.Equal(t, rotateAt, clock.Now())

		time.Sleep((fixAt-rotateAt)/60 - time.Nanosecond)
		synctest.Wait()
		assert.True(t, f.CleanupLoginBroken(), "before %v", fixAt)
		time.Sleep(time.Nanosecond)
		wg.Wait()
		assert.False(t, f.CleanupLoginBroken(), "at %v", fixAt)
		assert.Equal(t, fixAt, clock.Now(), "Play returns once the last event is applied")

		mu.Lock()
		assert.Equal(t, []time.Duration{rotateAt, fixAt}, changedAt)
		mu.Unlock()
		assert.Equal(t, []string{"cleanup_password_rotated", "cleanup_password_fixed"}, messages(logs))
		for _, e := range logs.All() {
			assert.Equal(t, zapcore.WarnLevel, e.Level)
			assert.NotEmpty(t, e.ContextMap()["note"])
		}
	})
}

func TestPlayEventsAtTheSameTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clock := sim.NewClock(60, time.Time{})
		log, _ := observed()
		var r recorder
		tl := Timeline{r.event(time.Minute, "b"), r.event(time.Minute, "c"), r.event(30*time.Second, "a")}
		var f Faults
		tl.Begin(&f, log, nil).Play(t.Context(), clock, &f, log, nil)
		assert.Equal(t, []string{"a", "b", "c"}, r.got())
		assert.Equal(t, time.Minute, clock.Now())
	})
}

func TestBeginAndPlayKeepTiesInOrder(t *testing.T) {
	// Enough events that a sort could reorder ties: events due at one time
	// happen in timeline order.
	synctest.Test(t, func(t *testing.T) {
		clock := sim.NewClock(60, time.Time{})
		log, logs := observed()
		var r recorder
		var tl Timeline
		var want []string
		for slot := range 4 { // want: slot by slot, each in timeline order
			for i := range 60 {
				if i%4 == slot {
					want = append(want, fmt.Sprintf("e%02d", i))
				}
			}
		}
		for i := range 60 {
			at := time.Duration(i%4) * time.Minute // 0, 1m, 2m, 3m, 0, ...
			tl = append(tl, r.event(at, fmt.Sprintf("e%02d", i)))
		}
		var f Faults
		rest := tl.Begin(&f, log, nil)
		assert.Equal(t, want[:15], r.got(), "due at zero")
		assert.Equal(t, want[15:], names(rest))
		rest.Play(t.Context(), clock, &f, log, nil)
		assert.Equal(t, want, r.got())
		assert.Equal(t, want, messages(logs))
		assert.Equal(t, 3*time.Minute, clock.Now())
	})
}

func TestPlayLateStartAppliesPastEventsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clock := sim.NewClock(60, time.Time{})
		log, _ := observed()
		var r recorder
		tl := Timeline{r.event(time.Minute, "past"), r.event(3*time.Minute, "future")}
		var f Faults
		rest := tl.Begin(&f, log, nil)
		require.True(t, clock.Sleep(t.Context(), 2*time.Minute))
		rest.Play(t.Context(), clock, &f, log, nil)
		assert.Equal(t, []string{"past", "future"}, r.got())
		assert.Equal(t, 3*time.Minute, clock.Now())
	})
}

func TestPlayReturnsOnCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clock := sim.NewClock(60, time.Time{})
		log, logs := observed()
		var f Faults
		tl := Timeline{RotateCleanupPassword(10 * time.Minute), FixCleanupPassword(30 * time.Minute)}
		rest := tl.Begin(&f, log, nil)

		ctx, cancel := context.WithCancel(t.Context())
		var returnedAt time.Duration
		var wg sync.WaitGroup
		wg.Go(func() {
			rest.Play(ctx, clock, &f, log, nil)
			returnedAt = clock.Now()
		})
		require.True(t, clock.Sleep(t.Context(), 15*time.Minute))
		cancel()
		wg.Wait()

		assert.Equal(t, 15*time.Minute, returnedAt, "Play returns when ctx is done, not at the next event")
		assert.True(t, f.CleanupLoginBroken(), "the fix at 30m never came")
		assert.Equal(t, []string{"cleanup_password_rotated"}, messages(logs))
	})
}

func TestPlayCancelledBeforeStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clock := sim.NewClock(60, time.Time{})
		log, logs := observed()
		var f Faults
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		Timeline{RotateCleanupPassword(time.Minute)}.Play(ctx, clock, &f, log, nil)
		assert.False(t, f.CleanupLoginBroken())
		assert.Zero(t, logs.Len())
		assert.Zero(t, clock.Now())
	})
}
