// Package pidlock is the one-daemon-per-home lock: an flock(2) on
// run/daemon.lock held for the daemon's lifetime, with the holder's PID
// written inside for error messages. The kernel drops the lock when the
// process dies, so a crashed daemon never leaves a stale lock; a CLI that
// can take the lock knows no daemon is running and does not trust markers.
package pidlock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rddproject/rdd/home"
)

// ErrHeld is wrapped by Acquire's error when another process holds the lock.
var ErrHeld = errors.New("lock is held")

type heldError struct{ msg string }

func (e heldError) Error() string        { return e.msg }
func (e heldError) Is(target error) bool { return target == ErrHeld }

// Lock is a held daemon lock.
type Lock struct {
	f *os.File
}

// Acquire takes the lock at path without waiting, creating its directory
// (see home.PrivateDir), and writes the caller's PID into it. If another
// process holds it, the error wraps ErrHeld and names that process's PID.
// A link planted at path, or a directory of someone else's, is refused:
// the lock is truncated and written.
func Acquire(path string) (*Lock, error) {
	if err := home.PrivateDir(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("lock %q: %w", path, err)
	}
	f, err := home.OpenPrivate(path, os.O_RDWR)
	if err != nil {
		return nil, fmt.Errorf("open lock %q: %w", path, err)
	}
	if err := lockExclusive(f); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, heldError{fmt.Sprintf("another rdd daemon (pid %s) holds %s", holderPID(path), path)}
		}
		return nil, fmt.Errorf("lock %q: %w", path, err)
	}
	if err := f.Truncate(0); err != nil {
		f.Close()
		return nil, fmt.Errorf("write pid to %q: %w", path, err)
	}
	if _, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("write pid to %q: %w", path, err)
	}
	return &Lock{f: f}, nil
}

// Release drops the lock. The file stays; its content is only a hint.
func (l *Lock) Release() error {
	return l.f.Close()
}

// probeGrace bounds how long Acquire lets probes (Held) finish.
const probeGrace = time.Second

// lockExclusive takes the exclusive lock without waiting for a daemon. Held
// probes with a shared lock for an instant, which makes an exclusive
// attempt fail at that instant too: a daemon starting while `rdd wait`
// probes (rdd daemon & rdd wait) would then refuse to start. A shared lock
// that can be taken means only probes hold it (a daemon holds it
// exclusively), so the attempt is repeated until they are done.
func lockExclusive(f *os.File) error {
	fd := int(f.Fd())
	deadline := time.Now().Add(probeGrace)
	for {
		err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			return err
		}
		if serr := syscall.Flock(fd, syscall.LOCK_SH|syscall.LOCK_NB); serr != nil {
			return err // held exclusively: a daemon
		}
		// Only probes hold it; drop the shared lock and let them finish.
		_ = syscall.Flock(fd, syscall.LOCK_UN)
		time.Sleep(time.Millisecond)
	}
}

// Held reports whether some process holds the lock at path, and its PID
// when known. A missing lock file means no daemon.
func Held(path string) (held bool, pid int, err error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, os.ErrNotExist) {
		return false, 0, nil
	}
	if err != nil {
		return false, 0, fmt.Errorf("open lock %q: %w", path, err)
	}
	defer f.Close()
	switch err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); {
	case err == nil:
		return false, 0, nil // closing f releases it
	case errors.Is(err, syscall.EWOULDBLOCK):
		pid, _ := strconv.Atoi(holderPID(path))
		return true, pid, nil
	default:
		return false, 0, fmt.Errorf("check lock %q: %w", path, err)
	}
}

func holderPID(path string) string {
	b, err := os.ReadFile(path)
	if s := strings.TrimSpace(string(b)); err == nil && s != "" {
		return s
	}
	return "unknown"
}
