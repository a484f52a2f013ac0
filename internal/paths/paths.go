// Package paths checks the files a run reads and writes before the run
// starts, so that a path that cannot serve is bad input, reported in one
// line before anything is written: an output in a directory that does not
// exist or cannot be written, an output that is a directory, and two
// outputs (or an output and an input) that are the same file, one of which
// would clobber the other.
package paths

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// File is one path a run reads or writes, named by the flag that gave it.
type File struct {
	Flag   string // the flag, without the dash: log-file
	Path   string
	Output bool // written by the run; otherwise read
}

// Check checks files, in order, and returns the first problem as an error
// that names the flag, the path and what would do. It writes nothing that
// stays: to learn whether a directory takes new files, it creates an empty
// file there and removes it at once.
func Check(files []File) error {
	ids := make([]identity, len(files))
	for i, f := range files {
		id, err := check(f)
		if err != nil {
			return err
		}
		ids[i] = id
		for j := range i {
			if same(ids[j], id) && (f.Output || files[j].Output) {
				return fmt.Errorf("-%s %s and -%s %s are the same file: the run would overwrite it; give each output a path of its own",
					files[j].Flag, files[j].Path, f.Flag, f.Path)
			}
		}
	}
	return nil
}

// identity is what tells two paths to the same file apart: the file's
// FileInfo if it exists, and otherwise the path with its directory's
// links resolved.
type identity struct {
	info fs.FileInfo
	path string
}

func same(a, b identity) bool {
	if a.info != nil && b.info != nil {
		// Several outputs may go to one device: /dev/null discards them
		// all, and no device is clobbered.
		return os.SameFile(a.info, b.info) && a.info.Mode()&fs.ModeDevice == 0
	}
	return a.info == nil && b.info == nil && a.path == b.path
}

func check(f File) (identity, error) {
	if f.Path == "" {
		return identity{}, fmt.Errorf("-%s: empty path; give a file name", f.Flag)
	}
	info, err := os.Stat(f.Path)
	switch {
	case err == nil && info.IsDir():
		return identity{}, fmt.Errorf("-%s %s: is a directory; give a file path", f.Flag, f.Path)
	case err == nil && f.Output:
		if err := writable(f.Path); err != nil {
			return identity{}, fmt.Errorf("-%s %s: cannot be written: %v", f.Flag, f.Path, cause(err))
		}
		return identity{info: info}, nil
	case err == nil && !info.Mode().IsRegular():
		return identity{}, fmt.Errorf("-%s %s: not a regular file (%s); give a file", f.Flag, f.Path, kind(info.Mode()))
	case err == nil:
		return identity{info: info}, nil
	case !f.Output || !(errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)):
		return identity{}, fmt.Errorf("-%s %s: %v", f.Flag, f.Path, cause(err))
	}
	// A new output: its directory must exist and take new files. A
	// dangling link is a new file where it points.
	target, err := follow(f.Path)
	if err != nil {
		return identity{}, fmt.Errorf("-%s %s: %v", f.Flag, f.Path, cause(err))
	}
	if target != f.Path {
		f.Path = fmt.Sprintf("%s (a link to %s)", f.Path, target)
	}
	dir, base := filepath.Split(target)
	if dir == "" {
		dir = "."
	}
	if di, err := os.Stat(dir); err != nil {
		return identity{}, fmt.Errorf("-%s %s: directory %s: %v; give a path in an existing directory", f.Flag, f.Path, dir, cause(err))
	} else if !di.IsDir() {
		return identity{}, fmt.Errorf("-%s %s: %s is not a directory", f.Flag, f.Path, dir)
	}
	if err := creatable(dir); err != nil {
		return identity{}, fmt.Errorf("-%s %s: cannot create files in %s: %v; give a path in a directory you can write to", f.Flag, f.Path, dir, cause(err))
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return identity{}, fmt.Errorf("-%s %s: directory %s: %v", f.Flag, f.Path, dir, cause(err))
	}
	abs, err := filepath.Abs(filepath.Join(real, base))
	if err != nil {
		return identity{}, fmt.Errorf("-%s %s: %v", f.Flag, f.Path, cause(err))
	}
	return identity{path: abs}, nil
}

// follow follows path while it is a symbolic link, and returns where it
// ends: path itself if it is no link.
func follow(path string) (string, error) {
	for range 40 { // the kernel's own limit
		info, err := os.Lstat(path)
		if err != nil || info.Mode()&fs.ModeSymlink == 0 {
			return path, nil
		}
		to, err := os.Readlink(path)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(to) {
			to = filepath.Join(filepath.Dir(path), to)
		}
		path = to
	}
	return "", syscall.ELOOP
}

// kind names a file's type, for a file that is not a regular one.
func kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a fifo"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "not a file"
}

// writable opens an existing file for writing, without truncating it or
// writing to it, and closes it.
func writable(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0) // a fifo with no reader would block
	if err != nil {
		return err
	}
	return f.Close()
}

// creatable creates an empty file in dir and removes it.
func creatable(dir string) error {
	f, err := os.CreateTemp(dir, ".vmstorm-probe-*")
	if err != nil {
		return err
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// cause is err without the operation and path that the message already
// gives.
func cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
