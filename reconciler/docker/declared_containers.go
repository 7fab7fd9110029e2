package docker

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"

	"github.com/rddproject/rdd/backoff"
	"github.com/rddproject/rdd/reconciler"
	"github.com/rddproject/rdd/schema"
	"github.com/rddproject/rdd/statusdir"
)

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
