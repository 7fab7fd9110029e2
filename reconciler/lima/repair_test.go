package lima

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rddproject/rdd/statusdir"
)

// fault leaves the instance as the double's _fault KIND does.
func (f *fixture) fault(kind string, args ...string) {
	f.t.Helper()
	cmd := exec.Command(doubleBin, append([]string{"_fault", Name, kind}, args...)...)
	cmd.Env = append(append(os.Environ(), "LIMA_HOME="+f.home), f.cfg.Env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		f.t.Fatalf("_fault %s: %v\n%s", kind, err, out)
	}
}

func (f *fixture) pidOf(file string) int {
	f.t.Helper()
	b, err := os.ReadFile(filepath.Join(f.home, Name, file))
	if err != nil {
		f.t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		f.t.Fatalf("%s: %v", file, err)
	}
	return pid
}

func (f *fixture) listStatus() string {
	f.t.Helper()
	r := &runner{path: doubleBin, home: f.home, env: f.cfg.Env}
	out, err := r.run(f.t.Context(), listTimeout, nil, "list", "--json")
	if err != nil {
		f.t.Fatal(err)
	}
	list, err := parseList(out)
	if err != nil || len(list) != 1 {
		f.t.Fatalf("list: %v %v", list, err)
	}
	return list[0].Status
}

// bystander is a live process that is not Lima's, whose PID a stale pid
// file may name after a reboot.
func bystander(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("cat")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	return cmd
}

// Every way a power loss or a killed host agent leaves the instance is
// repaired with no user action and without deleting it: Running again,
// with the repair named in the message, the forwarded socket back, the
// instance's disk untouched (lima.yaml and the record kept), and never an
// unrelated process killed. It works for a driver that saw the instance
// running (the daemon kept running) and for a fresh one (a daemon started
// after a reboot).
func TestSelfRepair(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fault     string
		reused    bool     // ha.pid and qemu.pid name a bystander
		broken    bool     // limactl list reports Broken (else Stopped)
		repaired  []string // in the Running message
		freshRDD  bool
		keepsQEMU bool // QEMU outlived the host agent and must be stopped
	}{
		{name: "power loss", fault: "power-loss", broken: false, freshRDD: true},
		{name: "host agent killed, daemon kept running", fault: "kill-hostagent", broken: true, keepsQEMU: true,
			repaired: []string{"qemu.pid left running", "is this instance's qemu process", "stopped it forcibly"}},
		{name: "host agent killed, daemon restarted", fault: "kill-hostagent", broken: true, keepsQEMU: true, freshRDD: true,
			repaired: []string{"qemu.pid left running"}},
		{name: "empty pid file", fault: "empty-pid", broken: true, freshRDD: true,
			repaired: []string{"removed stale ha.pid", `holds "", not a PID`}},
		{name: "pid reused by an unrelated process", fault: "reuse-pid", reused: true, broken: true,
			repaired: []string{"removed stale ha.pid", "removed stale qemu.pid", "is another process"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			d := desired(true)
			f.mustRun(t, d)
			record, err := os.ReadFile(filepath.Join(f.home, Name, RecordFile))
			if err != nil {
				t.Fatal(err)
			}
			qemu := f.pidOf("qemu.pid")
			var by *exec.Cmd
			if tc.reused {
				by = bystander(t)
				f.fault(tc.fault, strconv.Itoa(by.Process.Pid))
			} else {
				f.fault(tc.fault)
			}
			if fi, err := os.Lstat(f.socket); err != nil || fi.Mode()&os.ModeSocket == 0 {
				t.Fatalf("the fault should leave a dead socket at %s: %v %v", f.socket, fi, err)
			}
			dr := f.dr
			if tc.freshRDD {
				f.dr.Close()
				dr = f.newDriver()
			}
			r, seen := f.settle(t.Context(), dr, d)
			if r.Reason != statusdir.VMRunning {
				t.Fatalf("not repaired: %+v (seen %v)", r, seen)
			}
			assertContains(t, "Running message", r.Message, tc.repaired...)
			if f.listStatus() != "Running" || r.Socket != f.socket {
				t.Errorf("list %s, socket %q", f.listStatus(), r.Socket)
			}
			if target, err := os.Readlink(f.socket); err != nil || target != f.dockerd {
				t.Errorf("forwarded socket: %q %v", target, err)
			}
			if after, _ := os.ReadFile(filepath.Join(f.home, Name, RecordFile)); string(after) != string(record) {
				t.Errorf("the record changed: the instance was recreated or edited")
			}
			if f.calls("delete") != 0 || f.calls("create") != 1 {
				t.Errorf("delete %d, create %d: a repair never deletes", f.calls("delete"), f.calls("create"))
			}
			if tc.keepsQEMU && syscall.Kill(qemu, 0) == nil && !zombieForTest(qemu) {
				t.Errorf("the old QEMU (PID %d) still runs", qemu)
			}
			if by != nil {
				if err := by.Process.Signal(syscall.Signal(0)); err != nil {
					t.Errorf("the unrelated process was killed: %v", err)
				}
				if f.calls("stop --force") == 0 {
					t.Errorf("no forced stop after clearing the reused PIDs")
				}
			}
			// Repaired once: the next pass is plain Running, no new start.
			starts := f.calls("start")
			if again := dr.Reconcile(t.Context(), d, f.allow); again.Reason != statusdir.VMRunning || f.calls("start") != starts {
				t.Errorf("after the repair: %+v, starts %d -> %d", again, starts, f.calls("start"))
			}
		})
	}
}

// Broken and meant to be off: the stale files are cleared and the rest
// stopped forcibly, without killing an unrelated process.
func TestBrokenStopsWithoutKillingBystanders(t *testing.T) {
	f := newFixture(t, nil)
	f.mustRun(t, desired(true))
	by := bystander(t)
	f.fault("reuse-pid", strconv.Itoa(by.Process.Pid))
	r, seen := f.settle(t.Context(), f.dr, desired(false))
	if r.Reason != statusdir.VMStopped {
		t.Fatalf("want Stopped, got %+v (seen %v)", r, seen)
	}
	if err := by.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("the unrelated process was killed: %v", err)
	}
	if s := f.listStatus(); s != "Stopped" {
		t.Errorf("list: %s", s)
	}
}

func zombieForTest(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	return err == nil && strings.Contains(string(b), ") Z ")
}

// checkPIDFile tells this instance's processes from everything else.
func TestCheckPIDFile(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) {
		if err := os.WriteFile(filepath.Join(dir, "ha.pid"), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if c := checkPIDFile(dir, "ha.pid"); c.verdict != pidMissing {
		t.Errorf("missing: %+v", c)
	}
	write("")
	if c := checkPIDFile(dir, "ha.pid"); c.verdict != pidStale {
		t.Errorf("empty: %+v", c)
	}
	write(strconv.Itoa(os.Getpid()))
	if c := checkPIDFile(dir, "ha.pid"); c.verdict != pidReused {
		t.Errorf("the test itself: %+v", c)
	}
	// A process whose command line names this instance's pid file.
	cmd := exec.Command("sh", "-c", "read x", "limactl", "hostagent", "--pidfile", filepath.Join(dir, "ha.pid"))
	stdin, _ := cmd.StdinPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	write(strconv.Itoa(cmd.Process.Pid))
	if c := checkPIDFile(dir, "ha.pid"); c.verdict != pidGenuine {
		t.Errorf("genuine: %+v", c)
	}
	stdin.Close()
	cmd.Wait()
	if c := checkPIDFile(dir, "ha.pid"); c.verdict != pidStale {
		t.Errorf("dead: %+v", c)
	}
}

// Close returns within 2 s in every state of an operation: a start that
// hangs, a stop that hangs, a forced stop that hangs after a start
// timeout.
func TestCloseIsBounded(t *testing.T) {
	for _, tc := range []struct {
		name string
		hang string
	}{
		{name: "start hangs", hang: "start"},
		{name: "stop hangs", hang: "stop"},
		{name: "forced stop after a start timeout hangs", hang: "start,stop-force"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.StartTimeout = 300 * time.Millisecond })
			want := desired(true)
			if tc.hang == "stop" {
				f.cfg.StartTimeout = DefaultStartTimeout
				f.dr = f.newDriver()
				f.mustRun(t, want)
				want = desired(false)
			}
			f.control("hang", tc.hang)
			f.dr.Reconcile(t.Context(), want, f.allow)
			switch tc.hang {
			case "start":
				f.waitCalls("start")
			case "stop":
				f.waitCalls("stop rd")
			default:
				f.waitCalls("hanging: stop --force")
			}
			began := time.Now()
			f.dr.Close()
			if took := time.Since(began); took > 2*time.Second {
				t.Errorf("Close took %s", took)
			}
			f.control("hang", "")
		})
	}
}
