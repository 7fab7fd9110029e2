package statusdir

import (
	"crypto/sha256"
	"io/fs"
	"path"
	"strings"
	"time"
)

// What the writer remembers
//
// Deciding that a file is unchanged by reading it back costs an open, two
// reads and a close per file, every pass. Instead, Dir remembers for each
// file the SHA-256 of the bytes it last wrote or verified there, together
// with the file's identity as Lstat saw it just before: device, inode, mode,
// size, modification time and change time. While the identity is the same,
// the bytes are too, and one Lstat settles the file.
//
// The change time (ctime) is what makes that hold. A file replaced by
// another, removed, or turned into a link or a directory has another inode
// or mode; one rewritten in place has another size or mtime; and one
// rewritten in place with the same size and its mtime put back (`touch -r`)
// still has a new ctime, which no user can set. That is also why a check of
// the directory alone cannot spare the per-file Lstat: an in-place rewrite
// does not change the directory at all.
//
// Timestamps are coarse: a change in the same clock tick as the Lstat may
// keep the ctime it saw. So a file is remembered only when its ctime is
// older than racyWindow at the time of the Lstat; any later change then gets
// a later ctime. A file changed more recently is compared byte by byte, as
// is any file Dir knows nothing about, and every file on a system without a
// ctime. (A wall clock stepped back can defeat the window; so can a file
// system whose clock is not the host's, such as NFS. Both are out of scope.)
//
// The directory listing is remembered the same way: the names read from a
// directory, with the directory's identity taken before reading them, are
// reused while the identity stays the same, since creating, removing or
// renaming an entry changes the directory's ctime. A pass that changes a
// directory forgets its listing; the next one reads it again.
//
// Nothing is remembered across a restart: a new Dir compares bytes on its
// first pass.

// racyWindow bounds the granularity of file timestamps and the lag of the
// kernel's coarse clock behind the wall clock. It is generous: 1 s is the
// coarsest granularity of the file systems that status/ is expected on
// (ext4 with small inodes, HFS+); FAT's is 2 s.
const racyWindow = 2 * time.Second

// fileID is what Lstat says of a file, enough to tell that it has not
// changed since.
type fileID struct {
	dev, ino     uint64
	mode         fs.FileMode
	size         int64
	mtime, ctime int64 // nanoseconds since the epoch
}

// fileState is what Dir remembers of one file: the SHA-256 of the bytes it
// holds, and the identity it had when they were written or verified.
type fileState struct {
	id  fileID
	sum [sha256.Size]byte
}

// dirState is what Dir remembers of one directory of the status tree.
type dirState struct {
	files   map[string]fileState // by base name
	listing *listing             // nil when the names must be read again

	// The last sync of this directory that a Delta can follow (see
	// delta.go): its token (0: none), the files it left here, and the
	// number of times a removal made it void.
	syncToken uint64
	expected  map[string]struct{}
	epoch     uint64
}

// listing is the set of names in a directory whose identity was id just
// before they were read.
type listing struct {
	id    fileID
	names map[string]struct{}
}

// settled reports whether a file (or directory) whose identity was taken by
// a Stat no earlier than seen can be remembered: its last change lies more
// than racyWindow before seen, so that any change after the Stat gives it
// another ctime.
func settled(id fileID, seen time.Time) bool {
	return id.ctime < seen.Add(-racyWindow).UnixNano()
}

// state returns what d remembers of dir, a slash path below the root or ".".
func (d *Dir) state(dir string) *dirState {
	ds := d.dirs[dir]
	if ds == nil {
		ds = &dirState{files: map[string]fileState{}}
		if d.dirs == nil {
			d.dirs = map[string]*dirState{}
		}
		d.dirs[dir] = ds
	}
	return ds
}

// forget drops what d remembers of rel (a file, or a directory and all
// below it) and the listing of its parent directory.
func (d *Dir) forget(rel string) {
	if ds := d.dirs[path.Dir(rel)]; ds != nil {
		delete(ds.files, path.Base(rel))
		ds.listing = nil
	}
	for dir := range d.dirs {
		if dir == rel || strings.HasPrefix(dir, rel+"/") {
			delete(d.dirs, dir)
		}
	}
}

// clock returns the current time.
func (d *Dir) clock() time.Time {
	if d.now != nil {
		return d.now()
	}
	return time.Now()
}
