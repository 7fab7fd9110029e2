package schema

import (
	"fmt"
	"strings"
	"testing"
)

// layers builds layers from "name=content" pairs.
func layers(pairs ...string) []Layer {
	var ls []Layer
	for _, p := range pairs {
		name, data, _ := strings.Cut(p, "=")
		ls = append(ls, Layer{File: name, Data: []byte(data)})
	}
	return ls
}

func TestParseLayersMerge(t *testing.T) {
	for _, tc := range []struct {
		name   string
		layers []Layer
		got    func(d *Desired) string
		want   string
		// origins: field path -> "file:line:col", or "default".
		origins map[string]string
	}{{
		name: "nested mappings merge key by key",
		layers: layers("base=vm:\n  cpus: 2\n  memory: 8GiB\nrunning: true\n",
			"10-local=vm:\n  cpus: 4\n"),
		got: func(d *Desired) string {
			return fmt.Sprintf("%v %v %v %v", d.Running, d.VM.CPUs, d.VM.Memory, d.VM.Disk)
		},
		want: "true 4 8GiB 100GiB",
		origins: map[string]string{"vm.cpus": "10-local:2:9", "vm.memory": "base:3:11", "running": "base:4:10",
			"vm.disk": "default", "vm": "10-local:2:3"},
	}, {
		name: "a list is replaced whole",
		layers: layers("base=vm: {mounts: [{location: ~/a}, {location: ~/b, writable: true}]}\n",
			"20-x=vm:\n  mounts:\n    - location: ~/c\n"),
		got:     func(d *Desired) string { return fmt.Sprint(d.VM.Mounts) },
		want:    "[{~/c  false}]",
		origins: map[string]string{"vm.mounts": "20-x:3:5", "vm.mounts.[0].location": "20-x:3:17"},
	}, {
		name:   "null removes the key so its default applies",
		layers: layers("base=vm: {cpus: 4, memory: 8GiB}\ncontainers: {web: {state: stopped}, db: {}}\n", "10-x=vm: {cpus: null}\ncontainers:\n  web:\n"),
		got: func(d *Desired) string {
			return fmt.Sprintf("%v %v %v %v", d.VM.CPUs, d.VM.Memory, len(d.Containers), d.Containers["db"].State)
		},
		want:    "2 8GiB 1 running",
		origins: map[string]string{"vm.cpus": "default", "vm.memory": "base:1:23", "containers.web": "default", "containers.db": "base:2:41"},
	}, {
		name:    "a fragment of only comments is empty",
		layers:  layers("base=vm: {cpus: 3}\n", "10-empty=# nothing here yet\n\n# really\n", "20-blank="),
		got:     func(d *Desired) string { return fmt.Sprint(d.VM.CPUs) },
		want:    "3",
		origins: map[string]string{"vm.cpus": "base:1:12"},
	}, {
		name:    "no desired.yaml, only fragments",
		layers:  layers("10-a=running: true\n", "20-b=vm: {driver: host}\n"),
		got:     func(d *Desired) string { return fmt.Sprintf("%v %v", d.Running, d.VM.Driver) },
		want:    "true host",
		origins: map[string]string{"running": "10-a:1:10", "vm.driver": "20-b:1:14"},
	}, {
		name: "a kept value keeps its file through later merges",
		layers: layers("base=vm:\n  cpus: 2\n", "10-a=vm:\n  memory: 8GiB\n", "20-b=vm:\n  disk: 200GiB\n",
			"30-c=vm: {cpus: 6}\n"),
		got:     func(d *Desired) string { return fmt.Sprintf("%v %v %v", d.VM.CPUs, d.VM.Memory, d.VM.Disk) },
		want:    "6 8GiB 200GiB",
		origins: map[string]string{"vm.cpus": "30-c:1:12", "vm.memory": "10-a:2:11", "vm.disk": "20-b:2:9"},
	}, {
		name:   "map entries merge too; a new entry comes with its defaults",
		layers: layers("base=volumes: {v: {state: present, labels: {a: b}}}\n", "10-a=volumes: {v: {labels: {a: c}, driver: local}}\ncontainers: {web: {}}\n"),
		got: func(d *Desired) string {
			return fmt.Sprintf("%v %v %v", d.Volumes["v"].Labels, d.Volumes["v"].Driver, d.Containers["web"].State)
		},
		want: "map[a:c] local running",
		origins: map[string]string{"volumes.v.state": "base:1:22", "volumes.v.labels.a": "10-a:1:27",
			"volumes.v.driver": "10-a:1:39", "containers.web": "10-a:2:19"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			d, m, err := Default().ParseLayers(tc.layers)
			if err != nil {
				t.Fatal(err)
			}
			if got := tc.got(d); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
			for key, want := range tc.origins {
				segs, err := ParsePath(key)
				if err != nil {
					t.Fatal(err)
				}
				got := "default"
				if o, ok := m.Origin(segs); ok {
					got = fmt.Sprintf("%s:%d:%d", o.File, o.Line, o.Column)
				}
				if got != want {
					t.Errorf("origin of %s: got %s, want %s", key, got, want)
				}
			}
		})
	}
}

func TestParseLayersErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		layers []Layer
		want   string
	}{{
		name:   "a top level that is not a mapping",
		layers: layers("base=running: true\n", "10-list=# a list by mistake\n- vm.cpus: 4\n"),
		want:   "10-list:2:1: expected a mapping, got a list",
	}, {
		name:   "a scalar top level",
		layers: layers("base=running: true\n", "10-s=  cpus=4\n"),
		want:   `10-s:1:3: expected a mapping, got "cpus=4"`,
	}, {
		name:   "every fragment's errors at once, each in its own file",
		layers: layers("base=vm: {cpus: 2}\n", "10-a=vm:\n  cpus: many\n", "20-b=running: yes\nvm: {memroy: 1GiB}\n"),
		want: "10-a:2:9: vm.cpus: expected a whole number from 1 to 256, got \"many\"\n" +
			"20-b:1:10: running: expected true or false, got the string \"yes\" (write true or false)\n" +
			"20-b:2:6: vm.memroy: unknown field \"memroy\" (did you mean \"memory\"? allowed: driver, cpus, memory, disk, type, rosetta, mounts, mountType, image, env, proxy, caCerts, dns, hosts, portForwards, provision, recreate)",
	}, {
		name:   "the merged result names the file that supplied the value",
		layers: layers("base=vm:\n  image: {location: /srv/disk.raw}\n", "10-a=vm:\n  image:\n    location: null\n    kernel: /srv/vmlinuz\n"),
		want:   `10-a:3:5: vm.image: missing field "location" (expected a non-empty path)`,
	}, {
		name:   "a check on the decoded value names the fragment's entry",
		layers: layers("base=vm: {portForwards: [{guestPort: 80}]}\n", "10-a=vm:\n  portForwards:\n    - {guestPort: 80}\n    - {guestPort: 80}\n"),
		want:   "10-a:4:7: vm.portForwards[1]: host port 80/tcp on 127.0.0.1 is already forwarded by vm.portForwards[0]; give one of them another hostPort",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Default().ParseLayers(tc.layers)
			if err == nil {
				t.Fatal("no error")
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}
