package docker

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/docker/docker/client"

	"github.com/rddproject/rdd/reconciler"
	"github.com/rddproject/rdd/schema"
	"github.com/rddproject/rdd/statusdir"
)

// pingTimeout bounds one health check, so a wedged socket never stalls the
// loop.
const pingTimeout = 5 * time.Second

// Engine implements reconciler.Engine for moby.
type Engine struct {
	mu      sync.Mutex // guards cli and socket; never held across a blocking call
	cli     *client.Client
	socket  string
	changes chan struct{}
}

var _ reconciler.Engine = (*Engine)(nil)

// New returns an engine that is not connected yet.
func New() *Engine {
	return &Engine{changes: make(chan struct{}, 1)}
}

// Changes delivers wake-ups when the engine observes a change.
func (e *Engine) Changes() <-chan struct{} { return e.changes }

// Reconcile connects to socket when set and reports whether dockerd
// answers; with socket empty it disconnects.
func (e *Engine) Reconcile(ctx context.Context, d *schema.Desired, socket string) reconciler.EngineResult {
	st := statusdir.EngineStatus{Name: d.ContainerEngine.Name, Socket: socket}
	if socket == "" {
		e.disconnect()
		return reconciler.EngineResult{Status: st, Reason: reconciler.EngineStopped}
	}
	if d.ContainerEngine.Name != "moby" {
		e.disconnect()
		return reconciler.EngineResult{Status: st, Reason: reconciler.EngineNotApplicable,
			Message: fmt.Sprintf("containerEngine.name %s: rdd mirrors and manages moby only", d.ContainerEngine.Name)}
	}
	cli, err := e.client(socket)
	if err != nil {
		return reconciler.EngineResult{Status: st, Reason: reconciler.EngineConnectFailed, Message: err.Error()}
	}
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if _, err := cli.Ping(pctx); err != nil {
		return reconciler.EngineResult{Status: st, Reason: reconciler.EngineConnecting,
			Message: fmt.Sprintf("dockerd at %s does not answer: %v", socket, err)}
	}
	v, err := cli.ServerVersion(pctx)
	if err != nil {
		return reconciler.EngineResult{Status: st, Reason: reconciler.EngineConnecting,
			Message: fmt.Sprintf("dockerd at %s: read version: %v", socket, err)}
	}
	st.Version, st.APIVersion = v.Version, cli.ClientVersion()
	return reconciler.EngineResult{Status: st, Reason: reconciler.EngineConnected, Message: "dockerd " + v.Version}
}

// client returns the client for socket, replacing one for another socket.
func (e *Engine) client(socket string) (*client.Client, error) {
	e.mu.Lock()
	if e.cli != nil && e.socket == socket {
		cli := e.cli
		e.mu.Unlock()
		return cli, nil
	}
	old := e.cli
	e.cli, e.socket = nil, ""
	e.mu.Unlock()
	if old != nil {
		old.Close() // outside the lock (S1)
	}
	cli, err := client.NewClientWithOpts(client.WithHost("unix://"+socket), client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker client for %s: %w", socket, err)
	}
	e.mu.Lock()
	e.cli, e.socket = cli, socket
	e.mu.Unlock()
	return cli, nil
}

func (e *Engine) disconnect() {
	e.mu.Lock()
	old := e.cli
	e.cli, e.socket = nil, ""
	e.mu.Unlock()
	if old != nil {
		old.Close()
	}
}
