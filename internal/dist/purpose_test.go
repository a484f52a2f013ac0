package dist

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// byName is every Purpose by the name of its constant; the test of its
// length keeps it whole.
var byName = map[string]Purpose{
	"Arrivals": Arrivals, "JanitorPhase": JanitorPhase, "JobDraws": JobDraws, "VMDraws": VMDraws,
	"Stall": Stall, "Crash": Crash, "Backoff": Backoff,
}

func TestEveryPurposeIsListed(t *testing.T) {
	require.Len(t, byName, int(numPurposes)-1, "byName lists every purpose")
	names := map[string]bool{}
	for p := Purpose(1); p < numPurposes; p++ {
		assert.NotEmpty(t, purposes[p].name, "purpose %d has an identity", p)
		assert.False(t, names[p.String()], "one name for one purpose: %s", p)
		names[p.String()] = true
	}
	assert.Equal(t, "Purpose(0)", Purpose(0).String())
	assert.Panics(t, func() { Purpose(0).Stream(1) })
	assert.Panics(t, func() { numPurposes.Stream(1) })
}

// knownShared is the pairs of purposes that draw from one identity today,
// each a fault to mend, not a choice: a pair listed here that no longer
// meets fails the test too, so that the list does not outlive the fault.
var knownShared = [][2]Purpose{}

// TestPurposesDrawFromDisjointIdentities: no two purposes can draw from one
// identity. Two identities can meet if they have as many parts, and at
// every part the two can hold one value: two ids always can; an id and a
// tag, if the tag is at least the id's least value; two tags, if they are
// equal.
func TestPurposesDrawFromDisjointIdentities(t *testing.T) {
	for a := Purpose(1); a < numPurposes; a++ {
		for b := a + 1; b < numPurposes; b++ {
			known := slices.Contains(knownShared, [2]Purpose{a, b})
			if meet(purposes[a], purposes[b]) {
				assert.True(t, known, "the %s and %s purposes can draw from one identity: %s and %s", a, b, shape(purposes[a]), shape(purposes[b]))
			} else {
				assert.False(t, known, "%s and %s are listed as sharing an identity, and no longer do: take them off knownShared", a, b)
			}
		}
	}
}

// part is one part of an identity: an id of at least min, or a tag.
type part struct {
	tag bool
	v   uint64 // the tag, or the id's least value
}

func parts(id identity) []part {
	var out []part
	for _, r := range id.ids {
		out = append(out, part{v: r.min})
	}
	if id.tagged {
		out = append(out, part{tag: true, v: id.tag})
	}
	return out
}

func meet(a, b identity) bool {
	pa, pb := parts(a), parts(b)
	if len(pa) != len(pb) {
		return false
	}
	for i := range pa {
		x, y := pa[i], pb[i]
		switch {
		case x.tag && y.tag && x.v != y.v,
			x.tag && !y.tag && x.v < y.v,
			!x.tag && y.tag && y.v < x.v:
			return false
		}
	}
	return true
}

func shape(id identity) string {
	var s []string
	for _, r := range id.ids {
		s = append(s, r.name)
	}
	if id.tagged {
		s = append(s, strconv.FormatUint(id.tag, 10))
	}
	return "(seed" + strings.Join(append([]string{""}, s...), ", ") + ")"
}

func TestMeet(t *testing.T) {
	j, a := idRange{"job", 1}, idRange{"attempt", 1}
	for _, tt := range []struct {
		a, b identity
		meet bool
	}{
		{identity{}, identity{}, true},
		{identity{}, identity{tagged: true}, false},
		{identity{ids: []idRange{j, a}, tagged: true, tag: 1}, identity{ids: []idRange{j, a}, tagged: true, tag: 1}, true},
		{identity{ids: []idRange{j, a}, tagged: true, tag: 1}, identity{ids: []idRange{j, a}, tagged: true, tag: 2}, false},
		{identity{ids: []idRange{j}, tagged: true, tag: 0}, identity{ids: []idRange{j, a}}, false}, // attempts from 1
		{identity{ids: []idRange{j}, tagged: true, tag: 1}, identity{ids: []idRange{j, a}}, true},
		{identity{ids: []idRange{j, a}}, identity{ids: []idRange{j}, tagged: true, tag: 1}, true},
	} {
		assert.Equal(t, tt.meet, meet(tt.a, tt.b), "%s and %s", shape(tt.a), shape(tt.b))
		assert.Equal(t, tt.meet, meet(tt.b, tt.a), "%s and %s", shape(tt.b), shape(tt.a))
	}
}

// TestAPurposeDrawsFromItsIdentity: a purpose's stream is Stream's for its
// ids and then its tag, so that the list is what the model draws from.
func TestAPurposeDrawsFromItsIdentity(t *testing.T) {
	for p := Purpose(1); p < numPurposes; p++ {
		id := purposes[p]
		ids := []uint64{}
		for i := range id.ids {
			ids = append(ids, uint64(17+i))
		}
		tuple := slices.Clone(ids)
		if id.tagged {
			tuple = append(tuple, id.tag)
		}
		assert.Equal(t, draws(Stream(2015, tuple...), 10), draws(p.Stream(2015, ids...), 10), "%s: %s", p, shape(id))
		assert.Panics(t, func() { p.Stream(2015, append(ids, 1)...) }, "%s with an id too many", p)
	}
}

// modelDirs are the packages of the model (architecture.json's Model);
// they draw only through purposes and use no random source of their own.
var modelDirs = []string{"pipeline", "workers", "cluster", "capacity", "mitigate", "incident"}

// streamCallsOutsideTheModel are the calls of Stream itself that are not
// the model's draws: an experiment's seeds for its replicas.
var streamCallsOutsideTheModel = map[string]int{"experiment/run.go": 1}

// TestModelDrawsOnlyThroughPurposes reads the module's source (its test
// files aside): the model draws only through a declared Purpose, each at one
// place, so that two places cannot share a purpose by accident (a second
// place that needs one purpose's draws calls the first); every purpose is
// drawn from; Stream itself is called only where listed; and no model
// package calls math/rand's functions.
func TestModelDrawsOnlyThroughPurposes(t *testing.T) {
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	sites := map[Purpose][]string{}
	streamCalls := map[string]int{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == "internal/dist" || (rel != "." && strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		distName, randName := "", ""
		for _, im := range f.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			name := filepath.Base(p)
			if im.Name != nil {
				name = im.Name.Name
			}
			switch p {
			case "vmstorm/internal/dist":
				distName = name
			case "math/rand", "math/rand/v2":
				randName = "rand"
				if im.Name != nil {
					randName = im.Name.Name
				}
			}
		}
		inModel := slices.ContainsFunc(modelDirs, func(dir string) bool { return strings.HasPrefix(rel, dir+"/") })
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			at := fmt.Sprintf("%s:%d", rel, fset.Position(call.Pos()).Line)
			switch x := sel.X.(type) {
			case *ast.Ident: // pkg.F(...)
				switch {
				case distName != "" && x.Name == distName && sel.Sel.Name == "Stream":
					streamCalls[rel]++
					assert.Contains(t, streamCallsOutsideTheModel, rel, "%s: dist.Stream called; the model draws through a dist.Purpose", at)
				case inModel && randName != "" && x.Name == randName:
					t.Errorf("%s: %s.%s called; the model draws only from the seeded streams (dist.Purpose)", at, randName, sel.Sel.Name)
				}
			case *ast.SelectorExpr: // dist.Purpose.Stream(...)
				pkg, ok := x.X.(*ast.Ident)
				if !ok || distName == "" || pkg.Name != distName || sel.Sel.Name != "Stream" {
					return true
				}
				p, declared := byName[x.Sel.Name]
				if assert.True(t, declared, "%s: dist.%s is not a declared purpose", at, x.Sel.Name) {
					sites[p] = append(sites[p], at)
				}
			}
			return true
		})
		return nil
	})
	require.NoError(t, err)
	for name, p := range byName {
		assert.Len(t, sites[p], 1, "dist.%s is drawn from at one place: %v", name, sites[p])
	}
	for file, n := range streamCallsOutsideTheModel {
		assert.Equal(t, n, streamCalls[file], "dist.Stream calls in %s", file)
	}
}
