//go:build unix

package lima

import (
	"os/exec"
	"syscall"
)

// ownProcessGroup puts limactl in a process group of its own, so that a
// Ctrl-C meant for the daemon does not reach it, and so that cancelling it
// also ends what it runs (qemu-img while creating). Lima's host agent puts
// itself in its own group and outlives it, as it should.
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	}
}

// processAlive reports whether pid exists (signal 0; EPERM means it does).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}

// killGroup SIGKILLs the process group led by pid.
func killGroup(pid int) { _ = syscall.Kill(-pid, syscall.SIGKILL) }
