package lima

import (
	"strings"
	"testing"

	"github.com/rddproject/rdd/schema"
)

// TestDiff is the table of which changes need a restart: any key Lima reads
// at start needs one, sizes compare by value, a new boot image recreates
// the instance, a shrinking disk is refused, and several changed keys are
// still one restart (one effect for the whole edit).
func TestDiff(t *testing.T) {
	base := Spec{CPUs: 2, Memory: "4GiB", Disk: "100GiB", VMType: "qemu",
		Mounts: []schema.Mount{{Location: "~"}}, Engine: "moby", Socket: "/h/.rd/docker.sock"}
	img := &schema.VMImage{Location: "/srv/disk.raw", Kernel: "/srv/vmlinuz"}
	for _, tc := range []struct {
		name   string
		edit   func(*Spec)
		keys   string // changed keys, comma-separated
		effect Effect // strongest effect; 0 when nothing changed
	}{
		{"nothing", func(*Spec) {}, "", 0},
		{"same memory in MiB", func(s *Spec) { s.Memory = "4096MiB" }, "", 0},
		{"same disk in GiB", func(s *Spec) { s.Disk = "102400MiB" }, "", 0},
		{"cpus", func(s *Spec) { s.CPUs = 3 }, "vm.cpus", Restart},
		{"memory", func(s *Spec) { s.Memory = "8GiB" }, "vm.memory", Restart},
		{"memory down", func(s *Spec) { s.Memory = "2GiB" }, "vm.memory", Restart},
		{"disk grows", func(s *Spec) { s.Disk = "200GiB" }, "vm.disk", Restart},
		{"disk shrinks", func(s *Spec) { s.Disk = "50GiB" }, "vm.disk", Refuse},
		{"vm type", func(s *Spec) { s.VMType = "vz" }, "vm.type", Restart},
		{"rosetta", func(s *Spec) { s.Rosetta = true }, "vm.rosetta", Restart},
		{"mount writable", func(s *Spec) { s.Mounts = []schema.Mount{{Location: "~", Writable: true}} }, "vm.mounts", Restart},
		{"no mounts", func(s *Spec) { s.Mounts = []schema.Mount{} }, "vm.mounts", Restart},
		{"engine", func(s *Spec) { s.Engine = "containerd" }, "containerEngine.name", Restart},
		{"socket", func(s *Spec) { s.Socket = "/tmp/d.sock" }, "containerEngine.socket", Restart},
		{"image", func(s *Spec) { s.Image = img }, "vm.image", Recreate},
		{"several keys: one restart", func(s *Spec) { s.CPUs, s.Memory, s.Engine = 4, "8GiB", "containerd" },
			"vm.cpus,vm.memory,containerEngine.name", Restart},
		{"image and cpus: recreate", func(s *Spec) { s.CPUs, s.Image = 4, img }, "vm.cpus,vm.image", Recreate},
		{"shrink wins over restart", func(s *Spec) { s.CPUs, s.Disk = 4, "10GiB" }, "vm.cpus,vm.disk", Refuse},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := base
			want.Mounts = append([]schema.Mount(nil), base.Mounts...)
			tc.edit(&want)
			changes := Diff(base, want)
			var keys []string
			for _, c := range changes {
				keys = append(keys, c.Key)
			}
			if got := strings.Join(keys, ","); got != tc.keys {
				t.Errorf("keys %q, want %q", got, tc.keys)
			}
			if got := effect(changes); got != tc.effect {
				t.Errorf("effect %v, want %v", got, tc.effect)
			}
		})
	}
}

func TestChangeString(t *testing.T) {
	base := Spec{CPUs: 2, Memory: "4GiB", Disk: "100GiB", Mounts: []schema.Mount{}}
	want := base
	want.CPUs, want.Disk = 3, "50GiB"
	got := changeList(Diff(base, want))
	if got != "vm.cpus (2 -> 3), vm.disk (100GiB -> 50GiB)" {
		t.Errorf("got %q", got)
	}
}

func TestSpecFor(t *testing.T) {
	d := schema.Default().Defaults()
	for _, tc := range []struct{ socket, want string }{
		{"", "/h/.rd/docker.sock"},
		{"unix:///tmp/x.sock", "/tmp/x.sock"},
		{"engine.sock", "/h/.rd/engine.sock"},
		{"/a/../b.sock", "/b.sock"},
	} {
		d.ContainerEngine.Socket = tc.socket
		s, err := specFor(d, "/h/.rd/docker.sock", "/h/.rd")
		if err != nil {
			t.Fatal(err)
		}
		if s.Socket != tc.want {
			t.Errorf("socket %q: got %q, want %q", tc.socket, s.Socket, tc.want)
		}
	}
	d.ContainerEngine.Socket = ""
	if _, err := specFor(d, "", ""); err == nil {
		t.Error("no socket at all: want an error")
	}
	d.VM.Memory = "lots"
	if _, err := specFor(d, "/s", "/"); err == nil || !strings.Contains(err.Error(), "vm.memory") {
		t.Errorf("bad memory: got %v", err)
	}
}
