package watch_test

import (
	"context"
	"errors"
	"io/fs"
	"log"
	"time"

	"github.com/rddproject/rdd/watch"
)

// The daemon's use: watch first, then read, then re-read on every wake-up.
func Example() {
	const path = "desired.yaml"
	ctx := context.Background()

	w, err := watch.New(path, watch.Options{})
	if err != nil {
		log.Fatal(err) // watching cannot start at all
	}
	defer w.Close()
	go w.Run(ctx)

	// Read only after New: a change from now on is a wake-up.
	reconcile := func() {
		b, err := watch.ReadStable(path, time.Second)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			// Deleted: report it, keep the last good state.
		case errors.Is(err, watch.ErrUnstable):
			// Still being written: its events bring another wake-up.
		case err != nil:
			// Report it.
		default:
			_ = b // validate and reconcile
		}
	}
	reconcile()
	for {
		select {
		case <-ctx.Done():
			return
		case err := <-w.Errors():
			log.Print(err) // a wake-up follows
		case <-w.C():
			reconcile()
		}
	}
}
