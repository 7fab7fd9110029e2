package desiredit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/rddproject/rdd/schema"
)

// edit applies "path=value" changes the way rdd set does: true/false are
// booleans, digits numbers, an empty value deletes, a value starting with
// [ or { a YAML flow collection, anything else (or a value in single
// quotes) is a string.
func edit(t testing.TB, in string, changes ...string) (string, error) {
	t.Helper()
	d, err := Parse([]byte(in))
	if err != nil {
		return "", err
	}
	for _, c := range changes {
		k, v, _ := strings.Cut(c, "=")
		path, err := schema.ParsePath(k)
		if err != nil {
			t.Fatal(err)
		}
		var val any = v
		switch {
		case v == "":
			if _, err := d.Delete(path); err != nil {
				return "", err
			}
			continue
		case v == "true" || v == "false":
			val = v == "true"
		case strings.HasPrefix(v, "'"):
			val = strings.Trim(v, "'")
		case strings.HasPrefix(v, "[") || strings.HasPrefix(v, "{"):
			n, err := flowNode(v)
			if err != nil {
				t.Fatal(err)
			}
			val = n
		default:
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				val = n
			}
		}
		if err := d.Set(path, val); err != nil {
			return "", err
		}
	}
	return string(d.Bytes()), nil
}

func TestEdit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		changes []string
		want    string
	}{
		{
			name:    "replace keeps comments, spacing and order",
			in:      "# head\nrunning: false   # off for now\n\nvm:\n  # the VM\n  cpus: 2 # two\n  memory: 4GiB\n",
			changes: []string{"vm.cpus=4", "running=true"},
			want:    "# head\nrunning: true   # off for now\n\nvm:\n  # the VM\n  cpus: 4 # two\n  memory: 4GiB\n",
		},
		{
			name:    "quoting style kept",
			in:      "vm:\n  memory: \"4GiB\"\n  disk: '100GiB'\n",
			changes: []string{"vm.memory=8GiB", "vm.disk=200GiB"},
			want:    "vm:\n  memory: \"8GiB\"\n  disk: '200GiB'\n",
		},
		{
			name:    "a string YAML would misread is quoted",
			in:      "kubernetes:\n  version: v1\ncontainerEngine: {socket: x}\n",
			changes: []string{"kubernetes.version='1.30'", "containerEngine.socket='~'"},
			want:    "kubernetes:\n  version: \"1.30\"\ncontainerEngine: {socket: \"~\"}\n",
		},
		{
			name:    "flow mapping value",
			in:      "containers:\n  web: {state: running}   # the site\n  db: {state: running}\n",
			changes: []string{"containers.web.state=stopped"},
			want:    "containers:\n  web: {state: stopped}   # the site\n  db: {state: running}\n",
		},
		{
			name:    "add a key to a block mapping, after its trailing comments",
			in:      "vm:\n  cpus: 2\n  # memory: 8GiB\n\n# containers below\ncontainers: {}\n",
			changes: []string{"vm.disk=200GiB"},
			want:    "vm:\n  cpus: 2\n  # memory: 8GiB\n  disk: 200GiB\n\n# containers below\ncontainers: {}\n",
		},
		{
			name:    "add a key to a flow mapping",
			in:      "vm: {driver: host}\ncontainers: {}\n",
			changes: []string{"vm.cpus=3", "containers.web.state=paused"},
			want:    "vm: {driver: host, cpus: 3}\ncontainers: {web: {state: paused}}\n",
		},
		{
			name:    "add a nested mapping at the root",
			in:      "running: true\n",
			changes: []string{"kubernetes.enabled=true"},
			want:    "running: true\nkubernetes:\n  enabled: true\n",
		},
		{
			name:    "new entry follows its siblings' flow style",
			in:      "containers:\n  web: {state: running}\n",
			changes: []string{"containers.db.state=stopped"},
			want:    "containers:\n  web: {state: running}\n  db: {state: stopped}\n",
		},
		{
			name:    "new entry in block style, with the file's indentation step",
			in:      "vm:\n    cpus: 2\ncontainers:\n    web:\n        state: running\n",
			changes: []string{"containers.db.state=stopped", "volumes.data.state=present"},
			want:    "vm:\n    cpus: 2\ncontainers:\n    web:\n        state: running\n    db:\n        state: stopped\nvolumes:\n    data:\n        state: present\n",
		},
		{
			name:    "quoted keys with dots, slashes and colons",
			in:      "images:\n  \"busybox:1.36\": {state: present}\n",
			changes: []string{`images."busybox:1.36".state=absent`, `images."ghcr.io/x/y:1".state=absent`},
			want:    "images:\n  \"busybox:1.36\": {state: absent}\n  \"ghcr.io/x/y:1\": {state: absent}\n",
		},
		{
			name:    "a null mapping gets lines below it",
			in:      "vm:   # defaults for now\nrunning: true\n",
			changes: []string{"vm.cpus=4"},
			want:    "vm:   # defaults for now\n  cpus: 4\nrunning: true\n",
		},
		{
			name:    "an explicit null mapping",
			in:      "vm: ~\n",
			changes: []string{"vm.cpus=4"},
			want:    "vm:\n  cpus: 4\n",
		},
		{
			name:    "a null value",
			in:      "vm:\n  cpus:\n  memory: 4GiB\n",
			changes: []string{"vm.cpus=4"},
			want:    "vm:\n  cpus: 4\n  memory: 4GiB\n",
		},
		{
			name:    "an empty file",
			in:      "",
			changes: []string{"running=true", "vm.driver=host"},
			want:    "running: true\nvm:\n  driver: host\n",
		},
		{
			name:    "a file of comments, without a final newline",
			in:      "# nothing yet",
			changes: []string{"running=true"},
			want:    "# nothing yet\nrunning: true\n",
		},
		{
			name:    "delete from a block mapping, with its comment and nested lines",
			in:      "running: true\nvm:\n  cpus: 4   # four\n  memory: 8GiB\ncontainers:\n  web:\n    state: stopped\n  db: {state: running}\n",
			changes: []string{"vm.cpus=", "containers.web="},
			want:    "running: true\nvm:\n  memory: 8GiB\ncontainers:\n  db: {state: running}\n",
		},
		{
			name:    "delete from a flow mapping: first, middle, last, only",
			in:      "a: {x: 1, y: 2, z: 3}\nb: {x: 1, y: 2}\nc: {x: 1}\n",
			changes: []string{"a.y=", "a.x=", "b.y=", "c.x="},
			want:    "a: {z: 3}\nb: {x: 1}\nc: {}\n",
		},
		{
			name:    "delete a missing key is a no-op",
			in:      "vm: {cpus: 2}\n",
			changes: []string{"vm.memory=", "kubernetes.enabled="},
			want:    "vm: {cpus: 2}\n",
		},
		{
			name:    "multi-line plain and block scalars are replaced whole",
			in:      "vm:\n  image:\n    cmdline: root=/dev/vda\n      console=ttyS0\n    kernel: |\n      /k\n\n  cpus: 2\n",
			changes: []string{"vm.image.cmdline=quiet", "vm.image.kernel=/boot/k"},
			want:    "vm:\n  image:\n    cmdline: quiet\n    kernel: /boot/k\n\n  cpus: 2\n",
		},
		{
			name:    "CRLF line endings stay",
			in:      "running: false\r\nvm:\r\n  cpus: 2\r\n",
			changes: []string{"running=true", "vm.memory=8GiB", "vm.cpus="},
			want:    "running: true\r\nvm:\r\n  memory: 8GiB\r\n",
		},
		{
			name:    "a byte order mark stays",
			in:      "\uFEFFrunning: false\n",
			changes: []string{"running=true"},
			want:    "\uFEFFrunning: true\n",
		},
		{
			name:    "non-ASCII text before the value",
			in:      "volumes:\n  v: {labels: {été: 'chaud', b: x}}\n",
			changes: []string{"volumes.v.labels.été=froid", "volumes.v.labels.b='a, b'"},
			want:    "volumes:\n  v: {labels: {été: 'froid', b: \"a, b\"}}\n",
		},
		{
			name:    "a tagged scalar loses its tag",
			in:      "kubernetes: {version: !!str 1.30}\n",
			changes: []string{"kubernetes.version='1.31'"},
			want:    "kubernetes: {version: \"1.31\"}\n",
		},
		{
			name:    "multi-line flow mapping",
			in:      "vm: {\n  cpus: 2,  # two\n  memory: 4GiB\n}\n",
			changes: []string{"vm.disk=1TiB", "vm.cpus="},
			want:    "vm: {\n  memory: 4GiB, disk: 1TiB\n}\n",
		},
		{
			name:    "a trailing comma in a flow mapping",
			in:      "vm: {cpus: 2, }\n",
			changes: []string{"vm.disk=1TiB"},
			want:    "vm: {cpus: 2, disk: 1TiB }\n",
		},
		{
			name:    "a key that would read as a number is quoted",
			in:      "containers: {}\n",
			changes: []string{"containers.1.state=running"},
			want:    "containers: {\"1\": {state: running}}\n",
		},
		{
			name:    "spaces before the colon, a tab after it, a quoted key",
			in:      "vm :\t{cpus : 2}\n\"running\": false\n",
			changes: []string{"vm.cpus=3", "running=true", "vm.disk=1TiB"},
			want:    "vm :\t{cpus : 3, disk: 1TiB}\n\"running\": true\n",
		},
		{
			name:    "a null entry of a flow mapping",
			in:      "containers: {web: , db: ~}\n",
			changes: []string{"containers.web.state=stopped", "containers.db.state=paused"},
			want:    "containers: {web: {state: stopped}, db: {state: paused}}\n",
		},
		{
			name:    "CRLF below a null mapping",
			in:      "vm:\r\nrunning: true\r\n",
			changes: []string{"vm.cpus=4"},
			want:    "vm:\r\n  cpus: 4\r\nrunning: true\r\n",
		},
		{
			name:    "root of flow mappings only: a new entry in flow style",
			in:      "running: true\nvm: {driver: host}\n",
			changes: []string{"kubernetes.enabled=true"},
			want:    "running: true\nvm: {driver: host}\nkubernetes: {enabled: true}\n",
		},
		{
			name:    "remove an entry whose value is a block list",
			in:      "vm:\n  mounts:\n    - location: /a\n      writable: true   # rw\n  cpus: 2\n",
			changes: []string{"vm.mounts="},
			want:    "vm:\n  cpus: 2\n",
		},
		{
			name:    "remove the last entry of a block mapping leaves it null",
			in:      "vm:\n  cpus: 2\nrunning: true\n",
			changes: []string{"vm.cpus="},
			want:    "vm:\nrunning: true\n",
		},
		{
			name:    "setting the same value writes the same bytes",
			in:      "running: true  # yes\n",
			changes: []string{"running=true"},
			want:    "running: true  # yes\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := edit(t, tc.in, tc.changes...)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// flowNode parses a flow collection the way a test gives one.
func flowNode(v string) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(v), &doc); err != nil {
		return nil, fmt.Errorf("flow value %q: %w", v, err)
	}
	if len(doc.Content) != 1 {
		return nil, fmt.Errorf("flow value %q: no value", v)
	}
	return doc.Content[0], nil
}

// Lists and mappings are written in flow style, on the line of their key,
// whatever they replace; everything else stays.
func TestEditFlow(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		changes []string
		want    string
	}{
		{
			name:    "a block list: its lines go, the comment on the key's line stays",
			in:      "vm:\n  mounts:   # dirs\n    # home\n    - location: \"~\"\n      writable: false   # ro\n  cpus: 2   # two\n",
			changes: []string{"vm.mounts=[{location: ~/src, writable: true}]"},
			want:    "vm:\n  mounts: [{location: ~/src, writable: true}]   # dirs\n  cpus: 2   # two\n",
		},
		{
			name:    "a block list at its key's indentation, at the end of a file without a final newline",
			in:      "mounts:\n- a\n- b\nx: 1\nvm:\n  mounts:\n    - location: /a",
			changes: []string{"mounts=[c]", "vm.mounts=[{location: /b}]"},
			want:    "mounts: [c]\nx: 1\nvm:\n  mounts: [{location: /b}]\n",
		},
		{
			name:    "a block mapping, with comment lines inside; a comment line after it stays",
			in:      "containers:\n  # the site\n  web:\n    state: running\n  db: {state: stopped}   # db\n# after\nimages: {}\n",
			changes: []string{"containers={web: {state: paused}}"},
			want:    "containers: {web: {state: paused}}\n# after\nimages: {}\n",
		},
		{
			name:    "a flow list and a flow mapping, in a flow mapping and in a block one",
			in:      "vm: {mounts: [{location: /a}], cpus: 2}   # vm\ncontainers:\n  web: {state: running}   # site\n",
			changes: []string{"vm.mounts=[]", "containers.web={state: stopped}"},
			want:    "vm: {mounts: [], cpus: 2}   # vm\ncontainers:\n  web: {state: stopped}   # site\n",
		},
		{
			name:    "a multi-line flow list",
			in:      "vm:\n  mounts: [\n    {location: /a},  # a\n    {location: /b}\n  ]\n  cpus: 2\n",
			changes: []string{"vm.mounts=[{location: /c}]"},
			want:    "vm:\n  mounts: [{location: /c}]\n  cpus: 2\n",
		},
		{
			name:    "a null, an explicit null with a comment, a scalar",
			in:      "vm:\n  mounts:\n  cpus: 2\nimages: ~   # none yet\nvolumes: none\n",
			changes: []string{"vm.mounts=[]", `images={"busybox:1.36": {state: absent}}`, "volumes={}"},
			want:    "vm:\n  mounts: []\n  cpus: 2\nimages: {\"busybox:1.36\": {state: absent}}   # none yet\nvolumes: {}\n",
		},
		{
			name:    "a new key, with the mappings on its way",
			in:      "running: true\n",
			changes: []string{`volumes.data.labels={a: b, "x.y/z": "1", t: "true", l: "a, b"}`},
			want:    "running: true\nvolumes:\n  data:\n    labels: {a: b, \"x.y/z\": \"1\", t: \"true\", l: \"a, b\"}\n",
		},
		{
			name:    "a new key in a flow mapping, and in an empty one",
			in:      "vm: {cpus: 2}\ncontainers: {}\n",
			changes: []string{"vm.mounts=[{location: /a, writable: true}]", "containers.web={state: running}"},
			want:    "vm: {cpus: 2, mounts: [{location: /a, writable: true}]}\ncontainers: {web: {state: running}}\n",
		},
		{
			name:    "the value is normalised: one line, plain where it reads the same",
			in:      "vm:\n  cpus: 2\n",
			changes: []string{"vm.mounts=[ {location: '/a'},\n {\"location\": \"~\" , writable: !!bool true} ]"},
			want:    "vm:\n  cpus: 2\n  mounts: [{location: /a}, {location: \"~\", writable: true}]\n",
		},
		{
			name:    "CRLF line endings stay",
			in:      "vm:\r\n  mounts:\r\n    - location: /a\r\n  cpus: 2\r\n",
			changes: []string{"vm.mounts=[{location: /b}]", "containers={web: {state: running}}"},
			want:    "vm:\r\n  mounts: [{location: /b}]\r\n  cpus: 2\r\ncontainers: {web: {state: running}}\r\n",
		},
		{
			name:    "a byte order mark stays",
			in:      "\uFEFFvm:\n  mounts:\n    - location: /a\n",
			changes: []string{"vm.mounts=[{location: /b}]"},
			want:    "\uFEFFvm:\n  mounts: [{location: /b}]\n",
		},
		{
			name:    "the same value in another style: nothing changes",
			in:      "vm:\n  mounts:   # dirs\n    - location: /a\n      writable: true\n",
			changes: []string{"vm.mounts=[{writable: true, location: /a}]"},
			want:    "vm:\n  mounts:   # dirs\n    - location: /a\n      writable: true\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := edit(t, tc.in, tc.changes...)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

func TestEditErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in, change, want string
		layout                 bool
	}{
		{"not a mapping", "vm: 3\n", "vm.cpus=4", `vm (line 1): is "3", not a mapping; it has no key "cpus"`, false},
		{"a mapping is not a value", "vm: {cpus: 2}\n", "vm=4", "vm (line 1): holds a mapping, not a single value", false},
		{"alias", "base: &b {cpus: 2}\nvm: *b\n", "vm.cpus=4", "vm (line 2): is an alias (*b)", false},
		{"anchor", "vm: &b {cpus: 2}\n", "vm.cpus=4", "vm (line 1): is anchored (&b)", false},
		{"scalar document", "hello\n", "running=true", `the document (line 1): is "hello", not a mapping`, false},
		{"list", "vm:\n  mounts:\n    - a\n", "vm.mounts.x=1", `vm.mounts (line 3): is a list, not a mapping`, false},
		{"duplicate keys", "a: 1\na: 2\n", "a=3", `parse YAML`, false},
		{"a tag on a block list", "vm:\n  mounts: !!seq\n    - a\n", "vm.mounts=[b]", `vm.mounts (line 2): has "!!seq" after its colon; edit the file by hand`, false},
		{"an anchored list", "vm:\n  mounts: &m\n    - a\n", "vm.mounts=[b]", `vm.mounts (line 2): is anchored (&m)`, false},
		{"an alias in the value", "vm: {}\n", "vm.mounts=[&a x, *a]", `set vm.mounts: cannot write an alias in a value`, false},
		{"a duplicate key in the value", "vm: {}\n", "vm.image={a: 1, a: 2}", `set vm.image: decode value`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := edit(t, tc.in, tc.change)
			if err == nil || !strings.Contains(err.Error(), tc.want) || errors.Is(err, ErrLayout) != tc.layout {
				t.Fatalf("got %v, want %q (layout %v)", err, tc.want, tc.layout)
			}
		})
	}
}

func TestIsEmpty(t *testing.T) {
	d, err := Parse([]byte("a:\nb: {}\nc: {x: 1}\nd: ~\n"))
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]bool{"a": true, "b": true, "c": false, "d": true, "e": false, "c.x": false} {
		p, _ := schema.ParsePath(path)
		if got := d.IsEmpty(p); got != want {
			t.Errorf("IsEmpty(%s) = %v", path, got)
		}
	}
}

// The template rdd init writes, edited the common ways: every line not
// edited stays as it was.
func TestEditTemplate(t *testing.T) {
	in := `# rdd desired state.

# running: start the VM.
running: false

vm:
  # driver: lima or host.
  driver: lima
  cpus: 2
  # mounts: host directories.
  mounts:
    - location: "~"
      writable: false

containers: {}
#  web: {state: running}      # running | stopped | paused | absent
images: {}
#  "busybox:1.36": {state: absent}   # present | absent
`
	got, err := edit(t, in, "running=true", "vm.memory=8GiB", "containers.web.state=running",
		`images."busybox:1.36".state=absent`, "kubernetes.enabled=true")
	if err != nil {
		t.Fatal(err)
	}
	want := `# rdd desired state.

# running: start the VM.
running: true

vm:
  # driver: lima or host.
  driver: lima
  cpus: 2
  # mounts: host directories.
  mounts:
    - location: "~"
      writable: false
  memory: 8GiB

containers: {web: {state: running}}
#  web: {state: running}      # running | stopped | paused | absent
images: {"busybox:1.36": {state: absent}}
#  "busybox:1.36": {state: absent}   # present | absent
kubernetes:
  enabled: true
`
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// FuzzEdit: no document and no change panics, and an edit that succeeds
// changes exactly what it says (commit checks that; this drives it).
func FuzzEdit(f *testing.F) {
	for _, s := range []string{"", "running: true\n", "vm: {cpus: 2}\n", "vm:\n  cpus: 2 # c\n", "a: 'x'\nb: \"y\"\n",
		"a: |\n  x\nb: 1\n", "a: {b: [1, {c: d}], e: f}\n", "a:\n  - b\n  - c: d\n", "a: &x 1\nb: *x\n", "# c\n\n",
		"vm:\n  mounts:   # m\n    - location: /a\n  cpus: 2\r\n", "a:\n- b\n- c"} {
		f.Add(s, "vm.cpus", "4")
		f.Add(s, "a.b", "")
		f.Add(s, "vm.mounts", "[{location: ~/src, writable: true}]")
		f.Add(s, "a", "{b: [1, \"x: y\"], c: {}}")
		f.Add(s, "a.b", "[]")
	}
	f.Fuzz(func(t *testing.T, in, key, value string) {
		d, err := Parse([]byte(in))
		if err != nil {
			return
		}
		path, err := schema.ParsePath(key)
		if err != nil {
			return
		}
		if value == "" {
			_, _ = d.Delete(path)
			return
		}
		if strings.HasPrefix(value, "[") || strings.HasPrefix(value, "{") {
			if n, err := flowNode(value); err == nil {
				_ = d.Set(path, n)
			}
			return
		}
		_ = d.Set(path, value)
	})
}

// Every example file and the init template take every common change as a
// one-line edit: a value set replaces at most one line, the result
// validates and holds the value set.
func TestEditExamples(t *testing.T) {
	files, err := filepath.Glob("../examples/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	files = append(files, "../examples/dotfiles/desired.yaml", "../cli/templates/desired.yaml")
	changes := []string{"running=false", "vm.cpus=8", "vm.memory=16GiB", "vm.driver=host", "vm.image.cmdline=quiet",
		"containerEngine.socket=/run/d.sock", "kubernetes.enabled=true", "containers.web.state=paused",
		"containers.new.state=stopped", "volumes.pgdata.state=absent", `volumes.scratch.labels."a.b/c"=x`,
		`images."busybox:1.36".state=present`, `images."ghcr.io/x/y:2".state=absent`}
	for _, file := range files {
		in, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range changes {
			t.Run(filepath.Base(filepath.Dir(file))+"/"+filepath.Base(file)+"/"+c, func(t *testing.T) {
				out, err := edit(t, string(in), c)
				if err != nil {
					t.Fatal(err)
				}
				if removed := strings.Count(string(Diff("a", "b", in, []byte(out))), "\n-"); removed > 1 {
					t.Errorf("%d lines replaced:\n%s", removed, Diff("a", "b", in, []byte(out)))
				}
				if strings.HasPrefix(c, "vm.image.cmdline") && !strings.Contains(string(in), "image:") {
					return // an image without a location is invalid; rdd set says so
				}
				if _, err := schema.Default().Parse(file, []byte(out)); err != nil {
					t.Fatalf("result does not validate: %v\n%s", err, out)
				}
				k, v, _ := strings.Cut(c, "=")
				path, _ := schema.ParsePath(k)
				var tree any
				if err := yaml.Unmarshal([]byte(out), &tree); err != nil {
					t.Fatal(err)
				}
				for _, seg := range path {
					tree = tree.(map[string]any)[seg]
				}
				if fmt.Sprint(tree) != v {
					t.Errorf("%s reads back as %v", k, tree)
				}
			})
		}
	}
}

// Every example file and the init template take a list or a mapping set
// in flow syntax: the result validates, holds the value set, and adds no
// more lines than the keys of its path.
func TestEditExamplesFlow(t *testing.T) {
	files, err := filepath.Glob("../examples/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	files = append(files, "../examples/dotfiles/desired.yaml", "../cli/templates/desired.yaml")
	changes := []string{"vm.mounts=[{location: ~/src, writable: true}]", "vm.mounts=[]",
		"containers={web: {state: running}, db: {state: stopped}}", `images={"busybox:1.36": {state: absent}}`,
		`volumes.scratch.labels={a: b, "x.y/z": "1"}`, "containerEngine={name: moby}"}
	for _, file := range files {
		in, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range changes {
			t.Run(filepath.Base(filepath.Dir(file))+"/"+filepath.Base(file)+"/"+c, func(t *testing.T) {
				out, err := edit(t, string(in), c)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := schema.Default().Parse(file, []byte(out)); err != nil {
					t.Fatalf("result does not validate: %v\n%s", err, out)
				}
				k, v, _ := strings.Cut(c, "=")
				path, _ := schema.ParsePath(k)
				var tree, want any
				if err := yaml.Unmarshal([]byte(out), &tree); err != nil {
					t.Fatal(err)
				}
				if err := yaml.Unmarshal([]byte(v), &want); err != nil {
					t.Fatal(err)
				}
				for _, seg := range path {
					tree = tree.(map[string]any)[seg]
				}
				if fmt.Sprint(tree) != fmt.Sprint(want) {
					t.Errorf("%s reads back as %v", k, tree)
				}
				// The value takes one line, and each mapping added on
				// its way one more.
				if added := strings.Count(string(Diff("a", "b", in, []byte(out))), "\n+") - 1; added > len(path) {
					t.Errorf("%d lines added for a path of %d keys:\n%s", added, len(path), Diff("a", "b", in, []byte(out)))
				}
			})
		}
	}
}
