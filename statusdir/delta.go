package statusdir

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
)

// Syncing only what changed
//
// A full SyncDir looks at every file of a subdirectory: with 1,400 object
// files, a pass that follows one engine event would spend most of its time
// confirming that the other 1,399 are unchanged. A writer that knows what
// it handed over last time can say which objects changed since, in the
// Delta of its Mirror, and SyncMirror then touches those objects' files
// only.
//
// That is only sound while the subdirectory still holds what the earlier
// sync left there. Dir keeps, per subdirectory, the token of its last sync
// that completed without an error and the file names that sync expects;
// WatchRemovals forgets both when an expected file, a subdirectory or the
// root is removed or renamed away by someone else (and when its watch
// overflows). A Delta whose Base is not the remembered token (another
// writer's, a sync that failed, a removal since, a new Dir) is handled as a
// full SyncDir, so the worst a stale Delta costs is one whole comparison.

// Delta says which objects of one subdirectory a sync changes, relative to
// an earlier sync of the same subdirectory by the same writer. The zero
// Delta has no Base: the whole subdirectory is compared.
type Delta struct {
	// Token names this sync: a later Delta's Base refers to it. Take it
	// from NewToken.
	Token uint64
	// Base is the Token of the sync this one follows; 0 means none.
	Base uint64
	// Names are the objects whose Entry in Files differs from Base's: new,
	// changed, set to KeepFile or gone from Files (their file is removed).
	// Every other object's Entry is the same as in Base's.
	Names []string
}

var tokens atomic.Uint64

// NewToken returns a Delta token that no other sync in this process has.
func NewToken() uint64 { return tokens.Add(1) }

// syncDelta makes sub hold the objects in files, as syncObjects does,
// looking only at the files of the objects that delta names when it can:
// when d's last sync of sub had the token delta.Base, completed without an
// error, and no file it left there was removed by someone else since. Then
// the listing of sub is not read and no other file is looked at: each
// named object's file is written (skipped when unchanged), kept (KeepFile)
// or removed (an object missing from files). Otherwise every object is
// synced. Either way, a sync without an error is remembered under
// delta.Token.
func (d *Dir) syncDelta(sub string, files map[string]Entry, delta Delta) (changes int, err error) {
	incremental, epoch := d.beginSync(sub, files, delta)
	if incremental {
		changes, err = d.syncNamed(sub, files, delta.Names)
	} else {
		changes, err = d.syncObjects(sub, entryBytes(files))
	}
	d.endSync(sub, delta.Token, epoch, err)
	return changes, err
}

// entryBytes is the form syncObjects takes: an object's bytes, or nil to
// keep its file.
func entryBytes(files map[string]Entry) map[string][]byte {
	objs := make(map[string][]byte, len(files))
	for name, e := range files {
		switch {
		case e.Keep:
			objs[name] = nil
		case e.Data == nil:
			objs[name] = []byte{}
		default:
			objs[name] = e.Data
		}
	}
	return objs
}

// beginSync decides whether a sync of sub can follow delta (see
// syncDelta), and records the files the sync leaves in sub before it
// starts, so that its own removals are not taken for someone else's. It
// returns the epoch of sub: a removal noticed while the sync runs changes
// it.
func (d *Dir) beginSync(sub string, objs map[string]Entry, delta Delta) (incremental bool, epoch uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ds := d.state(sub)
	incremental = delta.Base != 0 && ds.syncToken == delta.Base && ds.expected != nil
	ds.syncToken = 0
	if !incremental {
		ds.expected = make(map[string]struct{}, len(objs))
		for name := range objs {
			ds.expected[ObjectFile(name)] = struct{}{}
		}
		return false, ds.epoch
	}
	for _, name := range delta.Names {
		if _, ok := objs[name]; ok {
			ds.expected[ObjectFile(name)] = struct{}{}
		} else {
			delete(ds.expected, ObjectFile(name))
		}
	}
	return true, ds.epoch
}

// endSync remembers a sync of sub under token when it completed without
// an error and nothing it expects was removed meanwhile; otherwise the next
// sync of sub is a full one.
func (d *Dir) endSync(sub string, token, epoch uint64, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ds := d.state(sub)
	if err != nil || token == 0 || ds.epoch != epoch {
		ds.syncToken, ds.expected = 0, nil
		return
	}
	ds.syncToken = token
}

// syncNamed writes, keeps or removes the files of the named objects of sub
// and looks at nothing else (see syncDelta).
func (d *Dir) syncNamed(sub string, objs map[string]Entry, names []string) (changes int, err error) {
	if _, err := splitRel(sub); err != nil {
		return 0, fmt.Errorf("sync status directory %q: %w", sub, err)
	}
	want := map[string][]byte{}
	var writes, gone []string
	for _, name := range names {
		if name == "" {
			return 0, fmt.Errorf("sync status directory %q: empty object name", sub)
		}
		file := ObjectFile(name)
		e, ok := objs[name]
		switch {
		case !ok:
			gone = append(gone, file)
		case !e.Keep:
			want[file] = entryBytes(map[string]Entry{name: e})[name]
			writes = append(writes, file)
		}
	}
	if len(writes)+len(gone) == 0 {
		return 0, nil
	}
	slices.Sort(writes)
	slices.Sort(gone)

	d.mu.Lock()
	defer d.mu.Unlock()
	r, err := d.openRoot(true)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	sr, _, _, err := d.openDir(r, sub)
	if err != nil {
		return 0, err
	}
	defer sr.Close()
	ds := d.state(sub)
	// New files first, stale ones after: a renamed object is never
	// missing.
	written, errs := d.replaceAll(sr, sub, writes, want)
	changes += written
	removed := false
	for _, file := range gone {
		delete(ds.files, file)
		if _, err := sr.Lstat(file); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := sr.RemoveAll(file); err != nil {
			errs = append(errs, fmt.Errorf("remove status file %q: %w", d.path(sub+"/"+file), err))
			continue
		}
		changes++
		removed = true
	}
	if removed || written > 0 {
		ds.listing = nil
		if err := syncDir(sr, "."); err != nil {
			errs = append(errs, fmt.Errorf("sync status directory %q: %w", d.path(sub), err))
		}
	}
	return changes, errors.Join(errs...)
}

// lost is what WatchRemovals reports: name, an absolute path below the
// root, was removed or renamed away. When it is the root, a directory of
// the tree, or a file that the last sync of its directory expects there,
// that sync no longer describes the directory, and the next Delta is
// handled as a full sync. An empty name (the watch overflowed and may have
// missed removals) forgets every sync. The removal of a file no sync
// expects (one a sync removed itself, a marker) changes nothing.
func (d *Dir) lost(name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	forget := func(ds *dirState) { ds.syncToken, ds.expected, ds.epoch = 0, nil, ds.epoch+1 }
	rel, err := filepath.Rel(d.root, name)
	rel = filepath.ToSlash(rel)
	if name == "" || err != nil || rel == "." {
		for _, ds := range d.dirs {
			forget(ds)
		}
		return
	}
	if strings.HasPrefix(rel, "../") {
		return
	}
	for dir, ds := range d.dirs {
		if dir == rel || strings.HasPrefix(dir, rel+"/") {
			forget(ds) // the directory itself, or one above it
		}
	}
	if ds := d.dirs[path.Dir(rel)]; ds != nil {
		if _, ok := ds.expected[path.Base(rel)]; ok {
			forget(ds)
		}
	}
}
