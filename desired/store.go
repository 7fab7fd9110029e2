package desired

import (
	"bytes"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/rddproject/rdd/home"
)

// Marshal renders the set as one YAML document holding every file byte for
// byte, with the set's digest: the daemon's copy of the state in force
// (run/applied.yaml) and a history entry keep a set this way.
func (s *Set) Marshal() ([]byte, error) {
	doc := stored{Digest: s.Digest()}
	for _, f := range s.Files {
		// Double-quoted, with escapes: the one style that gives back every
		// byte sequence (a block scalar cannot start with a tab or keep
		// trailing blanks).
		content := yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Style: yaml.DoubleQuotedStyle, Value: string(f.Data)}
		doc.Files = append(doc.Files, storedFile{Name: f.Name, Content: content})
	}
	var buf bytes.Buffer
	buf.WriteString("# A desired state of rdd, every file byte for byte (written by rdd; do not edit).\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encode desired set: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode desired set: %w", err)
	}
	return buf.Bytes(), nil
}

// Unmarshal reads what Marshal wrote, checking that the files give the
// digest recorded with them. A plain desired file, as daemons before
// fragments wrote run/applied.yaml, is read as the set of that one file.
func Unmarshal(data []byte) (*Set, error) {
	var probe map[string]any
	if err := yaml.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("decode desired set: %w", err)
	}
	if _, ok := probe["files"]; !ok || probe["digest"] == nil {
		// Not a stored set: a desired file has no top-level digest or
		// files (the schema is closed).
		return &Set{Files: []File{{Name: DesiredName, Data: data}}}, nil
	}
	var doc struct {
		Digest string `yaml:"digest"`
		Files  []struct {
			Name    string `yaml:"name"`
			Content string `yaml:"content"`
		} `yaml:"files"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("decode desired set: %w", err)
	}
	set := &Set{}
	for _, f := range doc.Files {
		if !validName(f.Name) {
			return nil, fmt.Errorf("decode desired set: %q is not the name of a desired file or fragment", f.Name)
		}
		set.Files = append(set.Files, File{Name: f.Name, Data: []byte(f.Content)})
	}
	if got := set.Digest(); got != doc.Digest {
		return nil, fmt.Errorf("decode desired set: its files give digest %s, not the %s recorded", got, doc.Digest)
	}
	return set, nil
}

// validName reports whether name can be the name of a file of a Set: a
// stored set never names a path outside the home.
func validName(name string) bool {
	base, ok := strings.CutPrefix(name, home.FragmentDir+"/")
	return name == DesiredName || ok && IsFragment(base) && !strings.ContainsAny(base, `/\`)
}

type stored struct {
	Digest string       `yaml:"digest"`
	Files  []storedFile `yaml:"files"`
}

type storedFile struct {
	Name    string    `yaml:"name"`
	Content yaml.Node `yaml:"content"`
}
