package desired

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rddproject/rdd/schema"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func names(s *Set) string {
	var out []string
	for _, f := range s.Files {
		out = append(out, f.Name)
	}
	return strings.Join(out, " ")
}

func TestRead(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, home string)
		want  string // names read, or "error: " and a substring
	}{{
		name:  "desired.yaml alone, desired.d missing",
		setup: func(t *testing.T, home string) { write(t, home+"/desired.yaml", "running: true\n") },
		want:  "desired.yaml",
	}, {
		name: "fragments in lexical order, other names ignored",
		setup: func(t *testing.T, home string) {
			write(t, home+"/desired.yaml", "running: true\n")
			for _, n := range []string{"20-work.yaml", "10-base.yaml", "9-late.yaml", ".hidden.yaml", ".20-work.yaml.swp",
				"20-work.yaml~", ".#20-work.yaml", ".tmp-20-work.yaml-1", "README.md", "x.yml", "old.yaml.bak"} {
				write(t, home+"/desired.d/"+n, "")
			}
		},
		want: "desired.yaml desired.d/10-base.yaml desired.d/20-work.yaml desired.d/9-late.yaml",
	}, {
		name: "desired.yaml missing with a fragment",
		setup: func(t *testing.T, home string) {
			write(t, home+"/desired.d/10-a.yaml", "running: true\n")
		},
		want: "desired.d/10-a.yaml",
	}, {
		name: "a fragment that is a symlink, desired.d a symlink",
		setup: func(t *testing.T, home string) {
			write(t, home+"/dots/rd/10-a.yaml", "running: true\n")
			write(t, home+"/dots/work.yaml", "vm: {cpus: 4}\n")
			if err := os.Symlink("../work.yaml", home+"/dots/rd/20-work.yaml"); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("dots/rd", home+"/desired.d"); err != nil {
				t.Fatal(err)
			}
		},
		want: "desired.d/10-a.yaml desired.d/20-work.yaml",
	}, {
		name: "nothing at all",
		setup: func(t *testing.T, home string) {
			if err := os.Mkdir(home+"/desired.d", 0o755); err != nil {
				t.Fatal(err)
			}
		},
		want: "error: desired.yaml:1:1: does not exist; create it with `rdd init`",
	}, {
		name:  "desired.d is a file",
		setup: func(t *testing.T, home string) { write(t, home+"/desired.d", "running: true\n") },
		want:  "error: desired.d:1:1: is not a directory; desired.d holds fragments",
	}, {
		name: "a fragment that is a directory",
		setup: func(t *testing.T, home string) {
			if err := os.MkdirAll(home+"/desired.d/10-a.yaml", 0o755); err != nil {
				t.Fatal(err)
			}
		},
		want: "error: desired.d/10-a.yaml:1:1: is a directory",
	}, {
		name: "a dangling fragment symlink",
		setup: func(t *testing.T, home string) {
			write(t, home+"/desired.yaml", "")
			if err := os.MkdirAll(home+"/desired.d", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("../gone.yaml", home+"/desired.d/10-a.yaml"); err != nil {
				t.Fatal(err)
			}
		},
		want: `error: desired.d/10-a.yaml:1:1: is a symlink to "../gone.yaml", which does not exist`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			home := t.TempDir()
			tc.setup(t, home)
			set, err := Read(Source{Desired: home + "/desired.yaml", Fragments: home + "/desired.d"})
			got := ""
			if err != nil {
				got = "error: " + strings.ReplaceAll(err.Error(), home+"/", "")
				if strings.Contains(tc.want, "does not exist; create") && !errors.Is(err, ErrMissing) {
					t.Errorf("error %v does not wrap ErrMissing", err)
				}
			} else {
				got = names(set)
			}
			if !strings.HasPrefix(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// The single-file digest is DESIGN section 2's, whether desired.d is
// missing or empty; with fragments it is the documented encoding, which
// the shell recipe of the package documentation reproduces.
func TestDigest(t *testing.T) {
	home := t.TempDir()
	src := Source{Desired: home + "/desired.yaml", Fragments: home + "/desired.d"}
	base := "running: true\nvm: {driver: host}\n"
	write(t, src.Desired, base)
	single := schema.Digest([]byte(base))
	if got := Digest(src); got != single {
		t.Errorf("desired.d missing: %s, want %s", got, single)
	}
	write(t, src.Fragments+"/README.md", "not a fragment")
	if got := Digest(src); got != single {
		t.Errorf("desired.d without fragments: %s, want %s", got, single)
	}
	write(t, src.Fragments+"/20-work.yaml", "vm: {cpus: 4}\n")
	write(t, src.Fragments+"/10-base.yaml", "")
	sum := func(s string) string { b := sha256.Sum256([]byte(s)); return hex.EncodeToString(b[:]) }
	list := "desired.d/10-base.yaml\x00" + sum("") + "\n" +
		"desired.d/20-work.yaml\x00" + sum("vm: {cpus: 4}\n") + "\n" +
		"desired.yaml\x00" + sum(base) + "\n"
	want := "sha256:" + sum(list)
	if got := Digest(src); got != want {
		t.Errorf("with fragments: %s, want %s", got, want)
	}
	script := `cd "$1" && for f in desired.d/*.yaml desired.yaml; do printf '%s\0%s\n' "$f" "$(sha256sum < "$f" | cut -d' ' -f1)"; done | LC_ALL=C sort | sha256sum | cut -d' ' -f1`
	if out, err := exec.Command("sh", "-c", script, "sh", home).Output(); err == nil {
		if got := "sha256:" + strings.TrimSpace(string(out)); got != want {
			t.Errorf("shell recipe: %s, want %s", got, want)
		}
	} else if os.Getenv("CI") == "true" {
		t.Errorf("shell recipe: %v", err)
	}
	// A fragment alone (no desired.yaml) is a list of one line.
	if err := os.Remove(src.Desired); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(src.Fragments + "/10-base.yaml"); err != nil {
		t.Fatal(err)
	}
	if got, want := Digest(src), "sha256:"+sum("desired.d/20-work.yaml\x00"+sum("vm: {cpus: 4}\n")+"\n"); got != want {
		t.Errorf("a fragment alone: %s, want %s", got, want)
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	tricky := []string{
		"running: true\n",
		"",
		"no final newline",
		"trailing spaces   \n\n\n",
		"\ufeffbom: 1\r\nvm:\r\n  cpus: 2\r\n",
		"\ttab\n  # comment\n'quotes' \"and\" \\ backslash\n",
		"  leading blanks\n",
		"ünïcødé: ✓\n",
		"---\n...\n",
	}
	set := &Set{}
	for i, c := range tricky {
		name := DesiredName
		if i > 0 {
			name = FragmentName(fmt.Sprintf("%02d.yaml", i))
		}
		set.Files = append(set.Files, File{Name: name, Data: []byte(c)})
	}
	data, err := set.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Unmarshal(data)
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if !got.Equal(set) || got.Digest() != set.Digest() {
		t.Fatalf("round trip changed the set:\n%s", data)
	}
	// A plain desired file (what older daemons kept) is a set of one.
	old, err := Unmarshal([]byte("running: true\n"))
	if err != nil || names(old) != DesiredName || old.Digest() != schema.Digest([]byte("running: true\n")) {
		t.Fatalf("plain file: %v %+v", err, old)
	}
	// A stored set never names a file outside the home.
	bad := strings.Replace(string(data), "desired.d/01.yaml", "../../etc/passwd", 1)
	if _, err := Unmarshal([]byte(bad)); err == nil {
		t.Fatal("a name outside the home was accepted")
	}
}

func TestWith(t *testing.T) {
	set := &Set{Files: []File{{Name: DesiredName, Data: []byte("a")}, {Name: FragmentName("20.yaml"), Data: []byte("b")}}}
	if got := names(set.With(FragmentName("10.yaml"), "", []byte("c"))); got != "desired.yaml desired.d/10.yaml desired.d/20.yaml" {
		t.Errorf("added: %s", got)
	}
	if got := string(set.With(FragmentName("20.yaml"), "", []byte("d")).Files[1].Data); got != "d" || string(set.Files[1].Data) != "b" {
		t.Errorf("replaced: %s, original now %s", got, set.Files[1].Data)
	}
	only := &Set{Files: []File{{Name: FragmentName("20.yaml"), Data: []byte("b")}}}
	if got := names(only.With(DesiredName, "", []byte("a"))); got != "desired.yaml desired.d/20.yaml" {
		t.Errorf("desired.yaml added: %s", got)
	}
}
