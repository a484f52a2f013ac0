package vmstate

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestStateString(t *testing.T) {
	want := map[State]string{
		Cloned: "cloned", Booting: "booting", Running: "running", Finished: "finished",
		Orphaned: "orphaned", NeverBooted: "never_booted", Count: "State(6)", 200: "State(200)",
	}
	for s, name := range want {
		assert.Equal(t, name, s.String())
	}
	for i, s := range States {
		assert.Equal(t, State(i), s, "States is in order")
	}
}
