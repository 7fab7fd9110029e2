package desired

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"

	"github.com/rddproject/rdd/home"
	"github.com/rddproject/rdd/schema"
	"github.com/rddproject/rdd/statusdir"
)

// DesiredName is the name of the desired file in a Set and in the digest.
const DesiredName = home.DesiredFile

// File is one file of a desired state.
type File struct {
	// Name is the file's name relative to the home: DesiredName, or
	// "desired.d/" and the fragment's name.
	Name string
	// Path is where it was read; "" for a copy (the daemon's copy of the
	// state in force, a history entry). Errors and origins name Path when
	// set, else Name.
	Path string
	Data []byte
}

// Set is a desired state: desired.yaml first when it exists, then each
// fragment in the order they apply.
type Set struct {
	Files []File
}

// Single is the Set of one desired file's bytes, as `rdd validate FILE`
// and `rdd plan FILE` take a candidate.
func Single(path string, data []byte) *Set {
	return &Set{Files: []File{{Name: DesiredName, Path: path, Data: data}}}
}

// Fragmented reports whether the set holds a fragment, so that its digest
// is the digest of a list rather than of desired.yaml's bytes.
func (s *Set) Fragmented() bool {
	return len(s.Files) > 1 || len(s.Files) == 1 && s.Files[0].Name != DesiredName
}

// Digest names the content of the set (see the package documentation for
// the exact encoding). It is "" for an empty set.
func (s *Set) Digest() string {
	switch {
	case len(s.Files) == 0:
		return ""
	case !s.Fragmented():
		return schema.Digest(s.Files[0].Data)
	}
	lines := make([]string, len(s.Files))
	for i, f := range s.Files {
		lines[i] = f.Name + "\x00" + hexSum(f.Data) + "\n"
	}
	slices.Sort(lines)
	return schema.Digest([]byte(strings.Join(lines, "")))
}

func hexSum(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// Refs lists the files for app.yaml's desired.files: each by its path (its
// name for a copy) and the digest of its bytes.
func (s *Set) Refs() []statusdir.DesiredFile {
	refs := make([]statusdir.DesiredFile, len(s.Files))
	for i, f := range s.Files {
		refs[i] = statusdir.DesiredFile{Path: f.label(), Digest: schema.Digest(f.Data)}
	}
	return refs
}

// Empty lists the files of the set that hold no byte at all: a save that
// truncated a file and has not written it yet looks like this.
func (s *Set) Empty() []string {
	var names []string
	for _, f := range s.Files {
		if len(f.Data) == 0 {
			names = append(names, f.Name)
		}
	}
	return names
}

// Equal reports whether two sets hold the same files with the same bytes.
func (s *Set) Equal(o *Set) bool {
	return slices.EqualFunc(s.Files, o.Files, func(a, b File) bool { return a.Name == b.Name && bytes.Equal(a.Data, b.Data) })
}

func (f File) label() string {
	if f.Path != "" {
		return f.Path
	}
	return f.Name
}

// Parse validates the set, each file on its own and then the merged
// result, and returns the desired state with defaults applied and the
// merged tree (for origins). Errors name each file's path (its name for a
// copy); an error is a schema.Errors with every problem.
func (s *Set) Parse(sch *schema.Schema) (*schema.Desired, *schema.Merged, error) {
	layers := make([]schema.Layer, len(s.Files))
	for i, f := range s.Files {
		layers[i] = schema.Layer{File: f.label(), Data: f.Data}
	}
	if len(layers) == 0 {
		layers = []schema.Layer{{File: DesiredName}}
	}
	return sch.ParseLayers(layers)
}

// Validate is Parse, then the checks of the files the desired state names
// on this machine (schema.CheckFiles: vm.caCerts).
func (s *Set) Validate(sch *schema.Schema) (*schema.Desired, *schema.Merged, error) {
	d, m, err := s.Parse(sch)
	if err == nil {
		err = m.CheckFiles(d)
	}
	if err != nil {
		return nil, nil, err
	}
	return d, m, nil
}

// With returns a copy of the set with the file name holding data, added in
// its place if the set has no such file: the set as it will be once a
// write of that file is done.
func (s *Set) With(name, path string, data []byte) *Set {
	out := &Set{Files: slices.Clone(s.Files)}
	for i, f := range out.Files {
		if f.Name == name {
			out.Files[i].Data = data
			return out
		}
	}
	out.Files = append(out.Files, File{Name: name, Path: path, Data: data})
	slices.SortStableFunc(out.Files, func(a, b File) int { return compareNames(a.Name, b.Name) })
	return out
}

// compareNames orders files as they apply: desired.yaml first, then the
// fragments by name.
func compareNames(a, b string) int {
	switch {
	case a == b:
		return 0
	case a == DesiredName:
		return -1
	case b == DesiredName:
		return 1
	}
	return strings.Compare(a, b)
}
