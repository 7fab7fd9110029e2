package docker

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/client"

	"github.com/rddproject/rdd/backoff"
	"github.com/rddproject/rdd/reconciler"
	"github.com/rddproject/rdd/schema"
	"github.com/rddproject/rdd/statusdir"
)

const (
	// pingTimeout bounds a health check, so a wedged socket never stalls
	// the loop.
	pingTimeout = 5 * time.Second
	// callTimeout bounds one list or inspect call.
	callTimeout = 30 * time.Second
	// defaultFullSync is how often the mirror is rebuilt from full lists
	// and inspects even when events say nothing changed: the safety net
	// for a missed event (review I6). A resync that finds nothing changed
	// writes nothing.
	defaultFullSync = 5 * time.Minute
	// Retries of a failed inspect or list back off from minRetry to
	// maxRetry; reconnects from minRetry to maxReconnect.
	minRetry     = 250 * time.Millisecond
	maxRetry     = 30 * time.Second
	maxReconnect = 5 * time.Second
	// stableAfter is how long a connection must last for its end not to
	// count as a flap.
	stableAfter = 10 * time.Second
	// defaultWorkers bounds the inspects in flight at once.
	defaultWorkers = 8
)

// Engine implements reconciler.Engine for moby (dockerd). It mirrors every
// container, image and volume into the object files of status/, kept up to
// date by dockerd's event stream.
//
// Reconcile is called by one goroutine, the loop; Changes and Close may be
// called from any.
type Engine struct {
	log       *slog.Logger
	fullEvery time.Duration
	workers   int
	now       func() time.Time
	changes   chan struct{}
	onEvent   func(events.Message) // test hook: sees every event first
	connects  atomic.Int64         // connections made
	policy    policy               // timing of declared objects
	decl      *declared            // declared objects' history, across connections

	mu   sync.Mutex // guards conn; never held across a blocking call (S1)
	conn *conn

	// Owned by the goroutine that calls Reconcile.
	socket   string    // the socket the fields below are about
	failures int       // failed connection attempts in a row
	flaps    int       // connections in a row that ended within stableAfter
	retryAt  time.Time // no new attempt before this
	lastErr  string    // why the last attempt failed
}

// conn is one connection to dockerd: a client, the event watcher that
// started with it, and what it has mirrored.
type conn struct {
	socket     string
	cli        *client.Client
	version    string // dockerd's version
	apiVersion string // the negotiated API version
	watcher    *watcher
	mirror     *mirror
	pulls      *pulls    // pulls of images declared present
	since      time.Time // when it was made
	// reported is what this connection's last result gave each status
	// subdirectory, which the next result's Deltas are relative to.
	reported map[string]reported
}

var _ reconciler.Engine = (*Engine)(nil)

// Option configures an Engine.
type Option func(*Engine)

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(e *Engine) { e.log = l } }

// WithFullSync sets how often the mirror is rebuilt from full lists even
// when no event says anything changed (by default, every defaultFullSync).
func WithFullSync(every time.Duration) Option { return func(e *Engine) { e.fullEvery = every } }

// New returns an engine that connects on its first Reconcile with a socket.
func New(opts ...Option) *Engine {
	e := &Engine{
		log:       slog.Default(),
		fullEvery: defaultFullSync,
		workers:   defaultWorkers,
		now:       time.Now,
		changes:   make(chan struct{}, 1),
		policy:    defaultPolicy,
		decl:      newDeclared(),
	}
	for _, o := range opts {
		o(e)
	}
	if e.fullEvery <= 0 {
		e.fullEvery = defaultFullSync
	}
	return e
}

// Changes delivers a wake-up when events mark objects dirty and when the
// event watcher ends (a lost connection, a panic): the next Reconcile does
// the work.
func (e *Engine) Changes() <-chan struct{} { return e.changes }

// wake never blocks; wake-ups that arrive while one is pending collapse.
func (e *Engine) wake() {
	select {
	case e.changes <- struct{}{}:
	default:
	}
}

// Close drops the connection and stops the event watcher.
func (e *Engine) Close() error {
	e.disconnect()
	return nil
}

// Reconcile connects to the engine at socket when needed, brings the
// mirror up to date and returns it.
//
//   - socket empty and d.Running false: the engine is meant to be off. The
//     connection is dropped and every object file is cleared (reason
//     Stopped).
//   - socket empty while d.Running is true: the VM is not up yet (starting,
//     restarting). The connection is dropped and the files are kept.
//   - containerEngine.name containerd: rdd mirrors moby only; reason
//     NotApplicable, and files left by moby are cleared, since they
//     describe an engine that is not running.
//   - the engine does not answer, or stopped answering: reason Connecting
//     with the error, every directory statusdir.LeaveDir (the files are kept), and a requeue with
//     capped backoff. The next connection syncs everything again.
//   - connected: reason Connected and the mirrors. The first pass of a
//     connection is a full sync; later passes read only what events marked
//     dirty, plus a full sync every fullEvery.
func (e *Engine) Reconcile(ctx context.Context, d *schema.Desired, socket string) reconciler.EngineResult {
	st := statusdir.EngineStatus{Name: d.ContainerEngine.Name, Socket: socket}
	if socket == "" || d.ContainerEngine.Name != "moby" {
		e.socket, e.failures, e.flaps, e.retryAt, e.lastErr = "", 0, 0, time.Time{}, ""
		// The engine is off or not moby: what its containers did was not
		// drift, and bringing them back when it runs again is not a
		// correction.
		clear(e.decl.tracks)
	}
	switch {
	case socket == "" && !d.Running:
		e.disconnect()
		return reconciler.EngineResult{Status: st, Reason: statusdir.EngineStopped,
			Message: "the engine is off (running: false); object files are cleared", Mirrors: cleared()}
	case socket == "":
		e.disconnect()
		return reconciler.EngineResult{Status: st, Reason: statusdir.EngineStopped,
			Message: "waiting for the VM to run; object files are kept", Mirrors: leaveAll()}
	case d.ContainerEngine.Name == "containerd":
		e.disconnect()
		return reconciler.EngineResult{Status: st, Reason: statusdir.EngineNotApplicable,
			Message: "containerEngine.name is containerd: rdd mirrors and manages moby only", Mirrors: cleared(),
			Declared: unsupported(d)}
	case d.ContainerEngine.Name != "moby":
		e.disconnect()
		return reconciler.EngineResult{Status: st, Reason: statusdir.EngineConnectFailed,
			Message: fmt.Sprintf("containerEngine.name %q is not an engine this build knows (moby, containerd)", d.ContainerEngine.Name), Mirrors: leaveAll()}
	}

	now := e.now()
	if socket != e.socket {
		// Another socket: what the last one did (its errors, its backoff)
		// says nothing about this one.
		e.socket = socket
		e.failures, e.flaps, e.retryAt, e.lastErr = 0, 0, time.Time{}, ""
	}
	c := e.current()
	if c != nil && c.socket != socket {
		e.drop(c)
		c = nil
	}
	if c == nil {
		if err := socketProblem(socket); err != nil {
			// A stat, checked on every pass, so that a socket that appears
			// at the path is used on the next one; the requeue backs off.
			e.failures++
			e.lastErr = err.Error()
			return reconciler.EngineResult{Status: st, Reason: statusdir.EngineConnectFailed, Message: err.Error(), Mirrors: leaveAll(),
				Requeue: backoff.Delay(e.failures, minRetry, maxReconnect)}
		}
	}
	if c != nil {
		if err := c.watcher.ended(); err != nil {
			// The stream ended or the watcher panicked: reconnect and sync
			// everything again (events may have been missed). At once,
			// unless connections keep ending young: then back off, so a
			// watcher that dies on every start does not spin.
			e.log.Warn("engine event watcher ended; reconnecting", "socket", socket, "err", err)
			e.drop(c)
			if now.Sub(c.since) < stableAfter {
				e.flaps++
				e.retryAt, e.lastErr = now.Add(backoff.Delay(e.flaps, minRetry, maxReconnect)), err.Error()
			} else {
				e.flaps = 0
			}
			c = nil
		}
	}
	if c == nil {
		if now.Before(e.retryAt) {
			return e.connecting(st, e.lastErr, e.retryAt.Sub(now))
		}
		var err error
		c, err = e.connect(ctx, socket)
		if err != nil {
			if ctx.Err() != nil {
				return e.connecting(st, err.Error(), 0)
			}
			e.failures++
			wait := backoff.Delay(e.failures, minRetry, maxReconnect)
			e.retryAt, e.lastErr = now.Add(wait), err.Error()
			return e.connecting(st, err.Error(), wait)
		}
		e.failures, e.retryAt, e.lastErr = 0, time.Time{}, ""
		e.keep(c)
		e.log.Info("engine connected", "socket", socket, "version", c.version, "api", c.apiVersion)
	}
	st.Version, st.APIVersion = c.version, c.apiVersion

	// Observe, act on declared objects, and observe again what changed.
	full, err := e.refresh(ctx, c, now)
	var decl []objectStatus
	if err == nil {
		decl, err = e.enforce(ctx, c, d, now)
	}
	if err != nil {
		e.drop(c)
		if ctx.Err() != nil {
			return e.connecting(st, err.Error(), 0)
		}
		e.log.Warn("engine connection lost", "socket", socket, "err", err)
		// The event watcher of the next connection anchors on the
		// engine's clock again; reconnect at once, then back off.
		e.failures++
		wait := backoff.Delay(e.failures, minRetry, maxReconnect)
		e.retryAt, e.lastErr = now.Add(wait), err.Error()
		return e.connecting(st, err.Error(), wait)
	}
	msg := "dockerd " + c.version + ", API " + c.apiVersion
	if p := c.mirror.problems(); len(p) > 0 {
		msg += "; " + strings.Join(p, "; ")
	}
	files := c.mirror.files()
	e.declaredFiles(files, c.mirror, decl)
	c.report(files, full)
	out, next := outcome(decl)
	requeue := c.mirror.requeue(now)
	if !next.IsZero() {
		requeue = min(requeue, max(next.Sub(now), time.Millisecond))
	}
	return reconciler.EngineResult{
		Status:   st,
		Reason:   statusdir.EngineConnected,
		Message:  msg,
		Mirrors:  inOrder(files),
		Declared: out,
		Requeue:  requeue,
	}
}

// connecting is the result while the engine does not answer: every object
// file is kept.
func (e *Engine) connecting(st statusdir.EngineStatus, msg string, requeue time.Duration) reconciler.EngineResult {
	return reconciler.EngineResult{Status: st, Reason: statusdir.EngineConnecting,
		Message: fmt.Sprintf("dockerd at %s does not answer: %s", st.Socket, msg), Mirrors: leaveAll(), Requeue: requeue}
}

// cleared is the mirror of an engine that is off: every object directory
// empty.
func cleared() []statusdir.Mirror {
	var out []statusdir.Mirror
	for _, dir := range statusdir.ObjectDirs() {
		out = append(out, statusdir.ClearDir(dir))
	}
	return out
}

// leaveAll is the mirror of an engine that is not known right now: every
// object directory kept as it is.
func leaveAll() []statusdir.Mirror {
	var out []statusdir.Mirror
	for _, dir := range statusdir.ObjectDirs() {
		out = append(out, statusdir.LeaveDir(dir))
	}
	return out
}

// inOrder lists mirrors by directory in statusdir.ObjectDirs order.
func inOrder(mirrors map[string]statusdir.Mirror) []statusdir.Mirror {
	var out []statusdir.Mirror
	for _, dir := range statusdir.ObjectDirs() {
		out = append(out, mirrors[dir])
	}
	return out
}

// connect pings the engine at socket (negotiating the API version), takes
// the events anchor from the engine's own clock, and starts the event
// watcher from that anchor. The watcher runs before the first full sync,
// and the anchor precedes it, so an object that changes while the sync
// reads is seen again through its event.
func (e *Engine) connect(ctx context.Context, socket string) (*conn, error) {
	cli, err := client.NewClientWithOpts(client.WithHost("unix://"+socket), client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker client for %s: %w", socket, err)
	}
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	ping, err := cli.Ping(pctx)
	if err != nil {
		cli.Close()
		return nil, err
	}
	cli.NegotiateAPIVersionPing(ping)
	info, err := cli.Info(pctx)
	if err != nil {
		cli.Close()
		return nil, fmt.Errorf("read engine info: %w", err)
	}
	anchor, err := time.Parse(time.RFC3339Nano, info.SystemTime)
	if err != nil {
		// S9: say so, and fall back to this host's clock, a little early
		// so that a small skew replays events rather than losing them.
		e.log.Warn("engine clock unreadable; anchoring events on this host's clock", "systemTime", info.SystemTime, "err", err)
		anchor = time.Now().Add(-5 * time.Second)
	}
	since := fmt.Sprintf("%d.%09d", anchor.Unix(), anchor.Nanosecond())
	e.connects.Add(1)
	c := &conn{
		socket:     socket,
		cli:        cli,
		version:    info.ServerVersion,
		apiVersion: cli.ClientVersion(),
		watcher:    startWatcher(cli, since, e.wake, e.onEvent),
		mirror:     newMirror(),
		since:      e.now(),
	}
	// A pull that ended makes the images dirty before it wakes the loop,
	// so that the next pass lists them again, whether or not dockerd's
	// event arrived first.
	c.pulls = newPulls(e.log, func() { c.watcher.dirty.add("", true, false); e.wake() }, e.now, e.policy)
	return c, nil
}

// current returns the connection, if any.
func (e *Engine) current() *conn {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.conn
}

// drop forgets c and closes it, outside the lock (S1).
func (e *Engine) drop(c *conn) {
	e.mu.Lock()
	if e.conn == c {
		e.conn = nil
	}
	e.mu.Unlock()
	c.close()
}

// keep makes c the connection.
func (e *Engine) keep(c *conn) {
	e.mu.Lock()
	old := e.conn
	e.conn = c
	e.mu.Unlock()
	if old != nil && old != c {
		old.close()
	}
}

func (e *Engine) disconnect() {
	e.mu.Lock()
	c := e.conn
	e.conn = nil
	e.mu.Unlock()
	if c != nil {
		c.close()
	}
}

// close stops the watcher and closes the client; it blocks until the
// watcher's goroutine is gone, so callers hold no lock.
func (c *conn) close() {
	c.pulls.stop()
	c.watcher.stop()
	_ = c.cli.Close() // it only closes idle connections; nothing to report
}
