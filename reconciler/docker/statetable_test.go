package docker

import (
	"fmt"
	"testing"
)

// Every cell of the declared-container state table: four declared states
// against the seven states dockerd reports and a missing container.
func TestContainerStateTable(t *testing.T) {
	const (
		created, running, paused, restarting = stateCreated, stateRunning, statePaused, stateRestarting
		removing, exited, dead, missing      = stateRemoving, stateExited, stateDead, stateMissing
	)
	for _, tc := range []struct {
		desired, observed string
		want              action
	}{
		{wantRunning, created, actStart},
		{wantRunning, running, actNone},
		{wantRunning, paused, actUnpause},
		{wantRunning, restarting, actWait},
		{wantRunning, removing, actWait},
		{wantRunning, exited, actStart},
		{wantRunning, dead, actFail},
		{wantRunning, missing, actNotFound},

		{wantStopped, created, actNone},
		{wantStopped, running, actStop},
		{wantStopped, paused, actUnpause}, // then stop: dockerd 20.10 cannot SIGTERM a frozen container
		{wantStopped, restarting, actStop},
		{wantStopped, removing, actWait},
		{wantStopped, exited, actNone},
		{wantStopped, dead, actNone},
		{wantStopped, missing, actNotFound},

		{wantPaused, created, actStart}, // then pause
		{wantPaused, running, actPause},
		{wantPaused, paused, actNone},
		{wantPaused, restarting, actWait}, // dockerd refuses to pause a restarting container
		{wantPaused, removing, actWait},
		{wantPaused, exited, actStart}, // then pause
		{wantPaused, dead, actFail},
		{wantPaused, missing, actNotFound},

		{wantAbsent, created, actRemove},
		{wantAbsent, running, actStop}, // then remove
		{wantAbsent, paused, actUnpause},
		{wantAbsent, restarting, actStop},
		{wantAbsent, removing, actWait},
		{wantAbsent, exited, actRemove},
		{wantAbsent, dead, actRemove},
		{wantAbsent, missing, actNone},

		// S9: anything outside the table is reported, not taken as settled.
		{wantRunning, "frozen", actFail},
		{"sleeping", running, actFail},
	} {
		t.Run(fmt.Sprintf("%s/%s", tc.desired, describeState(tc.observed)), func(t *testing.T) {
			if got := nextAction(tc.desired, tc.observed); got != tc.want {
				t.Errorf("nextAction(%q, %q) = %s, want %s", tc.desired, tc.observed, got, tc.want)
			}
		})
	}
	// The table itself has no cell this test does not list.
	if n := len(containerTable); n != 4 {
		t.Errorf("table has %d declared states, want 4", n)
	}
	for desired, row := range containerTable {
		if len(row) != 8 {
			t.Errorf("row %s has %d cells, want 8", desired, len(row))
		}
	}
}

// Following the table from every observed state reaches the declared
// state, or stops at a state only dockerd or the user can change, in at
// most maxSteps actions, never taking the same action twice: the paths a
// single attempt (drive) takes when every action does what it says.
func TestContainerStatePaths(t *testing.T) {
	effect := map[action]string{actStart: stateRunning, actStop: stateExited, actPause: statePaused, actUnpause: stateRunning, actRemove: stateMissing}
	inState := map[string][]string{
		wantRunning: {stateRunning},
		wantStopped: {stateCreated, stateExited, stateDead},
		wantPaused:  {statePaused},
		wantAbsent:  {stateMissing},
	}
	for desired := range containerTable {
		for observed := range containerTable[desired] {
			state := observed
			var taken []action
			for {
				a := nextAction(desired, state)
				if !a.engineCall() {
					break
				}
				for _, prev := range taken {
					if prev == a {
						t.Fatalf("%s from %s: action %s twice (%v)", desired, describeState(observed), a, taken)
					}
				}
				taken = append(taken, a)
				state = effect[a]
			}
			if len(taken) > maxSteps {
				t.Errorf("%s from %s: %d actions %v, more than %d", desired, describeState(observed), len(taken), taken, maxSteps)
			}
			a := nextAction(desired, state)
			ok := false
			for _, s := range inState[desired] {
				ok = ok || s == state
			}
			if !ok && a != actWait && a != actNotFound && a != actFail {
				t.Errorf("%s from %s: ends in %s with %s", desired, describeState(observed), describeState(state), a)
			}
			if ok && a != actNone {
				t.Errorf("%s from %s: ends in its state %s but the table says %s", desired, describeState(observed), describeState(state), a)
			}
		}
	}
}
