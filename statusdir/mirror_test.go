package statusdir

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// Each case of a Mirror does what its name says: LeaveDir touches nothing,
// KeepFile keeps an existing file and creates none, FileEntry writes,
// ClearDir empties the directory, and an object left out is removed.
func TestSyncMirror(t *testing.T) {
	d := openDir(t)
	dir := filepath.Join(d.Root(), ContainersDir)
	list := func() []string {
		t.Helper()
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		return names
	}
	read := func(name string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, ObjectFile(name)))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	sync := func(m Mirror, want int) {
		t.Helper()
		if n, err := d.SyncMirror(m); err != nil || n != want {
			t.Fatalf("SyncMirror(%+v) = %d, %v; want %d changes", m, n, err, want)
		}
	}

	sync(Mirror{Dir: ContainersDir, Files: map[string]Entry{"web": FileEntry([]byte("v1\n")), "db": FileEntry([]byte("d\n")), "empty": FileEntry(nil)}}, 3)
	if got := list(); !slices.Equal(got, []string{"db.yaml", "empty.yaml", "web.yaml"}) {
		t.Fatalf("files = %q", got)
	}
	if read("empty") != "" {
		t.Errorf("FileEntry(nil) is not an empty file")
	}
	sync(LeaveDir(ContainersDir), 0)
	if got := list(); len(got) != 3 {
		t.Fatalf("LeaveDir changed the directory: %q", got)
	}
	sync(Mirror{Dir: ContainersDir, Files: map[string]Entry{"web": KeepFile, "new": KeepFile, "db": FileEntry([]byte("d2\n"))}}, 2)
	if got := list(); !slices.Equal(got, []string{"db.yaml", "web.yaml"}) {
		t.Fatalf("after KeepFile: files = %q, want db and web (empty removed, new not created)", got)
	}
	if read("web") != "v1\n" || read("db") != "d2\n" {
		t.Errorf("web = %q, db = %q; want v1 kept and d2 written", read("web"), read("db"))
	}
	sync(ClearDir(ContainersDir), 2)
	if got := list(); len(got) != 0 {
		t.Fatalf("ClearDir left %q", got)
	}
}
