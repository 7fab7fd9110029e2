//go:build !unix

package lima

import "os/exec"

// ownProcessGroup keeps exec's default: the process is killed when its
// context ends.
func ownProcessGroup(*exec.Cmd) {}
