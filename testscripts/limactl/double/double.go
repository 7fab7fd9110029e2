// Package double is a test double of Lima's limactl for rdd's tests; the
// command in the parent directory runs it, and the testscript harness can
// register Main as a command in-process.
//
// It honours the arguments rdd uses (create, start, stop, edit, delete,
// list --json, --version), Lima's exit codes and logrus-style stderr lines,
// and keeps each instance's state under $LIMA_HOME/<name>/: a copy of its
// lima.yaml and a state file (double-state.json). Nothing is booted: a
// start takes a configurable while, then links the instance's forwarded
// docker socket (the portForwards hostSocket of its lima.yaml) to a real
// dockerd socket; a stop removes the link.
//
// Like limactl it refuses to run as root, unless LIMACTL_DOUBLE_ALLOW_ROOT
// is set. It is told to misbehave by environment variables or, for tests
// that change their mind while a daemon runs, by files of the same meaning
// in $LIMA_HOME/_double/ (an environment variable wins):
//
//	LIMACTL_DOUBLE_FAIL_CREATE  _double/fail-create   create fails with this message
//	LIMACTL_DOUBLE_FAIL_START   _double/fail-start    start fails with this message
//	LIMACTL_DOUBLE_FAIL_STOP    _double/fail-stop     a graceful stop fails with this message
//	LIMACTL_DOUBLE_FAIL_LIST    _double/fail-list     list fails with this message
//	LIMACTL_DOUBLE_HANG         _double/hang          "start", "stop", "create" and/or "stop-force" (comma-separated) never
//	                                                  finish; a hanging stop-force also ignores SIGTERM
//	LIMACTL_DOUBLE_CREATE_DELAY _double/create-delay  how long create takes (default 50ms)
//	LIMACTL_DOUBLE_START_DELAY  _double/start-delay   how long start takes (default 300ms)
//	LIMACTL_DOUBLE_STOP_DELAY   _double/stop-delay    how long a graceful stop takes (default 100ms)
//	LIMACTL_DOUBLE_DOCKER_SOCK      the dockerd socket a started instance exposes (default /var/run/docker.sock)
//	LIMACTL_DOUBLE_CONTAINERD_SOCK  the containerd socket it exposes (default: none)
//	LIMACTL_DOUBLE_VERSION          the version it claims (default 1.2.2)
//
// A started instance runs as Lima's does: a host agent process (ha.pid,
// ha.sock) and a VM process (qemu.pid), both the double itself, and its
// status is computed from those files as Lima 1.2.2 computes it (see
// agent.go). `limactl _fault NAME KIND` leaves an instance as a power
// loss or a killed host agent does (KIND: power-loss, kill-hostagent,
// empty-pid, reuse-pid PID).
//
//	LIMACTL_DOUBLE_LIST_CPUS    _double/list-cpus     the cpus list --json reports for a running instance
//	                                                  (a Lima that has not caught up with an edit)
//
// Every invocation is appended to $LIMA_HOME/_double/calls.log (one line:
// the command and its arguments), and one that is interrupted while it
// waits (SIGINT or SIGTERM) appends "interrupted: ..." before exiting 1.
package double

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// exitError carries Lima's exit status for an error.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// Main runs the double with limactl's arguments (without the program
// name) and returns its exit status.
func Main(args []string) int {
	// Catch SIGINT and SIGTERM from the start, so that one that arrives
	// before a wait begins still ends the wait (and is logged).
	signals = make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(signals)
	g, cmd, rest, err := parseGlobal(args)
	if err != nil {
		fatal(err.Error())
		return 1
	}
	if g.version {
		fmt.Printf("limactl version %s (rdd test double)\n", version())
		return 0
	}
	if cmd == "" {
		fmt.Println("limactl: a test double of Lima's limactl; see its package documentation")
		return 0
	}
	if os.Geteuid() == 0 && os.Getenv("LIMACTL_DOUBLE_ALLOW_ROOT") == "" {
		fatal("must not run as the root user")
		return 1
	}
	h, err := limaHome()
	if err != nil {
		fatal(err.Error())
		return 1
	}
	h.logCall(cmd, rest)
	var runErr error
	switch cmd {
	case "create":
		runErr = h.create(rest)
	case "start":
		runErr = h.start(rest)
	case "stop":
		runErr = h.stop(rest)
	case "edit":
		runErr = h.edit(rest)
	case "delete", "remove", "rm":
		runErr = h.delete(rest)
	case "list", "ls":
		runErr = h.list(rest)
	case "hostagent":
		runErr = h.hostagent(rest)
	case "_qemu":
		runErr = h.qemu(rest)
	case "_fault":
		runErr = h.fault(rest)
	case "shell":
		runErr = h.shell(rest)
	default:
		runErr = fmt.Errorf("unknown command %q for %q", cmd, "limactl")
	}
	if runErr == nil {
		return 0
	}
	var ee *exitError
	if errors.As(runErr, &ee) {
		if ee.msg != "" {
			fatal(ee.msg)
		}
		return ee.code
	}
	fatal(runErr.Error())
	return 1
}

type globals struct {
	version bool
}

// parseGlobal finds the subcommand and drops the persistent flags limactl
// accepts anywhere (--tty, --yes, --debug, --log-level, --log-format).
func parseGlobal(args []string) (globals, string, []string, error) {
	var g globals
	var cmd string
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case cmd == "shell": // limactl shell does not intersperse flags: the guest command's are its own
			rest = append(rest, a)
		case a == "--version" || a == "-v":
			g.version = true
		case a == "--tty" || strings.HasPrefix(a, "--tty="):
			if v, ok := strings.CutPrefix(a, "--tty="); ok {
				if _, err := strconv.ParseBool(v); err != nil {
					return g, "", nil, fmt.Errorf("invalid argument %q for \"--tty\" flag: %v", v, err)
				}
			}
		case a == "--yes" || a == "-y" || a == "--debug":
		case a == "--log-level" || a == "--log-format":
			i++
		case strings.HasPrefix(a, "--log-level=") || strings.HasPrefix(a, "--log-format="):
		case cmd == "" && !strings.HasPrefix(a, "-"):
			cmd = a
		case cmd == "":
			return g, "", nil, fmt.Errorf("unknown flag: %s", a)
		default:
			rest = append(rest, a)
		}
	}
	return g, cmd, rest, nil
}

// flags is a subcommand's parsed arguments.
type flags struct {
	values map[string]string
	bools  map[string]bool
	args   []string
}

// parseFlags parses rest for a subcommand that takes the given value flags
// and boolean flags (short aliases as "f=force").
func parseFlags(rest []string, valueFlags, boolFlags []string) (*flags, error) {
	f := &flags{values: map[string]string{}, bools: map[string]bool{}}
	isValue := map[string]bool{}
	for _, n := range valueFlags {
		isValue[n] = true
	}
	boolName := map[string]string{}
	for _, n := range boolFlags {
		long, short, _ := strings.Cut(n, "=")
		if short != "" {
			long, short = short, long
			boolName[short] = long
		}
		boolName[long] = long
	}
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if a == "-" || !strings.HasPrefix(a, "-") {
			f.args = append(f.args, a)
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch {
		case isValue[name]:
			if !hasVal {
				if i+1 >= len(rest) {
					return nil, fmt.Errorf("flag needs an argument: --%s", name)
				}
				i++
				val = rest[i]
			}
			f.values[name] = val
		case boolName[name] != "":
			b := true
			if hasVal {
				var err error
				if b, err = strconv.ParseBool(val); err != nil {
					return nil, fmt.Errorf("invalid argument %q for \"--%s\" flag", val, name)
				}
			}
			f.bools[boolName[name]] = b
		default:
			return nil, fmt.Errorf("unknown flag: %s", a)
		}
	}
	return f, nil
}

// logLine writes a logrus-style text line to stderr, as limactl does when
// stderr is not a terminal.
func logLine(level, msg string) {
	fmt.Fprintf(os.Stderr, "time=%q level=%s msg=%s\n", time.Now().Format(time.RFC3339), level, strconv.Quote(msg))
}

func info(format string, args ...any) { logLine("info", fmt.Sprintf(format, args...)) }
func warn(format string, args ...any) { logLine("warning", fmt.Sprintf(format, args...)) }
func fatal(msg string)                { logLine("fatal", msg) }

func version() string {
	if v := os.Getenv("LIMACTL_DOUBLE_VERSION"); v != "" {
		return v
	}
	return "1.2.2"
}

// home is LIMA_HOME.
type home struct {
	dir string
}

func limaHome() (*home, error) {
	dir := os.Getenv("LIMA_HOME")
	if dir == "" {
		u, err := os.UserHomeDir()
		if err != nil {
			return nil, fmt.Errorf("LIMA_HOME is not set and there is no home directory: %w", err)
		}
		dir = filepath.Join(u, ".lima")
	}
	return &home{dir: dir}, nil
}

func (h *home) controlDir() string { return filepath.Join(h.dir, "_double") }

// knob reads a setting: the environment variable, else the control file.
func (h *home) knob(env, file string) string {
	if v := os.Getenv(env); v != "" {
		return v
	}
	b, err := os.ReadFile(filepath.Join(h.controlDir(), file))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func (h *home) delay(env, file string, def time.Duration) time.Duration {
	v := h.knob(env, file)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		warn("ignoring %s=%q: %v", env, v, err)
		return def
	}
	return d
}

func (h *home) hangs(what string) bool {
	for _, w := range strings.Split(h.knob("LIMACTL_DOUBLE_HANG", "hang"), ",") {
		if strings.TrimSpace(w) == what {
			return true
		}
	}
	return false
}

func (h *home) logCall(cmd string, rest []string) {
	if err := os.MkdirAll(h.controlDir(), 0o755); err != nil {
		return
	}
	f, err := os.OpenFile(filepath.Join(h.controlDir(), "calls.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintln(f, strings.Join(append([]string{cmd}, rest...), " "))
}

// signals receives SIGINT and SIGTERM while Main runs.
var signals chan os.Signal

// wait sleeps for d (forever when d < 0), or until SIGINT or SIGTERM, in
// which case it logs the interruption and returns an exit error.
func (h *home) wait(d time.Duration, what string) error {
	var timeout <-chan time.Time
	if d >= 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-timeout:
		return nil
	case s := <-signals:
		h.logCall("interrupted:", []string{what, s.String()})
		return &exitError{code: 1, msg: fmt.Sprintf("%s: interrupted by %v", what, s)}
	}
}
