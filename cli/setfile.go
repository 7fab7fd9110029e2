package cli

import (
	"fmt"
	"path/filepath"

	"go.yaml.in/yaml/v3"

	"github.com/rddproject/rdd/desired"
	"github.com/rddproject/rdd/home"
	"github.com/rddproject/rdd/schema"
)

// setFile is the file an rdd set edits, desired.yaml or a fragment of
// desired.d/, and the desired state it is part of.
type setFile struct {
	path   string // the file as the user names it (errors, messages)
	name   string // its name in the desired set (desired.DesiredName, desired.d/NAME.yaml)
	target string // what is written: path, or the final target of its symlinks
	// set is the desired state as read before the edit, to validate the
	// edit merged with the other files; nil when it cannot be read, and
	// the file is then validated alone.
	set *desired.Set
}

// resolveSetFile picks the file of `rdd set --file FILE` (desired.yaml
// when FILE is ""): a path relative to the home or absolute, naming the
// desired file or a fragment of desired.d/.
func resolveSetFile(h home.Home, file string) (setFile, error) {
	f := setFile{path: h.Desired, name: desired.DesiredName}
	if file != "" {
		p := file
		if !filepath.IsAbs(p) {
			p = filepath.Join(h.Dir, p)
		}
		p = filepath.Clean(p)
		switch {
		case p == h.Desired:
		case filepath.Dir(p) == h.Fragments() && desired.IsFragment(filepath.Base(p)):
			f.path, f.name = p, desired.FragmentName(filepath.Base(p))
		default:
			return setFile{}, withCode(ExitUsage, fmt.Errorf("--file %q is neither %s nor a fragment %s", file, h.Desired, filepath.Join(h.Fragments(), "NAME.yaml")),
				"give a fragment of desired.d/ such as --file desired.d/20-work.yaml (a .yaml name not starting with a dot)")
		}
	}
	target, err := desiredTarget(f.path)
	if err != nil {
		return setFile{}, err
	}
	f.target = target
	if set, err := desired.Read(desired.SourceOf(h)); err == nil {
		f.set = set
	}
	return f, nil
}

// check validates the file's new bytes: merged with the rest of the
// desired state when it could be read (each file alone, then the result),
// else alone.
func (f setFile) check(data []byte) error {
	_, err := f.parse(data)
	return err
}

// parse is check, returning the desired state the edit gives.
func (f setFile) parse(data []byte) (*schema.Desired, error) {
	if f.set == nil {
		return schema.Default().Parse(f.path, data)
	}
	d, _, err := f.with(data).Parse(schema.Default())
	return d, err
}

// with is the desired state once data is written.
func (f setFile) with(data []byte) *desired.Set {
	if f.set == nil {
		return desired.Single(f.path, data)
	}
	return f.set.With(f.name, f.path, data)
}

// overridden names, for each changed key that a later file sets too, the
// file:line that wins: the edit is written but changes nothing there.
func (f setFile) overridden(data []byte, changes []change) []string {
	if f.set == nil || !f.set.Fragmented() && f.name == desired.DesiredName {
		return nil
	}
	set := f.with(data)
	_, m, err := set.Parse(schema.Default())
	if err != nil {
		return nil
	}
	var notes []string
	for _, c := range changes {
		o, ok := m.Origin(c.path)
		if n, isNode := c.value.(*yaml.Node); c.value == nil || isNode && n.Kind == yaml.MappingNode || !ok || o.File == f.path {
			continue // removed, or a mapping that later files may merge into
		}
		notes = append(notes, fmt.Sprintf("%s is set by %s:%d, which applies after %s: this edit does not change it",
			schema.FormatPath(c.path), o.File, o.Line, f.path))
	}
	return notes
}
