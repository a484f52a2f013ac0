package report_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/analysis"
	"vmstorm/report"
)

// TestWriteChecksListsCalibrationsApart: the checks, each with its
// figures and its causes on lines of their own under it, and then, apart,
// the calibrations.
func TestWriteChecksListsCalibrationsApart(t *testing.T) {
	results := []analysis.CheckResult{
		{Check: analysis.Check{Name: "the leak fills the cluster", Causes: []string{"janitor_broken"}}, OK: true, Model: "7046", Want: "at least 6000"},
		{Check: analysis.Check{Name: "a normal peak", Calibration: true}, OK: true, Model: "226", Want: "from 150 to 250"},
		{Check: analysis.Check{Name: "the alert is late", Causes: []string{"janitor_broken", "stale_report"}}, OK: false, Model: "20:01", Want: "16:30 to 18:46"},
	}
	var out bytes.Buffer
	require.NoError(t, report.WriteChecks(&out, "s", results))
	text := out.String()
	checks, calibrations, found := strings.Cut(text, "CALIBRATIONS (s")
	require.True(t, found, "a calibrations table:\n%s", text)
	assert.Contains(t, checks, "FAITHFULNESS (s)")
	assert.Contains(t, checks, "  ok    the leak fills the cluster\n        model   7046\n        want    at least 6000\n        causes  janitor_broken\n")
	assert.Contains(t, checks, "  FAIL  the alert is late\n        model   20:01\n        want    16:30 to 18:46\n        causes  janitor_broken, stale_report\n")
	assert.Contains(t, checks, "1 of 2 checks hold")
	assert.NotContains(t, checks, "a normal peak")
	assert.Contains(t, calibrations, "  ok    a normal peak\n        model   226\n        want    from 150 to 250\n", "a calibration names no causes")
	assert.NotContains(t, calibrations, "causes")
	assert.Contains(t, calibrations, "1 of 1 calibrations hold")
	assert.False(t, analysis.Hold(results))
	assert.True(t, analysis.Hold(results[:2]))

	out.Reset()
	require.NoError(t, report.WriteChecks(&out, "s", results[:1]))
	assert.NotContains(t, out.String(), "CALIBRATIONS", "no empty table")
}
