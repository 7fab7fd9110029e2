package lima

import (
	"testing"

	"github.com/rddproject/rdd/reconciler"
	"github.com/rddproject/rdd/schema"
)

// TestDecide is the driver's whole policy as a table: observed instance x
// desired state -> action.
func TestDecide(t *testing.T) {
	want := Spec{CPUs: 2, Memory: "4GiB", Disk: "100GiB", VMType: "qemu", Mounts: []schema.Mount{}, Engine: "moby", Socket: "/s"}
	same := want
	moreCPUs := want
	moreCPUs.CPUs = 4
	bigger := want
	bigger.Disk = "200GiB"
	otherImage := want
	otherImage.Image = &schema.VMImage{Location: "/img"}
	allowed := reconciler.Allow{Recreate: true}

	for _, tc := range []struct {
		name    string
		obs     observation
		running bool
		want    action
		allow   reconciler.Allow
	}{
		{"absent, off", observation{}, false, actNone, reconciler.Allow{}},
		{"absent, on", observation{}, true, actCreate, reconciler.Allow{}},
		{"stopped, off", observation{Exists: true, Status: "Stopped", Applied: &same}, false, actNone, reconciler.Allow{}},
		{"stopped with changes, off: wait for the next start", observation{Exists: true, Status: "Stopped", Applied: &moreCPUs}, false, actNone, reconciler.Allow{}},
		{"running, off", observation{Exists: true, Status: "Running", Applied: &same}, false, actStop, reconciler.Allow{}},
		{"broken, off", observation{Exists: true, Status: "Broken", Applied: &same}, false, actForceStop, reconciler.Allow{}},
		{"unknown status, off", observation{Exists: true, Status: "Installing", Applied: &same}, false, actUnexpected, reconciler.Allow{}},
		{"stopped, on", observation{Exists: true, Status: "Stopped", Applied: &same}, true, actStart, reconciler.Allow{}},
		{"stopped with changes, on", observation{Exists: true, Status: "Stopped", Applied: &moreCPUs}, true, actStart, reconciler.Allow{}},
		{"running, on: adopt", observation{Exists: true, Status: "Running", Applied: &same}, true, actNone, reconciler.Allow{}},
		{"running with changes, on", observation{Exists: true, Status: "Running", Applied: &moreCPUs}, true, actRestart, reconciler.Allow{}},
		{"running without a record, on", observation{Exists: true, Status: "Running"}, true, actRestart, reconciler.Allow{}},
		{"running, disk would shrink", observation{Exists: true, Status: "Running", Applied: &bigger}, true, actHold, reconciler.Allow{}},
		{"stopped, disk would shrink", observation{Exists: true, Status: "Stopped", Applied: &bigger}, true, actHold, reconciler.Allow{}},
		{"running, new image, not allowed", observation{Exists: true, Status: "Running", Applied: &otherImage}, true, actHold, reconciler.Allow{}},
		{"running, new image, allowed", observation{Exists: true, Status: "Running", Applied: &otherImage}, true, actRecreate, allowed},
		{"broken, new image, not allowed: repaired as it was", observation{Exists: true, Status: "Broken", Applied: &otherImage}, true, actRepair, reconciler.Allow{}},
		{"broken, on", observation{Exists: true, Status: "Broken", Applied: &same}, true, actRepair, reconciler.Allow{}},
		{"broken with changes, on", observation{Exists: true, Status: "Broken", Applied: &moreCPUs}, true, actRepair, reconciler.Allow{}},
		{"unknown status, on", observation{Exists: true, Status: "Uninitialized", Applied: &same}, true, actUnexpected, reconciler.Allow{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := decide(tc.obs, effects(tc.obs, want), tc.running, tc.allow)
			if d.Action != tc.want {
				t.Errorf("got %v, want %v", d.Action, tc.want)
			}
			if held := d.Action == actHold || d.Held != nil; held != (d.Held != nil) {
				t.Errorf("hold without a held change: %+v", d)
			}
		})
	}
}
