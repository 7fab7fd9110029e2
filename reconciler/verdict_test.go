package reconciler

import (
	"testing"
	"time"

	"github.com/rddproject/rdd/schema"
	"github.com/rddproject/rdd/statusdir"
)

func desired(mut func(*schema.Desired)) *schema.Desired {
	d := schema.Default().Defaults()
	mut(d)
	return d
}

func TestDecide(t *testing.T) {
	running := desired(func(d *schema.Desired) { d.Running = true })
	stopped := desired(func(d *schema.Desired) { d.Running = false })
	k8s := desired(func(d *schema.Desired) { d.Running = true; d.Kubernetes.Enabled = true })
	vm := func(reason string) VMResult { return VMResult{Reason: reason, Message: "vm says " + reason} }
	eng := func(reason string) EngineResult {
		return EngineResult{Reason: reason, Message: "engine says " + reason}
	}
	const ready, failed, none = statusdir.ReadyMarker, statusdir.FailedMarker, ""
	for _, tc := range []struct {
		name    string
		o       Observation
		marker  string
		reason  string
		summary string
	}{
		{"invalid file fails whatever runs", Observation{Invalid: &Outcome{Reason: ReasonInvalid, Message: "x:1:1: bad"}, Desired: running, VM: vm(VMRunning), Engine: eng(EngineConnected)}, failed, ReasonInvalid, statusdir.SummaryFailed},
		{"missing file fails", Observation{Invalid: &Outcome{Reason: ReasonMissing, Message: "gone"}, Desired: stopped, VM: vm(VMStopped)}, failed, ReasonMissing, statusdir.SummaryFailed},
		{"kubernetes is reported, not ignored", Observation{Desired: k8s, VM: vm(VMRunning), Engine: eng(EngineConnected)}, failed, ReasonNotSupported, statusdir.SummaryFailed},
		{"running and connected is ready (C1)", Observation{Desired: running, VM: vm(VMRunning), Engine: eng(EngineConnected)}, ready, ReasonSettled, statusdir.SummaryCurrent},
		{"containerd is ready without mirrors", Observation{Desired: running, VM: vm(VMRunning), Engine: eng(EngineNotApplicable)}, ready, ReasonSettled, statusdir.SummaryCurrent},
		{"starting is in progress", Observation{Desired: running, VM: vm(VMStarting)}, none, ReasonProgressing, statusdir.SummaryInProgress},
		{"restarting is in progress", Observation{Desired: running, VM: vm(VMRestarting)}, none, ReasonProgressing, statusdir.SummaryInProgress},
		{"I3: start failure fails fast", Observation{Desired: running, VM: vm(VMStartFailed)}, failed, VMStartFailed, statusdir.SummaryFailed},
		{"I3: stop failure is a failure, not success", Observation{Desired: stopped, VM: vm(VMStopFailed)}, failed, VMStopFailed, statusdir.SummaryFailed},
		{"I3: running=false is ready only when stopped", Observation{Desired: stopped, VM: vm(VMStopping)}, none, ReasonProgressing, statusdir.SummaryInProgress},
		{"stopped VM with running=false is ready", Observation{Desired: stopped, VM: vm(VMStopped), Engine: eng(EngineStopped)}, ready, ReasonSettled, statusdir.SummaryCurrent},
		{"still running with running=false waits", Observation{Desired: stopped, VM: vm(VMRunning)}, none, ReasonProgressing, statusdir.SummaryInProgress},
		{"stopped VM with running=true waits for the start", Observation{Desired: running, VM: vm(VMStopped)}, none, ReasonProgressing, statusdir.SummaryInProgress},
		{"I3: connecting is not a failure", Observation{Desired: running, VM: vm(VMRunning), Engine: eng(EngineConnecting), Connecting: time.Second, Grace: time.Minute}, none, ReasonProgressing, statusdir.SummaryInProgress},
		{"connecting past the grace period fails", Observation{Desired: running, VM: vm(VMRunning), Engine: eng(EngineConnecting), Connecting: time.Minute, Grace: time.Minute}, failed, EngineConnectFailed, statusdir.SummaryFailed},
		{"connect failed fails", Observation{Desired: running, VM: vm(VMRunning), Engine: eng(EngineConnectFailed)}, failed, EngineConnectFailed, statusdir.SummaryFailed},
		{"declared objects pending", Observation{Desired: running, VM: vm(VMRunning), Engine: EngineResult{Reason: EngineConnected, Declared: Outcome{State: OutcomePending, Message: "stopping web"}}}, none, ReasonProgressing, statusdir.SummaryInProgress},
		{"declared object failure is named", Observation{Desired: running, VM: vm(VMRunning), Engine: EngineResult{Reason: EngineConnected, Declared: Outcome{State: OutcomeFailed, Reason: "NotFound", Message: "containers.web: no such container"}}}, failed, "NotFound", statusdir.SummaryFailed},
		{"S9: unknown VM state is reported", Observation{Desired: running, VM: vm("Hibernating")}, failed, "UnexpectedState", statusdir.SummaryFailed},
		{"S9: unknown engine state is reported", Observation{Desired: running, VM: vm(VMRunning), Engine: eng("Weird")}, failed, "UnexpectedState", statusdir.SummaryFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := Decide(tc.o)
			if v.Marker != tc.marker || v.Reason != tc.reason || v.Summary != tc.summary {
				t.Errorf("Decide = %+v; want marker %q reason %q summary %q", v, tc.marker, tc.reason, tc.summary)
			}
			if v.Marker == failed && v.Message == "" {
				t.Error("a failure without a message")
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	want := []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second}
	for i, w := range want {
		if got := backoff(i + 1); got != w {
			t.Errorf("backoff(%d) = %v, want %v", i+1, got, w)
		}
	}
	if got := backoff(100); got != maxBackoff {
		t.Errorf("backoff(100) = %v, want the cap %v", got, maxBackoff)
	}
}
