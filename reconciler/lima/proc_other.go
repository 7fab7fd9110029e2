//go:build !unix

package lima

import (
	"os"
	"os/exec"
)

// ownProcessGroup keeps exec's default: the process is killed when its
// context ends.
func ownProcessGroup(*exec.Cmd) {}

// processAlive reports whether pid exists.
func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	p.Release()
	return true
}

// killGroup kills the process pid.
func killGroup(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		p.Kill()
	}
}
