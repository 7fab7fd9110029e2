// Package atomicfile replaces files durably and atomically: a reader sees
// the old bytes or the new, never a part, and after a crash the file holds
// one or the other. It is rdd's one atomic writer; statusdir, the Lima
// driver's record, `rdd set` and the daemon's copy of the applied desired
// file all use it.
//
// A write creates a temporary file in the target's directory with O_EXCL
// and a random name, writes and syncs it, closes it, renames it over the
// target and syncs the directory. The temporary file is removed only when
// the write fails.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
)

// TempPrefix starts the name of every temporary file: TempPrefix, the
// target's name, "-" and a random suffix. Directory watchers ignore such
// names, and a writer may remove those a crashed writer left.
const TempPrefix = ".tmp-"

// Options tune a write.
type Options struct {
	// Prepare, if set, is called with the written temporary file before
	// it is synced and renamed, e.g. to give it the old file's owner; an
	// error fails the write.
	Prepare func(f *os.File) error
	// NoDirSync leaves syncing the directory to the caller, which syncs
	// it once after several writes (SyncDir).
	NoDirSync bool
}

// Write replaces path with data, mode perm whatever the umask.
func Write(path string, data []byte, perm fs.FileMode) error {
	return WriteWith(path, data, perm, Options{})
}

// WriteWith is Write with options.
func WriteWith(path string, data []byte, perm fs.FileMode, o Options) error {
	r, err := os.OpenRoot(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("write %q: %w", path, err)
	}
	defer r.Close()
	if err := WriteIn(r, filepath.Base(path), data, perm, o); err != nil {
		return fmt.Errorf("write %q: %w", path, err)
	}
	return nil
}

// WriteIn replaces name, a file in r's directory tree, with data. It never
// leaves r: a link planted in the way is replaced, not followed.
func WriteIn(r *os.Root, name string, data []byte, perm fs.FileMode, o Options) error {
	dir, base := filepath.Split(name)
	dir = filepath.Clean(dir)
	tmp, f, err := createTemp(r, dir, base, perm)
	if err != nil {
		return err
	}
	err = writeSync(f, data, perm, o.Prepare)
	if err == nil {
		err = r.Rename(tmp, name)
	}
	if err != nil {
		r.Remove(tmp)
		return err
	}
	if o.NoDirSync {
		return nil
	}
	return SyncDir(r, dir)
}

// SyncDir makes the entries of dir in r durable, so that a rename or a
// removal survives a crash. Windows cannot sync a directory; it is skipped
// there.
func SyncDir(r *os.Root, dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	f, err := r.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// createTemp creates a new temporary file for base in dir of r.
func createTemp(r *os.Root, dir, base string, perm fs.FileMode) (string, *os.File, error) {
	for range 100 {
		name := filepath.Join(dir, TempPrefix+base+"-"+strconv.FormatUint(rand.Uint64(), 36))
		f, err := r.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", nil, err
		}
		return name, f, nil
	}
	return "", nil, errors.New("cannot create a temporary file")
}

// Create creates path holding data, mode perm, and fails with an error
// matching fs.ErrExist if path exists by then. The bytes are complete and
// synced before the name appears (a hard link of a temporary file); on a
// file system without hard links the file is created exclusively and then
// written.
func Create(path string, data []byte, perm fs.FileMode) error {
	r, err := os.OpenRoot(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("create %q: %w", path, err)
	}
	defer r.Close()
	base := filepath.Base(path)
	tmp, f, err := createTemp(r, ".", base, perm)
	if err != nil {
		return fmt.Errorf("create %q: %w", path, err)
	}
	if err := writeSync(f, data, perm, nil); err != nil {
		r.Remove(tmp)
		return fmt.Errorf("create %q: %w", path, err)
	}
	err = r.Link(tmp, base)
	r.Remove(tmp)
	switch {
	case err == nil:
		return SyncDir(r, ".")
	case errors.Is(err, fs.ErrExist):
		return fmt.Errorf("create %q: %w", path, fs.ErrExist)
	}
	f, err = r.OpenFile(base, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return fmt.Errorf("create %q: %w", path, err)
	}
	if err := writeSync(f, data, perm, nil); err != nil {
		return fmt.Errorf("create %q: %w", path, err)
	}
	return SyncDir(r, ".")
}

// writeSync writes data to f, sets its mode, calls prepare, syncs and
// closes f.
func writeSync(f *os.File, data []byte, perm fs.FileMode, prepare func(*os.File) error) error {
	_, err := f.Write(data)
	if err == nil && runtime.GOOS != "windows" {
		err = f.Chmod(perm)
	}
	if err == nil && prepare != nil {
		err = prepare(f)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
