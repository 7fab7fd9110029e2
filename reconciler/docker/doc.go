// Package docker is rdd's container engine for moby (dockerd). It connects
// through the engine socket with API version negotiation (Engine API 1.41,
// Debian's docker.io 20.10, up to current releases) and mirrors every
// container, image and volume into the object files of status/
// (DESIGN.md section 3), kept up to date through dockerd's event stream.
//
// # Connecting
//
// A connection starts with a ping, then reads the engine's clock
// (Info.SystemTime) as the anchor of its event stream, starts the event
// watcher from that anchor, and does a full sync. Because the anchor comes
// before the sync, anything that changes while the sync reads is replayed
// as an event, whatever the two clocks say.
//
// # Events are wake-ups
//
// The watcher goroutine never writes a file. It records what an event made
// dirty (a container by ID; images or volumes as a whole) in a set guarded
// by a mutex, and wakes the loop through Changes, a channel of capacity one
// with a non-blocking send. The loop's next Reconcile lists what is dirty
// again (containers through a list filtered by their IDs, so an event costs
// the same with 10 or 1,000 containers) and inspects only the dirty
// containers; a full sync runs on every new connection and every fullEvery
// (default 5 m) as the safety net for a missed event. A resync that finds
// nothing changed renders identical bytes, so status/ sees no write; a
// container whose inspect response is byte for byte the last one is not
// rendered again.
//
// Each Mirror of a result carries a statusdir.Delta: the objects whose
// entry differs from this connection's previous result (delta.go). A pass
// that follows an event therefore has statusdir write that container's
// file and look at no other, while a full sync, and the first pass of a
// connection, have no Delta base and compare the whole directory, undoing
// whatever else happened to the files.
//
// # Which files exist
//
// The names of the object files come from the engine's list responses
// only, through one helper (objectFiles). An inspect that fails for a listed
// container gives a nil value, which keeps that container's file as it is
// (review I5), and the inspect is retried with backoff until it succeeds
// (review I6); a list that fails keeps the last list in force and is
// retried the same way. An object that vanished between the list and the
// inspect is simply not in the mirror. A rename is a new name in the list:
// the new file is written and the old one removed (review I4).
//
// # When the engine goes away
//
// A dead event stream (dockerd stopped, socket gone, stream closed) or a
// watcher that panicked wakes the loop, whose next Reconcile reports
// Connecting and returns no mirrors, so every file is kept; it reconnects
// with capped backoff and syncs everything again. File names derive from the
// objects' own names, so a reconnect changes no file that did not change.
// The mirrors are cleared only when the engine is meant to be off
// (running: false), and when containerEngine.name is containerd, whose
// objects rdd does not mirror (reason NotApplicable): moby's files would
// describe an engine that is not there.
//
// # Declared objects
//
// desired.yaml's containers, volumes and images are enforced on every pass
// (declared.go), after the mirror is brought up to date and before its
// files are rendered, so that a pass that acts also shows the result.
// Containers come first, then volumes, then images: a container removed in
// a pass no longer holds its volume or image in that pass. Objects that
// desired.yaml does not declare are observed only, never touched.
//
// Containers follow one table (statetable.go): for a declared state
// (running, stopped, paused, absent) and an observed one (created, running,
// paused, restarting, removing, exited, dead, or missing) it gives the next
// action: none, start, stop, pause, unpause, remove, wait (dockerd is
// moving it), NotFound, or fail (dead, or a state rdd does not know). One
// attempt follows the table, observing the container after each action,
// until nothing is left to do or the next action is one it already took
// (the container left its state again by itself). A stopped container is
// one that exists and does not run: created, exited or dead. paused ->
// stopped is unpause, then stop: dockerd 20.10 cannot deliver SIGTERM to a
// frozen container, and `docker stop` of a paused one waits out the stop
// timeout and kills it. rdd never creates a container: a declared one that
// does not exist is NotFound (failed) until it is created, and then it is
// brought to its state. Containers are acted on in parallel.
//
// The first action that brings a container to its state under its current
// declaration is not a correction; once it has been in that state (brought
// there, or already there when declared), every later one is, and is counted in
// its file (corrections, lastCorrection): an out-of-band `docker stop` of a
// container declared running, a `docker start` of one declared stopped, a
// container that died. The first correction in a row is made at once (the
// event wakes the loop); each next one waits twice as long after the
// attempt before it ended (1s, 2s, 4s... up to a minute; Pending, reason
// BackingOff). After 3 corrections in a row the container is CrashLoop
// (failed, naming it), and it stays so until it has been in its declared
// state for 10s, when the row starts over. A failed action is ActionFailed
// (failed, quoting dockerd), retried after 1s, doubling up to a minute.
//
// Volumes declared present are created (with the declared driver and
// labels) when missing; an existing one whose driver or declared labels
// differ is a Conflict (rdd does not recreate a volume: its data would be
// lost). Images declared present are pulled in the background, with their
// progress in the daemon's log (Pending, reason Pulling; PullFailed is
// retried with backoff). References are normalized as dockerd names tags
// (busybox is busybox:latest). A volume or image declared absent is
// removed, unless containers hold it (for an image, when the tag is its
// last): then it is InUse, naming them, and it goes with the first pass
// after they are gone.
//
// One function, remove, deletes every object of every kind (review I2). It
// never forces. A delete answered "not found" counts as done, and a delete
// that succeeded is remembered until the engine's list no longer shows the
// object, so no retry and no pass working from an older list deletes it
// again.
//
// Each declared object gets a status (ObjectCondition): True (InState),
// Unknown (on its way) or False (failed). The engine's Declared outcome is
// Failed when any object failed, with the reason of the first (containers,
// volumes, images, each by name) and one line per failed object, so that
// one bad object never hides another; else Pending with one line per object
// on its way; else Done, and the verdict can be ready. Its file carries
// declared: true, desired, the condition, and for containers the
// corrections, next to what the engine shows; a declared object that does
// not exist but should has a MissingFile (name or tag, and the same
// fields); an object declared absent and gone has no file. Messages name
// times absolutely, to the second, so that a pass that changes nothing
// writes nothing. What the engine remembers of declared containers (their
// corrections) lives as long as the daemon, and is forgotten while the
// engine is off: bringing containers back after it is not a correction.
//
// No lock is held across a blocking call, a close or a stop (review S1).
package docker
