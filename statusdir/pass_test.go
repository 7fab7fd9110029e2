package statusdir

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/rddproject/rdd/atomicfile"
)

// passOf is the batch a pass of generation gen writes; every fifth
// generation is pending, the others alternate ready and failed.
func passOf(gen int64) Pass {
	p := Pass{App: App{ObservedGeneration: gen, Summary: SummaryCurrent, Desired: DesiredRef{Generation: gen}}}
	switch {
	case gen%5 == 0:
	case gen%2 == 0:
		p.Marker = ReadyMarker
	default:
		p.Marker = FailedMarker
	}
	p.Verdict = Marker{Digest: fmt.Sprintf("sha256:%064x", gen), Generation: gen, Reason: ReasonSettled,
		Time: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
	if p.Marker == FailedMarker {
		p.Verdict.Reason = ReasonInvalid
	}
	return p
}

// A reader woken by fsnotify (ReadSnapshot, as `rdd wait` reads) never sees
// a marker of a generation newer than app.yaml's, while passes of growing
// generations are written as fast as they can be.
func TestWritePassOrder(t *testing.T) {
	d := openDir(t)
	w, err := fsnotify.NewWatcher()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Add(d.Root()); err != nil {
		t.Fatal(err)
	}
	const last = 300
	done := make(chan error, 1)
	go func() {
		for gen := int64(1); gen <= last; gen++ {
			if _, err := d.WritePass(passOf(gen)); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	// The writer ends with a sentinel file: once its event arrives, every
	// event of the passes has been read.
	sentinel := filepath.Join(d.Root(), "zz-end")
	checked, end := 0, false
	deadline := time.After(60 * time.Second)
	for !end {
		select {
		case ev := <-w.Events:
			if ev.Name == sentinel {
				end = true
				continue
			}
			if base := filepath.Base(ev.Name); base != ReadyMarker && base != FailedMarker || !ev.Has(fsnotify.Create) {
				continue
			}
			s, err := ReadSnapshot(d.Root())
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range []*Marker{s.Ready, s.Failed} {
				if m == nil {
					continue
				}
				if s.App == nil || s.App.ObservedGeneration < m.Generation {
					t.Fatalf("marker of generation %d next to app.yaml %+v", m.Generation, s.App)
				}
				checked++
			}
		case err := <-w.Errors:
			t.Fatal(err)
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			done = nil // keep reading the events already queued
			if err := os.WriteFile(sentinel, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		case <-deadline:
			t.Fatalf("the passes and their events took over 60s (%d markers checked)", checked)
		}
	}
	if checked < 10 {
		t.Fatalf("only %d markers checked", checked)
	}
	s, err := ReadSnapshot(d.Root())
	if err != nil {
		t.Fatal(err)
	}
	if s.Ready != nil || s.Failed != nil || s.App.ObservedGeneration != last {
		t.Fatalf("after the last (pending) pass: ready %v, failed %v, app generation %d", s.Ready, s.Failed, s.App.ObservedGeneration)
	}
}

// Repeating a pass writes nothing: no file, no directory sync, and the
// marker keeps the time the verdict was first reached.
func TestWritePassUnchanged(t *testing.T) {
	d := openDir(t)
	p := passOf(2)
	if changed, err := d.WritePass(p); err != nil || !changed {
		t.Fatalf("first WritePass = %v, %v; want a changed verdict", changed, err)
	}
	before := statFiles(t, d.Root())
	p.Verdict.Time = p.Verdict.Time.Add(time.Hour)
	if changed, err := d.WritePass(p); err != nil || changed {
		t.Fatalf("repeated WritePass = %v, %v; want nothing changed", changed, err)
	}
	if after := statFiles(t, d.Root()); after != before {
		t.Fatalf("a repeated pass rewrote files:\n%s\nthen\n%s", before, after)
	}
	m, err := ReadMarker(d.Root(), ReadyMarker)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Time.Equal(passOf(2).Verdict.Time) {
		t.Fatalf("marker time = %v, want the first %v", m.Time, passOf(2).Verdict.Time)
	}
}

// statFiles describes the inode and modification time of each file in dir.
func statFiles(t *testing.T, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %d %s\n", e.Name(), fi.Sys().(*syscall.Stat_t).Ino, fi.ModTime().Format(time.RFC3339Nano))
	}
	return b.String()
}

// A failure to write either temporary file leaves app.yaml and the markers
// as they were, and no temporary file behind.
func TestWritePassFailure(t *testing.T) {
	for _, failing := range []string{AppFile, ReadyMarker} {
		t.Run(failing, func(t *testing.T) {
			d := openDir(t)
			if _, err := d.WritePass(passOf(1)); err != nil {
				t.Fatal(err)
			}
			before := dirSnapshot(t, d.Root())
			boom := errors.New("boom")
			d.beforeRename = func(rel string) error {
				if rel == failing {
					return boom
				}
				return nil
			}
			if _, err := d.WritePass(passOf(2)); !errors.Is(err, boom) {
				t.Fatalf("WritePass = %v, want %v", err, boom)
			}
			if after := dirSnapshot(t, d.Root()); after != before {
				t.Fatalf("a failed batch changed the directory:\n%s\nthen\n%s", before, after)
			}
		})
	}
}

// dirSnapshot renders every entry of dir with its bytes.
func dirSnapshot(t *testing.T, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range ents {
		data, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		fmt.Fprintf(&b, "== %s\n%s", e.Name(), data)
	}
	return b.String()
}

// The child process of TestWritePassCrash: it writes passOf(2) into the
// status directory crashDirEnv names and kills itself with SIGKILL right
// after the step crashStepEnv names.
const (
	crashDirEnv  = "RDD_STATUSDIR_CRASH_DIR"
	crashStepEnv = "RDD_STATUSDIR_CRASH_STEP"
)

func crashChild() {
	d, err := Open(os.Getenv(crashDirEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	step := os.Getenv(crashStepEnv)
	d.afterStep = func(what string) {
		if what == step {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // the signal is on its way
		}
	}
	_, err = d.WritePass(passOf(2))
	fmt.Fprintf(os.Stderr, "step %q never came (err %v)\n", step, err)
	os.Exit(3)
}

// A process killed with SIGKILL at any point of a batch leaves the old or
// the new app.yaml and a marker no newer than it; reopening the directory,
// as a restarted daemon does, removes the temporary files. (The daemon's
// first pass after a restart then writes the marker of app.yaml's
// generation: testscripts/testdata/daemon_crash.txtar.)
func TestWritePassCrash(t *testing.T) {
	old, next := passOf(1), passOf(2) // failed, then ready
	for _, tc := range []struct {
		step   string
		app    int64
		marker string // the marker file present, "" for none
		gen    int64  // its generation
	}{
		{"staged", 1, FailedMarker, 1},
		{"renamed " + AppFile, 2, FailedMarker, 1},
		{"removed " + FailedMarker, 2, "", 0},
		{"renamed " + ReadyMarker, 2, ReadyMarker, 2},
	} {
		t.Run(strings.ReplaceAll(tc.step, " ", "_"), func(t *testing.T) {
			d := openDir(t)
			if _, err := d.WritePass(old); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), crashDirEnv+"="+d.Root(), crashStepEnv+"="+tc.step)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("child: %v, want killed by SIGKILL\n%s", err, out)
			}
			if tc.step == "staged" && !hasTemp(t, d.Root()) {
				t.Fatal("no temporary file left by a kill after staging: the kill came too late")
			}

			if _, err := Open(d.Root()); err != nil { // the restart
				t.Fatal(err)
			}
			if hasTemp(t, d.Root()) {
				t.Fatal("temporary files left after reopening")
			}
			s, err := ReadSnapshot(d.Root())
			if err != nil {
				t.Fatal(err)
			}
			if s.App == nil || s.App.ObservedGeneration != tc.app {
				t.Fatalf("app.yaml = %+v, want generation %d", s.App, tc.app)
			}
			var got []string
			for name, m := range map[string]*Marker{ReadyMarker: s.Ready, FailedMarker: s.Failed} {
				if m != nil {
					got = append(got, name)
					if name != tc.marker || m.Generation != tc.gen {
						t.Errorf("marker %s of generation %d, want %q of generation %d", name, m.Generation, tc.marker, tc.gen)
					}
					if m.Generation > s.App.ObservedGeneration {
						t.Errorf("marker %s of generation %d is newer than app.yaml's %d", name, m.Generation, s.App.ObservedGeneration)
					}
				}
			}
			if len(got) > 1 || tc.marker != "" && len(got) == 0 {
				t.Errorf("markers present: %q, want %q", got, tc.marker)
			}

			// The restarted writer's pass makes the marker match app.yaml.
			d2, err := Open(d.Root())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := d2.WritePass(next); err != nil {
				t.Fatal(err)
			}
			s, err = ReadSnapshot(d.Root())
			if err != nil {
				t.Fatal(err)
			}
			if s.Failed != nil || s.Ready == nil || s.Ready.Generation != 2 || s.App.ObservedGeneration != 2 {
				t.Fatalf("after the next pass: ready %+v, failed %+v, app generation %d", s.Ready, s.Failed, s.App.ObservedGeneration)
			}
		})
	}
}

func hasTemp(t *testing.T, dir string) bool {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), atomicfile.TempPrefix) {
			return true
		}
	}
	return false
}
