package host

import (
	"context"
	"strings"
	"testing"

	"github.com/rddproject/rdd/schema"
	"github.com/rddproject/rdd/statusdir"
)

func TestReconcile(t *testing.T) {
	env := map[string]string{}
	h := &Driver{Home: "/h/.rd", Getenv: func(k string) string { return env[k] }}
	d := schema.Default().Defaults()
	d.VM.Driver = "host"

	if r := h.Reconcile(t.Context(), d); r.Reason != statusdir.VMStopped || r.Socket != "" {
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
		r := h.Reconcile(t.Context(), d)
		if r.Reason != statusdir.VMRunning || r.Socket != tc.want || r.Status.Driver != "host" {
			t.Errorf("socket %q DOCKER_HOST %q: %+v, want socket %q", tc.socket, tc.dockerHost, r, tc.want)
		}
	}
}

// TestEngineConfigNotApplicable: keys only a guest can take are named in
// a False NotApplicable condition; none set, no condition.
func TestEngineConfigNotApplicable(t *testing.T) {
	d := schema.Default().Defaults()
	d.Running = true
	if c := (&Driver{}).Reconcile(context.Background(), d).EngineConfig; c != nil {
		t.Errorf("nothing set, yet %+v", c)
	}
	d.ContainerEngine.RegistryMirrors = []string{"https://m.corp"}
	d.VM.Proxy.HTTP = "http://p:3128"
	c := (&Driver{}).Reconcile(context.Background(), d).EngineConfig
	if c == nil || c.Status != statusdir.False || c.Reason != statusdir.EngineNotApplicable ||
		!strings.Contains(c.Message, "containerEngine.registryMirrors, vm.proxy") {
		t.Errorf("condition %+v", c)
	}
}
