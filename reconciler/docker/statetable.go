package docker

// Declared container states (desired.yaml containers.<name>.state).
const (
	wantRunning = "running"
	wantStopped = "stopped"
	wantPaused  = "paused"
	wantAbsent  = "absent"
)

// Observed container states: the engine's own words, and missing for a
// container that the engine does not list.
const (
	stateCreated    = "created"
	stateRunning    = "running"
	statePaused     = "paused"
	stateRestarting = "restarting"
	stateRemoving   = "removing"
	stateExited     = "exited"
	stateDead       = "dead"
	stateMissing    = ""
)

// action is what brings a declared container one step closer to its
// declared state.
type action int

const (
	actNone     action = iota // it is in its declared state
	actStart                  // docker start
	actStop                   // docker stop (SIGTERM, then SIGKILL after the container's stop timeout)
	actPause                  // docker pause
	actUnpause                // docker unpause
	actRemove                 // docker rm, through the one removal path
	actWait                   // dockerd is moving it (restarting, removing); its event wakes the loop
	actNotFound               // declared, but the engine has no such container: rdd does not create containers
	actFail                   // it cannot get there from this state (dead); reported, retried when it changes
)

var actionNames = [...]string{"none", "start", "stop", "pause", "unpause", "remove", "wait", "notFound", "fail"}

func (a action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "unknown"
}

// engineCall reports whether the action is a call to the engine.
func (a action) engineCall() bool {
	switch a {
	case actStart, actStop, actPause, actUnpause, actRemove:
		return true
	}
	return false
}

// containerTable is the whole state machine of declared containers: for
// each declared state, the next action from each observed state. It is the
// one place these rules live; nextAction only looks it up, and its test
// covers every cell.
//
// Multi-step paths take one step per lookup: paused -> stopped is unpause,
// then stop (dockerd 20.10 does not deliver SIGTERM to a frozen container:
// `docker stop` of a paused container waits out the stop timeout and kills
// it, exit code 137); paused -> absent is unpause, stop, remove; exited ->
// paused is start, then pause. A stopped container is one that exists and
// does not run: created, exited, and dead (which can only be removed) all
// qualify. Pausing or unpausing a restarting container is refused by
// dockerd, so those wait for it to run; stopping one cancels its restart.
var containerTable = map[string]map[string]action{
	wantRunning: {
		stateCreated:    actStart,
		stateRunning:    actNone,
		statePaused:     actUnpause,
		stateRestarting: actWait,
		stateRemoving:   actWait,
		stateExited:     actStart,
		stateDead:       actFail,
		stateMissing:    actNotFound,
	},
	wantStopped: {
		stateCreated:    actNone,
		stateRunning:    actStop,
		statePaused:     actUnpause,
		stateRestarting: actStop,
		stateRemoving:   actWait,
		stateExited:     actNone,
		stateDead:       actNone,
		stateMissing:    actNotFound,
	},
	wantPaused: {
		stateCreated:    actStart,
		stateRunning:    actPause,
		statePaused:     actNone,
		stateRestarting: actWait,
		stateRemoving:   actWait,
		stateExited:     actStart,
		stateDead:       actFail,
		stateMissing:    actNotFound,
	},
	wantAbsent: {
		stateCreated:    actRemove,
		stateRunning:    actStop,
		statePaused:     actUnpause,
		stateRestarting: actStop,
		stateRemoving:   actWait,
		stateExited:     actRemove,
		stateDead:       actRemove,
		stateMissing:    actNone,
	},
}

// nextAction is the pure step function of declared containers: from the
// declared state and the observed one to the next action. A declared or
// observed state outside the table is actFail, so that it is reported
// (S9), never taken for settled.
func nextAction(desired, observed string) action {
	row, ok := containerTable[desired]
	if !ok {
		return actFail
	}
	a, ok := row[observed]
	if !ok {
		return actFail
	}
	return a
}
