// Package host is the VM driver for `vm.driver: host`: there is no VM, and
// the engine is a dockerd already running on this machine (Linux hosts, CI).
// `running: true` means "use the engine at the socket"; `running: false`
// means "disconnect" — the host's dockerd is never stopped by rdd.
package host

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/rddproject/rdd/home"
	"github.com/rddproject/rdd/reconciler"
	"github.com/rddproject/rdd/reconciler/guestconfig"
	"github.com/rddproject/rdd/schema"
	"github.com/rddproject/rdd/statusdir"
)

// DefaultSocket is the usual dockerd socket on Linux.
const DefaultSocket = "/var/run/docker.sock"

// Driver implements reconciler.VM for the host.
type Driver struct {
	// Home is RDD_HOME: a relative containerEngine.socket is relative to it.
	Home string
	// Getenv reads DOCKER_HOST; nil means os.Getenv.
	Getenv func(string) string
	// Applied, when set, is the desired state in force that Plan compares
	// with (the daemon's applied copy, for `rdd plan` without a daemon);
	// nil means the last state Reconcile was given.
	Applied *schema.Desired

	mu   sync.Mutex
	last *schema.Desired
}

var _ reconciler.VM = (*Driver)(nil)

// Changes returns nil: the host driver has nothing running on its own.
func (h *Driver) Changes() <-chan struct{} { return nil }

// Reconcile reports the host as Running when the desired state wants it
// running, with the socket the engine should use; it has nothing to start
// or stop.
func (h *Driver) Reconcile(_ context.Context, d *schema.Desired, _ reconciler.Allow) reconciler.VMResult {
	h.mu.Lock()
	h.last = d
	h.mu.Unlock()
	st := statusdir.VMStatus{Driver: "host", Status: statusdir.VMStatusStopped}
	if !d.Running {
		return reconciler.VMResult{Status: st, Reason: statusdir.VMStopped, Message: "host driver: no VM; the engine is disconnected"}
	}
	st.Status = statusdir.VMStatusRunning
	return reconciler.VMResult{Status: st, Reason: statusdir.VMRunning, Message: "host driver: no VM", Socket: h.Socket(d), EngineConfig: engineConfig(d)}
}

// engineConfig reports the engine and guest keys of desired.yaml that
// only a guest rdd owns can take: the host's dockerd is not rdd's to
// reconfigure, so they are named, never silently ignored (nil when none
// is set). The verdict stays ready.
func engineConfig(d *schema.Desired) *statusdir.Condition {
	keys := guestconfig.SetGuestKeys(d)
	if len(keys) == 0 {
		return nil
	}
	return &statusdir.Condition{Type: statusdir.CondEngineConfig, Status: statusdir.False, Reason: statusdir.EngineNotApplicable,
		Message: "vm.driver is host: rdd does not own this dockerd and applies none of " + strings.Join(keys, ", ") +
			"; configure the host's dockerd yourself (/etc/docker/daemon.json), or use vm.driver: lima"}
}

// Socket is the engine socket for d: containerEngine.socket when set (a
// leading ~ is the user's home, a relative path is relative to RDD_HOME),
// else a unix DOCKER_HOST, else DefaultSocket.
func (h *Driver) Socket(d *schema.Desired) string {
	if s := d.ContainerEngine.Socket; s != "" {
		s = strings.TrimPrefix(s, "unix://")
		if x, err := home.Expand(s); err == nil {
			s = x
		}
		if !filepath.IsAbs(s) && h.Home != "" {
			s = filepath.Join(h.Home, s)
		}
		return s
	}
	getenv := h.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if dh := getenv("DOCKER_HOST"); strings.HasPrefix(dh, "unix://") {
		return strings.TrimPrefix(dh, "unix://")
	}
	return DefaultSocket
}
