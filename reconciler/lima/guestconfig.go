package lima

import (
	"context"
	"fmt"
	"time"

	rddeffect "github.com/rddproject/rdd/effect"
	"github.com/rddproject/rdd/reconciler"
	"github.com/rddproject/rdd/reconciler/guestconfig"
	"github.com/rddproject/rdd/schema"
	"github.com/rddproject/rdd/statusdir"
)

// recheckAfter is how often a configuration in force is checked again
// against the guest's boot id (a reboot inside the guest, or a new disk,
// re-applies it).
const recheckAfter = 30 * time.Second

// guestState is what the driver remembers of the engine configuration
// between passes; owned by the goroutine calling Reconcile.
type guestState struct {
	digest    string // of the Want last applied or tried
	boot      string // the guest's boot id then
	result    guestconfig.Result
	checkedAt time.Time
}

// EnginePlan is the rows of the engine configuration keys
// (containerEngine.registryMirrors, insecureRegistries, config, vm.proxy,
// vm.caCerts) for the instance in instDir: the driver's Plan appends
// them. It reads only the record next to the instance.
func EnginePlan(instDir string, d *schema.Desired) []rddeffect.Change {
	want, err := guestconfig.WantFor(d, nil)
	if err != nil {
		return []rddeffect.Change{{Key: "containerEngine.config", From: "-", To: "-", Effect: rddeffect.Refused, Why: err.Error()}}
	}
	rec, _ := guestconfig.ReadRecord(instDir)
	return guestconfig.Effects(rec, want, "")
}

// applyEngineConfig brings the running guest's engine configuration to
// d's and records the outcome in res (the EngineConfig condition and
// app.yaml's engine.config). The driver calls it on every pass in which
// the instance is Running as desired; it runs `limactl shell` only when
// the configuration changed, or at most every recheckAfter to notice a
// new boot. A configuration the engine refused is not tried again until
// desired.yaml or the guest's boot changes, so a bad value never makes
// rdd restart dockerd over and over. It runs within the pass: a reload
// takes about a second, a restart as long as dockerd takes to start.
func (dr *Driver) applyEngineConfig(ctx context.Context, r *runner, d *schema.Desired, res *reconciler.VMResult) {
	if dr.guest == nil {
		dr.guest = &guestState{}
	}
	gs := dr.guest
	want, err := guestconfig.WantFor(d, nil)
	if err != nil {
		res.EngineConfig = &statusdir.Condition{Status: statusdir.False, Reason: statusdir.ReasonConfigRefused, Message: err.Error()}
		return
	}
	rec, _ := guestconfig.ReadRecord(dr.instanceDir())
	if rec == nil && len(guestconfig.SetGuestKeys(d)) == 0 {
		return // nothing set, nothing ever applied: leave the guest's files alone
	}
	a := &guestconfig.Applier{Shell: guestconfig.Limactl{Path: r.path, Home: r.home, Env: r.env, Instance: Name}, Dir: dr.instanceDir()}
	digest := want.Digest()
	if gs.digest != digest || dr.now().Sub(gs.checkedAt) >= recheckAfter {
		// A new configuration is applied at once; the same one again only
		// in a new boot of the guest (also after a refusal, which is not
		// retried otherwise).
		boot, err := a.BootID(ctx)
		if gs.digest != digest || err == nil && boot != gs.boot {
			gs.result = a.Apply(ctx, want)
			gs.boot = boot
			dr.log.Info("engine configuration", "action", gs.result.Action, "outcome", int(gs.result.Outcome), "took", gs.result.Took.Round(time.Millisecond).String())
		}
		gs.digest, gs.checkedAt = digest, dr.now()
	}
	res.EngineConfig, res.EngineConfigStatus = engineCondition(gs.result)
}

func engineCondition(r guestconfig.Result) (*statusdir.Condition, *statusdir.EngineConfig) {
	st := &statusdir.EngineConfig{Digest: r.Digest, RegistryMirrors: nonNil(r.Mirrors), InsecureRegistries: nonNil(r.Insecure)}
	switch r.Outcome {
	case guestconfig.Failed:
		return &statusdir.Condition{Status: statusdir.False, Reason: statusdir.ReasonConfigRefused, Message: r.Message}, st
	case guestconfig.NotApplicable:
		return &statusdir.Condition{Status: statusdir.False, Reason: statusdir.EngineNotApplicable, Message: r.Message}, st
	}
	return &statusdir.Condition{Status: statusdir.True, Reason: statusdir.ReasonConfigApplied,
		Message: fmt.Sprintf("in force in the guest (last change: %s, %s)", r.Action, r.Took.Round(time.Millisecond))}, st
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// guestStatus adds what the instance was started with to its status.
func guestStatus(st *statusdir.VMStatus, applied *Spec) {
	if applied == nil {
		return
	}
	st.MountType = applied.MountType
	st.PortForwards = forwardStrings(applied.PortForwards)
	if len(st.PortForwards) == 0 {
		st.PortForwards = nil
	}
}
