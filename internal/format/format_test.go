package format

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestModelTime(t *testing.T) {
	epoch := time.Date(2015, 7, 31, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		epoch        time.Time
		t            time.Duration
		want, minute string
	}{
		{time.Time{}, 0, "T+00:00:00", "T+00:00"},
		{time.Time{}, 90*time.Minute + 59*time.Second + time.Millisecond, "T+01:30:59", "T+01:31"},
		{time.Time{}, 150 * time.Hour, "T+150:00:00", "T+150:00"},
		{epoch, 4*24*time.Hour + 17*time.Hour + 45*time.Minute, "2015-08-04 17:45:00", "2015-08-04 17:45"},
		{time.Date(2015, 7, 30, 17, 0, 0, 0, time.FixedZone("PDT", -7*3600)), time.Hour, "2015-07-31 01:00:00", "2015-07-31 01:00"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, ModelTime(tt.epoch, tt.t))
		assert.Equal(t, tt.minute, Minute(tt.epoch, tt.t))
	}
}

func TestDuration(t *testing.T) {
	tests := map[time.Duration]string{
		0:                                   "0s",
		1500 * time.Microsecond:             "2ms",
		20 * time.Second:                    "20s",
		2 * time.Minute:                     "2m",
		time.Hour + 143503440:               "1h",
		time.Hour + 5*time.Minute:           "1h5m",
		time.Hour + 5*time.Minute + 3e9:     "1h5m3s",
		95*time.Hour + 59*time.Minute + 1e9: "95h59m1s",
		-2 * time.Minute:                    "-2m",
	}
	for d, want := range tests {
		assert.Equal(t, want, Duration(d), "%v", d)
	}
}

func TestFigure(t *testing.T) {
	tests := []struct {
		v    float64
		want string
	}{
		{7, "7"}, {-4895.5, "-4895.5"}, {3.79, "3.8"}, {1, "1"}, {0, "0"}, {math.Copysign(0, -1), "0"},
		{0.4, "0.40"}, {0.0196, "0.020"}, {-0.0171, "-0.017"}, {0.0833, "0.083"}, {-0.25, "-0.25"},
		{1e-7, "0.00000010"}, {2e15, "2000000000000000.0"}, {math.Inf(1), "∞"}, {math.Inf(-1), "-∞"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, Figure(tt.v), "%v", tt.v)
	}
}

func TestNum(t *testing.T) {
	assert.Equal(t, "7", Num(7))
	assert.Equal(t, "3.8", Num(3.79))
	assert.Equal(t, "-1.5", Num(-1.5))
	// Not zero, so never printed as one; and never "-0.0".
	assert.Equal(t, "0.0074", Num(4.0/540))
	assert.Equal(t, "-0.040", Num(-0.04))
	assert.Equal(t, "0", Num(math.Copysign(0, -1)))
	assert.Equal(t, 41.5, Round1(41.46))
	assert.Equal(t, -0.3, Round1(-0.26))
}

func TestWrap(t *testing.T) {
	tests := []struct {
		text                 string
		first, indent, width int
		want                 []string
	}{
		{"", 0, 0, 10, []string{""}},
		{"one two three", 0, 0, 80, []string{"one two three"}},
		{"one two three four", 0, 2, 9, []string{"one two", "three", "four"}},
		{"one two three four", 4, 4, 13, []string{"one two", "three", "four"}},
		{"a  b\tc", 0, 0, 80, []string{"a b c"}},
		{"short averyveryverylongword end", 0, 0, 10, []string{"short", "averyveryverylongword", "end"}},
		{"été à Zürich", 0, 0, 8, []string{"été à", "Zürich"}},
		{"from 2015-08-04 17:45:00 to 2015-08-05 01:00", 0, 0, 20, []string{"from", "2015-08-04 17:45:00", "to 2015-08-05 01:00"}},
		{"on 2015-08-04, then", 0, 0, 12, []string{"on", "2015-08-04,", "then"}},
	}
	for _, tt := range tests {
		got := Wrap(tt.text, tt.first, tt.indent, tt.width)
		assert.Equal(t, tt.want, got, "%q", tt.text)
		for i, l := range got {
			room := tt.width - tt.indent
			if i == 0 {
				room = tt.width - tt.first
			}
			if !strings.Contains(l, "averyvery") {
				assert.LessOrEqual(t, len([]rune(l)), room, "%q", l)
			}
		}
	}
}
