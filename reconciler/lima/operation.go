package lima

// Background operations: a sequence of limactl steps run while Reconcile
// reports Starting, Stopping or Restarting.

import (
	"context"
	"fmt"
	"time"

	"github.com/rddproject/rdd/effect"
	"github.com/rddproject/rdd/reconciler"
	"github.com/rddproject/rdd/statusdir"
)

// operation is a sequence of limactl commands run in the background.
type operation struct {
	reason  string           // Starting, Stopping or Restarting while it runs
	changes []effect.Change  // what it applies (VMResult.Applying)
	held    *reconciler.Hold // a change it does not apply, and why
	want    Spec             // the configuration it starts the instance with
	starts  bool             // it ends with the instance started
	repair  *repairLog       // what it repaired, when it repairs
	running bool             // the desired `running` it serves
	key     string           // the desired state it serves (planKey)
	what    string           // what it does, for messages
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

// operationFor describes the operation that carries out p.
func (dr *Driver) operationFor(p decision, running bool, key string) *operation {
	op := &operation{running: running, key: key, changes: p.Changes}
	if p.Held != nil {
		op.held = holdFor(p.Held, true)
		op.changes = nil // a repair applies none of them
	} else if !p.Edit && p.Action != actRecreate {
		op.changes = nil
	}
	inst := fmt.Sprintf("Lima instance %q", Name)
	applying := changeList(reconciler.Applying(op.changes))
	switch p.Action {
	case actCreate:
		op.reason, op.what, op.starts = statusdir.VMStarting, "creating and starting "+inst, true
	case actStart:
		op.reason, op.what, op.starts = statusdir.VMStarting, "starting "+inst, true
		if applying != "" {
			op.what += " with " + applying
		}
	case actRestart:
		op.reason, op.what, op.starts = statusdir.VMRestarting, "restarting "+inst+" to apply "+applying, true
	case actRecreate:
		op.reason, op.starts = statusdir.VMRestarting, true
		op.what = "recreating " + inst + " (its disk is replaced) for " + changeList(withEffect(p.Changes, effect.Recreate, true))
		if others := changeList(reconciler.Applying(withEffect(p.Changes, effect.Recreate, false))); others != "" {
			op.what += ", with " + others
		}
	case actStop:
		op.reason, op.what = statusdir.VMStopping, "stopping "+inst
	case actForceStop:
		op.reason, op.what = statusdir.VMStopping, "stopping "+inst+" forcibly: limactl reports it Broken"
		op.repair = &repairLog{}
	case actRepair:
		op.reason, op.what, op.starts = statusdir.VMRestarting, "repairing "+inst+": limactl reports it Broken", true
		op.repair = &repairLog{}
		if applying != "" {
			op.what += "; applying " + applying
		}
	}
	return op
}

// steps lists the limactl commands that carry out p. A Broken instance is
// first cleared of pid files that name no process of its own, so that
// `limactl stop --force` (which kills whatever PID the files name) never
// hits an unrelated process.
func (dr *Driver) steps(r *runner, p decision, want Spec, o observation, op *operation) []step {
	var steps []step
	if o.Status == statusBroken {
		steps = append(steps, dr.clearStaleStep(o, op.repair, p.Action == actForceStop),
			dr.forceStopStep(r, statusdir.VMStartFailed, op.repair))
	}
	switch p.Action {
	case actCreate:
		return []step{dr.createStep(r, want), dr.startStep(r)}
	case actStart:
		if p.Edit {
			return []step{dr.editStep(r, want), dr.startStep(r)}
		}
		return []step{dr.startStep(r)}
	case actRestart:
		return []step{dr.stopStep(r, statusdir.VMStopFailed), dr.editStep(r, want), dr.startStep(r)}
	case actRecreate:
		if o.Status == statusRunning {
			steps = append(steps, dr.stopStep(r, statusdir.VMStopFailed))
		}
		return append(steps, dr.deleteStep(r), dr.createStep(r, want), dr.startStep(r))
	case actStop:
		return []step{dr.stopStep(r, statusdir.VMStopFailed)}
	case actForceStop:
		steps[1].failReason = statusdir.VMStopFailed
		return steps
	case actRepair:
		if p.Edit {
			steps = append(steps, dr.editStep(r, want))
		}
		return append(steps, dr.startStep(r))
	}
	panic(fmt.Sprintf("lima: no steps for action %v", p.Action))
}

// launch runs op's steps in the background, bounded by ctx.
func (dr *Driver) launch(ctx context.Context, op *operation, steps []step) {
	octx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(dr.closingCtx(), cancel)
	op.cancel = func() { stop(); cancel() }
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
