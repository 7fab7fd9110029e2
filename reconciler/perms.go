package reconciler

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// checkPerms refuses a desired file that someone other than the user could
// change, as sshd's StrictModes refuses such an authorized_keys: whoever
// can write desired.yaml decides what the VM mounts and what runs. Like
// OpenSSH's safe_path, it checks the file and then every directory above
// it, walking up to trustRoot (RDD_HOME's parent, checked too) or to "/":
// each must belong to the user or to root and must not be group- or
// world-writable. For a symlinked file (stow, chezmoi) the directories of
// the link and the final target with its directories are checked.
//
// Unlike sshd, a root-owned directory with the sticky bit set (/tmp) is
// accepted: in it no other user can rename or remove an entry they do not
// own, which is all that write permission on a directory would give them
// over ours; an entry someone else made there fails its own owner check.
//
// A file that does not exist or cannot be resolved is not refused here:
// the read reports it.
func checkPerms(path, trustRoot string) error {
	uid := os.Geteuid()
	if err := checkDirs(filepath.Dir(path), trustRoot, uid); err != nil {
		return err
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil
	}
	fi, err := os.Stat(real)
	if err != nil || !fi.Mode().IsRegular() {
		return nil
	}
	if why := unsafeEntry(fi, uid); why != "" {
		name := path
		if real != path {
			name = fmt.Sprintf("%s (the target of %s)", real, path)
		}
		return fmt.Errorf("%s %s, so another user could change what rdd runs; fix it with `%s`", name, why, fix(fi, real))
	}
	if real != path {
		return checkDirs(filepath.Dir(real), trustRoot, uid)
	}
	return nil
}

// checkDirs checks dir and its parents up to stop or "/".
func checkDirs(dir, stop string, uid int) error {
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return nil // the read reports a missing directory
		}
		if why := unsafeEntry(fi, uid); why != "" {
			return fmt.Errorf("directory %s, on the path of the desired file, %s, so another user could replace the file; fix it with `%s`", d, why, fix(fi, d))
		}
		if d == stop || d == filepath.Dir(d) {
			return nil
		}
	}
}

// unsafeEntry says what is wrong with fi, or "".
func unsafeEntry(fi fs.FileInfo, uid int) string {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	owner := int(st.Uid)
	if owner != uid && owner != 0 {
		return fmt.Sprintf("belongs to user %d, not to you (%d) or root", owner, uid)
	}
	perm := fi.Mode().Perm()
	if perm&0o022 == 0 {
		return ""
	}
	if fi.IsDir() && fi.Mode()&fs.ModeSticky != 0 && owner == 0 {
		return "" // /tmp and the like; see checkPerms
	}
	who := "group"
	if perm&0o002 != 0 {
		who = "others"
	}
	return fmt.Sprintf("is writable by %s (mode %04o)", who, perm)
}

func fix(fi fs.FileInfo, name string) string {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() && st.Uid != 0 {
		return fmt.Sprintf("chown %d %s", os.Geteuid(), name)
	}
	return "chmod go-w " + name
}
