package docker

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"

	"github.com/rddproject/rdd/backoff"
	"github.com/rddproject/rdd/reconciler"
	"github.com/rddproject/rdd/schema"
	"github.com/rddproject/rdd/statusdir"
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

// containerJob is one declared container acted on in this pass.
type containerJob struct {
	i                 int // its index among the statuses
	id, name, desired string
	observed          string
	// Filled in by drive.
	final   string
	inspect *container.InspectResponse // the last inspect; nil once gone
	taken   []action
	err     error
}

func (e *Engine) enforceContainers(ctx context.Context, c *conn, want map[string]schema.Container, now time.Time) ([]objectStatus, error) {
	for name := range e.decl.tracks {
		if _, ok := want[name]; !ok {
			delete(e.decl.tracks, name)
		}
	}
	if len(want) == 0 {
		return nil, nil
	}
	m := c.mirror
	byName := make(map[string]container.Summary, len(m.containers))
	for _, s := range m.containers {
		byName[containerName(s)] = s
	}
	names := slices.Sorted(maps.Keys(want))
	out := make([]objectStatus, len(names))
	var jobs []*containerJob
	for i, name := range names {
		desired := want[name].State
		st := &out[i]
		*st = objectStatus{kind: kindContainers, name: name, desired: desired}
		tr := e.decl.tracks[name]
		if tr == nil || tr.desired != desired {
			tr = &track{desired: desired}
			e.decl.tracks[name] = tr
		}
		if m.containers == nil {
			st.set(reconciler.OutcomePending, statusdir.ReasonNotObserved, "the engine's containers are not listed yet")
			continue
		}
		observed := stateMissing
		if s, ok := byName[name]; ok {
			observed = observedState(m, s)
			if tr.id != s.ID {
				tr.newContainer(s.ID)
			}
		} else if tr.id != "" {
			tr.newContainer("")
		}
		a := nextAction(desired, observed)
		if a.engineCall() && !now.Before(tr.nextAt) {
			jobs = append(jobs, &containerJob{i: i, id: tr.id, name: name, desired: desired, observed: observed})
			continue
		}
		e.containerStatus(st, tr, observed, now)
	}
	if len(jobs) == 0 {
		return out, nil
	}

	e.runJobs(ctx, c, jobs)
	// Delays count from the end of the attempts: a start can take longer
	// than the first delays.
	now = e.now()
	for _, j := range jobs {
		tr := e.decl.tracks[j.name]
		if len(j.taken) > 0 {
			if tr.acted {
				tr.corrections++
				tr.lastCorrection = now.UTC().Truncate(time.Second)
				tr.streak++
				e.log.Info("corrected declared container", "name", j.name, "desired", j.desired, "was", j.observed,
					"actions", j.taken, "now", j.final, "corrections", tr.corrections)
			} else {
				e.log.Info("brought declared container to its state", "name", j.name, "desired", j.desired,
					"was", j.observed, "actions", j.taken, "now", j.final)
			}
			tr.acted = true
		}
		if j.err != nil {
			tr.failures++
			tr.err = j.err
			tr.nextAt = now.Add(backoff.Delay(tr.failures, e.policy.minRetry, e.policy.maxRetry))
			e.log.Warn("declared container action failed", "name", j.name, "desired", j.desired, "err", j.err, "retry", tr.nextAt.Sub(now))
		} else {
			tr.failures, tr.err = 0, nil
			tr.nextAt = now.Add(e.correctionDelay(tr.streak))
		}
		e.containerStatus(&out[j.i], tr, j.final, now)
	}
	if err := e.observed(ctx, c, jobs, now); err != nil {
		return nil, err
	}
	return out, nil
}

// observedState is a listed container's state. The inspect is the truth
// when there is one: dockerd 20.10 sends a container's die event before
// its list shows it exited, while an inspect waits for the exit to be
// recorded.
func observedState(m *mirror, s container.Summary) string {
	if ent, ok := m.inspected[s.ID]; ok && ent.name == containerName(s) && ent.file.State != "" {
		return ent.file.State
	}
	return string(s.State)
}

// runJobs acts on the containers of jobs, up to e.workers at once: each
// one's actions are independent of the others'.
func (e *Engine) runJobs(ctx context.Context, c *conn, jobs []*containerJob) {
	next := make(chan *containerJob)
	var wg sync.WaitGroup
	for range min(e.workers, len(jobs)) {
		wg.Go(func() {
			for j := range next {
				e.drive(ctx, c, j)
			}
		})
	}
	for _, j := range jobs {
		next <- j
	}
	close(next)
	wg.Wait()
}

// drive is one attempt at bringing a container to its declared state: it
// takes the table's action, observes the container again, and goes on
// until the table says there is nothing to do, or the next action is one
// this attempt already took (the container left its state again by
// itself: that is for the next attempt, after its delay). It records in j
// the last state observed, the last inspect (nil when the container is
// gone), the actions that succeeded, and the error that ended it.
func (e *Engine) drive(ctx context.Context, c *conn, j *containerJob) {
	j.final = j.observed
	for len(j.taken) < maxSteps {
		a := nextAction(j.desired, j.final)
		if !a.engineCall() || slices.Contains(j.taken, a) {
			return
		}
		if err := e.act(ctx, c, a, j.id, j.name); err != nil {
			j.err = fmt.Errorf("%s: %w", a, err)
			return
		}
		j.taken = append(j.taken, a)
		ictx, cancel := context.WithTimeout(ctx, callTimeout)
		res, err := c.cli.ContainerInspect(ictx, j.id)
		cancel()
		j.inspect = nil
		switch {
		case cerrdefs.IsNotFound(err):
			j.final = stateMissing
		case err != nil:
			j.err = fmt.Errorf("inspect after %s: %w", a, err)
			return
		case res.State == nil:
			j.err = fmt.Errorf("inspect after %s: no state", a)
			return
		default:
			j.final = string(res.State.Status)
			j.inspect = &res
		}
	}
}

// observed puts what the attempts of this pass saw last into the mirror,
// so that the files of this pass show it without listing and inspecting
// the containers again; a container whose attempt ended in an error is
// listed and inspected again instead. The events of the actions mark the
// containers dirty as well: the next pass reads them again anyway.
func (e *Engine) observed(ctx context.Context, c *conn, jobs []*containerJob, now time.Time) error {
	m := c.mirror
	again := map[string]struct{}{}
	for _, j := range jobs {
		switch {
		case len(j.taken) == 0 && j.err == nil:
		case j.err != nil:
			again[j.id] = struct{}{}
		case j.final == stateMissing:
			delete(m.containers, j.id)
			delete(m.inspected, j.id)
			delete(m.retries, j.id)
		default:
			f, data, err := renderContainer(*j.inspect)
			s, listed := m.containers[j.id]
			if err != nil || !listed || f.Name != containerName(s) {
				again[j.id] = struct{}{} // renamed meanwhile, or unreadable
				continue
			}
			s.State = container.ContainerState(f.State)
			m.containers[j.id] = s
			m.inspected[j.id] = inspected{name: f.Name, data: data, problem: f.Problem, file: f}
			delete(m.retries, j.id)
		}
	}
	if len(again) == 0 {
		return nil
	}
	return e.syncContainers(ctx, c, again, false, now)
}

// act makes one engine call on a container.
func (e *Engine) act(ctx context.Context, c *conn, a action, id, name string) error {
	actx, cancel := context.WithTimeout(ctx, actionTimeout)
	defer cancel()
	switch a {
	case actStart:
		return c.cli.ContainerStart(actx, id, container.StartOptions{})
	case actStop:
		return c.cli.ContainerStop(actx, id, container.StopOptions{})
	case actPause:
		return c.cli.ContainerPause(actx, id)
	case actUnpause:
		return c.cli.ContainerUnpause(actx, id)
	case actRemove:
		return e.remove(actx, c, removal{kind: kindContainers, name: name, id: id})
	}
	return fmt.Errorf("no engine call for action %s", a)
}

// correctionDelay is how long after a correction the next one waits: none
// after the first action, then minCorrection, doubling up to maxCorrection.
func (e *Engine) correctionDelay(streak int) time.Duration {
	if streak <= 0 {
		return 0
	}
	return backoff.Delay(streak, e.policy.minCorrection, e.policy.maxCorrection)
}

// containerStatus fills st from the container's observed state and its
// track, and keeps the track's record of time in state.
func (e *Engine) containerStatus(st *objectStatus, tr *track, observed string, now time.Time) {
	p := e.policy
	st.exists = observed != stateMissing
	st.id = tr.id
	st.corrections, st.lastCorrection = tr.corrections, tr.lastCorrection
	a := nextAction(st.desired, observed)
	if a == actNone {
		tr.failures, tr.err = 0, nil // whatever failed is moot now
		// In its state under this declaration: whether an action put it
		// there or it already was, any action from now on is a correction.
		tr.acted = true
		if tr.inStateSince.IsZero() {
			tr.inStateSince = now
		}
		stableAt := tr.inStateSince.Add(p.stableFor)
		if tr.streak > 0 && !now.Before(stableAt) {
			tr.streak = 0
		}
		switch {
		case tr.streak >= p.crashLoopAfter:
			st.set(reconciler.OutcomeFailed, statusdir.ReasonCrashLoop,
				"keeps leaving its declared state %s: %s now, after %d corrections in a row (the last at %s); it counts as %s once it stays so for %s",
				st.desired, describeState(observed), tr.streak, stamp(tr.lastCorrection), st.desired, p.stableFor)
			st.requeue = stableAt
		default:
			st.set(reconciler.OutcomeDone, statusdir.ReasonInState, "")
			if tr.streak > 0 {
				st.requeue = stableAt // to forget the streak on time
			}
		}
		return
	}
	tr.inStateSince = time.Time{}
	switch a {
	case actWait:
		st.set(reconciler.OutcomePending, statusdir.ReasonWaiting, "%s; waiting for dockerd to finish", describeState(observed))
	case actNotFound:
		st.set(reconciler.OutcomeFailed, statusdir.ReasonNotFound,
			"does not exist (declared %s); rdd does not create containers: create it, and rdd brings it to %s", st.desired, st.desired)
	case actFail:
		if observed == stateDead {
			st.set(reconciler.OutcomeFailed, statusdir.ReasonDead,
				"is dead (dockerd failed to remove it) and cannot be %s; remove it and create it again", st.desired)
		} else {
			st.set(reconciler.OutcomeFailed, statusdir.ReasonUnexpected,
				"is in state %q, which rdd does not know how to bring to %q", observed, st.desired)
		}
	default:
		// An engine call is due, but not yet, or it just failed.
		st.requeue = tr.nextAt
		switch {
		case tr.err != nil:
			st.set(reconciler.OutcomeFailed, statusdir.ReasonActionFailed, "%s; rdd tries again at %s", tr.err, stamp(tr.nextAt))
		case tr.streak >= p.crashLoopAfter:
			st.set(reconciler.OutcomeFailed, statusdir.ReasonCrashLoop,
				"keeps leaving its declared state %s: %s after %d corrections in a row (the last at %s); the next correction is at %s",
				st.desired, describeState(observed), tr.streak, stamp(tr.lastCorrection), stamp(tr.nextAt))
		default:
			st.set(reconciler.OutcomePending, statusdir.ReasonBackingOff, "%s after %d correction(s) in a row; the next one (%s) is at %s",
				describeState(observed), tr.streak, a, stamp(tr.nextAt))
		}
	}
}

func describeState(observed string) string {
	if observed == stateMissing {
		return "gone"
	}
	return observed
}

// stamp renders a time in messages: absolute, to the second, so that a
// message does not change from one pass to the next.
func stamp(t time.Time) string {
	return t.UTC().Truncate(time.Second).Format(time.RFC3339)
}

func (e *Engine) enforceVolumes(ctx context.Context, c *conn, want map[string]schema.Volume, now time.Time) ([]objectStatus, error) {
	forgetRetries(e.decl, kindVolumes, want)
	if len(want) == 0 {
		return nil, nil
	}
	m := c.mirror
	byName := make(map[string]*volume.Volume, len(m.volumes))
	for _, v := range m.volumes {
		byName[v.Name] = v
	}
	names := slices.Sorted(maps.Keys(want))
	out := make([]objectStatus, len(names))
	acted := false
	for i, name := range names {
		w := want[name]
		st := &out[i]
		*st = objectStatus{kind: kindVolumes, name: name, desired: w.State}
		if m.volumes == nil {
			st.set(reconciler.OutcomePending, statusdir.ReasonNotObserved, "the engine's volumes are not listed yet")
			continue
		}
		v := byName[name]
		st.exists, st.vol = v != nil, v
		key := kindVolumes + "/" + name
		r := e.decl.retries[key]
		switch w.State {
		case "present":
			if v != nil {
				delete(e.decl.retries, key)
				if msg := volumeMismatch(v, w); msg != "" {
					st.set(reconciler.OutcomeFailed, statusdir.ReasonConflict, "%s; rdd does not recreate a volume (its data would be lost): remove it, and rdd creates it as declared", msg)
				} else {
					st.set(reconciler.OutcomeDone, statusdir.ReasonInState, "")
				}
				continue
			}
			if r != nil && now.Before(r.at) {
				st.requeue = r.at
				st.set(reconciler.OutcomeFailed, statusdir.ReasonActionFailed, "%v; rdd tries again at %s", r.err, stamp(r.at))
				continue
			}
			cctx, cancel := context.WithTimeout(ctx, actionTimeout)
			created, err := c.cli.VolumeCreate(cctx, volume.CreateOptions{Name: name, Driver: w.Driver, Labels: w.Labels})
			cancel()
			if err != nil {
				failed(e.decl.retries, key, fmt.Errorf("create: %w", err), now)
				r = e.decl.retries[key]
				st.requeue = r.at
				st.set(reconciler.OutcomeFailed, statusdir.ReasonActionFailed, "%v; rdd tries again at %s", r.err, stamp(r.at))
				continue
			}
			delete(e.decl.retries, key)
			e.log.Info("created declared volume", "name", name, "driver", created.Driver)
			acted = true
			st.exists, st.vol = true, &created
			st.set(reconciler.OutcomeDone, statusdir.ReasonInState, "")
		case "absent":
			if v == nil {
				delete(e.decl.retries, key)
				st.set(reconciler.OutcomeDone, statusdir.ReasonInState, "")
				continue
			}
			if holders := volumeHolders(m, name); len(holders) > 0 {
				st.set(reconciler.OutcomeFailed, statusdir.ReasonInUse, "is in use by container(s) %s; rdd removes it once they are gone",
					strings.Join(holders, ", "))
				continue
			}
			if r != nil && now.Before(r.at) {
				st.requeue = r.at
				st.set(reconciler.OutcomeFailed, reasonOf(r.err), "%v; rdd tries again at %s", r.err, stamp(r.at))
				continue
			}
			if err := e.removeNow(ctx, c, removal{kind: kindVolumes, name: name, id: v.CreatedAt}); err != nil {
				failed(e.decl.retries, key, err, now)
				r = e.decl.retries[key]
				st.requeue = r.at
				st.set(reconciler.OutcomeFailed, reasonOf(err), "%v; rdd tries again at %s", err, stamp(r.at))
				continue
			}
			delete(e.decl.retries, key)
			acted = true
			st.exists, st.vol = false, nil
			st.set(reconciler.OutcomeDone, statusdir.ReasonInState, "")
		default:
			st.set(reconciler.OutcomeFailed, statusdir.ReasonUnexpected, "declared state %q is not present or absent", w.State)
		}
	}
	if acted {
		if err := e.syncVolumes(ctx, c, now); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// volumeMismatch says how an existing volume differs from its declaration:
// another driver, or a declared label missing or different. Labels the
// volume has beyond the declared ones are its own business.
func volumeMismatch(v *volume.Volume, w schema.Volume) string {
	var diffs []string
	if w.Driver != "" && w.Driver != v.Driver {
		diffs = append(diffs, fmt.Sprintf("driver %q (declared %q)", v.Driver, w.Driver))
	}
	for _, k := range slices.Sorted(maps.Keys(w.Labels)) {
		if got, ok := v.Labels[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("no label %s (declared %q)", k, w.Labels[k]))
		} else if got != w.Labels[k] {
			diffs = append(diffs, fmt.Sprintf("label %s=%q (declared %q)", k, got, w.Labels[k]))
		}
	}
	if len(diffs) == 0 {
		return ""
	}
	return "exists with " + strings.Join(diffs, ", ")
}

// volumeHolders are the containers, by name, that mount the volume: while
// there is one, dockerd refuses to remove it.
func volumeHolders(m *mirror, name string) []string {
	var out []string
	for _, s := range m.containers {
		for _, mp := range s.Mounts {
			if mp.Type == mount.TypeVolume && mp.Name == name {
				out = append(out, containerName(s))
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

// imageHolders are the containers, by name, created from the image.
func imageHolders(m *mirror, id string) []string {
	var out []string
	for _, s := range m.containers {
		if s.ImageID == id {
			out = append(out, containerName(s))
		}
	}
	slices.Sort(out)
	return out
}

func (e *Engine) enforceImages(ctx context.Context, c *conn, want map[string]schema.Image, now time.Time) ([]objectStatus, error) {
	// Declared references are normalized as dockerd names its tags
	// (busybox -> busybox:latest), which is also their file's name.
	keys := map[string][]string{} // normalized -> as declared
	bad := map[string]error{}
	for ref := range want {
		key, err := imageKey(ref)
		if err != nil {
			bad[ref] = err
			continue
		}
		keys[key] = append(keys[key], ref)
	}
	c.pulls.forget(func(key string) bool { _, ok := keys[key]; return ok })
	forgetRetries(e.decl, kindImages, keys)
	if len(want) == 0 {
		return nil, nil
	}
	m := c.mirror
	var out []objectStatus
	for _, ref := range slices.Sorted(maps.Keys(bad)) {
		st := objectStatus{kind: kindImages, name: ref, desired: want[ref].State}
		st.set(reconciler.OutcomeFailed, statusdir.ReasonUnexpected, "is not an image reference dockerd accepts: %v", bad[ref])
		out = append(out, st)
	}
	acted := false
	for _, key := range slices.Sorted(maps.Keys(keys)) {
		refs := keys[key]
		slices.Sort(refs)
		desired := want[refs[0]].State
		st := objectStatus{kind: kindImages, name: key, desired: desired}
		if len(refs) > 1 && slices.ContainsFunc(refs, func(r string) bool { return want[r].State != desired }) {
			st.set(reconciler.OutcomeFailed, statusdir.ReasonConflict, "is declared both present and absent (as %s)", strings.Join(refs, ", "))
			out = append(out, st)
			continue
		}
		if m.images == nil {
			st.set(reconciler.OutcomePending, statusdir.ReasonNotObserved, "the engine's images are not listed yet")
			out = append(out, st)
			continue
		}
		img := findImage(m.images, key)
		st.exists, st.img = img != nil, img
		switch desired {
		case "present":
			if img != nil {
				c.pulls.forget(func(k string) bool { return k != key })
				st.set(reconciler.OutcomeDone, statusdir.ReasonInState, "")
				break
			}
			running, at, err := c.pulls.status(key)
			switch {
			case running:
				st.set(reconciler.OutcomePending, statusdir.ReasonPulling, "pulling (progress in the daemon log)")
			case err != nil && now.Before(at):
				st.requeue = at
				st.set(reconciler.OutcomeFailed, statusdir.ReasonPullFailed, "%v; rdd pulls again at %s", err, stamp(at))
			default:
				c.pulls.start(c.cli, key)
				st.set(reconciler.OutcomePending, statusdir.ReasonPulling, "pulling (progress in the daemon log)")
			}
		case "absent":
			if img == nil {
				delete(e.decl.retries, kindImages+"/"+key)
				st.set(reconciler.OutcomeDone, statusdir.ReasonInState, "")
				break
			}
			if len(realTags(img.RepoTags)) <= 1 {
				// Removing the last tag removes the image, which dockerd
				// refuses while a container uses it.
				if holders := imageHolders(m, img.ID); len(holders) > 0 {
					st.set(reconciler.OutcomeFailed, statusdir.ReasonInUse, "is in use by container(s) %s; rdd removes it once they are gone",
						strings.Join(holders, ", "))
					break
				}
			}
			rkey := kindImages + "/" + key
			if r := e.decl.retries[rkey]; r != nil && now.Before(r.at) {
				st.requeue = r.at
				st.set(reconciler.OutcomeFailed, reasonOf(r.err), "%v; rdd tries again at %s", r.err, stamp(r.at))
				break
			}
			if err := e.removeNow(ctx, c, removal{kind: kindImages, name: key, id: img.ID}); err != nil {
				failed(e.decl.retries, rkey, err, now)
				r := e.decl.retries[rkey]
				st.requeue = r.at
				st.set(reconciler.OutcomeFailed, reasonOf(err), "%v; rdd tries again at %s", err, stamp(r.at))
				break
			}
			delete(e.decl.retries, rkey)
			acted = true
			st.exists, st.img = false, nil
			st.set(reconciler.OutcomeDone, statusdir.ReasonInState, "")
		default:
			st.set(reconciler.OutcomeFailed, statusdir.ReasonUnexpected, "declared state %q is not present or absent", desired)
		}
		out = append(out, st)
	}
	if acted {
		if err := e.syncImages(ctx, c, now); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// imageKey normalizes a declared reference the way dockerd names its
// tags: familiar (no docker.io/library/), with :latest when there is no
// tag; a reference by digest is repository@digest.
func imageKey(ref string) (string, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return "", err
	}
	if dg, ok := named.(reference.Digested); ok {
		canon, err := reference.WithDigest(reference.TrimNamed(named), dg.Digest())
		if err != nil {
			return "", err
		}
		return reference.FamiliarString(canon), nil
	}
	return reference.FamiliarString(reference.TagNameOnly(named)), nil
}

// findImage finds the image a normalized reference names: by tag, or by
// repository digest.
func findImage(images []image.Summary, key string) *image.Summary {
	digest := strings.Contains(key, "@")
	for i := range images {
		refs := images[i].RepoTags
		if digest {
			refs = images[i].RepoDigests
		}
		if slices.Contains(refs, key) {
			return &images[i]
		}
	}
	return nil
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

// declaredFiles puts the declaration of each declared object into its
// file: the engine's view of it with its desired state and condition, or,
// for an object that does not exist but should, a MissingFile. The kinds
// that were never listed are statusdir.LeaveDir in files, which keeps their
// files as they are, and so is a container whose content is not known
// right now. The maps in files may be shared with the mirror's cache: they
// are copied before they change.
func (e *Engine) declaredFiles(files map[string]statusdir.Mirror, m *mirror, sts []objectStatus) {
	copied := map[string]bool{}
	put := func(sub, name string, v any) {
		data, err := statusdir.Marshal(v)
		if err != nil {
			e.log.Error("render declared object file", "dir", sub, "name", name, "err", err)
			return
		}
		mi := files[sub]
		if !copied[sub] {
			mi.Files = maps.Clone(mi.Files)
			files[sub] = mi
			copied[sub] = true
		}
		mi.Files[name] = statusdir.FileEntry(data)
	}
	for i := range sts {
		st := &sts[i]
		sub := st.kind
		if files[sub].Leave || st.reason == statusdir.ReasonNotObserved {
			continue
		}
		decl := st.declaration()
		switch {
		case st.kind == kindContainers && st.exists:
			ent, ok := m.inspected[st.id]
			if !ok || ent.name != st.name {
				continue // unknown right now: the file is kept as it is
			}
			f := ent.file
			f.Declaration = decl
			put(sub, st.name, f)
		case st.kind == kindVolumes && st.exists:
			f := volumeFile(st.vol)
			f.Declaration = decl
			put(sub, st.name, f)
		case st.kind == kindImages && st.exists:
			f := imageFile(*st.img, st.name)
			f.Declaration = decl
			put(sub, st.name, f)
		case st.desired == wantAbsent: // "absent" for every kind
			// Gone, as declared: no file.
		case st.kind == kindImages:
			put(sub, st.name, statusdir.MissingFile{Tag: st.name, Declaration: decl})
		default:
			put(sub, st.name, statusdir.MissingFile{Name: st.name, Declaration: decl})
		}
	}
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
