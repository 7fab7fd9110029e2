package statusdir

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/fsnotify/fsnotify"
)

// Watch calls check with a fresh Snapshot of the status directory root, and
// again after every change to app.yaml or a marker, until check returns
// done or an error, or ctx ends (then Watch returns ctx.Err()).
//
// It watches root's directory with fsnotify, set up before each read so that
// no change is lost between the read and the wait; it never polls. Bursts of
// events are coalesced: everything pending is drained before the next read.
// While root does not exist, Watch watches its nearest existing ancestor and
// moves to root once it appears; it keeps working when files, or root
// itself, are deleted and created again. A file that exists but does not
// parse ends the watch with an error.
func Watch(ctx context.Context, root string, check func(Snapshot) (done bool, err error)) error {
	root, err := filepath.Abs(root)
	if err != nil {
		return fmt.Errorf("watch status directory %q: %w", root, err)
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch status directory %q: %w", root, err)
	}
	defer w.Close()
	ws := &watchState{w: w, root: root}
	for {
		if err := ws.sync(); err != nil {
			return err
		}
		snap, err := ReadSnapshot(root)
		if err != nil {
			return err
		}
		if done, err := check(snap); done || err != nil {
			return err
		}
		if err := ws.wait(ctx); err != nil {
			return err
		}
	}
}

// watchState tracks the one directory being watched: root, or while root is
// missing, its nearest existing ancestor.
type watchState struct {
	w        *fsnotify.Watcher
	root     string
	watching string      // path watched, "" before the first sync
	fi       os.FileInfo // the directory watched, to notice it being replaced
	gone     bool        // an event said the watched directory went away
}

// sync points the watch at root if it exists, or else at its nearest
// existing ancestor; it is a no-op when that directory is already watched.
// It loops because a deeper directory may appear while a watch is added.
func (ws *watchState) sync() error {
	for {
		target, err := ws.nearest()
		if err != nil {
			return err
		}
		fi, err := os.Stat(target)
		if err != nil {
			continue // vanished since nearest looked: look again
		}
		if target == ws.watching && !ws.gone && os.SameFile(fi, ws.fi) && slices.Contains(ws.w.WatchList(), target) {
			return nil // still the same directory; its inode may be reused, hence gone
		}
		if ws.watching != "" {
			_ = ws.w.Remove(ws.watching) // may be gone already with its directory
		}
		ws.watching, ws.fi, ws.gone = "", nil, false
		if err := ws.w.Add(target); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return fmt.Errorf("watch status directory %q: %w", target, err)
		}
		// Stat after Add: a replacement after this point sends an event.
		if fi, err = os.Stat(target); err != nil {
			continue
		}
		ws.watching, ws.fi = target, fi
		if target == ws.root {
			return nil
		}
		// Loop once more: root or a deeper ancestor may have appeared
		// before the watch existed.
	}
}

// nearest returns root if it is a directory, or else its nearest existing
// ancestor.
func (ws *watchState) nearest() (string, error) {
	p := ws.root
	for {
		fi, err := os.Stat(p)
		switch {
		case err == nil && fi.IsDir():
			return p, nil
		case err == nil:
			return "", fmt.Errorf("watch status directory %q: %q is not a directory", ws.root, p)
		case !errors.Is(err, fs.ErrNotExist):
			return "", fmt.Errorf("watch status directory %q: %w", ws.root, err)
		}
		parent := filepath.Dir(p)
		if parent == p {
			return "", fmt.Errorf("watch status directory %q: no ancestor exists", ws.root)
		}
		p = parent
	}
}

// note records what ev means for the watch, and reports whether it may
// change what ReadSnapshot sees or which directory must be watched.
func (ws *watchState) note(ev fsnotify.Event) bool {
	name := filepath.Clean(ev.Name)
	if name == ws.watching && ev.Has(fsnotify.Remove|fsnotify.Rename) {
		ws.gone = true
	}
	if name == ws.watching || name == ws.root || strings.HasPrefix(ws.root, name+string(filepath.Separator)) {
		return true // the watched directory itself, root, or a directory on the way to it
	}
	if ws.watching != ws.root || filepath.Dir(name) != ws.root {
		return false
	}
	switch filepath.Base(name) {
	case AppFile, ReadyMarker, FailedMarker:
		return true
	}
	return false
}

// wait blocks until a relevant event arrives, then drains every event
// already pending, so that a burst gives one wake-up.
func (ws *watchState) wait(ctx context.Context) error {
	for {
		var woke bool
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev, ok := <-ws.w.Events:
			if !ok {
				return ws.closed()
			}
			woke = ws.note(ev)
		case err, ok := <-ws.w.Errors:
			if err := ws.watchErr(err, ok); err != nil {
				return err
			}
			woke = true // events were lost: look again
		}
		if woke {
			return ws.drain()
		}
	}
}

// drain discards the events already pending.
func (ws *watchState) drain() error {
	for {
		select {
		case ev, ok := <-ws.w.Events:
			if !ok {
				return ws.closed()
			}
			ws.note(ev)
		case err, ok := <-ws.w.Errors:
			if err := ws.watchErr(err, ok); err != nil {
				return err
			}
		default:
			return nil
		}
	}
}

// watchErr turns a value from the watcher's error channel into the error
// that ends the watch: only a closed watcher does. Anything else (an
// overflow, or inotify failing to drop the watch of a directory that was
// deleted or moved, which reports EINVAL) only means that events may have
// been lost: the caller reads the directory again, and sync re-adds the
// watch, so one bad event never ends a wait.
func (ws *watchState) watchErr(err error, ok bool) error {
	if !ok {
		return ws.closed()
	}
	_ = err
	return nil
}

func (ws *watchState) closed() error {
	return fmt.Errorf("watch status directory %q: watcher closed", ws.root)
}
