package double

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Files of an instance directory, as Lima v1.2.2 names them
// (pkg/store/filenames/filenames.go).
const (
	haPID   = "ha.pid"
	haSock  = "ha.sock"
	qemuPID = "qemu.pid"
)

// A started instance is two processes of the double, standing in for
// Lima's: the host agent, run as `limactl hostagent --pidfile DIR/ha.pid
// --socket DIR/ha.sock NAME` the way pkg/instance/start.go runs it, which
// serves Info over ha.sock and starts the VM process `limactl _qemu
// -pidfile DIR/qemu.pid NAME` (QEMU gets `-pidfile` in
// pkg/driver/qemu/qemu.go) in a process group of its own, so that QEMU
// outlives a host agent killed with SIGKILL, as Lima's does
// (executil.BackgroundSysProcAttr). Both also end when the instance's
// lima.yaml disappears (a test's directory removed), so that no test
// leaves them behind.

// orphanPoll is how often a double process checks that its instance
// still exists.
const orphanPoll = 200 * time.Millisecond

// spawn starts the double itself with args, detached in its own process
// group. argv[0] stays "limactl": the testscript harness picks the
// command by it.
func spawn(dir string, args ...string) (*exec.Cmd, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(filepath.Join(dir, haStderr), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := &exec.Cmd{Path: exe, Args: append([]string{"limactl"}, args...), Stdout: logf, Stderr: logf,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true}}
	cmd.Env = os.Environ()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return cmd, nil
}

// hostagent is the host agent's process: `limactl hostagent --pidfile P
// --socket S NAME`.
func (h *home) hostagent(rest []string) error {
	f, err := parseFlags(rest, []string{"pidfile", "socket"}, nil)
	if err != nil {
		return err
	}
	name, err := oneName(f, "default")
	if err != nil {
		return err
	}
	dir := h.instDir(name)
	pidfile, sock := f.values["pidfile"], f.values["socket"]
	// cmd/limactl/hostagent.go: refuse an existing pid file; remove a
	// stale socket before listening.
	if _, err := os.Stat(pidfile); err == nil {
		return fmt.Errorf("pidfile %q already exists", pidfile)
	}
	if err := os.WriteFile(pidfile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return err
	}
	defer os.Remove(pidfile)
	os.RemoveAll(sock)
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return err
	}
	defer os.Remove(sock)
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/info", func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(map[string]int{"sshLocalPort": 0})
	})
	go http.Serve(ln, mux)

	qemu, err := spawn(dir, "_qemu", "-pidfile", filepath.Join(dir, qemuPID), name)
	if err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() {
		qemu.Wait()
		close(exited)
	}()
	tick := time.NewTicker(orphanPoll)
	defer tick.Stop()
	for {
		select {
		case s := <-signals:
			// pkg/hostagent: on SIGINT/SIGTERM the driver stops the VM.
			info("Received %s, shutting down the host agent", s)
			if d := h.delay("LIMACTL_DOUBLE_STOP_DELAY", "stop-delay", 100*time.Millisecond); d > 0 {
				time.Sleep(d)
			}
			qemu.Process.Signal(syscall.SIGTERM)
			<-exited
			return nil
		case <-exited:
			return errors.New("driver process exited")
		case <-tick.C:
			if !h.exists(name) {
				qemu.Process.Kill()
				return nil
			}
		}
	}
}

// qemu is the VM process: `limactl _qemu -pidfile P NAME`. It writes its
// pid file and runs until SIGTERM/SIGINT (removing the file, as QEMU's
// -pidfile does) or its instance is gone.
func (h *home) qemu(rest []string) error {
	f, err := parseFlags(rest, []string{"pidfile"}, nil)
	if err != nil {
		return err
	}
	name, err := oneName(f, "default")
	if err != nil {
		return err
	}
	pidfile := f.values["pidfile"]
	if err := os.WriteFile(pidfile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return err
	}
	defer os.Remove(pidfile)
	tick := time.NewTicker(orphanPoll)
	defer tick.Stop()
	for {
		select {
		case <-signals:
			return nil
		case <-tick.C:
			if !h.exists(name) {
				return nil
			}
		}
	}
}

// inspection is what Lima's store.Inspect makes of an instance's pid
// files and host agent socket (pkg/store/instance.go Inspect,
// inspectStatusWithPIDFiles, ReadPIDFile).
type inspection struct {
	status    string
	haPID     int
	driverPID int
	errors    []error
}

// readPIDFile is Lima's ReadPIDFile: a missing file is 0; a dead PID is 0
// and the file is removed; content that is not a number is an error; a
// live PID (or one not ours to signal) is trusted, whoever it is.
func readPIDFile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, err
	}
	if err := syscall.Kill(pid, 0); err != nil && err != syscall.EPERM || zombie(pid) {
		os.Remove(path)
		return 0, nil
	}
	return pid, nil
}

// zombie reports whether pid has exited and waits to be reaped. Lima
// signals 0 only; on a host init reaps at once, but a test container's
// PID 1 may not, and a zombie is no running process.
func zombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	return err == nil && strings.Contains(string(b), ") Z ")
}

func (h *home) inspect(name string) inspection {
	dir := h.instDir(name)
	in := inspection{}
	var err error
	if in.haPID, err = readPIDFile(filepath.Join(dir, haPID)); err != nil {
		in.status = "Broken"
		in.errors = append(in.errors, err)
	}
	if in.haPID != 0 {
		sock := filepath.Join(dir, haSock)
		if err := infoOver(sock); err != nil {
			in.status = "Broken"
			in.errors = append(in.errors, fmt.Errorf("failed to get Info from %q: %w", sock, err))
		}
	}
	if in.driverPID, err = readPIDFile(filepath.Join(dir, qemuPID)); err != nil {
		in.status = "Broken"
		in.errors = append(in.errors, err)
	}
	if in.status == "" {
		switch {
		case in.haPID > 0 && in.driverPID > 0:
			in.status = "Running"
		case in.haPID == 0 && in.driverPID == 0:
			in.status = "Stopped"
		case in.haPID > 0:
			in.status = "Broken"
			in.errors = append(in.errors, errors.New("host agent is running but driver is not"))
		default:
			in.status = "Broken"
			in.errors = append(in.errors, errors.New("qemu driver is running but host agent is not"))
		}
	}
	return in
}

// infoOver asks the host agent at sock for its Info, with Lima's 3s
// timeout.
func infoOver(sock string) error {
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://lima-hostagent/v1/info", nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %s", resp.Status)
	}
	return nil
}

// bootVM starts the host agent (which starts the VM process) and waits
// until its Info answers and the VM's pid file exists.
func (h *home) bootVM(name string) error {
	dir := h.instDir(name)
	if _, err := spawn(dir, "hostagent", "--pidfile", filepath.Join(dir, haPID), "--socket", filepath.Join(dir, haSock), name); err != nil {
		return err
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(filepath.Join(dir, qemuPID)); err == nil && infoOver(filepath.Join(dir, haSock)) == nil {
			return nil
		}
		select {
		case s := <-signals:
			h.logCall("interrupted:", []string{"start " + name, s.String()})
			return &exitError{code: 1, msg: fmt.Sprintf("start %s: interrupted by %v", name, s)}
		case <-time.After(20 * time.Millisecond):
		}
	}
	return errors.New("the host agent did not become ready within 20s")
}

// stopForcibly is Lima's instance.StopForcibly (pkg/instance/stop.go):
// SIGKILL to the driver PID and the host agent PID when > 0, unchecked,
// then every *.pid, *.sock and *.tmp in the instance directory removed.
func (h *home) stopForcibly(name string, in inspection) {
	if in.driverPID > 0 {
		info("Sending SIGKILL to the qemu driver process %d", in.driverPID)
		syscall.Kill(in.driverPID, syscall.SIGKILL)
	} else {
		info("The qemu driver process seems already stopped")
	}
	if in.haPID > 0 {
		info("Sending SIGKILL to the host agent process %d", in.haPID)
		syscall.Kill(in.haPID, syscall.SIGKILL)
	} else {
		info("The host agent process seems already stopped")
	}
	dir := h.instDir(name)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		for _, suffix := range []string{".pid", ".sock", ".tmp"} {
			if strings.HasSuffix(e.Name(), suffix) {
				info("Removing %q", filepath.Join(dir, e.Name()))
				os.Remove(filepath.Join(dir, e.Name()))
			}
		}
	}
}

// fault is the double's own sub-command `limactl _fault NAME KIND [ARG]`,
// leaving an instance the way a power loss or a killed host agent does:
//
//	power-loss       SIGKILL to QEMU and the host agent; their pid files and
//	                 ha.sock stay, and the forwarded engine socket is a dead
//	                 socket file
//	kill-hostagent   SIGKILL to the host agent only: QEMU runs on (Broken,
//	                 "qemu driver is running but host agent is not")
//	empty-pid        a power loss that left ha.pid empty (Broken, parse error)
//	reuse-pid PID    a power loss after which ha.pid and qemu.pid name PID,
//	                 a live process that is not Lima's (Broken: Info fails)
func (h *home) fault(rest []string) error {
	if len(rest) < 2 {
		return errors.New("usage: limactl _fault NAME power-loss|kill-hostagent|empty-pid|reuse-pid PID")
	}
	name, kind := rest[0], rest[1]
	if !h.exists(name) {
		return notExist(name)
	}
	dir := h.instDir(name)
	in := h.inspect(name)
	st, _ := h.readState(name)
	killHA := func() {
		if in.haPID > 0 {
			syscall.Kill(in.haPID, syscall.SIGKILL)
			waitGone(in.haPID)
		}
	}
	killAll := func() {
		if in.driverPID > 0 {
			syscall.Kill(in.driverPID, syscall.SIGKILL)
			waitGone(in.driverPID)
		}
		killHA()
	}
	// What a killed process leaves: its pid file (rewritten, as the
	// processes remove theirs on a clean exit only) and dead sockets.
	leave := func(pids map[string]int) error {
		for file, pid := range pids {
			if err := os.WriteFile(filepath.Join(dir, file), []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
				return err
			}
		}
		for _, s := range append([]string{filepath.Join(dir, haSock)}, st.Links...) {
			if err := deadSocket(s); err != nil {
				return err
			}
		}
		return nil
	}
	switch kind {
	case "power-loss":
		killAll()
		return leave(map[string]int{haPID: in.haPID, qemuPID: in.driverPID})
	case "kill-hostagent":
		killHA()
		return leave(map[string]int{haPID: in.haPID})
	case "empty-pid":
		killAll()
		if err := leave(map[string]int{qemuPID: in.driverPID}); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, haPID), nil, 0o644)
	case "reuse-pid":
		if len(rest) != 3 {
			return errors.New("reuse-pid needs the PID of a live process")
		}
		pid, err := strconv.Atoi(rest[2])
		if err != nil {
			return err
		}
		killAll()
		return leave(map[string]int{haPID: pid, qemuPID: pid})
	}
	return fmt.Errorf("unknown fault %q", kind)
}

// waitGone waits until a SIGKILLed process is gone (a child of another
// process is reaped by it or by init).
func waitGone(pid int) {
	for i := 0; i < 500 && syscall.Kill(pid, 0) == nil && !zombie(pid); i++ {
		time.Sleep(10 * time.Millisecond)
	}
}

// deadSocket replaces path with a unix socket nobody listens on, as a
// process killed while listening leaves it.
func deadSocket(path string) error {
	os.RemoveAll(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return err
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	return ln.Close()
}
