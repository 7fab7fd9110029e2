package statusdir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/rddproject/rdd/atomicfile"
)

// openRoot checks that the root is a real directory and opens it. A missing
// root is created when create is set; otherwise openRoot returns nil, nil.
func (d *Dir) openRoot(create bool) (*os.Root, error) {
	fi, err := os.Lstat(d.root)
	if errors.Is(err, fs.ErrNotExist) {
		if !create {
			return nil, nil
		}
		if err := os.MkdirAll(d.root, dirMode); err != nil {
			return nil, fmt.Errorf("create status directory %q: %w", d.root, err)
		}
		fi, err = os.Lstat(d.root)
	}
	if err != nil {
		return nil, fmt.Errorf("open status directory %q: %w", d.root, err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return nil, fmt.Errorf("open status directory %q: is a symbolic link", d.root)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("open status directory %q: not a directory", d.root)
	}
	r, err := os.OpenRoot(d.root)
	if err != nil {
		return nil, fmt.Errorf("open status directory %q: %w", d.root, err)
	}
	// OpenRoot follows a link swapped in since the Lstat: make sure the
	// directory opened is the one checked.
	if rfi, err := r.Stat("."); err != nil || !os.SameFile(fi, rfi) {
		r.Close()
		return nil, fmt.Errorf("open status directory %q: replaced while opening it", d.root)
	}
	return r, nil
}

// splitRel checks that rel is a clean, relative, slash-separated path that
// names an entry below the root, and returns its elements.
func splitRel(rel string) ([]string, error) {
	if rel == "" || rel == "." || !fs.ValidPath(rel) || strings.ContainsAny(rel, "\\\x00") {
		return nil, errors.New("not a clean relative path below the status directory")
	}
	parts := strings.Split(rel, "/")
	for _, p := range parts {
		if strings.HasPrefix(p, atomicfile.TempPrefix) {
			return nil, fmt.Errorf("element %q uses the temporary file prefix %q", p, atomicfile.TempPrefix)
		}
	}
	return parts, nil
}

// ensureDirs makes every element of the slash path dir a real directory:
// a missing one is created, and a link or any other non-directory is
// replaced.
func (d *Dir) ensureDirs(r *os.Root, dir string) error {
	if dir == "" || dir == "." {
		return nil
	}
	parts := strings.Split(dir, "/")
	for i := range parts {
		p := filepath.FromSlash(strings.Join(parts[:i+1], "/"))
		fi, err := r.Lstat(p)
		switch {
		case err == nil && fi.IsDir():
			continue
		case err == nil:
			if err := r.Remove(p); err != nil {
				return fmt.Errorf("replace %q with a directory: %w", d.path(p), err)
			}
		case !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("create status directory %q: %w", d.path(p), err)
		}
		if err := r.Mkdir(p, dirMode); err != nil {
			return fmt.Errorf("create status directory %q: %w", d.path(p), err)
		}
	}
	return nil
}

// openDir makes dir, a slash path below the root or ".", a real directory
// and opens it as a Root of its own, so that each file in it is reached
// with one system call. It also returns the directory's FileInfo, taken
// through the open directory, and the time just before it was taken.
func (d *Dir) openDir(r *os.Root, dir string) (*os.Root, time.Time, fs.FileInfo, error) {
	if err := d.ensureDirs(r, dir); err != nil {
		return nil, time.Time{}, nil, err
	}
	name := filepath.FromSlash(dir)
	sr, err := r.OpenRoot(name)
	if err != nil {
		return nil, time.Time{}, nil, fmt.Errorf("open status directory %q: %w", d.path(dir), err)
	}
	seen := d.clock()
	fi, err := sr.Stat(".")
	if err == nil {
		// OpenRoot follows a link swapped in since ensureDirs: make sure
		// the directory opened is the real one at dir.
		var lfi fs.FileInfo
		if lfi, err = r.Lstat(name); err == nil && !os.SameFile(fi, lfi) {
			err = errors.New("replaced while opening it")
		}
	}
	if err != nil {
		sr.Close()
		return nil, time.Time{}, nil, fmt.Errorf("open status directory %q: %w", d.path(dir), err)
	}
	return sr, seen, fi, nil
}

// remove removes rel if it exists below real directories; sync syncs the
// parent directory afterwards.
func (d *Dir) remove(r *os.Root, rel string, sync bool) (bool, error) {
	parts, err := splitRel(rel)
	if err != nil {
		return false, fmt.Errorf("remove status file %q: %w", rel, err)
	}
	for i := range parts[:len(parts)-1] {
		fi, err := r.Lstat(filepath.FromSlash(strings.Join(parts[:i+1], "/")))
		if err != nil || !fi.IsDir() {
			return false, nil // nothing of ours can be below it
		}
	}
	name := filepath.FromSlash(rel)
	d.forget(rel)
	if _, err := r.Lstat(name); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err := r.RemoveAll(name); err != nil {
		return false, fmt.Errorf("remove status file %q: %w", d.path(rel), err)
	}
	if sync {
		dir := path.Dir(rel)
		if err := syncDir(r, filepath.FromSlash(dir)); err != nil {
			return true, fmt.Errorf("sync status directory %q: %w", d.path(dir), err)
		}
	}
	return true, nil
}

// removeTemps removes every temporary file below the root.
func removeTemps(r *os.Root) error {
	return fs.WalkDir(r.FS(), ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() || !strings.HasPrefix(e.Name(), atomicfile.TempPrefix) {
			return nil
		}
		if err := r.Remove(filepath.FromSlash(p)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	})
}

// readRootFile reads a regular file below the root, never opening a FIFO
// or following a link.
func readRootFile(r *os.Root, name string) ([]byte, error) {
	fi, err := r.Lstat(name)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	f, err := r.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readLimited(f)
}
