package analysis

// SetMaxHeld sets the budget of the Analyzers made from now on, for a test
// of it that need not hold a million things; the returned function
// restores MaxHeld. Tests that call it do not run in parallel.
func SetMaxHeld(n int) (restore func()) {
	maxHeld = n
	return func() { maxHeld = MaxHeld }
}
