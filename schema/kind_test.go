package schema

import (
	"fmt"
	"strings"
	"testing"
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
		{"vm", "x", nil, "vm: is a mapping, not one value; set one of its fields (driver, cpus, memory, disk, type, rosetta, mounts, mountType, image, env, proxy, caCerts, dns, hosts, portForwards, provision, recreate), such as vm.driver=..."},
		{"containers", "x", nil, "containers: is a mapping of names; set a field of one entry, such as containers.NAME.state=..."},
		{"vm.mounts", "x", nil, "vm.mounts: is a list; rdd set does not edit lists"},
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

// The message `rdd set` prints for a value the schema refuses: the same
// words as validation, without a file position.
func ExampleSchema_ParseValue() {
	_, err := Default().ParseValue([]string{"containers", "web", "state"}, "runing")
	fmt.Println(err)
	// Output:
	// containers.web.state: "runing" is not one of running, stopped, paused, absent
}
