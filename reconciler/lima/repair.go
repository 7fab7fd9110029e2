package lima

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/rddproject/rdd/statusdir"
)

// Files of a Lima instance directory that a power loss or a killed host
// agent leaves behind (Lima v1.2.2 pkg/store/filenames).
const (
	haPIDFile  = "ha.pid"
	haSockFile = "ha.sock"
)

// driverPIDFile is the pid file of the VM process for a VM type: qemu.pid,
// vz.pid (written by the host agent itself, which runs VZ in-process).
func driverPIDFile(vmType string) string {
	if vmType == "" {
		vmType = "qemu"
	}
	return vmType + ".pid"
}

// repairLog collects what a repair did, for the Running condition and
// the log.
type repairLog struct {
	mu    sync.Mutex
	items []string
}

func (l *repairLog) add(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.items = append(l.items, fmt.Sprintf(format, args...))
}

func (l *repairLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.items, "; ")
}

// pidVerdict is what a pid file turned out to name.
type pidVerdict int

const (
	pidMissing pidVerdict = iota // no file
	pidStale                     // empty, unparsable, or a dead process
	pidReused                    // a live process that is not this instance's
	pidGenuine                   // this instance's host agent or VM process
	pidUnknown                   // alive, but whose it is cannot be told here
)

// pidCheck is one pid file and what it names.
type pidCheck struct {
	file    string // base name
	pid     int
	verdict pidVerdict
	detail  string // why, for messages
}

// checkPIDFile reads dir/file and finds out whether the PID in it is this
// instance's process. Lima trusts any live PID (pkg/store ReadPIDFile
// signals 0), and `limactl stop --force` SIGKILLs it unchecked
// (pkg/instance StopForcibly): after a reboot the PID may belong to
// anything, so rdd looks at the process's command line first.
func checkPIDFile(dir, file string) pidCheck {
	c := pidCheck{file: file}
	b, err := os.ReadFile(filepath.Join(dir, file))
	if errors.Is(err, fs.ErrNotExist) {
		c.verdict = pidMissing
		return c
	}
	if err != nil {
		c.verdict, c.detail = pidUnknown, err.Error()
		return c
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		c.verdict, c.detail = pidStale, fmt.Sprintf("it holds %q, not a PID (a write cut short by a power loss)", strings.TrimSpace(string(b)))
		return c
	}
	c.pid = pid
	cmdline, alive, err := commandLine(pid)
	switch {
	case !alive:
		c.verdict, c.detail = pidStale, fmt.Sprintf("PID %d is not running", pid)
	case err != nil:
		c.verdict, c.detail = pidUnknown, fmt.Sprintf("PID %d runs, but its command line cannot be read: %v", pid, err)
	case ownsPIDFile(cmdline, dir, file):
		c.verdict, c.detail = pidGenuine, fmt.Sprintf("PID %d is this instance's %s", pid, processName(file))
	default:
		c.verdict, c.detail = pidReused, fmt.Sprintf("PID %d is another process (%s), not this instance's %s", pid, shorten(cmdline), processName(file))
	}
	return c
}

// ownsPIDFile reports whether a command line is the process that wrote
// dir/file: the host agent runs `limactl hostagent --pidfile DIR/ha.pid`
// (pkg/instance/start.go), QEMU `qemu-system-* ... -pidfile DIR/qemu.pid`
// (pkg/driver/qemu/qemu.go), and VZ runs inside the host agent, whose
// pid it writes to vz.pid.
func ownsPIDFile(cmdline, dir, file string) bool {
	if strings.Contains(cmdline, filepath.Join(dir, file)) {
		return true
	}
	return strings.Contains(cmdline, "hostagent") && strings.Contains(cmdline, filepath.Join(dir, haPIDFile))
}

func processName(file string) string {
	if file == haPIDFile {
		return "host agent"
	}
	return strings.TrimSuffix(file, ".pid") + " process"
}

func shorten(s string) string {
	if len(s) > 120 {
		return s[:120] + "..."
	}
	return s
}

// commandLine returns the command line of pid and whether it is alive.
// Linux reads /proc/PID/cmdline; elsewhere `ps -o command= -p PID`.
func commandLine(pid int) (cmdline string, alive bool, err error) {
	if runtime.GOOS == "linux" {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if errors.Is(err, fs.ErrNotExist) {
			return "", false, nil
		}
		if err != nil {
			return "", true, err
		}
		if len(b) == 0 {
			// A zombie, or a kernel thread: nothing of Lima's.
			return "", processAlive(pid), nil
		}
		return strings.TrimRight(strings.ReplaceAll(string(b), "\x00", " "), " "), true, nil
	}
	if !processAlive(pid) {
		return "", false, nil
	}
	out, err := exec.Command("ps", "-o", "command=", "-p", strconv.Itoa(pid)).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && len(strings.TrimSpace(string(out))) == 0 {
			return "", false, nil // ps exits 1 for no such process
		}
		return "", true, err
	}
	return strings.TrimSpace(string(out)), true, nil
}

// clearStaleStep prepares a Broken instance for `limactl stop --force`:
// it removes every pid file that names no process of this instance (empty,
// dead, or reused by an unrelated process), and the host agent's socket
// with a stale ha.pid, so that the forced stop kills only this instance's
// own processes. A pid file whose owner cannot be told is left alone and
// fails the repair rather than risk killing someone else's process.
func (dr *Driver) clearStaleStep(o observation, log *repairLog, stopping bool) step {
	failReason := statusdir.VMStartFailed
	if stopping {
		failReason = statusdir.VMStopFailed
	}
	vmType := ""
	if o.Applied != nil {
		vmType = o.Applied.VMType
	}
	return step{name: "checking the pid files", failReason: failReason, run: func(context.Context) error {
		dir := dr.instanceDir()
		for _, file := range []string{haPIDFile, driverPIDFile(vmType)} {
			c := checkPIDFile(dir, file)
			switch c.verdict {
			case pidMissing:
			case pidGenuine:
				log.add("%s left running: %s", file, c.detail)
				dr.log.Info("repair: a process of the instance is still running; the forced stop ends it", "file", file, "pid", c.pid)
			case pidStale, pidReused:
				if err := os.Remove(filepath.Join(dir, file)); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return fmt.Errorf("remove the stale %s: %w", filepath.Join(dir, file), err)
				}
				if file == haPIDFile {
					os.Remove(filepath.Join(dir, haSockFile))
				}
				log.add("removed stale %s (%s)", file, c.detail)
				dr.log.Warn("repair: removed a stale pid file", "file", file, "why", c.detail)
			case pidUnknown:
				return fmt.Errorf("%s: %s; rdd does not stop a process it cannot identify\nhint: if no Lima process of this instance runs, remove %s",
					filepath.Join(dir, file), c.detail, filepath.Join(dir, file))
			}
		}
		return nil
	}}
}
