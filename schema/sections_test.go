package schema

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// validDocs are the valid documents the section tests run on: the
// examples, an empty file, and documents that lean on defaults computed
// from other fields.
func validDocs(t *testing.T) map[string][]byte {
	t.Helper()
	docs := map[string][]byte{
		"empty":        nil,
		"host":         []byte("running: true\nvm: {driver: host}\n"),
		"mountType":    []byte("vm: {type: vz}\n"),
		"hostPort":     []byte("vm:\n  portForwards:\n    - {guestPort: 80}\n"),
		"declared":     []byte("containers:\n  web:\nvolumes:\n  data: {}\n"),
		"engineConfig": []byte("containerEngine:\n  config: {max-concurrent-downloads: 6, debug: true, a: [1, 2.5, x]}\n"),
	}
	paths, err := filepath.Glob("../examples/*.yaml")
	dotfiles, _ := filepath.Glob("../examples/*/*.yaml")
	paths = append(paths, dotfiles...)
	if err != nil || len(paths) == 0 {
		t.Fatalf("examples: %v (%d files)", err, len(paths))
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		docs[p] = data
	}
	return docs
}

// The fast path (each section unified alone, remembered) gives exactly
// what one unification of the whole document gives, on every OS's
// schema, the first time and when remembered.
func TestSectionsMatchWholeDocument(t *testing.T) {
	for _, goos := range []string{"linux", "darwin", "windows"} {
		s, err := New(goos)
		if err != nil {
			t.Fatal(err)
		}
		for name, data := range validDocs(t) {
			doc, err := parseYAML(name, data)
			if err != nil {
				t.Fatal(err)
			}
			s.mu.Lock()
			w := &walker{s: s, file: name, budget: maxNodes}
			val := w.document(doc)
			if len(w.errs) > 0 {
				s.mu.Unlock()
				t.Fatalf("%s: %v", name, w.errs)
			}
			whole, err := s.decode(name, doc, val)
			s.mu.Unlock()
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			for _, round := range []string{"first", "remembered"} {
				got, err := s.Parse(name, data)
				if err != nil {
					t.Fatalf("%s %s %s: %v", goos, name, round, err)
				}
				if !reflect.DeepEqual(got, whole) {
					t.Errorf("%s %s %s: fast path\n%+v\nwhole document\n%+v", goos, name, round, got, whole)
				}
			}
		}
	}
}

// A remembered section is copied out: changing what Parse returned does
// not change what the next Parse of the same bytes returns.
func TestSectionsAreCopies(t *testing.T) {
	s := Default()
	data, err := os.ReadFile("../examples/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.Parse("full.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	want, err := s.Parse("full.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	first.VM.Env["TZ"] = "changed"
	first.VM.Mounts[0].Location = "changed"
	first.VM.Image.Location = "changed"
	first.ContainerEngine.Config["log-driver"] = "changed"
	delete(first.Containers, "web")
	got, err := s.Parse("full.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after changing an earlier result:\n%+v\nwant\n%+v", got, want)
	}
}

// A value remembered as valid never lets another value through: the key
// tells 4 from 4.0 and "4", and the error is the one a fresh schema gives.
func TestSectionsKeyByKind(t *testing.T) {
	s, err := New("linux")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Parse("a.yaml", []byte("vm: {cpus: 4}\n")); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"vm: {cpus: 4.0}\n", "vm: {cpus: \"4\"}\n", "vm: {cpus: 4, memory: 4}\n"} {
		fresh, err := New("linux")
		if err != nil {
			t.Fatal(err)
		}
		_, want := fresh.Parse("a.yaml", []byte(bad))
		_, got := s.Parse("a.yaml", []byte(bad))
		var errs Errors
		if !errors.As(got, &errs) || want == nil || got.Error() != want.Error() {
			t.Errorf("%q: got %v, want %v", bad, got, want)
		}
	}
}
