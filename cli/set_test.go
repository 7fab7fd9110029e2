package cli

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rddproject/rdd/desiredit"
	"github.com/rddproject/rdd/schema"
)

func TestParseAssignment(t *testing.T) {
	for _, tc := range []struct {
		arg   string
		path  []string
		value string
		err   string
	}{
		{"vm.cpus=4", []string{"vm", "cpus"}, "4", ""},
		{"running=", []string{"running"}, "", ""},
		{`images."ghcr.io/x/y:1".state=absent`, []string{"images", "ghcr.io/x/y:1", "state"}, "absent", ""},
		{`volumes.v.labels."a=b"=c=d`, []string{"volumes", "v", "labels", "a=b"}, "c=d", ""},
		{`volumes.v.labels."a\"=b"=c`, []string{"volumes", "v", "labels", `a"=b`}, "c", ""},
		{"vm.image.cmdline=root=/dev/vda console=ttyS0", []string{"vm", "image", "cmdline"}, "root=/dev/vda console=ttyS0", ""},
		{"vm.cpus", nil, "", `"vm.cpus" is not KEY=VALUE`},
		{`images."a=b`, nil, "", "is not KEY=VALUE"},
		{"=4", nil, "", "empty key path"},
		{"vm..cpus=4", nil, "", "empty key at offset 3"},
	} {
		t.Run(tc.arg, func(t *testing.T) {
			path, value, err := parseAssignment(tc.arg)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %q, %q, %v; want error %q", path, value, err, tc.err)
				}
				return
			}
			if err != nil || fmt.Sprint(path) != fmt.Sprint(tc.path) || value != tc.value {
				t.Fatalf("got %q, %q, %v; want %q, %q", path, value, err, tc.path, tc.value)
			}
		})
	}
}

// FuzzParseAssignment: the KEY=VALUE parser never panics, and what it
// accepts is written back the same way: the formatted key, '=', the value.
// A value the schema accepts for the key can be written into a file.
func FuzzParseAssignment(f *testing.F) {
	for _, s := range []string{"vm.cpus=4", `images."a/b:1".state=absent`, `a."=\"=".b==`, "=", `"`, `"a\`, "a.b",
		"vm.mounts=[{location: ~/src, writable: true}]", `vm.mounts=[{location: "a=b"}, {location: '#c'}]`, "vm.mounts=[]",
		"containers={web: {state: running}, db: }", `volumes.v.labels={"a=b": "c, d", e: "1"}`, `images={"busybox:1.36": {}}`,
		"vm={cpus: 4, mounts: [{location: /a}]}", "vm.mounts=[{location: 1}]", "vm.mounts=[a, ", "containers={web: {state: running}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		path, value, err := parseAssignment(arg)
		if err != nil {
			return
		}
		if len(path) == 0 {
			t.Fatalf("%q: no key and no error", arg)
		}
		for _, seg := range path {
			if strings.ContainsFunc(seg, func(r rune) bool { return r < ' ' || r == 0x7f }) {
				return // control characters are escaped in a way ParsePath does not read back
			}
		}
		back := schema.FormatPath(path) + "=" + value
		p2, v2, err := parseAssignment(back)
		if err != nil || fmt.Sprint(p2) != fmt.Sprint(path) || v2 != value {
			t.Fatalf("%q -> %q %q -> %q -> %q %q (%v)", arg, path, value, back, p2, v2, err)
		}
		v, err := schema.Default().ParseValue(path, value)
		if err != nil || v == nil {
			return
		}
		doc, err := desiredit.Parse(nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := doc.Set(path, v); err != nil {
			t.Fatalf("%q: the value the schema accepted cannot be written: %v", arg, err)
		}
	})
}
