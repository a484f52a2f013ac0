package config_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/config"
)

// TestAssumptionsAreTheAssumptionsSection: every parameter of the
// assumptions section has its evidence, its alternative and what it
// decides in config.Assumptions, in the order of Params, and nothing else
// does; each is a switch, off by default, so that a run at the defaults is
// the model as it was before the assumptions were named.
func TestAssumptionsAreTheAssumptionsSection(t *testing.T) {
	def := config.Default()
	var flags []string
	for _, p := range config.Params {
		if p.Section == config.SectionAssumptions {
			flags = append(flags, p.Flag)
			assert.True(t, p.IsBool(), "-%s is a switch", p.Flag)
			assert.Equal(t, "false", p.Get(&def), "-%s is off by default", p.Flag)
		}
	}
	require.NotEmpty(t, flags)
	var listed []string
	for _, a := range config.Assumptions {
		listed = append(listed, a.Flag)
		for what, text := range map[string]string{"evidence": a.Evidence, "otherwise": a.Otherwise, "decides": a.Decides} {
			assert.NotEmpty(t, text, "%s: its %s", a.Flag, what)
		}
		got, ok := config.LookupAssumption(a.Flag)
		assert.True(t, ok)
		assert.Equal(t, a, got)
	}
	assert.Equal(t, flags, listed, "one entry per parameter of the section, in order")
	_, ok := config.LookupAssumption("vms")
	assert.False(t, ok, "a parameter that is not an assumption")
}
