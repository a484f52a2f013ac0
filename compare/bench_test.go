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

// BenchmarkSignedRank measures one paired comparison of 30 pairs at the
// level of a family of 50 (99.9 %), the size of one of a 30-replica
// experiment's comparisons.
func BenchmarkSignedRank(b *testing.B) {
	draw := logNormal(1, 0)
	base, variant := draw(1, 1, 30), draw(1, 2, 30)
	d := make([]Difference, 30)
	for i := range d {
		d[i] = Exact(variant[i] - base[i])
	}
	for b.Loop() {
		if _, err := SignedRank(d, Bonferroni(50)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSurvivalMedian measures one Kaplan-Meier median of 30 times, a
// third of them censored.
func BenchmarkSurvivalMedian(b *testing.B) {
	xs := logNormal(1, 0)(1, 3, 30)
	times := make([]Censorable, len(xs))
	for i, x := range xs {
		times[i] = Censorable{At: x, Censored: i%3 == 0}
	}
	for b.Loop() {
		if _, err := SurvivalMedian(times); err != nil {
			b.Fatal(err)
		}
	}
}
