package reconciler

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/rddproject/rdd/effect"
	"github.com/rddproject/rdd/schema"
)

// Planner is implemented by a driver that can say, without acting, what
// reconciling d would cost from the state in force (DESIGN section 10).
// Plan MUST be pure over what the driver last observed (or, before any
// observation, over what it can read from disk without changing it), so
// that `rdd plan` and the daemon see the same result.
type Planner interface {
	Plan(d *schema.Desired) []effect.Change
}

// Plan is the one composition of a plan, used by the daemon and by `rdd
// plan`: the changes the VM driver and the engine report, then the rows
// this package owns (running, vm.driver, and the keys no driver applies),
// for every leaf of the desired state whose value differs from the state
// in force (inForce nil: nothing was applied yet). A planner may be nil.
//
// Every differing key gets a row: a key that no planner covers and no row
// here names is planned as a VM restart with a reason saying so, never
// left out (S9), and a test fails for such a key.
func Plan(digest string, inForce, d *schema.Desired, vm, engine Planner) effect.Plan {
	var changes []effect.Change
	if inForce == nil {
		// Nothing was applied yet: there is no state in force to compare
		// with, and nothing running that a change could disturb.
		e, why := effect.None, "nothing was applied yet; the VM stays off"
		if d.Running {
			e, why = effect.VMRestart, "nothing was applied yet: the VM is created (or adopted) and started"
		}
		return effect.New(digest, []effect.Change{{Key: "running", From: "-", To: fmt.Sprint(d.Running), Effect: e, Why: why}})
	}
	for _, p := range []Planner{vm, engine} {
		if p != nil {
			changes = append(changes, p.Plan(d)...)
		}
	}
	covered := func(key string) bool {
		for _, c := range changes {
			if c.Key == key || strings.HasPrefix(key, c.Key+".") || strings.HasPrefix(c.Key, key+".") {
				return true
			}
		}
		return false
	}
	from, to := Flatten(inForce), Flatten(d)
	for _, key := range unionKeys(from, to) {
		if from[key] == to[key] || covered(key) {
			continue
		}
		e, reason := ownEffect(key, inForce, d)
		changes = append(changes, effect.Change{Key: key, From: orNone(from[key]), To: orNone(to[key]), Effect: e, Why: reason})
	}
	return effect.New(digest, changes)
}

// ownEffect is the effect table of the keys this package owns, and the
// conservative answer for any other key (which a test keeps from
// happening).
func ownEffect(key string, inForce, d *schema.Desired) (effect.Effect, string) {
	switch {
	case key == "running":
		if d.Running {
			return effect.VMRestart, "the VM and its engine start"
		}
		return effect.VMRestart, "the VM stops, and every container in it with it"
	case key == "vm.driver":
		return effect.VMRestart, fmt.Sprintf("rdd switches to the %s driver; what the other driver ran is left as it is", d.VM.Driver)
	case strings.HasPrefix(key, "kubernetes."):
		return effect.None, "Kubernetes is not built yet: kubernetes.enabled is reported as NotSupported"
	case key == "containerEngine.dockerContext":
		return effect.Live, "the docker CLI context is rewritten; nothing restarts"
	case strings.HasPrefix(key, "containers."), strings.HasPrefix(key, "volumes."), strings.HasPrefix(key, "images."):
		return effect.None, "the engine already shows it in that state"
	}
	if inForce != nil && inForce.VM.Driver == "host" && d.VM.Driver == "host" && strings.HasPrefix(key, "vm.") {
		return effect.None, "vm.driver is host: there is no VM"
	}
	return effect.VMRestart, "no effect row names this key; rdd assumes the VM restarts"
}

// OwnKeys are the key prefixes whose rows live in ownEffect, for the test
// that every schema field has an effect row somewhere.
var OwnKeys = []string{"running", "vm.driver", "kubernetes", "containerEngine.dockerContext", "containers", "volumes", "images"}

// Flatten renders a desired state as one string per leaf key, keyed by the
// path `rdd get` and `rdd set` take (map keys holding dots, slashes or
// colons quoted). Lists are one leaf, rendered as compact JSON; an empty
// mapping has no leaves, as an absent one. A nil d flattens to nothing.
func Flatten(d *schema.Desired) map[string]string {
	out := map[string]string{}
	if d == nil {
		return out
	}
	b, err := json.Marshal(d)
	if err != nil {
		return out // a Desired always marshals; nothing to compare otherwise
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return out
	}
	flattenInto(out, "", v)
	return out
}

func flattenInto(out map[string]string, prefix string, v any) {
	m, ok := v.(map[string]any)
	if !ok {
		out[prefix] = render(v)
		return
	}
	for k, child := range m {
		key := quoteSegment(k)
		if prefix != "" {
			key = prefix + "." + key
		}
		flattenInto(out, key, child)
	}
}

func render(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// quoteSegment writes a map key as schema.ParsePath reads it back.
func quoteSegment(s string) string {
	if s != "" && !strings.ContainsAny(s, `."/:\ `) {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
}

func unionKeys(a, b map[string]string) []string {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
