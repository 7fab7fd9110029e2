package statusdir

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"time"
)

// Dir is the daemon's writer of a status directory. Its methods are safe for
// concurrent use; they are serialised.
type Dir struct {
	root string

	mu   sync.Mutex
	dirs map[string]*dirState // what was last written or verified, by directory; see cache.go

	// Hooks for tests and benchmarks.
	noCache      bool                   // remember nothing: compare bytes and list every directory, every time
	now          func() time.Time       // the clock for racyWindow; nil means time.Now
	beforeRename func(rel string) error // called with the written temporary file in place; an error fails the write
	afterStep    func(what string)      // called after each step of a WritePass batch (staged, renamed, removed)
	reads        int                    // files read back to compare bytes
	listings     int                    // directories listed
	// removalsArmed is called once WatchRemovals watches (tests).
	removalsArmed func()
}

// Open prepares root as a status directory: it creates root (mode 0700, and
// its parents as needed) or sets an existing root's mode to 0700, refuses a
// root that is a symbolic link or not a directory, and removes the temporary
// files that a crashed writer left anywhere below root.
func Open(root string) (*Dir, error) {
	if root == "" {
		return nil, errors.New("open status directory: empty path")
	}
	d := &Dir{root: filepath.Clean(root)}
	r, err := d.openRoot(true)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if fi, err := r.Stat("."); err == nil && runtime.GOOS != "windows" && fi.Mode().Perm() != dirMode {
		if err := r.Chmod(".", dirMode); err != nil {
			return nil, fmt.Errorf("open status directory %q: %w", d.root, err)
		}
	}
	if err := removeTemps(r); err != nil {
		return nil, fmt.Errorf("clean status directory %q: %w", d.root, err)
	}
	return d, nil
}

// Root returns the path of the status directory.
func (d *Dir) Root() string { return d.root }

// WriteFile writes data to rel, a clean slash-separated path below the root
// such as "containers/web.yaml", atomically: a temporary file in the same
// directory is written, synced, closed and renamed over rel, and the
// directory is synced. When rel already holds exactly these bytes (in a
// regular file of mode 0600), nothing is written, not even the modification
// time, and changed is false. Dir remembers what it last wrote or verified,
// so an unchanged file usually costs one Lstat, not a read.
//
// WriteFile never writes through a symbolic link below the root: a link, or
// any entry that is not a regular file, at rel is replaced, and a link or
// non-directory where a parent directory belongs is removed and replaced by
// a real directory (mode 0700). A missing root is created again.
func (d *Dir) WriteFile(rel string, data []byte) (changed bool, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r, err := d.openRoot(true)
	if err != nil {
		return false, err
	}
	defer r.Close()
	return d.writeFile(r, rel, data)
}

// WriteYAML renders v with Marshal and writes it with WriteFile.
func (d *Dir) WriteYAML(rel string, v any) (changed bool, err error) {
	data, err := Marshal(v)
	if err != nil {
		return false, fmt.Errorf("write status file %q: %w", d.path(rel), err)
	}
	return d.WriteFile(rel, data)
}

// path returns the OS path of rel, for error messages.
func (d *Dir) path(rel string) string { return filepath.Join(d.root, filepath.FromSlash(rel)) }
