package statusdir

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rddproject/rdd/atomicfile"
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
	reads        int                    // files read back to compare bytes
	listings     int                    // directories listed
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

// Remove removes rel (a file, or a directory and its contents). A missing
// rel, or one below a parent that is not a real directory, is not an error:
// removed is then false.
func (d *Dir) Remove(rel string) (removed bool, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r, err := d.openRoot(false)
	if err != nil || r == nil {
		return false, err
	}
	defer r.Close()
	return d.remove(r, rel, true)
}

// syncObjects makes the directory sub (such as ContainersDir) hold exactly the
// objects in objs, one file per object, named ObjectFile(name), holding the
// value's bytes. A nil value means that the object exists but its content is
// unknown right now (an inspect failed): its file, if there is one, is kept
// as it is, and none is created. Every other entry of sub is removed, except
// in-flight temporary files. Only files whose bytes change are written; new
// files are written before stale ones are removed, so that a renamed object
// is never missing. changes counts the files written or removed. As with
// WriteFile, an unchanged file usually costs one Lstat; and while sub itself
// is unchanged, its listing is not read again.
//
// An error with one file does not stop the others; the errors are joined.
func (d *Dir) syncObjects(sub string, objs map[string][]byte) (changes int, err error) {
	if _, err := splitRel(sub); err != nil {
		return 0, fmt.Errorf("sync status directory %q: %w", sub, err)
	}
	want := make(map[string][]byte, len(objs))
	owner := make(map[string]string, len(objs))
	for name, data := range objs {
		if name == "" {
			return 0, fmt.Errorf("sync status directory %q: empty object name", sub)
		}
		file := ObjectFile(name)
		if other, dup := owner[file]; dup {
			return 0, fmt.Errorf("sync status directory %q: objects %q and %q map to the same file %q", sub, other, name, file)
		}
		owner[file] = name
		want[file] = data
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	r, err := d.openRoot(true)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	sr, seen, dirInfo, err := d.openDir(r, sub)
	if err != nil {
		return 0, err
	}
	defer sr.Close()
	ds := d.state(sub)
	have, fresh, err := d.entries(sr, sub, ds, dirInfo)
	if err != nil {
		return 0, err
	}

	var (
		errs    []error
		removed bool
		writes  []string // files with known content, written in parallel
	)
	for _, file := range slices.Sorted(maps.Keys(want)) {
		if want[file] != nil {
			writes = append(writes, file)
			continue
		}
		// Unknown content: keep a regular file, but not a link or anything
		// else that the writer did not put there. A remembered listing
		// holds only regular files: the pass that read it removed the rest,
		// or it would not have been kept.
		if _, ok := have[file]; !ok || !fresh {
			continue
		}
		rel := sub + "/" + file
		fi, err := sr.Lstat(file)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			errs = append(errs, fmt.Errorf("sync status file %q: %w", d.path(rel), err))
			continue
		case fi.Mode().IsRegular():
			continue
		}
		delete(ds.files, file)
		if err := sr.RemoveAll(file); err != nil {
			errs = append(errs, fmt.Errorf("remove status file %q: %w", d.path(rel), err))
			continue
		}
		changes++
		removed = true
	}
	written, werrs := d.replaceAll(sr, sub, writes, want)
	changes += written
	errs = append(errs, werrs...)
	var gone []string
	for name := range have {
		if _, ok := want[name]; !ok && !strings.HasPrefix(name, TempPrefix) {
			gone = append(gone, name)
		}
	}
	slices.Sort(gone)
	for _, name := range gone {
		delete(ds.files, name)
		rel := sub + "/" + name
		if err := sr.RemoveAll(name); err != nil {
			errs = append(errs, fmt.Errorf("remove status file %q: %w", d.path(rel), err))
			continue
		}
		changes++
		removed = true
	}
	if removed || written > 0 {
		if err := syncDir(sr, "."); err != nil {
			errs = append(errs, fmt.Errorf("sync status directory %q: %w", d.path(sub), err))
		}
	}

	// Remember only the files that sub is meant to hold, and the listing
	// only if it still describes the directory: nothing changed, nothing
	// failed, and the directory had settled when it was read.
	for name := range ds.files {
		if _, ok := want[name]; !ok {
			delete(ds.files, name)
		}
	}
	switch {
	case changes > 0 || len(errs) > 0 || d.noCache:
		ds.listing = nil
	case fresh:
		if id, ok := identify(dirInfo); ok && settled(id, seen) {
			ds.listing = &listing{id: id, names: have}
		}
	}
	return changes, errors.Join(errs...)
}

// entries returns the names in sub, open as sr, whose FileInfo taken just
// now is dirInfo: the remembered ones while the directory's identity is
// unchanged (fresh is false), or else the ones read from it now.
func (d *Dir) entries(sr *os.Root, sub string, ds *dirState, dirInfo fs.FileInfo) (have map[string]struct{}, fresh bool, err error) {
	if l := ds.listing; l != nil && !d.noCache {
		if id, ok := identify(dirInfo); ok && id == l.id {
			return l.names, false, nil
		}
	}
	ds.listing = nil
	d.listings++
	// Readdirnames, not ReadDir: a directory opened in a Root Lstats every
	// entry in ReadDir.
	f, err := sr.Open(".")
	if err != nil {
		return nil, false, fmt.Errorf("read status directory %q: %w", d.path(sub), err)
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return nil, false, fmt.Errorf("read status directory %q: %w", d.path(sub), err)
	}
	have = make(map[string]struct{}, len(names))
	for _, name := range names {
		have[name] = struct{}{}
	}
	return have, true, nil
}

// syncWorkers bounds the files syncObjects writes at once. Concurrent writes
// let the file system batch their syncs into fewer journal commits.
const syncWorkers = 16

// replaceAll writes the given files of sub, a real directory open as sr,
// with their content in want, unless unchanged. Comparisons run in turn;
// the writes run in parallel. It returns how many files changed, and the
// errors.
func (d *Dir) replaceAll(sr *os.Root, sub string, files []string, want map[string][]byte) (int, []error) {
	var errs []error
	var stale []string
	for _, file := range files {
		same, err := d.unchanged(sr, sub, file, want[file])
		switch {
		case err != nil:
			errs = append(errs, err)
		case !same:
			stale = append(stale, file)
		}
	}
	var (
		mu      sync.Mutex
		changed int
		wg      sync.WaitGroup
		next    = make(chan string)
	)
	for range min(syncWorkers, len(stale)) {
		wg.Go(func() {
			for file := range next {
				err := d.writeNew(sr, sub, file, want[file])
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					changed++
				}
				mu.Unlock()
			}
		})
	}
	for _, file := range stale {
		next <- file
	}
	close(next)
	wg.Wait()
	return changed, errs
}

// SetVerdict makes name (ReadyMarker or FailedMarker) the one verdict
// marker, holding m: it removes the other marker first, so that the two are
// never present together, and then writes this one. The marker is the last
// write of a pass: call SetVerdict after the object files and app.yaml.
//
// m.Time records when the verdict was first reached: when the marker already
// holds the same digest, generation, reason and message, its time is kept,
// so that repeating a verdict writes nothing and changed is false.
func (d *Dir) SetVerdict(name string, m Marker) (changed bool, err error) {
	other, err := otherMarker(name)
	if err != nil {
		return false, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	r, err := d.openRoot(true)
	if err != nil {
		return false, err
	}
	defer r.Close()
	if old, err := readRootFile(r, name); err == nil {
		if prev, err := parseMarker(old); err == nil && sameVerdict(*prev, m) {
			m.Time = prev.Time
		}
	}
	data, err := Marshal(m)
	if err != nil {
		return false, fmt.Errorf("write status file %q: %w", d.path(name), err)
	}
	removed, err := d.remove(r, other, true)
	if err != nil {
		return false, err
	}
	written, err := d.writeFile(r, name, data)
	return removed || written, err
}

// ClearVerdict removes both markers: the verdict is pending.
func (d *Dir) ClearVerdict() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	r, err := d.openRoot(false)
	if err != nil || r == nil {
		return err
	}
	defer r.Close()
	removedFailed, err := d.remove(r, FailedMarker, false)
	if err != nil {
		return err
	}
	removedReady, err := d.remove(r, ReadyMarker, false)
	if err != nil || !removedFailed && !removedReady {
		return err
	}
	if err := syncDir(r, "."); err != nil {
		return fmt.Errorf("sync status directory %q: %w", d.root, err)
	}
	return nil
}

func otherMarker(name string) (string, error) {
	switch name {
	case ReadyMarker:
		return FailedMarker, nil
	case FailedMarker:
		return ReadyMarker, nil
	}
	return "", fmt.Errorf("set verdict: %q is not a marker (want %q or %q)", name, ReadyMarker, FailedMarker)
}

func sameVerdict(a, b Marker) bool {
	return a.Digest == b.Digest && a.Generation == b.Generation && a.Reason == b.Reason && a.Message == b.Message
}

// path returns the OS path of rel, for error messages.
func (d *Dir) path(rel string) string { return filepath.Join(d.root, filepath.FromSlash(rel)) }

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
		if strings.HasPrefix(p, TempPrefix) {
			return nil, fmt.Errorf("element %q uses the temporary file prefix %q", p, TempPrefix)
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

func (d *Dir) writeFile(r *os.Root, rel string, data []byte) (bool, error) {
	if _, err := splitRel(rel); err != nil {
		return false, fmt.Errorf("write status file %q: %w", rel, err)
	}
	dir, base := path.Dir(rel), path.Base(rel)
	pr, _, _, err := d.openDir(r, dir)
	if err != nil {
		return false, err
	}
	defer pr.Close()
	same, err := d.unchanged(pr, dir, base, data)
	if err != nil || same {
		return false, err
	}
	d.state(dir).listing = nil
	if err := d.writeNew(pr, dir, base, data); err != nil {
		return true, err
	}
	if err := syncDir(pr, "."); err != nil {
		return true, fmt.Errorf("sync status directory %q: %w", d.path(dir), err)
	}
	return true, nil
}

// writeNew writes data to a temporary file next to base in pr, the real
// directory dir, syncs it and renames it over base.
func (d *Dir) writeNew(pr *os.Root, dir, base string, data []byte) error {
	rel := path.Join(dir, base)
	o := atomicfile.Options{NoDirSync: true} // the caller syncs the directory once
	if d.beforeRename != nil {
		o.Prepare = func(*os.File) error { return d.beforeRename(rel) }
	}
	if err := atomicfile.WriteIn(pr, base, data, fileMode, o); err != nil {
		return fmt.Errorf("write status file %q: %w", d.path(rel), err)
	}
	return nil
}

// unchanged reports whether base in pr, the real directory dir, is a
// regular file of mode 0600 holding exactly data. It trusts what d
// remembers of the file while the file's identity is unchanged, and
// otherwise compares bytes, remembering the result when the file has
// settled. A directory in the way is removed; any other non-regular entry
// (a link, a FIFO) is left for the rename to replace, and never opened.
// When it returns false, d remembers nothing of the file, so that the
// caller's write leaves nothing stale behind.
func (d *Dir) unchanged(pr *os.Root, dir, base string, data []byte) (bool, error) {
	ds := d.state(dir)
	seen := d.clock()
	fi, err := pr.Lstat(base)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		delete(ds.files, base)
		return false, nil
	case err != nil:
		delete(ds.files, base)
		return false, fmt.Errorf("write status file %q: %w", d.path(path.Join(dir, base)), err)
	}
	id, idOK := identify(fi)
	if c, ok := ds.files[base]; ok && idOK && c.id == id && !d.noCache {
		if id.size == int64(len(data)) && sha256.Sum256(data) == c.sum {
			return true, nil
		}
		delete(ds.files, base)
		return false, nil
	}
	delete(ds.files, base)
	same, err := d.sameContent(pr, path.Join(dir, base), base, fi, data)
	if same && idOK && !d.noCache && settled(id, seen) {
		// id was taken before the bytes were read: a change since then
		// shows as another identity.
		ds.files[base] = fileState{id: id, sum: sha256.Sum256(data)}
	}
	return same, err
}

// sameContent reports whether base in pr, which Lstat described as fi, is a
// regular file of mode 0600 holding exactly data, by reading it. A
// directory in the way is removed; any other non-regular entry is not
// opened.
func (d *Dir) sameContent(pr *os.Root, rel, base string, fi fs.FileInfo, data []byte) (bool, error) {
	switch {
	case fi.IsDir():
		d.forget(rel)
		if err := pr.RemoveAll(base); err != nil {
			return false, fmt.Errorf("replace directory %q with a file: %w", d.path(rel), err)
		}
		return false, nil
	case !fi.Mode().IsRegular() || fi.Size() != int64(len(data)):
		return false, nil
	case runtime.GOOS != "windows" && fi.Mode().Perm() != fileMode:
		return false, nil
	}
	d.reads++
	f, err := pr.Open(base)
	if err != nil {
		return false, nil // replaced or unreadable: the write replaces it
	}
	defer f.Close()
	cur := make([]byte, len(data)+1)
	n, err := io.ReadFull(f, cur)
	if err != io.ErrUnexpectedEOF && !(err == io.EOF && n == 0) {
		return false, nil // a different length now
	}
	return n == len(data) && bytes.Equal(cur[:n], data), nil
}

// syncDir makes the entries of dir durable (see atomicfile.SyncDir).
func syncDir(r *os.Root, dir string) error { return atomicfile.SyncDir(r, dir) }

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
		if e.IsDir() || !strings.HasPrefix(e.Name(), TempPrefix) {
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
