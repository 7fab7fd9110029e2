package reconciler

import (
	"fmt"
	"time"

	"github.com/rddproject/rdd/schema"
	"github.com/rddproject/rdd/statusdir"
)

// Observation is everything one pass saw: the input of Verdict.
type Observation struct {
	// Invalid is set when the current desired file cannot be used; its
	// Reason is ReasonInvalid or ReasonMissing.
	Invalid *Outcome
	// Desired is the state in force: the current file when valid, else the
	// last valid one (or the defaults when there never was one).
	Desired *schema.Desired
	VM      VMResult
	// Engine is the engine's report, or a zero value when the engine was
	// not consulted because the VM is not running.
	Engine EngineResult
	// Connecting is how long the engine has been Connecting in a row.
	Connecting time.Duration
	// Grace is how long Connecting may last before it is a failure.
	Grace time.Duration
	// Unwritten is set when object files of status/ could not be written:
	// a reader would see an incomplete mirror.
	Unwritten *Outcome
}

// Verdict is the one-word answer for the current digest.
type Verdict struct {
	Summary string // statusdir.Summary*
	Marker  string // statusdir.ReadyMarker, statusdir.FailedMarker, or "" while in progress
	Reason  string
	Message string
}

// Decide derives the verdict from an observation. It is a pure function:
// every rule of the contract about when a digest is ready or failed lives
// here, and its test is a table.
func Decide(o Observation) Verdict {
	failed := func(reason, format string, args ...any) Verdict {
		return Verdict{Summary: statusdir.SummaryFailed, Marker: statusdir.FailedMarker, Reason: reason, Message: fmt.Sprintf(format, args...)}
	}
	progressing := func(format string, args ...any) Verdict {
		return Verdict{Summary: statusdir.SummaryInProgress, Reason: statusdir.ReasonProgressing, Message: fmt.Sprintf(format, args...)}
	}
	if o.Invalid != nil {
		return failed(o.Invalid.Reason, "%s", o.Invalid.Message)
	}
	if o.Unwritten != nil {
		// Never ready over a mirror that is not what the engine observed.
		return failed(o.Unwritten.Reason, "status/ is incomplete: %s", o.Unwritten.Message)
	}
	d := o.Desired
	if d.Kubernetes.Enabled {
		return failed(statusdir.ReasonNotSupported, "kubernetes.enabled: true is not supported yet; set it to false (everything else in the file is applied)")
	}
	if h := o.VM.Held; h != nil {
		return failed(h.Reason, "%s", h.Message)
	}
	switch o.VM.Reason {
	case statusdir.VMStartFailed, statusdir.VMStopFailed:
		return failed(o.VM.Reason, "%s", o.VM.Message)
	case statusdir.VMStarting, statusdir.VMStopping, statusdir.VMRestarting:
		v := progressing("VM %s: %s", o.VM.Reason, o.VM.Message)
		if len(o.VM.Applying) > 0 {
			v.Reason = statusdir.ReasonApplying // a change is on its way, not yet in force
		}
		return v
	case statusdir.VMRunning, statusdir.VMStopped:
	default:
		// S9: never treat an unknown state as fine.
		return failed(statusdir.ReasonUnexpected, "VM driver reported an unexpected state %q: %s", o.VM.Reason, o.VM.Message)
	}
	if !d.Running {
		if o.VM.Reason != statusdir.VMStopped {
			return progressing("waiting for the VM to stop")
		}
		return Verdict{Summary: statusdir.SummaryCurrent, Marker: statusdir.ReadyMarker, Reason: statusdir.ReasonSettled, Message: "stopped"}
	}
	if o.VM.Reason != statusdir.VMRunning {
		return progressing("waiting for the VM to start")
	}
	if c := o.VM.EngineConfig; c != nil && c.Status == statusdir.False && c.Reason == statusdir.ReasonConfigRefused {
		return failed(statusdir.ReasonConfigRefused, "%s", c.Message)
	}
	switch o.Engine.Reason {
	case statusdir.EngineConnected, statusdir.EngineNotApplicable:
	case statusdir.EngineConnecting:
		if o.Grace > 0 && o.Connecting >= o.Grace {
			return failed(statusdir.EngineConnectFailed, "the container engine did not answer within %s: %s", o.Grace, o.Engine.Message)
		}
		return progressing("connecting to the container engine: %s", o.Engine.Message)
	case statusdir.EngineConnectFailed:
		return failed(statusdir.EngineConnectFailed, "%s", o.Engine.Message)
	default:
		return failed(statusdir.ReasonUnexpected, "container engine reported an unexpected state %q: %s", o.Engine.Reason, o.Engine.Message)
	}
	switch o.Engine.Declared.State {
	case OutcomePending:
		return progressing("%s", o.Engine.Declared.Message)
	case OutcomeFailed:
		return failed(o.Engine.Declared.Reason, "%s", o.Engine.Declared.Message)
	}
	return Verdict{Summary: statusdir.SummaryCurrent, Marker: statusdir.ReadyMarker, Reason: statusdir.ReasonSettled, Message: "running"}
}

// runningCondition renders the VM's report as the Running condition.
func runningCondition(vm VMResult) (status string) {
	if vm.Reason == statusdir.VMRunning {
		return statusdir.True
	}
	return statusdir.False
}

// engineCondition renders the engine's report as ContainerEngineReady.
func engineCondition(e EngineResult) (status string) {
	switch e.Reason {
	case statusdir.EngineConnected, statusdir.EngineNotApplicable:
		return statusdir.True
	case statusdir.EngineConnecting:
		return statusdir.Unknown
	}
	return statusdir.False
}
