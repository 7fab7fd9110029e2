package effect

// Change is one key whose desired value differs from the value in force.
type Change struct {
	Key    string `json:"key" yaml:"key"`       // the desired.yaml path, e.g. vm.cpus
	From   string `json:"from" yaml:"from"`     // short rendering of the value in force
	To     string `json:"to" yaml:"to"`         // short rendering of the desired value
	Effect Effect `json:"effect" yaml:"effect"` // what applying it costs
	// Why it has that effect (or why nothing applies): prose for a
	// person, not a reason code of the status contract, hence its Go
	// name; the contract's JSON calls it "reason".
	Why    string `json:"reason" yaml:"reason"`
	Action string `json:"action,omitempty" yaml:"action,omitempty"` // for declared objects: start, stop, pause, unpause, remove, pull, create
}

// Plan is every change from the state in force to a desired state, and
// the most disruptive effect among them.
type Plan struct {
	Digest  string   `json:"digest" yaml:"digest"` // of the desired state planned for
	Effect  Effect   `json:"effect" yaml:"effect"`
	Changes []Change `json:"changes" yaml:"changes"`
}

// New returns the plan of changes for digest, with Effect their maximum.
// A nil changes becomes an empty list, so JSON shows [] and not null.
func New(digest string, changes []Change) Plan {
	if changes == nil {
		changes = []Change{}
	}
	p := Plan{Digest: digest, Effect: None, Changes: changes}
	for _, c := range changes {
		p.Effect = Max(p.Effect, c.Effect)
	}
	return p
}

// Keys returns the keys of the changes with effect e, in plan order.
func (p Plan) Keys(e Effect) []string {
	var keys []string
	for _, c := range p.Changes {
		if c.Effect == e {
			keys = append(keys, c.Key)
		}
	}
	return keys
}

// Has reports whether some change has effect e.
func (p Plan) Has(e Effect) bool { return len(p.Keys(e)) > 0 }
