package reconciler

import (
	"context"
	"sync"

	"github.com/rddproject/rdd/effect"

	"github.com/rddproject/rdd/schema"
	"github.com/rddproject/rdd/statusdir"
)

// fakeVM is a small stateful VM driver in the manner of litestream's mock
// package: every call is recorded, and a result is taken from Results when
// one is scripted, or else derived from the desired state the way the host
// driver does (Running with a socket, or Stopped). It honours the VM
// contract: Reconcile returns when ctx ends.
type fakeVM struct {
	mu      sync.Mutex
	calls   []schema.Desired // a copy of each Reconcile's desired state
	results []VMResult       // scripted results, taken in order
	changes chan struct{}
	called  chan struct{} // receives (non-blocking) after every Reconcile
	// block, when set, makes Reconcile wait for it or for ctx.
	block chan struct{}
	// closeBlock, when set, makes Close wait for it: a driver whose
	// background work does not end.
	closeBlock chan struct{}
	closed     int
}

var _ VM = (*fakeVM)(nil)

func newFakeVM() *fakeVM {
	return &fakeVM{changes: make(chan struct{}, 1), called: make(chan struct{}, 1)}
}

// Plan reports no changes: the loop's plan rows are tested in effects_test.go.
func (f *fakeVM) Plan(*schema.Desired) []effect.Change { return nil }

func (f *fakeVM) Reconcile(ctx context.Context, d *schema.Desired, _ Allow) VMResult {
	f.mu.Lock()
	f.calls = append(f.calls, *d)
	var r VMResult
	scripted := len(f.results) > 0
	if scripted {
		r, f.results = f.results[0], f.results[1:]
	}
	block := f.block
	f.mu.Unlock()
	defer func() {
		select {
		case f.called <- struct{}{}:
		default:
		}
	}()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
		}
	}
	if scripted {
		return r
	}
	if !d.Running {
		return VMResult{Status: statusdir.VMStatus{Driver: "fake", Status: statusdir.VMStatusStopped}, Reason: statusdir.VMStopped, Message: "fake: stopped"}
	}
	return VMResult{Status: statusdir.VMStatus{Driver: "fake", Status: statusdir.VMStatusRunning}, Reason: statusdir.VMRunning, Message: "fake: running", Socket: "fake.sock"}
}

func (f *fakeVM) Changes() <-chan struct{} { return f.changes }

// Close waits for closeBlock when it is set.
func (f *fakeVM) Close() error {
	f.mu.Lock()
	f.closed++
	block := f.closeBlock
	f.mu.Unlock()
	if block != nil {
		<-block
	}
	return nil
}

// Calls returns a copy of the desired states Reconcile was called with.
func (f *fakeVM) Calls() []schema.Desired {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]schema.Desired(nil), f.calls...)
}

// Script queues results for the next calls.
func (f *fakeVM) Script(rs ...VMResult) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.results = append(f.results, rs...)
}

// engineCall is one recorded Engine.Reconcile.
type engineCall struct {
	Running bool
	Socket  string
}

// fakeEngine is a small stateful container engine: connected while it is
// given a socket, with one namespace file, and off (its mirrors cleared)
// without one. Scripted results replace that, in order.
type fakeEngine struct {
	mu      sync.Mutex
	calls   []engineCall
	results []EngineResult
	changes chan struct{}
}

var _ Engine = (*fakeEngine)(nil)

func newFakeEngine() *fakeEngine { return &fakeEngine{changes: make(chan struct{}, 1)} }

func (f *fakeEngine) Reconcile(_ context.Context, d *schema.Desired, socket string) EngineResult {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, engineCall{Running: d.Running, Socket: socket})
	if len(f.results) > 0 {
		r := f.results[0]
		f.results = f.results[1:]
		return r
	}
	if socket == "" {
		var ms []statusdir.Mirror
		for _, dir := range statusdir.ObjectDirs() {
			ms = append(ms, statusdir.ClearDir(dir))
		}
		return EngineResult{Reason: statusdir.EngineStopped, Message: "fake: off", Mirrors: ms}
	}
	ms := []statusdir.Mirror{}
	for _, dir := range statusdir.ObjectDirs() {
		m := statusdir.ClearDir(dir)
		if dir == statusdir.NamespacesDir {
			m.Files[statusdir.MobyNamespace] = statusdir.FileEntry([]byte("name: moby\n"))
		}
		ms = append(ms, m)
	}
	return EngineResult{Status: statusdir.EngineStatus{Name: "fake", Socket: socket}, Reason: statusdir.EngineConnected, Message: "fake: connected", Mirrors: ms}
}

func (f *fakeEngine) Changes() <-chan struct{} { return f.changes }

// Calls returns a copy of the recorded calls.
func (f *fakeEngine) Calls() []engineCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]engineCall(nil), f.calls...)
}

// Script queues results for the next calls.
func (f *fakeEngine) Script(rs ...EngineResult) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.results = append(f.results, rs...)
}
