package home

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// PrivateDir makes dir (run/ or logs/) a directory of the daemon's own
// before anything is written in it: it creates dir with mode 0700 (and its
// parents as needed), and refuses a dir that is a symbolic link, is not a
// directory, or belongs to another user, since whoever controls it could
// point the daemon's writes at files of their choosing. An existing dir of
// the user's with a wider mode is narrowed to 0700.
func PrivateDir(dir string) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return fmt.Errorf("create directory %q: %w", filepath.Dir(dir), err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create directory %q: %w", dir, err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("check directory %q: %w", dir, err)
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("directory %q is a symbolic link; rdd keeps its own files there and does not follow links: remove it (rdd creates it again)", dir)
	case !fi.IsDir():
		return fmt.Errorf("%q is not a directory; remove it (rdd creates it again)", dir)
	}
	if uid, ok := owner(fi); ok && uid != os.Geteuid() {
		return fmt.Errorf("directory %q belongs to user %d, not to this user (%d); remove it (rdd creates it again)", dir, uid, os.Geteuid())
	}
	if fi.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("make directory %q private: %w", dir, err)
		}
	}
	return nil
}

// OpenPrivate opens name, a file in a PrivateDir, for writing: created with
// mode 0600 when missing, never through a symbolic link (O_NOFOLLOW), and
// refused unless it is a regular file of this user's with one link (a hard
// link planted in the directory would point the writes elsewhere just the
// same).
func OpenPrivate(name string, flag int) (*os.File, error) {
	f, err := os.OpenFile(name, flag|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0o600)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("%q is a symbolic link; rdd does not write through links: remove it", name)
	}
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	var why string
	uid, ok := owner(fi)
	switch {
	case !fi.Mode().IsRegular():
		why = "is not a regular file"
	case ok && uid != os.Geteuid():
		why = fmt.Sprintf("belongs to user %d, not to this user (%d)", uid, os.Geteuid())
	case links(fi) > 1:
		why = "has other hard links"
	}
	if why != "" {
		f.Close()
		return nil, fmt.Errorf("%q %s; rdd does not write to it: remove it", name, why)
	}
	return f, nil
}

func owner(fi fs.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}

func links(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 1
}
