package statusdir

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/fsnotify/fsnotify"
)

// FollowEvents calls fn with every complete line of the event files of the
// status directory root, as ReadEvents does, and then with each line
// appended later, until ctx ends (it then returns nil) or fn returns an
// error. It follows events.jsonl across rotations: the rotated file is read
// to its end before the new one is opened, so no line is lost or repeated
// (unless the file is rotated twice while the follower is not scheduled at
// all, which takes another MiB of events). It is driven by fsnotify on
// root, set up before the first read, and never polls.
//
// root must exist: the daemon creates it when it starts.
func FollowEvents(ctx context.Context, root string, fn func(line []byte) error) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("follow events in %q: %w", root, err)
	}
	defer w.Close()
	if err := w.Add(root); err != nil {
		return fmt.Errorf("follow events in %q: %w", root, err)
	}
	r := &eventReader{root: root, fn: fn}
	defer r.close()
	if err := r.start(); err != nil {
		return err
	}
	if err := r.advance(); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return fmt.Errorf("follow events in %q: watcher closed", root)
			}
			switch filepath.Base(ev.Name) {
			case EventsFile, EventsOldFile:
			default:
				continue
			}
		case _, ok := <-w.Errors:
			if !ok {
				return fmt.Errorf("follow events in %q: watcher closed", root)
			}
			// Events were lost: read whatever is there now.
		}
		drainEvents(w)
		if err := r.advance(); err != nil {
			return err
		}
	}
}

// drainEvents discards the events already pending: advance reads
// everything they announce.
func drainEvents(w *fsnotify.Watcher) {
	for {
		select {
		case <-w.Events:
		case <-w.Errors:
		default:
			return
		}
	}
}
