package statusdir

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/rddproject/rdd/atomicfile"
)

// rewatchDelay is how long WatchRemovals waits before it sets its watch up
// again after the watcher itself failed.
const rewatchDelay = 100 * time.Millisecond

// WatchRemovals calls wake whenever a file or directory of the status
// layout is removed or renamed away by someone else (a user's `rm`, or
// `mv status elsewhere`), so the daemon's next pass writes it again at once
// instead of at the next resync (the predecessor's I1). Writes, including
// the daemon's own renames into place, do not wake it: a pass that writes
// must not cause another pass.
//
// It watches the root's parent as well as the root and its object
// directories, so that the root itself going away, any number of times, is
// seen, and the new root is watched again as soon as it is created. Every
// removal drops the watch of what was removed (inotify keeps watching a
// directory moved elsewhere under its old name), and every creation re-arms
// the watches of whatever exists again. A watcher that fails is set up
// again; WatchRemovals returns only when ctx ends, or with an error if the
// first watch cannot be set up at all.
func (d *Dir) WatchRemovals(ctx context.Context, wake func()) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch status directory %q: %w", d.root, err)
	}
	for {
		d.watchRemovals(ctx, w, wake)
		w.Close()
		if ctx.Err() != nil {
			return nil
		}
		wake() // events may have been lost with the watcher
		t := time.NewTimer(rewatchDelay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		if w, err = fsnotify.NewWatcher(); err != nil {
			return fmt.Errorf("watch status directory %q again: %w", d.root, err)
		}
	}
}

// watchRemovals runs one watcher until ctx ends or the watcher closes.
//
// The watches are added and removed by a goroutine of their own, never by
// the one draining the events: fsnotify may hold its lock while it sends
// an error (a watch of a directory moved and deleted at once fails to be
// dropped), and an Add waiting for that lock would then never return.
func (d *Dir) watchRemovals(ctx context.Context, w *fsnotify.Watcher, wake func()) {
	rearm := make(chan struct{}, 1)
	poke := func() {
		select {
		case rearm <- struct{}{}:
		default:
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go d.keepWatches(ctx, w, rearm)
	poke()
	ours := func(name string) bool {
		return name == d.root || strings.HasPrefix(name, d.root+string(filepath.Separator))
	}
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			name := filepath.Clean(ev.Name)
			base := filepath.Base(name)
			if !ours(name) || strings.HasPrefix(base, atomicfile.TempPrefix) {
				continue
			}
			if filepath.Dir(name) == d.root && (base == EventsFile || base == EventsOldFile) {
				// A rotation is the daemon's own rename, and a deleted
				// event log simply starts again with the next event.
				continue
			}
			switch {
			case ev.Has(fsnotify.Create):
				poke() // the root or a subdirectory made again: watch it
			case ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename):
				d.lost(name)
				wake()
				poke()
			}
		case _, ok := <-w.Errors:
			if !ok {
				return
			}
			d.lost("")
			wake() // an overflow may have hidden a removal
			poke()
		}
	}
}

// keepWatches makes the watches match what exists, each time it is poked:
// the root's parent, the root and its object directories, each watched
// once per directory. A directory replaced (moved away, made again) has its
// old watch dropped, since inotify would follow the old one elsewhere.
func (d *Dir) keepWatches(ctx context.Context, w *fsnotify.Watcher, rearm <-chan struct{}) {
	dirs := []string{filepath.Dir(d.root), d.root}
	for _, sub := range ObjectDirs() {
		dirs = append(dirs, filepath.Join(d.root, sub))
	}
	watched := map[string]os.FileInfo{}
	armed := d.removalsArmed
	for {
		select {
		case <-ctx.Done():
			return
		case <-rearm:
		}
		for _, dir := range dirs {
			old := watched[dir]
			fi, err := os.Stat(dir)
			if err == nil && old != nil && os.SameFile(fi, old) {
				continue
			}
			if old != nil {
				_ = w.Remove(dir) // gone with its directory, perhaps
				delete(watched, dir)
			}
			if err != nil || !fi.IsDir() {
				continue
			}
			if w.Add(dir) != nil {
				continue
			}
			// Stat after Add: a replacement from now on sends an event.
			if fi, err = os.Stat(dir); err == nil {
				watched[dir] = fi
			}
		}
		if armed != nil {
			armed()
			armed = nil
		}
	}
}
