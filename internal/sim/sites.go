//go:build simsites

package sim

import (
	"fmt"
	"maps"
	"runtime"
	"strings"
	"sync"
)

// SitesCounted reports whether this build counts resumptions by site: it
// does under the build tag simsites (see Sites).
const SitesCounted = true

var sites struct {
	sync.Mutex
	n map[string]int64
}

// Sites is how many times a process has blocked at each site since the
// last ResetSites, in builds with the tag simsites (nil in others): a
// site is the model's call that waited (its function and line), after the
// package's own waits it went through, innermost first ("Sleep<" ...).
// Each block is one resumption, so the counts add up to the kernels'
// Events. It is for measuring where a run's events come from; counting
// costs a stack walk a block.
func Sites() map[string]int64 {
	sites.Lock()
	defer sites.Unlock()
	return maps.Clone(sites.n)
}

// ResetSites sets every site's count to zero.
func ResetSites() {
	sites.Lock()
	defer sites.Unlock()
	sites.n = nil
}

// countSite counts a block at the caller of block.
func countSite() {
	var pcs [16]uintptr
	n := runtime.Callers(3, pcs[:]) // above countSite and block
	frames := runtime.CallersFrames(pcs[:n])
	var key strings.Builder
	for {
		f, more := frames.Next()
		name, inSim := strings.CutPrefix(f.Function, "vmstorm/internal/sim.")
		if !inSim {
			fmt.Fprintf(&key, "%s:%d", strings.TrimPrefix(f.Function, "vmstorm/"), f.Line)
			break
		}
		key.WriteString(name + "<")
		if !more {
			break
		}
	}
	sites.Lock()
	defer sites.Unlock()
	if sites.n == nil {
		sites.n = map[string]int64{}
	}
	sites.n[key.String()]++
}
