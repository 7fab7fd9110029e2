package reconciler

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	desiredset "github.com/rddproject/rdd/desired"

	"github.com/rddproject/rdd/schema"
	"github.com/rddproject/rdd/statusdir"
)

// harness is one loop over a private home: desired.yaml, status/, the
// applied copy, a fake VM under both driver names, a fake engine and a
// clock the test moves.
type harness struct {
	t       *testing.T
	home    string
	desired string
	applied string
	status  *statusdir.Dir
	vm      *fakeVM
	eng     *fakeEngine
	log     *syncBuffer
	now     time.Time
	loop    *Loop
}

// syncBuffer is a log sink safe for the loop's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newHarness(t *testing.T, desired string) *harness {
	t.Helper()
	dir := t.TempDir()
	h := &harness{
		t:       t,
		home:    dir,
		desired: filepath.Join(dir, "desired.yaml"),
		applied: filepath.Join(dir, "run", "applied.yaml"),
		vm:      newFakeVM(),
		eng:     newFakeEngine(),
		log:     &syncBuffer{},
		now:     time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	st, err := statusdir.Open(filepath.Join(dir, "status"))
	if err != nil {
		t.Fatal(err)
	}
	h.status = st
	if desired != "" {
		h.save(desired)
	}
	h.start()
	return h
}

// start builds a new loop over the same home, as a daemon restart does.
func (h *harness) start() {
	h.t.Helper()
	l, err := New(h.config())
	if err != nil {
		h.t.Fatal(err)
	}
	h.loop = l
}

func (h *harness) config() Config {
	return Config{
		Desired: h.desired,
		Applied: h.applied,
		Status:  h.status,
		Schema:  schema.Default(),
		VMs:     map[string]VM{"host": h.vm, "lima": h.vm},
		Engine:  h.eng,
		Grace:   10 * time.Second,
		Logger:  slog.New(slog.NewTextHandler(h.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Daemon:  statusdir.DaemonInfo{PID: 42, Version: "test"},
		Now:     func() time.Time { return h.now },
	}
}

func (h *harness) save(content string) {
	h.t.Helper()
	if err := os.WriteFile(h.desired, []byte(content), 0o600); err != nil {
		h.t.Fatal(err)
	}
}

// pass runs one pass and returns when the next one is due.
func (h *harness) pass() time.Duration {
	h.t.Helper()
	return h.loop.pass(h.t.Context())
}

func (h *harness) app() *statusdir.App {
	h.t.Helper()
	a, err := statusdir.ReadApp(h.status.Root())
	if err != nil {
		h.t.Fatal(err)
	}
	return a
}

// marker returns the one verdict marker present ("" for none) and its content.
func (h *harness) marker() (string, *statusdir.Marker) {
	h.t.Helper()
	snap, err := statusdir.ReadSnapshot(h.status.Root())
	if err != nil {
		h.t.Fatal(err)
	}
	switch {
	case snap.Ready != nil && snap.Failed != nil:
		h.t.Fatalf("both markers present: %+v, %+v", snap.Ready, snap.Failed)
	case snap.Ready != nil:
		return statusdir.ReadyMarker, snap.Ready
	case snap.Failed != nil:
		return statusdir.FailedMarker, snap.Failed
	}
	return "", nil
}

// wantMarker checks the verdict marker's name, generation and reason.
func (h *harness) wantMarker(name string, gen int64, reason string) *statusdir.Marker {
	h.t.Helper()
	got, m := h.marker()
	if got != name {
		h.t.Fatalf("marker = %q, want %q (app.yaml conditions: %+v)", got, name, h.app().Conditions)
	}
	if m == nil {
		return nil
	}
	if m.Generation != gen || m.Reason != reason {
		h.t.Fatalf("marker %s = generation %d reason %q (%s), want generation %d reason %q", name, m.Generation, m.Reason, m.Message, gen, reason)
	}
	return m
}

func (h *harness) cond(typ string) statusdir.Condition {
	h.t.Helper()
	c, ok := statusdir.FindCondition(h.app().Conditions, typ)
	if !ok {
		h.t.Fatalf("no condition %s in app.yaml", typ)
	}
	return c
}

const (
	runningYAML = "running: true\nvm: {driver: host}\n"
	stoppedYAML = "running: false\nvm: {driver: host}\n"
	invalidYAML = "running: sure\nvm: {driver: host}\n"
)

// C1: every condition carries the current generation after a pass that
// needed no action, so a wait after a comment-only edit returns at once;
// saving identical bytes is no new generation.
func TestLoopGenerationsAndC1(t *testing.T) {
	h := newHarness(t, runningYAML)
	h.pass()
	h.wantMarker(statusdir.ReadyMarker, 1, statusdir.ReasonSettled)
	a := h.app()
	if a.Summary != statusdir.SummaryCurrent || a.ObservedGeneration != 1 || a.Applied.Generation != 1 || a.Desired.Path != h.desired {
		t.Fatalf("app.yaml after the first pass: %+v", a)
	}

	h.save("# only a comment\n" + runningYAML)
	h.pass()
	h.wantMarker(statusdir.ReadyMarker, 2, statusdir.ReasonSettled)
	a = h.app()
	if a.ObservedGeneration != 2 || a.Desired.Generation != 2 || a.Applied.Generation != 2 {
		t.Fatalf("generations after a comment edit: %+v", a)
	}
	for _, c := range a.Conditions {
		if c.ObservedGeneration != 2 {
			t.Errorf("condition %s stamped with generation %d, want 2 (C1)", c.Type, c.ObservedGeneration)
		}
	}
	if _, err := os.Stat(filepath.Join(h.status.Root(), statusdir.NamespacesDir, "moby.yaml")); err != nil {
		t.Errorf("the engine's mirror was not written: %v", err)
	}

	// The same bytes again (a touch, an editor's :w): no bump.
	h.save("# only a comment\n" + runningYAML)
	h.pass()
	h.wantMarker(statusdir.ReadyMarker, 2, statusdir.ReasonSettled)
	if n := len(h.vm.Calls()); n != 3 {
		t.Errorf("VM reconciled %d times, want once per pass (3)", n)
	}
}

// The applied state stays in force across an invalid edit: the VM and the
// engine are driven with the last valid state, and a restarted loop takes
// it from the applied copy.
func TestLoopInvalidEditKeepsApplied(t *testing.T) {
	h := newHarness(t, runningYAML)
	h.pass()
	h.wantMarker(statusdir.ReadyMarker, 1, statusdir.ReasonSettled)

	h.save(invalidYAML)
	h.pass()
	m := h.wantMarker(statusdir.FailedMarker, 2, statusdir.ReasonInvalid)
	if !strings.Contains(m.Message, "desired.yaml:1:10") {
		t.Errorf("failed marker does not position the error: %q", m.Message)
	}
	a := h.app()
	if a.Applied.Generation != 1 || a.Summary != statusdir.SummaryFailed {
		t.Fatalf("app.yaml after an invalid edit: %+v", a)
	}
	if c := h.cond(statusdir.CondValid); c.Status != statusdir.False || c.Reason != statusdir.ReasonInvalid {
		t.Errorf("Valid = %+v", c)
	}
	if c := h.cond(statusdir.CondEngine); c.Reason != statusdir.EngineConnected {
		t.Errorf("the engine was torn down by a typo: %+v", c)
	}
	calls := h.vm.Calls()
	if last := calls[len(calls)-1]; !last.Running {
		t.Errorf("VM reconciled with running: false after an invalid edit")
	}

	// Restart while the file is still invalid.
	h.start()
	h.pass()
	h.wantMarker(statusdir.FailedMarker, 2, statusdir.ReasonInvalid)
	calls = h.vm.Calls()
	if last := calls[len(calls)-1]; !last.Running {
		t.Errorf("a restarted loop reconciled the VM with running: false instead of the applied copy")
	}
	if a := h.app(); a.Applied.Generation != 1 || a.Desired.Generation != 2 {
		t.Errorf("generations after a restart: applied %d desired %d, want 1 and 2", a.Applied.Generation, a.Desired.Generation)
	}
	if c := h.cond(statusdir.CondEngine); c.Reason != statusdir.EngineConnected {
		t.Errorf("engine after a restart = %+v", c)
	}

	// Fixing it applies it, at the next generation.
	h.save("# fixed\n" + runningYAML)
	h.pass()
	h.wantMarker(statusdir.ReadyMarker, 3, statusdir.ReasonSettled)
}

// A loop that never had a valid state does not act at all.
func TestLoopNoValidState(t *testing.T) {
	h := newHarness(t, invalidYAML)
	h.pass()
	h.wantMarker(statusdir.FailedMarker, 1, statusdir.ReasonInvalid)
	if n := len(h.vm.Calls()) + len(h.eng.Calls()); n != 0 {
		t.Fatalf("the VM or engine was driven %d times without a valid state", n)
	}
	if c := h.cond(statusdir.CondRunning); c.Reason != statusdir.ReasonNoValidState {
		t.Errorf("Running = %+v", c)
	}
}

// An empty read is "not yet" for a second: a truncate-then-write save must
// not apply the defaults (running: false) in between.
func TestLoopEmptyFileGrace(t *testing.T) {
	h := newHarness(t, runningYAML)
	h.pass()
	h.save("")
	if next := h.pass(); next > time.Second {
		t.Errorf("an empty file is looked at again after %s", next)
	}
	h.wantMarker(statusdir.ReadyMarker, 1, statusdir.ReasonSettled)
	if n := len(h.vm.Calls()); n != 1 {
		t.Fatalf("the VM was driven during the grace period (%d calls)", n)
	}
	h.now = h.now.Add(emptyGrace / 2)
	h.pass()
	h.wantMarker(statusdir.ReadyMarker, 1, statusdir.ReasonSettled)

	// Empty for the whole grace period: meant, all defaults.
	h.now = h.now.Add(emptyGrace)
	h.pass()
	h.wantMarker(statusdir.ReadyMarker, 2, statusdir.ReasonSettled)
	calls := h.vm.Calls()
	if last := calls[len(calls)-1]; last.Running {
		t.Errorf("an empty file kept running: true")
	}
	if c := h.cond(statusdir.CondEngine); c.Reason != statusdir.EngineStopped {
		t.Errorf("engine with running: false = %+v", c)
	}
}

// A deleted desired file is reported; the last valid state stays in force.
func TestLoopDeletedFile(t *testing.T) {
	h := newHarness(t, runningYAML)
	h.pass()
	if err := os.Remove(h.desired); err != nil {
		t.Fatal(err)
	}
	h.pass()
	m := h.wantMarker(statusdir.FailedMarker, 2, statusdir.ReasonMissing)
	if !strings.Contains(m.Message, "does not exist; the last valid desired state stays in force") {
		t.Errorf("message = %q", m.Message)
	}
	if a := h.app(); a.Applied.Generation != 1 || a.Desired.Digest != "" {
		t.Errorf("app.yaml after a delete: %+v", a)
	}
	calls := h.vm.Calls()
	if last := calls[len(calls)-1]; !last.Running {
		t.Errorf("a deleted file stopped the VM")
	}
	h.pass() // still missing: no new generation
	h.wantMarker(statusdir.FailedMarker, 2, statusdir.ReasonMissing)

	h.save(runningYAML)
	h.pass()
	h.wantMarker(statusdir.ReadyMarker, 3, statusdir.ReasonSettled)
}

// Kubernetes is validated and reported NotSupported, never ignored; turning
// it off removes its condition.
func TestLoopKubernetesNotSupported(t *testing.T) {
	h := newHarness(t, runningYAML+"kubernetes: {enabled: true}\n")
	h.pass()
	h.wantMarker(statusdir.FailedMarker, 1, statusdir.ReasonNotSupported)
	if c := h.cond(statusdir.CondKubernetes); c.Status != statusdir.False || c.Reason != statusdir.ReasonNotSupported {
		t.Errorf("KubernetesReady = %+v", c)
	}
	if c := h.cond(statusdir.CondEngine); c.Reason != statusdir.EngineConnected {
		t.Errorf("everything else is applied: engine = %+v", c)
	}
	h.save(runningYAML)
	h.pass()
	h.wantMarker(statusdir.ReadyMarker, 2, statusdir.ReasonSettled)
	if _, ok := statusdir.FindCondition(h.app().Conditions, statusdir.CondKubernetes); ok {
		t.Errorf("KubernetesReady stays after kubernetes.enabled: false")
	}
}

// A vm.driver this build has no driver for is a failure, not a crash.
func TestLoopUnknownDriver(t *testing.T) {
	h := newHarness(t, runningYAML)
	delete(h.loop.cfg.VMs, "host")
	h.pass()
	m := h.wantMarker(statusdir.FailedMarker, 1, statusdir.VMStartFailed)
	if !strings.Contains(m.Message, `vm.driver "host" has no driver`) {
		t.Errorf("message = %q", m.Message)
	}
}

// Connecting is retried without a marker until the grace period ends; the
// next pass is due exactly then; then it is failed, and a later connection
// is ready.
func TestLoopConnectingGrace(t *testing.T) {
	h := newHarness(t, runningYAML)
	connecting := EngineResult{Status: statusdir.EngineStatus{Socket: "fake.sock"}, Reason: statusdir.EngineConnecting, Message: "no answer", Requeue: time.Minute}
	h.eng.Script(connecting, connecting, connecting)
	next := h.pass()
	h.wantMarker("", 0, "")
	if next > h.loop.cfg.Grace {
		t.Errorf("next pass in %s, after the grace period %s", next, h.loop.cfg.Grace)
	}
	if a := h.app(); a.Summary != statusdir.SummaryInProgress {
		t.Errorf("summary = %q", a.Summary)
	}
	h.now = h.now.Add(4 * time.Second)
	if next := h.pass(); next != 6*time.Second && next > minBackoff*4 {
		t.Errorf("next pass in %s, want at the end of the grace period (6s) or the backoff", next)
	}
	h.now = h.now.Add(6 * time.Second)
	h.pass()
	m := h.wantMarker(statusdir.FailedMarker, 1, statusdir.EngineConnectFailed)
	if !strings.Contains(m.Message, "did not answer within 10s: no answer") {
		t.Errorf("message = %q", m.Message)
	}
	h.pass()
	h.wantMarker(statusdir.ReadyMarker, 1, statusdir.ReasonSettled)
}

// A VM still starting is in progress, and its Requeue decides the next pass.
func TestLoopVMRequeue(t *testing.T) {
	h := newHarness(t, runningYAML)
	h.vm.Script(VMResult{Reason: statusdir.VMStarting, Message: "booting", Requeue: 123 * time.Millisecond})
	if next := h.pass(); next != 123*time.Millisecond {
		t.Errorf("next pass in %s, want the driver's requeue", next)
	}
	h.wantMarker("", 0, "")
	if n := len(h.eng.Calls()); n != 1 || h.eng.Calls()[0].Socket != "" {
		t.Errorf("engine calls while the VM starts: %+v (want one, without a socket)", h.eng.Calls())
	}
	if next := h.pass(); next != h.loop.cfg.Resync {
		t.Errorf("next pass after ready in %s, want the resync %s", next, h.loop.cfg.Resync)
	}
	h.wantMarker(statusdir.ReadyMarker, 1, statusdir.ReasonSettled)
}

// Run: wake-ups from the VM driver and from Wake start passes; on shutdown
// the markers are removed and app.yaml says Unknown, DaemonStopped.
func TestLoopRunAndShutdown(t *testing.T) {
	h := newHarness(t, runningYAML)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- h.loop.Run(ctx) }()
	waitCall(t, h.vm.called) // the first pass runs at once
	h.vm.changes <- struct{}{}
	waitCall(t, h.vm.called)
	h.loop.Wake()
	h.loop.Wake() // collapses into the pending one
	waitCall(t, h.vm.called)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if name, _ := h.marker(); name != "" {
		t.Errorf("marker %q left after shutdown", name)
	}
	a := h.app()
	if a.Summary != statusdir.SummaryUnknown {
		t.Errorf("summary after shutdown = %q", a.Summary)
	}
	if c := h.cond(statusdir.CondSettled); c.Status != statusdir.Unknown || c.Reason != statusdir.ReasonDaemonStopped {
		t.Errorf("Settled after shutdown = %+v", c)
	}
	if a.Desired.Generation != 1 || a.Applied.Generation != 1 {
		t.Errorf("shutdown lost the generations: %+v", a)
	}
}

func waitCall(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("no pass within 5s")
	}
}

func TestNewRequiresConfig(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Fatal("New with an empty Config succeeded")
	}
}

// An empty or unreadable applied copy at start is no copy: the loop acts on
// nothing rather than on the defaults (which would stop a running VM
// because of a typo), and says so in the log and in status.
func TestLoopBadAppliedCopyIsNoCopy(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spoil func(h *harness)
		want  string
	}{
		{"empty", func(h *harness) { os.Truncate(h.applied, 0) }, "is empty"},
		{"unreadable", func(h *harness) { os.Remove(h.applied); os.Symlink("elsewhere", h.applied) }, "cannot be read"},
		{"not a file", func(h *harness) { os.Remove(h.applied); syscall.Mkfifo(h.applied, 0o600) }, "not a regular file"},
		{"invalid", func(h *harness) { os.WriteFile(h.applied, []byte("running: [\n"), 0o600) }, "is not a valid desired state"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, runningYAML)
			h.pass()
			h.save(invalidYAML)
			tc.spoil(h)
			vmCalls, engCalls := len(h.vm.Calls()), len(h.eng.Calls())
			h.start()
			h.pass()
			h.wantMarker(statusdir.FailedMarker, 2, statusdir.ReasonInvalid)
			if n := len(h.vm.Calls()) - vmCalls + len(h.eng.Calls()) - engCalls; n != 0 {
				t.Fatalf("acted on the VM or engine %d times with no usable copy (calls %+v)", n, h.vm.Calls())
			}
			if c := h.cond(statusdir.CondValid); !strings.Contains(c.Message, tc.want) || !strings.Contains(c.Message, h.applied) {
				t.Errorf("Valid message does not report the copy: %q", c.Message)
			}
			if !strings.Contains(h.log.String(), tc.want) {
				t.Errorf("log does not report the copy:\n%s", h.log)
			}
			// A valid file applies, rewrites the copy, and the note goes.
			h.save(runningYAML)
			h.pass()
			h.pass()
			h.wantMarker(statusdir.ReadyMarker, 3, statusdir.ReasonSettled)
			if c := h.cond(statusdir.CondValid); c.Message != "" {
				t.Errorf("Valid message after a valid apply: %q", c.Message)
			}
			if fi, err := os.Lstat(h.applied); err != nil || !fi.Mode().IsRegular() {
				t.Fatalf("applied copy not rewritten: %v, %v", fi, err)
			}
			b, err := os.ReadFile(h.applied)
			if err != nil {
				t.Fatal(err)
			}
			if set, err := desiredset.Unmarshal(b); err != nil || len(set.Files) != 1 || string(set.Files[0].Data) != runningYAML {
				t.Errorf("applied copy = %q, %v", b, err)
			}
		})
	}
}

// An app.yaml that cannot be parsed at start is reported: the generation
// counter starts again.
func TestLoopBadAppFileReported(t *testing.T) {
	h := newHarness(t, runningYAML)
	h.pass()
	if err := os.WriteFile(filepath.Join(h.status.Root(), statusdir.AppFile), []byte("daemon: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.start()
	h.pass()
	if c := h.cond(statusdir.CondValid); !strings.Contains(c.Message, "app.yaml") {
		t.Errorf("Valid message does not report app.yaml: %q", c.Message)
	}
	if !strings.Contains(h.log.String(), "app.yaml") {
		t.Errorf("log does not report app.yaml:\n%s", h.log)
	}
}

// markerAtLog is a log handler that records, for every "verdict" line,
// whether the marker it announces was already on disk: a script that waits
// for the marker and then greps the log must find the line.
type markerAtLog struct {
	slog.Handler
	root string
	mu   sync.Mutex
	seen []string // "marker generation: present" for each verdict line
}

func (h *markerAtLog) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "verdict" {
		var name string
		var gen int64
		r.Attrs(func(a slog.Attr) bool {
			switch a.Key {
			case "marker":
				name = a.Value.String()
			case "generation":
				gen = a.Value.Int64()
			}
			return true
		})
		m, err := statusdir.ReadMarker(h.root, name)
		h.mu.Lock()
		h.seen = append(h.seen, fmt.Sprintf("%s %d: present %t", name, gen, err == nil && m.Generation == gen))
		h.mu.Unlock()
	}
	return h.Handler.Handle(ctx, r)
}

func TestLoopVerdictLoggedBeforeMarker(t *testing.T) {
	h := newHarness(t, runningYAML)
	rec := &markerAtLog{Handler: slog.NewTextHandler(h.log, nil), root: h.status.Root()}
	h.loop.log = slog.New(rec)
	h.pass()
	h.save(invalidYAML)
	h.pass()
	h.pass() // the same verdict again: no second line
	h.save(runningYAML)
	h.pass()
	want := []string{"ready 1: present false", "failed 2: present false", "ready 3: present false"}
	if !slices.Equal(rec.seen, want) {
		t.Errorf("verdict lines = %q, want %q", rec.seen, want)
	}
}
