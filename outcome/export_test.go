package outcome

// SetMaxJudged sets the bound Analyze applies, for a test of it that need
// not write a million marks; the returned function restores MaxJudged.
func SetMaxJudged(n int) (restore func()) {
	maxJudged = n
	return func() { maxJudged = MaxJudged }
}
