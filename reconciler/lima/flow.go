package lima

// The flow of one pass: observe, decide on exactly the effects, act or
// report.

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/rddproject/rdd/backoff"
	"github.com/rddproject/rdd/effect"
	"github.com/rddproject/rdd/reconciler"
	"github.com/rddproject/rdd/schema"
	"github.com/rddproject/rdd/statusdir"
)

// Reconcile moves the instance one step toward d and reports what it
// observes. It returns within limactl list's time; longer commands run in
// the background. An operation started here runs until it ends, its
// timeout passes, or ctx ends: ctx must live as long as the daemon (the
// loop passes its Run context).
func (dr *Driver) Reconcile(ctx context.Context, d *schema.Desired, allow reconciler.Allow) reconciler.VMResult {
	if ctx.Err() != nil && dr.lastRes.Reason != "" {
		// The daemon is stopping: this pass must not report what a
		// cancelled limactl list would make of it.
		return dr.lastRes
	}
	res := dr.reconcile(ctx, d, allow)
	if ctx.Err() != nil && dr.lastRes.Reason != "" {
		return dr.lastRes
	}
	dr.lastRes = res
	return res
}

func (dr *Driver) reconcile(ctx context.Context, d *schema.Desired, allow reconciler.Allow) reconciler.VMResult {
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
	dr.setObserved(o)
	if res, waiting := dr.awaitInForce(o, inst, want, d.Running); waiting {
		return res
	}

	var changes []effect.Change
	if specErr == nil { // stopping needs no spec; there is nothing to compare
		changes = effects(o, want)
	}
	p := decide(o, changes, d.Running, allow)
	key := planKey(d.Running, want)
	if p.Action != actNone && p.Action != actHold || o.Status != statusRunning {
		dr.repaired = ""
	}
	switch p.Action {
	case actNone:
		dr.fail = nil
		res := dr.steady(o, p, d.Running)
		if d.Running && o.Applied != nil && res.Reason == statusdir.VMRunning {
			// The engine configuration is applied inside the running
			// guest (guestconfig.go), never by restarting the VM.
			guestStatus(&res.Status, o.Applied)
			dr.applyEngineConfig(ctx, r, d, &res)
		}
		return res
	case actHold:
		return dr.hold(o, p)
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
	op.want = want
	dr.launch(ctx, op, dr.steps(r, p, want, o, op))
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
		dr.expect = nil
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
		if op.starts {
			dr.expect = &expectation{want: op.want, key: op.key, changes: op.changes, reason: op.reason,
				deadline: dr.now().Add(inForceTimeout)}
		}
		if op.repair != nil {
			dr.repaired = op.repair.String()
			dr.log.Info("repaired the instance", "what", dr.repaired)
		}
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
	return reconciler.VMResult{Status: st, Reason: op.reason, Message: op.what + "; now: " + stepName,
		Applying: reconciler.Applying(op.changes), Held: op.held}
}

// steady reports an instance that is as desired.
func (dr *Driver) steady(o observation, p decision, running bool) reconciler.VMResult {
	if running {
		msg := fmt.Sprintf("Lima instance %q is running", Name)
		if dr.repaired != "" {
			msg += "; repaired: " + dr.repaired
		}
		res := dr.result(statusdir.VMRunning, msg)
		res.Socket = o.Applied.Socket
		dr.watchLiveness(o.Applied.VMType)
		return res
	}
	msg := fmt.Sprintf("Lima instance %q is stopped", Name)
	if !o.Exists {
		msg = fmt.Sprintf("Lima instance %q does not exist yet; it is created at the first start", Name)
	} else if len(p.Changes) > 0 {
		msg += "; at the next start: " + changeList(reconciler.Applying(p.Changes))
	}
	return dr.result(statusdir.VMStopped, msg)
}

// planKey identifies a desired state for retries.
func planKey(running bool, s Spec) string {
	b, _ := json.Marshal(s)
	return fmt.Sprintf("running=%t %s", running, b)
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
