//go:build !race

// Package racedetect tells tests whether the race detector is on. A Serial
// kernel runs one model goroutine at a time, each handing the next the
// baton through a channel, so every access of one is ordered before every
// access of the next: the race detector cannot find a race in a Serial
// run, and slows one down some thirty times. Tests whose every run is
// Serial skip under it (the Parallel-mode tests are the race detector's),
// and run in a plain `go test ./...`, which CI runs too.
package racedetect

// On is false: this build has no race detector.
const On = false
