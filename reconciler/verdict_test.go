package reconciler

import (
	"testing"
	"time"

	"github.com/rddproject/rdd/backoff"
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
		{"invalid file fails whatever runs", Observation{Invalid: &Outcome{Reason: statusdir.ReasonInvalid, Message: "x:1:1: bad"}, Desired: running, VM: vm(statusdir.VMRunning), Engine: eng(statusdir.EngineConnected)}, failed, statusdir.ReasonInvalid, statusdir.SummaryFailed},
		{"missing file fails", Observation{Invalid: &Outcome{Reason: statusdir.ReasonMissing, Message: "gone"}, Desired: stopped, VM: vm(statusdir.VMStopped)}, failed, statusdir.ReasonMissing, statusdir.SummaryFailed},
		{"kubernetes is reported, not ignored", Observation{Desired: k8s, VM: vm(statusdir.VMRunning), Engine: eng(statusdir.EngineConnected)}, failed, statusdir.ReasonNotSupported, statusdir.SummaryFailed},
		{"running and connected is ready (C1)", Observation{Desired: running, VM: vm(statusdir.VMRunning), Engine: eng(statusdir.EngineConnected)}, ready, statusdir.ReasonSettled, statusdir.SummaryCurrent},
		{"containerd is ready without mirrors", Observation{Desired: running, VM: vm(statusdir.VMRunning), Engine: eng(statusdir.EngineNotApplicable)}, ready, statusdir.ReasonSettled, statusdir.SummaryCurrent},
		{"starting is in progress", Observation{Desired: running, VM: vm(statusdir.VMStarting)}, none, statusdir.ReasonProgressing, statusdir.SummaryInProgress},
		{"restarting is in progress", Observation{Desired: running, VM: vm(statusdir.VMRestarting)}, none, statusdir.ReasonProgressing, statusdir.SummaryInProgress},
		{"I3: start failure fails fast", Observation{Desired: running, VM: vm(statusdir.VMStartFailed)}, failed, statusdir.VMStartFailed, statusdir.SummaryFailed},
		{"I3: stop failure is a failure, not success", Observation{Desired: stopped, VM: vm(statusdir.VMStopFailed)}, failed, statusdir.VMStopFailed, statusdir.SummaryFailed},
		{"I3: running=false is ready only when stopped", Observation{Desired: stopped, VM: vm(statusdir.VMStopping)}, none, statusdir.ReasonProgressing, statusdir.SummaryInProgress},
		{"stopped VM with running=false is ready", Observation{Desired: stopped, VM: vm(statusdir.VMStopped), Engine: eng(statusdir.EngineStopped)}, ready, statusdir.ReasonSettled, statusdir.SummaryCurrent},
		{"still running with running=false waits", Observation{Desired: stopped, VM: vm(statusdir.VMRunning)}, none, statusdir.ReasonProgressing, statusdir.SummaryInProgress},
		{"stopped VM with running=true waits for the start", Observation{Desired: running, VM: vm(statusdir.VMStopped)}, none, statusdir.ReasonProgressing, statusdir.SummaryInProgress},
		{"I3: connecting is not a failure", Observation{Desired: running, VM: vm(statusdir.VMRunning), Engine: eng(statusdir.EngineConnecting), Connecting: time.Second, Grace: time.Minute}, none, statusdir.ReasonProgressing, statusdir.SummaryInProgress},
		{"connecting past the grace period fails", Observation{Desired: running, VM: vm(statusdir.VMRunning), Engine: eng(statusdir.EngineConnecting), Connecting: time.Minute, Grace: time.Minute}, failed, statusdir.EngineConnectFailed, statusdir.SummaryFailed},
		{"connect failed fails", Observation{Desired: running, VM: vm(statusdir.VMRunning), Engine: eng(statusdir.EngineConnectFailed)}, failed, statusdir.EngineConnectFailed, statusdir.SummaryFailed},
		{"declared objects pending", Observation{Desired: running, VM: vm(statusdir.VMRunning), Engine: EngineResult{Reason: statusdir.EngineConnected, Declared: Outcome{State: OutcomePending, Message: "stopping web"}}}, none, statusdir.ReasonProgressing, statusdir.SummaryInProgress},
		{"declared object failure is named", Observation{Desired: running, VM: vm(statusdir.VMRunning), Engine: EngineResult{Reason: statusdir.EngineConnected, Declared: Outcome{State: OutcomeFailed, Reason: statusdir.ReasonNotFound, Message: "containers.web: no such container"}}}, failed, statusdir.ReasonNotFound, statusdir.SummaryFailed},
		{"S9: unknown VM state is reported", Observation{Desired: running, VM: vm("Hibernating")}, failed, statusdir.ReasonUnexpected, statusdir.SummaryFailed},
		{"S9: unknown engine state is reported", Observation{Desired: running, VM: vm(statusdir.VMRunning), Engine: eng("Weird")}, failed, statusdir.ReasonUnexpected, statusdir.SummaryFailed},
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
		if got := backoff.Delay(i+1, minBackoff, maxBackoff); got != w {
			t.Errorf("backoff(%d) = %v, want %v", i+1, got, w)
		}
	}
	if got := backoff.Delay(100, minBackoff, maxBackoff); got != maxBackoff {
		t.Errorf("backoff.Delay(100, minBackoff, maxBackoff) = %v, want the cap %v", got, maxBackoff)
	}
}
