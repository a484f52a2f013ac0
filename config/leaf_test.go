package config

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// moduleImports lists the vmstorm packages that the package in dir (a
// path from the module's root) imports, read from the import lists of
// its Go files (not its tests).
func moduleImports(t *testing.T, root, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, dir, "*.go"))
	require.NoError(t, err)
	var out []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		require.NoError(t, err)
		for _, spec := range parsed.Imports {
			path, err := strconv.Unquote(spec.Path.Value)
			require.NoError(t, err)
			if pkg, ok := strings.CutPrefix(path, "vmstorm/"); ok && !slices.Contains(out, pkg) {
				out = append(out, pkg)
			}
		}
	}
	slices.Sort(out)
	return out
}

// TestConfigStandsOnLeaves: config describes and others act, so it stands
// on the bottom of the house only: every vmstorm package it reaches,
// directly or through another, imports no vmstorm package itself. The
// model (workers, cluster, pipeline) is never linked by config, nor by what
// imports config to read a run's parameters (analysis, scenario, metrics).
func TestConfigStandsOnLeaves(t *testing.T) {
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(root, "go.mod"))
	require.NoError(t, err, "the module's root is config's parent")

	reached := map[string][]string{} // package: its vmstorm imports
	var walk func(pkg string)
	walk = func(pkg string) {
		if _, seen := reached[pkg]; seen {
			return
		}
		reached[pkg] = moduleImports(t, root, pkg)
		for _, dep := range reached[pkg] {
			walk(dep)
		}
	}
	walk("config")
	require.NotEmpty(t, reached["config"], "config imports some of the module (the walk reads its files)")
	for pkg, imports := range reached {
		if pkg == "config" {
			continue
		}
		assert.Empty(t, imports, "config reaches %s, which is not a leaf: it imports %v", pkg, imports)
	}
}
