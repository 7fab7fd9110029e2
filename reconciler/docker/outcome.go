package docker

import (
	"fmt"
	"strings"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/volume"

	"github.com/rddproject/rdd/reconciler"
	"github.com/rddproject/rdd/schema"
	"github.com/rddproject/rdd/statusdir"
)

// objectStatus is one declared object as this pass leaves it.
type objectStatus struct {
	kind    string // kindContainers, kindVolumes or kindImages
	name    string // its name: container or volume name, image reference (normalized)
	desired string
	state   reconciler.OutcomeState
	reason  string
	message string
	requeue time.Time // when it wants another pass; zero: none

	// What exists of it after this pass.
	exists bool
	id     string         // container ID
	vol    *volume.Volume // the volume
	img    *image.Summary // the image

	corrections    int
	lastCorrection time.Time
}

func (s *objectStatus) set(state reconciler.OutcomeState, reason, format string, args ...any) {
	s.state, s.reason, s.message = state, reason, fmt.Sprintf(format, args...)
}

// noun names the object in messages: container "web".
func (s *objectStatus) noun() string {
	return fmt.Sprintf("%s %q", strings.TrimSuffix(s.kind, "s"), s.name)
}

func (s *objectStatus) declaration() statusdir.Declaration {
	c := &statusdir.ObjectCondition{Reason: s.reason, Message: s.message}
	switch s.state {
	case reconciler.OutcomeDone:
		c.Status = statusdir.True
	case reconciler.OutcomeFailed:
		c.Status = statusdir.False
	default:
		c.Status = statusdir.Unknown
	}
	return statusdir.Declaration{Declared: true, Desired: s.desired, Condition: c, Corrections: s.corrections, LastCorrection: s.lastCorrection}
}

// stamp renders a time in messages: absolute, to the second, so that a
// message does not change from one pass to the next.
func stamp(t time.Time) string {
	return t.UTC().Truncate(time.Second).Format(time.RFC3339)
}

// outcome sums the declared objects up for the verdict: Failed when any
// object failed, with the reason of the first one and one line per failed
// object, so that one bad object never hides another; else Pending, with
// one line per object on its way; else Done. The next pass is due at the
// earliest requeue of any object.
func outcome(sts []objectStatus) (reconciler.Outcome, time.Time) {
	var failed, pending []string
	reason := ""
	var next time.Time
	for _, st := range sts {
		if !st.requeue.IsZero() && (next.IsZero() || st.requeue.Before(next)) {
			next = st.requeue
		}
		line := st.noun() + ": " + st.message
		switch st.state {
		case reconciler.OutcomeFailed:
			if reason == "" {
				reason = st.reason
			}
			failed = append(failed, line)
		case reconciler.OutcomePending:
			pending = append(pending, line)
		}
	}
	switch {
	case len(failed) > 0:
		return reconciler.Outcome{State: reconciler.OutcomeFailed, Reason: reason, Message: strings.Join(failed, "\n")}, next
	case len(pending) > 0:
		return reconciler.Outcome{State: reconciler.OutcomePending, Reason: statusdir.ReasonProgressing, Message: strings.Join(pending, "\n")}, next
	}
	return reconciler.Outcome{State: reconciler.OutcomeDone}, next
}

// unsupported is the outcome of declared objects on an engine rdd does not
// manage (containerd): they are reported, never silently ignored (S9).
func unsupported(d *schema.Desired) reconciler.Outcome {
	n := len(d.Containers) + len(d.Volumes) + len(d.Images)
	if n == 0 {
		return reconciler.Outcome{State: reconciler.OutcomeDone}
	}
	return reconciler.Outcome{State: reconciler.OutcomeFailed, Reason: statusdir.ReasonNotSupported, Message: fmt.Sprintf(
		"containerEngine.name is containerd: the %d declared container(s), volume(s) and image(s) are enforced on moby only", n)}
}
