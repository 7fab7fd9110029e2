package reconciler

import "github.com/rddproject/rdd/effect"

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
