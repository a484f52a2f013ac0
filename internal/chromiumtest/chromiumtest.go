// Package chromiumtest finds headless Chromium for the tests that open a
// page in it for real (the HTML report's, the game day's), and gives each
// a profile of its own.
package chromiumtest

import (
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/require"
)

// Find returns the path of Chromium and a profile directory for it, removed
// when the test ends; the test skips, saying what Chromium would have
// done (to, such as "to render the report headless"), if Chromium is not
// on PATH. Chromium's helper processes can outlive the browser for a
// moment and write to its profile, so the profile is not in t.TempDir,
// whose removal would then fail the test.
func Find(t *testing.T, to string) (chromium, profile string) {
	t.Helper()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not on PATH; " + to + ", install it (Debian: apt-get install chromium)")
	}
	profile, err = os.MkdirTemp("", "vmstorm-chromium-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(profile) })
	return chromium, profile
}
