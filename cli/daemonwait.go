package cli

import (
	"context"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/rddproject/rdd/home"
	"github.com/rddproject/rdd/pidlock"
	"github.com/rddproject/rdd/statusdir"
)

// defaultDaemonWait is how long a waiting command gives a daemon that is
// starting (`rdd daemon & rdd wait`) to take its lock and write app.yaml.
const defaultDaemonWait = 5 * time.Second

// daemonUp reports whether a daemon holds the lock and has written
// app.yaml since it started: only then are status/ and its markers its
// own, not those a killed daemon left behind.
func daemonUp(h home.Home) (bool, error) {
	held, pid, err := pidlock.Held(h.Lock())
	if err != nil || !held {
		return false, err
	}
	app, err := statusdir.ReadApp(h.Status())
	return err == nil && pid != 0 && app.Daemon.PID == pid && app.Summary != statusdir.SummaryUnknown, nil
}

// awaitDaemon waits up to limit for daemonUp, watching run/ (the daemon
// writes its PID into the lock file once it holds it) and status/ (it
// writes app.yaml) with fsnotify, and the home and its parent while they
// do not exist yet. It reports whether the daemon is up; waits (rdd wait,
// rdd set, rdd confirm) exit 5 when it is not.
func awaitDaemon(ctx context.Context, h home.Home, limit time.Duration) (bool, error) {
	if up, err := daemonUp(h); up || err != nil || limit <= 0 {
		return up, err
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return false, err
	}
	defer w.Close()
	dirs := []string{filepath.Dir(h.Dir), h.Dir, filepath.Dir(h.Lock()), h.Status()}
	for _, d := range dirs {
		_ = w.Add(d) // a directory not there yet is seen created in its parent
	}
	if ctx == nil {
		ctx = context.Background()
	}
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	// The watches exist before this check: nothing written in between is
	// missed.
	for {
		if up, err := daemonUp(h); up || err != nil {
			return up, err
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-deadline.C:
			return false, nil
		case ev := <-w.Events:
			if ev.Has(fsnotify.Create) {
				for _, d := range dirs {
					if ev.Name == d {
						_ = w.Add(d)
					}
				}
			}
		case <-w.Errors:
			// An overflow loses events, not the state: check again.
		}
	}
}
