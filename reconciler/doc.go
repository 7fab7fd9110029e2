// Package reconciler is rdd's level-triggered loop and the two boundaries it
// drives: a VM (Lima, or the host itself) and a container engine.
//
// One goroutine owns all state. File changes, engine events, VM changes and
// a resync timer only wake it, through a channel of capacity one with
// non-blocking sends, so any number of wake-ups collapse into one pass. A
// pass never asks which event arrived: it reads the desired file, asks the VM
// driver and the engine to move toward it and report what they observe,
// derives the verdict with a pure function (Verdict, table-tested), and
// writes status: object files, then app.yaml, then the ready or failed
// marker, each skipped when its bytes are unchanged.
//
// Every pass stamps the current generation into every condition, so a wait
// for an edit that needs no action ends at once (the predecessor's C1). An
// invalid desired file never tears anything down: the last valid state stays
// in force (applied) and keeps being reconciled, while Valid=False and the
// failed marker carry every error with its position.
//
// This package never imports a concrete driver; cmd wiring passes them in
// (reconciler/lima, reconciler/host, reconciler/docker).
package reconciler
