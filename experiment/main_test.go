package experiment

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any leaves a goroutine behind: Run
// starts one per task under way, and each task a kernel of its own.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
