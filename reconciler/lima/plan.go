package lima

import (
	"strings"

	"github.com/rddproject/rdd/effect"
	"github.com/rddproject/rdd/reconciler"
	"github.com/rddproject/rdd/schema"
	"github.com/rddproject/rdd/statusdir"
)

// action is what a pass does to the instance.
type action int

const (
	actNone       action = iota // the instance is as desired
	actCreate                   // create it, then start it
	actStart                    // edit it if the spec changed, then start it
	actRestart                  // stop, edit, start
	actRecreate                 // stop if running, delete, create, start
	actStop                     // stop gracefully
	actForceStop                // Broken and meant to be off: clear stale files, stop forcibly
	actRepair                   // Broken and meant to run: clear stale files, stop forcibly, edit if needed, start
	actHold                     // a change is refused or needs confirmation; change nothing
	actUnexpected               // a status rdd does not handle; report it
)

func (a action) String() string {
	return [...]string{"none", "create", "start", "restart", "recreate", "stop", "force-stop", "repair", "hold", "unexpected"}[a]
}

// observation is what `limactl list --json` and the record file show.
type observation struct {
	Exists bool
	Status string // Lima's: Running, Stopped, Broken, ...
	// Applied is the configuration the instance was last given (the
	// record, corrected by what limactl list reports); nil when the
	// instance has no record.
	Applied *Spec
}

// decision is the outcome of decide.
type decision struct {
	Action  action
	Changes []effect.Change // from the configuration in force to the desired one
	// Edit: the steps include `limactl edit` (some change is applied by a
	// restart).
	Edit bool
	// Held is the change not made and why (actHold, or a repair that
	// brings a Broken instance back as it was).
	Held *heldChange
}

// heldChange is a change decide held back.
type heldChange struct {
	Reason  string // statusdir.NeedsConfirmation or statusdir.ChangeRefused
	Changes []effect.Change
}

// decide is the driver's whole policy, a pure function of what was
// observed, the changes effects computed, the desired `running` and what
// is allowed; the driver only carries it out. Nothing that can be refused
// is discovered after something was stopped: a refused change, or a
// recreate without permission, holds every change of the edit.
func decide(o observation, changes []effect.Change, running bool, allow reconciler.Allow) decision {
	d := decision{Changes: changes}
	if !running {
		// Changes wait for the next start: stopping needs none of them.
		switch {
		case !o.Exists, o.Status == statusStopped:
			d.Action = actNone
		case o.Status == statusRunning:
			d.Action = actStop
		case o.Status == statusBroken:
			d.Action = actForceStop
		default:
			d.Action = actUnexpected
		}
		return d
	}
	if !o.Exists {
		d.Action = actCreate
		return d
	}
	switch o.Status {
	case statusRunning, statusStopped, statusBroken:
	default:
		d.Action = actUnexpected
		return d
	}
	top := maxEffect(changes)
	switch {
	case top == effect.Refused:
		d.Held = &heldChange{Reason: statusdir.ChangeRefused, Changes: changes}
	case top == effect.Recreate && !allow.Recreate:
		d.Held = &heldChange{Reason: statusdir.NeedsConfirmation, Changes: changes}
	case top == effect.Recreate:
		d.Action = actRecreate
		return d
	}
	if d.Held != nil {
		if o.Status == statusBroken {
			// Bring it back as it was; the held change stays held.
			d.Action = actRepair
			return d
		}
		d.Action = actHold
		return d
	}
	d.Edit = top == effect.VMRestart || top == effect.EngineRestart
	switch o.Status {
	case statusRunning:
		if d.Edit {
			d.Action = actRestart
		} else {
			d.Action = actNone
		}
	case statusStopped:
		d.Action = actStart
	case statusBroken:
		d.Action = actRepair
	}
	return d
}

// setObserved keeps the last observation for Plan.
func (dr *Driver) setObserved(o observation) {
	dr.mu.Lock()
	defer dr.mu.Unlock()
	dr.observed = &o
}

// Plan lists the changes from the configuration in force to d, with
// their effects, exactly as Reconcile acts on them. It is pure over the
// driver's last observation; before any (`rdd plan` without a daemon) it
// reads the instance's lima.yaml and record from LIMA_HOME.
func (dr *Driver) Plan(d *schema.Desired) []effect.Change {
	want, err := specFor(d, dr.cfg.Socket, dr.cfg.Base)
	if err != nil {
		key, _, _ := strings.Cut(err.Error(), ":")
		key, _, _ = strings.Cut(key, " ")
		return []effect.Change{{Key: key, Effect: effect.Refused, Why: err.Error()}}
	}
	dr.mu.Lock()
	o := dr.observed
	dr.mu.Unlock()
	if o == nil {
		o = &observation{Exists: dr.cfg.Home != "" && dr.instanceDirExists()}
		if o.Exists {
			rec, err := readRecord(dr.instanceDir())
			if err != nil {
				dr.log.Warn("the instance's record is unreadable; treating its configuration as unknown", "err", err)
			}
			o.Applied = rec
		}
	}
	return append(effects(*o, want), EnginePlan(dr.instanceDir(), d)...)
}
