package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/config"
	"vmstorm/internal/racedetect"
	"vmstorm/internal/sim"
	"vmstorm/outcome"
	"vmstorm/pipeline"
	"vmstorm/report"
	"vmstorm/scenario"
)

// outputs are what one run of the binary's main function wrote: the
// summary (without the clock line, which holds the pace and the wall
// time), and hashes of the CSV series and of the JSON log (without the
// pace that run_started records).
type outputs struct {
	summary     string
	series, log [sha256.Size]byte
	status      int
}

func runOutputs(t *testing.T, args ...string) outputs {
	t.Helper()
	dir := t.TempDir()
	series, log := filepath.Join(dir, "series.csv"), filepath.Join(dir, "log.jsonl")
	var stdout, stderr bytes.Buffer
	status := run(append(args, "-quiet", "-series", series, "-log-file", log), &stdout, &stderr)
	require.Empty(t, stderr.String())
	// The clock's entry, and the lines it wraps onto (indented under its
	// value), hold the wall time: left out.
	var kept []string
	inClock := false
	for line := range strings.Lines(stdout.String()) {
		inClock = strings.HasPrefix(strings.TrimSpace(line), "clock ") || inClock && strings.HasPrefix(line, "          ")
		if !inClock {
			kept = append(kept, line)
		}
	}
	return outputs{summary: strings.Join(kept, ""), series: hashFile(t, series, nil), log: hashFile(t, log, pace), status: status}
}

var pace = regexp.MustCompile(`"speed":("[^"]*"|[^,}]*),?`)

// hashFile hashes the file at path line by line, with what matches drop
// taken out of each line.
func hashFile(t *testing.T, path string, drop *regexp.Regexp) [sha256.Size]byte {
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	h := sha256.New()
	lines := bufio.NewScanner(f)
	lines.Buffer(nil, 1<<20)
	n := 0
	for lines.Scan() {
		line := lines.Bytes()
		if drop != nil {
			line = drop.ReplaceAll(line, nil)
		}
		h.Write(line)
		n++
	}
	require.NoError(t, lines.Err())
	require.Positive(t, n, "%s is empty", path)
	return [sha256.Size]byte(h.Sum(nil))
}

// TestScenariosRepeatExactly: every built-in scenario, run twice at -speed
// max and once paced, writes the same summary (but for its clock line),
// the same CSV series and the same JSON log, byte for byte.
func TestScenariosRepeatExactly(t *testing.T) {
	if racedetect.On {
		t.Skip("Serial runs only: see internal/racedetect")
	}
	for _, b := range scenario.Builtins() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			sc, err := scenario.LoadBuiltin(b.Name)
			require.NoError(t, err)
			// Paced so that the run takes about a quarter of a second of
			// wall time, if the machine keeps up (it does not have to).
			pace := fmt.Sprint(float64(sc.Config.Duration) / float64(250*time.Millisecond))
			first := runOutputs(t, "-scenario", b.Name, "-speed", "max")
			assert.Contains(t, first.summary, "nothing lost              yes")
			assert.Equal(t, first, runOutputs(t, "-scenario", b.Name, "-speed", "max"), "the same seed, the same run")
			assert.Equal(t, first, runOutputs(t, "-scenario", b.Name, "-speed", pace), "at any speed")
		})
	}
}

// TestPacedReplayUnderLoadIsTheSameRun replays travis-2015-osx paced on
// the wall clock while other goroutines keep every core busy, and finds
// the same run as unpaced: load makes model time lag its pace, never
// changes what happens. The pace spreads the 150 model hours over 2 s of
// wall time (its own, 9000, would take a minute), about four times as
// long as the replay takes unpaced, so that the kernel both waits for
// its pace and, under the load, falls behind it.
func TestPacedReplayUnderLoadIsTheSameRun(t *testing.T) {
	if racedetect.On {
		t.Skip("Serial runs only: see internal/racedetect")
	}
	sc, err := scenario.LoadBuiltin("travis-2015-osx")
	require.NoError(t, err)
	require.NotEqual(t, config.MaxSpeed, sc.Config.Speed, "the scenario has a pace of its own")
	unpaced := sc.Config
	unpaced.Speed = config.MaxSpeed
	want, err := outcome.Run(t.Context(), unpaced, pipeline.NewKernel(unpaced, sim.Serial), outcome.Options{Checks: sc.Checks})
	require.NoError(t, err)

	stop := make(chan struct{})
	var burners sync.WaitGroup
	for range runtime.NumCPU() {
		burners.Go(func() {
			for x := 0; ; x++ {
				select {
				case <-stop:
					return
				default:
					runtime.KeepAlive(x * x)
				}
			}
		})
	}
	defer func() { close(stop); burners.Wait() }()

	paced := sc.Config
	paced.Speed = config.Speed(paced.Duration.Seconds() / 2)
	got, err := outcome.Run(t.Context(), paced, pipeline.NewKernel(paced, sim.Serial), outcome.Options{Checks: sc.Checks})
	require.NoError(t, err)
	assert.Equal(t, sim.Serial, got.Summary.Clock.Mode)
	assert.Equal(t, float64(paced.Speed), got.Summary.Clock.Speed, "paced")
	got.Summary.Clock, want.Summary.Clock = pipeline.ClockStats{}, pipeline.ClockStats{}
	got.Summary.Config.Speed = want.Summary.Config.Speed
	var a, b bytes.Buffer
	require.NoError(t, report.WriteSummary(&a, want))
	require.NoError(t, report.WriteSummary(&b, got))
	assert.Equal(t, a.String(), b.String(), "the same summary")
	assert.Equal(t, want.Rows, got.Rows, "the same series")
	assert.Equal(t, want.Analysis.Checks, got.Analysis.Checks, "the same checks")
}
