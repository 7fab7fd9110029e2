package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rddproject/rdd/effect"

	"github.com/rddproject/rdd/home"
	"github.com/rddproject/rdd/reconciler"
	"github.com/rddproject/rdd/schema"
	"github.com/rddproject/rdd/statusdir"
)

// stuckVM is a VM driver whose Close never returns until the test ends
// (a background operation that ignores cancellation), and whose Reconcile
// optionally ignores its context too.
type stuckVM struct {
	release    chan struct{}
	ignoreCtx  bool
	reconciled chan struct{}
	once       sync.Once
}

func (v *stuckVM) Plan(*schema.Desired) []effect.Change { return nil }

func (v *stuckVM) Reconcile(ctx context.Context, d *schema.Desired, _ reconciler.Allow) reconciler.VMResult {
	v.once.Do(func() { close(v.reconciled) })
	if v.ignoreCtx {
		select {} // never returns: the test binary's exit ends it
	}
	return reconciler.VMResult{Reason: statusdir.VMStopped, Message: "stuck: stopped"}
}

func (v *stuckVM) Changes() <-chan struct{} { return nil }

func (v *stuckVM) Close() error {
	<-v.release
	return nil
}

// SIGINT/SIGTERM end the daemon within 2 s whatever its drivers do: a Close
// that hangs, and a pass stuck in a driver that ignores cancellation, are
// left behind.
func TestDaemonExitsInTime(t *testing.T) {
	for _, tc := range []struct {
		name      string
		ignoreCtx bool
	}{
		{"close hangs", false},
		{"close and pass hang", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			h := home.Home{Dir: dir, Desired: filepath.Join(dir, home.DesiredFile)}
			if err := os.WriteFile(h.Desired, []byte("running: false\nvm: {driver: host}\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			vm := &stuckVM{release: make(chan struct{}), ignoreCtx: tc.ignoreCtx, reconciled: make(chan struct{})}
			t.Cleanup(func() { close(vm.release) })
			var stderr bytes.Buffer
			a := &app{stdout: &bytes.Buffer{}, stderr: &lockedWriter{w: &stderr}}
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() {
				done <- a.runDaemon(ctx, h, daemonFlags{logFormat: "text", logLevel: "info", vms: map[string]reconciler.VM{"host": vm}})
			}()
			select {
			case <-vm.reconciled:
			case err := <-done:
				t.Fatalf("daemon ended early: %v", err)
			case <-time.After(10 * time.Second):
				t.Fatal("no pass within 10s")
			}
			if !tc.ignoreCtx {
				waitMarker(t, h.Status(), statusdir.ReadyMarker)
			}
			start := time.Now()
			cancel()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("the daemon did not exit within 5s of the signal")
			}
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("the daemon took %s to exit, over 2s", took)
			}
			for _, m := range []string{statusdir.ReadyMarker, statusdir.FailedMarker} {
				if _, err := os.Stat(filepath.Join(h.Status(), m)); err == nil {
					t.Errorf("marker %s left after the exit", m)
				}
			}
			if !strings.Contains(a.stderr.(*lockedWriter).String(), "did not end in time") && !strings.Contains(a.stderr.(*lockedWriter).String(), "did not stop in time") {
				t.Errorf("the hang is not logged:\n%s", a.stderr.(*lockedWriter).String())
			}
		})
	}
}

func waitMarker(t *testing.T, root, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	err := statusdir.Watch(ctx, root, func(s statusdir.Snapshot) (bool, error) {
		return name == statusdir.ReadyMarker && s.Ready != nil, nil
	})
	if err != nil {
		t.Fatalf("wait for %s: %v", name, err)
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}
