package statusdir

import (
	"cmp"
	"slices"
	"time"
)

// Values of Condition.Status.
const (
	True    = "True"
	False   = "False"
	Unknown = "Unknown"
)

// Condition is one Kubernetes-style condition.
type Condition struct {
	Type               string    `yaml:"type" json:"type"`
	Status             string    `yaml:"status" json:"status"` // True, False or Unknown
	Reason             string    `yaml:"reason" json:"reason"`
	Message            string    `yaml:"message" json:"message"`
	ObservedGeneration int64     `yaml:"observedGeneration" json:"observedGeneration"`
	LastTransitionTime time.Time `yaml:"lastTransitionTime" json:"lastTransitionTime"`
}

// SetCondition returns a copy of conds in which the condition of c's type is
// replaced by c (or c is added), sorted by type. When the status of that type
// is unchanged, the old LastTransitionTime is kept; otherwise it is c's own,
// or now when c's is zero. The time is stored in UTC, truncated to the
// second, so that unchanged conditions render to unchanged bytes. conds is
// not modified.
func SetCondition(conds []Condition, c Condition, now time.Time) []Condition {
	if c.LastTransitionTime.IsZero() {
		c.LastTransitionTime = now
	}
	c.LastTransitionTime = c.LastTransitionTime.UTC().Truncate(time.Second)
	out := make([]Condition, 0, len(conds)+1)
	for _, old := range conds {
		if old.Type != c.Type {
			out = append(out, old)
			continue
		}
		if old.Status == c.Status {
			c.LastTransitionTime = old.LastTransitionTime
		}
	}
	out = append(out, c)
	slices.SortStableFunc(out, func(a, b Condition) int { return cmp.Compare(a.Type, b.Type) })
	return out
}

// FindCondition returns the condition of type typ in conds.
func FindCondition(conds []Condition, typ string) (Condition, bool) {
	for _, c := range conds {
		if c.Type == typ {
			return c, true
		}
	}
	return Condition{}, false
}

// Condition types in app.yaml.
const (
	CondValid      = "Valid"
	CondRunning    = "Running"
	CondEngine     = "ContainerEngineReady"
	CondSettled    = "Settled"
	CondKubernetes = "KubernetesReady"
	// CondEngineConfig: the engine configuration of section 11 (daemon.json,
	// proxy, CA certificates) is in force; absent when none is set.
	CondEngineConfig = "EngineConfig"
	// CondStatusWritten is present, False, only while object files of
	// status/ cannot be written (a full disk): the mirror is incomplete.
	CondStatusWritten = "StatusWritten"
)

// Reasons of the Running condition: what the VM driver reports.
const (
	VMStarting    = "Starting"
	VMRunning     = "Running"
	VMStartFailed = "StartFailed"
	VMStopping    = "Stopping"
	VMStopped     = "Stopped"
	VMStopFailed  = "StopFailed"
	VMRestarting  = "Restarting"
)

// Values of VMStatus.Status that rdd writes itself; the Lima driver also
// copies the status limactl reports.
const (
	VMStatusAbsent  = "Absent"  // no instance exists
	VMStatusRunning = "Running" // the host driver: the host's dockerd is in use
	VMStatusStopped = "Stopped" // the host driver: the engine is meant to be off
)

// Reasons of the ContainerEngineReady condition.
const (
	EngineConnected     = "Connected"
	EngineConnecting    = "Connecting"
	EngineConnectFailed = "ConnectFailed"
	EngineStopped       = "Stopped"
	EngineNotApplicable = "NotApplicable"
)

// Reasons of the Valid and Settled conditions and of the markers.
const (
	ReasonValid         = "Valid"
	ReasonInvalid       = "Invalid"
	ReasonMissing       = "DesiredMissing"
	ReasonSettled       = "Settled"
	ReasonProgressing   = "Progressing"
	ReasonNotSupported  = "NotSupported" // also: declared objects on containerd
	ReasonDaemonStopped = "DaemonStopped"
	ReasonNoValidState  = "NoValidState"
	ReasonApplying      = "Applying" // Settled False: a change is being applied and is not in force yet
	// A VM driver held a change back (reconciler.Hold): it recreates
	// the VM without `vm.recreate: allow` or `rdd confirm recreate`, or it
	// cannot be made at all (a disk shrink, a value limactl cannot carry).
	NeedsConfirmation   = "NeedsConfirmation"
	ChangeRefused       = "ChangeRefused"
	ReasonConfigApplied = "Applied"       // EngineConfig True: written, reloaded or restarted, and verified
	ReasonConfigRefused = "ConfigRefused" // EngineConfig False: the engine refused it; the last good configuration is in force
	// ReasonUnsafePermissions: the desired file, or a directory above it,
	// can be changed by another user (sshd's StrictModes); it is not used.
	ReasonUnsafePermissions = "UnsafePermissions"
	// ReasonWriteFailed: object files of status/ could not be written.
	ReasonWriteFailed = "WriteFailed"
)

// Reasons of declared objects' conditions ([ObjectCondition]). The
// verdict's failed marker carries the reason of the first failed object.
const (
	ReasonInState      = "InState"         // True: in its declared state
	ReasonWaiting      = "Waiting"         // Unknown: dockerd is moving it (restarting, removing)
	ReasonBackingOff   = "BackingOff"      // Unknown: it left its state again; the next correction waits
	ReasonPulling      = "Pulling"         // Unknown: the image is being pulled
	ReasonNotObserved  = "NotObserved"     // Unknown: the engine's list of its kind is not known yet
	ReasonNotFound     = "NotFound"        // False: a declared container does not exist
	ReasonCrashLoop    = "CrashLoop"       // False: it keeps leaving its state; corrections back off
	ReasonInUse        = "InUse"           // False: declared absent, but containers hold it
	ReasonConflict     = "Conflict"        // False: it exists, but not as declared (a volume's driver or labels)
	ReasonActionFailed = "ActionFailed"    // False: the engine refused an action; retried with backoff
	ReasonPullFailed   = "PullFailed"      // False: the pull failed; retried with backoff
	ReasonDead         = "Dead"            // False: a dead container can only be removed
	ReasonUnexpected   = "UnexpectedState" // False: a state, or a reference, rdd does not know (S9); also of a driver's unknown reason
)

// Reasons of events (events.jsonl): what an action did, or what happened
// to an object or a condition.
const (
	EventActionStart    = "Start"    // the VM is being started
	EventActionStop     = "Stop"     // the VM is being stopped
	EventActionRestart  = "Restart"  // the VM is being restarted into a new configuration
	EventActionRecreate = "Recreate" // the VM is being deleted and created again
	EventActionPull     = "Pull"     // a declared image is being pulled

	EventAppeared     = "Appeared"     // an object the engine did not have before
	EventVanished     = "Vanished"     // an object the engine no longer has
	EventReplaced     = "Replaced"     // the name belongs to another object now
	EventStateChanged = "StateChanged" // an object's state changed
	EventRestarted    = "Restarted"    // a container was started again
	EventRemoved      = "Removed"      // a condition no longer applies
)
