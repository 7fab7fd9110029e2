package lima

// The limactl steps operations are made of.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rddproject/rdd/statusdir"
)

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
			// Not ctx: the desired state may have moved on, and the
			// half-started instance must still be stopped; Close ends it.
			fctx, cancel := context.WithTimeout(dr.closingCtx(), forceStopTimeout)
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

func (dr *Driver) forceStopStep(r *runner, failReason string, log *repairLog) step {
	return step{name: "limactl stop --force", failReason: failReason, run: func(ctx context.Context) error {
		_, err := r.run(ctx, forceStopTimeout, nil, "stop", "--force", Name)
		if err == nil && log != nil {
			log.add("stopped it forcibly (limactl stop --force), which removed its stale pid and socket files")
		}
		return err
	}}
}

func (dr *Driver) deleteStep(r *runner) step {
	return step{name: "limactl delete", failReason: statusdir.VMStartFailed, run: func(ctx context.Context) error {
		_, err := r.run(ctx, forceStopTimeout, nil, "delete", "--force", Name)
		return err
	}}
}
