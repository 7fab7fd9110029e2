package lima

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/rddproject/rdd/effect"
	"github.com/rddproject/rdd/schema"
)

// Reasons shared by several rows of the effect table. Each was checked
// against Lima v1.2.2's source (see the package doc for the paths).
const (
	whyAtStart = "Lima reads it only when the instance starts: limactl edit, then a restart"
	whyForward = "the host socket is a Lima portForwards entry, which the host agent reads only when it starts, " +
		"and Lima 1.2.2 cannot restart its host agent without restarting the VM"
	whyCidata = "Lima renders it into the instance's cloud-init data at each start: limactl edit, then a restart"
)

// whyNoRecord explains the one change of an instance without a record.
const whyNoRecord = "rdd has no record of the configuration it gave this instance: it is edited into the desired one and restarted once"

// rule is one row of the effect table: the effect a change of key has on
// an existing instance, and why. compare is nil for a key the Spec does
// not carry yet (a field being added to the schema): the row says what
// its change will cost once rendered, and nothing compares it until then.
type rule struct {
	key     string
	effect  effect.Effect
	why     string // the reason each change of key has
	compare func(applied, want Spec) (from, to string, changed bool)
	// refine adjusts a change of this key (the disk: growing restarts,
	// shrinking is refused).
	refine func(c *effect.Change, applied, want Spec)
}

// rules is the effect table of the Lima driver, in desired.yaml's order:
// every vm.* and containerEngine.* key the driver owns has a row
// (TestEveryKeyHasARow walks the schema), and the driver acts on exactly
// what effects computes from it.
var rules = []rule{
	{key: "vm.cpus", effect: effect.VMRestart, why: whyAtStart,
		compare: func(a, w Spec) (string, string, bool) {
			return strconv.Itoa(a.CPUs), strconv.Itoa(w.CPUs), a.CPUs != w.CPUs
		}},
	{key: "vm.memory", effect: effect.VMRestart, why: whyAtStart,
		compare: func(a, w Spec) (string, string, bool) { return a.Memory, w.Memory, !sameSize(a.Memory, w.Memory) }},
	{key: "vm.disk", effect: effect.VMRestart,
		why:     "Lima grows the disk when the instance starts (limactl edit, then a restart); the guest's root filesystem grows at boot",
		compare: func(a, w Spec) (string, string, bool) { return a.Disk, w.Disk, !sameSize(a.Disk, w.Disk) },
		refine: func(c *effect.Change, a, w Spec) {
			if size(w.Disk) < size(a.Disk) {
				c.Effect = effect.Refused
				c.Why = fmt.Sprintf("a Lima disk can grow but never shrink (limactl edit refuses it); set vm.disk to %s or more", a.Disk)
			}
		}},
	{key: "vm.type", effect: effect.Recreate,
		why:     "the disk was made for the old VM type and Lima never converts it: limactl edit accepts the change, but the instance would not boot",
		compare: func(a, w Spec) (string, string, bool) { return a.VMType, w.VMType, a.VMType != w.VMType }},
	{key: "vm.rosetta", effect: effect.VMRestart, why: "Lima sets Rosetta up at each boot (vz only): limactl edit, then a restart",
		compare: func(a, w Spec) (string, string, bool) {
			return strconv.FormatBool(a.Rosetta), strconv.FormatBool(w.Rosetta), a.Rosetta != w.Rosetta
		}},
	{key: "vm.mounts", effect: effect.VMRestart, why: "Lima sets mounts up at each start: limactl edit, then a restart",
		compare: func(a, w Spec) (string, string, bool) {
			return mountsString(a.Mounts), mountsString(w.Mounts), !slices.Equal(a.Mounts, w.Mounts)
		}},
	{key: "vm.image", effect: effect.Recreate,
		why: "Lima reads the boot image only when it creates the instance's disk: a new image needs a new disk",
		compare: func(a, w Spec) (string, string, bool) {
			return imageString(a.Image), imageString(w.Image), !sameImage(a.Image, w.Image)
		}},
	// Keys being added to the schema that Lima renders at each start.
	{key: "vm.mountType", effect: effect.VMRestart, why: whyAtStart, compare: guestCompare("vm.mountType")},
	{key: "vm.env", effect: effect.VMRestart, why: whyCidata, compare: guestCompare("vm.env")},
	{key: "vm.dns", effect: effect.VMRestart, why: whyCidata, compare: guestCompare("vm.dns")},
	{key: "vm.hosts", effect: effect.VMRestart, why: "Lima's host agent serves these names from its DNS, set up only when it starts: limactl edit, then a restart",
		compare: guestCompare("vm.hosts")},
	{key: "vm.portForwards", effect: effect.VMRestart, why: "Lima's host agent reads its port forwards only when it starts, and cannot restart without the VM",
		compare: guestCompare("vm.portForwards")},
	{key: "vm.provision", effect: effect.VMRestart, why: "Lima embeds provision scripts in the instance's cloud-init data at each start and runs them at every boot",
		compare: guestCompare("vm.provision")},
	{key: "vm.recreate", effect: effect.None, why: "a permission for changes that recreate the VM; nothing in the VM changes"},
	{key: "containerEngine.name", effect: effect.VMRestart,
		why: "the engine's guest socket is a port forward, which Lima's host agent reads only when it starts, " +
			"and the provision script enables the engine at boot",
		compare: func(a, w Spec) (string, string, bool) { return a.Engine, w.Engine, a.Engine != w.Engine }},
	{key: "containerEngine.socket", effect: effect.VMRestart, why: whyForward,
		compare: func(a, w Spec) (string, string, bool) { return a.Socket, w.Socket, a.Socket != w.Socket }},
}

// ownedElsewhere are the vm.* and containerEngine.* keys another part of
// rdd applies; the Lima driver leaves them alone.
var ownedElsewhere = map[string]string{
	"vm.driver":                          "the loop: it chooses which VM driver runs",
	"containerEngine.registryMirrors":    "the engine configuration (daemon.json in the guest)",
	"containerEngine.insecureRegistries": "the engine configuration (daemon.json in the guest)",
	"containerEngine.config":             "the engine configuration (daemon.json in the guest)",
	"containerEngine.dockerContext":      "the docker CLI context on the host",
	"vm.proxy":                           "the engine configuration (a dockerd drop-in and /etc/environment in the running guest: an engine restart)",
	"vm.caCerts":                         "the engine configuration (the guest's trust store: an engine restart)",
}

// guestCompare is the compare function of a row whose key lima.yaml
// carries for the guest (guestspec.go's guestDiff decides what changed).
func guestCompare(key string) func(a, w Spec) (string, string, bool) {
	return func(a, w Spec) (string, string, bool) {
		for _, c := range guestDiff(a.Guest, w.Guest) {
			if c.Key == key {
				return c.From, c.To, true
			}
		}
		return "", "", false
	}
}

// KeyUnknown stands for every key when the instance carries no record of
// the configuration rdd gave it (created by hand, or by an older rdd).
const KeyUnknown = "the instance's configuration (no record of what rdd gave it)"

// effects lists the changes from the configuration in force on the
// instance to want, one per key in the table's order, with each one's
// effect and reason. It is the one place where a change's cost is
// decided: the driver acts on exactly this, and Plan returns exactly
// this. An instance that does not exist has no changes (it is created as
// wanted). When applying the changes needs `limactl edit` and some value
// of want cannot be carried by it, the key holding that value is refused,
// so that nothing is stopped for an edit that would then fail.
func effects(o observation, want Spec) []effect.Change {
	if !o.Exists {
		return nil
	}
	var out []effect.Change
	if o.Applied == nil {
		out = []effect.Change{{Key: KeyUnknown, Effect: effect.VMRestart, Why: whyNoRecord}}
	} else {
		for _, r := range rules {
			if r.compare == nil {
				continue
			}
			from, to, changed := r.compare(*o.Applied, want)
			if !changed {
				continue
			}
			c := effect.Change{Key: r.key, From: from, To: to, Effect: r.effect, Why: r.why}
			if r.refine != nil {
				r.refine(&c, *o.Applied, want)
			}
			out = append(out, c)
		}
	}
	if needsEdit(out) {
		if _, err := editExpr(want); err != nil {
			out = refuseUncarried(out, err, want)
		}
	}
	return out
}

// needsEdit reports whether applying changes takes a `limactl edit`:
// anything below a recreate (which writes a fresh lima.yaml) that is not
// refused anyway.
func needsEdit(changes []effect.Change) bool {
	m := maxEffect(changes)
	return m == effect.VMRestart || m == effect.EngineRestart
}

// refuseUncarried marks the key whose value `limactl edit --set` cannot
// carry as refused, adding a row for it when it did not change itself.
func refuseUncarried(changes []effect.Change, err error, want Spec) []effect.Change {
	key := "vm"
	var ce *carryError
	if errors.As(err, &ce) {
		key = limaKeyOwner(ce.limaKey)
	}
	reason := fmt.Sprintf("%v; the running instance is left as it is. Choose a value without it, or recreate the VM (a new instance is created from a file, not edited)", err)
	for i := range changes {
		if changes[i].Key == key {
			changes[i].Effect, changes[i].Why = effect.Refused, reason
			return changes
		}
	}
	v := valueOf(key, want)
	return append(changes, effect.Change{Key: key, From: v, To: v, Effect: effect.Refused, Why: reason})
}

// limaKeyOwner names the desired.yaml key that lima.yaml's key comes from.
func limaKeyOwner(limaKey string) string {
	switch limaKey {
	case "cpus":
		return "vm.cpus"
	case "memory":
		return "vm.memory"
	case "disk":
		return "vm.disk"
	case "vmType":
		return "vm.type"
	case "rosetta":
		return "vm.rosetta"
	case "mounts":
		return "vm.mounts"
	case "mountType":
		return "vm.mountType"
	case "env":
		return "vm.env"
	case "dns", "hostResolver":
		return "vm.dns"
	case "portForwards":
		return "containerEngine.socket"
	case "containerd", "param", "probes", "provision":
		return "containerEngine.name"
	}
	return "vm"
}

// valueOf renders want's value of key for a row that did not change.
func valueOf(key string, want Spec) string {
	for _, r := range rules {
		if r.key == key && r.compare != nil {
			_, to, _ := r.compare(want, want)
			return to
		}
	}
	return ""
}

// maxEffect is the most disruptive effect among changes.
func maxEffect(changes []effect.Change) effect.Effect {
	m := effect.None
	for _, c := range changes {
		m = effect.Max(m, c.Effect)
	}
	return m
}

// describe renders one change for a message: "vm.cpus (2 -> 3)".
func describe(c effect.Change) string {
	if c.From == "" && c.To == "" || c.From == c.To {
		return c.Key
	}
	return fmt.Sprintf("%s (%s -> %s)", c.Key, c.From, c.To)
}

// changeList renders changes for a message.
func changeList(changes []effect.Change) string {
	parts := make([]string, len(changes))
	for i, c := range changes {
		parts[i] = describe(c)
	}
	return strings.Join(parts, ", ")
}

// withEffect returns the changes that have effect e (in), or all others
// (!in).
func withEffect(changes []effect.Change, e effect.Effect, in bool) []effect.Change {
	var out []effect.Change
	for _, c := range changes {
		if (c.Effect == e) == in {
			out = append(out, c)
		}
	}
	return out
}

// size is the byte count of a size string, or -1 when it does not parse.
func size(s string) int64 {
	n, err := schema.ParseSize(s)
	if err != nil {
		return -1
	}
	return n
}

func sameSize(a, b string) bool {
	if a == b {
		return true
	}
	na, nb := size(a), size(b)
	return na >= 0 && na == nb
}

func sameImage(a, b *schema.VMImage) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func mountsString(ms []schema.Mount) string {
	if len(ms) == 0 {
		return "none"
	}
	parts := make([]string, len(ms))
	for i, m := range ms {
		mode := "ro"
		if m.Writable {
			mode = "rw"
		}
		parts[i] = m.Location + ":" + mode
	}
	return strings.Join(parts, ",")
}

func imageString(img *schema.VMImage) string {
	if img == nil {
		return "Lima's default image"
	}
	return img.Location
}
