package statusdir

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"time"

	"go.yaml.in/yaml/v3"
)

// Values of Condition.Status.
const (
	True    = "True"
	False   = "False"
	Unknown = "Unknown"
)

// Values of App.Summary, one word for scripts.
const (
	SummaryCurrent    = "Current"    // the current digest is reconciled
	SummaryInProgress = "InProgress" // the daemon is working on it
	SummaryFailed     = "Failed"     // it cannot be reconciled as things stand
	SummaryUnknown    = "Unknown"    // the daemon is stopped; nothing here is current
)

// Condition is one Kubernetes-style condition.
type Condition struct {
	Type               string    `yaml:"type" json:"type"`
	Status             string    `yaml:"status" json:"status"` // True, False or Unknown
	Reason             string    `yaml:"reason" json:"reason"`
	Message            string    `yaml:"message" json:"message"`
	ObservedGeneration int64     `yaml:"observedGeneration" json:"observedGeneration"`
	LastTransitionTime time.Time `yaml:"lastTransitionTime" json:"lastTransitionTime"`
}

// SetCondition returns a copy of conds in which the condition of c's type is
// replaced by c (or c is added), sorted by type. When the status of that type
// is unchanged, the old LastTransitionTime is kept; otherwise it is c's own,
// or now when c's is zero. The time is stored in UTC, truncated to the
// second, so that unchanged conditions render to unchanged bytes. conds is
// not modified.
func SetCondition(conds []Condition, c Condition, now time.Time) []Condition {
	if c.LastTransitionTime.IsZero() {
		c.LastTransitionTime = now
	}
	c.LastTransitionTime = c.LastTransitionTime.UTC().Truncate(time.Second)
	out := make([]Condition, 0, len(conds)+1)
	for _, old := range conds {
		if old.Type != c.Type {
			out = append(out, old)
			continue
		}
		if old.Status == c.Status {
			c.LastTransitionTime = old.LastTransitionTime
		}
	}
	out = append(out, c)
	slices.SortStableFunc(out, func(a, b Condition) int { return cmp.Compare(a.Type, b.Type) })
	return out
}

// FindCondition returns the condition of type typ in conds.
func FindCondition(conds []Condition, typ string) (Condition, bool) {
	for _, c := range conds {
		if c.Type == typ {
			return c, true
		}
	}
	return Condition{}, false
}

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
}

// DaemonInfo identifies the daemon that wrote the status.
type DaemonInfo struct {
	PID     int    `yaml:"pid" json:"pid"`
	Version string `yaml:"version" json:"version"`
}

// DesiredRef names the desired file the daemon last read.
type DesiredRef struct {
	Path       string `yaml:"path" json:"path"`
	Digest     string `yaml:"digest" json:"digest"` // "sha256:" + hex of the file's bytes
	Generation int64  `yaml:"generation" json:"generation"`
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
}

// EngineStatus is what the daemon observes of the container engine.
type EngineStatus struct {
	Name       string `yaml:"name" json:"name"`
	Socket     string `yaml:"socket" json:"socket"`
	Version    string `yaml:"version" json:"version"`
	APIVersion string `yaml:"apiVersion" json:"apiVersion"`
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
