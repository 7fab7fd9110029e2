package desired

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/rddproject/rdd/home"
	"github.com/rddproject/rdd/schema"
	"github.com/rddproject/rdd/watch"
)

// ErrMissing is wrapped by the error of [Read] when there is no desired
// state at all: no desired.yaml and no fragment.
var ErrMissing = errors.New("no desired file and no fragment")

// Source is where a home's desired state is read from.
type Source struct {
	Desired   string // desired.yaml (may be a symlink, or elsewhere with --desired)
	Fragments string // desired.d/ (may be a symlink, or missing)
}

// SourceOf is the source of h.
func SourceOf(h home.Home) Source {
	return Source{Desired: h.Desired, Fragments: h.Fragments()}
}

// IsFragment reports whether a name in desired.d/ is a fragment: it ends
// in .yaml, does not start with a dot, and is not an editor's temporary or
// backup file. The daemon's watch of desired.d/ uses the same test.
func IsFragment(name string) bool {
	return strings.HasSuffix(name, ".yaml") && !strings.HasPrefix(name, ".") && !watch.Ignored(name)
}

// FragmentName is the name in a Set of the fragment file base.
func FragmentName(base string) string { return home.FragmentDir + "/" + base }

// Read reads the desired state: desired.yaml, then every fragment in
// lexical order, each once through schema.Read (so each is a regular file
// of bounded size, read in one go). An error is positioned at the file it
// is about. It wraps schema.ErrChanged when a file changed while being
// read or a fragment went away between listing desired.d/ and reading it
// (a save in progress: read again when it wakes you), and [ErrMissing]
// when there is neither desired.yaml nor a fragment.
func Read(src Source) (*Set, error) {
	var set Set
	f, derr := schema.Read(src.Desired)
	switch {
	case derr == nil:
		set.Files = append(set.Files, File{Name: DesiredName, Path: src.Desired, Data: f.Data})
	case errors.Is(derr, schema.ErrChanged) || !errors.Is(statErr(src.Desired), fs.ErrNotExist):
		return nil, derr
	}
	names, err := listFragments(src.Fragments)
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		path := filepath.Join(src.Fragments, name)
		f, err := schema.Read(path)
		if err != nil {
			if _, lerr := os.Lstat(path); errors.Is(lerr, fs.ErrNotExist) {
				return nil, &schema.Error{File: path, Line: 1, Column: 1,
					Msg: "went away while the fragments were read; they are read again once the writer is done", Err: schema.ErrChanged}
			}
			return nil, err
		}
		set.Files = append(set.Files, File{Name: FragmentName(name), Path: path, Data: f.Data})
	}
	if len(set.Files) == 0 {
		return nil, missingError{derr}
	}
	return &set, nil
}

// listFragments returns the fragment names in dir, sorted; none when dir
// does not exist.
func listFragments(dir string) ([]string, error) {
	if dir == "" {
		return nil, nil
	}
	des, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		msg := fmt.Sprintf("cannot be read as the directory of fragments: %v", unwrapPath(err))
		if fi, serr := os.Stat(dir); serr == nil && !fi.IsDir() {
			msg = "is not a directory; desired.d holds fragments (*.yaml files): move this file away"
		}
		return nil, &schema.Error{File: dir, Line: 1, Column: 1, Msg: msg, Err: err}
	}
	var names []string
	for _, de := range des {
		if IsFragment(de.Name()) {
			names = append(names, de.Name())
		}
	}
	return names, nil // os.ReadDir sorts by name
}

// missingError is the desired file's own error (it says how to create
// it), recognisable as ErrMissing.
type missingError struct{ err error }

func (e missingError) Error() string        { return e.err.Error() }
func (e missingError) Unwrap() error        { return e.err }
func (e missingError) Is(target error) bool { return target == ErrMissing }

func statErr(path string) error {
	_, err := os.Stat(path)
	return err
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Digest is the digest of the desired state of src as it is now, or ""
// when it cannot be read (missing, a directory, a save in progress): the
// value the daemon computes, for a CLI that waits for its verdict.
func Digest(src Source) string {
	set, err := Read(src)
	if err != nil {
		return ""
	}
	return set.Digest()
}
