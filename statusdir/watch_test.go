package statusdir

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
)

// deadline bounds every wait in these tests; none of them sleeps.
const deadline = 20 * time.Second

// watcher runs Watch in the background until done reports true for a
// snapshot. first is closed on the first call of check (the watch exists
// then), result receives Watch's error, and calls counts the checks.
type watcher struct {
	snaps  chan Snapshot // every snapshot checked
	first  chan struct{}
	result chan error
	calls  atomic.Int32
	cancel context.CancelFunc
}

func startWatch(t *testing.T, root string, done func(Snapshot) bool) *watcher {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), deadline)
	w := &watcher{snaps: make(chan Snapshot, 1000), first: make(chan struct{}), result: make(chan error, 1), cancel: cancel}
	var once sync.Once
	go func() {
		w.result <- Watch(ctx, root, func(s Snapshot) (bool, error) {
			w.calls.Add(1)
			select {
			case w.snaps <- s:
			default:
			}
			once.Do(func() { close(w.first) })
			return done(s), nil
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-w.result:
		case <-time.After(deadline):
			t.Error("Watch did not return after its context ended")
		}
	})
	select {
	case <-w.first:
	case err := <-w.result:
		t.Fatalf("Watch returned before its first check: %v", err)
	case <-time.After(deadline):
		t.Fatal("Watch never called check")
	}
	return w
}

func (w *watcher) wait(t *testing.T) {
	t.Helper()
	select {
	case err := <-w.result:
		w.result <- err // for the cleanup
		if err != nil {
			t.Fatalf("Watch: %v", err)
		}
	case <-time.After(deadline):
		t.Fatal("Watch did not see the change")
	}
}

// waitFor waits until Watch checks a snapshot for which cond holds.
func (w *watcher) waitFor(t *testing.T, what string, cond func(Snapshot) bool) {
	t.Helper()
	timeout := time.After(deadline)
	for {
		select {
		case s := <-w.snaps:
			if cond(s) {
				return
			}
		case <-timeout:
			t.Fatalf("Watch never saw %s", what)
		}
	}
}

func noApp(s Snapshot) bool { return s.App == nil }

func appAt(gen int64) App { return App{ObservedGeneration: gen, Summary: SummaryInProgress} }

func generation(gen int64) func(Snapshot) bool {
	return func(s Snapshot) bool { return s.App != nil && s.App.ObservedGeneration == gen }
}

func TestWatch(t *testing.T) {
	ready := Marker{Digest: "sha256:1", Generation: 1, Reason: "Settled", Time: oldTime}
	tests := []struct {
		name   string
		before func(t *testing.T, d *Dir) // before Watch starts
		done   func(Snapshot) bool
		after  func(t *testing.T, d *Dir, w *watcher) // after the first check
	}{
		{
			name: "wakes on a write",
			done: generation(1),
			after: func(t *testing.T, d *Dir, w *watcher) {
				must(t)(d.WriteYAML(AppFile, appAt(1)))
			},
		},
		{
			name:   "wakes on a rewrite",
			before: func(t *testing.T, d *Dir) { must(t)(d.WriteYAML(AppFile, appAt(1))) },
			done:   generation(2),
			after:  func(t *testing.T, d *Dir, w *watcher) { must(t)(d.WriteYAML(AppFile, appAt(2))) },
		},
		{
			name: "wakes on a marker",
			done: func(s Snapshot) bool { return s.Ready != nil && s.Ready.Generation == 1 },
			after: func(t *testing.T, d *Dir, w *watcher) {
				must(t)(d.WriteYAML(AppFile, appAt(1)))
				must(t)(d.SetVerdict(ReadyMarker, ready))
			},
		},
		{
			name:   "wakes on a marker going",
			before: func(t *testing.T, d *Dir) { must(t)(d.SetVerdict(FailedMarker, ready)) },
			done:   func(s Snapshot) bool { return s.Failed == nil },
			after:  func(t *testing.T, d *Dir, w *watcher) { mustNil(t, d.ClearVerdict()) },
		},
		{
			name:   "file deleted and created again",
			before: func(t *testing.T, d *Dir) { must(t)(d.WriteYAML(AppFile, appAt(1))) },
			done:   generation(2),
			after: func(t *testing.T, d *Dir, w *watcher) {
				must(t)(d.Remove(AppFile))
				w.waitFor(t, "app.yaml go", noApp)
				must(t)(d.WriteYAML(AppFile, appAt(2)))
			},
		},
		{
			name:   "root deleted and created again",
			before: func(t *testing.T, d *Dir) { must(t)(d.WriteYAML(AppFile, appAt(1))) },
			done:   generation(2),
			after: func(t *testing.T, d *Dir, w *watcher) {
				mustNil(t, os.RemoveAll(d.Root()))
				w.waitFor(t, "app.yaml go", noApp)
				must(t)(d.WriteYAML(AppFile, appAt(2)))
			},
		},
		{
			name:   "root deleted, then created again later",
			before: func(t *testing.T, d *Dir) { must(t)(d.WriteYAML(AppFile, appAt(1))) },
			done:   generation(2),
			after: func(t *testing.T, d *Dir, w *watcher) {
				mustNil(t, os.RemoveAll(filepath.Dir(d.Root())))
				w.waitFor(t, "app.yaml go", noApp)
				must(t)(d.WriteYAML(ContainersDir+"/web.yaml", []byte("x")))
				must(t)(d.WriteYAML(AppFile, appAt(2)))
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Open(filepath.Join(t.TempDir(), "home", "status"))
			if err != nil {
				t.Fatal(err)
			}
			if tt.before != nil {
				tt.before(t, d)
			}
			w := startWatch(t, d.Root(), tt.done)
			tt.after(t, d, w)
			w.wait(t)
		})
	}
}

// The watch follows root as it goes and comes back: its nearest existing
// ancestor while it is missing, root itself once it exists, and root again
// when it is replaced by a new directory.
func TestWatchStateSync(t *testing.T) {
	tmp := t.TempDir()
	home := filepath.Join(tmp, "home")
	root := filepath.Join(home, "status")
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		t.Fatal(err)
	}
	defer fw.Close()
	ws := &watchState{w: fw, root: root}
	steps := []struct {
		name string
		do   func() error
		want string
	}{
		{"nothing exists", func() error { return nil }, tmp},
		{"home appears", func() error { return os.Mkdir(home, 0o700) }, home},
		{"root appears", func() error { return os.Mkdir(root, 0o700) }, root},
		{"root replaced", func() error {
			if err := os.Remove(root); err != nil {
				return err
			}
			// The new directory may get the old one's inode number: only
			// the event tells that the watch went with the old one.
			awaitEvent(t, ws, root, fsnotify.Remove)
			return os.Mkdir(root, 0o700)
		}, root},
		{"home removed", func() error { return os.RemoveAll(home) }, tmp},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatal(err)
		}
		if err := ws.sync(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if ws.watching != s.want || !slices.Equal(fw.WatchList(), []string{s.want}) {
			t.Fatalf("%s: watching %q (%q), want %q", s.name, ws.watching, fw.WatchList(), s.want)
		}
		if s.name == "root replaced" {
			// The new directory is watched: an event from it arrives.
			if err := os.WriteFile(filepath.Join(root, AppFile), nil, 0o600); err != nil {
				t.Fatal(err)
			}
			awaitEvent(t, ws, filepath.Join(root, AppFile), fsnotify.Create)
		}
	}
}

// awaitEvent passes the watcher's events to ws until one of op on name.
func awaitEvent(t *testing.T, ws *watchState, name string, op fsnotify.Op) {
	t.Helper()
	timeout := time.After(deadline)
	for {
		select {
		case ev := <-ws.w.Events:
			ws.note(ev)
			if ev.Name == name && ev.Has(op) {
				return
			}
		case err := <-ws.w.Errors:
			t.Fatal(err)
		case <-timeout:
			t.Fatalf("no %v event for %q", op, name)
		}
	}
}

// Watch started before the daemon ever ran: neither status/ nor its parent
// exists yet.
func TestWatchRootAppears(t *testing.T) {
	root := filepath.Join(t.TempDir(), "home", ".rd", "status")
	w := startWatch(t, root, generation(1))
	d, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	must(t)(d.WriteYAML(AppFile, appAt(1)))
	w.wait(t)
}

// A no-op write wakes no watcher (review S2, S3), and a write that changes
// app.yaml gives one check, not one per event of the rename.
func TestWatchQuiet(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("counts inotify events")
	}
	d := openDir(t)
	must(t)(d.WriteYAML(AppFile, appAt(1)))
	w := startWatch(t, d.Root(), generation(2))
	for range 10 {
		must(t)(d.WriteYAML(AppFile, appAt(1)))                            // unchanged
		must(t)(d.WriteFile(ContainersDir+"/web.yaml", []byte("ignored"))) // not watched
	}
	must(t)(d.WriteYAML(AppFile, appAt(2)))
	w.wait(t)
	if n := w.calls.Load(); n != 2 {
		t.Fatalf("check called %d times, want 2 (initial, and the one change)", n)
	}
}

func TestWatchEnds(t *testing.T) {
	t.Run("context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		errc := make(chan error, 1)
		go func() {
			errc <- Watch(ctx, t.TempDir(), func(Snapshot) (bool, error) {
				cancel()
				return false, nil
			})
		}()
		select {
		case err := <-errc:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Watch = %v, want context.Canceled", err)
			}
		case <-time.After(deadline):
			t.Fatal("Watch did not end with its context")
		}
	})
	t.Run("check error", func(t *testing.T) {
		boom := errors.New("boom")
		err := Watch(t.Context(), t.TempDir(), func(Snapshot) (bool, error) { return false, boom })
		if err != boom {
			t.Fatalf("Watch = %v, want the check's error", err)
		}
	})
	t.Run("bad file", func(t *testing.T) {
		root := t.TempDir()
		mustWrite(t, filepath.Join(root, AppFile), "- not a mapping\n")
		err := Watch(t.Context(), root, func(Snapshot) (bool, error) { return false, nil })
		if err == nil {
			t.Fatal("Watch of an unparsable app.yaml succeeded")
		}
	})
	t.Run("root is a file", func(t *testing.T) {
		root := filepath.Join(t.TempDir(), "status")
		mustWrite(t, root, "x")
		err := Watch(t.Context(), root, func(Snapshot) (bool, error) { return false, nil })
		if err == nil {
			t.Fatal("Watch of a regular file succeeded")
		}
	})
}

// must fails t when the call it wraps, such as must(t)(d.WriteYAML(...)),
// returns an error.
func must(t *testing.T) func(bool, error) {
	return func(_ bool, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
}

func mustNil(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
