package statusdir

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rddproject/rdd/atomicfile"
)

// oldTime is set as the modification time of files whose untouched state a
// test checks.
var oldTime = time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)

func openDir(t testing.TB) *Dir {
	t.Helper()
	d, err := Open(filepath.Join(t.TempDir(), "status"))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func mustWrite(t testing.TB, p string, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func mustRead(t testing.TB, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func mustSymlink(t testing.TB, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("cannot create symbolic links: %v", err)
	}
}

// listTree returns the slash paths below root, directories marked with a
// trailing slash.
func listTree(t testing.TB, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if e.IsDir() {
			rel += "/"
		}
		out = append(out, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func checkMode(t testing.TB, p string, want fs.FileMode) {
	t.Helper()
	if runtime.GOOS == "windows" {
		return
	}
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("mode of %q = %v, want %v", p, got, want)
	}
	if want&0o100 != 0 && !fi.IsDir() || want&0o100 == 0 && !fi.Mode().IsRegular() {
		t.Errorf("%q has type %v", p, fi.Mode().Type())
	}
}

func TestOpen(t *testing.T) {
	t.Run("creates root and parents", func(t *testing.T) {
		root := filepath.Join(t.TempDir(), "home", "deep", "status")
		d, err := Open(root)
		if err != nil {
			t.Fatal(err)
		}
		if d.Root() != root {
			t.Fatalf("Root() = %q, want %q", d.Root(), root)
		}
		checkMode(t, root, dirMode)
	})
	t.Run("makes an existing root private", func(t *testing.T) {
		root := filepath.Join(t.TempDir(), "status")
		if err := os.Mkdir(root, 0o755); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(root); err != nil {
			t.Fatal(err)
		}
		checkMode(t, root, dirMode)
	})
	t.Run("refuses a symlink root", func(t *testing.T) {
		tmp := t.TempDir()
		real := filepath.Join(tmp, "real")
		if err := os.Mkdir(real, 0o700); err != nil {
			t.Fatal(err)
		}
		root := filepath.Join(tmp, "status")
		mustSymlink(t, real, root)
		if _, err := Open(root); err == nil || !strings.Contains(err.Error(), "symbolic link") {
			t.Fatalf("Open of a symlink root: %v, want a symbolic link error", err)
		}
	})
	t.Run("refuses a file root", func(t *testing.T) {
		root := filepath.Join(t.TempDir(), "status")
		mustWrite(t, root, "x")
		if _, err := Open(root); err == nil {
			t.Fatal("Open of a regular file succeeded")
		}
	})
	t.Run("names the path when a parent is a file", func(t *testing.T) {
		tmp := t.TempDir()
		mustWrite(t, filepath.Join(tmp, "home"), "x")
		root := filepath.Join(tmp, "home", "status")
		_, err := Open(root)
		if err == nil || !strings.Contains(err.Error(), root) {
			t.Fatalf("Open(%q) = %v, want an error naming the path", root, err)
		}
	})
	t.Run("removes temporary files", func(t *testing.T) {
		root := filepath.Join(t.TempDir(), "status")
		mustWrite(t, filepath.Join(root, AppFile), "app")
		mustWrite(t, filepath.Join(root, atomicfile.TempPrefix+"app.yaml-123"), "torn")
		mustWrite(t, filepath.Join(root, ContainersDir, "web.yaml"), "web")
		mustWrite(t, filepath.Join(root, ContainersDir, atomicfile.TempPrefix+"web.yaml-abc"), "torn")
		mustWrite(t, filepath.Join(root, ImagesDir, "deep", atomicfile.TempPrefix+"x"), "torn")
		if _, err := Open(root); err != nil {
			t.Fatal(err)
		}
		want := []string{AppFile, ContainersDir + "/", ContainersDir + "/web.yaml", ImagesDir + "/", ImagesDir + "/deep/"}
		if got := listTree(t, root); !slices.Equal(got, want) {
			t.Fatalf("after Open: %q, want %q", got, want)
		}
	})
	t.Run("empty path", func(t *testing.T) {
		if _, err := Open(""); err == nil {
			t.Fatal(`Open("") succeeded`)
		}
	})
}

func TestWriteFile(t *testing.T) {
	d := openDir(t)
	tests := []struct {
		rel, data string
	}{
		{AppFile, "a: 1\n"},
		{ContainersDir + "/web.yaml", "name: web\n"},
		{NamespacesDir + "/" + MobyNamespace + ObjectExt, "name: moby\n"},
		{"a/b/c/d.yaml", "deep\n"},
		{"empty", ""},
	}
	for _, tt := range tests {
		t.Run(tt.rel, func(t *testing.T) {
			changed, err := d.WriteFile(tt.rel, []byte(tt.data))
			if err != nil || !changed {
				t.Fatalf("WriteFile(%q) = %v, %v; want true, nil", tt.rel, changed, err)
			}
			p := filepath.Join(d.Root(), filepath.FromSlash(tt.rel))
			if got := mustRead(t, p); got != tt.data {
				t.Fatalf("%q holds %q, want %q", tt.rel, got, tt.data)
			}
			checkMode(t, p, fileMode)
			for dir := filepath.Dir(p); dir != d.Root(); dir = filepath.Dir(dir) {
				checkMode(t, dir, dirMode)
			}
			changed, err = d.WriteFile(tt.rel, []byte(tt.data))
			if err != nil || changed {
				t.Fatalf("second WriteFile(%q) = %v, %v; want false, nil", tt.rel, changed, err)
			}
		})
	}
	for _, rel := range listTree(t, d.Root()) {
		if strings.Contains(rel, atomicfile.TempPrefix) {
			t.Errorf("temporary file %q left behind", rel)
		}
	}
}

func TestWriteFileRejectsPaths(t *testing.T) {
	tmp := t.TempDir()
	d, err := Open(filepath.Join(tmp, "status"))
	if err != nil {
		t.Fatal(err)
	}
	for _, rel := range []string{
		"", ".", "..", "../x", "/abs", "a/../b", "a//b", "a/", "./a", "a/.",
		atomicfile.TempPrefix + "x", "a/" + atomicfile.TempPrefix + "x", `a\b`, "a\x00b", filepath.Join(tmp, "x"),
	} {
		if changed, err := d.WriteFile(rel, []byte("x")); err == nil || changed {
			t.Errorf("WriteFile(%q) = %v, %v; want an error", rel, changed, err)
		}
		if removed, err := d.Remove(rel); err == nil || removed {
			t.Errorf("Remove(%q) = %v, %v; want an error", rel, removed, err)
		}
	}
	if got := listTree(t, tmp); !slices.Equal(got, []string{"status/"}) {
		t.Fatalf("rejected writes left %q", got)
	}
}

// An unchanged write touches nothing: same inode, same modification time
// (review S2, S3: a no-op resync writes nothing and wakes no watcher).
func TestWriteFileUnchanged(t *testing.T) {
	tests := []struct {
		name     string
		mode     fs.FileMode // mode set on the file before the second write
		second   string
		wantSkip bool
	}{
		{name: "same bytes", mode: fileMode, second: "v1\n", wantSkip: true},
		{name: "other bytes", mode: fileMode, second: "v2\n"},
		{name: "same length other bytes", mode: fileMode, second: "v9\n"},
		{name: "prefix", mode: fileMode, second: "v1"},
		{name: "longer", mode: fileMode, second: "v1\nmore\n"},
		{name: "same bytes wrong mode", mode: 0o644, second: "v1\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if runtime.GOOS == "windows" && tt.mode != fileMode {
				t.Skip("no Unix modes")
			}
			d := openDir(t)
			p := filepath.Join(d.Root(), AppFile)
			if _, err := d.WriteFile(AppFile, []byte("v1\n")); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, tt.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(p, oldTime, oldTime); err != nil {
				t.Fatal(err)
			}
			before, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			changed, err := d.WriteFile(AppFile, []byte(tt.second))
			if err != nil {
				t.Fatal(err)
			}
			after, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if changed == tt.wantSkip {
				t.Fatalf("changed = %v, want %v", changed, !tt.wantSkip)
			}
			untouched := os.SameFile(before, after) && after.ModTime().Equal(oldTime)
			if untouched != tt.wantSkip {
				t.Fatalf("untouched = %v (same inode %v, mtime %v), want %v",
					untouched, os.SameFile(before, after), after.ModTime(), tt.wantSkip)
			}
			if got := mustRead(t, p); got != tt.second {
				t.Fatalf("file holds %q, want %q", got, tt.second)
			}
			checkMode(t, p, fileMode)
		})
	}
}

// A symbolic link planted inside status/ is replaced, never written through.
func TestWriteFileSymlinks(t *testing.T) {
	const data = "written\n"
	tests := []struct {
		name  string
		rel   string
		plant func(t *testing.T, root, outside string) // outside holds victim.yaml = "original"
	}{
		{"file link", AppFile, func(t *testing.T, root, outside string) {
			mustSymlink(t, filepath.Join(outside, "victim.yaml"), filepath.Join(root, AppFile))
		}},
		{"file link to same bytes", AppFile, func(t *testing.T, root, outside string) {
			mustWrite(t, filepath.Join(outside, "same.yaml"), data)
			mustSymlink(t, filepath.Join(outside, "same.yaml"), filepath.Join(root, AppFile))
		}},
		{"relative file link", AppFile, func(t *testing.T, root, outside string) {
			rel, err := filepath.Rel(root, filepath.Join(outside, "victim.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			mustSymlink(t, rel, filepath.Join(root, AppFile))
		}},
		{"dangling file link", AppFile, func(t *testing.T, root, outside string) {
			mustSymlink(t, filepath.Join(outside, "new.yaml"), filepath.Join(root, AppFile))
		}},
		{"parent dir link", ContainersDir + "/victim.yaml", func(t *testing.T, root, outside string) {
			mustSymlink(t, outside, filepath.Join(root, ContainersDir))
		}},
		{"grandparent dir link", "a/b/victim.yaml", func(t *testing.T, root, outside string) {
			if err := os.Mkdir(filepath.Join(outside, "b"), 0o700); err != nil {
				t.Fatal(err)
			}
			mustSymlink(t, outside, filepath.Join(root, "a"))
		}},
		{"parent link inside root", ContainersDir + "/web.yaml", func(t *testing.T, root, outside string) {
			mustWrite(t, filepath.Join(root, "other", "web.yaml"), "original")
			mustSymlink(t, "other", filepath.Join(root, ContainersDir))
		}},
		{"parent is a file", ContainersDir + "/web.yaml", func(t *testing.T, root, outside string) {
			mustWrite(t, filepath.Join(root, ContainersDir), "original")
		}},
		{"target is a directory", AppFile, func(t *testing.T, root, outside string) {
			mustWrite(t, filepath.Join(root, AppFile, "inner"), "original")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := openDir(t)
			outside := t.TempDir()
			victim := filepath.Join(outside, "victim.yaml")
			mustWrite(t, victim, "original")
			if err := os.Chtimes(victim, oldTime, oldTime); err != nil {
				t.Fatal(err)
			}
			tt.plant(t, d.Root(), outside)
			outsideBefore := listTree(t, outside)

			changed, err := d.WriteFile(tt.rel, []byte(data))
			if err != nil || !changed {
				t.Fatalf("WriteFile(%q) = %v, %v; want true, nil", tt.rel, changed, err)
			}
			p := filepath.Join(d.Root(), filepath.FromSlash(tt.rel))
			checkMode(t, p, fileMode)
			if got := mustRead(t, p); got != data {
				t.Fatalf("%q holds %q", tt.rel, got)
			}
			for dir := filepath.Dir(p); dir != d.Root(); dir = filepath.Dir(dir) {
				checkMode(t, dir, dirMode)
			}
			if got := mustRead(t, victim); got != "original" {
				t.Fatalf("the link target was written: %q", got)
			}
			if fi, err := os.Stat(victim); err != nil || !fi.ModTime().Equal(oldTime) {
				t.Fatalf("the link target was touched: %v, %v", fi.ModTime(), err)
			}
			if got := listTree(t, outside); !slices.Equal(got, outsideBefore) {
				t.Fatalf("outside the root: %q, was %q", got, outsideBefore)
			}
		})
	}
}

func TestWriteFileRecreatesRoot(t *testing.T) {
	d := openDir(t)
	if err := os.RemoveAll(d.Root()); err != nil {
		t.Fatal(err)
	}
	if _, err := d.WriteFile(NamespacesDir+"/moby.yaml", []byte("x")); err != nil {
		t.Fatal(err)
	}
	checkMode(t, d.Root(), dirMode)
	if got := mustRead(t, filepath.Join(d.Root(), NamespacesDir, "moby.yaml")); got != "x" {
		t.Fatalf("got %q", got)
	}

	// A root replaced by a link is refused, not written through.
	if err := os.RemoveAll(d.Root()); err != nil {
		t.Fatal(err)
	}
	outside := t.TempDir()
	mustSymlink(t, outside, d.Root())
	if _, err := d.WriteFile(AppFile, []byte("x")); err == nil {
		t.Fatal("WriteFile through a root link succeeded")
	}
	if got := listTree(t, outside); len(got) != 0 {
		t.Fatalf("written through the root link: %q", got)
	}
}

func TestWriteYAML(t *testing.T) {
	d := openDir(t)
	m := Marker{Digest: "sha256:1", Generation: 3, Reason: "Settled", Time: oldTime}
	if changed, err := d.WriteYAML(ReadyMarker, m); err != nil || !changed {
		t.Fatalf("WriteYAML = %v, %v", changed, err)
	}
	if changed, err := d.WriteYAML(ReadyMarker, m); err != nil || changed {
		t.Fatalf("second WriteYAML = %v, %v; want false, nil", changed, err)
	}
	got, err := ReadMarker(d.Root(), ReadyMarker)
	if err != nil {
		t.Fatal(err)
	}
	if *got != m {
		t.Fatalf("read back %+v, want %+v", *got, m)
	}
}

func TestRemove(t *testing.T) {
	d := openDir(t)
	outside := t.TempDir()
	mustWrite(t, filepath.Join(outside, "web.yaml"), "original")
	mustWrite(t, filepath.Join(d.Root(), ContainersDir, "web.yaml"), "x")
	mustWrite(t, filepath.Join(d.Root(), ImagesDir, "a.yaml"), "x")
	mustSymlink(t, outside, filepath.Join(d.Root(), VolumesDir))

	tests := []struct {
		rel         string
		wantRemoved bool
	}{
		{ContainersDir + "/web.yaml", true},
		{ContainersDir + "/web.yaml", false}, // gone now
		{AppFile, false},
		{"missing/x.yaml", false},
		{VolumesDir + "/web.yaml", false}, // below a link: not ours
		{ImagesDir, true},                 // a directory and its contents
	}
	for _, tt := range tests {
		removed, err := d.Remove(tt.rel)
		if err != nil || removed != tt.wantRemoved {
			t.Fatalf("Remove(%q) = %v, %v; want %v, nil", tt.rel, removed, err, tt.wantRemoved)
		}
	}
	if got := mustRead(t, filepath.Join(outside, "web.yaml")); got != "original" {
		t.Fatalf("removed through a link: %q", got)
	}
	want := []string{ContainersDir + "/", VolumesDir}
	if got := listTree(t, d.Root()); !slices.Equal(got, want) {
		t.Fatalf("left %q, want %q", got, want)
	}

	// Nothing to remove in a missing root, and it is not created.
	if err := os.RemoveAll(d.Root()); err != nil {
		t.Fatal(err)
	}
	if removed, err := d.Remove(AppFile); err != nil || removed {
		t.Fatalf("Remove in a missing root = %v, %v", removed, err)
	}
	if err := d.ClearVerdict(); err != nil {
		t.Fatalf("ClearVerdict in a missing root: %v", err)
	}
	if _, err := os.Lstat(d.Root()); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("root recreated by a removal: %v", err)
	}
}

func TestSyncDir(t *testing.T) {
	type file struct{ name, data string } // data "->x" plants a link to outside/x
	tests := []struct {
		name        string
		before      []file
		objs        map[string][]byte
		after       []file
		wantChanges int
	}{
		{
			name:        "creates files",
			objs:        map[string][]byte{"web": []byte("w"), "Db": []byte("d"), "ghcr.io/x:1": []byte("g")},
			after:       []file{{"^db.yaml", "d"}, {"ghcr.io%2Fx%3A1.yaml", "g"}, {"web.yaml", "w"}},
			wantChanges: 3,
		},
		{
			name:   "unchanged writes nothing",
			before: []file{{"web.yaml", "w"}},
			objs:   map[string][]byte{"web": []byte("w")},
			after:  []file{{"web.yaml", "w"}},
		},
		{
			name:        "nil keeps the file (inspect failed)",
			before:      []file{{"web.yaml", "old"}},
			objs:        map[string][]byte{"web": nil, "db": []byte("d")},
			after:       []file{{"db.yaml", "d"}, {"web.yaml", "old"}},
			wantChanges: 1,
		},
		{
			name:  "nil creates nothing",
			objs:  map[string][]byte{"web": nil},
			after: nil,
		},
		{
			name:        "removes unknown entries",
			before:      []file{{"web.yaml", "w"}, {"stale.yaml", "s"}, {"junk.txt", "j"}, {"sub/x.yaml", "x"}},
			objs:        map[string][]byte{"web": []byte("w")},
			after:       []file{{"web.yaml", "w"}},
			wantChanges: 3,
		},
		{
			name:        "rename: new written, old removed",
			before:      []file{{"old.yaml", "c"}},
			objs:        map[string][]byte{"new": []byte("c")},
			after:       []file{{"new.yaml", "c"}},
			wantChanges: 2,
		},
		{
			name:        "empty map clears",
			before:      []file{{"a.yaml", "a"}, {"b.yaml", "b"}},
			objs:        nil,
			wantChanges: 2,
		},
		{
			name:        "nil with a planted link removes the link",
			before:      []file{{"web.yaml", "->victim.yaml"}},
			objs:        map[string][]byte{"web": nil},
			wantChanges: 1,
		},
		{
			name:        "value with a planted link replaces the link",
			before:      []file{{"web.yaml", "->victim.yaml"}},
			objs:        map[string][]byte{"web": []byte("original")},
			after:       []file{{"web.yaml", "original"}},
			wantChanges: 1,
		},
		{
			name:        "hostile names stay inside",
			objs:        map[string][]byte{"../../x": []byte("1"), ".hidden": []byte("2"), "a/b": []byte("3")},
			after:       []file{{"%2E.%2F..%2Fx.yaml", "1"}, {"%2Ehidden.yaml", "2"}, {"a%2Fb.yaml", "3"}},
			wantChanges: 3,
		},
		{
			name:   "temporary files are left alone",
			before: []file{{atomicfile.TempPrefix + "web.yaml-1", "t"}},
			objs:   map[string][]byte{},
			after:  []file{{atomicfile.TempPrefix + "web.yaml-1", "t"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := openDir(t)
			outside := t.TempDir()
			victim := filepath.Join(outside, "victim.yaml")
			mustWrite(t, victim, "original")
			if err := os.Chtimes(victim, oldTime, oldTime); err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(d.Root(), ContainersDir)
			for _, f := range tt.before {
				p := filepath.Join(dir, filepath.FromSlash(f.name))
				if target, ok := strings.CutPrefix(f.data, "->"); ok {
					if err := os.MkdirAll(dir, 0o700); err != nil {
						t.Fatal(err)
					}
					mustSymlink(t, filepath.Join(outside, target), p)
					continue
				}
				mustWrite(t, p, f.data)
				if err := os.Chtimes(p, oldTime, oldTime); err != nil {
					t.Fatal(err)
				}
			}
			changes, err := d.syncObjects(ContainersDir, tt.objs)
			if err != nil {
				t.Fatal(err)
			}
			if changes != tt.wantChanges {
				t.Errorf("changes = %d, want %d", changes, tt.wantChanges)
			}
			var got []file
			for _, e := range listTree(t, dir) {
				got = append(got, file{e, mustRead(t, filepath.Join(dir, e))})
			}
			if !slices.Equal(got, tt.after) {
				t.Fatalf("after syncObjects: %q, want %q", got, tt.after)
			}
			for _, f := range tt.before {
				if slices.Contains(tt.after, f) {
					fi, err := os.Stat(filepath.Join(dir, f.name))
					if err != nil || !fi.ModTime().Equal(oldTime) {
						t.Errorf("kept file %q was touched", f.name)
					}
				}
			}
			if got := mustRead(t, victim); got != "original" {
				t.Fatalf("written through a link: %q", got)
			}
			if changes, err := d.syncObjects(ContainersDir, tt.objs); err != nil || changes != 0 {
				t.Fatalf("second syncObjects = %d, %v; want 0, nil", changes, err)
			}
		})
	}
}

func TestSyncDirLinkedDir(t *testing.T) {
	d := openDir(t)
	outside := t.TempDir()
	mustWrite(t, filepath.Join(outside, "web.yaml"), "original")
	mustSymlink(t, outside, filepath.Join(d.Root(), ContainersDir))
	changes, err := d.syncObjects(ContainersDir, map[string][]byte{"web": []byte("new"), "db": nil})
	if err != nil || changes != 1 {
		t.Fatalf("syncObjects = %d, %v; want 1, nil", changes, err)
	}
	if got := mustRead(t, filepath.Join(outside, "web.yaml")); got != "original" {
		t.Fatalf("written through a link: %q", got)
	}
	if got := listTree(t, outside); !slices.Equal(got, []string{"web.yaml"}) {
		t.Fatalf("outside: %q", got)
	}
	if got := mustRead(t, filepath.Join(d.Root(), ContainersDir, "web.yaml")); got != "new" {
		t.Fatalf("got %q", got)
	}
}

func TestSyncDirErrors(t *testing.T) {
	d := openDir(t)
	for _, sub := range []string{"", ".", "..", "../x", "/x"} {
		if _, err := d.syncObjects(sub, nil); err == nil {
			t.Errorf("syncObjects(%q) succeeded", sub)
		}
	}
	if _, err := d.syncObjects(ContainersDir, map[string][]byte{"": []byte("x")}); err == nil {
		t.Error("syncObjects with an empty name succeeded")
	}
}

func TestSetVerdict(t *testing.T) {
	d := openDir(t)
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	ready := Marker{Digest: "sha256:1", Generation: 1, Reason: "Settled", Time: t0}
	failed := Marker{Digest: "sha256:2", Generation: 2, Reason: "StartFailed", Message: "limactl: boom", Time: t0}
	steps := []struct {
		name        string
		marker      string
		m           Marker
		wantChanged bool
		wantReady   *Marker
		wantFailed  *Marker
	}{
		{"ready", ReadyMarker, ready, true, &ready, nil},
		{"ready again", ReadyMarker, ready, false, &ready, nil},
		{"ready again later keeps the time", ReadyMarker, withTime(ready, t0.Add(time.Hour)), false, &ready, nil},
		{"failed replaces ready", FailedMarker, failed, true, nil, &failed},
		{"failed with another message", FailedMarker, withMessage(failed, "other"), true, nil, ptr(withMessage(failed, "other"))},
		{"ready replaces failed", ReadyMarker, withTime(ready, t0.Add(time.Hour)), true, ptr(withTime(ready, t0.Add(time.Hour))), nil},
	}
	for _, s := range steps {
		changed, err := d.SetVerdict(s.marker, s.m)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if changed != s.wantChanged {
			t.Errorf("%s: changed = %v, want %v", s.name, changed, s.wantChanged)
		}
		snap, err := ReadSnapshot(d.Root())
		if err != nil {
			t.Fatal(err)
		}
		if !sameMarker(snap.Ready, s.wantReady) || !sameMarker(snap.Failed, s.wantFailed) {
			t.Fatalf("%s: ready %+v failed %+v; want %+v and %+v", s.name, snap.Ready, snap.Failed, s.wantReady, s.wantFailed)
		}
	}
	if err := d.ClearVerdict(); err != nil {
		t.Fatal(err)
	}
	if err := d.ClearVerdict(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{ReadyMarker, FailedMarker} {
		if _, err := os.Lstat(filepath.Join(d.Root(), name)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s after ClearVerdict: %v", name, err)
		}
	}
	if _, err := d.SetVerdict(AppFile, ready); err == nil {
		t.Error("SetVerdict(app.yaml) succeeded")
	}
}

func withTime(m Marker, t time.Time) Marker { m.Time = t; return m }
func withMessage(m Marker, s string) Marker { m.Message = s; return m }
func ptr[T any](v T) *T                     { return &v }
func sameMarker(a, b *Marker) bool {
	return a == nil && b == nil || a != nil && b != nil && a.Time.Equal(b.Time) && sameVerdict(*a, *b)
}

// A reader never sees a torn, empty or unparsable app.yaml while the writer
// replaces it again and again.
func TestConcurrentReader(t *testing.T) {
	d := openDir(t)
	const writes = 1000
	write := func(i int) error {
		app := App{ObservedGeneration: int64(i), Summary: SummaryInProgress}
		app.Desired.Generation = int64(i)
		app.Desired.Path = strings.Repeat("p", i%300) // vary the size too
		_, err := d.WriteYAML(AppFile, app)
		return err
	}
	if err := write(0); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		for i := 1; i <= writes; i++ {
			if err := write(i); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	reads, last := 0, int64(-1)
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d reads during %d writes", reads, writes)
			return
		default:
		}
		app, err := ReadApp(d.Root())
		if err != nil {
			t.Fatalf("read %d: %v", reads, err)
		}
		if g := app.ObservedGeneration; g < last || app.Desired.Generation != g || len(app.Desired.Path) != int(g%300) {
			t.Fatalf("read %d: inconsistent app: generation %d after %d, %+v", reads, g, last, app.Desired)
		} else {
			last = g
		}
		reads++
	}
}

func TestMarshalDeterministic(t *testing.T) {
	v := map[string]any{"b": []int{3, 1}, "a": map[string]string{"q": "1", "p": "2"}, "c": "True"}
	first, err := Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		again, err := Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, again) {
			t.Fatalf("Marshal differs:\n%s\n%s", first, again)
		}
	}
	want := "a:\n  p: \"2\"\n  q: \"1\"\nb:\n  - 3\n  - 1\nc: \"True\"\n"
	if string(first) != want {
		t.Fatalf("Marshal = %q, want %q", first, want)
	}
}
