package schema

import (
	"fmt"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestKind(t *testing.T) {
	for _, tc := range []struct {
		path string
		want Kind
		err  string
	}{
		{"running", KindBool, ""},
		{"vm", KindRecord, ""},
		{"vm.cpus", KindInt, ""},
		{"vm.memory", KindString, ""},
		{"vm.driver", KindString, ""},
		{"vm.mounts", KindList, ""},
		{"vm.image", KindRecord, ""},
		{"vm.image.cmdline", KindString, ""},
		{"containers", KindMap, ""},
		{"containers.web", KindRecord, ""},
		{"containers.web.state", KindString, ""},
		{`images."ghcr.io/x/y:1".state`, KindString, ""},
		{"volumes.v.labels", KindMap, ""},
		{`volumes.v.labels."a.b/c"`, KindString, ""},
		{"vm.cpuss", 0, `vm.cpuss: unknown field "cpuss" (did you mean "cpus"? allowed: driver, cpus, memory, disk, type, rosetta, mounts, mountType, image, env, proxy, caCerts, dns, hosts, portForwards, provision, recreate)`},
		{"runing", 0, `runing: unknown field "runing" (did you mean "running"?`},
		{"containers.web.stat", 0, `containers.web.stat: unknown field "stat" (did you mean "state"? allowed: state)`},
		{"images.BusyBox.state", 0, `images.BusyBox: "BusyBox" is not a valid name (expected an image reference such as busybox:1.36 or ghcr.io/org/app:1)`},
		{"vm.cpus.x", 0, `vm.cpus: is a whole number from 1 to 256, not a mapping; it has no key "x"`},
	} {
		t.Run(tc.path, func(t *testing.T) {
			path, err := ParsePath(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Default().Kind(path)
			if tc.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
					t.Fatalf("Kind = %v, %v; want error %q", got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Kind = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestParseValue(t *testing.T) {
	for _, tc := range []struct {
		path, text string
		want       any
		err        string
	}{
		{"vm.cpus", "4", int64(4), ""},
		{"running", "true", true, ""},
		{"running", "false", false, ""},
		{"vm.memory", "8GiB", "8GiB", ""},
		{"containers.web.state", "stopped", "stopped", ""},
		{`images."ghcr.io/x/y:1".state`, "absent", "absent", ""},
		{"containerEngine.socket", "~/x.sock", "~/x.sock", ""},
		{"kubernetes.version", "1.30", "1.30", ""},
		{"vm.cpus", "", nil, ""},
		{"containers.web", "", nil, ""},
		{"vm.mounts", "", nil, ""},
		{"vm.cpus", "0", nil, "vm.cpus: 0 is out of range (allowed: a whole number from 1 to 256)"},
		{"vm.cpus", "four", nil, `vm.cpus: expected a whole number from 1 to 256, got "four"`},
		{"running", "yes", nil, `running: expected true or false, got the string "yes" (write true or false)`},
		{"running", "True", nil, `running: expected true or false, got "True"`},
		{"vm.memory", "4gb", nil, `vm.memory: "4gb" is not valid (expected a whole number followed by MiB, GiB or TiB, e.g. 4GiB)`},
		{"containers.web.state", "runing", nil, `containers.web.state: "runing" is not one of running, stopped, paused, absent`},
		{"vm.driver", "qemu", nil, `vm.driver: "qemu" is not one of lima, host`},
		{"vm", "x", nil, "vm: is a mapping, not one value; set one of its fields (driver, cpus, memory, disk, type, rosetta, mounts, mountType, image, env, proxy, caCerts, dns, hosts, portForwards, provision, recreate), such as vm.driver=..., or give the whole mapping in YAML flow syntax: vm='{driver: ...}'"},
		{"containers", "x", nil, "containers: is a mapping of names; set one entry, such as containers.NAME.state=..., or give the whole mapping in YAML flow syntax: containers='{NAME: {state: ...}}'"},
		{"volumes.v.labels", "x", nil, "volumes.v.labels: is a mapping of names; set one entry, such as volumes.v.labels.NAME=..., or give the whole mapping in YAML flow syntax: volumes.v.labels='{NAME: ...}'"},
		{"vm.mounts", "/src", nil, "vm.mounts: is a list; give it in YAML flow syntax, such as vm.mounts='[{location: ...}]', or clear it with vm.mounts= to use the default"},
		{"vm.image.location", "\xff", nil, "vm.image.location: value is not valid UTF-8"},
		{"vm.nope", "", nil, `vm.nope: unknown field "nope"`},
	} {
		t.Run(tc.path+"="+tc.text, func(t *testing.T) {
			path, err := ParsePath(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Default().ParseValue(path, tc.text)
			if tc.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
					t.Fatalf("ParseValue = %#v, %v; want error %q", got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseValue = %#v, %v; want %#v", got, err, tc.want)
			}
		})
	}
}

// A list or a mapping is given in YAML flow syntax; it comes back in flow
// style, normalised: the order given, scalars typed as YAML reads them,
// null fields (not set) left out, a null map entry declared empty.
func TestParseValueFlow(t *testing.T) {
	for _, tc := range []struct{ path, text, want string }{
		{"vm.mounts", "[{location: ~/src, writable: true}, {location: /x}]", "[{location: ~/src, writable: true}, {location: /x}]"},
		{"vm.mounts", "[]", "[]"},
		{"vm.mounts", "  [\n  {location: '/a'},\n  {writable: false, location: \"~\"}\n]  ", `[{location: /a}, {writable: false, location: "~"}]`},
		{"vm.mounts", "[{location: /a, writable: }]", "[{location: /a}]"},
		{"containers", "{web: {state: running}, db: }", "{web: {state: running}, db: {}}"},
		{"containers", "{}", "{}"},
		{"containers.web", "{state: paused}", "{state: paused}"},
		{"volumes.v.labels", `{a: b, "x.y/z": "1", t: "true"}`, `{a: b, x.y/z: "1", t: "true"}`},
		{"images", `{"busybox:1.36": {state: absent}, "ghcr.io/x/y:1": {}}`, `{'busybox:1.36': {state: absent}, 'ghcr.io/x/y:1': {}}`},
		{"vm", "{cpus: 4, memory: 8GiB, mounts: [{location: /a}]}", "{cpus: 4, memory: 8GiB, mounts: [{location: /a}]}"},
		{"vm", "{cpus: 0x10} # sixteen", "{cpus: 16}"},
	} {
		t.Run(tc.path+"="+tc.text, func(t *testing.T) {
			path, err := ParsePath(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Default().ParseValue(path, tc.text)
			if err != nil {
				t.Fatal(err)
			}
			n, ok := got.(*yaml.Node)
			if !ok || n.Style&yaml.FlowStyle == 0 {
				t.Fatalf("ParseValue = %#v, want a flow node", got)
			}
			b, err := yaml.Marshal(n)
			if err != nil {
				t.Fatal(err)
			}
			if s := strings.TrimSuffix(string(b), "\n"); s != tc.want {
				t.Errorf("ParseValue = %s, want %s", s, tc.want)
			}
		})
	}
}

// A flow value is checked as the file is: each problem is named by the
// element it is in, without a position; a value that is not one flow
// collection says how to write one.
func TestParseValueFlowErrors(t *testing.T) {
	for _, tc := range []struct{ path, text, want string }{
		{"vm.mounts", "[{location: 1}]", "vm.mounts[0].location: expected a non-empty path, got 1"},
		{"vm.mounts", "[{location: /a}, {writable: true}]", `vm.mounts[1]: missing field "location" (expected a non-empty path)`},
		{"vm.mounts", "[{location: /a, writeable: true}]", `vm.mounts[0].writeable: unknown field "writeable" (did you mean "writable"? allowed: location, mountPoint, writable)`},
		{"vm.mounts", "[{location: ~}]", `vm.mounts[0].location: ~ means null in YAML; write "~" in quotes for the home directory`},
		{"vm.mounts", "[/a, ]", "vm.mounts[0]: expected a mapping, got \"/a\""},
		{"vm.mounts", "{location: /a}", "vm.mounts: expected a list, got a mapping"},
		{"containers", "{web: {state: runing}, Bad!: {}}", "containers.web.state: \"runing\" is not one of running, stopped, paused, absent\n" +
			`containers."Bad!": "Bad!" is not a valid name`},
		{"vm", "{cpus: 4, cpus: 5}", "vm.cpus: duplicate key (first set at line 1); keep one"},
		{"vm.mounts", "[{location: /a}", `vm.mounts: "[{location: /a}" is not valid YAML flow syntax: did not find expected ',' or ']' (check the brackets, commas and quotes; quote the whole KEY=VALUE for the shell)`},
		{"vm.mounts", "[a,\n{b", `vm.mounts: "[a,\x0a{b" is not valid YAML flow syntax: did not find expected ',' or '}'`},
		{"vm.mounts", "[a]\n---\n[b]", `vm.mounts: "[a]\x0a---\x0a[b]" holds more than one YAML document`},
		{"vm.mounts", "{a: 1}: b", `vm.mounts: "{a: 1}: b" is not one YAML flow collection; give one list [...] or mapping {...}`},
		{"vm.mounts", "[&m {location: /a}, *m]", "vm.mounts: &m in the value: anchors and aliases are not supported here; write the value out"},
		{"vm.mounts", "- location: /a", "vm.mounts: is a list; give it in YAML flow syntax"},
	} {
		t.Run(tc.path+"="+tc.text, func(t *testing.T) {
			path, err := ParsePath(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Default().ParseValue(path, tc.text)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("ParseValue = %#v, %v; want error %q", got, err, tc.want)
			}
			for _, e := range AsErrors(err) {
				if e.File != "" || e.Line != 0 || e.Column != 0 {
					t.Errorf("error %v has a position", e)
				}
			}
		})
	}
}

// The message `rdd set` prints for a value the schema refuses: the same
// words as validation, without a file position.
func ExampleSchema_ParseValue() {
	_, err := Default().ParseValue([]string{"containers", "web", "state"}, "runing")
	fmt.Println(err)
	// Output:
	// containers.web.state: "runing" is not one of running, stopped, paused, absent
}
