package home

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestPrivateDir(t *testing.T) {
	base := t.TempDir()
	run := filepath.Join(base, "rd", "run")
	if err := PrivateDir(run); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(run); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("run/ = %v, %v; want a 0700 directory", fi, err)
	}
	wide := filepath.Join(base, "wide")
	if err := os.Mkdir(wide, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := PrivateDir(wide); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(wide); fi.Mode().Perm() != 0o700 {
		t.Errorf("an existing 0755 directory stays %v", fi.Mode().Perm())
	}
	link := filepath.Join(base, "link")
	if err := os.Symlink(wide, link); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ dir, want string }{
		{link, "is a symbolic link"},
		{file, "is not a directory"},
	} {
		if err := PrivateDir(tc.dir); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("PrivateDir(%s) = %v, want %q", filepath.Base(tc.dir), err, tc.want)
		}
	}
	if os.Geteuid() == 0 {
		other := filepath.Join(base, "other")
		if err := os.Mkdir(other, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(other, 12345, 12345); err != nil {
			t.Fatal(err)
		}
		if err := PrivateDir(other); err == nil || !strings.Contains(err.Error(), "belongs to user 12345") {
			t.Errorf("a directory of another user: %v", err)
		}
	}
}

func TestOpenPrivate(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(dir, "daemon.log")
	f, err := OpenPrivate(name, os.O_WRONLY|os.O_APPEND)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if fi, _ := os.Stat(name); fi.Mode().Perm() != 0o600 {
		t.Errorf("created with mode %v", fi.Mode().Perm())
	}
	link := filepath.Join(dir, "link")
	hard := filepath.Join(dir, "hard")
	fifo := filepath.Join(dir, "fifo")
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(victim, hard); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, want string }{
		{link, "is a symbolic link"},
		{hard, "has other hard links"},
		{fifo, ""}, // opened without blocking: ENXIO, or not a regular file
	} {
		f, err := OpenPrivate(tc.name, os.O_WRONLY|os.O_APPEND)
		if err == nil {
			f.Close()
		}
		if err == nil || tc.want != "" && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("OpenPrivate(%s) = %v, want %q", filepath.Base(tc.name), err, tc.want)
		}
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Errorf("victim = %q", b)
	}
}

func TestResolve(t *testing.T) {
	t.Setenv("HOME", "/home/u")
	t.Setenv("RDD_HOME", "")
	t.Setenv("RDD_DESIRED", "")
	h, err := Resolve("", "")
	if err != nil || h.Dir != "/home/u/.rd" || h.Desired != "/home/u/.rd/desired.yaml" {
		t.Fatalf("Resolve() = %+v, %v", h, err)
	}
	t.Setenv("RDD_HOME", "~/other")
	h, err = Resolve("", "~/dots/d.yaml")
	if err != nil || h.Dir != "/home/u/other" || h.Desired != "/home/u/dots/d.yaml" {
		t.Fatalf("Resolve with env and flag = %+v, %v", h, err)
	}
	h, _ = Resolve("/x", "")
	for got, want := range map[string]string{
		h.Status(): "/x/status", h.Lock(): "/x/run/daemon.lock", h.Applied(): "/x/run/applied.yaml",
		h.Logs(): "/x/logs", h.Lima(): "/x/lima", h.Socket(): "/x/docker.sock",
	} {
		if got != want {
			t.Errorf("path %q, want %q", got, want)
		}
	}
}
