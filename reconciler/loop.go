package reconciler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/rddproject/rdd/atomicfile"
	"github.com/rddproject/rdd/backoff"
	desiredset "github.com/rddproject/rdd/desired" // the test helper "desired" takes the name
	"github.com/rddproject/rdd/history"
	"github.com/rddproject/rdd/home"
	"github.com/rddproject/rdd/schema"
	"github.com/rddproject/rdd/statusdir"
)

// Config wires a Loop. Desired, Status, Schema, VMs and Engine are required.
type Config struct {
	Desired string // path of desired.yaml (may be a symlink)
	// Fragments is the directory of fragments applied over Desired
	// (desired.d/, package desired); "" for none.
	Fragments string
	// Applied is where the daemon keeps a copy of the last valid desired
	// state, every file of it (desired.Set.Marshal), so that a daemon
	// restarted while the state is invalid keeps the last valid state in force instead of falling back to the defaults
	// (which would stop a running VM because of a typo). Optional.
	Applied string
	Status  *statusdir.Dir       // the status/ writer
	Schema  *schema.Schema       // the compiled schema
	VMs     map[string]VM        // VM drivers by vm.driver value
	Engine  Engine               // the container engine
	Resync  time.Duration        // full pass at least this often (default 5m)
	Grace   time.Duration        // Connecting longer than this is failed (default 2m)
	Logger  *slog.Logger         // default slog.Default()
	Daemon  statusdir.DaemonInfo // pid and version written to app.yaml
	Now     func() time.Time     // default time.Now
	// Confirm is run/confirm.yaml, where `rdd confirm recreate` records
	// consent to recreate the VM for one desired digest. Optional.
	Confirm string
	// Context keeps a docker CLI context at the engine socket. Optional.
	Context ContextKeeper
	// Events receives what happened in each pass (events.go); History
	// keeps each valid content applied. Both optional.
	Events  *statusdir.EventLog
	History *history.Writer

	// TrustRoot is where checkPerms stops walking up from the desired
	// file: RDD_HOME's parent (default "/").
	TrustRoot string
}

// emptyGrace is how long an empty desired file must stay empty before it is
// taken to mean "all defaults" rather than a save in progress.
const emptyGrace = time.Second

// retryInterval is how soon a pass is retried when what blocks it may end
// without any event to wake the loop: a refused file's mode fixed with a
// chmod of a directory, or a status write failing for a full disk.
const retryInterval = time.Second

// Backoff bounds for passes that did not settle.
const (
	minBackoff = 250 * time.Millisecond
	maxBackoff = 30 * time.Second
)

// Loop is the single reconcile loop. Its state is owned by the goroutine
// running Run; Wake may be called from anywhere.
type Loop struct {
	cfg  Config
	log  *slog.Logger
	wake chan struct{}

	// State below is touched only by Run's goroutine.
	digest     string                  // digest of the desired state last read ("" none)
	files      []statusdir.DesiredFile // the files of that read
	generation int64                   // bumps on every new digest
	applied    statusdir.AppliedRef
	desired    *schema.Desired // the state in force; nil until one was valid
	conds      []statusdir.Condition
	connSince  time.Time // start of the current Connecting streak
	connSocket string    // the socket of that streak
	emptySince time.Time // first read of an empty desired file in a row
	emptyFiles string    // which files were empty then
	failures   int       // passes in a row that did not settle, for backoff
	lastMarker statusdir.Marker
	ev         eventState // what events.jsonl was last told

	lastVerdict string   // the marker last written ("" none, or after a failed write)
	startNote   string   // what restore could not use, shown until a valid state is applied
	savedCopy   bool     // the applied copy was written by this daemon
	retrySoon   bool     // this pass asks for the next within retryInterval
	unwritten   *Outcome // the object files the last pass could not write
}

// New returns a loop; call Run to start it.
func New(cfg Config) (*Loop, error) {
	if cfg.Desired == "" || cfg.Status == nil || cfg.Schema == nil || cfg.Engine == nil || len(cfg.VMs) == 0 {
		return nil, errors.New("reconciler: Desired, Status, Schema, VMs and Engine are required")
	}
	if cfg.Resync <= 0 {
		cfg.Resync = 5 * time.Minute
	}
	if cfg.Grace <= 0 {
		cfg.Grace = 2 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	l := &Loop{cfg: cfg, log: cfg.Logger, wake: make(chan struct{}, 1)}
	l.restore()
	return l, nil
}

// restore continues from what an earlier daemon left: the generation
// counter (so generations only grow) and the last valid desired state. What
// it cannot use is logged and kept in startNote, which the next passes show
// in the Valid condition: an unreadable app.yaml restarts the generations,
// and an empty or unreadable copy means no state is in force at all (never
// the defaults, which would stop a running VM because of a typo).
func (l *Loop) restore() {
	var notes []string
	app, err := statusdir.ReadApp(l.cfg.Status.Root())
	switch {
	case err == nil && app.Desired.Path == l.cfg.Desired:
		l.digest, l.generation = app.Desired.Digest, app.Desired.Generation
		l.applied = app.Applied
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		l.log.Warn("the previous daemon's status cannot be read; generations start again at 1", "err", err)
		notes = append(notes, fmt.Sprintf("at start, %v; generations started again at 1", err))
	}
	if l.cfg.Applied != "" {
		d, digest, err := l.readApplied()
		switch {
		case err != nil:
			l.log.Warn("ignoring the saved last valid desired state: nothing is in force until desired.yaml is valid", "path", l.cfg.Applied, "err", err)
			notes = append(notes, fmt.Sprintf("at start, %v; it was ignored, and nothing is in force until the desired file is valid", err))
			l.applied.Generation = 0 // the next valid read saves a new copy
		case d != nil:
			l.desired = d
			if l.applied.Digest != digest {
				l.applied = statusdir.AppliedRef{Digest: digest}
			}
		}
	}
	l.startNote = strings.Join(notes, "; ")
}

// readApplied reads and parses the applied copy. A missing copy is no copy
// (nil, no error); an empty, unreadable or invalid one is an error. The
// copy is opened without following a link and never blocks on a FIFO.
func (l *Loop) readApplied() (*schema.Desired, string, error) {
	path := l.cfg.Applied
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("the saved copy %s cannot be read: %w", path, unwrapPath(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, "", fmt.Errorf("the saved copy %s cannot be read: %w", path, unwrapPath(err))
	}
	if !fi.Mode().IsRegular() {
		return nil, "", fmt.Errorf("the saved copy %s cannot be read: not a regular file (%s)", path, fi.Mode().Type())
	}
	data, err := io.ReadAll(io.LimitReader(f, maxAppliedCopy+1))
	switch {
	case err != nil:
		return nil, "", fmt.Errorf("the saved copy %s cannot be read: %w", path, unwrapPath(err))
	case len(data) == 0:
		return nil, "", fmt.Errorf("the saved copy %s is empty", path)
	case len(data) > maxAppliedCopy:
		return nil, "", fmt.Errorf("the saved copy %s is over %d bytes", path, maxAppliedCopy)
	}
	set, err := desiredset.Unmarshal(data)
	var d *schema.Desired
	if err == nil {
		d, _, err = set.Parse(l.cfg.Schema)
	}
	if err != nil {
		return nil, "", fmt.Errorf("the saved copy %s is not a valid desired state: %s", path, firstLine(err.Error()))
	}
	return d, set.Digest(), nil
}

// maxAppliedCopy bounds the saved copy: desired.yaml and its fragments,
// each at most schema.MaxFileSize, quoted in one YAML document.
const maxAppliedCopy = 64 * schema.MaxFileSize

// unwrapPath drops the *PathError wrapper whose path the caller names.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Wake asks for a pass. It never blocks; wake-ups that arrive while one is
// pending collapse into it.
func (l *Loop) Wake() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Run passes until ctx ends, then marks the status not current (summary
// Unknown, reason DaemonStopped, markers removed) and returns nil. It does
// not stop the VM: the engine keeps running without the daemon.
func (l *Loop) Run(ctx context.Context) error {
	engineChanges := l.cfg.Engine.Changes()
	for _, vm := range l.cfg.VMs {
		if ch := vm.Changes(); ch != nil {
			go forwardWakes(ctx, ch, l.Wake)
		}
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return l.shutdown()
		case <-l.wake:
		case <-engineChanges:
		case <-timer.C:
		}
		l.retrySoon = false
		next := l.pass(ctx)
		if ctx.Err() != nil {
			return l.shutdown()
		}
		if l.retrySoon {
			next = min(next, retryInterval)
		}
		timer.Reset(next)
	}
}

// forwardWakes turns a driver's wake-ups into loop wake-ups until ctx ends.
func forwardWakes(ctx context.Context, ch <-chan struct{}, wake func()) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-ch:
			wake()
		}
	}
}

// pass is one level-triggered reconcile: read, act, observe, write. It
// returns when the next pass is due if nothing wakes the loop sooner.
func (l *Loop) pass(ctx context.Context) time.Duration {
	now := l.cfg.Now()
	t0 := time.Now()
	invalid, retry := l.checkDesiredPerms()
	if invalid == nil {
		invalid, retry = l.readDesired()
	}
	tRead := time.Since(t0)
	if retry {
		// A writer is busy with the file; its writes wake the loop again.
		// Until then the status of the last pass stands.
		return minBackoff
	}
	d := l.desired
	if d == nil {
		// Nothing valid was ever applied: do not act on the VM or engine
		// at all, only report why.
		return l.report(now, invalid)
	}

	vmDriver, ok := l.cfg.VMs[d.VM.Driver]
	var vm VMResult
	if !ok {
		vm = VMResult{Reason: statusdir.VMStartFailed, Message: fmt.Sprintf("vm.driver %q has no driver in this build", d.VM.Driver)}
	} else {
		vm = vmDriver.Reconcile(ctx, d, l.allow(d))
	}
	tVM := time.Since(t0)

	// A driver sets Socket only while the VM runs: also when it refused a
	// change and left the running VM as it was, which must not disconnect
	// the engine.
	socket := ""
	if d.Running {
		socket = vm.Socket
	}
	eng := l.cfg.Engine.Reconcile(ctx, d, socket)
	l.keepContext(d, socket, &eng)
	tEngine := time.Since(t0)
	if socket == "" && eng.Reason == "" {
		eng.Reason = statusdir.EngineStopped
	}
	if eng.Reason == statusdir.EngineConnecting && eng.Status.Socket == l.connSocket {
		if l.connSince.IsZero() {
			l.connSince = now
		}
	} else if eng.Reason == statusdir.EngineConnecting {
		// A new socket starts a new streak: its grace period is its own.
		l.connSince, l.connSocket = now, eng.Status.Socket
	} else {
		l.connSince, l.connSocket = time.Time{}, ""
	}
	var connecting time.Duration
	if !l.connSince.IsZero() {
		connecting = now.Sub(l.connSince)
	}

	unwritten := l.writeMirrors(eng.Mirrors)
	v := Decide(Observation{Invalid: invalid, Desired: d, VM: vm, Engine: eng, Connecting: connecting, Grace: l.cfg.Grace, Unwritten: unwritten})
	err := l.write(now, invalid, vm, eng, v)
	l.log.Debug("pass", "generation", l.generation, "read", tRead, "vm", tVM-tRead, "engine", tEngine-tVM, "write", time.Since(t0)-tEngine)
	if err != nil {
		l.log.Error("write status", "err", err)
		l.retrySoon = true // a full disk frees up without waking anything
		l.failures++
		return backoff.Delay(l.failures, minBackoff, maxBackoff)
	}

	next := l.cfg.Resync
	if v.Marker == statusdir.ReadyMarker {
		l.failures = 0
	} else {
		l.failures++
		next = backoff.Delay(l.failures, minBackoff, maxBackoff)
	}
	for _, r := range []time.Duration{vm.Requeue, eng.Requeue} {
		if r > 0 && r < next {
			next = r
		}
	}
	if eng.Reason == statusdir.EngineConnecting && l.cfg.Grace > connecting {
		// Wake exactly when the grace period ends, so the failure is
		// reported on time even if nothing else happens.
		next = min(next, l.cfg.Grace-connecting)
	}
	return next
}

// report writes the status of a pass that could not act because no valid
// desired state was ever applied.
func (l *Loop) report(now time.Time, invalid *Outcome) time.Duration {
	const msg = "not observed: no valid desired state has been applied yet"
	vm := VMResult{Reason: statusdir.ReasonNoValidState, Message: msg}
	eng := EngineResult{Reason: statusdir.ReasonNoValidState, Message: msg}
	v := Decide(Observation{Invalid: invalid, VM: vm, Engine: eng})
	if err := l.write(now, invalid, vm, eng, v); err != nil {
		l.log.Error("write status", "err", err)
		l.retrySoon = true
	}
	l.failures++
	return backoff.Delay(l.failures, minBackoff, maxBackoff)
}

// readDesired reads and validates the desired state (desired.yaml and
// the fragments of desired.d/), bumping the generation on a new digest and
// swapping in the new state only when it is valid. It returns the problem
// with the current state, or nil; retry is set when a writer was busy with
// a file and nothing should be concluded yet.
func (l *Loop) readDesired() (invalid *Outcome, retry bool) {
	path := l.cfg.Desired
	// One read per pass of each file, through the one function that
	// checks a file's type, size and stability; the bytes it returns are
	// what is digested and validated. A file that changed while being
	// read is a save in progress: its writes wake the loop again.
	set, err := desiredset.Read(desiredset.Source{Desired: path, Fragments: l.cfg.Fragments})
	if err != nil {
		l.files = nil
		switch {
		case errors.Is(err, schema.ErrChanged):
			return nil, true
		case errors.Is(err, desiredset.ErrMissing):
			l.observeDigest("")
			return &Outcome{Reason: statusdir.ReasonMissing, Message: fmt.Sprintf(
				"%s does not exist; the last valid desired state stays in force (create it, or run `rdd init`)", path)}, false
		}
		l.observeDigest("") // no content to name: a directory, a FIFO...
		return &Outcome{Reason: statusdir.ReasonInvalid, Message: err.Error()}, false
	}
	if empty := strings.Join(set.Empty(), "\x00"); empty != "" {
		// An empty read is "not yet": a truncate-then-write save (cp, a
		// shell redirection) shows an empty file before its content, and
		// acting on it would apply the defaults (running: false). An empty
		// file that stays empty for emptyGrace is taken as meant; another
		// file found empty starts the grace again.
		now := l.cfg.Now()
		if l.emptySince.IsZero() || l.emptyFiles != empty {
			l.emptySince, l.emptyFiles = now, empty
		}
		if now.Sub(l.emptySince) < emptyGrace {
			return nil, true
		}
	} else {
		l.emptySince, l.emptyFiles = time.Time{}, ""
	}
	digest := set.Digest()
	l.files = set.Refs()
	changed := l.observeDigest(digest)
	if !changed && l.applied.Digest == digest && l.desired != nil {
		return nil, false // same valid content: nothing to parse again
	}
	// Each file on its own, then the merged result, then what it names
	// on this machine (vm.caCerts must exist and parse).
	d, _, err := set.Validate(l.cfg.Schema)
	if err != nil {
		if changed {
			l.log.Warn("desired state is invalid; the last valid state stays in force", "digest", digest, "err", err)
		}
		return &Outcome{Reason: statusdir.ReasonInvalid, Message: err.Error()}, false
	}
	l.desired = d
	if l.applied.Digest != digest || l.applied.Generation == 0 {
		l.applied = statusdir.AppliedRef{Digest: digest, Generation: l.generation}
		l.saveApplied(set)
		l.saveHistory(set)
		l.log.Info("desired state applied", "digest", digest, "generation", l.generation, "files", len(set.Files))
	}
	return nil, false
}

// checkDesiredPerms refuses a desired file or fragment another user could change (see
// checkPerms) before its bytes are used: the last valid state stays in
// force. The file's digest is still observed, so that a waiter for it gets
// its verdict.
func (l *Loop) checkDesiredPerms() (invalid *Outcome, retry bool) {
	paths := []string{l.cfg.Desired}
	if l.cfg.Fragments != "" {
		if ents, err := os.ReadDir(l.cfg.Fragments); err == nil {
			for _, e := range ents {
				if desiredset.IsFragment(e.Name()) {
					paths = append(paths, filepath.Join(l.cfg.Fragments, e.Name()))
				}
			}
		}
	}
	var err error
	for _, p := range paths {
		if err = checkPerms(p, l.cfg.TrustRoot); err != nil {
			break
		}
	}
	if err == nil {
		return nil, false
	}
	digest := desiredset.Digest(desiredset.Source{Desired: l.cfg.Desired, Fragments: l.cfg.Fragments})
	if l.observeDigest(digest) {
		l.log.Warn("desired file refused; the last valid state stays in force", "err", err)
	}
	l.retrySoon = true // a chmod of a directory wakes no watch
	return &Outcome{Reason: statusdir.ReasonUnsafePermissions, Message: err.Error()}, false
}

// saveApplied keeps a copy of the last valid desired state, every file of
// it (see Config.Applied). A failure is logged, not fatal: it only matters
// if the daemon restarts while the state is invalid.
func (l *Loop) saveApplied(set *desiredset.Set) {
	if l.cfg.Applied == "" {
		return
	}
	data, err := set.Marshal()
	if err == nil {
		err = home.PrivateDir(filepath.Dir(l.cfg.Applied))
	}
	if err == nil {
		err = atomicfile.Write(l.cfg.Applied, data, 0o600)
	}
	if err != nil {
		l.log.Warn("save the last valid desired state", "path", l.cfg.Applied, "err", err)
		return
	}
	l.savedCopy = true
}

// observeDigest records the digest of what was just read, bumping the
// generation when it is new, and reports whether it was.
func (l *Loop) observeDigest(digest string) bool {
	if digest == l.digest && l.generation > 0 {
		return false
	}
	prev := l.digest
	l.digest = digest
	l.generation++
	l.desiredEvent(prev)
	return true
}

// write renders the pass into status/: object files first, then the
// pass's events, then app.yaml and the marker as one batch
// (statusdir.Dir.WritePass). Every write is skipped when its bytes are
// unchanged.
func (l *Loop) write(now time.Time, invalid *Outcome, vm VMResult, eng EngineResult, v Verdict) error {
	defer l.flushHistory() // after the marker
	gen := l.generation

	valid := statusdir.Condition{Type: statusdir.CondValid, Status: statusdir.True, Reason: statusdir.ReasonValid, ObservedGeneration: gen}
	if invalid != nil {
		valid.Status, valid.Reason, valid.Message = statusdir.False, invalid.Reason, invalid.Message
	}
	if l.startNote != "" {
		valid.Message = strings.TrimPrefix(valid.Message+"; "+l.startNote, "; ")
	}
	settled := statusdir.Condition{Type: statusdir.CondSettled, Status: statusdir.False, Reason: v.Reason, Message: v.Message, ObservedGeneration: gen}
	if v.Marker == statusdir.ReadyMarker {
		settled.Status = statusdir.True
	}
	for _, c := range []statusdir.Condition{
		valid,
		{Type: statusdir.CondRunning, Status: runningCondition(vm), Reason: vm.Reason, Message: vm.Message, ObservedGeneration: gen},
		{Type: statusdir.CondEngine, Status: engineCondition(eng), Reason: eng.Reason, Message: eng.Message, ObservedGeneration: gen},
		settled,
	} {
		l.conds = statusdir.SetCondition(l.conds, c, now)
	}
	if c := vm.EngineConfig; c != nil {
		cc := *c
		cc.Type, cc.ObservedGeneration = statusdir.CondEngineConfig, gen
		l.conds = statusdir.SetCondition(l.conds, cc, now)
	} else {
		l.conds = removeCondition(l.conds, statusdir.CondEngineConfig)
	}
	eng.Status.Config = vm.EngineConfigStatus
	if l.desired != nil && l.desired.Kubernetes.Enabled {
		l.conds = statusdir.SetCondition(l.conds, statusdir.Condition{Type: statusdir.CondKubernetes, Status: statusdir.False,
			Reason: statusdir.ReasonNotSupported, Message: "Kubernetes is not built yet", ObservedGeneration: gen}, now)
	} else {
		l.conds = removeCondition(l.conds, statusdir.CondKubernetes)
	}
	if l.unwritten != nil {
		l.conds = statusdir.SetCondition(l.conds, statusdir.Condition{Type: statusdir.CondStatusWritten, Status: statusdir.False,
			Reason: l.unwritten.Reason, Message: l.unwritten.Message, ObservedGeneration: gen}, now)
	} else {
		l.conds = removeCondition(l.conds, statusdir.CondStatusWritten)
	}

	app := statusdir.App{
		Daemon:             l.cfg.Daemon,
		Desired:            statusdir.DesiredRef{Path: l.cfg.Desired, Digest: l.digest, Generation: gen, Files: l.files},
		Applied:            l.applied,
		ObservedGeneration: gen,
		Summary:            v.Summary,
		Conditions:         l.conds,
		VM:                 vm.Status,
		Engine:             eng.Status,
		Applying:           applying(gen, vm.Applying),
	}
	// Events before the marker: a script that waited for it finds them.
	if err := l.recordPass(now, vm, eng, v); err != nil {
		return err
	}
	if l.savedCopy {
		l.startNote = "" // shown once; a valid state is in force and saved
	}
	pass := statusdir.Pass{App: app, Marker: v.Marker}
	if v.Marker == "" {
		l.lastVerdict = ""
		_, err := l.cfg.Status.WritePass(pass)
		return err
	}
	m := statusdir.Marker{Digest: l.digest, Generation: gen, Reason: v.Reason, Message: v.Message, Time: now.UTC().Truncate(time.Second)}
	same := l.lastMarker.Digest == m.Digest && l.lastMarker.Generation == m.Generation && l.lastMarker.Reason == m.Reason && l.lastMarker.Message == m.Message
	if same {
		m.Time = l.lastMarker.Time // same verdict: same bytes
	}
	if !same || l.lastVerdict != v.Marker {
		// Logged before the marker exists: whoever sees the marker finds
		// the line in the log.
		l.log.Info("verdict", "marker", v.Marker, "generation", gen, "reason", v.Reason, "message", firstLine(v.Message))
	}
	pass.Verdict = m
	if _, err := l.cfg.Status.WritePass(pass); err != nil {
		l.lastVerdict = ""
		return err
	}
	l.lastMarker, l.lastVerdict = m, v.Marker
	return nil
}

// writeMirrors writes the engine's object files (they go before app.yaml
// and the markers). A file that cannot be written hides none of the
// others; what failed is summed up as a count and the first error, which
// the verdict, the StatusWritten condition and one log line carry (a full
// disk fails hundreds of files in every pass). While files fail, the next
// pass comes within retryInterval: freeing space wakes nothing.
func (l *Loop) writeMirrors(ms []statusdir.Mirror) *Outcome {
	var failed []string
	for _, m := range ms {
		_, err := l.cfg.Status.SyncMirror(m)
		if err == nil {
			continue
		}
		errs := []error{err}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			errs = j.Unwrap()
		}
		for _, e := range errs {
			failed = append(failed, stableError(e))
		}
	}
	if len(failed) == 0 {
		if l.unwritten != nil {
			l.log.Info("status files written again")
		}
		l.unwritten = nil
		return nil
	}
	// Files are written in parallel: the first in name order is the same
	// in every pass, so that an unchanged failure rewrites nothing.
	first := slices.Min(failed)
	o := &Outcome{Reason: statusdir.ReasonWriteFailed, Message: fmt.Sprintf(
		"%d object file(s) under %s could not be written; the first: %s", len(failed), l.cfg.Status.Root(), first)}
	if l.unwritten == nil || l.unwritten.Message != o.Message {
		l.log.Error("write status", "failed", len(failed), "first", first)
	}
	l.unwritten = o
	l.retrySoon = true
	return o
}

// stableError renders err without the random name of the temporary file it
// may mention.
func stableError(err error) string {
	s := err.Error()
	var pe *fs.PathError
	if errors.As(err, &pe) && strings.Contains(filepath.Base(pe.Path), atomicfile.TempPrefix) {
		s = strings.Replace(s, pe.Error(), pe.Err.Error(), 1)
	}
	return s
}

// shutdown marks the status not current: a reader must not trust markers of
// a daemon that is gone.
func (l *Loop) shutdown() error {
	now := l.cfg.Now()
	l.conds = statusdir.SetCondition(l.conds, statusdir.Condition{Type: statusdir.CondSettled, Status: statusdir.Unknown,
		Reason: statusdir.ReasonDaemonStopped, Message: "the rdd daemon stopped; status is not current", ObservedGeneration: l.generation}, now)
	app, err := statusdir.ReadApp(l.cfg.Status.Root())
	if err != nil {
		app = &statusdir.App{Daemon: l.cfg.Daemon}
	}
	app.Summary = statusdir.SummaryUnknown
	app.Conditions = l.conds
	var errs []error
	if err := l.cfg.Status.ClearVerdict(); err != nil {
		errs = append(errs, err)
	}
	if _, err := l.cfg.Status.WriteYAML(statusdir.AppFile, app); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func removeCondition(conds []statusdir.Condition, typ string) []statusdir.Condition {
	out := conds[:0:0]
	for _, c := range conds {
		if c.Type != typ {
			out = append(out, c)
		}
	}
	return out
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}
