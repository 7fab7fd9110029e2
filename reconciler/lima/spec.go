package lima

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/rddproject/rdd/home"
	"github.com/rddproject/rdd/schema"
)

// Spec is the part of the desired state that shapes the Lima instance: what
// lima.yaml is rendered from, what is compared to find the changes that
// need a restart, and what is recorded next to the instance (RecordFile) as
// the configuration the instance was last given.
type Spec struct {
	CPUs    int             `json:"cpus"`
	Memory  string          `json:"memory"`
	Disk    string          `json:"disk"`
	VMType  string          `json:"vmType"`
	Rosetta bool            `json:"rosetta"`
	Mounts  []schema.Mount  `json:"mounts"`
	Image   *schema.VMImage `json:"image,omitempty"`
	Engine  string          `json:"engine"`
	// Socket is the absolute host path where the guest's engine socket is
	// forwarded.
	Socket string `json:"socket"`
	// Guest is what else lima.yaml carries for the guest (guestspec.go).
	Guest
}

// specFor derives the instance's Spec from a desired state. defaultSocket
// is used when containerEngine.socket is empty; a relative socket is
// relative to base (RDD_HOME).
func specFor(d *schema.Desired, defaultSocket, base string) (Spec, error) {
	s := Spec{
		CPUs:    d.VM.CPUs,
		Memory:  d.VM.Memory,
		Disk:    d.VM.Disk,
		VMType:  d.VM.Type,
		Rosetta: d.VM.Rosetta,
		Mounts:  slices.Clone(d.VM.Mounts),
		Engine:  d.ContainerEngine.Name,
		Guest:   guestFor(d),
	}
	if s.Mounts == nil {
		s.Mounts = []schema.Mount{}
	}
	if d.VM.Image != nil {
		img := *d.VM.Image
		s.Image = &img
	}
	if _, err := schema.ParseSize(s.Memory); err != nil {
		return Spec{}, fmt.Errorf("vm.memory: %w", err)
	}
	if _, err := schema.ParseSize(s.Disk); err != nil {
		return Spec{}, fmt.Errorf("vm.disk: %w", err)
	}
	sock := strings.TrimPrefix(d.ContainerEngine.Socket, "unix://")
	if sock == "" {
		sock = defaultSocket
	}
	if sock == "" {
		return Spec{}, fmt.Errorf("containerEngine.socket: empty, and the driver has no default socket")
	}
	sock, err := home.Expand(sock)
	if err != nil {
		return Spec{}, fmt.Errorf("containerEngine.socket: %w", err)
	}
	if !filepath.IsAbs(sock) {
		if base == "" {
			return Spec{}, fmt.Errorf("containerEngine.socket %q: a relative path needs the rdd home", sock)
		}
		sock = filepath.Join(base, sock)
	}
	s.Socket = filepath.Clean(sock)
	return s, nil
}

// Effect is what a change of one key does to an existing instance.
type Effect int

const (
	// Restart: the instance is stopped, edited (limactl edit) and started.
	// While it is stopped the edit simply happens before the next start.
	Restart Effect = iota + 1
	// Recreate: the instance is deleted and created again (a new boot
	// image replaces its disk).
	Recreate
	// Refuse: the change cannot be made (a disk never shrinks); nothing is
	// done and the instance stays as it is.
	Refuse
)

func (e Effect) String() string {
	switch e {
	case Restart:
		return "restart"
	case Recreate:
		return "recreate"
	case Refuse:
		return "refuse"
	}
	return "Effect(" + strconv.Itoa(int(e)) + ")"
}

// Change is one key of desired.yaml whose value differs from the one the
// instance was configured with.
type Change struct {
	Key      string // the desired.yaml path, e.g. vm.cpus
	From, To string // short renderings of the values
	Effect   Effect
}

func (c Change) String() string {
	if c.From == "" && c.To == "" {
		return c.Key
	}
	return fmt.Sprintf("%s (%s -> %s)", c.Key, c.From, c.To)
}

// KeyUnknown stands for every key when the instance carries no record of
// the configuration rdd gave it (created by hand, or by an older rdd).
const KeyUnknown = "the instance's configuration (no record of what rdd gave it)"

// Diff lists the changes from applied to desired, in the order of
// desired.yaml's keys. Sizes are compared by value (4096MiB == 4GiB). A
// disk that would shrink is refused; a new boot image recreates the
// instance; every other change needs a restart, as Lima reads its
// configuration only when an instance starts.
func Diff(applied, desired Spec) []Change {
	var out []Change
	add := func(key, from, to string, e Effect) {
		out = append(out, Change{Key: key, From: from, To: to, Effect: e})
	}
	if applied.CPUs != desired.CPUs {
		add("vm.cpus", strconv.Itoa(applied.CPUs), strconv.Itoa(desired.CPUs), Restart)
	}
	if !sameSize(applied.Memory, desired.Memory) {
		add("vm.memory", applied.Memory, desired.Memory, Restart)
	}
	if !sameSize(applied.Disk, desired.Disk) {
		e := Restart // Lima grows the disk when the instance starts
		if size(desired.Disk) < size(applied.Disk) {
			e = Refuse
		}
		add("vm.disk", applied.Disk, desired.Disk, e)
	}
	if applied.VMType != desired.VMType {
		add("vm.type", applied.VMType, desired.VMType, Restart)
	}
	if applied.Rosetta != desired.Rosetta {
		add("vm.rosetta", strconv.FormatBool(applied.Rosetta), strconv.FormatBool(desired.Rosetta), Restart)
	}
	if !slices.Equal(applied.Mounts, desired.Mounts) {
		add("vm.mounts", mountsString(applied.Mounts), mountsString(desired.Mounts), Restart)
	}
	if !sameImage(applied.Image, desired.Image) {
		add("vm.image", imageString(applied.Image), imageString(desired.Image), Recreate)
	}
	if applied.Engine != desired.Engine {
		add("containerEngine.name", applied.Engine, desired.Engine, Restart)
	}
	if applied.Socket != desired.Socket {
		add("containerEngine.socket", applied.Socket, desired.Socket, Restart)
	}
	for _, c := range guestDiff(applied.Guest, desired.Guest) {
		add(c.Key, c.From, c.To, Restart)
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

// effect is the strongest effect among changes.
func effect(changes []Change) Effect {
	var e Effect
	for _, c := range changes {
		e = max(e, c.Effect)
	}
	return e
}

// keysOf renders changes of one effect for a message.
func keysOf(changes []Change, e Effect) string {
	var parts []string
	for _, c := range changes {
		if c.Effect == e {
			parts = append(parts, c.String())
		}
	}
	return strings.Join(parts, ", ")
}
