package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// entries lists dir, so that a test sees a temporary file left behind.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// A write replaces the file with the given mode, whatever the umask and
// the old mode, and leaves no temporary file.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f.yaml")
	if err := os.WriteFile(p, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Write(p, []byte("new\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := read(t, p); got != "new\n" {
		t.Errorf("content = %q", got)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
	if got := entries(t, dir); len(got) != 1 {
		t.Errorf("directory holds %q, want only f.yaml", got)
	}
}

// A failed write leaves the old file as it was and removes its temporary
// file.
func TestWriteFailure(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	var tmp string
	err := WriteWith(p, []byte("new"), 0o600, Options{Prepare: func(f *os.File) error {
		tmp = f.Name()
		return boom
	}})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if !strings.HasPrefix(filepath.Base(tmp), TempPrefix+"f-") {
		t.Errorf("temporary file %q is not named %s<name>-<random>", tmp, TempPrefix)
	}
	if got := read(t, p); got != "old" {
		t.Errorf("content = %q, want the old bytes", got)
	}
	if got := entries(t, dir); len(got) != 1 {
		t.Errorf("directory holds %q, want only f", got)
	}
}

// A planted temporary name never makes a write reuse a file it did not
// create: names are random and created with O_EXCL.
func TestTempNamesAreFresh(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	for range 3 {
		if err := Write(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// The fixed name an older writer used is not touched.
	planted := filepath.Join(dir, "f.tmp")
	if err := os.WriteFile(planted, []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Write(p, []byte("y"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := read(t, planted); got != "mine" {
		t.Errorf("planted file = %q", got)
	}
}

// WriteIn replaces a link planted where the file belongs instead of
// following it out of the root.
func TestWriteInReplacesLink(t *testing.T) {
	dir, outside := t.TempDir(), filepath.Join(t.TempDir(), "target")
	if err := os.WriteFile(outside, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "f")); err != nil {
		t.Skipf("symlink: %v", err)
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := WriteIn(r, "f", []byte("new"), 0o600, Options{}); err != nil {
		t.Fatal(err)
	}
	if got := read(t, outside); got != "keep" {
		t.Errorf("the link's target was written: %q", got)
	}
	fi, err := os.Lstat(filepath.Join(dir, "f"))
	if err != nil || !fi.Mode().IsRegular() {
		t.Errorf("f is not a regular file: %v, %v", fi, err)
	}
}

// Create makes a new file and refuses an existing one, leaving it alone.
func TestCreate(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := Create(p, []byte("one"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Create(p, []byte("two"), 0o644); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second Create = %v, want fs.ErrExist", err)
	}
	if got := read(t, p); got != "one" {
		t.Errorf("content = %q", got)
	}
	if got := entries(t, dir); len(got) != 1 {
		t.Errorf("directory holds %q, want only f", got)
	}
}
