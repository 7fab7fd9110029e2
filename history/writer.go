package history

import (
	"context"
	"log/slog"
	"sync"
)

// Writer makes a Store's writes in a goroutine of its own, in the order
// they were queued, so that the daemon's loop never waits for their
// synced writes: history is for people, and a verdict must not wait for
// it. A write that fails is logged, and the loop goes on without it.
type Writer struct {
	store *Store
	log   *slog.Logger
	jobs  chan func() error
	done  chan struct{}
	once  sync.Once
}

// queueLen bounds the writes waiting; past it a write is dropped and
// logged rather than blocking the loop (a pass queues at most two).
const queueLen = 64

// NewWriter starts a writer for s; Close ends it.
func NewWriter(s *Store, log *slog.Logger) *Writer {
	if log == nil {
		log = slog.Default()
	}
	w := &Writer{store: s, log: log, jobs: make(chan func() error, queueLen), done: make(chan struct{})}
	go w.run()
	return w
}

func (w *Writer) run() {
	defer close(w.done)
	for job := range w.jobs {
		if err := job(); err != nil {
			w.log.Warn("history", "err", err)
		}
	}
}

// Add queues Store.Add of e and files.
func (w *Writer) Add(e Entry, files map[string][]byte) {
	w.queue(func() error { return w.store.Add(e, files) })
}

// SetVerdict queues Store.SetVerdict.
func (w *Writer) SetVerdict(gen int64, verdict, reason, message string) {
	w.queue(func() error { return w.store.SetVerdict(gen, verdict, reason, message) })
}

func (w *Writer) queue(job func() error) {
	select {
	case w.jobs <- job:
	default:
		w.log.Warn("history: too many writes waiting; one was dropped")
	}
}

// Close writes what is queued, waiting at most until ctx ends, and stops
// the writer. Queueing after Close panics.
func (w *Writer) Close(ctx context.Context) error {
	w.once.Do(func() { close(w.jobs) })
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
