package compare

import "testing"

// BenchmarkDiff measures one Diff of 30 against 30 log-normal values, the
// size of one measure's comparison in a 30-replica experiment.
func BenchmarkDiff(b *testing.B) {
	draw := logNormal(1, 0)
	base, variant := draw(1, 1, 30), draw(1, 2, 30)
	r := seeded(1)
	for b.Loop() {
		if _, err := Diff(base, variant, r); err != nil {
			b.Fatal(err)
		}
	}
}
