package lima

import (
	"time"
)

// livenessPoll is how often a running instance's host agent and VM
// process are checked. Nothing else tells the daemon that they died (a
// SIGKILL leaves their pid files and sockets as they were, and the engine
// may keep a connection that has not noticed yet); two /proc reads every
// few seconds cost nothing, where a `limactl list` each time would.
const livenessPoll = 3 * time.Second

// watchLiveness wakes the loop (Changes) once the host agent or the VM
// process of the running instance is no longer this instance's process,
// so that a kill or a crash is repaired while the daemon runs. One watch
// runs at a time; it ends when it has woken the loop, or on Close.
func (dr *Driver) watchLiveness(vmType string) {
	dr.mu.Lock()
	if dr.watching {
		dr.mu.Unlock()
		return
	}
	dr.watching = true
	closing := dr.closing
	dr.mu.Unlock()
	dir := dr.instanceDir()
	files := []string{haPIDFile, driverPIDFile(vmType)}
	dr.wg.Add(1)
	go func() {
		defer dr.wg.Done()
		defer func() {
			dr.mu.Lock()
			dr.watching = false
			dr.mu.Unlock()
		}()
		t := time.NewTicker(livenessPoll)
		defer t.Stop()
		for {
			select {
			case <-closing.Done():
				return
			case <-t.C:
			}
			for _, f := range files {
				if c := checkPIDFile(dir, f); c.verdict != pidGenuine {
					dr.log.Warn("a process of the instance is gone; looking again", "file", f, "why", c.detail)
					select {
					case dr.changes <- struct{}{}:
					default:
					}
					return
				}
			}
		}
	}()
}
