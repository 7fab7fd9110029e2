package reconciler

import "github.com/rddproject/rdd/effect"

// Reasons of a change that a VM driver held back (VMResult.Held); the
// verdict is failed with one of them while the Running condition keeps
// saying what the VM is doing.
const (
	// NeedsConfirmation: the change recreates the VM, losing what is
	// inside it, and the desired file does not allow that (DESIGN section
	// 10: `rdd confirm recreate` or `vm.recreate: allow`).
	NeedsConfirmation = "NeedsConfirmation"
	// ChangeRefused: the change cannot be made at all (a disk shrink, a
	// value limactl cannot carry); nothing was changed.
	ChangeRefused = "ChangeRefused"
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
	Reason  string // NeedsConfirmation or ChangeRefused
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
