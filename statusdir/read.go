package statusdir

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rddproject/rdd/atomicfile"
	"go.yaml.in/yaml/v3"
)

// ReadApp reads and parses app.yaml in the status directory root. A missing
// file gives an error that matches fs.ErrNotExist.
func ReadApp(root string) (*App, error) {
	p := filepath.Join(root, AppFile)
	data, err := readStatusFile(p)
	if err != nil {
		return nil, err
	}
	a, err := parseApp(data)
	if err != nil {
		return nil, fmt.Errorf("parse status file %q: %w", p, err)
	}
	return a, nil
}

// ReadMarker reads the marker name (ReadyMarker or FailedMarker) in the
// status directory root. A missing marker gives an error that matches
// fs.ErrNotExist.
func ReadMarker(root, name string) (*Marker, error) {
	if name != ReadyMarker && name != FailedMarker {
		return nil, fmt.Errorf("read marker: %q is not a marker (want %q or %q)", name, ReadyMarker, FailedMarker)
	}
	p := filepath.Join(root, name)
	data, err := readStatusFile(p)
	if err != nil {
		return nil, err
	}
	m, err := parseMarker(data)
	if err != nil {
		return nil, fmt.Errorf("parse status file %q: %w", p, err)
	}
	return m, nil
}

// Snapshot is what a waiter looks at: app.yaml and the two markers, each
// nil when missing.
type Snapshot struct {
	App           *App
	Ready, Failed *Marker
}

// ReadSnapshot reads the markers and app.yaml in the status directory root.
// Missing files, and a missing root, give nil fields; any other error, such
// as a file that does not parse, is returned.
//
// The markers are read first: the daemon writes them last, so the App read
// is at least as new as a marker seen. A verdict that changes while it
// reads may show both markers or neither; the change wakes Watch again.
func ReadSnapshot(root string) (Snapshot, error) {
	var s Snapshot
	var err error
	if s.Ready, err = ReadMarker(root, ReadyMarker); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return Snapshot{}, err
	}
	if s.Failed, err = ReadMarker(root, FailedMarker); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return Snapshot{}, err
	}
	if s.App, err = ReadApp(root); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return Snapshot{}, err
	}
	return s, nil
}

// Object is one object file read by ReadObjects.
type Object struct {
	File string // file name, such as "busybox%3A1.36.yaml"
	Name string // decoded object name; "" when the file name is truncated (read the name field in Data)
	Data []byte // the file's bytes; nil when Err is set
	Err  error  // why the file could not be read (larger than MaxFileSize, not a regular file...)
}

// ReadObjects reads the object files in the directory sub (such as
// ContainersDir) of the status directory root, sorted by file name. Files
// that vanish while it reads are left out; entries that are not object
// files are skipped. A file that cannot be read is returned with its Err
// set, so that one bad file is reported and does not hide the others. A
// missing directory gives an error that matches fs.ErrNotExist.
func ReadObjects(root, sub string) ([]Object, error) {
	dir := filepath.Join(root, filepath.FromSlash(sub))
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read status directory %q: %w", dir, err)
	}
	var objs []Object
	for _, e := range ents {
		file := e.Name()
		if strings.HasPrefix(file, atomicfile.TempPrefix) || !strings.HasSuffix(file, ObjectExt) {
			continue
		}
		name, err := objectName(file)
		if err != nil && !errors.Is(err, ErrTruncatedName) {
			continue
		}
		data, err := readStatusFile(filepath.Join(dir, file))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			objs = append(objs, Object{File: file, Name: name, Err: err})
			continue
		}
		objs = append(objs, Object{File: file, Name: name, Data: data})
	}
	slices.SortFunc(objs, func(a, b Object) int { return strings.Compare(a.File, b.File) })
	return objs, nil
}

// readStatusFile reads the regular file p, refusing one larger than
// MaxFileSize and never opening a FIFO or device.
func readStatusFile(p string) ([]byte, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("read status file %q: %w", p, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("read status file %q: not a regular file", p)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("read status file %q: %w", p, err)
	}
	defer f.Close()
	data, err := readLimited(f)
	if err != nil {
		return nil, fmt.Errorf("read status file %q: %w", p, err)
	}
	return data, nil
}

func readLimited(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("larger than %d bytes", MaxFileSize)
	}
	return data, nil
}

// decodeMapping decodes data, which must hold a YAML mapping, into v.
func decodeMapping(data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return errors.New("empty file")
	}
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil {
		return err
	}
	if n.Kind != yaml.DocumentNode || len(n.Content) != 1 || n.Content[0].Kind != yaml.MappingNode {
		return errors.New("not a YAML mapping")
	}
	return n.Content[0].Decode(v)
}

func parseApp(data []byte) (*App, error) {
	var a App
	if err := decodeMapping(data, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

func parseMarker(data []byte) (*Marker, error) {
	var m Marker
	if err := decodeMapping(data, &m); err != nil {
		return nil, err
	}
	return &m, nil
}
