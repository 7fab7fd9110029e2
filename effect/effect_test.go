package effect

import (
	"encoding/json"
	"testing"
)

func TestRankAndMax(t *testing.T) {
	for i, e := range All {
		if e.Rank() != i || !e.Valid() {
			t.Errorf("%s: rank %d valid %v, want rank %d", e, e.Rank(), e.Valid(), i)
		}
		if e.Describe() == "" {
			t.Errorf("%s has no description", e)
		}
	}
	tests := []struct {
		in   []Effect
		want Effect
	}{
		{nil, None},
		{[]Effect{Live}, Live},
		{[]Effect{Live, VMRestart, Reload}, VMRestart},
		{[]Effect{Recreate, Refused}, Refused},
		{[]Effect{Live, "bogus"}, "bogus"},
	}
	for _, tt := range tests {
		if got := Max(tt.in...); got != tt.want {
			t.Errorf("Max(%v) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestPlanJSON(t *testing.T) {
	p := New("sha256:x", nil)
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"digest":"sha256:x","effect":"none","changes":[]}`; got != want {
		t.Errorf("empty plan: %s, want %s", got, want)
	}
	p = New("d", []Change{
		{Key: "vm.cpus", From: "2", To: "4", Effect: VMRestart},
		{Key: "containers.web.state", From: "running", To: "stopped", Effect: Live, Action: "stop"},
	})
	if p.Effect != VMRestart {
		t.Errorf("effect %s, want vm-restart", p.Effect)
	}
	if k := p.Keys(Live); len(k) != 1 || k[0] != "containers.web.state" || !p.Has(VMRestart) || p.Has(Recreate) {
		t.Errorf("Keys/Has wrong: %v", k)
	}
}
