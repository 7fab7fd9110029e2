package lima

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/rddproject/rdd/effect"
	"github.com/rddproject/rdd/reconciler"
	"github.com/rddproject/rdd/statusdir"
)

// inForceTimeout bounds how long, after a start, the driver waits for
// `limactl list --json` to report the configuration it started with.
const inForceTimeout = time.Minute

// inForcePoll is how often it looks again meanwhile.
const inForcePoll = time.Second

// expectation is a configuration an operation started the instance with,
// not yet confirmed by limactl list.
type expectation struct {
	want     Spec
	key      string // planKey of the desired state it serves
	changes  []effect.Change
	reason   string // Starting or Restarting
	deadline time.Time
}

// awaitInForce keeps reporting the operation's reason until `limactl list
// --json` shows the cpus, memory and disk the instance was started with:
// a change is in force only when Lima itself reports it, so that `rdd
// set vm.cpus=3` is not ready before the VM runs with 3 CPUs. It returns
// false when there is nothing to wait for (any more).
func (dr *Driver) awaitInForce(o observation, inst *instance, want Spec, running bool) (reconciler.VMResult, bool) {
	x := dr.expect
	if x == nil {
		return reconciler.VMResult{}, false
	}
	if !running || inst == nil || o.Status != statusRunning || planKey(running, want) != x.key {
		dr.expect = nil // not what it waited for any more: decide afresh
		return reconciler.VMResult{}, false
	}
	var behind []string
	if inst.CPUs > 0 && inst.CPUs != x.want.CPUs {
		behind = append(behind, "cpus "+strconv.Itoa(inst.CPUs)+" (want "+strconv.Itoa(x.want.CPUs)+")")
	}
	if inst.Memory > 0 && inst.Memory != size(x.want.Memory) {
		behind = append(behind, "memory "+formatBytes(inst.Memory)+" (want "+x.want.Memory+")")
	}
	if inst.Disk > 0 && inst.Disk != size(x.want.Disk) {
		behind = append(behind, "disk "+formatBytes(inst.Disk)+" (want "+x.want.Disk+")")
	}
	if len(behind) == 0 {
		dr.expect = nil
		return reconciler.VMResult{}, false
	}
	msg := fmt.Sprintf("Lima instance %q runs, but limactl list --json reports %s", Name, strings.Join(behind, ", "))
	if dr.now().After(x.deadline) {
		dr.expect = nil
		dr.fail = &failure{key: x.key, reason: statusdir.VMStartFailed, count: 1, retryAt: dr.now().Add(dr.cfg.RetryAfter),
			message: msg + fmt.Sprintf(" %s after it was started into the new configuration; %s", inForceTimeout, dr.logsHint())}
		return reconciler.VMResult{}, false
	}
	res := dr.result(x.reason, msg+"; waiting for it to report the configuration it was started with")
	res.Status.Status = x.reason
	res.Applying = reconciler.Applying(x.changes)
	res.Requeue = inForcePoll
	res.Socket = "" // not in force yet
	return res, true
}
