package report

import (
	"reflect"
	"strings"
	"testing"
	"time"
	"vmstorm/config"

	"github.com/stretchr/testify/assert"
)

func TestParamValue(t *testing.T) {
	type item struct {
		Name  string
		Share float64
		Limit *int64
		Skip  func()
	}
	limit := int64(3)
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"a duration, as a flag takes it", 90 * time.Minute, "1h30m"},
		{"no calendar", time.Time{}, "none"},
		{"a calendar time, in UTC", time.Date(2015, 8, 4, 19, 3, 0, 0, time.FixedZone("CEST", 2*3600)), "2015-08-04T17:03:00Z"},
		{"a float", 0.25, "0.25"},
		{"a bool", true, "yes"},
		{"an empty string", "", "none"},
		{"an empty list", []item{}, "none"},
		{"a nil pointer", (*item)(nil), "none"},
		{"a list of structs, non-zero fields", []item{{Name: "com", Share: 1}, {Name: "org", Limit: &limit, Skip: func() {}}},
			"{Name=com Share=1}, {Name=org Limit=3}"},
		{"a list of durations", []time.Duration{time.Minute, 2 * time.Hour}, "1m, 2h"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, paramValue(reflect.ValueOf(tt.v)))
		})
	}
}

func TestConfigParams(t *testing.T) {
	cfg := config.Default()
	cfg.Seed = 9
	got := map[string]string{}
	for _, p := range configParams(cfg) {
		assert.NotContains(t, got, p.Name, "one row per parameter")
		got[p.Name] = p.Value
		// Whatever Config gains, the table shows values, not addresses.
		assert.NotContains(t, p.Value, "0x", "%s", p.Name)
	}
	for name, want := range map[string]string{
		"VMs": "200", "Seed": "9", "BreakCleanup": "no", "Duration": "1h", "Epoch": "none",
		"Clone.Mean": "30s", "Clone.Spread": "10s", "ArrivalsPerMinute": "12",
	} {
		assert.Equal(t, want, got[name], name)
	}
	for name := range got {
		assert.False(t, strings.HasPrefix(name, "."), name)
	}
}
