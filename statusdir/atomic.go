package statusdir

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"runtime"

	"github.com/rddproject/rdd/atomicfile"
)

// writeFile is the atomic write of one status file rel: it compares
// first and skips unchanged bytes, and otherwise writes through atomicfile
// below the real directory and syncs that directory. changed reports a
// write.
func (d *Dir) writeFile(r *os.Root, rel string, data []byte) (bool, error) {
	if _, err := splitRel(rel); err != nil {
		return false, fmt.Errorf("write status file %q: %w", rel, err)
	}
	dir, base := path.Dir(rel), path.Base(rel)
	pr, _, _, err := d.openDir(r, dir)
	if err != nil {
		return false, err
	}
	defer pr.Close()
	same, err := d.unchanged(pr, dir, base, data)
	if err != nil || same {
		return false, err
	}
	d.state(dir).listing = nil
	if err := d.writeNew(pr, dir, base, data); err != nil {
		return true, err
	}
	if err := syncDir(pr, "."); err != nil {
		return true, fmt.Errorf("sync status directory %q: %w", d.path(dir), err)
	}
	return true, nil
}

// writeNew writes data to a temporary file next to base in pr, the real
// directory dir, syncs it and renames it over base.
func (d *Dir) writeNew(pr *os.Root, dir, base string, data []byte) error {
	rel := path.Join(dir, base)
	o := atomicfile.Options{NoDirSync: true} // the caller syncs the directory once
	if d.beforeRename != nil {
		o.Prepare = func(*os.File) error { return d.beforeRename(rel) }
	}
	if err := atomicfile.WriteIn(pr, base, data, fileMode, o); err != nil {
		return fmt.Errorf("write status file %q: %w", d.path(rel), err)
	}
	return nil
}

// unchanged reports whether base in pr, the real directory dir, is a
// regular file of mode 0600 holding exactly data. It trusts what d
// remembers of the file while the file's identity is unchanged, and
// otherwise compares bytes, remembering the result when the file has
// settled. A directory in the way is removed; any other non-regular entry
// (a link, a FIFO) is left for the rename to replace, and never opened.
// When it returns false, d remembers nothing of the file, so that the
// caller's write leaves nothing stale behind.
func (d *Dir) unchanged(pr *os.Root, dir, base string, data []byte) (bool, error) {
	ds := d.state(dir)
	seen := d.clock()
	fi, err := pr.Lstat(base)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		delete(ds.files, base)
		return false, nil
	case err != nil:
		delete(ds.files, base)
		return false, fmt.Errorf("write status file %q: %w", d.path(path.Join(dir, base)), err)
	}
	id, idOK := identify(fi)
	if c, ok := ds.files[base]; ok && idOK && c.id == id && !d.noCache {
		if id.size == int64(len(data)) && sha256.Sum256(data) == c.sum {
			return true, nil
		}
		delete(ds.files, base)
		return false, nil
	}
	delete(ds.files, base)
	same, err := d.sameContent(pr, path.Join(dir, base), base, fi, data)
	if same && idOK && !d.noCache && settled(id, seen) {
		// id was taken before the bytes were read: a change since then
		// shows as another identity.
		ds.files[base] = fileState{id: id, sum: sha256.Sum256(data)}
	}
	return same, err
}

// sameContent reports whether base in pr, which Lstat described as fi, is a
// regular file of mode 0600 holding exactly data, by reading it. A
// directory in the way is removed; any other non-regular entry is not
// opened.
func (d *Dir) sameContent(pr *os.Root, rel, base string, fi fs.FileInfo, data []byte) (bool, error) {
	switch {
	case fi.IsDir():
		d.forget(rel)
		if err := pr.RemoveAll(base); err != nil {
			return false, fmt.Errorf("replace directory %q with a file: %w", d.path(rel), err)
		}
		return false, nil
	case !fi.Mode().IsRegular() || fi.Size() != int64(len(data)):
		return false, nil
	case runtime.GOOS != "windows" && fi.Mode().Perm() != fileMode:
		return false, nil
	}
	d.reads++
	f, err := pr.Open(base)
	if err != nil {
		return false, nil // replaced or unreadable: the write replaces it
	}
	defer f.Close()
	cur := make([]byte, len(data)+1)
	n, err := io.ReadFull(f, cur)
	if err != io.ErrUnexpectedEOF && !(err == io.EOF && n == 0) {
		return false, nil // a different length now
	}
	return n == len(data) && bytes.Equal(cur[:n], data), nil
}

// syncDir makes the entries of dir durable (see atomicfile.SyncDir).
func syncDir(r *os.Root, dir string) error { return atomicfile.SyncDir(r, dir) }
