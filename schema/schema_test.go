package schema

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestParseDefaults(t *testing.T) {
	for _, goos := range []struct{ os, vmType string }{{"linux", "qemu"}, {"darwin", "vz"}, {"windows", "wsl2"}} {
		s, err := New(goos.os)
		if err != nil {
			t.Fatal(err)
		}
		d, err := s.Parse("empty.yaml", nil)
		if err != nil {
			t.Fatal(err)
		}
		if d.Running || d.VM.Driver != "lima" || d.VM.CPUs != 2 || d.VM.Memory != "4GiB" || d.VM.Disk != "100GiB" ||
			d.VM.Type != goos.vmType || len(d.VM.Mounts) != 1 || d.VM.Mounts[0].Location != "~" ||
			d.ContainerEngine.Name != "moby" || d.Kubernetes.Enabled {
			t.Errorf("%s defaults: %+v", goos.os, d)
		}
	}
}

func TestParseValues(t *testing.T) {
	in := `running: true
vm: {cpus: 8, memory: 16GiB, driver: host, mounts: []}
containers: {web: {state: paused}, db: }
volumes: {My_Vol_Ume: {labels: {a: b}}}
images: {"ghcr.io/x/y:1": {state: absent}}
kubernetes: {enabled: true, version: v1.30.0}
`
	d, err := Default().Parse("d.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%v %s %d %s %d %s %s %s %s %v", d.Running, d.VM.Driver, d.VM.CPUs, d.VM.Memory, len(d.VM.Mounts),
		d.Containers["web"].State, d.Containers["db"].State, d.Volumes["My_Vol_Ume"].State,
		d.Images["ghcr.io/x/y:1"].State, d.Kubernetes.Enabled)
	want := "true host 8 16GiB 0 paused running present absent true"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// The message of DESIGN.md section 2, to the letter.
func ExampleSchema_Parse() {
	_, err := Default().Parse("desired.yaml", []byte("running: true\nvm:\n  cpus: 2\ncontainers:\n  db: {state: stopped}\n  web: {state: runing}\n"))
	fmt.Println(err)
	// Output:
	// desired.yaml:6:16: containers.web.state: "runing" is not one of running, stopped, paused, absent
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"vm: {memroy: 4GiB}", `d.yaml:1:6: vm.memroy: unknown field "memroy" (did you mean "memory"?`},
		{"vm: {cpu: 4}", `vm.cpu: unknown field "cpu" (did you mean "cpus"?`},
		{"runing: true", `runing: unknown field "runing" (did you mean "running"?`},
		{"vm: {zzz: 1}", `vm.zzz: unknown field "zzz" (allowed: driver, cpus`},
		{"vm: {cpus: 257}", `vm.cpus: 257 is out of range (allowed: a whole number from 1 to 256)`},
		{"vm: {cpus: '4'}", `vm.cpus: expected a whole number from 1 to 256, got "4"`},
		{"vm: {cpus: 99999999999999999999999}", `vm.cpus: expected a whole number from 1 to 256, got 99999999999999999999999`},
		{"vm: {disk: 0GiB}", `vm.disk: "0GiB" is not valid (expected a whole number followed by MiB, GiB or TiB`},
		{"vm: {memory: 4gib}", `vm.memory: "4gib" is not valid`},
		{"vm: {memory: 4096}", `vm.memory: expected a whole number followed by MiB, GiB or TiB, e.g. 4GiB, got 4096`},
		{"vm: {rosetta: on}", `vm.rosetta: expected true or false, got the string "on" (write true or false)`},
		{"vm: {mounts: {location: /x}}", `vm.mounts: expected a list, got a mapping`},
		{"vm: 3", `vm: expected a mapping, got 3`},
		{"containers: {web: stopped}", `containers.web: expected a mapping, got "stopped"`},
		{"volumes: {v: {state: running}}", `volumes.v.state: "running" is not one of present, absent`},
		{"volumes: {v: {labels: {a: 1}}}", `volumes.v.labels.a: expected a string, got 1`},
		{"images: {BusyBox: {}}", `images.BusyBox: "BusyBox" is not a valid name (expected an image reference`},
		{"vm: {cpus: .inf}", `vm.cpus: .inf is not a usable number`},
		{"vm: {cpus: !!binary aGk=}", `vm.cpus: YAML tag !!binary is not supported`},
		{"? [a]\n: 1", `a key must be a plain string`},
		{"\"\\x01\": 1", `"\x01": unknown field "\x01"`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			_, err := Default().Parse("d.yaml", []byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got  %v\nwant %s", err, tc.want)
			}
			for _, e := range AsErrors(err) {
				if e.Line < 1 || e.Column < 1 || e.File != "d.yaml" {
					t.Errorf("error without a position: %+v", e)
				}
			}
		})
	}
}

// An alias bomb of the schema's own shape: each of 300 volumes aliases one
// label map of 1,000 entries (300,000 nodes from a 20 kB file). The walk
// must stop at its cap with one error.
func TestAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("volumes:\n  v0:\n    labels: &m\n")
	for i := range 1000 {
		fmt.Fprintf(&b, "      k%d: v\n", i)
	}
	for i := 1; i < 300; i++ {
		fmt.Fprintf(&b, "  v%d: {labels: *m}\n", i)
	}
	_, err := Default().Parse("bomb.yaml", []byte(b.String()))
	es := AsErrors(err)
	if len(es) != 1 || !strings.Contains(es[0].Msg, "too many nodes after expanding anchors and aliases") {
		t.Fatalf("got %v", err)
	}
}

func TestReadFilePermission(t *testing.T) {
	if os.Geteuid() == 0 {
		// root reads any file, so the real case cannot be produced; check
		// the wording from the error the kernel would give instead.
		msg := statMessage("d.yaml", &fs.PathError{Op: "open", Path: "d.yaml", Err: syscall.EACCES})
		if msg != "cannot be read: permission denied; check its owner and mode (`ls -l`)" {
			t.Fatalf("got %q", msg)
		}
		return
	}
	p := filepath.Join(t.TempDir(), "d.yaml")
	if err := os.WriteFile(p, []byte("running: true\n"), 0o000); err != nil {
		t.Fatal(err)
	}
	_, err := ReadFile(p)
	var e *Error
	if !errors.As(err, &e) || !strings.Contains(e.Msg, "permission denied") {
		t.Fatalf("got %v", err)
	}
}

func TestParsePath(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  bool
	}{
		{"vm.cpus", []string{"vm", "cpus"}, false},
		{"running", []string{"running"}, false},
		{`images."ghcr.io/x/y:1".state`, []string{"images", "ghcr.io/x/y:1", "state"}, false},
		{`containers."a\"b".state`, []string{"containers", `a"b`, "state"}, false},
		{`a."b.c"`, []string{"a", "b.c"}, false},
		{"", nil, true},
		{"a..b", nil, true},
		{"a.", nil, true},
		{".a", nil, true},
		{`a."b`, nil, true},
		{`a.""`, nil, true},
		{`a."b"c`, nil, true},
	} {
		got, err := ParsePath(tc.in)
		if (err != nil) != tc.err || fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("ParsePath(%q) = %q, %v", tc.in, got, err)
		}
		if err == nil {
			if back, _ := ParsePath(FormatPath(got)); fmt.Sprint(back) != fmt.Sprint(got) {
				t.Errorf("FormatPath(%q) = %q does not parse back", got, FormatPath(got))
			}
		}
	}
}

func TestSuggest(t *testing.T) {
	fields := []string{"driver", "cpus", "memory", "disk", "type", "rosetta", "mounts", "image"}
	for in, want := range map[string]string{"memroy": "memory", "Memory": "memory", "cpu": "cpus", "mount": "mounts",
		"dsk": "disk", "xyz": "", "t": "", "imgae": "image"} {
		if got := suggest(in, fields); got != want {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"4GiB": 4 << 30, "512MiB": 512 << 20, "1TiB": 1 << 40} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "4", "4GB", "-1GiB", "0MiB", "GiB", "99999999999TiB"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) accepted", in)
		}
	}
}

// FuzzParse: no input panics or hangs the loader, and every error carries
// a position inside the input.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "running: true\n", "vm: {cpus: 0, memroy: x}\n", "a: &a [*a]\n", "- 1\n",
		"containers: {web: {state: runing}}\n", "vm:\n\tcpus: 2\n", "\xff\xfe", "x: 1\n---\ny: 2\n",
		"images: {\"a:b\": {state: present}}\nvolumes: {v: {labels: {a: b}}}\n", "0\n---\r: \"",
		"rs: {web:{state: runing}\n", "a: \"x\n", "a: [b, {c: 'd\n"} {
		f.Add([]byte(s))
	}
	s := Default()
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := s.Parse("f.yaml", data)
		if err == nil {
			if d == nil {
				t.Fatal("nil desired state without an error")
			}
			return
		}
		es := AsErrors(err)
		if len(es) == 0 {
			t.Fatalf("error without positions: %v", err)
		}
		// A position is on a line the file has (YAML breaks lines at \n,
		// \r\n and a lone \r; a final break starts no new line).
		lines := max(len(splitLines(data)), 1)
		for _, e := range es {
			if e.Line < 1 || e.Column < 1 || e.Line > lines || e.Msg == "" {
				t.Fatalf("bad position or empty message: %+v (input has %d lines)", e, lines)
			}
		}
	})
}

// FuzzParsePath: the set/get path parser never panics and round-trips.
func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"vm.cpus", `images."a/b:1".state`, `a."\"".b`, "..", `"`, "0\x8c", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		segs, err := ParsePath(s)
		if err != nil {
			return
		}
		back, err := ParsePath(FormatPath(segs))
		if err != nil || fmt.Sprint(back) != fmt.Sprint(segs) {
			t.Fatalf("round trip of %q: %q -> %q (%v)", s, segs, back, err)
		}
	})
}

func BenchmarkParseTypical(b *testing.B) {
	data, err := os.ReadFile("../examples/full.yaml")
	if err != nil {
		b.Fatal(err)
	}
	s := Default()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Parse("full.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkYAMLOnly is the baseline: parsing the same bytes into YAML nodes
// without the schema.
func BenchmarkYAMLOnly(b *testing.B) {
	data, err := os.ReadFile("../examples/full.yaml")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseYAML("full.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}
