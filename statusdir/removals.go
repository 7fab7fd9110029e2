package statusdir

import (
	"context"
	"fmt"
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
func (d *Dir) watchRemovals(ctx context.Context, w *fsnotify.Watcher, wake func()) {
	parent := filepath.Dir(d.root)
	dirs := []string{parent, d.root}
	for _, sub := range ObjectDirs() {
		dirs = append(dirs, filepath.Join(d.root, sub))
	}
	ours := func(name string) bool {
		return name == d.root || strings.HasPrefix(name, d.root+string(filepath.Separator))
	}
	watched := map[string]bool{}
	arm := func() {
		for _, dir := range dirs {
			if !watched[dir] && w.Add(dir) == nil {
				watched[dir] = true
			}
		}
	}
	arm()
	if d.removalsArmed != nil {
		d.removalsArmed()
		d.removalsArmed = nil
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
			if !ours(name) || strings.HasPrefix(filepath.Base(name), atomicfile.TempPrefix) {
				continue
			}
			switch {
			case ev.Has(fsnotify.Create):
				// The root or a subdirectory made again: watch it.
				arm()
			case ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename):
				for dir := range watched {
					if dir == name || strings.HasPrefix(dir, name+string(filepath.Separator)) {
						// Gone from here, or moved elsewhere where its
						// watch would follow it: drop it, and watch the
						// new one once it exists.
						_ = w.Remove(dir)
						delete(watched, dir)
					}
				}
				wake()
				arm() // made again already, before its Create was seen
			}
		case _, ok := <-w.Errors:
			if !ok {
				return
			}
			wake() // an overflow may have hidden a removal
			arm()
		}
	}
}
