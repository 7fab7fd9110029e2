package reconciler

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rddproject/rdd/statusdir"
)

func TestCheckPerms(t *testing.T) {
	base := t.TempDir() // 0700, the trust root
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	mk := func(rel string, mode os.FileMode) string {
		p := filepath.Join(base, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("running: true\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	chmod := func(rel string, mode os.FileMode) {
		if err := os.Chmod(filepath.Join(base, rel), mode); err != nil {
			t.Fatal(err)
		}
	}
	link := func(rel, target string) string {
		p := filepath.Join(base, rel)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	safe := mk("rd/desired.yaml", 0o644)
	world := mk("rd2/desired.yaml", 0o666)
	group := mk("rd3/desired.yaml", 0o664)
	openDir := mk("rd4/desired.yaml", 0o600)
	chmod("rd4", 0o777)
	target := mk("dots/sub/d.yaml", 0o644)
	linked := link("rd/linked.yaml", target)
	chmod("dots", 0o775)
	sticky := mk("tmpish/desired.yaml", 0o600)
	chmod("tmpish", os.ModeSticky|0o777) // sticky, but not root's
	stickyWant := "is writable by others"
	if os.Geteuid() == 0 {
		if err := os.Chown(filepath.Join(base, "tmpish"), 12345, 12345); err != nil {
			t.Fatal(err)
		}
		stickyWant = "belongs to user 12345"
	}
	for _, tc := range []struct {
		name, path, want string
	}{
		{"safe", safe, ""},
		{"missing is for the read to report", filepath.Join(base, "rd/none.yaml"), ""},
		{"world-writable file", world, "is writable by others (mode 0666)"},
		{"group-writable file", group, "is writable by group (mode 0664)"},
		{"world-writable directory", openDir, "directory " + filepath.Join(base, "rd4") + ", on the path of the desired file, is writable by others (mode 0777)"},
		{"link to a target in a group-writable directory", linked, "directory " + filepath.Join(base, "dots") + ", on the path"},
		{"sticky directory not root's", sticky, stickyWant},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkPerms(tc.path, base)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err = %v, want %q", err, tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), "chmod go-w ") && !strings.Contains(err.Error(), "chown "):
				t.Errorf("the error does not name the fix: %v", err)
			}
		})
	}
	// The target itself unsafe: named with its link.
	chmod("dots", 0o755)
	chmod("dots/sub/d.yaml", 0o646)
	if err := checkPerms(linked, base); err == nil || !strings.Contains(err.Error(), "(the target of "+linked+")") {
		t.Errorf("unsafe target: %v", err)
	}
	chmod("dots/sub/d.yaml", 0o644)
	if err := checkPerms(linked, base); err != nil {
		t.Errorf("safe link and target: %v", err)
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(safe, 12345, 12345); err != nil {
			t.Fatal(err)
		}
		if err := checkPerms(safe, base); err == nil || !strings.Contains(err.Error(), "belongs to user 12345") || !strings.Contains(err.Error(), "chown 0 ") {
			t.Errorf("a file of another user: %v", err)
		}
		// Root's sticky /tmp-like directory is fine.
		if err := checkPerms(mk("roottmp/d.yaml", 0o600), base); err != nil {
			t.Fatal(err)
		}
		chmod("roottmp", os.ModeSticky|0o777)
		if err := checkPerms(filepath.Join(base, "roottmp/d.yaml"), base); err != nil {
			t.Errorf("a root-owned sticky directory is refused: %v", err)
		}
	}
}

// The loop refuses an unsafe file before using its bytes: failed with
// UnsafePermissions, the last valid state still in force; fixing the mode
// applies the file.
func TestLoopUnsafePermissions(t *testing.T) {
	h := newHarness(t, runningYAML)
	h.loop.cfg.TrustRoot = h.home
	h.pass()
	h.wantMarker(statusdir.ReadyMarker, 1, statusdir.ReasonSettled)
	h.save(stoppedYAML)
	if err := os.Chmod(h.desired, 0o666); err != nil {
		t.Fatal(err)
	}
	h.pass()
	m := h.wantMarker(statusdir.FailedMarker, 2, statusdir.ReasonUnsafePermissions)
	if !strings.Contains(m.Message, "chmod go-w "+h.desired) {
		t.Errorf("message = %q", m.Message)
	}
	if c := h.cond(statusdir.CondValid); c.Reason != statusdir.ReasonUnsafePermissions {
		t.Errorf("Valid = %+v", c)
	}
	calls := h.vm.Calls()
	if last := calls[len(calls)-1]; !last.Running {
		t.Errorf("the refused file (running: false) was applied")
	}
	if a := h.app(); a.Applied.Generation != 1 {
		t.Errorf("applied = %+v", a.Applied)
	}
	if err := os.Chmod(h.desired, 0o644); err != nil {
		t.Fatal(err)
	}
	h.pass()
	h.wantMarker(statusdir.ReadyMarker, 2, statusdir.ReasonSettled)
	calls = h.vm.Calls()
	if last := calls[len(calls)-1]; last.Running {
		t.Errorf("the file was not applied once safe")
	}
}
