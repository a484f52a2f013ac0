//go:build race

package racedetect

// On is true: this build has the race detector.
const On = true
