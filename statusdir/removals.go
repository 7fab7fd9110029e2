package statusdir

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/fsnotify/fsnotify"
	"github.com/rddproject/rdd/atomicfile"
)

// WatchRemovals calls wake whenever a file or directory of the status
// layout is removed or renamed away by someone else (a user's `rm`), so the
// daemon's next pass writes it again at once instead of at the next resync
// (the predecessor's I1). Writes, including the daemon's own renames into
// place, do not wake it: a pass that writes must not cause another pass. It
// returns when ctx ends, or with an error if the watch cannot be set up.
func (d *Dir) WatchRemovals(ctx context.Context, wake func()) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch status directory %q: %w", d.root, err)
	}
	defer w.Close()
	dirs := []string{d.root}
	for _, sub := range []string{ContainersDir, ImagesDir, VolumesDir, NamespacesDir} {
		dirs = append(dirs, filepath.Join(d.root, sub))
	}
	watched := map[string]bool{}
	add := func() {
		for _, dir := range dirs {
			if !watched[dir] && w.Add(dir) == nil {
				watched[dir] = true
			}
		}
	}
	add()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			switch base := filepath.Base(ev.Name); {
			case strings.HasPrefix(base, atomicfile.TempPrefix):
				continue
			case filepath.Dir(ev.Name) == d.root && (base == EventsFile || base == EventsOldFile):
				// A rotation is the daemon's own rename, and a deleted
				// event log simply starts again with the next event.
				continue
			}
			switch {
			case ev.Has(fsnotify.Create):
				// A subdirectory the daemon just made: watch it too.
				add()
			case ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename):
				if watched[ev.Name] {
					delete(watched, ev.Name) // re-added once it exists again
				}
				wake()
			}
		case _, ok := <-w.Errors:
			if !ok {
				return nil
			}
			wake() // an overflow may have hidden a removal
		}
	}
}
