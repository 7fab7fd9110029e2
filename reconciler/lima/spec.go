package lima

import (
	"fmt"
	"path/filepath"
	"slices"
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
