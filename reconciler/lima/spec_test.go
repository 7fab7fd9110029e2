package lima

import (
	"strings"
	"testing"

	"github.com/rddproject/rdd/schema"
)

func TestSpecFor(t *testing.T) {
	d := schema.Default().Defaults()
	for _, tc := range []struct{ socket, want string }{
		{"", "/h/.rd/docker.sock"},
		{"unix:///tmp/x.sock", "/tmp/x.sock"},
		{"engine.sock", "/h/.rd/engine.sock"},
		{"/a/../b.sock", "/b.sock"},
	} {
		d.ContainerEngine.Socket = tc.socket
		s, err := specFor(d, "/h/.rd/docker.sock", "/h/.rd")
		if err != nil {
			t.Fatal(err)
		}
		if s.Socket != tc.want {
			t.Errorf("socket %q: got %q, want %q", tc.socket, s.Socket, tc.want)
		}
	}
	d.ContainerEngine.Socket = ""
	if _, err := specFor(d, "", ""); err == nil {
		t.Error("no socket at all: want an error")
	}
	d.VM.Memory = "lots"
	if _, err := specFor(d, "/s", "/"); err == nil || !strings.Contains(err.Error(), "vm.memory") {
		t.Errorf("bad memory: got %v", err)
	}
}
