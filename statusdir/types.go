package statusdir

import (
	"bytes"
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"
)

// Values of App.Summary, one word for scripts.
const (
	SummaryCurrent    = "Current"    // the current digest is reconciled
	SummaryInProgress = "InProgress" // the daemon is working on it
	SummaryFailed     = "Failed"     // it cannot be reconciled as things stand
	SummaryUnknown    = "Unknown"    // the daemon is stopped; nothing here is current
)

// App is the content of app.yaml: the whole picture.
type App struct {
	Daemon             DaemonInfo   `yaml:"daemon" json:"daemon"`
	Desired            DesiredRef   `yaml:"desired" json:"desired"`
	Applied            AppliedRef   `yaml:"applied" json:"applied"` // the last valid desired content in force
	ObservedGeneration int64        `yaml:"observedGeneration" json:"observedGeneration"`
	Summary            string       `yaml:"summary" json:"summary"`       // one of the Summary* words
	Conditions         []Condition  `yaml:"conditions" json:"conditions"` // sorted by type (SetCondition)
	VM                 VMStatus     `yaml:"vm" json:"vm"`
	Engine             EngineStatus `yaml:"engine" json:"engine"`
	// Applying is set while a change is being applied (a VM restart, an
	// engine reload...), and gone once it is really in force.
	Applying *Applying `yaml:"applying,omitempty" json:"applying,omitempty"`
}

// Applying says which change is being applied: the generation it belongs
// to, its effect (the vocabulary of package effect) and the keys.
type Applying struct {
	Generation int64    `yaml:"generation" json:"generation"`
	Effect     string   `yaml:"effect" json:"effect"`
	Keys       []string `yaml:"keys" json:"keys"` // in plan order
}

// DaemonInfo identifies the daemon that wrote the status.
type DaemonInfo struct {
	PID     int    `yaml:"pid" json:"pid"`
	Version string `yaml:"version" json:"version"`
}

// DesiredRef names the desired file the daemon last read.
type DesiredRef struct {
	Path string `yaml:"path" json:"path"`
	// Digest is "sha256:" + hex of the file's bytes, or with fragments the
	// digest of every file (package desired).
	Digest     string `yaml:"digest" json:"digest"`
	Generation int64  `yaml:"generation" json:"generation"`
	// Files lists what that read read: the desired file, then each
	// fragment of desired.d/ in the order they apply.
	Files []DesiredFile `yaml:"files,omitempty" json:"files,omitempty"`
}

// DesiredFile is one file of the desired state as the daemon read it.
type DesiredFile struct {
	Path   string `yaml:"path" json:"path"`
	Digest string `yaml:"digest" json:"digest"` // "sha256:" + hex of its bytes
}

// AppliedRef names the last valid desired content in force.
type AppliedRef struct {
	Digest     string `yaml:"digest" json:"digest"`
	Generation int64  `yaml:"generation" json:"generation"`
}

// VMStatus is what the daemon observes of the VM.
type VMStatus struct {
	Driver   string `yaml:"driver" json:"driver"`
	Instance string `yaml:"instance" json:"instance"`
	Status   string `yaml:"status" json:"status"`
	CPUs     int    `yaml:"cpus" json:"cpus"`
	Memory   string `yaml:"memory" json:"memory"`
	Disk     string `yaml:"disk" json:"disk"`
	Type     string `yaml:"type" json:"type"`
	// MountType and PortForwards are what the instance was started with
	// (Lima driver; portForwards as hostIP:hostPort->guestPort/proto).
	MountType    string   `yaml:"mountType,omitempty" json:"mountType,omitempty"`
	PortForwards []string `yaml:"portForwards,omitempty" json:"portForwards,omitempty"`
}

// EngineStatus is what the daemon observes of the container engine.
type EngineStatus struct {
	Name       string `yaml:"name" json:"name"`
	Socket     string `yaml:"socket" json:"socket"`
	Version    string `yaml:"version" json:"version"`
	APIVersion string `yaml:"apiVersion" json:"apiVersion"`
	// Config is the engine configuration in force in the guest; absent
	// when rdd applies none (host driver, nothing applied yet).
	Config *EngineConfig `yaml:"config,omitempty" json:"config,omitempty"`
}

// EngineConfig is the applied daemon.json and the registries as dockerd
// reports them (docker info), not as desired.yaml lists them.
type EngineConfig struct {
	Digest             string   `yaml:"digest" json:"digest"`
	RegistryMirrors    []string `yaml:"registryMirrors" json:"registryMirrors"`
	InsecureRegistries []string `yaml:"insecureRegistries" json:"insecureRegistries"`
}

// Marker is the content of the ready and failed markers.
type Marker struct {
	Digest     string    `yaml:"digest" json:"digest"`
	Generation int64     `yaml:"generation" json:"generation"`
	Reason     string    `yaml:"reason" json:"reason"`
	Message    string    `yaml:"message" json:"message"`
	Time       time.Time `yaml:"time" json:"time"`
}

// Marshal renders a status value as YAML: 2-space indentation, struct
// fields in declaration order, map keys sorted. Identical values give
// identical bytes. Lists are rendered in the order given; writers sort them.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("marshal status: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("marshal status: %w", err)
	}
	return buf.Bytes(), nil
}
