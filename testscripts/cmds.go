package testscripts

import (
	"encoding/hex"
	"errors"
	"flag"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/rogpeppe/go-internal/testscript"
)

var commands = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	"exitcode": cmdExitcode,
	"mkfifo":   cmdMkfifo,
	"writehex": cmdWritehex,
	"bigfile":  cmdBigfile,
	"waitfile": cmdWaitfile,
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
	// The watch is in place before the first check: no lost wake-up.
	for !done() {
		select {
		case ev := <-w.Events:
			if ev.Has(fsnotify.Create) {
				_ = w.Add(ev.Name) // a parent directory appeared
			}
		case err := <-w.Errors:
			return err
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
