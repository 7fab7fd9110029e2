package lima

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/rddproject/rdd/reconciler"
	"github.com/rddproject/rdd/schema"
	"github.com/rddproject/rdd/statusdir"
)

// doubleBin is the limactl test double, built once for the package.
var doubleBin string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "rdd-lima-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	doubleBin = filepath.Join(dir, "limactl")
	// `go test` puts its own go first on PATH.
	out, err := exec.Command("go", "build", "-o", doubleBin, "github.com/rddproject/rdd/testscripts/limactl").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build the limactl double: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// fixture is a driver wired to the double in a private home.
type fixture struct {
	t       *testing.T
	dr      *Driver
	cfg     Config
	rdHome  string // RDD_HOME
	home    string // LIMA_HOME
	socket  string // the default engine socket
	dockerd string // what the double links the socket to
	clock   time.Time
	allow   reconciler.Allow // what Reconcile is allowed
}

func newFixture(t *testing.T, edit func(*Config)) *fixture {
	t.Helper()
	rd := t.TempDir()
	f := &fixture{t: t, rdHome: rd, home: filepath.Join(rd, "lima"), socket: filepath.Join(rd, "docker.sock"),
		dockerd: filepath.Join(rd, "dockerd.sock"), clock: time.Now()}
	f.cfg = Config{
		Home:    f.home,
		Socket:  f.socket,
		Limactl: doubleBin,
		Env: []string{
			"LIMACTL_DOUBLE_ALLOW_ROOT=1", // tests may run as root; limactl would refuse
			"LIMACTL_DOUBLE_CREATE_DELAY=10ms",
			"LIMACTL_DOUBLE_START_DELAY=50ms",
			"LIMACTL_DOUBLE_STOP_DELAY=20ms",
			"LIMACTL_DOUBLE_DOCKER_SOCK=" + f.dockerd,
		},
		Logger: slog.New(slog.NewTextHandler(t.Output(), nil)),
	}
	if edit != nil {
		edit(&f.cfg)
	}
	f.dr = f.newDriver()
	return f
}

func (f *fixture) newDriver() *Driver {
	dr := New(f.cfg)
	dr.now = func() time.Time { return f.clock }
	f.t.Cleanup(func() { dr.Close() })
	return dr
}

// desired is the schema defaults with a Lima VM of type qemu.
func desired(running bool) *schema.Desired {
	d := schema.Default().Defaults()
	d.Running = running
	d.VM.Driver = "lima"
	d.VM.Type = "qemu"
	return d
}

func inProgress(reason string) bool {
	return reason == statusdir.VMStarting || reason == statusdir.VMStopping || reason == statusdir.VMRestarting
}

// settle reconciles until the driver reports no operation in progress,
// waiting on Changes between passes; it returns the last result and every
// reason seen on the way.
func (f *fixture) settle(ctx context.Context, dr *Driver, d *schema.Desired) (reconciler.VMResult, []string) {
	f.t.Helper()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	var seen []string
	for {
		r := dr.Reconcile(ctx, d, f.allow)
		seen = append(seen, r.Reason)
		if !inProgress(r.Reason) {
			return r, seen
		}
		select {
		case <-dr.Changes():
		case <-deadline.C:
			f.t.Fatalf("still %s after 30s: %s (seen %v)", r.Reason, r.Message, seen)
		}
	}
}

// calls counts the double's invocations whose line starts with prefix.
func (f *fixture) calls(prefix string) int {
	b, _ := os.ReadFile(filepath.Join(f.home, "_double", "calls.log"))
	n := 0
	for line := range strings.Lines(string(b)) {
		if strings.HasPrefix(line, prefix) {
			n++
		}
	}
	return n
}

// control writes (or with value "" removes) a control file of the double.
func (f *fixture) control(name, value string) {
	f.t.Helper()
	path := filepath.Join(f.home, "_double", name)
	if value == "" {
		if err := os.Remove(path); err != nil {
			f.t.Fatal(err)
		}
		return
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// waitCalls waits, on fsnotify events, until calls.log has a line
// starting with prefix.
func (f *fixture) waitCalls(prefix string) {
	f.t.Helper()
	dir := filepath.Join(f.home, "_double")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		f.t.Fatal(err)
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		f.t.Fatal(err)
	}
	defer w.Close()
	if err := w.Add(dir); err != nil {
		f.t.Fatal(err)
	}
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	for f.calls(prefix) == 0 {
		select {
		case <-w.Events:
		case err := <-w.Errors:
			f.t.Fatal(err)
		case <-deadline.C:
			f.t.Fatalf("no %q call within 20s", prefix)
		}
	}
}

func (f *fixture) mustRun(t *testing.T, d *schema.Desired) reconciler.VMResult {
	t.Helper()
	r, seen := f.settle(t.Context(), f.dr, d)
	if r.Reason != statusdir.VMRunning {
		t.Fatalf("want Running, got %s: %s (seen %v)", r.Reason, r.Message, seen)
	}
	return r
}

func assertContains(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s does not contain %q:\n%s", what, sub, s)
		}
	}
}

// create -> start -> Running, with the socket forwarded; a second pass does
// nothing; running: false stops it and removes the forward.
func TestCreateStartStop(t *testing.T) {
	f := newFixture(t, nil)
	d := desired(true)
	first := f.dr.Reconcile(t.Context(), d, f.allow)
	if first.Reason != statusdir.VMStarting || first.Socket != "" {
		t.Fatalf("first pass: want Starting without a socket, got %+v", first)
	}
	assertContains(t, "message", first.Message, `creating and starting Lima instance "rd"`)

	r := f.mustRun(t, d)
	if r.Socket != f.socket {
		t.Errorf("socket %q, want %q", r.Socket, f.socket)
	}
	want := statusdir.VMStatus{Driver: "lima", Instance: "rd", Status: "Running", CPUs: 2, Memory: "4GiB", Disk: "100GiB", Type: "qemu", MountType: "reverse-sshfs"}
	if !reflect.DeepEqual(r.Status, want) {
		t.Errorf("status %+v, want %+v", r.Status, want)
	}
	if target, err := os.Readlink(f.socket); err != nil || target != f.dockerd {
		t.Errorf("forwarded socket: %q, %v; want a link to %q", target, err, f.dockerd)
	}
	lima, err := os.ReadFile(filepath.Join(f.home, "rd", "lima.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	assertContains(t, "lima.yaml", string(lima), "hostSocket: "+f.socket, StockImage)

	// Idempotent: nothing but list.
	if again := f.dr.Reconcile(t.Context(), d, f.allow); again.Reason != statusdir.VMRunning || again.Message != r.Message {
		t.Errorf("second pass: %+v", again)
	}
	if f.calls("create") != 1 || f.calls("start") != 1 || f.calls("stop") != 0 {
		t.Errorf("calls: create %d, start %d, stop %d", f.calls("create"), f.calls("start"), f.calls("stop"))
	}

	r, seen := f.settle(t.Context(), f.dr, desired(false))
	if r.Reason != statusdir.VMStopped || r.Socket != "" || seen[0] != statusdir.VMStopping {
		t.Fatalf("running: false: %+v (seen %v)", r, seen)
	}
	if r.Status.Status != "Stopped" {
		t.Errorf("status %q", r.Status.Status)
	}
	if _, err := os.Lstat(f.socket); !os.IsNotExist(err) {
		t.Errorf("the forwarded socket outlived the stop: %v", err)
	}
}

// Several keys changed in one edit: one Restarting naming them, one stop,
// one edit, one start.
func TestRestartOnceOnMultiKeyChange(t *testing.T) {
	f := newFixture(t, nil)
	f.mustRun(t, desired(true))

	d := desired(true)
	d.VM.CPUs, d.VM.Memory = 4, "8GiB"
	d.VM.Mounts = []schema.Mount{{Location: "/tmp", Writable: true}}
	r, seen := f.settle(t.Context(), f.dr, d)
	if r.Reason != statusdir.VMRunning {
		t.Fatalf("want Running, got %+v (seen %v)", r, seen)
	}
	if seen[0] != statusdir.VMRestarting {
		t.Errorf("first reason %s, want Restarting", seen[0])
	}
	if f.calls("stop") != 1 || f.calls("edit") != 1 || f.calls("start") != 2 {
		t.Errorf("calls: stop %d, edit %d, start %d; want 1, 1, 2", f.calls("stop"), f.calls("edit"), f.calls("start"))
	}
	if r.Status.CPUs != 4 || r.Status.Memory != "8GiB" {
		t.Errorf("status %+v", r.Status)
	}
	// The message named every key.
	f2 := newFixture(t, nil)
	f2.mustRun(t, desired(true))
	first := f2.dr.Reconcile(t.Context(), d, f.allow)
	assertContains(t, "Restarting message", first.Message, "vm.cpus (2 -> 4)", "vm.memory (4GiB -> 8GiB)", "vm.mounts (~:ro -> /tmp:rw)")
	f2.settle(t.Context(), f2.dr, d)
}

// A disk shrink is refused: held (ChangeRefused) saying why, the VM still
// Running, nothing stopped, and the socket kept so the engine stays
// connected.
func TestDiskShrinkRefused(t *testing.T) {
	f := newFixture(t, nil)
	f.mustRun(t, desired(true))
	d := desired(true)
	d.VM.Disk = "50GiB"
	d.VM.CPUs = 3 // refused along with it: nothing changes
	r := f.dr.Reconcile(t.Context(), d, f.allow)
	if r.Reason != statusdir.VMRunning || r.Held == nil || r.Held.Reason != statusdir.ChangeRefused {
		t.Fatalf("want Running with a refused change held, got %+v", r)
	}
	assertContains(t, "message", r.Held.Message, "vm.disk (100GiB -> 50GiB)", "never shrink", "100GiB or more", "Nothing was changed", "vm.cpus (2 -> 3)")
	if r.Socket != f.socket || r.Status.Status != "Running" {
		t.Errorf("socket %q, status %q: the running VM must stay usable", r.Socket, r.Status.Status)
	}
	if f.calls("stop") != 0 || f.calls("edit") != 0 {
		t.Errorf("calls: stop %d, edit %d; want none", f.calls("stop"), f.calls("edit"))
	}
	// Growing is fine, and takes one restart.
	d.VM.Disk = "200GiB"
	d.VM.CPUs = 2
	if r := f.mustRun(t, d); r.Status.Disk != "200GiB" {
		t.Errorf("disk %q after growing", r.Status.Disk)
	}
}

// A start that fails is StartFailed quoting the double's stderr and naming
// the log files; it is retried only after the pause, then succeeds.
func TestStartFailure(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.RetryAfter = time.Minute })
	f.control("fail-start", "qemu-system-x86_64: failed to initialize kvm")
	d := desired(true)
	r, _ := f.settle(t.Context(), f.dr, d)
	if r.Reason != statusdir.VMStartFailed {
		t.Fatalf("want StartFailed, got %+v", r)
	}
	assertContains(t, "message", r.Message,
		"limactl said:", "level=fatal", "failed to initialize kvm",
		filepath.Join(f.home, "rd", "ha.stderr.log"), "serial*.log")
	if r.Status.Status != "Stopped" {
		t.Errorf("status %q", r.Status.Status)
	}

	// Within the pause: the same failure, a requeue, no new start.
	again := f.dr.Reconcile(t.Context(), d, f.allow)
	if again.Reason != statusdir.VMStartFailed || again.Message != r.Message || again.Requeue <= 0 || again.Requeue > time.Minute {
		t.Errorf("within the pause: %+v", again)
	}
	if n := f.calls("start"); n != 1 {
		t.Errorf("%d starts, want 1", n)
	}

	// After the pause, with the fault gone, it starts.
	f.control("fail-start", "")
	f.clock = f.clock.Add(time.Minute + time.Second)
	f.mustRun(t, d)
	if n := f.calls("start"); n != 2 {
		t.Errorf("%d starts, want 2", n)
	}
}

// A stop that fails is StopFailed quoting the double; retried after the
// pause.
func TestStopFailure(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.RetryAfter = time.Minute })
	f.mustRun(t, desired(true))
	f.control("fail-stop", "guest agent does not answer")
	off := desired(false)
	r, _ := f.settle(t.Context(), f.dr, off)
	if r.Reason != statusdir.VMStopFailed {
		t.Fatalf("want StopFailed, got %+v", r)
	}
	assertContains(t, "message", r.Message, "stopping Lima instance", "limactl said:", "guest agent does not answer", "ha.stderr.log")
	if again := f.dr.Reconcile(t.Context(), off, f.allow); again.Reason != statusdir.VMStopFailed || again.Requeue <= 0 {
		t.Errorf("within the pause: %+v", again)
	}
	f.control("fail-stop", "")
	f.clock = f.clock.Add(2 * time.Minute)
	if r, seen := f.settle(t.Context(), f.dr, off); r.Reason != statusdir.VMStopped {
		t.Fatalf("after the pause: %+v (seen %v)", r, seen)
	}
}

// A start that hangs is killed at the start timeout, the half-started
// instance is stopped forcibly, and the result is StartFailed saying so.
func TestStartHangTimesOut(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.StartTimeout = 400 * time.Millisecond })
	f.control("hang", "start")
	r, _ := f.settle(t.Context(), f.dr, desired(true))
	if r.Reason != statusdir.VMStartFailed {
		t.Fatalf("want StartFailed, got %+v", r)
	}
	assertContains(t, "message", r.Message, "did not finish within 400ms", "stopped forcibly")
	if f.calls("interrupted: start rd") != 1 {
		t.Error("the hanging limactl start was not interrupted")
	}
	if f.calls("stop --force rd") != 1 {
		t.Error("no forced stop after the timeout")
	}
}

// The daemon shutting down mid-start cancels limactl start (SIGTERM to its
// process group) promptly; a later pass starts again.
func TestCancelMidStart(t *testing.T) {
	f := newFixture(t, nil)
	f.control("hang", "start")
	ctx, cancel := context.WithCancel(t.Context())
	if r := f.dr.Reconcile(ctx, desired(true), f.allow); r.Reason != statusdir.VMStarting {
		t.Fatalf("want Starting, got %+v", r)
	}
	f.waitCalls("start")
	began := time.Now()
	cancel()
	f.dr.Close() // waits for the operation
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("cancelling took %s", took)
	}
	if f.calls("interrupted: start rd") != 1 {
		t.Error("limactl start was not interrupted")
	}
	f.control("hang", "")
	r := f.mustRun(t, desired(true))
	if r.Socket != f.socket {
		t.Errorf("socket %q", r.Socket)
	}
}

// Turning running off while a start is under way cancels the start and
// leaves the instance stopped.
func TestTurnAroundDuringStart(t *testing.T) {
	f := newFixture(t, nil)
	f.control("start-delay", "1h")
	if r := f.dr.Reconcile(t.Context(), desired(true), f.allow); r.Reason != statusdir.VMStarting {
		t.Fatalf("want Starting, got %+v", r)
	}
	f.waitCalls("start")
	r, seen := f.settle(t.Context(), f.dr, desired(false))
	if r.Reason != statusdir.VMStopped {
		t.Fatalf("want Stopped, got %+v (seen %v)", r, seen)
	}
	if f.calls("interrupted: start rd") != 1 {
		t.Error("the start was not interrupted")
	}
}

// A new driver (a restarted daemon) adopts a running instance whose
// configuration matches, without restarting it; one that does not match
// is restarted once.
func TestAdoptRunningInstance(t *testing.T) {
	f := newFixture(t, nil)
	f.mustRun(t, desired(true))
	f.dr.Close()

	dr2 := f.newDriver()
	r := dr2.Reconcile(t.Context(), desired(true), f.allow)
	if r.Reason != statusdir.VMRunning || r.Socket != f.socket {
		t.Fatalf("adoption: %+v", r)
	}
	if f.calls("stop") != 0 || f.calls("start") != 1 {
		t.Errorf("adoption ran stop %d, start %d", f.calls("stop"), f.calls("start"))
	}
	dr2.Close()

	d := desired(true)
	d.VM.CPUs = 3
	dr3 := f.newDriver()
	if first := dr3.Reconcile(t.Context(), d, f.allow); first.Reason != statusdir.VMRestarting {
		t.Fatalf("changed while the daemon was down: %+v", first)
	}
	r, _ = f.settle(t.Context(), dr3, d)
	if r.Reason != statusdir.VMRunning || r.Status.CPUs != 3 {
		t.Fatalf("after restart: %+v", r)
	}
}

// A change made while stopped waits for the next start, and is applied by
// it (edit, start: no stop).
func TestChangeWhileStopped(t *testing.T) {
	f := newFixture(t, nil)
	f.mustRun(t, desired(true))
	f.settle(t.Context(), f.dr, desired(false))

	off := desired(false)
	off.VM.CPUs = 4
	r := f.dr.Reconcile(t.Context(), off, f.allow)
	if r.Reason != statusdir.VMStopped {
		t.Fatalf("want Stopped, got %+v", r)
	}
	assertContains(t, "message", r.Message, "at the next start: vm.cpus (2 -> 4)")
	if f.calls("edit") != 0 {
		t.Error("edited while meant to be stopped")
	}
	on := desired(true)
	on.VM.CPUs = 4
	first := f.dr.Reconcile(t.Context(), on, f.allow)
	assertContains(t, "Starting message", first.Message, "with vm.cpus (2 -> 4)")
	r = f.mustRun(t, on)
	if r.Status.CPUs != 4 || f.calls("stop") != 1 || f.calls("edit") != 1 {
		t.Errorf("cpus %d, stops %d, edits %d", r.Status.CPUs, f.calls("stop"), f.calls("edit"))
	}
}

// A new boot image recreates the instance (delete, create, start), when
// allowed.
func TestImageChangeRecreates(t *testing.T) {
	f := newFixture(t, nil)
	f.allow.Recreate = true
	f.mustRun(t, desired(true))
	d := desired(true)
	d.VM.Image = &schema.VMImage{Location: "/srv/img/disk.raw", Kernel: "/srv/img/vmlinuz"}
	first := f.dr.Reconcile(t.Context(), d, f.allow)
	if first.Reason != statusdir.VMRestarting {
		t.Fatalf("want Restarting, got %+v", first)
	}
	assertContains(t, "message", first.Message, "recreating", "vm.image")
	f.mustRun(t, d)
	if f.calls("delete") != 1 || f.calls("create") != 2 {
		t.Errorf("delete %d, create %d", f.calls("delete"), f.calls("create"))
	}
	lima, _ := os.ReadFile(filepath.Join(f.home, "rd", "lima.yaml"))
	assertContains(t, "lima.yaml", string(lima), "location: /srv/img/disk.raw", "legacyBIOS: true")
}

// limactl missing: StartFailed with a hint, not a crash; with running:
// false and no instance, simply Stopped.
func TestLimactlMissing(t *testing.T) {
	t.Setenv("RDD_LIMACTL", "")
	t.Setenv("PATH", t.TempDir())
	f := newFixture(t, func(c *Config) { c.Limactl = "" })
	r := f.dr.Reconcile(t.Context(), desired(true), f.allow)
	if r.Reason != statusdir.VMStartFailed {
		t.Fatalf("want StartFailed, got %+v", r)
	}
	assertContains(t, "message", r.Message, "limactl was not found on PATH", "hint:", "RDD_LIMACTL")
	if r := f.dr.Reconcile(t.Context(), desired(false), f.allow); r.Reason != statusdir.VMStopped {
		t.Errorf("running: false: %+v", r)
	} else if first, hint, _ := strings.Cut(r.Message, "\n"); first != `no Lima instance "rd"; limactl was not found on PATH` || !strings.HasPrefix(hint, "hint: install Lima") {
		t.Errorf("running: false: message %q, want the cause on one line and the hint on the next", r.Message)
	}

	g := newFixture(t, func(c *Config) { c.Limactl = filepath.Join(t.TempDir(), "limactl") })
	r = g.dr.Reconcile(t.Context(), desired(true), f.allow)
	if r.Reason != statusdir.VMStartFailed {
		t.Fatalf("want StartFailed, got %+v", r)
	}
	assertContains(t, "message", r.Message, "(RDD_LIMACTL) cannot be run", "hint:")
}

// Run as root, limactl refuses; rdd says so with a hint.
func TestRootRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the double refuses root the way limactl does")
	}
	f := newFixture(t, func(c *Config) { c.Env = nil })
	r := f.dr.Reconcile(t.Context(), desired(true), f.allow)
	if r.Reason != statusdir.VMStartFailed {
		t.Fatalf("want StartFailed, got %+v", r)
	}
	assertContains(t, "message", r.Message, "must not run as the root user", "hint: limactl refuses to run as root")
}

// limactl list failing while the VM runs is a StartFailed quoting it, but
// keeps the socket: the engine does not drop its mirrors over it.
func TestListFailureKeepsSocket(t *testing.T) {
	f := newFixture(t, nil)
	f.mustRun(t, desired(true))
	f.control("fail-list", "open lima.yaml: input/output error")
	r := f.dr.Reconcile(t.Context(), desired(true), f.allow)
	if r.Reason != statusdir.VMStartFailed || r.Socket != f.socket {
		t.Fatalf("want StartFailed with the socket kept, got %+v", r)
	}
	assertContains(t, "message", r.Message, "limactl list --json", "input/output error")
	f.control("fail-list", "")
	f.mustRun(t, desired(true))
}
