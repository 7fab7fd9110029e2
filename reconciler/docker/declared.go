package docker

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rddproject/rdd/schema"
)

// policy holds the timing of declared objects. Tests shorten it.
type policy struct {
	// A container that needs crashLoopAfter corrections in a row, none of
	// them followed by stableFor in its declared state, is CrashLoop
	// (failed) until it stays in its state for stableFor.
	crashLoopAfter int
	stableFor      time.Duration
	// The first correction in a row is made at once; the next ones wait
	// minCorrection, doubling up to maxCorrection.
	minCorrection, maxCorrection time.Duration
	// A failed engine action (or pull) is tried again after minRetry,
	// doubling up to maxRetry.
	minRetry, maxRetry time.Duration
}

var defaultPolicy = policy{
	crashLoopAfter: 3,
	stableFor:      10 * time.Second, // dockerd's own restart backoff resets after 10s up, too
	minCorrection:  time.Second,
	maxCorrection:  time.Minute, // dockerd's restart backoff is capped at a minute, too
	minRetry:       time.Second,
	maxRetry:       time.Minute,
}

const (
	// actionTimeout bounds one engine action: a stop waits for the
	// container's own stop timeout (10s by default) before it kills.
	actionTimeout = 5 * time.Minute
	// maxSteps bounds the actions of one attempt (paused -> absent is
	// unpause, stop, remove).
	maxSteps = 4
)

// declared is what the engine remembers of declared objects from pass to
// pass and across reconnections. It is owned by the goroutine that calls
// Reconcile; only removed is shared with the container actions of one
// pass, which run in parallel.
type declared struct {
	tracks  map[string]*track // declared containers, by name
	retries map[string]*retry // failed volume and image actions, by kind/name

	mu      sync.Mutex
	removed map[removal]struct{} // deletes that succeeded (review I2)
}

func newDeclared() *declared {
	return &declared{tracks: map[string]*track{}, retries: map[string]*retry{}, removed: map[removal]struct{}{}}
}

// track is the history of one declared container under its current
// declaration.
type track struct {
	desired string
	id      string // the container it concerns; another ID starts afresh
	acted   bool   // it was in its declared state (by an action or not): the next actions are corrections

	corrections    int
	lastCorrection time.Time
	streak         int       // corrections in a row without stableFor in state between them
	nextAt         time.Time // no action before this
	inStateSince   time.Time // zero while it is not in its declared state
	failures       int       // failed actions in a row
	err            error     // the last action's error, while it stands
}

// newContainer starts the history of another container under the same
// name (it was removed and created again): what counted for the old one
// does not count for it, except the corrections already reported.
func (t *track) newContainer(id string) {
	*t = track{desired: t.desired, id: id, corrections: t.corrections, lastCorrection: t.lastCorrection}
}

// enforce brings the declared objects toward their declared states, and
// observes again what it acted on, so that the files of this pass show the
// result. Containers come first, then volumes (a container removed in this
// pass no longer holds its volume), then images. It returns every declared
// object's status, by kind and then name; an error wraps errConnLost.
func (e *Engine) enforce(ctx context.Context, c *conn, d *schema.Desired, now time.Time) ([]objectStatus, error) {
	cs, err := e.enforceContainers(ctx, c, d.Containers, now)
	if err != nil {
		return nil, err
	}
	vs, err := e.enforceVolumes(ctx, c, d.Volumes, now)
	if err != nil {
		return nil, err
	}
	is, err := e.enforceImages(ctx, c, d.Images, now)
	if err != nil {
		return nil, err
	}
	e.decl.prune(c.mirror)
	return slices.Concat(cs, vs, is), nil
}

// forgetRetries drops the retries of objects of kind that are no longer
// declared.
func forgetRetries[V any](d *declared, kind string, want map[string]V) {
	for key := range d.retries {
		name, ok := strings.CutPrefix(key, kind+"/")
		if !ok {
			continue
		}
		if _, declared := want[name]; !declared {
			delete(d.retries, key)
		}
	}
}
