package host

import (
	"encoding/json"
	"slices"

	"github.com/rddproject/rdd/effect"
	"github.com/rddproject/rdd/schema"
)

// Why changes have the effects they have with this driver. NoVM is the
// reason of every vm.* change.
const (
	NoVM          = "vm.driver is host: there is no VM"
	whySocket     = "the engine drops its connection and connects to the new socket"
	whyEngineName = "vm.driver is host: the engine is whatever dockerd answers at the socket; rdd does not choose it"
)

// Plan lists the changes from the state in force (Applied, else the last
// desired state Reconcile was given) to d. Every vm.* key is none, as
// there is no VM to apply it to; a new containerEngine.socket is live
// (the engine connects to the new socket). With nothing in force yet, it
// lists nothing.
func (h *Driver) Plan(d *schema.Desired) []effect.Change {
	h.mu.Lock()
	from := h.Applied
	if from == nil {
		from = h.last
	}
	h.mu.Unlock()
	if from == nil {
		return nil
	}
	var out []effect.Change
	a, b := fields(from.VM), fields(d.VM)
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
	for _, k := range keys {
		if k == "driver" || a[k] == b[k] {
			continue
		}
		out = append(out, effect.Change{Key: "vm." + k, From: a[k], To: b[k], Effect: effect.None, Why: NoVM})
	}
	if fs, ts := h.Socket(from), h.Socket(d); fs != ts {
		out = append(out, effect.Change{Key: "containerEngine.socket", From: fs, To: ts, Effect: effect.Live,
			Why: whySocket})
	}
	if from.ContainerEngine.Name != d.ContainerEngine.Name {
		out = append(out, effect.Change{Key: "containerEngine.name", From: from.ContainerEngine.Name, To: d.ContainerEngine.Name,
			Effect: effect.None, Why: whyEngineName})
	}
	return out
}

// fields renders each field of a VM as compact JSON, by its desired.yaml
// name, so that fields added to the schema are compared without a list
// to keep up to date here.
func fields(vm schema.VM) map[string]string {
	b, err := json.Marshal(vm)
	if err != nil {
		return nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil
	}
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		out[k] = string(v)
	}
	return out
}
