package paths

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// entries lists dir, so that a test can see Check left nothing behind.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir) // relative paths (and the probe of ".") stay out of the source tree
	existing := filepath.Join(dir, "my.yaml")
	require.NoError(t, os.WriteFile(existing, []byte("name: x\n"), 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "dir.html"), 0o755))
	link := filepath.Join(dir, "link")
	require.NoError(t, os.Symlink(dir, link))
	alias := filepath.Join(dir, "alias.yaml")
	require.NoError(t, os.Link(existing, alias))
	fifo := filepath.Join(dir, "fifo.log")
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))
	dangling := filepath.Join(dir, "d.log")
	require.NoError(t, os.Symlink(filepath.Join(dir, "t.csv"), dangling))
	astray := filepath.Join(dir, "astray.csv")
	require.NoError(t, os.Symlink("/nonexistent/dir/x.csv", astray))
	in := func(flag, path string) File { return File{Flag: flag, Path: path} }
	out := func(flag, path string) File { return File{Flag: flag, Path: path, Output: true} }

	tests := []struct {
		name  string
		files []File
		want  string // "" for no error, else the whole message
	}{
		{"new outputs in a directory", []File{out("log-file", filepath.Join(dir, "a.log")), out("report", filepath.Join(dir, "a.html"))}, ""},
		{"an existing output is overwritten, as asked", []File{out("series", existing)}, ""},
		{"outputs to /dev/null", []File{out("log-file", "/dev/null"), out("series", "/dev/null")}, ""},
		{"an input read twice", []File{in("scenario", existing), in("analyze", existing)}, ""},
		{"directory missing", []File{out("report", "/nonexistent/dir/x.html")},
			"-report /nonexistent/dir/x.html: directory /nonexistent/dir/: no such file or directory; give a path in an existing directory"},
		{"a directory", []File{out("report", filepath.Join(dir, "dir.html"))},
			"-report " + filepath.Join(dir, "dir.html") + ": is a directory; give a file path"},
		{"under a file", []File{out("report", existing+"/x.html")},
			"-report " + existing + "/x.html: directory " + existing + "/: not a directory; give a path in an existing directory"},
		{"a directory that takes no files", []File{out("report", "/proc/F.html")},
			"-report /proc/F.html: cannot create files in /proc/: no such file or directory; give a path in a directory you can write to"},
		{"an input that is a fifo", []File{in("analyze", fifo)},
			"-analyze " + fifo + ": not a regular file (a fifo); give a file"},
		{"an input that is a device", []File{in("scenario", "/dev/zero")},
			"-scenario /dev/zero: not a regular file (a character device); give a file"},
		{"a dangling link to another output", []File{out("log-file", dangling), out("series", filepath.Join(dir, "t.csv"))},
			"-log-file " + dangling + " and -series " + filepath.Join(dir, "t.csv") + " are the same file: the run would overwrite it; give each output a path of its own"},
		{"a dangling link into a missing directory", []File{out("series", astray)},
			"-series " + astray + " (a link to /nonexistent/dir/x.csv): directory /nonexistent/dir/: no such file or directory; give a path in an existing directory"},
		{"empty", []File{out("log-file", "")}, "-log-file: empty path; give a file name"},
		{"missing input", []File{in("analyze", filepath.Join(dir, "none.csv"))},
			"-analyze " + filepath.Join(dir, "none.csv") + ": no such file or directory"},
		{"a fifo with no reader", []File{out("log-file", fifo)},
			"-log-file " + fifo + ": cannot be written: no such device or address"},
		{"an output over its input", []File{in("scenario", existing), out("log-file", existing)},
			"-scenario " + existing + " and -log-file " + existing + " are the same file: the run would overwrite it; give each output a path of its own"},
		{"two new outputs, one path", []File{out("log-file", filepath.Join(dir, "a.csv")), out("series", filepath.Join(dir, "a.csv"))},
			"-log-file " + filepath.Join(dir, "a.csv") + " and -series " + filepath.Join(dir, "a.csv") + " are the same file: the run would overwrite it; give each output a path of its own"},
		{"the same new file through a link", []File{out("log-file", filepath.Join(dir, "b.html")), out("report", filepath.Join(link, "b.html"))},
			"-log-file " + filepath.Join(dir, "b.html") + " and -report " + filepath.Join(link, "b.html") + " are the same file: the run would overwrite it; give each output a path of its own"},
		{"the same file by a hard link", []File{in("scenario", existing), out("series", alias)},
			"-scenario " + existing + " and -series " + alias + " are the same file: the run would overwrite it; give each output a path of its own"},
		{"relative and absolute", []File{out("log-file", "rel.log"), out("series", "./rel.log")},
			"-log-file rel.log and -series ./rel.log are the same file: the run would overwrite it; give each output a path of its own"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := entries(t, dir)
			err := Check(tt.files)
			if tt.want == "" {
				require.NoError(t, err)
			} else {
				require.EqualError(t, err, tt.want)
			}
			assert.Equal(t, before, entries(t, dir), "Check leaves nothing behind")
		})
	}
}
