package lima

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rddproject/rdd/atomicfile"
	"github.com/rddproject/rdd/backoff"
	"github.com/rddproject/rdd/reconciler"
	"github.com/rddproject/rdd/schema"
	"github.com/rddproject/rdd/statusdir"
)

// Name is the Lima instance rdd manages, inside its own LIMA_HOME.
const Name = "rd"

// RecordFile, in the instance's directory, holds the Spec (JSON) the
// instance was last created or edited with. It goes away with the instance.
const RecordFile = "rdd-spec.json"

// Defaults of Config.
const (
	DefaultStartTimeout = 10 * time.Minute
	DefaultStopTimeout  = 5 * time.Minute
	DefaultRetryAfter   = 15 * time.Second
)

// Bounds of the short limactl commands and of retries.
const (
	listTimeout      = 30 * time.Second
	editTimeout      = 2 * time.Minute
	forceStopTimeout = 2 * time.Minute
	maxRetryAfter    = 5 * time.Minute
)

// Config wires a Driver. Home is required; the rest has defaults.
type Config struct {
	// Home is LIMA_HOME for every limactl command (home.Home.Lima()).
	Home string
	// Socket is where the engine socket is forwarded on the host when
	// containerEngine.socket is empty (home.Home.Socket()).
	Socket string
	// Base is the directory a relative containerEngine.socket is relative
	// to (RDD_HOME); default the directory of Socket.
	Base string
	// Limactl is the limactl binary, a path or a name looked up on PATH.
	// Empty means $RDD_LIMACTL, else "limactl".
	Limactl string
	// StartTimeout bounds creating and starting the instance (default
	// 10m); StopTimeout bounds a graceful stop (default 5m), after which
	// the instance is stopped forcibly.
	StartTimeout time.Duration
	StopTimeout  time.Duration
	// RetryAfter is the pause before a failed start or stop is tried again
	// with the same desired state; it doubles with each failure, up to 5m
	// (default 15s). A new desired state is tried at once.
	RetryAfter time.Duration
	// Env is added to limactl's environment (KEY=VALUE).
	Env []string
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Driver implements reconciler.VM with Lima: it renders the instance's
// lima.yaml from the desired state and drives limactl.
//
// Reconcile is called by one goroutine (the loop's). Long limactl commands
// (create, start, stop, delete) run in a goroutine of their own while
// Reconcile reports Starting, Stopping or Restarting; when they end,
// Changes delivers a wake-up.
type Driver struct {
	cfg     Config
	log     *slog.Logger
	changes chan struct{}
	wg      sync.WaitGroup

	mu sync.Mutex
	op *operation // running, or finished and not yet collected by Reconcile

	now func() time.Time // time.Now; tests move it

	// Owned by the goroutine calling Reconcile.
	fail    *failure
	last    statusdir.VMStatus  // the last observation, shown during operations
	lastRes reconciler.VMResult // the last result returned
	guest   *guestState         // the engine configuration (guestconfig.go)
}

var _ reconciler.VM = (*Driver)(nil)

// New returns a driver; it runs nothing until Reconcile.
func New(cfg Config) *Driver {
	if cfg.Limactl == "" {
		cfg.Limactl = os.Getenv("RDD_LIMACTL")
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = DefaultStartTimeout
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = DefaultStopTimeout
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = DefaultRetryAfter
	}
	if cfg.Base == "" && cfg.Socket != "" {
		cfg.Base = filepath.Dir(cfg.Socket)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Driver{
		cfg:     cfg,
		log:     cfg.Logger.With("driver", "lima", "instance", Name),
		changes: make(chan struct{}, 1),
		now:     time.Now,
		last:    statusdir.VMStatus{Driver: "lima", Instance: Name},
	}
}

// Changes delivers a wake-up whenever a limactl operation ends.
func (dr *Driver) Changes() <-chan struct{} { return dr.changes }

// Close cancels a running limactl operation and waits until it has ended.
// The VM itself is left as it is: a start that was under way goes on in
// Lima's host agent and is adopted by the next daemon.
func (dr *Driver) Close() error {
	dr.mu.Lock()
	op := dr.op
	dr.mu.Unlock()
	if op != nil {
		op.cancel()
	}
	dr.wg.Wait()
	return nil
}

// operation is a sequence of limactl commands run in the background.
type operation struct {
	reason  string // Starting, Stopping or Restarting while it runs
	running bool   // the desired `running` it serves
	key     string // the desired state it serves (planKey)
	what    string // what it does, for messages
	cancel  context.CancelFunc

	// Written by the operation's goroutine under Driver.mu.
	step       string
	done       bool
	cancelled  bool
	failReason string
	failMsg    string
}

// step is one limactl command of an operation.
type step struct {
	name       string // "limactl start", for messages
	failReason string // reason when it fails
	run        func(ctx context.Context) error
}

// failure remembers a failed operation so that the same desired state is
// retried only after a pause.
type failure struct {
	key     string
	reason  string
	message string
	count   int
	retryAt time.Time
}

// Reconcile moves the instance one step toward d and reports what it
// observes. It returns within limactl list's time; longer commands run in
// the background. An operation started here runs until it ends, its
// timeout passes, or ctx ends: ctx must live as long as the daemon (the
// loop passes its Run context).
func (dr *Driver) Reconcile(ctx context.Context, d *schema.Desired) reconciler.VMResult {
	if ctx.Err() != nil && dr.lastRes.Reason != "" {
		// The daemon is stopping: this pass must not report what a
		// cancelled limactl list would make of it.
		return dr.lastRes
	}
	res := dr.reconcile(ctx, d)
	if ctx.Err() != nil && dr.lastRes.Reason != "" {
		return dr.lastRes
	}
	dr.lastRes = res
	return res
}

func (dr *Driver) reconcile(ctx context.Context, d *schema.Desired) reconciler.VMResult {
	if op, running := dr.current(); op != nil {
		if running {
			if op.running != d.Running {
				// The desired state turned around: stop working toward
				// the old one; the next pass starts from what is there.
				op.cancel()
			}
			return dr.progress(op)
		}
		dr.collect(op)
	}

	failed := statusdir.VMStopFailed
	if d.Running {
		failed = statusdir.VMStartFailed
	}
	if dr.cfg.Home == "" {
		return dr.result(failed, "the lima driver has no LIMA_HOME configured (an rdd bug)")
	}
	want, specErr := specFor(d, dr.cfg.Socket, dr.cfg.Base)
	if specErr != nil && d.Running {
		return dr.result(failed, specErr.Error())
	}
	r, err := dr.runner()
	if err != nil {
		if !d.Running && !dr.instanceDirExists() {
			dr.last = statusdir.VMStatus{Driver: "lima", Instance: Name, Status: statusdir.VMStatusAbsent}
			cause, hint, _ := strings.Cut(err.Error(), "\n") // the hint stays on its own line
			return dr.result(statusdir.VMStopped, strings.TrimSuffix(fmt.Sprintf("no Lima instance %q; %s\n%s", Name, cause, hint), "\n"))
		}
		return dr.unobserved(failed, err.Error())
	}
	o, inst, err := dr.observe(ctx, r)
	if err != nil {
		return dr.unobserved(failed, dr.explain(err, ""))
	}
	dr.last = vmStatus(inst)

	p := plan(o, want, d.Running)
	if specErr != nil {
		p.Changes = nil // stopping needs no spec; there is nothing to compare
	}
	key := planKey(d.Running, want)
	switch p.Action {
	case actNone:
		dr.fail = nil
		res := dr.steady(o, p, d.Running)
		if d.Running && o.Applied != nil {
			guestStatus(&res.Status, o.Applied)
			dr.applyEngineConfig(ctx, r, d, &res)
		}
		return res
	case actRefuse:
		res := dr.result(statusdir.VMStartFailed, refuseMessage(o, p.Changes))
		if o.Status == statusRunning {
			res.Socket = o.Applied.Socket // the engine stays connected
		}
		return res
	case actUnexpected:
		return dr.result(failed, fmt.Sprintf("limactl list reports Lima instance %q as %q, which rdd does not handle; %s",
			Name, o.Status, dr.logsHint()))
	}
	if f := dr.fail; f != nil {
		if f.key != key {
			dr.fail = nil // a new desired state is tried at once
		} else if wait := f.retryAt.Sub(dr.now()); wait > 0 {
			res := dr.result(f.reason, f.message)
			res.Requeue = wait
			return res
		}
	}
	op := dr.operationFor(p, d.Running, key)
	dr.launch(ctx, op, dr.steps(r, p, want))
	return dr.progress(op)
}

// current returns the operation and whether it is still running.
func (dr *Driver) current() (*operation, bool) {
	dr.mu.Lock()
	defer dr.mu.Unlock()
	if dr.op == nil {
		return nil, false
	}
	return dr.op, !dr.op.done
}

// collect takes in a finished operation's outcome.
func (dr *Driver) collect(op *operation) {
	dr.mu.Lock()
	dr.op = nil
	dr.mu.Unlock()
	switch {
	case op.cancelled:
		// Not a failure: the desired state changed, or the daemon stops.
	case op.failReason != "":
		count := 1
		if dr.fail != nil && dr.fail.key == op.key {
			count = dr.fail.count + 1
		}
		wait := backoff.Delay(count, dr.cfg.RetryAfter, maxRetryAfter)
		msg := fmt.Sprintf("%s\nrdd tries again in %s, or at once when the desired state changes", op.failMsg, wait)
		dr.fail = &failure{key: op.key, reason: op.failReason, message: msg, count: count, retryAt: dr.now().Add(wait)}
		dr.log.Warn("limactl operation failed", "what", op.what, "reason", op.failReason, "retry_in", wait.String(), "err", op.failMsg)
	default:
		dr.fail = nil
	}
}

// unobserved reports that the instance could not be observed. A VM seen
// running last time is presumably still running: its socket is kept, so
// that the engine does not drop its mirrors over a failed limactl list.
func (dr *Driver) unobserved(reason, msg string) reconciler.VMResult {
	res := dr.result(reason, msg)
	res.Socket = dr.lastRes.Socket
	return res
}

func (dr *Driver) result(reason, msg string) reconciler.VMResult {
	return reconciler.VMResult{Status: dr.last, Reason: reason, Message: msg}
}

// progress reports a running operation.
func (dr *Driver) progress(op *operation) reconciler.VMResult {
	dr.mu.Lock()
	stepName := op.step
	dr.mu.Unlock()
	st := dr.last
	st.Status = op.reason
	return reconciler.VMResult{Status: st, Reason: op.reason, Message: op.what + "; now: " + stepName}
}

// steady reports an instance that is as desired.
func (dr *Driver) steady(o observation, p decision, running bool) reconciler.VMResult {
	if running {
		res := dr.result(statusdir.VMRunning, fmt.Sprintf("Lima instance %q is running", Name))
		res.Socket = o.Applied.Socket
		return res
	}
	msg := fmt.Sprintf("Lima instance %q is stopped", Name)
	if !o.Exists {
		msg = fmt.Sprintf("Lima instance %q does not exist yet; it is created at the first start", Name)
	} else if len(p.Changes) > 0 {
		msg += "; at the next start: " + changeList(p.Changes)
	}
	return dr.result(statusdir.VMStopped, msg)
}

func changeList(changes []Change) string {
	parts := make([]string, len(changes))
	for i, c := range changes {
		parts[i] = c.String()
	}
	return strings.Join(parts, ", ")
}

func refuseMessage(o observation, changes []Change) string {
	state := "stays stopped"
	if o.Status == statusRunning {
		state = "keeps running"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "refused: %s", keysOf(changes, Refuse))
	for _, c := range changes {
		if c.Effect == Refuse && c.Key == "vm.disk" {
			fmt.Fprintf(&b, ": a Lima disk can grow but never shrink; set vm.disk to %s or more", c.From)
		}
	}
	fmt.Fprintf(&b, ". Nothing was changed: Lima instance %q %s as it was", Name, state)
	if others := othersThan(changes, Refuse); others != "" {
		fmt.Fprintf(&b, " (also waiting: %s)", others)
	}
	return b.String()
}

func othersThan(changes []Change, e Effect) string {
	var parts []string
	for _, c := range changes {
		if c.Effect != e {
			parts = append(parts, c.String())
		}
	}
	return strings.Join(parts, ", ")
}

// planKey identifies a desired state for retries.
func planKey(running bool, s Spec) string {
	b, _ := json.Marshal(s)
	return fmt.Sprintf("running=%t %s", running, b)
}

// runner finds limactl.
func (dr *Driver) runner() (*runner, error) {
	name := dr.cfg.Limactl
	explicit := name != ""
	if !explicit {
		name = "limactl"
	}
	path, err := exec.LookPath(name)
	if err != nil {
		if explicit {
			return nil, fmt.Errorf("limactl %q (RDD_LIMACTL) cannot be run: %v\nhint: point RDD_LIMACTL at the limactl binary of Lima 1.1 or later", name, err)
		}
		return nil, errors.New("limactl was not found on PATH\nhint: install Lima 1.1 or later (https://lima-vm.io/docs/installation/), or set RDD_LIMACTL to its limactl binary")
	}
	return &runner{path: path, home: dr.cfg.Home, env: dr.cfg.Env}, nil
}

func (dr *Driver) instanceDir() string { return filepath.Join(dr.cfg.Home, Name) }

func (dr *Driver) instanceDirExists() bool {
	_, err := os.Stat(filepath.Join(dr.instanceDir(), "lima.yaml"))
	return err == nil
}

func (dr *Driver) logsHint() string {
	dir := dr.instanceDir()
	return fmt.Sprintf("see %s and the guest console in %s", filepath.Join(dir, "ha.stderr.log"), filepath.Join(dir, "serial*.log"))
}

// explain turns a limactl failure into a message: limactl's own lines,
// where to look, and what to do when limactl refused root.
func (dr *Driver) explain(err error, extra string) string {
	msg := err.Error()
	if extra != "" {
		msg += "\n" + extra
	}
	var ce *cmdError
	if errors.As(err, &ce) && ce.rootRefused() {
		return msg + "\nhint: limactl refuses to run as root; run `rdd daemon` as the (non-root) user who owns the VM"
	}
	return msg
}

// observe runs `limactl list --json` and reads the instance's record.
func (dr *Driver) observe(ctx context.Context, r *runner) (observation, *instance, error) {
	out, err := r.run(ctx, listTimeout, nil, "list", "--json")
	if err != nil {
		return observation{}, nil, err
	}
	list, err := parseList(out)
	if err != nil {
		return observation{}, nil, err
	}
	var inst *instance
	for i := range list {
		if list[i].Name == Name {
			inst = &list[i]
		}
	}
	if inst == nil {
		return observation{}, nil, nil
	}
	o := observation{Exists: true, Status: inst.Status}
	rec, err := readRecord(dr.instanceDir())
	if err != nil {
		dr.log.Warn("the instance's record is unreadable; treating its configuration as unknown", "err", err)
	}
	if rec != nil {
		// What limactl reports wins over the record (someone may have
		// run `limactl edit`); zero means "not reported" (wsl2).
		if inst.CPUs > 0 {
			rec.CPUs = inst.CPUs
		}
		if inst.Memory > 0 && size(rec.Memory) != inst.Memory {
			rec.Memory = formatBytes(inst.Memory)
		}
		if inst.Disk > 0 && size(rec.Disk) != inst.Disk {
			rec.Disk = formatBytes(inst.Disk)
		}
		if inst.VMType != "" {
			rec.VMType = inst.VMType
		}
		o.Applied = rec
	}
	return o, inst, nil
}

func vmStatus(inst *instance) statusdir.VMStatus {
	st := statusdir.VMStatus{Driver: "lima", Instance: Name, Status: statusdir.VMStatusAbsent}
	if inst == nil {
		return st
	}
	st.Status = inst.Status
	st.CPUs = inst.CPUs
	st.Memory = formatBytes(inst.Memory)
	st.Disk = formatBytes(inst.Disk)
	st.Type = inst.VMType
	return st
}

func readRecord(dir string) (*Spec, error) {
	b, err := os.ReadFile(filepath.Join(dir, RecordFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s Spec
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("parse %s: %w", filepath.Join(dir, RecordFile), err)
	}
	return &s, nil
}

// writeRecord replaces the record atomically.
func writeRecord(dir string, s Spec) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if err := atomicfile.Write(filepath.Join(dir, RecordFile), b, 0o600); err != nil {
		return fmt.Errorf("write the instance's record: %w", err)
	}
	return nil
}

// operationFor describes the operation that carries out p.
func (dr *Driver) operationFor(p decision, running bool, key string) *operation {
	op := &operation{running: running, key: key}
	inst := fmt.Sprintf("Lima instance %q", Name)
	switch p.Action {
	case actCreate:
		op.reason, op.what = statusdir.VMStarting, "creating and starting "+inst
	case actStart:
		op.reason, op.what = statusdir.VMStarting, "starting "+inst
		if len(p.Changes) > 0 {
			op.what += " with " + changeList(p.Changes)
		}
	case actRestart:
		op.reason, op.what = statusdir.VMRestarting, "restarting "+inst+" to apply "+changeList(p.Changes)
	case actRecreate:
		op.reason, op.what = statusdir.VMRestarting, "recreating "+inst+" (its disk is replaced) for "+keysOf(p.Changes, Recreate)
		if others := othersThan(p.Changes, Recreate); others != "" {
			op.what += ", with " + others
		}
	case actStop:
		op.reason, op.what = statusdir.VMStopping, "stopping "+inst
	case actForceStop:
		op.reason, op.what = statusdir.VMStopping, "stopping "+inst+" forcibly: limactl reports it Broken"
	case actRepair:
		op.reason, op.what = statusdir.VMRestarting, "restarting "+inst+": limactl reports it Broken"
		if len(p.Changes) > 0 {
			op.what += "; applying " + changeList(p.Changes)
		}
	}
	return op
}

// steps lists the limactl commands that carry out p.
func (dr *Driver) steps(r *runner, p decision, want Spec) []step {
	needEdit := len(p.Changes) > 0
	switch p.Action {
	case actCreate:
		return []step{dr.createStep(r, want), dr.startStep(r)}
	case actStart:
		if needEdit {
			return []step{dr.editStep(r, want), dr.startStep(r)}
		}
		return []step{dr.startStep(r)}
	case actRestart:
		return []step{dr.stopStep(r, statusdir.VMStopFailed), dr.editStep(r, want), dr.startStep(r)}
	case actRecreate:
		return []step{dr.stopStep(r, statusdir.VMStopFailed), dr.deleteStep(r), dr.createStep(r, want), dr.startStep(r)}
	case actStop:
		return []step{dr.stopStep(r, statusdir.VMStopFailed)}
	case actForceStop:
		return []step{dr.forceStopStep(r, statusdir.VMStopFailed)}
	case actRepair:
		steps := []step{dr.forceStopStep(r, statusdir.VMStartFailed)}
		if needEdit {
			steps = append(steps, dr.editStep(r, want))
		}
		return append(steps, dr.startStep(r))
	}
	panic(fmt.Sprintf("lima: no steps for action %v", p.Action))
}

func (dr *Driver) createStep(r *runner, want Spec) step {
	return step{name: "limactl create", failReason: statusdir.VMStartFailed, run: func(ctx context.Context) error {
		if _, err := r.run(ctx, dr.cfg.StartTimeout, bytes.NewReader(Render(want)), "create", "--tty=false", "--name="+Name, "-"); err != nil {
			return err
		}
		return writeRecord(dr.instanceDir(), want)
	}}
}

func (dr *Driver) editStep(r *runner, want Spec) step {
	return step{name: "limactl edit", failReason: statusdir.VMStartFailed, run: func(ctx context.Context) error {
		expr, err := editExpr(want)
		if err != nil {
			return err
		}
		if _, err := r.run(ctx, editTimeout, nil, "edit", Name, "--tty=false", "--set", expr); err != nil {
			return err
		}
		return writeRecord(dr.instanceDir(), want)
	}}
}

// startStep starts the instance. limactl's own --timeout is the start
// timeout, so that it reports its own reason first; rdd kills it a little
// later, and then stops the half-started instance forcibly so that the
// next attempt begins clean.
func (dr *Driver) startStep(r *runner) step {
	timeout := dr.cfg.StartTimeout
	return step{name: "limactl start", failReason: statusdir.VMStartFailed, run: func(ctx context.Context) error {
		grace := min(timeout/10, 30*time.Second)
		_, err := r.run(ctx, timeout+grace, nil, "start", "--tty=false", "--timeout="+timeout.String(), Name)
		var ce *cmdError
		if errors.As(err, &ce) && ce.TimedOut > 0 && ctx.Err() == nil {
			ce.TimedOut = timeout // the start timeout, not rdd's grace on top
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), forceStopTimeout)
			defer cancel()
			if _, ferr := r.run(fctx, 0, nil, "stop", "--force", Name); ferr != nil {
				return fmt.Errorf("%w\nthen stopping it forcibly failed too: %v", err, ferr)
			}
			return fmt.Errorf("%w\nthe half-started instance was stopped forcibly", err)
		}
		return err
	}}
}

// stopStep stops gracefully; a stop that does not finish in time is made
// forcibly (a guest that hangs on shutdown must not keep the VM up).
func (dr *Driver) stopStep(r *runner, failReason string) step {
	return step{name: "limactl stop", failReason: failReason, run: func(ctx context.Context) error {
		_, err := r.run(ctx, dr.cfg.StopTimeout, nil, "stop", Name)
		var ce *cmdError
		if errors.As(err, &ce) && ce.TimedOut > 0 && ctx.Err() == nil {
			dr.log.Warn("graceful stop timed out; stopping forcibly", "err", err)
			if _, ferr := r.run(ctx, forceStopTimeout, nil, "stop", "--force", Name); ferr != nil {
				return fmt.Errorf("%w\nthen stopping it forcibly failed too: %v", err, ferr)
			}
			return nil
		}
		return err
	}}
}

func (dr *Driver) forceStopStep(r *runner, failReason string) step {
	return step{name: "limactl stop --force", failReason: failReason, run: func(ctx context.Context) error {
		_, err := r.run(ctx, forceStopTimeout, nil, "stop", "--force", Name)
		return err
	}}
}

func (dr *Driver) deleteStep(r *runner) step {
	return step{name: "limactl delete", failReason: statusdir.VMStartFailed, run: func(ctx context.Context) error {
		_, err := r.run(ctx, forceStopTimeout, nil, "delete", "--force", Name)
		return err
	}}
}

// launch runs op's steps in the background, bounded by ctx.
func (dr *Driver) launch(ctx context.Context, op *operation, steps []step) {
	octx, cancel := context.WithCancel(ctx)
	op.cancel = cancel
	op.step = steps[0].name
	dr.mu.Lock()
	dr.op = op
	dr.mu.Unlock()
	dr.log.Info("operation started", "what", op.what)
	dr.wg.Add(1)
	go func() {
		defer dr.wg.Done()
		defer cancel()
		began := time.Now()
		failReason, failMsg := "", ""
		for _, s := range steps {
			dr.mu.Lock()
			op.step = s.name
			dr.mu.Unlock()
			if err := s.run(octx); err != nil {
				failReason = s.failReason
				failMsg = fmt.Sprintf("%s: %s", op.what, dr.explain(err, dr.logsHint()))
				break
			}
		}
		dr.mu.Lock()
		op.done = true
		op.cancelled = octx.Err() != nil
		if !op.cancelled {
			op.failReason, op.failMsg = failReason, failMsg
		}
		dr.mu.Unlock()
		switch {
		case op.cancelled:
			dr.log.Info("operation cancelled", "what", op.what, "after", time.Since(began).Round(time.Millisecond).String())
		case failReason == "":
			dr.log.Info("operation done", "what", op.what, "took", time.Since(began).Round(time.Millisecond).String())
		}
		select {
		case dr.changes <- struct{}{}:
		default:
		}
	}()
}
