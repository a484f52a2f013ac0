package incident

import (
	"os"
	"regexp"
	"strings"
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

// TestMitigationTableHasEveryMitigation: a constant added without its
// entry in MitigationTable has no name and no switch, and fails here (the
// wiring's own test is pipeline's TestEveryMitigationIsWired).
func TestMitigationTableHasEveryMitigation(t *testing.T) {
	for m, e := range MitigationTable {
		assert.NotEmpty(t, e.Name, "Mitigation(%d) has no name", m)
		assert.NotEmpty(t, e.Switch, "Mitigation(%d) has no switch", m)
		assert.Equal(t, e.Name, MitigationNames[m])
	}
}

// TestMitigationsDocListsTheNames: docs/mitigations.md lists the names a
// timeline action takes; the list is the table's, in its order.
func TestMitigationsDocListsTheNames(t *testing.T) {
	doc, err := os.ReadFile("../docs/mitigations.md")
	require.NoError(t, err)
	list := regexp.MustCompile(`\(names: ([^)]*)\)`).FindSubmatch(doc)
	require.NotNil(t, list, "docs/mitigations.md lists the names as (names: ...)")
	var names []string
	for _, m := range regexp.MustCompile("`([a-z_]+)`").FindAllSubmatch(list[1], -1) {
		names = append(names, string(m[1]))
	}
	assert.Equal(t, strings.Join(MitigationNames[:], " "), strings.Join(names, " "), "docs/mitigations.md's names")
}
