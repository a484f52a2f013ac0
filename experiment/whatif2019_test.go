package experiment

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/internal/racedetect"
)

// TestWhatIf2019: the built-in travis-2019-what-if's variants, 2 replicas
// each, with their controls (not its sweep): once the stalls stop, the
// storm ends by itself with the API limit as it was, more slowly than 6
// hours at the daily peak's load (draining) or within them (recovered);
// under the assumption that a refused API call uses up the cloud's limit
// it does not (stuck, its control healthy); and with the self-imposed limit
// below the cloud's from the start, no call is refused, and the assumption
// changes nothing (the same figures, replica for replica).
func TestWhatIf2019(t *testing.T) {
	if racedetect.On {
		t.Skip("Serial runs only: see internal/racedetect")
	}
	src, ok := ExperimentSource("travis-2019-what-if")
	require.True(t, ok)
	text := string(src)
	text = text[:strings.Index(text, "\nsweep:")+1]
	require.Equal(t, 1, strings.Count(text, "\nreplicas: 10\n"))
	text = strings.Replace(text, "\nreplicas: 10\n", "\nreplicas: 2\n", 1)
	e, err := ParseExperiment("travis-2019-what-if.yaml", []byte(text), ".")
	require.NoError(t, err)
	results := runAll(t, e)
	for _, tt := range []struct {
		variant string
		want    []Outcome
	}{
		{"the limit unchanged", []Outcome{Draining, Recovered}},
		{"the limit lowered to 3.5", []Outcome{Draining, Recovered}},
		{"refused calls use up the limit", []Outcome{Stuck}},
		{"refused calls use up the limit, the limit lowered to 3.5", []Outcome{Draining, Recovered}},
	} {
		rs := resultsOf(results, tt.variant, nil)
		require.Len(t, rs, 2)
		for _, r := range rs {
			assert.Contains(t, tt.want, Outcome(r.Outcome), "%s, replica %d: %s", tt.variant, r.Replica, r.Verdict.Why)
		}
	}
	lowered, both := resultsOf(results, "the limit lowered to 3.5", nil), resultsOf(results, "refused calls use up the limit, the limit lowered to 3.5", nil)
	for i := range lowered {
		assert.Equal(t, lowered[i].Measures, both[i].Measures, "replica %d: with no call refused, the assumption changes nothing", i)
	}
}
