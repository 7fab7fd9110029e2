package host

import (
	"context"
	"strings"
	"testing"

	"github.com/rddproject/rdd/effect"
	"github.com/rddproject/rdd/reconciler"
	"github.com/rddproject/rdd/schema"
	"github.com/rddproject/rdd/statusdir"
)

func TestReconcile(t *testing.T) {
	env := map[string]string{}
	h := &Driver{Home: "/h/.rd", Getenv: func(k string) string { return env[k] }}
	d := schema.Default().Defaults()
	d.VM.Driver = "host"

	if r := h.Reconcile(t.Context(), d, reconciler.Allow{}); r.Reason != statusdir.VMStopped || r.Socket != "" {
		t.Errorf("running=false: %+v", r)
	}
	d.Running = true
	for _, tc := range []struct{ socket, dockerHost, want string }{
		{"", "", DefaultSocket},
		{"", "unix:///run/user/1000/docker.sock", "/run/user/1000/docker.sock"},
		{"", "tcp://127.0.0.1:2375", DefaultSocket},
		{"/tmp/x.sock", "unix:///other.sock", "/tmp/x.sock"},
		{"unix:///tmp/y.sock", "", "/tmp/y.sock"},
		{"engine.sock", "", "/h/.rd/engine.sock"},
	} {
		env["DOCKER_HOST"] = tc.dockerHost
		d.ContainerEngine.Socket = tc.socket
		r := h.Reconcile(t.Context(), d, reconciler.Allow{})
		if r.Reason != statusdir.VMRunning || r.Socket != tc.want || r.Status.Driver != "host" {
			t.Errorf("socket %q DOCKER_HOST %q: %+v, want socket %q", tc.socket, tc.dockerHost, r, tc.want)
		}
	}
}

// Every VM key is none with the host driver, saying why; a socket change
// is live; nothing is listed before anything is in force.
func TestPlan(t *testing.T) {
	h := &Driver{Home: "/h/.rd", Getenv: func(string) string { return "" }}
	d := schema.Default().Defaults()
	d.VM.Driver = "host"
	if p := h.Plan(d); len(p) != 0 {
		t.Errorf("nothing in force: %+v", p)
	}
	h.Reconcile(t.Context(), d, reconciler.Allow{})
	if p := h.Plan(d); len(p) != 0 {
		t.Errorf("no change: %+v", p)
	}
	next := schema.Default().Defaults()
	next.VM.Driver = "host"
	next.VM.CPUs, next.VM.Disk = 8, "10GiB"
	next.VM.Image = &schema.VMImage{Location: "/img"}
	next.ContainerEngine.Socket = "/tmp/e.sock"
	got := map[string]effect.Change{}
	for _, c := range h.Plan(next) {
		got[c.Key] = c
	}
	for _, k := range []string{"vm.cpus", "vm.disk", "vm.image"} {
		if c, ok := got[k]; !ok || c.Effect != effect.None || c.Why != NoVM {
			t.Errorf("%s: %+v", k, c)
		}
	}
	if c := got["containerEngine.socket"]; c.Effect != effect.Live || c.To != "/tmp/e.sock" {
		t.Errorf("socket: %+v", c)
	}
	if len(got) != 4 {
		t.Errorf("changes %v, want 4", got)
	}
}

// TestEngineConfigNotApplicable: keys only a guest can take are named in
// a False NotApplicable condition; none set, no condition.
func TestEngineConfigNotApplicable(t *testing.T) {
	d := schema.Default().Defaults()
	d.Running = true
	if c := (&Driver{}).Reconcile(context.Background(), d, reconciler.Allow{}).EngineConfig; c != nil {
		t.Errorf("nothing set, yet %+v", c)
	}
	d.ContainerEngine.RegistryMirrors = []string{"https://m.corp"}
	d.VM.Proxy.HTTP = "http://p:3128"
	c := (&Driver{}).Reconcile(context.Background(), d, reconciler.Allow{}).EngineConfig
	if c == nil || c.Status != statusdir.False || c.Reason != statusdir.EngineNotApplicable ||
		!strings.Contains(c.Message, "containerEngine.registryMirrors, vm.proxy") {
		t.Errorf("condition %+v", c)
	}
}
