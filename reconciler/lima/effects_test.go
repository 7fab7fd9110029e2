package lima

import (
	"slices"
	"strings"
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"

	"github.com/rddproject/rdd/effect"
	"github.com/rddproject/rdd/schema"
)

// TestEffects is the effect table as cases: each key's effect and reason,
// sizes compared by value, a shrinking disk refused, a new image or VM
// type recreating, several changed keys one restart.
func TestEffects(t *testing.T) {
	base := Spec{CPUs: 2, Memory: "4GiB", Disk: "100GiB", VMType: "qemu",
		Mounts: []schema.Mount{{Location: "~"}}, Engine: "moby", Socket: "/h/.rd/docker.sock"}
	img := &schema.VMImage{Location: "/srv/disk.raw", Kernel: "/srv/vmlinuz"}
	for _, tc := range []struct {
		name   string
		edit   func(*Spec)
		keys   string        // changed keys, comma-separated
		effect effect.Effect // the most disruptive
		reason string        // in the reason of the first change
	}{
		{"nothing", func(*Spec) {}, "", effect.None, ""},
		{"same memory in MiB", func(s *Spec) { s.Memory = "4096MiB" }, "", effect.None, ""},
		{"same disk in GiB", func(s *Spec) { s.Disk = "102400MiB" }, "", effect.None, ""},
		{"cpus", func(s *Spec) { s.CPUs = 3 }, "vm.cpus", effect.VMRestart, "only when the instance starts"},
		{"memory", func(s *Spec) { s.Memory = "8GiB" }, "vm.memory", effect.VMRestart, "limactl edit, then a restart"},
		{"memory down", func(s *Spec) { s.Memory = "2GiB" }, "vm.memory", effect.VMRestart, ""},
		{"disk grows", func(s *Spec) { s.Disk = "200GiB" }, "vm.disk", effect.VMRestart, "grows the disk when the instance starts"},
		{"disk shrinks", func(s *Spec) { s.Disk = "50GiB" }, "vm.disk", effect.Refused, "set vm.disk to 100GiB or more"},
		{"vm type", func(s *Spec) { s.VMType = "vz" }, "vm.type", effect.Recreate, "never converts it"},
		{"rosetta", func(s *Spec) { s.Rosetta = true }, "vm.rosetta", effect.VMRestart, "each boot"},
		{"mount writable", func(s *Spec) { s.Mounts = []schema.Mount{{Location: "~", Writable: true}} }, "vm.mounts", effect.VMRestart, "mounts up at each start"},
		{"no mounts", func(s *Spec) { s.Mounts = []schema.Mount{} }, "vm.mounts", effect.VMRestart, ""},
		{"engine", func(s *Spec) { s.Engine = "containerd" }, "containerEngine.name", effect.VMRestart, "provision script enables the engine at boot"},
		{"socket", func(s *Spec) { s.Socket = "/tmp/d.sock" }, "containerEngine.socket", effect.VMRestart, "reads only when it starts"},
		{"image", func(s *Spec) { s.Image = img }, "vm.image", effect.Recreate, "a new image needs a new disk"},
		{"several keys: one restart", func(s *Spec) { s.CPUs, s.Memory, s.Engine = 4, "8GiB", "containerd" },
			"vm.cpus,vm.memory,containerEngine.name", effect.VMRestart, ""},
		{"image and cpus: recreate", func(s *Spec) { s.CPUs, s.Image = 4, img }, "vm.cpus,vm.image", effect.Recreate, ""},
		{"shrink wins over restart", func(s *Spec) { s.CPUs, s.Disk = 4, "10GiB" }, "vm.cpus,vm.disk", effect.Refused, ""},
		// A value `limactl edit --set` cannot carry is refused before
		// anything is stopped, even when it did not change itself.
		{"uncarriable mount with a cpus change", func(s *Spec) {
			s.CPUs = 3
			s.Mounts = []schema.Mount{{Location: `C:\Users\x`}}
		}, "vm.cpus,vm.mounts", effect.Refused, ""},
		{"uncarriable mount unchanged", func(s *Spec) {}, "", effect.None, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := base
			want.Mounts = slices.Clone(base.Mounts)
			tc.edit(&want)
			changes := effects(observation{Exists: true, Status: statusRunning, Applied: &base}, want)
			var keys []string
			for _, c := range changes {
				keys = append(keys, c.Key)
				if c.Why == "" || !c.Effect.Valid() {
					t.Errorf("%s: effect %q reason %q", c.Key, c.Effect, c.Why)
				}
			}
			if got := strings.Join(keys, ","); got != tc.keys {
				t.Errorf("keys %q, want %q", got, tc.keys)
			}
			if got := maxEffect(changes); got != tc.effect {
				t.Errorf("effect %v, want %v", got, tc.effect)
			}
			if tc.reason != "" && !strings.Contains(changes[0].Why, tc.reason) {
				t.Errorf("reason %q does not say %q", changes[0].Why, tc.reason)
			}
		})
	}
	// The uncarriable value names why.
	bad := base
	bad.Mounts = []schema.Mount{{Location: `C:\Users\x`}}
	bad.CPUs = 3
	cs := effects(observation{Exists: true, Status: statusRunning, Applied: &base}, bad)
	assertContains(t, "reason", cs[1].Why, "cannot carry", "left as it is")

	if cs := effects(observation{}, base); cs != nil {
		t.Errorf("no instance: %+v", cs)
	}
	cs = effects(observation{Exists: true, Status: statusRunning}, base)
	if len(cs) != 1 || cs[0].Key != KeyUnknown || cs[0].Effect != effect.VMRestart {
		t.Errorf("no record: %+v", cs)
	}
}

// TestEveryKeyHasARow walks the schema: every vm.* and containerEngine.*
// field has a row in the effect table or is listed as another
// component's, so a field added to desired.cue cannot be forgotten here.
// Rows of keys the schema does not have (yet) are reported, not failed:
// they are being added in parallel.
func TestEveryKeyHasARow(t *testing.T) {
	v := cuecontext.New().CompileBytes(schema.Source())
	if err := v.Err(); err != nil {
		t.Fatal(err)
	}
	v = v.FillPath(cue.ParsePath("#GOOS"), "linux")
	seen := map[string]bool{}
	for _, rec := range []string{"vm", "containerEngine"} {
		it, err := v.LookupPath(cue.ParsePath("#Desired." + rec)).Fields(cue.Optional(true))
		if err != nil {
			t.Fatal(err)
		}
		for it.Next() {
			key := rec + "." + it.Selector().Unquoted()
			seen[key] = true
			i := slices.IndexFunc(rules, func(r rule) bool { return r.key == key })
			_, other := ownedElsewhere[key]
			switch {
			case i < 0 && !other:
				t.Errorf("%s is in the schema but has no row in the Lima effect table and is not listed as owned elsewhere", key)
			case i >= 0 && other:
				t.Errorf("%s has a row and is listed as owned elsewhere", key)
			case i >= 0 && rules[i].compare == nil && rules[i].effect != effect.None:
				t.Logf("%s: in the schema, but the Lima driver does not render or compare it yet", key)
			}
		}
	}
	if len(seen) < 5 {
		t.Fatalf("walked only %v: the schema walk is broken", seen)
	}
	for _, r := range rules {
		if !seen[r.key] {
			t.Logf("%s has a row but is not in the schema yet", r.key)
		}
		if !r.effect.Valid() || r.why == "" {
			t.Errorf("%s: effect %q, reason %q", r.key, r.effect, r.why)
		}
	}
}
