package reconciler

import (
	"testing"

	"github.com/rddproject/rdd/effect"
	"github.com/rddproject/rdd/schema"
)

// fakePlanner reports fixed changes, standing in for a driver's table.
type fakePlanner []effect.Change

func (f fakePlanner) Plan(*schema.Desired) []effect.Change { return f }

func TestPlan(t *testing.T) {
	base := schema.Default().Defaults()
	base.Running = true
	with := func(f func(d *schema.Desired)) *schema.Desired {
		d := *base
		d.VM.Mounts = append([]schema.Mount(nil), base.VM.Mounts...)
		f(&d)
		return &d
	}
	cpus := fakePlanner{{Key: "vm.cpus", From: "2", To: "4", Effect: effect.VMRestart, Why: "lima"}}
	tests := []struct {
		name     string
		inForce  *schema.Desired
		d        *schema.Desired
		vm       Planner
		want     effect.Effect
		wantKeys []string
	}{
		{"nothing changed", base, base, nil, effect.None, nil},
		{"nothing applied yet, running", nil, base, nil, effect.VMRestart, []string{"running"}},
		{"nothing applied yet, stopped", nil, with(func(d *schema.Desired) { d.Running = false }), nil, effect.None, []string{"running"}},
		{"driver row wins over the fallback", base, with(func(d *schema.Desired) { d.VM.CPUs = 4 }), cpus, effect.VMRestart, []string{"vm.cpus"}},
		{"no driver row: conservative", base, with(func(d *schema.Desired) { d.VM.CPUs = 4 }), nil, effect.VMRestart, []string{"vm.cpus"}},
		{"stop", base, with(func(d *schema.Desired) { d.Running = false }), nil, effect.VMRestart, []string{"running"}},
		{"kubernetes is none", base, with(func(d *schema.Desired) { d.Kubernetes.Enabled = true }), nil, effect.None, []string{"kubernetes.enabled"}},
		{"declared object already there", base, with(func(d *schema.Desired) {
			d.Containers = map[string]schema.Container{"web.1": {State: "running"}}
		}), nil, effect.None, []string{`containers."web.1".state`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Plan("sha256:x", tt.inForce, tt.d, tt.vm, nil)
			if p.Effect != tt.want {
				t.Errorf("effect %s, want %s (%+v)", p.Effect, tt.want, p.Changes)
			}
			var keys []string
			for _, c := range p.Changes {
				keys = append(keys, c.Key)
				if c.Why == "" {
					t.Errorf("%s has no reason", c.Key)
				}
			}
			if len(keys) != len(tt.wantKeys) {
				t.Fatalf("keys %v, want %v", keys, tt.wantKeys)
			}
			for i := range keys {
				if keys[i] != tt.wantKeys[i] {
					t.Errorf("keys %v, want %v", keys, tt.wantKeys)
				}
			}
		})
	}
}

func TestFlattenQuotesKeys(t *testing.T) {
	d := schema.Default().Defaults()
	d.Images = map[string]schema.Image{"ghcr.io/x/y:1": {State: "absent"}}
	flat := Flatten(d)
	if flat[`images."ghcr.io/x/y:1".state`] != "absent" {
		t.Errorf("image key not quoted as rdd set takes it: %v", flat)
	}
	path, err := schema.ParsePath(`images."ghcr.io/x/y:1".state`)
	if err != nil || len(path) != 3 || path[1] != "ghcr.io/x/y:1" {
		t.Errorf("ParsePath of the flattened key: %v %v", path, err)
	}
}
