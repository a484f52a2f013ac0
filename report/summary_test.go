package report

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"vmstorm/analysis"
	"vmstorm/config"
)

// TestStormLineNeverWritesAFigureAsZero: the storm line's requeues per
// arrival is written so that a run with requeues never reads as none:
// -breaker's 139 requeues for 11714 arrivals once read "(0.0 per
// arrival)" beside "yes".
func TestStormLineNeverWritesAFigureAsZero(t *testing.T) {
	cfg := config.Default()
	tests := []struct {
		name              string
		storm             analysis.StormStats
		requeues, arrived int64
		says, doesNotSay  string
	}{
		{"a storm of few requeues", analysis.StormStats{Happened: true, Start: time.Hour, PeakRate: 3.2}, 139, 11714, "(0.012 per arrival)", "(0.0 per arrival)"},
		{"no storm, a few requeues", analysis.StormStats{}, 4, 11714, "(0.00034 per arrival)", "(0.00 per arrival)"},
		{"a storm whose peak is under one a minute", analysis.StormStats{Happened: true, Start: time.Hour, PeakRate: 0.4}, 30, 20, "peak 0.40 requeues/min", "peak 0 requeues/min"},
		{"none at all", analysis.StormStats{}, 0, 100, "(0 per arrival)", "-0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line := stormLine(cfg, tt.storm, tt.requeues, tt.arrived)
			assert.Contains(t, line, tt.says)
			assert.NotContains(t, line, tt.doesNotSay)
		})
	}
}
