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
// nothing changed renders identical bytes, so status/ sees no write.
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
// No lock is held across a blocking call, a close or a stop (review S1).
package docker
