package cli

import (
	"github.com/rddproject/rdd/home"
	"github.com/rddproject/rdd/reconciler"
	"github.com/rddproject/rdd/reconciler/docker"
	"github.com/rddproject/rdd/reconciler/host"
	"github.com/rddproject/rdd/reconciler/lima"
	"github.com/rddproject/rdd/schema"
)

// offlinePlanners are the planners `rdd plan` uses without a daemon: the
// same drivers the daemon wires (daemon.go), constructed without running
// anything, so their Plan reads the state in force from disk (the Lima
// instance's record, the status/ mirrors; the engine's declared objects
// from the object files of status/). A driver that cannot plan is nil, and
// reconciler.Plan covers its keys conservatively.
func offlinePlanners(h home.Home, d *schema.Desired) (vm, engine reconciler.Planner) {
	var drv any
	switch d.VM.Driver {
	case "lima":
		drv = lima.New(lima.Config{Home: h.Lima(), Socket: h.Socket(), Base: h.Dir})
	case "host":
		drv = &host.Driver{Home: h.Dir}
	}
	vm, _ = drv.(reconciler.Planner)
	return vm, docker.StatusPlanner{Root: h.Status()}
}
