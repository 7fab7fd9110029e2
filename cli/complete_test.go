package cli

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/rddproject/rdd/schema"
)

func TestKeyCompletions(t *testing.T) {
	s := schema.Default()
	for _, tc := range []struct {
		typed  string
		assign bool
		want   []string
	}{
		{"vm.dr", true, []string{"vm.driver="}},
		{"vm.driver=", true, []string{"vm.driver=lima", "vm.driver=host"}},
		{"vm.driver=h", true, []string{"vm.driver=host"}},
		{"running=", true, []string{"running=true", "running=false"}},
		{"containerEngine.name=", true, []string{"containerEngine.name=moby", "containerEngine.name=containerd"}},
		{"containers.web.state=p", true, []string{"containers.web.state=paused"}},
		{"vm.cp", false, []string{"vm.cpus"}},
		{"v", false, []string{"vm.", "volumes."}},
		{"vm.cpus=", true, nil},  // a number: nothing to offer
		{"vm.nope.", false, nil}, // not in the schema
	} {
		got := keyCompletions(s, tc.typed, tc.assign)
		if !slices.Equal(got, tc.want) {
			t.Errorf("complete %q (set=%t) = %q, want %q", tc.typed, tc.assign, got, tc.want)
		}
	}
	// Every top-level field of the schema is offered for an empty word.
	top := keyCompletions(s, "", true)
	for _, f := range []string{"running=", "vm.", "containerEngine.", "containers."} {
		if !slices.Contains(top, f) {
			t.Errorf("empty word: %q missing from %q", f, top)
		}
	}
}

// Through cobra's own completion entry point, as the shell scripts call it.
func TestCompletionCommand(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Run([]string{"__complete", "set", "vm.driver="}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "vm.driver=lima\nvm.driver=host\n") {
		t.Errorf("completion output:\n%s", out.String())
	}
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		out.Reset()
		if code := Run([]string{"completion", shell}, &out, &errb); code != 0 || out.Len() == 0 {
			t.Errorf("completion %s: exit %d, %d bytes: %s", shell, code, out.Len(), errb.String())
		}
	}
}
