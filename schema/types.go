package schema

import (
	"fmt"
	"strconv"
	"strings"
)

// Desired is a validated desired state with every default applied. Field
// names and defaults come from desired.cue; the json tags are the CUE field
// names, which is how values are decoded from CUE. These types are written by
// hand and checked against the schema by types_test.go: a field, kind or
// default in one and not the other fails `go test ./schema/`.
type Desired struct {
	Running         bool                 `json:"running" yaml:"running"`
	VM              VM                   `json:"vm" yaml:"vm"`
	ContainerEngine ContainerEngine      `json:"containerEngine" yaml:"containerEngine"`
	Kubernetes      Kubernetes           `json:"kubernetes" yaml:"kubernetes"`
	Containers      map[string]Container `json:"containers" yaml:"containers"`
	Volumes         map[string]Volume    `json:"volumes" yaml:"volumes"`
	Images          map[string]Image     `json:"images" yaml:"images"`
}

// VM is the virtual machine the engine runs in (or, with driver host, none).
type VM struct {
	Driver       string            `json:"driver" yaml:"driver"`
	CPUs         int               `json:"cpus" yaml:"cpus"`
	Memory       string            `json:"memory" yaml:"memory"`
	Disk         string            `json:"disk" yaml:"disk"`
	Type         string            `json:"type" yaml:"type"`
	Rosetta      bool              `json:"rosetta" yaml:"rosetta"`
	Mounts       []Mount           `json:"mounts" yaml:"mounts"`
	MountType    string            `json:"mountType" yaml:"mountType"`
	Image        *VMImage          `json:"image,omitempty" yaml:"image,omitempty"`
	Env          map[string]string `json:"env" yaml:"env"`
	Proxy        Proxy             `json:"proxy" yaml:"proxy"`
	CACerts      []string          `json:"caCerts" yaml:"caCerts"`
	DNS          []string          `json:"dns" yaml:"dns"`
	Hosts        map[string]string `json:"hosts" yaml:"hosts"`
	PortForwards []PortForward     `json:"portForwards" yaml:"portForwards"`
	Provision    []Provision       `json:"provision" yaml:"provision"`
	Recreate     string            `json:"recreate" yaml:"recreate"`
}

// Mount is a host directory shared with the VM.
type Mount struct {
	Location   string `json:"location" yaml:"location"`
	MountPoint string `json:"mountPoint" yaml:"mountPoint"` // "": same path as Location
	Writable   bool   `json:"writable" yaml:"writable"`
}

// VMImage overrides the VM's boot image, for offline use and CI.
type VMImage struct {
	Location string `json:"location" yaml:"location"`
	Kernel   string `json:"kernel,omitempty" yaml:"kernel,omitempty"`
	Initrd   string `json:"initrd,omitempty" yaml:"initrd,omitempty"`
	Cmdline  string `json:"cmdline,omitempty" yaml:"cmdline,omitempty"`
}

// Proxy is the HTTP(S) proxy of the guest and its engine.
type Proxy struct {
	HTTP     string   `json:"http" yaml:"http"`
	HTTPS    string   `json:"https" yaml:"https"`
	NoProxy  []string `json:"noProxy" yaml:"noProxy"`
	FromHost bool     `json:"fromHost" yaml:"fromHost"`
}

// PortForward forwards a guest port to the host. HostPort and HostIP carry
// their defaults (the guest port, 127.0.0.1) after Parse.
type PortForward struct {
	GuestPort int    `json:"guestPort" yaml:"guestPort"`
	HostPort  int    `json:"hostPort" yaml:"hostPort"`
	HostIP    string `json:"hostIP" yaml:"hostIP"`
	Proto     string `json:"proto" yaml:"proto"`
}

// Provision is a script run in the guest at every boot.
type Provision struct {
	Mode   string `json:"mode" yaml:"mode"`
	Script string `json:"script" yaml:"script"`
}

// ContainerEngine selects the engine inside the VM, where its socket
// appears on the host, and its configuration.
type ContainerEngine struct {
	Name               string         `json:"name" yaml:"name"`
	Socket             string         `json:"socket" yaml:"socket"`
	RegistryMirrors    []string       `json:"registryMirrors" yaml:"registryMirrors"`
	InsecureRegistries []string       `json:"insecureRegistries" yaml:"insecureRegistries"`
	Config             map[string]any `json:"config" yaml:"config"`               // further daemon.json keys
	DockerContext      string         `json:"dockerContext" yaml:"dockerContext"` // "": none
}

// Kubernetes is a single-node cluster inside the VM.
type Kubernetes struct {
	Enabled bool   `json:"enabled" yaml:"enabled"`
	Version string `json:"version" yaml:"version"`
	Source  string `json:"source" yaml:"source"` // "": official downloads
	Port    int    `json:"port" yaml:"port"`
	Context string `json:"context" yaml:"context"`
}

// Container is the declared state of one container.
type Container struct {
	State string `json:"state" yaml:"state"`
}

// Volume is the declared state of one volume.
type Volume struct {
	State  string            `json:"state" yaml:"state"`
	Driver string            `json:"driver,omitempty" yaml:"driver,omitempty"`
	Labels map[string]string `json:"labels,omitempty" yaml:"labels,omitempty"`
}

// Image is the declared state of one image tag.
type Image struct {
	State string `json:"state" yaml:"state"`
}

// ParseSize converts a schema size string ("4GiB") to bytes. The schema has
// already checked the form; ParseSize checks it again so it is safe on its
// own.
func ParseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		shift  uint
	}{{"MiB", 20}, {"GiB", 30}, {"TiB", 40}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			n, err := strconv.ParseInt(num, 10, 64)
			if err != nil || n <= 0 || n > 1<<(62-u.shift) {
				return 0, fmt.Errorf("size %q: want a whole number followed by MiB, GiB or TiB", s)
			}
			return n << u.shift, nil
		}
	}
	return 0, fmt.Errorf("size %q: want a whole number followed by MiB, GiB or TiB", s)
}
