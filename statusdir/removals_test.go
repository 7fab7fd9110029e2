package statusdir

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Any loss of any part of status/, any number of times, wakes the writer,
// which writes it again; the root itself moved away and deleted, three
// times over, included (the first version saw only the first time).
func TestWatchRemovalsRepeated(t *testing.T) {
	home := t.TempDir()
	d, err := Open(filepath.Join(home, "status"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		AppFile:                     []byte("summary: Current\n"),
		ContainersDir + "/web.yaml": []byte("name: web\n"),
		NamespacesDir + "/" + MobyNamespace + ObjectExt: []byte("name: moby\n"),
	}
	// A write racing the test's renames may fail; the daemon retries
	// (retryInterval), this writer at once.
	writeAll := func() error {
		for rel, data := range files {
			if _, err := d.WriteFile(rel, data); err != nil {
				return err
			}
		}
		return nil
	}
	if err := writeAll(); err != nil {
		t.Fatal(err)
	}
	woke := make(chan struct{}, 1)
	armed := make(chan struct{})
	d.removalsArmed = func() { close(armed) }
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- d.WatchRemovals(ctx, func() {
			select {
			case woke <- struct{}{}:
			default:
			}
		})
	}()
	select {
	case <-armed:
	case <-time.After(5 * time.Second):
		t.Fatal("the watch was not set up within 5s")
	}
	// The writer: one pass per wake-up, as the daemon's loop does; each
	// pass is reported on wrote.
	wrote := make(chan struct{}, 1)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-ctx.Done():
				return
			case <-woke:
				for writeAll() != nil && ctx.Err() == nil {
				}
				select {
				case wrote <- struct{}{}:
				default:
				}
			}
		}
	}()
	// Each loss must be restored within a second of it.
	restoredWithin := func(rel string) {
		t.Helper()
		p := filepath.Join(d.Root(), filepath.FromSlash(rel))
		deadline := time.After(time.Second)
		for {
			if _, err := os.Stat(p); err == nil {
				return
			}
			select {
			case <-wrote:
			case <-deadline:
				t.Fatalf("%s not restored within 1s", rel)
			}
		}
	}
	all := func() {
		t.Helper()
		for rel := range files {
			restoredWithin(rel)
		}
	}
	// removeAll removes what the writer may still be writing into (it
	// opened the directory before it moved).
	removeAll := func(dir string) {
		t.Helper()
		for i := 0; os.RemoveAll(dir) != nil; i++ {
			if i == 100 {
				t.Fatalf("cannot remove %s", dir)
			}
		}
	}
	for i := range 3 {
		away := filepath.Join(home, "away"+strconv.Itoa(i))
		if err := os.Rename(d.Root(), away); err != nil {
			t.Fatal(err)
		}
		removeAll(away)
		all()
	}
	for i := range 3 {
		// Renamed away first: the writer may be writing into it.
		away := filepath.Join(home, "away-containers"+strconv.Itoa(i))
		if err := os.Rename(filepath.Join(d.Root(), ContainersDir), away); err != nil {
			t.Fatal(err)
		}
		removeAll(away)
		restoredWithin(ContainersDir + "/web.yaml")
		if err := os.Remove(filepath.Join(d.Root(), NamespacesDir, MobyNamespace+ObjectExt)); err != nil {
			t.Fatal(err)
		}
		all()
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("WatchRemovals: %v", err)
	}
	<-stopped
}
