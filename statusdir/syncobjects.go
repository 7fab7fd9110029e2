package statusdir

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/rddproject/rdd/atomicfile"
)

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
		if _, ok := want[name]; !ok && !strings.HasPrefix(name, atomicfile.TempPrefix) {
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
