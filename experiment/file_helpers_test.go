package experiment

import (
	"errors"

	"vmstorm/internal/filetest"
	"vmstorm/scenario"
)

// The helpers of the file tests (file_test.go), as package scenario's
// tests of a scenario file have them: an experiment file's mistakes are
// reported the same way.

// refusal reads what an experiment file's refusal said (a scenario.Error,
// as a scenario file's).
func refusal(err error) (filetest.Refusal, bool) {
	var e *scenario.Error
	if !errors.As(err, &e) {
		return filetest.Refusal{}, false
	}
	return filetest.Refusal{File: e.File, Line: e.Line, Column: e.Column, Msg: e.Msg, Hint: e.Hint}, true
}
