//go:build darwin || freebsd || netbsd

package statusdir

import (
	"io/fs"
	"syscall"
)

// identify returns the identity of the file fi describes, and false when
// fi carries no system data to take it from.
func identify(fi fs.FileInfo) (fileID, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{
		dev:   uint64(st.Dev),
		ino:   uint64(st.Ino),
		mode:  fi.Mode(),
		size:  fi.Size(),
		mtime: fi.ModTime().UnixNano(),
		ctime: st.Ctimespec.Nano(),
	}, true
}
