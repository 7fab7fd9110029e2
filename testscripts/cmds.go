package testscripts

import (
	"bytes"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/rogpeppe/go-internal/testscript"
	"go.yaml.in/yaml/v3"

	"github.com/rddproject/rdd/schema"
	"github.com/rddproject/rdd/statusdir"
)

var commands = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	"exitcode":  cmdExitcode,
	"mkfifo":    cmdMkfifo,
	"writehex":  cmdWritehex,
	"bigfile":   cmdBigfile,
	"waitfile":  cmdWaitfile,
	"nowrites":  cmdNowrites,
	"editburst": cmdEditburst,
}

// exitcode N prog args...: the exact exit code is part of rdd's contract
// (3 invalid, 5 no daemon...), which `! exec` cannot check.
func cmdExitcode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exitcode N prog [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exitcode: %v", err)
	}
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		got = ee.ExitCode()
	case err != nil:
		ts.Fatalf("exitcode: run %s: %v", args[1], err)
	}
	if got != want {
		ts.Fatalf("%s exited %d, want %d", args[1], got, want)
	}
}

func cmdMkfifo(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: mkfifo path")
	}
	ts.Check(syscall.Mkfifo(ts.MkAbs(args[0]), 0o644))
}

func cmdWritehex(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: writehex path hex")
	}
	b, err := hex.DecodeString(strings.ReplaceAll(args[1], " ", ""))
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), b, 0o644))
}

func cmdBigfile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: bigfile path size")
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	line := "# padding padding padding padding padding padding padding padding\n"
	b := []byte(strings.Repeat(line, n/len(line)+1))[:n]
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), b, 0o644))
}

// waitfile waits on fsnotify events of the file's directory, not by
// polling, and gives up at the deadline.
func cmdWaitfile(ts *testscript.TestScript, neg bool, args []string) {
	fs := flag.NewFlagSet("waitfile", flag.ContinueOnError)
	timeout := fs.Duration("timeout", 20*time.Second, "deadline")
	if err := fs.Parse(args); err != nil || neg {
		ts.Fatalf("usage: waitfile [-timeout d] [!] path [regexp]")
	}
	args = fs.Args()
	gone := false
	if len(args) > 0 && args[0] == "!" {
		gone, args = true, args[1:]
	}
	if len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: waitfile [-timeout d] [!] path [regexp]")
	}
	path := ts.MkAbs(args[0])
	var re *regexp.Regexp
	if len(args) == 2 {
		var err error
		re, err = regexp.Compile(args[1])
		ts.Check(err)
	}
	done := func() bool {
		b, err := os.ReadFile(path)
		if gone {
			return errors.Is(err, os.ErrNotExist)
		}
		return err == nil && (re == nil || re.Match(b))
	}
	if err := waitFor(path, *timeout, done); err != nil {
		last, _ := os.ReadFile(path)
		ts.Fatalf("waitfile %s: %v; last content:\n%s", args[0], err, last)
	}
}

// waitFor watches the directories from path's parent upwards (a parent may
// not exist yet) and checks done after every event, until the deadline.
func waitFor(path string, timeout time.Duration, done func() bool) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	defer w.Close()
	for dir := parentDir(path); ; dir = parentDir(dir) {
		_ = w.Add(dir) // a missing directory is watched through its parent
		if dir == "/" || dir == "." {
			break
		}
	}
	deadline := time.After(timeout)
	added := make(chan struct{}, 1)
	// The watch is in place before the first check: no lost wake-up.
	for !done() {
		select {
		case ev := <-w.Events:
			if ev.Has(fsnotify.Create) {
				// A parent directory appeared. Not added from this
				// goroutine: fsnotify may hold its lock while it sends an
				// error that only this goroutine would receive. Checked
				// again once it is watched.
				go func(name string) {
					_ = w.Add(name)
					select {
					case added <- struct{}{}:
					default:
					}
				}(ev.Name)
			}
		case <-added:
		case <-w.Errors:
			// Lost events (or inotify failing to drop the watch of a
			// removed directory): check again, and keep watching.
		case <-deadline:
			return errors.New("timed out after " + timeout.String())
		}
	}
	return nil
}

func parentDir(p string) string {
	i := strings.LastIndexByte(p, '/')
	switch {
	case i < 0:
		return "."
	case i == 0:
		return "/"
	}
	return p[:i]
}

// nowrites dir duration: no file directly in dir is created, written,
// removed or renamed for duration. Subdirectories are not watched: they
// mirror the shared dockerd, which other tests change meanwhile. For the
// same reason events.jsonl may grow, but only by `object` events (the
// shared dockerd's containers, images and volumes coming and going); any
// other event is a write. It asserts an absence, so it necessarily waits
// the whole (short) duration.
func cmdNowrites(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: nowrites dir duration")
	}
	d, err := time.ParseDuration(args[1])
	ts.Check(err)
	w, err := fsnotify.NewWatcher()
	ts.Check(err)
	defer w.Close()
	root := ts.MkAbs(args[0])
	ts.Check(w.Add(root))
	events := filepath.Join(root, statusdir.EventsFile)
	var offset int64
	if fi, err := os.Stat(events); err == nil {
		offset = fi.Size()
	}
	deadline := time.After(d)
	for {
		select {
		case ev := <-w.Events:
			if ev.Name != events || ev.Op != fsnotify.Write {
				ts.Fatalf("nowrites: %s", ev)
			}
			b, err := os.ReadFile(events)
			ts.Check(err)
			if int64(len(b)) < offset {
				ts.Fatalf("nowrites: %s shrank", events)
			}
			added := b[offset:]
			end := bytes.LastIndexByte(added, '\n') + 1
			for _, line := range bytes.Split(added[:end], []byte("\n")) {
				if len(line) == 0 {
					continue
				}
				if e, err := statusdir.ParseEvent(line); err != nil || e.Type != statusdir.EventObject {
					ts.Fatalf("nowrites: %s: %s", events, line)
				}
			}
			offset += int64(end)
		case err := <-w.Errors:
			ts.Fatalf("nowrites: %v", err)
		case <-deadline:
			return
		}
	}
}

// editburst [-reader statusdir] file n: writes n different versions of a
// valid desired file in a tight loop, in place (truncate, then write), the
// way a naive editor or a script does. With -reader, another goroutine
// parses statusdir/app.yaml in a tight loop meanwhile and fails on an empty
// or unparsable read: the daemon must never expose a torn file.
func cmdEditburst(ts *testscript.TestScript, neg bool, args []string) {
	fl := flag.NewFlagSet("editburst", flag.ContinueOnError)
	reader := fl.String("reader", "", "status directory to read meanwhile")
	if err := fl.Parse(args); err != nil || neg || fl.NArg() != 2 {
		ts.Fatalf("usage: editburst [-reader statusdir] file n")
	}
	path := ts.MkAbs(fl.Arg(0))
	n, err := strconv.Atoi(fl.Arg(1))
	ts.Check(err)
	final := fmt.Sprintf("# edit %d of %d\nrunning: true\nvm: {driver: host}\n", n, n)
	finalDigest := schema.Digest([]byte(final))
	edited := make(chan struct{})
	readerErr := make(chan error, 1)
	reads := 0
	if *reader != "" {
		app := ts.MkAbs(*reader) + "/app.yaml"
		ready := ts.MkAbs(*reader) + "/ready"
		deadline := time.Now().Add(60 * time.Second)
		go func() {
			// Read until the edits are done and the daemon has settled
			// on the last one, so every write of the burst is raced.
			for {
				select {
				case <-edited:
					if b, _ := os.ReadFile(ready); strings.Contains(string(b), finalDigest) {
						readerErr <- nil
						return
					}
					if time.Now().After(deadline) {
						readerErr <- fmt.Errorf("no ready marker for the last edit (%s) within 60s", finalDigest)
						return
					}
				default:
				}
				b, err := os.ReadFile(app)
				if errors.Is(err, os.ErrNotExist) {
					continue
				}
				if err != nil {
					readerErr <- err
					return
				}
				var v struct {
					Summary string `yaml:"summary"`
				}
				if len(b) == 0 || yaml.Unmarshal(b, &v) != nil || v.Summary == "" {
					readerErr <- fmt.Errorf("torn read of app.yaml (%d bytes): %q", len(b), b)
					return
				}
				reads++
			}
		}()
	}
	for i := range n {
		content := fmt.Sprintf("# edit %d of %d\nrunning: true\nvm: {driver: host}\n", i+1, n)
		ts.Check(os.WriteFile(path, []byte(content), 0o644))
	}
	close(edited)
	if *reader != "" {
		if err := <-readerErr; err != nil {
			ts.Fatalf("editburst: %v", err)
		}
		ts.Logf("editburst: %d clean reads of app.yaml", reads)
	}
}
