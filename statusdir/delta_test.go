package statusdir

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"
)

// stamp is what tells a file that was not touched: its inode, modification
// and change times.
type stamp struct {
	ino          uint64
	mtime, ctime int64
}

func stampsOf(t *testing.T, dir string) map[string]stamp {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]stamp{}
	for _, e := range entries {
		fi, err := os.Lstat(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		out[e.Name()] = stamp{ino: st.Ino, mtime: fi.ModTime().UnixNano(), ctime: st.Ctim.Nano()}
	}
	return out
}

// mirrorOf is the Mirror of containers/ holding objs (nil: KeepFile).
func mirrorOf(objs map[string][]byte, delta Delta) Mirror {
	files := make(map[string]Entry, len(objs))
	for name, data := range objs {
		if data == nil {
			files[name] = KeepFile
		} else {
			files[name] = FileEntry(data)
		}
	}
	return Mirror{Dir: ContainersDir, Files: files, Delta: delta}
}

func syncDelta(t *testing.T, d *Dir, objs map[string][]byte, delta Delta) int {
	t.Helper()
	n, err := d.SyncMirror(mirrorOf(objs, delta))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func manyObjects(n int) map[string][]byte {
	objs := map[string][]byte{}
	for i := range n {
		objs[fmt.Sprintf("c%03d", i)] = fmt.Appendf(nil, "name: c%03d\n", i)
	}
	return objs
}

// A Mirror whose Delta follows the last sync touches only the files it names:
// every other file keeps its inode, mtime and ctime, and is not even looked
// at (one planted by hand stays). Removed objects' files go, new ones
// appear.
func TestSyncDirDeltaTouchesOnlyNamed(t *testing.T) {
	d := openDir(t)
	objs := manyObjects(50)
	base := NewToken()
	if n := syncDelta(t, d, objs, Delta{Token: base}); n != 50 {
		t.Fatalf("first sync wrote %d files, want 50", n)
	}
	dir := filepath.Join(d.Root(), ContainersDir)
	mustWrite(t, filepath.Join(dir, "planted.yaml"), "x")
	before := stampsOf(t, dir)
	reads, listings := d.reads, d.listings

	next := maps.Clone(objs)
	next["c001"] = []byte("name: c001\nstate: running\n")
	delete(next, "c002")
	next["new"] = []byte("name: new\n")
	next["c003"] = nil // unknown right now: kept
	tok := NewToken()
	if n := syncDelta(t, d, next, Delta{Token: tok, Base: base, Names: []string{"c001", "c002", "new", "c003"}}); n != 3 {
		t.Errorf("delta sync changed %d files, want 3", n)
	}
	if d.listings != listings || d.reads != reads {
		t.Errorf("delta sync listed %d directories and read %d files back, want none", d.listings-listings, d.reads-reads)
	}
	after := stampsOf(t, dir)
	for name, st := range before {
		switch name {
		case "c001.yaml":
			if after[name] == st {
				t.Errorf("%s was not rewritten", name)
			}
		case "c002.yaml":
			if _, ok := after[name]; ok {
				t.Errorf("%s of a removed object is still there", name)
			}
		default:
			if after[name] != st {
				t.Errorf("%s was touched: %+v -> %+v", name, st, after[name])
			}
		}
	}
	if got := mustRead(t, filepath.Join(dir, "new.yaml")); got != "name: new\n" {
		t.Errorf("new.yaml = %q", got)
	}

	// A full sync (no Base) compares everything: the planted file goes.
	if n := syncDelta(t, d, next, Delta{Token: NewToken()}); n != 1 {
		t.Errorf("full sync changed %d files, want 1 (the planted one)", n)
	}
	if _, err := os.Lstat(filepath.Join(dir, "planted.yaml")); !os.IsNotExist(err) {
		t.Errorf("planted file survived a full sync: %v", err)
	}
}

// A Delta whose Base is not the last sync (another writer's, a failed
// sync, a new Dir) is a full sync, so nothing stale survives it.
func TestSyncDirDeltaStaleBase(t *testing.T) {
	d := openDir(t)
	objs := manyObjects(5)
	first := NewToken()
	syncDelta(t, d, objs, Delta{Token: first})
	second := NewToken()
	syncDelta(t, d, objs, Delta{Token: second, Base: first})
	dir := filepath.Join(d.Root(), ContainersDir)
	mustWrite(t, filepath.Join(dir, "planted.yaml"), "x")
	// Base first is no longer the last sync: compared whole.
	syncDelta(t, d, objs, Delta{Token: NewToken(), Base: first})
	if _, err := os.Lstat(filepath.Join(dir, "planted.yaml")); !os.IsNotExist(err) {
		t.Errorf("a stale Base was taken as current: %v", err)
	}

	// A failed sync is not a base either.
	tok := NewToken()
	syncDelta(t, d, objs, Delta{Token: tok})
	bad := maps.Clone(objs)
	bad[""] = []byte("x")
	if _, err := d.SyncMirror(mirrorOf(bad, Delta{Token: NewToken(), Base: tok, Names: []string{""}})); err == nil {
		t.Fatal("an empty object name was accepted")
	}
	mustWrite(t, filepath.Join(dir, "planted.yaml"), "x")
	syncDelta(t, d, objs, Delta{Token: NewToken(), Base: tok})
	if _, err := os.Lstat(filepath.Join(dir, "planted.yaml")); !os.IsNotExist(err) {
		t.Errorf("a sync after a failed one was incremental: %v", err)
	}

	// A new Dir knows no sync: its first is full.
	tok = NewToken()
	syncDelta(t, d, objs, Delta{Token: tok})
	mustWrite(t, filepath.Join(dir, "planted.yaml"), "x")
	d2, err := Open(d.Root())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d2.SyncMirror(mirrorOf(objs, Delta{Token: NewToken(), Base: tok})); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "planted.yaml")); !os.IsNotExist(err) {
		t.Errorf("a new Dir followed a Delta it never saw: %v", err)
	}
}

// A file that a sync left removed by someone else (I1) makes the next
// Delta a full sync, which restores it; the removals a sync makes itself,
// and of files no sync expects (a marker), do not.
func TestSyncDirDeltaAfterRemoval(t *testing.T) {
	d := openDir(t)
	objs := manyObjects(5)
	tok := NewToken()
	syncDelta(t, d, objs, Delta{Token: tok})
	ctx, cancel := context.WithCancel(context.Background())
	woken := make(chan struct{}, 100)
	done := make(chan error, 1)
	go func() {
		done <- d.WatchRemovals(ctx, func() {
			select {
			case woken <- struct{}{}:
			default:
			}
		})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	dir := filepath.Join(d.Root(), ContainersDir)
	// The watch is set up when a removal of a file outside the tree's
	// syncs wakes it: remove such files until one does.
	waitWoken(t, woken, func() {
		mustWrite(t, filepath.Join(d.Root(), ReadyMarker), "x")
		if err := os.Remove(filepath.Join(d.Root(), ReadyMarker)); err != nil {
			t.Fatal(err)
		}
	})
	if !d.synced(ContainersDir, tok) {
		t.Fatal("removing a marker voided the sync of containers/")
	}

	// The sync's own removal (an object gone) keeps the next Delta
	// incremental.
	next := maps.Clone(objs)
	delete(next, "c000")
	tok2 := NewToken()
	syncDelta(t, d, next, Delta{Token: tok2, Base: tok, Names: []string{"c000"}})
	waitWoken(t, woken, nil)
	if !d.synced(ContainersDir, tok2) {
		t.Fatal("the sync's own removal voided it")
	}

	if err := os.Remove(filepath.Join(dir, "c004.yaml")); err != nil {
		t.Fatal(err)
	}
	waitWoken(t, woken, nil)
	syncDelta(t, d, next, Delta{Token: NewToken(), Base: tok2, Names: []string{"c001"}})
	if got := mustRead(t, filepath.Join(dir, "c004.yaml")); got != "name: c004\n" {
		t.Errorf("removed file restored as %q", got)
	}
	want := []string{"c001.yaml", "c002.yaml", "c003.yaml", "c004.yaml"}
	if got := slices.Sorted(maps.Keys(stampsOf(t, dir))); !slices.Equal(got, want) {
		t.Errorf("containers/ = %v, want %v", got, want)
	}
}

// waitWoken runs act (when not nil) until wake-ups arrive, then drains them.
func waitWoken(t *testing.T, woken chan struct{}, act func()) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if act != nil {
			act()
		}
		select {
		case <-woken:
			for len(woken) > 0 {
				<-woken
			}
			return
		case <-time.After(50 * time.Millisecond):
			if act == nil {
				continue
			}
		case <-deadline:
			t.Fatal("no wake-up from WatchRemovals within 10s")
		}
	}
}

// synced reports whether d's last sync of sub that a Delta can follow is
// token's.
func (d *Dir) synced(sub string, token uint64) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	ds := d.dirs[sub]
	return ds != nil && ds.syncToken == token && ds.expected != nil
}
