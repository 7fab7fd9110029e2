package lima

import (
	"fmt"
	"strings"

	"github.com/rddproject/rdd/effect"
	"github.com/rddproject/rdd/reconciler"
	"github.com/rddproject/rdd/statusdir"
)

// hold reports an instance left as it is because a change was refused or
// needs confirmation. A running instance keeps its socket, so the engine
// stays connected; the Running condition says what the VM is doing, and
// Held makes the verdict failed.
func (dr *Driver) hold(o observation, p decision) reconciler.VMResult {
	h := holdFor(p.Held, false)
	reason, state := statusdir.VMStopped, "is stopped"
	if o.Status == statusRunning {
		reason, state = statusdir.VMRunning, "is running"
	}
	res := dr.result(reason, fmt.Sprintf("Lima instance %q %s; not applied: %s", Name, state, h.Message))
	if o.Status == statusRunning {
		res.Socket = o.Applied.Socket
	}
	res.Held = h
	return res
}

// holdFor words a held change for the verdict: which keys, why, what is
// at stake and how to go on. repairing says the instance is being brought
// back as it was meanwhile.
func holdFor(h *heldChange, repairing bool) *reconciler.Hold {
	var b strings.Builder
	state := "Nothing was changed"
	if repairing {
		state = "The instance is repaired as it was, without it"
	}
	switch h.Reason {
	case statusdir.NeedsConfirmation:
		recreate := withEffect(h.Changes, effect.Recreate, true)
		fmt.Fprintf(&b, "%s recreates Lima instance %q, and that deletes the VM's disk: every container, image and volume inside it is lost (", changeList(recreate), Name)
		for i, c := range recreate {
			if i > 0 {
				b.WriteString("; ")
			}
			fmt.Fprintf(&b, "%s: %s", c.Key, c.Why)
		}
		fmt.Fprintf(&b, "). %s. To recreate it for this desired file, run `rdd confirm recreate`, or set vm.recreate: allow", state)
	default:
		refused := withEffect(h.Changes, effect.Refused, true)
		fmt.Fprintf(&b, "refused: ")
		for i, c := range refused {
			if i > 0 {
				b.WriteString("; ")
			}
			fmt.Fprintf(&b, "%s: %s", describe(c), c.Why)
		}
		fmt.Fprintf(&b, ". %s", state)
		if others := reconciler.Applying(withEffect(h.Changes, effect.Refused, false)); len(others) > 0 {
			fmt.Fprintf(&b, " (also waiting: %s)", changeList(others))
		}
	}
	return &reconciler.Hold{Reason: h.Reason, Message: b.String()}
}
