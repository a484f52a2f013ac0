package report

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// deadPID is a process id no process can have: above Linux's largest
// (PID_MAX_LIMIT, 2^22).
const deadPID = 99999999

// TestTemporariesOfWriteFileAreRecognized: every temporary that WriteFile
// creates (through createTemporary) is one of its path's, and of its
// path's only, whatever the report's name, and names its writer: this
// process, alive, so that RemoveStaleTemporaries keeps them all.
func TestTemporariesOfWriteFileAreRecognized(t *testing.T) {
	for _, name := range []string{"F.html", "r.svg", "[a]*?.png", ".hidden.html", "with space.htm"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, name)
			for range 200 {
				f, err := createTemporary(path)
				require.NoError(t, err)
				require.NoError(t, f.Close())
				got := filepath.Base(f.Name())
				require.Equal(t, dir, filepath.Dir(f.Name()), "in the report's directory")
				pid, ok := isTemporary(name, got)
				require.True(t, ok, "%q is a temporary of %q", got, name)
				require.Equal(t, strconv.Itoa(os.Getpid()), pid, "%q names its writer", got)
				_, ok = isTemporary("x"+name, got)
				require.False(t, ok)
				_, ok = isTemporary(name[1:], got)
				require.False(t, ok)
			}
			require.NoError(t, RemoveStaleTemporaries(path))
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			assert.Len(t, entries, 200, "the temporaries of a live process are kept")
		})
	}
}

// TestATemporaryBeingWrittenIsKept is a second run with the same report
// while the first writes its temporary: the temporary is kept while its
// writer lives (its process id) or holds its lock, and removed once
// neither does.
func TestATemporaryBeingWrittenIsKept(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "F.html")
	writing, err := createTemporary(path) // this process's, locked
	require.NoError(t, err)
	require.NoError(t, RemoveStaleTemporaries(path))
	assert.FileExists(t, writing.Name(), "a temporary being written, by a process alive")

	// A writer this process cannot see (another host's, or a process id
	// reused): only its lock says it writes.
	elsewhere := filepath.Join(dir, fmt.Sprintf(".F.html.tmp-%d-17", deadPID))
	require.NoError(t, os.Rename(writing.Name(), elsewhere))
	require.NoError(t, RemoveStaleTemporaries(path))
	assert.FileExists(t, elsewhere, "a temporary whose writer holds its lock")
	require.NoError(t, writing.Close()) // the writer is gone: its lock with it
	require.NoError(t, RemoveStaleTemporaries(path))
	assert.NoFileExists(t, elsewhere, "a temporary no one writes")

	// Named by a process alive, not (yet) locked: kept as well.
	justMade := filepath.Join(dir, fmt.Sprintf(".F.html.tmp-%d-18", os.Getpid()))
	require.NoError(t, os.WriteFile(justMade, nil, 0o600))
	require.NoError(t, RemoveStaleTemporaries(path))
	assert.FileExists(t, justMade, "a temporary of a process alive, between its creation and its lock")
}

// TestRemoveStaleTemporaries: the temporaries of the report are removed,
// and every look-alike is kept.
func TestRemoveStaleTemporaries(t *testing.T) {
	type kind int
	const (
		file kind = iota
		directory
		symlink // to a file named "target"
	)
	tests := []struct {
		report  string // the report's name; "F.html" if empty
		name    string // an entry in its directory
		kind    kind
		removed bool
	}{
		{"", ".F.html.tmp-1", file, true},
		{"", ".F.html.tmp-4294967295", file, true},
		{"", ".F.html.tmp-0123", file, true},
		{"", fmt.Sprintf(".F.html.tmp-%d-1", deadPID), file, true},
		{"", fmt.Sprintf(".F.html.tmp-%d-0123", deadPID), file, true},
		{"", fmt.Sprintf(".F.html.tmp-%d-1", os.Getpid()), file, false}, // its writer lives
		{"", ".F.html.tmp-1-", file, false},
		{"", ".F.html.tmp-1-2-3", file, false},
		{"", ".F.html.tmp-x-3", file, false},
		{"", "F.html", file, false},
		{"", ".F.html", file, false},
		{"", ".F.html.tmp-", file, false},
		{"", ".F.html.tmp-12a", file, false},
		{"", ".F.html.tmp-12.bak", file, false},
		{"", ".F.html.tmp-1.tmp-2", file, false},
		{"", ".F.html.tmp--1", file, false},
		{"", ".F.html.tmp-+1", file, false},
		{"", ".F.html.tmp- 1", file, false},
		{"", ".F.html.tmp-*", file, false},
		{"", "F.html.tmp-1", file, false},
		{"", "..F.html.tmp-1", file, false},
		{"", "x.F.html.tmp-1", file, false},
		{"", ".f.html.tmp-1", file, false},
		{"", ".F.HTML.tmp-1", file, false},
		{"", ".F.htm.tmp-1", file, false},
		{"", ".G.html.tmp-1", file, false},
		{"", ".F.html.TMP-1", file, false},
		{"", ".F.html.tmp-7", directory, false},
		{"", ".F.html.tmp-8", symlink, false},
		// A name with glob metacharacters is matched as it is written.
		{"[a]*.html", ".[a]*.html.tmp-5", file, true},
		{"[a]*.html", ".aXYZ.html.tmp-5", file, false},
		{"[a]*.html", ".[a]X.html.tmp-5", file, false},
	}
	for _, tt := range tests {
		report := tt.report
		if report == "" {
			report = "F.html"
		}
		t.Run(report+" "+tt.name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, "target"), []byte("keep"), 0o644))
			entry := filepath.Join(dir, tt.name)
			switch tt.kind {
			case file:
				require.NoError(t, os.WriteFile(entry, nil, 0o600)) // 0 bytes, as a SIGKILL leaves it
			case directory:
				require.NoError(t, os.Mkdir(entry, 0o755))
			case symlink:
				require.NoError(t, os.Symlink("target", entry))
			}

			require.NoError(t, RemoveStaleTemporaries(filepath.Join(dir, report)))

			want := []string{"target"}
			if !tt.removed {
				want = append(want, tt.name)
			}
			sort.Strings(want)
			var got []string
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			for _, e := range entries {
				got = append(got, e.Name())
			}
			assert.Equal(t, want, got)
		})
	}
}

func TestRemoveStaleTemporariesElsewhere(t *testing.T) {
	t.Run("only in the report's directory", func(t *testing.T) {
		dir := t.TempDir()
		sub := filepath.Join(dir, "sub")
		require.NoError(t, os.Mkdir(sub, 0o755))
		inSub := filepath.Join(sub, ".F.html.tmp-1")
		require.NoError(t, os.WriteFile(inSub, nil, 0o600))
		require.NoError(t, RemoveStaleTemporaries(filepath.Join(dir, "F.html")))
		assert.FileExists(t, inSub)
	})
	t.Run("a relative path is in the working directory", func(t *testing.T) {
		dir := t.TempDir()
		t.Chdir(dir)
		require.NoError(t, os.WriteFile(".F.html.tmp-3", nil, 0o600))
		require.NoError(t, os.WriteFile(".F.html.tmp-x", nil, 0o600))
		require.NoError(t, RemoveStaleTemporaries("F.html"))
		assert.NoFileExists(t, ".F.html.tmp-3")
		assert.FileExists(t, ".F.html.tmp-x")
	})
	t.Run("a missing directory holds none", func(t *testing.T) {
		assert.NoError(t, RemoveStaleTemporaries(filepath.Join(t.TempDir(), "no", "such", "F.html")))
	})
	t.Run("a directory's path has none", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "..tmp-1"), nil, 0o600))
		require.NoError(t, RemoveStaleTemporaries(dir+string(filepath.Separator)))
		assert.FileExists(t, filepath.Join(dir, "..tmp-1"))
	})
}
