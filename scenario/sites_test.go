package scenario

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"vmstorm/internal/racedetect"
	"vmstorm/internal/sim"
)

// TestResumptionsBySite says where each built-in scenario's events come
// from: how many times a process blocked at each of the model's waits,
// per job and as a share of the replay's events, which the counts must add
// up to. It counts only in a build with the tag simsites, and reads best
// one scenario at a time:
//
//	go test -tags simsites -run 'TestResumptionsBySite/travis-2019-gce' -v ./scenario
func TestResumptionsBySite(t *testing.T) {
	if !sim.SitesCounted {
		t.Skip("counts only in a build with -tags simsites")
	}
	if racedetect.On {
		t.Skip("Serial runs only: see internal/racedetect")
	}
	for _, b := range Builtins() {
		t.Run(b.Name, func(t *testing.T) { // not parallel: the counts are the process's
			s, err := LoadBuiltin(b.Name)
			require.NoError(t, err)
			sim.ResetSites()
			o := replay(t, s)
			sites := sim.Sites()
			var total int64
			for _, n := range sites {
				total += n
			}
			events, jobs := o.Summary.Clock.Events, o.Summary.Jobs.Arrived
			require.Equal(t, events, total, "every event counted at one site")
			var table strings.Builder
			fmt.Fprintf(&table, "%d events, %d jobs: %.1f events a job\n", events, jobs, float64(events)/float64(jobs))
			for _, site := range slices.SortedFunc(maps.Keys(sites), func(a, b string) int {
				return cmp.Or(cmp.Compare(sites[b], sites[a]), strings.Compare(a, b))
			}) {
				n := sites[site]
				fmt.Fprintf(&table, "%10d %5.1f%% %5.2f/job  %s\n", n, 100*float64(n)/float64(events), float64(n)/float64(jobs), site)
			}
			t.Log("\n" + table.String())
		})
	}
}
