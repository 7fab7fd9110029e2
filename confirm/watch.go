package confirm

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/fsnotify/fsnotify"
)

// Watch calls wake whenever the record at path is written, replaced or
// removed, so that a daemon acts on `rdd confirm` at once rather than at
// its next retry. It watches path's directory (created 0700 if missing),
// since the record is replaced by a rename. It returns when ctx ends, or
// with an error if the watch cannot be set up.
func Watch(ctx context.Context, path string, wake func()) error {
	dir, base := filepath.Dir(path), filepath.Base(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("watch confirmations: %w", err)
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch confirmations: %w", err)
	}
	defer w.Close()
	if err := w.Add(dir); err != nil {
		return fmt.Errorf("watch confirmations in %q: %w", dir, err)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if filepath.Base(ev.Name) == base {
				wake()
			}
		case _, ok := <-w.Errors:
			if !ok {
				return nil
			}
			wake() // an overflow may have hidden the write
		}
	}
}
