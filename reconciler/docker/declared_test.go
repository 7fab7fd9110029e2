//go:build linux

package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"

	"github.com/rddproject/rdd/backoff"
	"github.com/rddproject/rdd/reconciler"
	"github.com/rddproject/rdd/schema"
	"github.com/rddproject/rdd/statusdir"
)

// declare sets the declared containers (name -> state), leaving volumes
// and images as they are.
func (h *harness) declare(containers map[string]string) {
	h.set(h.socket, func(d *schema.Desired) {
		d.Containers = map[string]schema.Container{}
		for name, state := range containers {
			d.Containers[name] = schema.Container{State: state}
		}
	})
}

// waitDeclared waits for a pass whose declared outcome has the state (and
// reason, when not empty).
func (h *harness) waitDeclared(state reconciler.OutcomeState, reason string) reconciler.Outcome {
	h.t.Helper()
	var out reconciler.Outcome
	h.waitFor(fmt.Sprintf("declared outcome %d %s", state, reason), func() bool {
		h.mu.Lock()
		res, current := h.last, h.lastGen == h.gen
		h.mu.Unlock()
		out = res.Declared
		return current && res.Reason == statusdir.EngineConnected && out.State == state && (reason == "" || out.Reason == reason)
	})
	return out
}

func (f *fixture) state(id string) string {
	f.t.Helper()
	res, err := f.cli.ContainerInspect(f.ctx(), id)
	f.check("inspect", err)
	return string(res.State.Status)
}

// restarting creates containers that crash on their first 6 runs under
// the restart policy on-failure, and returns once dockerd holds each in
// restarting before its 6th restart (its backoff then is 3.2s), after
// which they run for good.
func (f *fixture) restarting(names ...string) map[string]string {
	f.t.Helper()
	ids := map[string]string{}
	for _, name := range names {
		ids[name] = f.create(name, func(_ *container.Config, hc *container.HostConfig) {
			hc.RestartPolicy = container.RestartPolicy{Name: container.RestartPolicyOnFailure}
		}, "/rddtest", "crash", "6")
	}
	ctx, cancel := context.WithTimeout(f.ctx(), waitTimeout)
	defer cancel()
	args := filters.NewArgs(filters.Arg("event", "die"))
	for _, id := range ids {
		args.Add("container", id)
	}
	msgs, errs := f.cli.Events(ctx, events.ListOptions{Filters: args})
	for _, id := range ids {
		f.check("start", f.cli.ContainerStart(f.ctx(), id, container.StartOptions{}))
	}
	dies := map[string]int{}
	for done := 0; done < len(ids); {
		select {
		case m := <-msgs:
			if dies[m.Actor.ID]++; dies[m.Actor.ID] == 6 {
				done++
			}
		case err := <-errs:
			f.t.Fatalf("events: %v", err)
		}
	}
	return ids
}

// Every cell of the state table that a real dockerd can produce: a
// container in each of created, running, paused, restarting and exited,
// for each declared state. One declaration settles them all, and every
// container ends in its state; their files say they are declared, their
// desired state and a True condition.
func TestDeclaredCells(t *testing.T) {
	t.Parallel()
	f := newFixture(t, sharedSocket())
	h := newHarness(t, sharedSocket()).start()
	h.waitReason(statusdir.EngineConnected)

	prefix := uniq("rdd-cell")
	made := map[string]func(name string) string{
		stateCreated: func(name string) string { return f.create(name, nil) },
		stateRunning: func(name string) string {
			id := f.create(name, nil)
			f.check("start", f.cli.ContainerStart(f.ctx(), id, container.StartOptions{}))
			return id
		},
		statePaused: func(name string) string {
			id := f.create(name, nil)
			f.check("start", f.cli.ContainerStart(f.ctx(), id, container.StartOptions{}))
			f.check("pause", f.cli.ContainerPause(f.ctx(), id))
			return id
		},
		stateExited: func(name string) string {
			id := f.create(name, nil)
			f.check("start", f.cli.ContainerStart(f.ctx(), id, container.StartOptions{}))
			f.check("stop", f.cli.ContainerStop(f.ctx(), id, container.StopOptions{}))
			return id
		},
	}
	want := map[string]string{} // name -> declared state
	ids := map[string]string{}
	for _, desired := range []string{wantRunning, wantStopped, wantPaused, wantAbsent} {
		for observed, make := range made {
			name := prefix + "-" + desired + "-" + observed
			ids[name] = make(name)
			want[name] = desired
		}
	}
	// The restarting ones are made last and declared at once: dockerd
	// holds each in restarting for 3.2s.
	var restarting []string
	for _, desired := range []string{wantRunning, wantStopped, wantPaused, wantAbsent} {
		name := prefix + "-" + desired + "-restarting"
		restarting = append(restarting, name)
		want[name] = desired
	}
	maps.Copy(ids, f.restarting(restarting...))
	for name, id := range ids {
		if strings.HasSuffix(name, "-restarting") {
			if s := f.state(id); s != stateRestarting {
				t.Logf("%s is %s, not restarting, when declared", name, s)
			}
		}
	}
	h.declare(want)
	h.waitDeclared(reconciler.OutcomeDone, "")

	for name, desired := range want {
		data := h.file(containersDir, name)
		if desired == wantAbsent {
			if _, err := f.cli.ContainerInspect(f.ctx(), ids[name]); err == nil {
				t.Errorf("%s: declared absent, still exists", name)
			}
			if data != nil {
				t.Errorf("%s: declared absent and gone, but has a file:\n%s", name, data)
			}
			continue
		}
		got := f.state(ids[name])
		ok := got == desired ||
			desired == wantStopped && (got == stateExited || got == stateCreated) ||
			desired == wantRunning && got == stateRunning
		if !ok {
			t.Errorf("%s: declared %s, is %s", name, desired, got)
		}
		if !hasLines(data, "declared: true", "desired: "+desired, `status: "True"`, "reason: InState") {
			t.Errorf("%s: file does not carry its declaration:\n%s", name, data)
		}
	}
	// An undeclared container is never touched.
	other := f.create(prefix+"-undeclared", nil)
	h.waitFile(containersDir, prefix+"-undeclared", "state: created")
	for range 2 {
		h.wakeAndWait()
	}
	if s := f.state(other); s != stateCreated {
		t.Errorf("undeclared container is %s, want created (untouched)", s)
	}
	if data := h.file(containersDir, prefix+"-undeclared"); strings.Contains(string(data), "declared: ") {
		t.Errorf("undeclared container's file carries a declaration:\n%s", data)
	}
}

// A declared container that does not exist: its file and the outcome say
// NotFound; once it is created, it is brought to its state and the outcome
// is Done.
func TestDeclaredMissing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, sharedSocket())
	h := newHarness(t, sharedSocket()).start()
	h.waitReason(statusdir.EngineConnected)
	name := uniq("rdd-late")
	h.declare(map[string]string{name: wantRunning})
	out := h.waitDeclared(reconciler.OutcomeFailed, statusdir.ReasonNotFound)
	if !strings.Contains(out.Message, `container "`+name+`"`) || !strings.Contains(out.Message, "does not exist") {
		t.Errorf("message %q does not name the container and say it does not exist", out.Message)
	}
	data := h.waitFile(containersDir, name, "name: "+name, "declared: true", "desired: running", `status: "False"`, "reason: NotFound")
	if strings.Contains(string(data), "state:") || strings.Contains(string(data), "id:") {
		t.Errorf("the file of a missing container shows a state or an ID:\n%s", data)
	}

	id := f.create(name, nil)
	h.waitDeclared(reconciler.OutcomeDone, "")
	if s := f.state(id); s != stateRunning {
		t.Errorf("created later: %s, want running", s)
	}
	h.waitFile(containersDir, name, "state: running", "reason: InState")
}

// An out-of-band stop of a container declared running is corrected on the
// next pass (its event wakes the loop) and counted in its file; a settled
// pass after that writes nothing.
func TestDeclaredCorrection(t *testing.T) {
	t.Parallel()
	f := newFixture(t, sharedSocket())
	h := newHarness(t, sharedSocket()).start()
	h.waitReason(statusdir.EngineConnected)
	name := uniq("rdd-fix")
	id := f.create(name, nil)
	h.declare(map[string]string{name: wantRunning})
	h.waitDeclared(reconciler.OutcomeDone, "")
	data := h.waitFile(containersDir, name, "state: running")
	if strings.Contains(string(data), "corrections") {
		t.Errorf("the first start is not a correction:\n%s", data)
	}

	f.check("stop", f.cli.ContainerStop(f.ctx(), id, container.StopOptions{}))
	data = h.waitFile(containersDir, name, "state: running", "corrections: 1")
	if !strings.Contains(string(data), "lastCorrection: ") {
		t.Errorf("no time of the last correction:\n%s", data)
	}
	h.waitDeclared(reconciler.OutcomeDone, "")

	// Settled: more passes do not rewrite its file (identical state,
	// identical bytes). Other files may change: the dockerd is shared.
	h.waitPasses(1)
	before := only(stamps(t, h.dir.Root()), rel(containersDir, name))
	for range 3 {
		h.wakeAndWait()
	}
	sameStamps(t, "settled passes", before, stamps(t, h.dir.Root()))
}

// A container already in its declared state when it is declared needs no
// action; an out-of-band stop after that is its first correction, counted
// in its file like any other.
func TestDeclaredInStateFirstCorrection(t *testing.T) {
	t.Parallel()
	f := newFixture(t, sharedSocket())
	h := newHarness(t, sharedSocket()).start()
	h.waitReason(statusdir.EngineConnected)
	name := uniq("rdd-instate")
	id := f.create(name, nil)
	f.check("start", f.cli.ContainerStart(f.ctx(), id, container.StartOptions{}))
	h.waitFile(containersDir, name, "state: running")
	h.declare(map[string]string{name: wantRunning})
	h.waitDeclared(reconciler.OutcomeDone, "")
	data := h.waitFile(containersDir, name, "state: running", "reason: InState")
	if strings.Contains(string(data), "corrections") {
		t.Errorf("declaring a container in its state is not a correction:\n%s", data)
	}

	f.check("stop", f.cli.ContainerStop(f.ctx(), id, container.StopOptions{}))
	data = h.waitFile(containersDir, name, "state: running", "corrections: 1")
	if !strings.Contains(string(data), "lastCorrection: ") {
		t.Errorf("no time of the first correction:\n%s", data)
	}
}

// A declared running container that keeps dying is not fought in a hot
// loop: after the first correction, each one waits twice as long as the
// one before (1s, 2s, 4s...), and after crashLoopAfter of them in a row
// the outcome is CrashLoop (failed), with a message that says so.
func TestDeclaredCrashLoop(t *testing.T) {
	t.Parallel()
	f := newFixture(t, sharedSocket())
	h := newHarness(t, sharedSocket()).start()
	h.waitReason(statusdir.EngineConnected)
	name := uniq("rdd-crash")
	id := f.create(name, nil, "/rddtest", "exit", "1")

	t0 := time.Now()
	h.declare(map[string]string{name: wantRunning})
	out := h.waitDeclared(reconciler.OutcomeFailed, statusdir.ReasonCrashLoop)
	if !strings.Contains(out.Message, `container "`+name+`": keeps leaving its declared state running`) {
		t.Errorf("message %q", out.Message)
	}
	h.waitFile(containersDir, name, "reason: CrashLoop", `status: "False"`, "corrections: 3")
	// dockerd's own record of the starts over 7s: the first start, the
	// first correction at once, then corrections 1s and 2s after the
	// attempt before them ended. A hot loop would start it every time it
	// died, a start every half second.
	<-time.After(7*time.Second - time.Since(t0)) // the window counted, not a wait for a state
	starts := eventTimes(t, f, id, "start", t0, t0.Add(7*time.Second))
	if len(starts) < 3 || len(starts) > 5 {
		t.Errorf("%d starts in 7s, want 3 to 5: %v", len(starts), starts)
	}
	for k := 2; k < len(starts); k++ {
		if gap, least := starts[k].Sub(starts[k-1]), backoff.Delay(k-1, time.Second, time.Minute); gap < least {
			t.Errorf("start %d came %s after the one before, want at least %s", k, gap, least)
		}
	}
}

// Volumes: present creates with the declared driver and labels; an
// existing volume with other labels is a Conflict; absent removes; a
// volume in use is reported with its holders, and removed once they are
// gone.
func TestDeclaredVolumes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, sharedSocket())
	vol, held, clash := uniq("rdd-vol"), uniq("rdd-held"), uniq("rdd-clash")
	// Registered before the harness starts, so that it runs after the
	// harness stopped: a running one would create vol again.
	t.Cleanup(func() {
		for _, v := range []string{vol, held, clash} {
			f.cli.VolumeRemove(context.Background(), v, true)
		}
	})
	h := newHarness(t, sharedSocket()).start()
	h.waitReason(statusdir.EngineConnected)
	_, err := f.cli.VolumeCreate(f.ctx(), volume.CreateOptions{Name: held})
	f.check("create volume", err)
	_, err = f.cli.VolumeCreate(f.ctx(), volume.CreateOptions{Name: clash, Labels: map[string]string{"team": "a"}})
	f.check("create volume", err)
	holder := uniq("rdd-holder")
	hid := f.create(holder, func(_ *container.Config, hc *container.HostConfig) {
		hc.Mounts = []mount.Mount{{Type: mount.TypeVolume, Source: held, Target: "/data"}}
	})
	h.waitFile(containersDir, holder, "name: "+holder) // the mirror knows it holds the volume

	h.set(h.socket, func(d *schema.Desired) {
		d.Volumes = map[string]schema.Volume{
			vol:   {State: "present", Driver: "local", Labels: map[string]string{"team": "db"}},
			held:  {State: "absent"},
			clash: {State: "present", Labels: map[string]string{"team": "b"}},
		}
	})
	out := h.waitDeclared(reconciler.OutcomeFailed, "")
	h.waitFile(volumesDir, vol, "name: "+vol, "driver: local", "team: db", "declared: true", "desired: present", "reason: InState")
	res, err := f.cli.VolumeInspect(f.ctx(), vol)
	f.check("inspect volume", err)
	if res.Labels["team"] != "db" {
		t.Errorf("created volume labels %v", res.Labels)
	}
	for _, want := range []string{
		fmt.Sprintf("volume %q: is in use by container(s) %s", held, holder),
		fmt.Sprintf(`volume %q: exists with label team="a" (declared "b")`, clash),
	} {
		if !strings.Contains(out.Message, want) {
			t.Errorf("failed message %q does not say %q", out.Message, want)
		}
	}
	if first := slices.Min([]string{held, clash}); first == clash && out.Reason != statusdir.ReasonConflict || first == held && out.Reason != statusdir.ReasonInUse {
		t.Errorf("reason %s, want the first failed object's (%s)", out.Reason, first)
	}
	h.waitFile(volumesDir, held, "reason: InUse", "desired: absent")

	// The holder goes: the volume goes with the next pass.
	f.check("remove holder", f.cli.ContainerRemove(f.ctx(), hid, container.RemoveOptions{}))
	h.waitGone(volumesDir, held)
	h.set(h.socket, func(d *schema.Desired) {
		d.Volumes = maps.Clone(d.Volumes) // a pass may be reading the old map
		delete(d.Volumes, clash)
	})
	h.waitDeclared(reconciler.OutcomeDone, "")
	if _, err := f.cli.VolumeInspect(f.ctx(), held); err == nil {
		t.Errorf("volume %s declared absent still exists", held)
	}
	if data := h.file(volumesDir, clash); strings.Contains(string(data), "declared: ") {
		t.Errorf("a volume no longer declared keeps its declaration:\n%s", data)
	}
}

// One change that stops a container and removes a volume settles in one
// pass: the first result after it is Done.
func TestDeclaredOnePass(t *testing.T) {
	t.Parallel()
	f := newFixture(t, sharedSocket())
	h := newHarness(t, sharedSocket()).start()
	h.waitReason(statusdir.EngineConnected)
	name, vol := uniq("rdd-one"), uniq("rdd-onevol")
	t.Cleanup(func() { f.cli.VolumeRemove(context.Background(), vol, true) })
	id := f.create(name, nil)
	f.check("start", f.cli.ContainerStart(f.ctx(), id, container.StartOptions{}))
	_, err := f.cli.VolumeCreate(f.ctx(), volume.CreateOptions{Name: vol})
	f.check("create volume", err)
	h.waitFile(volumesDir, vol, "name: "+vol)
	h.waitFile(containersDir, name, "state: running")

	var first reconciler.EngineResult
	h.set(h.socket, func(d *schema.Desired) {
		d.Containers = map[string]schema.Container{name: {State: wantStopped}}
		d.Volumes = map[string]schema.Volume{vol: {State: "absent"}}
	})
	h.waitFor("the first pass after the change", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		if first.Reason == "" && h.lastGen == h.gen {
			first = h.last
		}
		return first.Reason != ""
	})
	if first.Declared.State != reconciler.OutcomeDone {
		t.Errorf("first pass after the change: %+v, want Done", first.Declared)
	}
	if s := f.state(id); s != stateExited {
		t.Errorf("container is %s, want exited", s)
	}
	if _, err := f.cli.VolumeInspect(f.ctx(), vol); err == nil {
		t.Errorf("volume still exists")
	}
	if h.file(volumesDir, vol) != nil {
		t.Errorf("the removed volume still has a file after the pass that removed it")
	}
	h.waitFile(containersDir, name, "state: exited", "desired: stopped")
}

// eventTimes lists the times of the container's events of one action
// between from and to, from dockerd's own record.
func eventTimes(t *testing.T, f *fixture, id, action string, from, to time.Time) []time.Time {
	t.Helper()
	ctx, cancel := context.WithTimeout(f.ctx(), waitTimeout)
	defer cancel()
	msgs, errs := f.cli.Events(ctx, events.ListOptions{
		Since:   fmt.Sprintf("%d.%09d", from.Unix(), from.Nanosecond()),
		Until:   fmt.Sprintf("%d.%09d", to.Unix(), to.Nanosecond()),
		Filters: filters.NewArgs(filters.Arg("container", id), filters.Arg("event", action)),
	})
	var out []time.Time
	for {
		select {
		case m := <-msgs:
			out = append(out, time.Unix(0, m.TimeNano))
		case err := <-errs:
			if err != nil && !errors.Is(err, io.EOF) {
				t.Fatalf("events: %v", err)
			}
			return out
		}
	}
}
