package reconciler

import (
	"github.com/rddproject/rdd/confirm"
	"github.com/rddproject/rdd/effect"
	"github.com/rddproject/rdd/schema"
	"github.com/rddproject/rdd/statusdir"
)

// Allow is what the desired state, and the user's confirmations, permit a
// VM driver to do beyond the least disruptive changes.
type Allow struct {
	// Recreate permits deleting and recreating the VM (its disk, and so
	// every container, image and volume inside it, is lost).
	Recreate bool
}

// Hold is a change a VM driver did not make, and why.
type Hold struct {
	Reason  string // statusdir.NeedsConfirmation or statusdir.ChangeRefused
	Message string // the keys, what would be lost, the command that confirms
}

// Applying returns the changes of a plan that an operation under way
// applies: those whose effect is not none.
func Applying(changes []effect.Change) []effect.Change {
	var out []effect.Change
	for _, c := range changes {
		if c.Effect != effect.None {
			out = append(out, c)
		}
	}
	return out
}

// allow is what the desired state in force and the user's confirmation
// permit: a recreate needs `vm.recreate: allow` in the file, or `rdd
// confirm recreate` for exactly the current digest. A confirmation that
// cannot be read permits nothing, and is logged.
func (l *Loop) allow(d *schema.Desired) Allow {
	if d.VM.Recreate == schema.RecreateAllow {
		return Allow{Recreate: true}
	}
	if l.cfg.Confirm == "" || l.digest != l.applied.Digest {
		return Allow{} // the file in force is not the current one: nothing of it was confirmed
	}
	ok, err := confirm.Confirmed(l.cfg.Confirm, confirm.Recreate, l.digest)
	if err != nil {
		l.log.Warn("ignoring the recreate confirmation", "err", err)
	}
	return Allow{Recreate: ok}
}

// applying renders the changes an operation under way applies as
// app.yaml's applying section (nil when none).
func applying(gen int64, changes []effect.Change) *statusdir.Applying {
	if len(changes) == 0 {
		return nil
	}
	a := &statusdir.Applying{Generation: gen, Effect: string(effect.None)}
	e := effect.None
	for _, c := range changes {
		a.Keys = append(a.Keys, c.Key)
		e = effect.Max(e, c.Effect)
	}
	a.Effect = string(e)
	return a
}
