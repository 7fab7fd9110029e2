package docker

import (
	"strings"
	"testing"
	"time"

	"github.com/rddproject/rdd/reconciler"
	"github.com/rddproject/rdd/statusdir"
)

// The outcome of declared objects: the first failed object's reason, every
// failed object on a line of its own (one never hides another), pending
// ones only when none failed, and the earliest requeue.
func TestOutcome(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	st := func(kind, name string, state reconciler.OutcomeState, reason, msg string, requeue time.Time) objectStatus {
		return objectStatus{kind: kind, name: name, state: state, reason: reason, message: msg, requeue: requeue}
	}
	done := st(kindContainers, "a", reconciler.OutcomeDone, statusdir.ReasonInState, "", time.Time{})
	for _, tc := range []struct {
		name    string
		sts     []objectStatus
		want    reconciler.Outcome
		requeue time.Time
	}{
		{"nothing declared", nil, reconciler.Outcome{State: reconciler.OutcomeDone}, time.Time{}},
		{"all done", []objectStatus{done}, reconciler.Outcome{State: reconciler.OutcomeDone}, time.Time{}},
		{"pending", []objectStatus{done, st(kindImages, "x:1", reconciler.OutcomePending, statusdir.ReasonPulling, "pulling", time.Time{})},
			reconciler.Outcome{State: reconciler.OutcomePending, Reason: statusdir.ReasonProgressing, Message: `image "x:1": pulling`}, time.Time{}},
		{"failed, joined per object", []objectStatus{
			st(kindContainers, "web", reconciler.OutcomeFailed, statusdir.ReasonNotFound, "does not exist", time.Time{}),
			st(kindContainers, "db", reconciler.OutcomePending, statusdir.ReasonBackingOff, "exited", t0.Add(2*time.Second)),
			st(kindVolumes, "v", reconciler.OutcomeFailed, statusdir.ReasonInUse, "is in use by container(s) db", t0.Add(time.Second)),
		}, reconciler.Outcome{State: reconciler.OutcomeFailed, Reason: statusdir.ReasonNotFound,
			Message: "container \"web\": does not exist\nvolume \"v\": is in use by container(s) db"}, t0.Add(time.Second)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, requeue := outcome(tc.sts)
			if got != tc.want || !requeue.Equal(tc.requeue) {
				t.Errorf("outcome = %+v, %s\nwant      %+v, %s", got, requeue, tc.want, tc.requeue)
			}
		})
	}
}

// The correction policy of one container, on a clock of its own: the first
// action is not a correction; the first correction in a row is made at
// once, the next ones wait 1s, 2s...; 3 in a row are CrashLoop, until it
// stays in its state for 10s; identical passes give identical statuses.
func TestCorrectionPolicy(t *testing.T) {
	e := New()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tr := &track{desired: wantRunning, id: "c1"}
	status := func(observed string) objectStatus {
		st := objectStatus{kind: kindContainers, name: "web", desired: wantRunning}
		e.containerStatus(&st, tr, observed, now)
		return st
	}
	// act is what enforceContainers does after a successful attempt.
	act := func() {
		if tr.acted {
			tr.corrections++
			tr.lastCorrection = now
			tr.streak++
		}
		tr.acted = true
		tr.nextAt = now.Add(e.correctionDelay(tr.streak))
	}
	act() // the first start
	if st := status(stateRunning); st.state != reconciler.OutcomeDone || st.corrections != 0 {
		t.Fatalf("after the first start: %+v", st)
	}
	var delays []time.Duration
	for range 4 {
		now = now.Add(100 * time.Millisecond) // it dies
		if !now.Before(tr.nextAt) {
			delays = append(delays, 0)
		} else {
			st := status(stateExited)
			if st.requeue != tr.nextAt {
				t.Fatalf("backing off without a requeue at the next correction: %+v", st)
			}
			delays = append(delays, tr.nextAt.Sub(now))
			now = tr.nextAt
		}
		act()
	}
	want := []time.Duration{0, 900 * time.Millisecond, 1900 * time.Millisecond, 3900 * time.Millisecond}
	for i := range want {
		if delays[i] != want[i] {
			t.Fatalf("waits before the corrections = %v, want %v", delays, want)
		}
	}
	st := status(stateRunning)
	if st.state != reconciler.OutcomeFailed || st.reason != statusdir.ReasonCrashLoop || st.corrections != 4 {
		t.Fatalf("after 4 corrections in a row, running for now: %+v", st)
	}
	again := status(stateRunning)
	if again != st {
		t.Errorf("an identical pass gave another status:\n%+v\n%+v", again, st)
	}
	if !strings.Contains(st.message, "keeps leaving its declared state running") {
		t.Errorf("message %q", st.message)
	}
	now = now.Add(10 * time.Second)
	if st := status(stateRunning); st.state != reconciler.OutcomeDone {
		t.Fatalf("after 10s in its state: %+v", st)
	}
	// The row starts over: the next correction is made at once.
	now = now.Add(time.Second)
	if now.Before(tr.nextAt) || tr.streak != 0 {
		t.Errorf("after a stable spell: streak %d, next at %s (now %s)", tr.streak, tr.nextAt, now)
	}
	exited := status(stateExited)
	d := exited.declaration()
	if !d.Declared || d.Desired != wantRunning || d.Corrections != 4 || d.Condition.Status != statusdir.Unknown && d.Condition.Status != statusdir.False {
		t.Errorf("declaration %+v", d)
	}
}

func TestImageKey(t *testing.T) {
	for _, tc := range []struct{ ref, want string }{
		{"busybox", "busybox:latest"},
		{"busybox:1.36", "busybox:1.36"},
		{"docker.io/library/busybox:1.36", "busybox:1.36"},
		{"ghcr.io/org/app:1", "ghcr.io/org/app:1"},
		{"127.0.0.1:5000/rdd/pulled:1", "127.0.0.1:5000/rdd/pulled:1"},
		{"busybox@sha256:" + strings.Repeat("a", 64), "busybox@sha256:" + strings.Repeat("a", 64)},
		{"busybox:1@sha256:" + strings.Repeat("a", 64), "busybox@sha256:" + strings.Repeat("a", 64)},
	} {
		got, err := imageKey(tc.ref)
		if err != nil || got != tc.want {
			t.Errorf("imageKey(%q) = %q, %v; want %q", tc.ref, got, err, tc.want)
		}
	}
	if _, err := imageKey("UPPER:1"); err == nil {
		t.Errorf("imageKey accepted an upper-case repository")
	}
}
