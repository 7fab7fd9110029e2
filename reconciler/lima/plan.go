package lima

// action is what a pass does to the instance.
type action int

const (
	actNone       action = iota // the instance is as desired
	actCreate                   // create it, then start it
	actStart                    // edit it if the spec changed, then start it
	actRestart                  // stop, edit, start
	actRecreate                 // stop if running, delete, create, start
	actStop                     // stop gracefully
	actForceStop                // Broken and meant to be off: stop forcibly
	actRepair                   // Broken and meant to run: stop forcibly, edit if needed, start
	actRefuse                   // a change cannot be made; change nothing
	actUnexpected               // a status rdd does not handle; report it
)

func (a action) String() string {
	return [...]string{"none", "create", "start", "restart", "recreate", "stop", "force-stop", "repair", "refuse", "unexpected"}[a]
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

// decision is the outcome of plan.
type decision struct {
	Action  action
	Changes []Change // from the applied configuration to the desired one
}

// plan is the driver's whole policy, a pure function of what was observed
// and what is desired; the driver only carries it out.
func plan(o observation, want Spec, running bool) decision {
	var changes []Change
	if o.Exists {
		if o.Applied != nil {
			changes = Diff(*o.Applied, want)
		} else {
			changes = []Change{{Key: KeyUnknown, Effect: Restart}}
		}
	}
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
	switch effect(changes) {
	case Refuse:
		d.Action = actRefuse
		return d
	case Recreate:
		d.Action = actRecreate
		return d
	}
	switch o.Status {
	case statusRunning:
		if len(changes) == 0 {
			d.Action = actNone
		} else {
			d.Action = actRestart
		}
	case statusStopped:
		d.Action = actStart
	case statusBroken:
		d.Action = actRepair
	}
	return d
}
