package incident

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMitigationNamesRoundTrip pins each mitigation to the name a timeline
// action and a summary give it, and checks that the names and the
// constants map one to one.
func TestMitigationNamesRoundTrip(t *testing.T) {
	tests := []struct {
		m    Mitigation
		name string
	}{
		{Backoff, "backoff"},
		{RetryBudget, "retry_budget"},
		{Breaker, "breaker"},
		{DeleteFailedVMs, "delete_failed_vms"},
		{Reaper, "reaper"},
		{CapacityAware, "capacity_aware"},
		{Shed, "shed"},
	}
	require.Len(t, tests, int(NumMitigations), "a row for every mitigation")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.name, tt.m.String())
			assert.Equal(t, tt.name, MitigationNames[tt.m])
			got, ok := LookupMitigation(tt.name)
			require.True(t, ok)
			assert.Equal(t, tt.m, got)
		})
	}
	seen := map[string]bool{}
	for _, n := range MitigationNames {
		assert.False(t, seen[n], "%q named twice", n)
		seen[n] = true
	}
	for _, bad := range []string{"", "Backoff", "circuit_breaker", "shed ", "retry-budget"} {
		_, ok := LookupMitigation(bad)
		assert.False(t, ok, "%q is no mitigation", bad)
	}
	assert.Equal(t, "Mitigation(7)", NumMitigations.String())
	assert.Equal(t, "Mitigation(-1)", Mitigation(-1).String())
}
