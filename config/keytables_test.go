package config_test

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/config"
)

var update = flag.Bool("update", false, "rewrite the key tables of docs/scenarios.md from config.Params")

// keyTables matches a generated table of docs/scenarios.md, between its
// markers.
var keyTables = regexp.MustCompile(`(?s)<!-- keys: ([a-z]*) -->\n.*?<!-- end keys -->`)

// TestDocsKeyTablesAreGenerated: the key tables of docs/scenarios.md are
// config.KeyTable's, one for each section, so that the doc says what the
// code does. After a change to Params:
//
//	go test ./config -run TestDocsKeyTablesAreGenerated -update
func TestDocsKeyTablesAreGenerated(t *testing.T) {
	const path = "../docs/scenarios.md"
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var seen []string
	out := keyTables.ReplaceAllStringFunc(string(b), func(m string) string {
		section := keyTables.FindStringSubmatch(m)[1]
		seen = append(seen, section)
		return fmt.Sprintf("<!-- keys: %s -->\n%s<!-- end keys -->", section, config.KeyTable(section))
	})
	assert.Equal(t, config.KeySections, seen, "one generated table per section, in order")
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(out), 0o644))
		return
	}
	assert.Equal(t, out, string(b), "docs/scenarios.md's key tables are out of date: run go test ./config -run TestDocsKeyTablesAreGenerated -update")
}
