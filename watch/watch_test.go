package watch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
)

// deadline bounds every wait for a wake-up; reaching it fails the test.
const deadline = 5 * time.Second

// tempDir is t.TempDir with its symlinks resolved (macOS puts it under the
// /var symlink), so paths compare equal to what the watcher computes.
func tempDir(t testing.TB) string {
	t.Helper()
	d, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// start makes a watcher for path, runs it until the test ends, and checks
// that it reported no errors and that Run returned nil.
func start(t testing.TB, path string, opts Options) *Watcher {
	t.Helper()
	w, err := New(path, opts)
	if err != nil {
		t.Fatalf("New(%q): %v", path, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if err := w.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		select {
		case err := <-w.Errors():
			t.Errorf("unexpected watcher error: %v", err)
		default:
		}
	})
	return w
}

// waitWake fails the test unless a wake-up arrives within the deadline.
func waitWake(t testing.TB, w *Watcher) {
	t.Helper()
	select {
	case <-w.C():
	case <-time.After(deadline):
		t.Fatalf("no wake-up within %v", deadline)
	}
}

// waitContent receives wake-ups, reading path after each the way the loop
// does, until it holds want. It fails the test if a wake-up is missing.
func waitContent(t testing.TB, w *Watcher, path, want string) {
	t.Helper()
	timeout := time.After(deadline)
	var got string
	var err error
	for {
		select {
		case <-w.C():
		case <-timeout:
			t.Fatalf("no wake-up with content %q within %v; last read %q, %v", want, deadline, got, err)
		}
		var b []byte
		b, err = ReadStable(path, time.Second)
		got = string(b)
		if err == nil && got == want {
			return
		}
	}
}

// waitGone receives wake-ups until path is missing.
func waitGone(t testing.TB, w *Watcher, path string) {
	t.Helper()
	timeout := time.After(deadline)
	for {
		select {
		case <-w.C():
		case <-timeout:
			t.Fatalf("no wake-up with %q missing within %v", path, deadline)
		}
		if _, err := ReadStable(path, time.Second); errors.Is(err, fs.ErrNotExist) {
			return
		}
	}
}

func write(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// relink points link at target by renaming a new link over it, as ln -sfn,
// stow and chezmoi do.
func relink(t testing.TB, target, link string) {
	t.Helper()
	tmp := link + ".tmp-relink"
	must(t, os.Symlink(target, tmp))
	must(t, os.Rename(tmp, link))
}

// watchedDirs returns the directories the watcher watches, sorted.
func (w *Watcher) watchedDirs() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var dirs []string
	for d := range w.dirs {
		dirs = append(dirs, d)
	}
	slices.Sort(dirs)
	return dirs
}

func git(t testing.TB, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_CONFIG_GLOBAL="+os.DevNull, "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=rdd test", "GIT_AUTHOR_EMAIL=test@rdd.invalid",
		"GIT_COMMITTER_NAME=rdd test", "GIT_COMMITTER_EMAIL=test@rdd.invalid",
	)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestSavePatterns checks that each way of changing the file wakes the
// watcher, and that ReadStable then returns the new content.
func TestSavePatterns(t *testing.T) {
	tests := []struct {
		name string
		// setup prepares the files before the watcher starts and returns
		// the path to watch.
		setup func(t *testing.T, dir string) string
		// change is the save.
		change func(t *testing.T, dir, path string)
		// want is the content after the change; gone: the file is missing.
		want string
		gone bool
		// then checks more once want was read.
		then func(t *testing.T, w *Watcher, dir, path string)
	}{
		{
			name: "truncate and write in place",
			change: func(t *testing.T, dir, path string) {
				f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
				must(t, err)
				_, err = f.WriteString("running: true\n")
				must(t, err)
				must(t, f.Close())
			},
			want: "running: true\n",
		},
		{
			name: "temp file renamed over",
			change: func(t *testing.T, dir, path string) {
				tmp := filepath.Join(dir, ".desired.yaml.tmp-1234")
				write(t, tmp, "running: true\n")
				must(t, os.Rename(tmp, path))
			},
			want: "running: true\n",
		},
		{
			name: "GNOME atomic save",
			change: func(t *testing.T, dir, path string) {
				tmp := filepath.Join(dir, ".goutputstream-ABC123")
				write(t, tmp, "running: true\n")
				must(t, os.Rename(tmp, path))
			},
			want: "running: true\n",
		},
		{
			name: "vim with backup and swap files",
			change: func(t *testing.T, dir, path string) {
				swp := filepath.Join(dir, ".desired.yaml.swp")
				write(t, swp, "swap")
				probe := filepath.Join(dir, "4913")
				write(t, probe, "")
				must(t, os.Remove(probe))
				backup := path + "~"
				must(t, os.Rename(path, backup))
				write(t, path, "running: true\n")
				must(t, os.Remove(backup))
				must(t, os.Remove(swp))
			},
			want: "running: true\n",
		},
		{
			name: "delete then create",
			change: func(t *testing.T, dir, path string) {
				must(t, os.Remove(path))
				write(t, path, "running: true\n")
			},
			want: "running: true\n",
		},
		{
			name: "sed -i",
			change: func(t *testing.T, dir, path string) {
				tmp := filepath.Join(dir, "sedX1b2Zq")
				write(t, tmp, "running: true\n")
				must(t, os.Rename(tmp, path))
			},
			want: "running: true\n",
		},
		{
			name: "cp over",
			change: func(t *testing.T, dir, path string) {
				src := filepath.Join(t.TempDir(), "new.yaml")
				write(t, src, "running: true\n")
				b, err := os.ReadFile(src)
				must(t, err)
				f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC|os.O_CREATE, 0o644)
				must(t, err)
				_, err = f.Write(b)
				must(t, err)
				must(t, f.Close())
			},
			want: "running: true\n",
		},
		{
			name: "file deleted",
			change: func(t *testing.T, dir, path string) {
				must(t, os.Remove(path))
			},
			gone: true,
		},
		{
			name: "parent directory created after New",
			setup: func(t *testing.T, dir string) string {
				return filepath.Join(dir, "home", ".rd", "desired.yaml")
			},
			change: func(t *testing.T, dir, path string) {
				write(t, path, "running: true\n")
			},
			want: "running: true\n",
			then: func(t *testing.T, w *Watcher, dir, path string) {
				write(t, path, "running: false\n")
				waitContent(t, w, path, "running: false\n")
				// The watches moved down to the file's own directory.
				if got, want := w.watchedDirs(), []string{filepath.Dir(path)}; !slices.Equal(got, want) {
					t.Errorf("watched dirs = %q, want %q", got, want)
				}
			},
		},
		{
			name: "parent directory removed and created again",
			setup: func(t *testing.T, dir string) string {
				path := filepath.Join(dir, "conf", "desired.yaml")
				write(t, path, "running: false\n")
				return path
			},
			change: func(t *testing.T, dir, path string) {
				must(t, os.RemoveAll(filepath.Dir(path)))
				write(t, path, "running: true\n")
			},
			want: "running: true\n",
			then: func(t *testing.T, w *Watcher, dir, path string) {
				write(t, path, "running: false\n")
				waitContent(t, w, path, "running: false\n")
			},
		},
		{
			name: "symlink retargeted (stow)",
			setup: func(t *testing.T, dir string) string {
				write(t, filepath.Join(dir, "pkg1", "desired.yaml"), "running: false\n")
				write(t, filepath.Join(dir, "pkg2", "desired.yaml"), "running: true\n")
				path := filepath.Join(dir, "home", "desired.yaml")
				must(t, os.MkdirAll(filepath.Dir(path), 0o755))
				must(t, os.Symlink("../pkg1/desired.yaml", path))
				return path
			},
			change: func(t *testing.T, dir, path string) {
				relink(t, "../pkg2/desired.yaml", path)
			},
			want: "running: true\n",
			then: func(t *testing.T, w *Watcher, dir, path string) {
				// An edit of the new target wakes.
				write(t, filepath.Join(dir, "pkg2", "desired.yaml"), "cpus: 4\n")
				waitContent(t, w, path, "cpus: 4\n")
			},
		},
		{
			name: "chain of two symlinks, middle link changes",
			setup: func(t *testing.T, dir string) string {
				write(t, filepath.Join(dir, "a", "desired.yaml"), "running: false\n")
				write(t, filepath.Join(dir, "b", "desired.yaml"), "running: true\n")
				must(t, os.MkdirAll(filepath.Join(dir, "mid"), 0o755))
				must(t, os.Symlink("../a/desired.yaml", filepath.Join(dir, "mid", "current.yaml")))
				path := filepath.Join(dir, "home", "desired.yaml")
				must(t, os.MkdirAll(filepath.Dir(path), 0o755))
				must(t, os.Symlink(filepath.Join(dir, "mid", "current.yaml"), path))
				return path
			},
			change: func(t *testing.T, dir, path string) {
				relink(t, "../b/desired.yaml", filepath.Join(dir, "mid", "current.yaml"))
			},
			want: "running: true\n",
			then: func(t *testing.T, w *Watcher, dir, path string) {
				write(t, filepath.Join(dir, "b", "desired.yaml"), "cpus: 4\n")
				waitContent(t, w, path, "cpus: 4\n")
			},
		},
		{
			name: "target directory replaced (home-manager)",
			setup: func(t *testing.T, dir string) string {
				write(t, filepath.Join(dir, "store", "A", "desired.yaml"), "running: false\n")
				write(t, filepath.Join(dir, "store", "B", "desired.yaml"), "running: true\n")
				path := filepath.Join(dir, "home", "desired.yaml")
				must(t, os.MkdirAll(filepath.Dir(path), 0o755))
				must(t, os.Symlink(filepath.Join(dir, "store", "A", "desired.yaml"), path))
				return path
			},
			change: func(t *testing.T, dir, path string) {
				relink(t, filepath.Join(dir, "store", "B", "desired.yaml"), path)
			},
			want: "running: true\n",
			then: func(t *testing.T, w *Watcher, dir, path string) {
				// A is no longer watched; B is.
				want := []string{filepath.Dir(path), filepath.Join(dir, "store", "B")}
				slices.Sort(want)
				if got := w.watchedDirs(); !slices.Equal(got, want) {
					t.Errorf("watched dirs = %q, want %q", got, want)
				}
				write(t, filepath.Join(dir, "store", "A", "desired.yaml"), "stale: true\n")
				write(t, filepath.Join(dir, "store", "B", "desired.yaml"), "cpus: 4\n")
				waitContent(t, w, path, "cpus: 4\n")
			},
		},
		{
			name: "symlinked directory swapped (stow folding)",
			setup: func(t *testing.T, dir string) string {
				write(t, filepath.Join(dir, "dot1", "rd", "desired.yaml"), "running: false\n")
				write(t, filepath.Join(dir, "dot2", "rd", "desired.yaml"), "running: true\n")
				must(t, os.MkdirAll(filepath.Join(dir, "home"), 0o755))
				must(t, os.Symlink("../dot1/rd", filepath.Join(dir, "home", ".rd")))
				return filepath.Join(dir, "home", ".rd", "desired.yaml")
			},
			change: func(t *testing.T, dir, path string) {
				relink(t, "../dot2/rd", filepath.Join(dir, "home", ".rd"))
			},
			want: "running: true\n",
			then: func(t *testing.T, w *Watcher, dir, path string) {
				write(t, filepath.Join(dir, "dot2", "rd", "desired.yaml"), "cpus: 4\n")
				waitContent(t, w, path, "cpus: 4\n")
			},
		},
		{
			name: "git checkout of another branch",
			setup: func(t *testing.T, dir string) string {
				if _, err := exec.LookPath("git"); err != nil {
					if os.Getenv("CI") != "" {
						t.Fatal("no git binary: CI must install it (.ci/run does)")
					}
					t.Skip("no git binary")
				}
				repo := filepath.Join(dir, "dotfiles")
				path := filepath.Join(repo, "desired.yaml")
				write(t, path, "running: false\n")
				git(t, repo, "init", "-q")
				git(t, repo, "checkout", "-q", "-b", "main")
				git(t, repo, "add", "desired.yaml")
				git(t, repo, "commit", "-q", "-m", "off")
				git(t, repo, "checkout", "-q", "-b", "on")
				write(t, path, "running: true\ncpus: 4\n")
				git(t, repo, "commit", "-q", "-am", "on")
				git(t, repo, "checkout", "-q", "main")
				return path
			},
			change: func(t *testing.T, dir, path string) {
				git(t, filepath.Dir(path), "checkout", "-q", "on")
			},
			want: "running: true\ncpus: 4\n",
			then: func(t *testing.T, w *Watcher, dir, path string) {
				git(t, filepath.Dir(path), "checkout", "-q", "main")
				waitContent(t, w, path, "running: false\n")
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := tempDir(t)
			path := filepath.Join(dir, "desired.yaml")
			if tt.setup != nil {
				path = tt.setup(t, dir)
			} else {
				write(t, path, "running: false\n")
			}
			w := start(t, path, Options{})
			tt.change(t, dir, path)
			if tt.gone {
				waitGone(t, w, path)
			} else {
				waitContent(t, w, path, tt.want)
			}
			if tt.then != nil {
				tt.then(t, w, dir, path)
			}
		})
	}
}

// editorTemps are the temporary and backup names the package doc lists,
// for a file named desired.yaml.
var editorTemps = []string{
	".desired.yaml.swp", ".desired.yaml.swx", ".desired.yaml.swo",
	"4913",
	"desired.yaml~",
	"#desired.yaml#",
	"desired.yaml.tmp", ".desired.yaml.tmp", ".tmp-desired.yaml-42",
	"desired.yaml.bak",
	".goutputstream-XYZ123",
	"sedAb12Cd",
}

// TestEditorTempFilesDoNotWake touches only editor temp files: no event may
// count, and no wake-up may come within twice MaxDelay.
func TestEditorTempFilesDoNotWake(t *testing.T) {
	dir := tempDir(t)
	path := filepath.Join(dir, "desired.yaml")
	write(t, path, "running: false\n")
	w, err := New(path, Options{Debounce: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond})
	must(t, err)
	var (
		mu       sync.Mutex
		relevant []string
		barrier  = make(chan struct{})
		once     sync.Once
	)
	barrierName := filepath.Join(dir, "zz-barrier")
	w.onEvent = func(ev fsnotify.Event, rel bool) {
		if rel {
			mu.Lock()
			relevant = append(relevant, ev.String())
			mu.Unlock()
		}
		if ev.Name == barrierName {
			once.Do(func() { close(barrier) })
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go w.Run(ctx)
	defer w.Close()

	for _, name := range editorTemps {
		p := filepath.Join(dir, name)
		write(t, p, "scratch")
		write(t, p, "scratch again")
		must(t, os.Chmod(p, 0o600))
	}
	must(t, os.Rename(filepath.Join(dir, "desired.yaml.tmp"), filepath.Join(dir, "desired.yaml.bak")))
	must(t, os.Symlink("user@host.42", filepath.Join(dir, ".#desired.yaml"))) // emacs lock
	must(t, os.Remove(filepath.Join(dir, ".#desired.yaml")))
	for _, name := range editorTemps {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
	}
	// Events arrive in order: once the barrier's is seen, all were.
	write(t, barrierName, "")
	select {
	case <-barrier:
	case <-time.After(deadline):
		t.Fatalf("barrier event not seen within %v", deadline)
	}
	mu.Lock()
	if len(relevant) > 0 {
		t.Errorf("events counted as relevant: %q", relevant)
	}
	mu.Unlock()
	select {
	case <-w.C():
		t.Fatal("wake-up from editor temp files")
	case <-time.After(2 * 50 * time.Millisecond):
	}
}

// TestBurst writes 100 times in a tight loop: a few wake-ups at most, and
// the read after the last one sees the last write.
func TestBurst(t *testing.T) {
	dir := tempDir(t)
	path := filepath.Join(dir, "desired.yaml")
	write(t, path, "n: -1\n")
	w := start(t, path, Options{})
	const n = 100
	for i := range n {
		write(t, path, fmt.Sprintf("n: %d\n", i))
	}
	last := fmt.Sprintf("n: %d\n", n-1)
	wakes := 0
	timeout := time.After(deadline)
	for {
		select {
		case <-w.C():
			wakes++
		case <-timeout:
			t.Fatalf("content %q not read within %v after %d wake-ups", last, deadline, wakes)
		}
		b, err := ReadStable(path, time.Second)
		if err == nil && string(b) == last {
			break
		}
	}
	t.Logf("%d writes, %d wake-ups", n, wakes)
	if wakes > 5 {
		t.Errorf("%d writes gave %d wake-ups, want at most 5", n, wakes)
	}
}

// TestMaxDelay keeps writing for longer than MaxDelay: a wake-up must come
// while the writes go on.
func TestMaxDelay(t *testing.T) {
	dir := tempDir(t)
	path := filepath.Join(dir, "desired.yaml")
	write(t, path, "n: 0\n")
	w := start(t, path, Options{Debounce: 200 * time.Millisecond, MaxDelay: 20 * time.Millisecond})
	// Each write is well within Debounce of the last, so without the cap
	// no wake-up would come until the writes stop.
	stop := time.Now().Add(deadline)
	for i := 0; time.Now().Before(stop); i++ {
		write(t, path, fmt.Sprintf("n: %d\n", i))
		select {
		case <-w.C():
			return
		default:
		}
	}
	t.Fatalf("no wake-up within %v of continuous writes", deadline)
}

// TestOverflowWakes checks that an fsnotify error is reported and wakes.
func TestOverflowWakes(t *testing.T) {
	dir := tempDir(t)
	path := filepath.Join(dir, "desired.yaml")
	write(t, path, "running: false\n")
	w, err := New(path, Options{})
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go w.Run(ctx)
	defer w.Close()

	w.fw.Errors <- fsnotify.ErrEventOverflow
	waitWake(t, w)
	select {
	case err := <-w.Errors():
		if !errors.Is(err, fsnotify.ErrEventOverflow) {
			t.Errorf("error = %v, want an overflow", err)
		}
	default:
		t.Error("overflow not reported on Errors")
	}
	// The watch goes on.
	write(t, path, "running: true\n")
	waitContent(t, w, path, "running: true\n")
}

// TestSymlinkLoopIsReportedAndWatched starts on a looping symlink: New
// succeeds, the loop is reported, and fixing it wakes.
func TestSymlinkLoopIsReportedAndWatched(t *testing.T) {
	dir := tempDir(t)
	path := filepath.Join(dir, "desired.yaml")
	must(t, os.Symlink("other.yaml", path))
	must(t, os.Symlink("desired.yaml", filepath.Join(dir, "other.yaml")))
	w, err := New(path, Options{})
	must(t, err)
	defer w.Close()
	select {
	case err := <-w.Errors():
		if !strings.Contains(err.Error(), path) {
			t.Errorf("error %q does not name %q", err, path)
		}
	default:
		t.Fatal("symlink loop not reported")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go w.Run(ctx)
	must(t, os.Remove(filepath.Join(dir, "other.yaml")))
	write(t, filepath.Join(dir, "other.yaml"), "running: true\n")
	waitContent(t, w, path, "running: true\n")
}

// TestRunAndClose checks Run's start-up errors and that Close ends Run.
func TestRunAndClose(t *testing.T) {
	path := filepath.Join(tempDir(t), "desired.yaml")
	w, err := New(path, Options{})
	must(t, err)
	done := make(chan error, 1)
	go func() { done <- w.Run(context.Background()) }()
	write(t, path, "running: true\n")
	waitWake(t, w) // Run is running
	if err := w.Run(context.Background()); err == nil {
		t.Error("a second Run succeeded")
	}
	must(t, w.Close())
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after Close = %v, want nil", err)
		}
	case <-time.After(deadline):
		t.Fatal("Run did not return after Close")
	}
	must(t, w.Close()) // twice is fine
	if err := w.Run(context.Background()); err == nil {
		t.Error("Run on a closed watcher succeeded")
	}
	if _, err := New("", Options{}); err == nil {
		t.Error(`New("") succeeded`)
	}
}

// BenchmarkWakeLatency measures one write to the wake-up it causes, with a
// 1 ms debounce (included in the result).
func BenchmarkWakeLatency(b *testing.B) {
	path := filepath.Join(tempDir(b), "desired.yaml")
	write(b, path, "n: 0\n")
	const debounce = time.Millisecond
	w := start(b, path, Options{Debounce: debounce, MaxDelay: 10 * debounce})
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	must(b, err)
	defer f.Close()
	content := []byte("n: 1\n")
	n := 0
	for b.Loop() {
		// One write syscall: one event, one wake-up.
		if _, err := f.WriteAt(content, 0); err != nil {
			b.Fatal(err)
		}
		waitWake(b, w)
		n++
	}
	b.ReportMetric(float64(b.Elapsed()-time.Duration(n)*debounce)/float64(n), "ns-over-debounce/op")
}
