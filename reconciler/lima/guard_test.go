package lima

import (
	"testing"

	"github.com/rddproject/rdd/effect"
	"github.com/rddproject/rdd/reconciler"
	"github.com/rddproject/rdd/schema"
	"github.com/rddproject/rdd/statusdir"
)

// A recreate without permission is held: the instance is not touched (no
// stop, no delete), the VM stays Running with its socket, and Held says
// NeedsConfirmation naming the key, what is lost and the command. With
// permission it recreates.
func TestRecreateNeedsConfirmation(t *testing.T) {
	f := newFixture(t, nil)
	f.mustRun(t, desired(true))
	d := desired(true)
	d.VM.Image = &schema.VMImage{Location: "/srv/img/disk.raw"}
	d.VM.CPUs = 3
	r := f.dr.Reconcile(t.Context(), d, reconciler.Allow{})
	if r.Reason != statusdir.VMRunning || r.Socket != f.socket || r.Held == nil || r.Held.Reason != statusdir.NeedsConfirmation {
		t.Fatalf("want Running, socket kept, held NeedsConfirmation; got %+v", r)
	}
	assertContains(t, "held message", r.Held.Message, "vm.image (Lima's default image -> /srv/img/disk.raw)",
		"every container, image and volume inside it is lost", "rdd confirm recreate", "vm.recreate: allow", "Nothing was changed")
	if f.calls("stop") != 0 || f.calls("delete") != 0 || f.calls("edit") != 0 {
		t.Errorf("the instance was touched: stop %d delete %d edit %d", f.calls("stop"), f.calls("delete"), f.calls("edit"))
	}
	if f.listStatus() != "Running" {
		t.Error("the VM does not run any more")
	}
	// Plan says recreate for the image and vm-restart for the cpus.
	p := effect.New("", f.dr.Plan(d))
	if p.Effect != effect.Recreate || len(p.Keys(effect.VMRestart)) != 1 {
		t.Errorf("plan %+v", p)
	}

	first := f.dr.Reconcile(t.Context(), d, reconciler.Allow{Recreate: true})
	if first.Reason != statusdir.VMRestarting || len(first.Applying) != 2 {
		t.Fatalf("allowed: %+v", first)
	}
	// The recreated instance has the new image: nothing is held any more.
	if r, seen := f.settle(t.Context(), f.dr, d); r.Reason != statusdir.VMRunning || r.Held != nil {
		t.Fatalf("after the recreate: %+v (seen %v)", r, seen)
	}
	if f.calls("delete") != 1 || f.calls("create") != 2 {
		t.Errorf("delete %d create %d", f.calls("delete"), f.calls("create"))
	}
}

// A value `limactl edit --set` cannot carry (a Windows path in a mount)
// refuses the change before anything is stopped: the VM keeps running,
// the engine keeps its socket, and no stop or edit is run.
func TestUncarriableValueRefusedBeforeStopping(t *testing.T) {
	f := newFixture(t, nil)
	f.mustRun(t, desired(true))
	d := desired(true)
	d.VM.Mounts = []schema.Mount{{Location: `C:\Users\x`}}
	r := f.dr.Reconcile(t.Context(), d, f.allow)
	if r.Reason != statusdir.VMRunning || r.Socket != f.socket || r.Held == nil || r.Held.Reason != statusdir.ChangeRefused {
		t.Fatalf("want Running with the change refused, got %+v", r)
	}
	assertContains(t, "held message", r.Held.Message, "vm.mounts", "cannot carry", `C:\\Users\\x`)
	if f.calls("stop") != 0 || f.calls("edit") != 0 {
		t.Errorf("stop %d, edit %d: nothing may be stopped for an edit that fails", f.calls("stop"), f.calls("edit"))
	}
}

// While a restart applies a change, Applying lists it; after, it is nil.
// Running is reported only once limactl list --json shows the new cpus:
// until then the driver stays Restarting without a socket.
func TestAppliedOnlyWhenReported(t *testing.T) {
	f := newFixture(t, nil)
	f.mustRun(t, desired(true))
	d := desired(true)
	d.VM.CPUs = 3
	f.control("list-cpus", "2") // Lima has not caught up
	first := f.dr.Reconcile(t.Context(), d, f.allow)
	if first.Reason != statusdir.VMRestarting || len(first.Applying) != 1 || first.Applying[0].Key != "vm.cpus" ||
		first.Applying[0].Effect != effect.VMRestart {
		t.Fatalf("first pass: %+v", first)
	}
	// Wait for the operation to end.
	for r := first; r.Requeue == 0; r = f.dr.Reconcile(t.Context(), d, f.allow) {
		if r.Reason == statusdir.VMRunning {
			t.Fatalf("Running while limactl list reports 2 cpus: %+v", r)
		}
		<-f.dr.Changes()
	}
	r := f.dr.Reconcile(t.Context(), d, f.allow)
	if r.Reason != statusdir.VMRestarting || r.Socket != "" || len(r.Applying) != 1 {
		t.Fatalf("while list lags: %+v", r)
	}
	assertContains(t, "message", r.Message, "limactl list --json reports cpus 2 (want 3)")
	if n := f.calls("start"); n != 2 {
		t.Errorf("%d starts: waiting must not restart again", n)
	}
	f.control("list-cpus", "")
	r = f.dr.Reconcile(t.Context(), d, f.allow)
	if r.Reason != statusdir.VMRunning || r.Applying != nil || r.Status.CPUs != 3 {
		t.Fatalf("once reported: %+v", r)
	}
}

// Plan works without a daemon: a fresh driver reads the record.
func TestPlanWithoutObservation(t *testing.T) {
	f := newFixture(t, nil)
	fresh := New(f.cfg)
	if p := fresh.Plan(desired(true)); len(p) != 0 {
		t.Errorf("no instance: %+v", p)
	}
	f.mustRun(t, desired(true))
	f.dr.Close()
	d := desired(true)
	d.VM.CPUs, d.VM.Disk = 4, "10GiB"
	got := New(f.cfg).Plan(d)
	if len(got) != 2 || got[0].Key != "vm.cpus" || got[0].Effect != effect.VMRestart || got[1].Effect != effect.Refused {
		t.Errorf("plan %+v", got)
	}
}
