package lima

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"
)

// Bounds of Close: the daemon must exit within 2 s of SIGTERM in every
// state (issue: a forced stop after a start timeout once ignored
// cancellation for minutes).
const (
	closeGrace = 1200 * time.Millisecond // for limactl to end on SIGTERM
	closeKill  = 500 * time.Millisecond  // for it to end after SIGKILL
)

// Close cancels whatever limactl runs (a start, a stop, a forced stop
// after a timeout): its process group gets SIGTERM, and SIGKILL if it has
// not ended within closeGrace. Close returns within closeGrace+closeKill.
// The VM itself is left as it is: Lima's host agent runs in a process
// group of its own and outlives limactl; the next daemon adopts or
// repairs what it finds.
func (dr *Driver) Close() error {
	dr.mu.Lock()
	op := dr.op
	closeAll := dr.closeAll
	// A driver closed can be used again (a test, or a daemon that
	// reloads): later operations get a fresh closing context.
	dr.closing, dr.closeAll = context.WithCancel(context.Background())
	dr.mu.Unlock()
	closeAll()
	if op != nil {
		op.cancel()
	}
	done := make(chan struct{})
	go func() {
		dr.wg.Wait()
		close(done)
	}()
	grace := time.NewTimer(closeGrace)
	defer grace.Stop()
	select {
	case <-done:
		return nil
	case <-grace.C:
	}
	n := dr.procs.killAll()
	dr.log.Warn("limactl did not end on SIGTERM; killed it", "processes", n)
	kill := time.NewTimer(closeKill)
	defer kill.Stop()
	select {
	case <-done:
		return nil
	case <-kill.C:
		return fmt.Errorf("limactl did not end within %s of SIGKILL", closeKill)
	}
}

// procSet tracks the limactl processes running, so that Close can kill
// their process groups.
type procSet struct {
	mu    sync.Mutex
	procs map[*os.Process]struct{}
}

func (s *procSet) add(p *os.Process) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.procs == nil {
		s.procs = map[*os.Process]struct{}{}
	}
	s.procs[p] = struct{}{}
}

func (s *procSet) remove(p *os.Process) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.procs, p)
}

func (s *procSet) killAll() int {
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for p := range s.procs {
		killGroup(p.Pid)
	}
	return len(s.procs)
}

// closingCtx is the context that ends when Close is called.
func (dr *Driver) closingCtx() context.Context {
	dr.mu.Lock()
	defer dr.mu.Unlock()
	return dr.closing
}
