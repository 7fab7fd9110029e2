package watch

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// yamlOnly is the fragment filter the daemon uses, for these tests.
func yamlOnly(name string) bool {
	return strings.HasSuffix(name, ".yaml") && !strings.HasPrefix(name, ".")
}

// readFragments renders the matching files of dir as the loop would read
// them: "name=content" lines in name order ("" when dir is missing).
func readFragments(dir string) string {
	des, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	var lines []string
	for _, de := range des {
		if !yamlOnly(de.Name()) || Ignored(de.Name()) {
			continue
		}
		b, err := ReadStable(filepath.Join(dir, de.Name()), time.Second)
		if err != nil {
			continue
		}
		lines = append(lines, de.Name()+"="+strings.TrimSpace(string(b)))
	}
	slices.Sort(lines)
	return strings.Join(lines, ";")
}

// waitFragments receives wake-ups until the fragments of dir read want.
func waitFragments(t *testing.T, w *Watcher, dir, want string) {
	t.Helper()
	timeout := time.After(deadline)
	got := ""
	for {
		select {
		case <-w.C():
		case <-timeout:
			t.Fatalf("no wake-up with fragments %q within %v; last read %q", want, deadline, got)
		}
		if got = readFragments(dir); got == want {
			return
		}
	}
}

// TestDirSavePatterns: every way of changing a fragment of desired.d/
// wakes the watcher, as for desired.yaml (DESIGN section 4).
func TestDirSavePatterns(t *testing.T) {
	for _, tc := range []struct {
		name string
		// setup prepares home before the watcher starts; it returns the
		// directory the fragments are read from after the change.
		setup  func(t *testing.T, home string) string
		change func(t *testing.T, home string)
		want   string
	}{{
		name:   "a fragment added",
		change: func(t *testing.T, home string) { write(t, filepath.Join(home, "desired.d", "20-b.yaml"), "b: 1") },
		want:   "10-a.yaml=a: 1;20-b.yaml=b: 1",
	}, {
		name:   "a fragment removed",
		change: func(t *testing.T, home string) { must(t, os.Remove(filepath.Join(home, "desired.d", "10-a.yaml"))) },
		want:   "",
	}, {
		name:   "a fragment emptied",
		change: func(t *testing.T, home string) { write(t, filepath.Join(home, "desired.d", "10-a.yaml"), "") },
		want:   "10-a.yaml=",
	}, {
		name: "truncate and write in place",
		change: func(t *testing.T, home string) {
			f, err := os.OpenFile(filepath.Join(home, "desired.d", "10-a.yaml"), os.O_WRONLY|os.O_TRUNC, 0)
			must(t, err)
			_, err = f.WriteString("a: 2\n")
			must(t, err)
			must(t, f.Close())
		},
		want: "10-a.yaml=a: 2",
	}, {
		name: "temp file renamed over",
		change: func(t *testing.T, home string) {
			tmp := filepath.Join(home, "desired.d", ".tmp-10-a.yaml-123")
			write(t, tmp, "a: 3")
			must(t, os.Rename(tmp, filepath.Join(home, "desired.d", "10-a.yaml")))
		},
		want: "10-a.yaml=a: 3",
	}, {
		name: "delete then create",
		change: func(t *testing.T, home string) {
			p := filepath.Join(home, "desired.d", "10-a.yaml")
			must(t, os.Remove(p))
			write(t, p, "a: 4")
		},
		want: "10-a.yaml=a: 4",
	}, {
		name: "desired.d created after the watcher started",
		setup: func(t *testing.T, home string) string {
			must(t, os.RemoveAll(filepath.Join(home, "desired.d")))
			return filepath.Join(home, "desired.d")
		},
		change: func(t *testing.T, home string) { write(t, filepath.Join(home, "desired.d", "30-c.yaml"), "c: 1") },
		want:   "30-c.yaml=c: 1",
	}, {
		name: "a fragment symlinked elsewhere, its target edited",
		setup: func(t *testing.T, home string) string {
			write(t, filepath.Join(home, "dots", "work.yaml"), "w: 1")
			must(t, os.Symlink("../dots/work.yaml", filepath.Join(home, "desired.d", "20-work.yaml")))
			return filepath.Join(home, "desired.d")
		},
		change: func(t *testing.T, home string) { write(t, filepath.Join(home, "dots", "work.yaml"), "w: 2") },
		want:   "10-a.yaml=a: 1;20-work.yaml=w: 2",
	}, {
		name: "desired.d a stow link into a dotfiles repository, git checkout adds two",
		setup: func(t *testing.T, home string) string {
			must(t, os.RemoveAll(filepath.Join(home, "desired.d")))
			repo := filepath.Join(home, "dotfiles")
			write(t, filepath.Join(repo, "rd", "desired.d", "10-a.yaml"), "a: 1")
			git(t, repo, "init", "-q", "-b", "main")
			git(t, repo, "add", ".")
			git(t, repo, "commit", "-q", "-m", "main")
			git(t, repo, "checkout", "-q", "-b", "more")
			write(t, filepath.Join(repo, "rd", "desired.d", "20-b.yaml"), "b: 1")
			write(t, filepath.Join(repo, "rd", "desired.d", "30-c.yaml"), "c: 1")
			git(t, repo, "add", ".")
			git(t, repo, "commit", "-q", "-m", "more")
			git(t, repo, "checkout", "-q", "main")
			must(t, os.Symlink("dotfiles/rd/desired.d", filepath.Join(home, "desired.d")))
			return filepath.Join(home, "desired.d")
		},
		change: func(t *testing.T, home string) { git(t, filepath.Join(home, "dotfiles"), "checkout", "-q", "more") },
		want:   "10-a.yaml=a: 1;20-b.yaml=b: 1;30-c.yaml=c: 1",
	}, {
		name: "desired.d retargeted to another directory",
		setup: func(t *testing.T, home string) string {
			write(t, filepath.Join(home, "laptop", "10-a.yaml"), "laptop: 1")
			return filepath.Join(home, "desired.d")
		},
		change: func(t *testing.T, home string) {
			must(t, os.RemoveAll(filepath.Join(home, "desired.d")))
			relink(t, "laptop", filepath.Join(home, "desired.d"))
		},
		want: "10-a.yaml=laptop: 1",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			home := tempDir(t)
			write(t, filepath.Join(home, "desired.yaml"), "running: true\n")
			write(t, filepath.Join(home, "desired.d", "10-a.yaml"), "a: 1")
			dir := filepath.Join(home, "desired.d")
			if tc.setup != nil {
				dir = tc.setup(t, home)
			}
			w := start(t, filepath.Join(home, "desired.yaml"), Options{Dir: filepath.Join(home, "desired.d"), Match: yamlOnly})
			tc.change(t, home)
			waitFragments(t, w, dir, tc.want)
		})
	}
}

// TestDirIgnoresOtherNames: editor temp files and names Match refuses in
// desired.d/ never wake; a real edit after them does.
func TestDirIgnoresOtherNames(t *testing.T) {
	home := tempDir(t)
	write(t, filepath.Join(home, "desired.yaml"), "running: true\n")
	d := filepath.Join(home, "desired.d")
	write(t, filepath.Join(d, "10-a.yaml"), "a: 1")
	w := start(t, filepath.Join(home, "desired.yaml"), Options{Dir: d, Match: yamlOnly, Debounce: 10 * time.Millisecond})
	for _, name := range []string{".10-a.yaml.swp", "10-a.yaml~", ".#10-a.yaml", "#10-a.yaml#", ".tmp-10-a.yaml-42", "4913", "README.md", "10-a.yaml.bak", "notes.txt"} {
		write(t, filepath.Join(d, name), "scratch")
		must(t, os.Remove(filepath.Join(d, name)))
	}
	write(t, filepath.Join(d, "10-a.yaml"), "a: 2")
	select {
	case <-w.C():
	case <-time.After(deadline):
		t.Fatalf("no wake-up within %v", deadline)
	}
	if got := readFragments(d); got != "10-a.yaml=a: 2" {
		t.Fatalf("woken before the real edit: read %q", got)
	}
}

// TestDirBurstOneWakeUp: a git checkout that touches four fragments is one
// wake-up, for the final content (the debounce with a cap).
func TestDirBurstOneWakeUp(t *testing.T) {
	home := tempDir(t)
	write(t, filepath.Join(home, "desired.yaml"), "running: true\n")
	repo := filepath.Join(home, "dotfiles")
	for _, n := range []string{"10", "20", "30", "40"} {
		write(t, filepath.Join(repo, n+".yaml"), "v: "+n)
	}
	git(t, repo, "init", "-q", "-b", "main")
	git(t, repo, "add", ".")
	git(t, repo, "commit", "-q", "-m", "main")
	git(t, repo, "checkout", "-q", "-b", "pull")
	for _, n := range []string{"10", "20", "30", "40"} {
		write(t, filepath.Join(repo, n+".yaml"), "v: pulled "+n)
	}
	git(t, repo, "commit", "-q", "-am", "pull")
	git(t, repo, "checkout", "-q", "main")
	must(t, os.Symlink("dotfiles", filepath.Join(home, "desired.d")))
	const debounce = 200 * time.Millisecond
	w := start(t, filepath.Join(home, "desired.yaml"), Options{Dir: filepath.Join(home, "desired.d"), Match: yamlOnly,
		Debounce: debounce, MaxDelay: 10 * time.Second})
	git(t, repo, "checkout", "-q", "pull")
	waitWake(t, w)
	if got, want := readFragments(repo), "10.yaml=v: pulled 10;20.yaml=v: pulled 20;30.yaml=v: pulled 30;40.yaml=v: pulled 40"; got != want {
		t.Fatalf("after the wake-up: %q, want %q", got, want)
	}
	select {
	case <-w.C():
		t.Fatal("a second wake-up for one checkout")
	case <-time.After(2 * debounce):
	}
}
