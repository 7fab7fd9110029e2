package lima

import (
	"testing"

	"github.com/rddproject/rdd/schema"
)

// TestPlan is the driver's whole policy as a table: observed instance x
// desired state -> action.
func TestPlan(t *testing.T) {
	want := Spec{CPUs: 2, Memory: "4GiB", Disk: "100GiB", VMType: "qemu", Mounts: []schema.Mount{}, Engine: "moby", Socket: "/s"}
	same := want
	moreCPUs := want
	moreCPUs.CPUs = 4
	bigger := want
	bigger.Disk = "200GiB"
	otherImage := want
	otherImage.Image = &schema.VMImage{Location: "/img"}

	for _, tc := range []struct {
		name    string
		obs     observation
		running bool
		want    action
	}{
		{"absent, off", observation{}, false, actNone},
		{"absent, on", observation{}, true, actCreate},
		{"stopped, off", observation{Exists: true, Status: "Stopped", Applied: &same}, false, actNone},
		{"stopped with changes, off: wait for the next start", observation{Exists: true, Status: "Stopped", Applied: &moreCPUs}, false, actNone},
		{"running, off", observation{Exists: true, Status: "Running", Applied: &same}, false, actStop},
		{"broken, off", observation{Exists: true, Status: "Broken", Applied: &same}, false, actForceStop},
		{"unknown status, off", observation{Exists: true, Status: "Installing", Applied: &same}, false, actUnexpected},
		{"stopped, on", observation{Exists: true, Status: "Stopped", Applied: &same}, true, actStart},
		{"stopped with changes, on", observation{Exists: true, Status: "Stopped", Applied: &moreCPUs}, true, actStart},
		{"running, on: adopt", observation{Exists: true, Status: "Running", Applied: &same}, true, actNone},
		{"running with changes, on", observation{Exists: true, Status: "Running", Applied: &moreCPUs}, true, actRestart},
		{"running without a record, on", observation{Exists: true, Status: "Running"}, true, actRestart},
		{"running, disk would shrink", observation{Exists: true, Status: "Running", Applied: &bigger}, true, actRefuse},
		{"stopped, disk would shrink", observation{Exists: true, Status: "Stopped", Applied: &bigger}, true, actRefuse},
		{"running, new image", observation{Exists: true, Status: "Running", Applied: &otherImage}, true, actRecreate},
		{"broken, on", observation{Exists: true, Status: "Broken", Applied: &same}, true, actRepair},
		{"unknown status, on", observation{Exists: true, Status: "Uninitialized", Applied: &same}, true, actUnexpected},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := plan(tc.obs, want, tc.running).Action; got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
