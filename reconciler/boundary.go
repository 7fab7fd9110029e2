package reconciler

import (
	"context"
	"time"

	"github.com/rddproject/rdd/effect"
	"github.com/rddproject/rdd/schema"
	"github.com/rddproject/rdd/statusdir"
)

// VM drives the virtual machine the engine runs in.
//
// Reconcile MUST be idempotent: called again with the same desired state it
// changes nothing and returns the same observation. It MUST NOT block for
// the whole of a long operation unless that operation is the step being
// taken (a start); it reports Starting or Stopping and asks to be requeued
// instead of polling. It MUST return promptly when ctx ends.
type VM interface {
	// Reconcile acts on exactly what Plan returns for d; allow says
	// whether a recreate may be done.
	Reconcile(ctx context.Context, d *schema.Desired, allow Allow) VMResult
	// Plan lists the changes from the state in force to d with their
	// effects, without acting; it works before any Reconcile (from what
	// the driver finds on disk), so `rdd plan` can call it without a
	// daemon.
	Plan(d *schema.Desired) []effect.Change
	// Changes delivers wake-ups when the VM changes on its own, e.g. a
	// start running in the background has ended. It may return nil.
	Changes() <-chan struct{}
}

// VMResult is what a VM driver observed after acting.
type VMResult struct {
	Status  statusdir.VMStatus
	Reason  string // one of the statusdir.VM* reasons
	Message string // why, quoting the driver's own errors
	// Socket is the engine socket on the host, set while the VM runs (also
	// when the reason is a failure that left the running VM untouched, such
	// as a refused change: the engine stays connected).
	Socket string
	// Requeue asks for another pass after this long (0: none needed).
	Requeue time.Duration
	// Applying lists the changes an operation under way applies; nil
	// when none is under way.
	Applying []effect.Change
	// Held is a change that was not made and why; nil when none.
	Held *Hold
	// EngineConfig is the condition of the engine configuration
	// (statusdir.CondEngineConfig); nil when none is set. A False one with
	// reason ConfigRefused fails the verdict; NotApplicable does not.
	EngineConfig *statusdir.Condition
	// EngineConfigStatus is app.yaml's engine.config; nil when none.
	EngineConfigStatus *statusdir.EngineConfig
}

// Engine is the container engine inside the VM.
//
// Reconcile is called on every pass. With socket empty the engine is meant
// to be off: the engine drops its connection and clears its mirrors. With
// socket set it connects if needed, mirrors what it observes and enforces
// declared objects. It MUST be idempotent and MUST NOT block once ctx ends.
type Engine interface {
	Reconcile(ctx context.Context, d *schema.Desired, socket string) EngineResult
	// Changes delivers wake-ups when the engine observes a change (events,
	// a lost connection). It may return nil if the engine has none.
	Changes() <-chan struct{}
}

// EngineResult is what the engine observed after acting.
type EngineResult struct {
	Status  statusdir.EngineStatus
	Reason  string // one of the statusdir.Engine* reasons
	Message string
	// Mirrors says, per object directory of status/ (containers, images,
	// ...), what it must hold: its files (each with its bytes, or
	// statusdir.KeepFile), statusdir.ClearDir, or statusdir.LeaveDir (a
	// transient disconnect keeps the mirrors). The engine names every
	// directory in statusdir.ObjectDirs order.
	Mirrors []statusdir.Mirror
	// Declared is the state of the objects desired.yaml declares.
	Declared Outcome
	Requeue  time.Duration
}

// Outcome is how far declared objects are from their desired state.
type Outcome struct {
	State   OutcomeState
	Reason  string
	Message string
}

// OutcomeState says whether declared objects are settled.
type OutcomeState int

const (
	OutcomeDone    OutcomeState = iota // everything declared is in its state
	OutcomePending                     // being worked on; retryable
	OutcomeFailed                      // cannot be reconciled as things stand
)
