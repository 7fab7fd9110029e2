//go:build unix

package confirm

import "syscall"

// noFollow keeps a symlink planted at run/confirm.yaml from being read as
// a confirmation.
const noFollow = syscall.O_NOFOLLOW
