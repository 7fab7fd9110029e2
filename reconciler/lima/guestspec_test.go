package lima

import (
	"testing"

	"github.com/rddproject/rdd/schema"
)

// TestGuestDiff: every Guest key is compared, an old record without a
// mount type adopts the desired one, and nil equals empty.
func TestGuestDiff(t *testing.T) {
	want := Guest{
		MountType:    "9p",
		Env:          map[string]string{"TZ": "UTC"},
		DNS:          []string{"10.0.0.2"},
		Hosts:        map[string]string{"git.corp": "10.0.0.7"},
		PortForwards: []schema.PortForward{{GuestPort: 80, HostPort: 8080, HostIP: "127.0.0.1", Proto: "tcp"}},
		Provision:    []schema.Provision{{Mode: "system", Script: "#!/bin/sh\n"}},
	}
	got := guestDiff(Guest{MountType: "reverse-sshfs"}, want)
	keys := []string{"vm.mountType", "vm.env", "vm.dns", "vm.hosts", "vm.portForwards", "vm.provision"}
	if len(got) != len(keys) {
		t.Fatalf("got %v, want the keys %v", got, keys)
	}
	for i, k := range keys {
		if got[i].Key != k {
			t.Errorf("change %d is %s, want %s", i, got[i].Key, k)
		}
	}
	if got[0].From != "reverse-sshfs" || got[0].To != "9p" {
		t.Errorf("mountType change %+v", got[0])
	}
	if c := guestDiff(Guest{}, Guest{MountType: "reverse-sshfs", Env: map[string]string{}}); len(c) != 0 {
		t.Errorf("a record without a mount type and an empty env differ: %v", c)
	}
	if c := guestDiff(want, want); len(c) != 0 {
		t.Errorf("same guest differs: %v", c)
	}
}

// TestEnginePlan: the rows the driver's Plan appends for the engine keys
// come from the record next to the instance.
func TestEnginePlan(t *testing.T) {
	dir := t.TempDir()
	d := schema.Default().Defaults()
	d.ContainerEngine.RegistryMirrors = []string{"https://m.corp:5000"}
	d.VM.CACerts = nil
	got := EnginePlan(dir, d)
	if len(got) != 1 || got[0].Key != "containerEngine.registryMirrors" || got[0].Effect != "reload" {
		t.Errorf("plan %+v", got)
	}
}
