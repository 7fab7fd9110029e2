package watch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Defaults for the zero [Options].
const (
	DefaultDebounce = 50 * time.Millisecond
	DefaultMaxDelay = 500 * time.Millisecond
)

// errorBuffer is how many errors [Watcher.Errors] holds for a slow reader;
// more are logged and dropped (their wake-up is not).
const errorBuffer = 16

// replanRounds caps how often one re-plan walks the path again after adding
// watches (one round per directory that appeared meanwhile).
const replanRounds = 64

// Options tunes a [Watcher]. The zero value is ready to use.
type Options struct {
	// Debounce is the quiet period after the last relevant event before a
	// wake-up; 0 means [DefaultDebounce].
	Debounce time.Duration
	// MaxDelay caps a burst: the wake-up comes at most this long after the
	// burst's first event, even if events keep coming; 0 means
	// [DefaultMaxDelay].
	MaxDelay time.Duration
	// Logger receives debug traces of events, watches and wake-ups; nil
	// means none.
	Logger *slog.Logger
	// Dir, if set, is a directory of more files to watch (desired.d/):
	// each of its entries whose name Match accepts is watched like the
	// file itself, with its symlink chain, and an entry that Match accepts
	// appearing, changing or going away is a change. Dir may be a symlink
	// and need not exist yet; it is resolved like the file. Names that
	// [Ignored] reports are never watched, whatever Match says.
	Dir string
	// Match selects the entries of Dir; nil means every name that is not
	// [Ignored].
	Match func(name string) bool
}

// Watcher turns changes of one file, its symlinks and their directories into
// coalesced wake-ups. Make one with [New], receive from [Watcher.C], and
// start it with [Watcher.Run].
type Watcher struct {
	path     string // absolute, as given
	dir      string // Options.Dir, absolute; "" for none
	match    func(name string) bool
	debounce time.Duration
	maxDelay time.Duration
	log      *slog.Logger

	fw     *fsnotify.Watcher
	wake   chan struct{}
	errs   chan error
	closed chan struct{}

	running   atomic.Bool
	closeOnce sync.Once
	closeErr  error

	mu      sync.Mutex             // guards the fields below; only Run's goroutine writes them after New
	keys    map[string]bool        // names whose events matter (see resolution.keys)
	entries map[string]bool        // directories where every matching name matters: Dir, resolved
	dirs    map[string]fs.FileInfo // watched directories and what they were when added
	lastErr string                 // last resolution error reported, not to repeat it on every event

	// onEvent, if set before Run, sees every event and whether it mattered.
	onEvent func(ev fsnotify.Event, relevant bool)
}

// New watches the file at path, which need not exist yet and may be a symlink
// or a chain of them. The watches are in place when New returns, so a caller
// that reads the file after New and then receives from [Watcher.C] misses no
// change. Events that arrive before [Watcher.Run] starts wait in the
// kernel's queue until it does (should the queue overflow, that is
// reported and wakes).
//
// New fails if fsnotify cannot start or a directory cannot be watched. A path
// that cannot be resolved (a symlink loop, a directory without permission) is
// not fatal: what can be watched is, the error is sent on [Watcher.Errors],
// and fixing the path wakes the watcher.
func New(path string, opts Options) (*Watcher, error) {
	if path == "" {
		return nil, errors.New("watch: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("watch %q: %w", path, err)
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch %q: %w", abs, err)
	}
	w := &Watcher{
		path:     abs,
		debounce: opts.Debounce,
		maxDelay: opts.MaxDelay,
		log:      opts.Logger,
		fw:       fw,
		wake:     make(chan struct{}, 1),
		errs:     make(chan error, errorBuffer),
		closed:   make(chan struct{}),
		keys:     map[string]bool{},
		dirs:     map[string]fs.FileInfo{},
	}
	if w.debounce <= 0 {
		w.debounce = DefaultDebounce
	}
	if w.maxDelay <= 0 {
		w.maxDelay = DefaultMaxDelay
	}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	if opts.Dir != "" {
		if w.dir, err = filepath.Abs(opts.Dir); err != nil {
			fw.Close()
			return nil, fmt.Errorf("watch %q: %w", opts.Dir, err)
		}
		w.match = opts.Match
		if w.match == nil {
			w.match = func(string) bool { return true }
		}
	}
	if err := w.replan(true); err != nil {
		fw.Close()
		return nil, err
	}
	return w, nil
}

// C delivers wake-ups. It has a capacity of one and is fed with non-blocking
// sends, so a burst of changes is one wake-up and a slow reader never blocks
// the watcher. A wake-up carries nothing: re-read the file. C is never
// closed.
func (w *Watcher) C() <-chan struct{} { return w.wake }

// Errors delivers errors worth logging: an fsnotify queue overflow, a
// directory that could not be watched, a path that cannot be resolved. None
// of them ends the watch, and each also causes a wake-up. Errors is buffered
// and never closed; errors that find it full are dropped.
func (w *Watcher) Errors() <-chan error { return w.errs }

// Run delivers wake-ups until ctx ends or [Watcher.Close] is called, then
// releases the watches and returns nil. It returns an error only when it
// cannot start: the watcher is closed or already running.
func (w *Watcher) Run(ctx context.Context) error {
	select {
	case <-w.closed:
		return fmt.Errorf("watch %q: watcher is closed", w.path)
	default:
	}
	if !w.running.CompareAndSwap(false, true) {
		return fmt.Errorf("watch %q: already running", w.path)
	}
	defer w.Close()

	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var (
		fire  <-chan time.Time // nil while no burst is pending
		first time.Time        // the pending burst's first event
		due   time.Time        // when the pending burst wakes the loop
	)
	wake := func() {
		fire = nil
		timer.Stop()
		select {
		case w.wake <- struct{}{}:
			w.log.Debug("watch: wake-up", "path", w.path, "burst", time.Since(first))
		default:
			w.log.Debug("watch: wake-up already pending", "path", w.path)
		}
	}
	// poke notes a relevant event: wake Debounce after it, but no later
	// than MaxDelay after the burst's first one.
	poke := func() {
		now := time.Now()
		if fire == nil {
			first = now
		}
		next := now.Add(w.debounce)
		if limit := first.Add(w.maxDelay); limit.Before(next) {
			next = limit
		}
		switch {
		case !next.After(now):
			wake() // the cap has passed while events kept coming
		case fire == nil || !next.Equal(due):
			due = next
			timer.Reset(next.Sub(now))
			fire = timer.C
		}
	}
	for {
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case ev, ok := <-w.fw.Events:
			if !ok {
				return nil
			}
			if w.handle(ev) {
				poke()
			}
		case err, ok := <-w.fw.Errors:
			if !ok {
				return nil
			}
			if err == nil {
				continue
			}
			// Events may be lost (an overflow): look again, and wake
			// the loop, which reads everything anyway.
			w.report(fmt.Errorf("watch %q: %w", w.path, err))
			w.replan(false)
			poke()
		case <-fire:
			wake()
		}
	}
}

// Close releases the watches and makes a running [Watcher.Run] return.
// It is safe to call more than once and from any goroutine.
func (w *Watcher) Close() error {
	w.closeOnce.Do(func() {
		close(w.closed)
		w.closeErr = w.fw.Close()
	})
	return w.closeErr
}

// handle reports whether ev matters, and re-plans the watches when it may
// have changed what the path resolves to.
func (w *Watcher) handle(ev fsnotify.Event) bool {
	name := filepath.Clean(ev.Name)
	w.mu.Lock()
	relevant := w.keys[name] || w.entries[filepath.Dir(name)] && w.matches(filepath.Base(name))
	_, isDir := w.dirs[name]
	w.mu.Unlock()

	const moved = fsnotify.Create | fsnotify.Remove | fsnotify.Rename
	// A watched directory itself created, removed or renamed: its watch
	// is gone or stale. (kqueue also sends Write for a watched directory
	// whose entries change; that is not about our names.)
	if isDir && ev.Op&moved != 0 {
		relevant = true
	}
	if relevant {
		w.log.Debug("watch: event", "path", w.path, "name", name, "op", ev.Op.String())
		if isDir && ev.Op&(fsnotify.Remove|fsnotify.Rename) != 0 {
			// The kernel dropped this watch. Forget it even if a new
			// directory of that name is already there: it may have got
			// the old inode number, and would pass for the old one.
			w.mu.Lock()
			w.unwatch(name)
			w.mu.Unlock()
		}
		if ev.Op&moved != 0 {
			w.replan(false)
		}
	}
	if w.onEvent != nil {
		w.onEvent(ev, relevant)
	}
	return relevant
}

// replan resolves the path again and makes the watched directories match:
// the parent of every key. After adding a watch it resolves once more, since
// a name may have appeared before the watch did; it stops when a round adds
// nothing. With strict (in New) a directory that cannot be watched is
// returned as an error; later it is reported and the watch goes on.
func (w *Watcher) replan(strict bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var want map[string]bool
	for range replanRounds {
		r, rerr := resolve(w.path)
		keys := make(map[string]bool, len(r.keys))
		want = make(map[string]bool, len(r.keys))
		for _, k := range r.keys {
			keys[k] = true
			want[filepath.Dir(k)] = true
		}
		entries, derr := w.planDir(keys, want)
		w.noteResolve(errors.Join(rerr, derr))
		w.keys, w.entries = keys, entries

		added := false
		for _, d := range slices.Sorted(maps.Keys(want)) {
			fi, err := os.Stat(d)
			if old, ok := w.dirs[d]; ok {
				if err == nil && os.SameFile(old, fi) {
					continue
				}
				// Replaced since we added it: the watch is on the old one.
				w.unwatch(d)
			}
			if err != nil {
				added = true // it changed under us: walk again
				continue
			}
			// Stat before Add: should d be replaced in between, the next
			// round sees a different file and watches the new one.
			if err := w.fw.Add(d); err != nil {
				err = fmt.Errorf("watch %q: add watch on %q: %w", w.path, d, err)
				if strict {
					return err
				}
				w.report(err)
				continue
			}
			w.log.Debug("watch: watching directory", "path", w.path, "dir", d)
			w.dirs[d] = fi
			added = true
		}
		if !added {
			break
		}
	}
	for d := range w.dirs {
		if !want[d] {
			w.unwatch(d)
		}
	}
	return nil
}

// planDir adds to keys and want what Options.Dir needs: the names of its
// own symlink chain, its real directory (every matching entry of which
// matters), and the chain of each matching entry there now (a fragment
// that is a symlink into a dotfiles repository). It returns the
// directories whose entries matter.
func (w *Watcher) planDir(keys, want map[string]bool) (map[string]bool, error) {
	if w.dir == "" {
		return nil, nil
	}
	r, err := resolve(w.dir)
	for _, k := range r.keys {
		keys[k] = true
		want[filepath.Dir(k)] = true
	}
	real := r.chain[len(r.chain)-1]
	if fi, serr := os.Stat(real); serr != nil || !fi.IsDir() {
		return nil, err // not there yet: its parent is watched for it
	}
	want[real] = true
	entries := map[string]bool{real: true}
	des, rerr := os.ReadDir(real)
	if rerr != nil {
		return entries, errors.Join(err, fmt.Errorf("watch %q: %w", w.dir, rerr))
	}
	for _, de := range des {
		if !w.matches(de.Name()) {
			continue
		}
		er, eerr := resolve(filepath.Join(real, de.Name()))
		for _, k := range er.keys {
			keys[k] = true
			want[filepath.Dir(k)] = true
		}
		err = errors.Join(err, eerr)
	}
	return entries, err
}

// matches reports whether a name in Options.Dir is one of its files.
func (w *Watcher) matches(name string) bool {
	return w.match != nil && !Ignored(name) && w.match(name)
}

// unwatch stops watching d. fsnotify drops the watch of a removed
// directory by itself, so a failure here only means it is already gone.
func (w *Watcher) unwatch(d string) {
	if err := w.fw.Remove(d); err != nil {
		w.log.Debug("watch: remove watch", "path", w.path, "dir", d, "err", err)
	} else {
		w.log.Debug("watch: stopped watching directory", "path", w.path, "dir", d)
	}
	delete(w.dirs, d)
}

// noteResolve reports a resolution error once, until it changes or clears.
func (w *Watcher) noteResolve(err error) {
	if err == nil {
		w.lastErr = ""
		return
	}
	if err.Error() == w.lastErr {
		return
	}
	w.lastErr = err.Error()
	w.report(err)
}

// report sends err on the Errors channel without blocking.
func (w *Watcher) report(err error) {
	select {
	case <-w.closed:
		return // errors from tearing down are no news
	default:
	}
	select {
	case w.errs <- err:
	default:
		w.log.Warn("watch: error dropped, Errors channel full", "path", w.path, "err", err)
	}
}
