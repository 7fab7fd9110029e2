package schema

import (
	"bytes"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

func readErr(t *testing.T, path string) *Error {
	t.Helper()
	f, err := Read(path)
	if err == nil {
		t.Fatalf("Read(%q) accepted %d bytes", path, len(f.Data))
	}
	var e *Error
	if !errors.As(err, &e) || e.File != path || e.Line != 1 || e.Column != 1 {
		t.Fatalf("Read(%q): %v is not positioned at the file", path, err)
	}
	return e
}

func TestReadRefusesNonRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	loop := filepath.Join(dir, "loop")
	if err := os.Symlink(loop, loop); err != nil {
		t.Fatal(err)
	}
	dangling := filepath.Join(dir, "dangling")
	if err := os.Symlink(filepath.Join(dir, "nowhere.yaml"), dangling); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		dir:                           "is a directory, not a YAML file",
		fifo:                          "is a named pipe (FIFO), not a regular file",
		sock:                          "is a socket, not a regular file",
		os.DevNull:                    "is a device, not a regular file",
		loop:                          "is a symlink loop",
		dangling:                      "which does not exist; fix the link or create its target",
		filepath.Join(dir, "missing"): "does not exist; create it with `rdd init`",
	} {
		if e := readErr(t, path); !strings.Contains(e.Msg, want) {
			t.Errorf("Read(%q): %q, want %q", path, e.Msg, want)
		}
	}
	if err := readErr(t, dangling); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a dangling link's error does not wrap fs.ErrNotExist: %v", err)
	}
}

// A FIFO and a file swapped over the path thousands of times while it is
// read: no read ever blocks, each gives the file or the FIFO refusal.
func TestReadFIFOSwap(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "desired.yaml")
	content := []byte("running: true\n")
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	const swaps = 2000
	swapped := make(chan error, 1)
	go func() {
		for i := range swaps {
			tmp := filepath.Join(dir, "next")
			var err error
			if i%2 == 0 {
				err = syscall.Mkfifo(tmp, 0o600)
			} else {
				err = os.WriteFile(tmp, content, 0o600)
			}
			if err == nil {
				err = os.Rename(tmp, path)
			}
			if err != nil {
				swapped <- err
				return
			}
		}
		swapped <- nil
	}()
	reads := make(chan [2]int, 1)
	stop := make(chan struct{})
	go func() {
		var files, fifos int
		for {
			select {
			case <-stop:
				reads <- [2]int{files, fifos}
				return
			default:
			}
			f, err := Read(path)
			switch {
			case err == nil && bytes.Equal(f.Data, content):
				files++
			case err != nil && strings.Contains(err.Error(), "is a named pipe (FIFO)"):
				fifos++
			default:
				t.Errorf("read during a swap: %v", err)
			}
		}
	}()
	deadline := time.After(2 * time.Minute)
	select {
	case err := <-swapped:
		if err != nil {
			t.Fatal(err)
		}
	case <-deadline:
		t.Fatal("swapping did not finish: a read is blocked")
	}
	close(stop)
	select {
	case n := <-reads:
		if n[0]+n[1] == 0 {
			t.Fatal("no read completed")
		}
		t.Logf("%d reads of the file, %d of the FIFO", n[0], n[1])
	case <-deadline:
		t.Fatal("a read is blocked")
	}
}

// /proc files say their size is 0 and then read as more: never a verdict on
// bytes that do not match the size, and never a hang.
func TestReadLyingSize(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc/cpuinfo is Linux's")
	}
	link := filepath.Join(t.TempDir(), "desired.yaml")
	if err := os.Symlink("/proc/cpuinfo", link); err != nil {
		t.Fatal(err)
	}
	if e := readErr(t, link); !strings.Contains(e.Msg, "is not a regular file of stable size (its size is 0 bytes, reading it gave ") {
		t.Fatalf("got %q", e.Msg)
	}
}

func TestReadSizeLimit(t *testing.T) {
	dir := t.TempDir()
	exact := filepath.Join(dir, "exact.yaml")
	data := bytes.Repeat([]byte("#"), MaxFileSize)
	if err := os.WriteFile(exact, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if f, err := Read(exact); err != nil || len(f.Data) != MaxFileSize || f.Info.Size() != MaxFileSize {
		t.Fatalf("exactly 1 MiB: %v", err)
	}
	over := filepath.Join(dir, "over.yaml")
	if err := os.WriteFile(over, append(data, '#'), 0o600); err != nil {
		t.Fatal(err)
	}
	if e := readErr(t, over); e.Msg != "is 1048577 bytes; the limit is 1048576 bytes (1 MiB): is this the right file?" {
		t.Fatalf("got %q", e.Msg)
	}
}

// A file that changes between fstat and the read: growth past the limit is
// refused without reading more than limit+1 bytes; any other change is
// "changed while being read", which the daemon retries.
func TestReadChangesDuringRead(t *testing.T) {
	for _, tc := range []struct {
		name string
		grow int
		want string
	}{
		{"past the limit", MaxFileSize, "is over 1048576 bytes (1 MiB), the limit: is this the right file?"},
		{"a little", 10, "changed while being read; it is read again once the writer is done"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "desired.yaml")
			if err := os.WriteFile(path, []byte("running: true\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			afterStat = func() {
				f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
				if err != nil {
					t.Error(err)
					return
				}
				defer f.Close()
				if _, err := f.Write(bytes.Repeat([]byte("#"), tc.grow)); err != nil {
					t.Error(err)
				}
			}
			defer func() { afterStat = nil }()
			e := readErr(t, path)
			if e.Msg != tc.want {
				t.Fatalf("got %q, want %q", e.Msg, tc.want)
			}
			if changed := errors.Is(e, ErrChanged); changed != (tc.grow < MaxFileSize) {
				t.Errorf("errors.Is(ErrChanged) = %v", changed)
			}
		})
	}
}
