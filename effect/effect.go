package effect

import (
	"fmt"
	"slices"
)

// Effect is what applying one change does, from least to most disruptive.
type Effect string

// The effects, in order of disruption.
const (
	None          Effect = "none"           // nothing to do
	Live          Effect = "live"           // applied without touching the VM or the engine
	Reload        Effect = "reload"         // the engine re-reads its configuration (SIGHUP)
	EngineRestart Effect = "engine-restart" // the engine restarts inside the running VM
	VMRestart     Effect = "vm-restart"     // the VM is stopped, edited and started
	Recreate      Effect = "recreate"       // the VM is deleted and created again: its data is lost
	Refused       Effect = "refused"        // cannot be done; nothing is changed
)

// All lists every effect in order of disruption.
var All = []Effect{None, Live, Reload, EngineRestart, VMRestart, Recreate, Refused}

// Rank orders effects by disruption: None is 0, Refused the highest. An
// unknown effect ranks above Refused, so it is never mistaken for a mild
// one.
func (e Effect) Rank() int {
	if i := slices.Index(All, e); i >= 0 {
		return i
	}
	return len(All)
}

// Valid reports whether e is one of the effects.
func (e Effect) Valid() bool { return slices.Contains(All, e) }

// Max returns the most disruptive of es, or None when there are none.
func Max(es ...Effect) Effect {
	m := None
	for _, e := range es {
		if e.Rank() > m.Rank() {
			m = e
		}
	}
	return m
}

// Describe says in a few words what e does to a running system, as the
// last line of `rdd plan` shows it.
func (e Effect) Describe() string {
	switch e {
	case None:
		return "nothing changes"
	case Live:
		return "applied live; the VM and the engine keep running"
	case Reload:
		return "the engine reloads its configuration; containers keep running"
	case EngineRestart:
		return "the engine restarts inside the VM; containers with a restart policy come back"
	case VMRestart:
		return "the VM restarts; containers with a restart policy come back"
	case Recreate:
		return "the VM is deleted and created again: containers, images and volumes inside it are lost"
	case Refused:
		return "cannot be done; nothing is changed"
	}
	return fmt.Sprintf("unknown effect %q", string(e))
}
