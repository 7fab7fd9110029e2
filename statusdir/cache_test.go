package statusdir

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"
)

// settledDir opens a Dir whose clock runs an hour ahead, so that every file
// looks settled (last changed well over racyWindow ago) and is remembered
// once verified, as in a daemon's steady state.
func settledDir(t testing.TB) *Dir {
	t.Helper()
	d := openDir(t)
	requireIdentity(t, d.Root())
	d.now = func() time.Time { return time.Now().Add(time.Hour) }
	return d
}

// requireIdentity skips t on systems where Dir remembers nothing.
func requireIdentity(t testing.TB, p string) {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := identify(fi); !ok {
		t.Skip("no file change time on this system: Dir compares bytes every time")
	}
}

func lstatID(t testing.TB, p string) fileID {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := identify(fi)
	return id
}

// afterCtime waits until the file system clock has passed the change time
// of p, so that a change made now gives p another change time even where
// timestamps are coarse. Under settledDir's clock, a change in the same
// tick would be one that a real clock's racyWindow catches (TestCacheRacy).
func afterCtime(t testing.TB, p string) {
	t.Helper()
	last := lstatID(t, p).ctime
	probe := filepath.Join(t.TempDir(), "probe")
	mustWrite(t, probe, "")
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		if err := os.Chmod(probe, 0o600); err != nil {
			t.Fatal(err)
		}
		if lstatID(t, probe).ctime > last {
			return
		}
	}
	t.Fatalf("the change time of %q did not move on within 5s", probe)
}

// pass runs one reconcile-like pass: the object files, then app.yaml.
func pass(t testing.TB, d *Dir, objs map[string][]byte, app string) int {
	t.Helper()
	n, err := d.syncObjects(ContainersDir, objs)
	if err != nil {
		t.Fatal(err)
	}
	changed, err := d.WriteFile(AppFile, []byte(app))
	if err != nil {
		t.Fatal(err)
	}
	if changed {
		n++
	}
	return n
}

// counts returns and resets the files d read back and the directories it
// listed.
func counts(d *Dir) (reads, listings int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	reads, listings = d.reads, d.listings
	d.reads, d.listings = 0, 0
	return reads, listings
}

// remembered returns how many files d remembers.
func remembered(d *Dir) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, ds := range d.dirs {
		n += len(ds.files)
	}
	return n
}

// warm writes objs and app, then runs the pass that verifies and remembers
// them, and checks that a third pass reads and lists nothing.
func warm(t testing.TB, d *Dir, objs map[string][]byte, app string) {
	t.Helper()
	pass(t, d, objs, app)
	if n := pass(t, d, objs, app); n != 0 {
		t.Fatalf("verifying pass changed %d files", n)
	}
	counts(d)
	if n := pass(t, d, objs, app); n != 0 {
		t.Fatalf("remembered pass changed %d files", n)
	}
	if reads, listings := counts(d); reads != 0 || listings != 0 {
		t.Fatalf("a pass over remembered files read %d files and listed %d directories, want 0 and 0", reads, listings)
	}
}

// stamps returns the identity of root and of everything below it.
func stamps(t testing.TB, root string) map[string]fileID {
	t.Helper()
	out := map[string]fileID{}
	err := filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		out[p] = lstatID(t, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A pass over remembered, unchanged files writes nothing, changes no
// modification (or change) time of any file or directory, and neither
// reads a file back nor lists a directory: one Lstat per file.
func TestCacheNoopPass(t *testing.T) {
	d := settledDir(t)
	objs := map[string][]byte{}
	for i := range 300 {
		objs[fmt.Sprintf("c%03d", i)] = fmt.Appendf(nil, "name: c%03d\nstate: running\n", i)
	}
	objs["unknown"] = nil // an inspect failed: its file is kept as it is
	mustWrite(t, filepath.Join(d.Root(), ContainersDir, "unknown.yaml"), "old\n")
	m := Marker{Digest: "sha256:1", Generation: 1, Reason: "Settled", Time: oldTime}
	warm(t, d, objs, "app\n")
	must(t)(d.SetVerdict(ReadyMarker, m)) // writes the marker
	must(t)(d.SetVerdict(ReadyMarker, m)) // verifies and remembers it
	counts(d)

	before := stamps(t, d.Root())
	for range 3 {
		if n := pass(t, d, objs, "app\n"); n != 0 {
			t.Fatalf("no-op pass changed %d files", n)
		}
		if changed, err := d.SetVerdict(ReadyMarker, m); err != nil || changed {
			t.Fatalf("SetVerdict = %v, %v", changed, err)
		}
	}
	if reads, listings := counts(d); reads != 0 || listings != 0 {
		t.Errorf("no-op passes read %d files and listed %d directories, want 1 and 0", reads, listings)
	}
	if after := stamps(t, d.Root()); !maps.Equal(before, after) {
		t.Fatalf("a no-op pass changed the tree:\n%v\n%v", before, after)
	}
}

// A status file deleted or replaced by hand behind a Dir that remembers it
// is restored by the next pass, whichever of its identity fields the change
// leaves alone; the files next to it stay untouched.
func TestCacheRestores(t *testing.T) {
	const (
		web   = "name: web\nstate: running\n"
		other = "name: web\nstate: exited!\n" // same length
	)
	if len(web) != len(other) {
		t.Fatal("test data: lengths differ")
	}
	// keepTimes puts back the modification time p had, as `touch -r` does.
	keepTimes := func(t *testing.T, p string, fi fs.FileInfo) {
		if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name        string
		syncObjects bool // only for a file that syncObjects owns
		nilWeb      bool // web's content is unknown (nil) in the pass after the tamper
		tamper      func(t *testing.T, p, outside string, fi fs.FileInfo)
	}{
		{name: "removed", tamper: func(t *testing.T, p, _ string, _ fs.FileInfo) {
			mustNil(t, os.Remove(p))
		}},
		{name: "rewritten in place, same size, mtime put back", tamper: func(t *testing.T, p, _ string, fi fs.FileInfo) {
			f, err := os.OpenFile(p, os.O_WRONLY|os.O_TRUNC, 0)
			mustNil(t, err)
			_, err = f.WriteString(other)
			mustNil(t, errors.Join(err, f.Close()))
			keepTimes(t, p, fi)
		}},
		{name: "truncated in place, mtime put back", tamper: func(t *testing.T, p, _ string, fi fs.FileInfo) {
			mustNil(t, os.Truncate(p, 3))
			keepTimes(t, p, fi)
		}},
		{name: "replaced by rename, same size, mtime put back", tamper: func(t *testing.T, p, _ string, fi fs.FileInfo) {
			tmp := p + ".new"
			mustWrite(t, tmp, other)
			keepTimes(t, tmp, fi)
			mustNil(t, os.Rename(tmp, p))
		}},
		{name: "replaced by a link to the same bytes", tamper: func(t *testing.T, p, outside string, fi fs.FileInfo) {
			target := filepath.Join(outside, "same.yaml")
			mustWrite(t, target, mustRead(t, p))
			keepTimes(t, target, fi)
			mustNil(t, os.Remove(p))
			mustSymlink(t, target, p)
		}},
		{name: "replaced by a directory", tamper: func(t *testing.T, p, _ string, _ fs.FileInfo) {
			mustNil(t, os.Remove(p))
			mustWrite(t, filepath.Join(p, "x"), "x")
		}},
		{name: "mode changed", tamper: func(t *testing.T, p, _ string, _ fs.FileInfo) {
			if runtime.GOOS == "windows" {
				t.Skip("no Unix modes")
			}
			mustNil(t, os.Chmod(p, 0o644))
		}},
		{name: "directory replaced by an empty one", syncObjects: true, tamper: func(t *testing.T, p, _ string, _ fs.FileInfo) {
			dir := filepath.Dir(p)
			mustNil(t, os.RemoveAll(dir))
			mustNil(t, os.Mkdir(dir, dirMode))
		}},
		{name: "unknown content, replaced by a link", syncObjects: true, nilWeb: true, tamper: func(t *testing.T, p, outside string, _ fs.FileInfo) {
			target := filepath.Join(outside, "same.yaml")
			mustWrite(t, target, "victim")
			mustNil(t, os.Remove(p))
			mustSymlink(t, target, p)
		}},
	}
	for _, tt := range tests {
		for _, owner := range []string{"syncObjects", "WriteFile"} {
			if tt.syncObjects && owner != "syncObjects" {
				continue
			}
			t.Run(owner+"/"+tt.name, func(t *testing.T) {
				d := settledDir(t)
				outside := t.TempDir()
				objs := map[string][]byte{"web": []byte(web), "db": []byte("name: db\n")}
				app := "app\n"
				p := filepath.Join(d.Root(), ContainersDir, "web.yaml")
				bystander := filepath.Join(d.Root(), ContainersDir, "db.yaml")
				if owner == "WriteFile" {
					app = web
					p, bystander = filepath.Join(d.Root(), AppFile), p
				}
				warm(t, d, objs, app)
				idBystander := lstatID(t, bystander)
				fi, err := os.Lstat(p)
				mustNil(t, err)
				afterCtime(t, p)
				tt.tamper(t, p, outside, fi)
				outsideBefore := stamps(t, outside)
				_, err = os.Lstat(bystander)
				bystanderLeft := err == nil

				if tt.nilWeb {
					objs["web"] = nil
				}
				if n := pass(t, d, objs, app); n == 0 {
					t.Fatal("the pass after the change wrote nothing")
				}
				if tt.nilWeb {
					// syncObjects keeps a file of unknown content only if it
					// is a regular file.
					if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
						t.Fatalf("a link for an object of unknown content was kept: %v", err)
					}
				} else {
					if got := mustRead(t, p); got != web {
						t.Fatalf("%q holds %q, want %q", p, got, web)
					}
					checkMode(t, p, fileMode)
				}
				if bystanderLeft && lstatID(t, bystander) != idBystander {
					t.Errorf("the file next to it was touched")
				}
				if got := stamps(t, outside); !maps.Equal(got, outsideBefore) {
					t.Errorf("written through the link")
				}
				if n := pass(t, d, objs, app); n != 0 {
					t.Fatalf("the pass after the repair changed %d files", n)
				}
			})
		}
	}
}

// A foreign file created in a directory whose listing is remembered is
// removed by the next pass: creating it changes the directory.
func TestCacheForeignEntry(t *testing.T) {
	d := settledDir(t)
	objs := map[string][]byte{"web": []byte("w\n")}
	warm(t, d, objs, "app\n")
	dir := filepath.Join(d.Root(), ContainersDir)
	afterCtime(t, dir)
	mustWrite(t, filepath.Join(dir, "stale.yaml"), "s")
	if n, err := d.syncObjects(ContainersDir, objs); err != nil || n != 1 {
		t.Fatalf("syncObjects = %d, %v; want 1, nil", n, err)
	}
	if got := listTree(t, dir); !slices.Equal(got, []string{"web.yaml"}) {
		t.Fatalf("left %q", got)
	}
	if _, listings := counts(d); listings != 1 {
		t.Fatalf("listed %d directories, want 1", listings)
	}
}

// With the real clock, a file changed moments ago is not remembered: a
// change in the same clock tick could keep its change time. So a rewrite
// in place, with the same size and the modification time put back, right
// after a pass is still caught, however coarse the timestamps.
func TestCacheRacy(t *testing.T) {
	d := openDir(t)
	requireIdentity(t, d.Root())
	objs := map[string][]byte{"web": []byte("name: web\n")}
	pass(t, d, objs, "app\n")
	pass(t, d, objs, "app\n")
	if n := remembered(d); n != 0 {
		t.Fatalf("remembers %d files changed just now", n)
	}
	p := filepath.Join(d.Root(), ContainersDir, "web.yaml")
	fi, err := os.Lstat(p)
	mustNil(t, err)
	mustNil(t, os.WriteFile(p, []byte("name: xyz\n"), 0o600))
	mustNil(t, os.Chtimes(p, fi.ModTime(), fi.ModTime()))
	if n := pass(t, d, objs, "app\n"); n != 1 {
		t.Fatalf("pass changed %d files, want 1", n)
	}
	if got := mustRead(t, p); got != "name: web\n" {
		t.Fatalf("got %q", got)
	}
}

// A write that fails after its temporary file is complete, as a crash
// before the rename would, leaves the old file whole, no temporary file,
// and nothing remembered that would make the next pass skip the write.
func TestCacheFailedWrite(t *testing.T) {
	d := settledDir(t)
	warm(t, d, map[string][]byte{"web": []byte("v1\n")}, "app\n")
	p := filepath.Join(d.Root(), ContainersDir, "web.yaml")
	before := lstatID(t, p)
	boom := errors.New("boom")
	d.beforeRename = func(string) error { return boom }
	if _, err := d.syncObjects(ContainersDir, map[string][]byte{"web": []byte("v2\n")}); !errors.Is(err, boom) {
		t.Fatalf("syncObjects = %v, want boom", err)
	}
	if _, err := d.WriteFile(AppFile, []byte("app2\n")); !errors.Is(err, boom) {
		t.Fatalf("WriteFile = %v, want boom", err)
	}
	if got := lstatID(t, p); got != before || mustRead(t, p) != "v1\n" {
		t.Fatalf("the old file was touched: %q", mustRead(t, p))
	}
	if got := mustRead(t, filepath.Join(d.Root(), AppFile)); got != "app\n" {
		t.Fatalf("app.yaml holds %q", got)
	}
	if got := listTree(t, d.Root()); !slices.Equal(got, []string{AppFile, ContainersDir + "/", ContainersDir + "/web.yaml"}) {
		t.Fatalf("left %q", got)
	}
	d.beforeRename = nil
	if n := pass(t, d, map[string][]byte{"web": []byte("v2\n")}, "app2\n"); n != 2 {
		t.Fatalf("pass after the failure changed %d files, want 2", n)
	}
	if got := mustRead(t, p); got != "v2\n" {
		t.Fatalf("got %q", got)
	}
}

// Nothing is remembered across a restart: a new Dir on the same root, as
// after a crash, compares bytes on its first pass.
func TestCacheRestart(t *testing.T) {
	d := settledDir(t)
	objs := map[string][]byte{"a": []byte("a\n"), "b": []byte("b\n")}
	warm(t, d, objs, "app\n")
	d2, err := Open(d.Root())
	mustNil(t, err)
	d2.now = d.now
	if n := pass(t, d2, objs, "app\n"); n != 0 {
		t.Fatalf("first pass after a restart changed %d files", n)
	}
	if reads, listings := counts(d2); reads != 3 || listings != 1 {
		t.Fatalf("first pass after a restart read %d files and listed %d directories, want 3 and 1", reads, listings)
	}
}

// Dir remembers only the files that exist: objects that go, files removed
// and directories cleared take their entries with them.
func TestCacheBounded(t *testing.T) {
	d := settledDir(t)
	objs := map[string][]byte{}
	for i := range 100 {
		objs[fmt.Sprint(i)] = []byte{byte(i)}
	}
	warm(t, d, objs, "app\n")
	if n := remembered(d); n != 101 {
		t.Fatalf("remembers %d files, want 101", n)
	}
	for i := range 90 {
		delete(objs, fmt.Sprint(i))
	}
	if _, err := d.syncObjects(ContainersDir, objs); err != nil {
		t.Fatal(err)
	}
	if n := remembered(d); n != 11 {
		t.Fatalf("remembers %d files, want 11", n)
	}
	must(t)(d.Remove(ContainersDir))
	must(t)(d.Remove(AppFile))
	if n := remembered(d); n != 0 {
		t.Fatalf("remembers %d files, want 0", n)
	}
	if _, ok := d.dirs[ContainersDir]; ok {
		t.Fatal("remembers a removed directory")
	}
}

// With the cache off (the benchmarks' baseline), every pass compares bytes
// and lists every directory, as before the cache.
func TestCacheOff(t *testing.T) {
	d := settledDir(t)
	d.noCache = true
	objs := map[string][]byte{"a": []byte("a\n"), "b": []byte("b\n")}
	pass(t, d, objs, "app\n")
	counts(d)
	for range 2 {
		if n := pass(t, d, objs, "app\n"); n != 0 {
			t.Fatalf("pass changed %d files", n)
		}
	}
	if reads, listings := counts(d); reads != 6 || listings != 2 {
		t.Fatalf("read %d files and listed %d directories, want 6 and 2", reads, listings)
	}
	if n := remembered(d); n != 0 {
		t.Fatalf("remembers %d files", n)
	}
}
