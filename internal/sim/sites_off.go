//go:build !simsites

package sim

// SitesCounted reports whether this build counts resumptions by site: it
// does under the build tag simsites (see Sites).
const SitesCounted = false

// Sites is how many times a process has blocked at each site, in builds
// with the tag simsites; nil in this one.
func Sites() map[string]int64 { return nil }

// ResetSites sets every site's count to zero (in builds with the tag
// simsites).
func ResetSites() {}

func countSite() {}
