package reconciler

import (
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/rddproject/rdd/statusdir"
)

func cond(typ, status, reason string) statusdir.Condition {
	return statusdir.Condition{Type: typ, Status: status, Reason: reason, Message: typ + " message"}
}

func container(id, state, started string, corrections int) []byte {
	s := "id: " + id + "\nname: web\nstate: " + state + "\nstarted: " + started + "\n"
	if corrections > 0 {
		s += "declared: true\ndesired: running\ncondition:\n  status: \"True\"\n  reason: InState\ncorrections: " + strconv.Itoa(corrections) + "\n"
	}
	return []byte(s)
}

func objects(t *testing.T, prev map[string]map[string]objectSeen, files map[string]map[string][]byte) map[string]map[string]objectSeen {
	t.Helper()
	var mirrors []statusdir.Mirror
	for dir, fs := range files {
		m := statusdir.Mirror{Dir: dir, Files: map[string]statusdir.Entry{}}
		for name, data := range fs {
			if data == nil {
				m.Files[name] = statusdir.KeepFile
			} else {
				m.Files[name] = statusdir.FileEntry(data)
			}
		}
		mirrors = append(mirrors, m)
	}
	return mirrorObjects(prev, EngineResult{Reason: statusdir.EngineConnected, Mirrors: mirrors})
}

func TestDiffPass(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	base := []statusdir.Condition{cond(statusdir.CondEngine, "True", statusdir.EngineConnected), cond(statusdir.CondRunning, "True", statusdir.VMRunning),
		cond(statusdir.CondSettled, "True", statusdir.ReasonSettled), cond(statusdir.CondValid, "True", statusdir.ReasonValid)}
	ready := statusdir.Marker{Digest: "sha256:a", Generation: 3, Reason: statusdir.ReasonSettled}
	objs := objects(t, nil, map[string]map[string][]byte{
		statusdir.ContainersDir: {"web": container("c1", "running", "t1", 0)},
		statusdir.VolumesDir:    {"data": []byte("name: data\ndriver: local\n")},
		statusdir.ImagesDir:     {"busybox:1.36": []byte("tag: busybox:1.36\ndeclared: true\ncondition: {status: Unknown, reason: Pulling}\n")},
	})
	settled := observed{conds: base, marker: statusdir.ReadyMarker, verdict: ready, objects: objs}
	with := func(f func(*observed)) observed {
		o := settled
		o.conds = append([]statusdir.Condition(nil), base...)
		f(&o)
		return o
	}
	setCond := func(o *observed, c statusdir.Condition) { o.conds = statusdir.SetCondition(o.conds, c, now) }

	tests := []struct {
		name          string
		before, after observed
		want          []statusdir.Event
	}{
		{name: "nothing changed", before: settled, after: settled},
		{name: "a message alone is no transition", before: settled, after: with(func(o *observed) {
			c := cond(statusdir.CondSettled, "True", statusdir.ReasonSettled)
			c.Message = "other"
			setCond(o, c)
		})},
		{name: "first pass of a daemon", before: observed{}, after: settled, want: []statusdir.Event{
			{Type: "condition", Name: statusdir.CondEngine, To: "True", Reason: statusdir.EngineConnected, Message: statusdir.CondEngine + " message"},
			{Type: "condition", Name: statusdir.CondRunning, To: "True", Reason: statusdir.VMRunning, Message: statusdir.CondRunning + " message"},
			{Type: "condition", Name: statusdir.CondSettled, To: "True", Reason: statusdir.ReasonSettled, Message: statusdir.CondSettled + " message"},
			{Type: "condition", Name: statusdir.CondValid, To: "True", Reason: statusdir.ReasonValid, Message: statusdir.CondValid + " message"},
			{Type: "verdict", To: "ready", Reason: statusdir.ReasonSettled},
		}},
		{name: "an invalid edit", before: settled, after: with(func(o *observed) {
			setCond(o, cond(statusdir.CondValid, "False", statusdir.ReasonInvalid))
			setCond(o, cond(statusdir.CondSettled, "False", statusdir.ReasonInvalid))
			o.marker, o.verdict = statusdir.FailedMarker, statusdir.Marker{Digest: "sha256:b", Generation: 4, Reason: statusdir.ReasonInvalid, Message: "bad"}
		}), want: []statusdir.Event{
			{Type: "condition", Name: statusdir.CondSettled, From: "True", To: "False", Reason: statusdir.ReasonInvalid, Message: statusdir.CondSettled + " message"},
			{Type: "condition", Name: statusdir.CondValid, From: "True", To: "False", Reason: statusdir.ReasonInvalid, Message: statusdir.CondValid + " message"},
			{Type: "verdict", From: "ready", To: "failed", Reason: statusdir.ReasonInvalid, Message: "bad"},
		}},
		{name: "the same verdict for a new generation", before: settled, after: with(func(o *observed) {
			o.verdict.Generation, o.verdict.Digest = 4, "sha256:c"
		}), want: []statusdir.Event{{Type: "verdict", From: "ready", To: "ready", Reason: statusdir.ReasonSettled}}},
		{name: "a VM restart and a recreate", before: settled, after: with(func(o *observed) {
			setCond(o, cond(statusdir.CondRunning, "False", statusdir.VMRestarting))
			o.vmMessage = "recreating rd (its disk is replaced) for vm.image"
		}), want: []statusdir.Event{
			{Type: "action", Kind: "vm", Reason: statusdir.EventActionRecreate, Message: statusdir.CondRunning + " message"},
			{Type: "condition", Name: statusdir.CondRunning, From: "True", To: "False", Reason: statusdir.VMRestarting, Message: statusdir.CondRunning + " message"},
		}},
		{name: "a stop", before: settled, after: with(func(o *observed) { setCond(o, cond(statusdir.CondRunning, "False", statusdir.VMStopping)) }),
			want: []statusdir.Event{
				{Type: "action", Kind: "vm", Reason: statusdir.EventActionStop, Message: statusdir.CondRunning + " message"},
				{Type: "condition", Name: statusdir.CondRunning, From: "True", To: "False", Reason: statusdir.VMStopping, Message: statusdir.CondRunning + " message"},
			}},
		{name: "a condition removed", before: with(func(o *observed) { setCond(o, cond(statusdir.CondKubernetes, "False", statusdir.ReasonNotSupported)) }), after: settled,
			want: []statusdir.Event{{Type: "condition", Name: statusdir.CondKubernetes, From: "False", Reason: statusdir.EventRemoved, Message: "the condition no longer applies"}}},
		{name: "objects appear, change, vanish and are corrected", before: settled, after: with(func(o *observed) {
			o.objects = objects(t, objs, map[string]map[string][]byte{
				statusdir.ContainersDir: {"web": container("c1", "running", "t2", 1), "new": container("c2", "created", "", 0)},
				statusdir.VolumesDir:    {},
			})
		}), want: []statusdir.Event{
			{Type: "object", Kind: "container", Name: "new", To: "created", Reason: statusdir.EventAppeared},
			{Type: "object", Kind: "container", Name: "web", From: "running", To: "running", Reason: statusdir.EventRestarted, Message: "started again at t2"},
			{Type: "correction", Kind: "container", Name: "web", To: "running", Reason: statusdir.ReasonInState,
				Message: "brought back to its declared state running (1 corrections since the daemon started)"},
			{Type: "object", Kind: "volume", Name: "data", Reason: statusdir.EventVanished},
		}},
		{name: "a state change", before: settled, after: with(func(o *observed) {
			o.objects = objects(t, objs, map[string]map[string][]byte{statusdir.ContainersDir: {"web": container("c1", "exited", "t1", 0)}})
		}), want: []statusdir.Event{{Type: "object", Kind: "container", Name: "web", From: "running", To: "exited", Reason: statusdir.EventStateChanged}}},
		{name: "unknown content keeps what was seen", before: settled, after: with(func(o *observed) {
			o.objects = objects(t, objs, map[string]map[string][]byte{statusdir.ContainersDir: {"web": nil}})
		})},
		{name: "the engine going away reports no object", before: settled, after: with(func(o *observed) {
			o.objects = mirrorObjects(objs, EngineResult{Reason: statusdir.EngineStopped, Mirrors: []statusdir.Mirror{statusdir.ClearDir(statusdir.ContainersDir)}})
		})},
		{name: "connecting reports no object as new", before: with(func(o *observed) { o.objects = nil }), after: settled},
		{name: "a pull starts", before: with(func(o *observed) {
			o.objects = objects(t, objs, map[string]map[string][]byte{statusdir.ImagesDir: {"busybox:1.36": []byte("tag: busybox:1.36\n")}})
		}), after: settled, want: []statusdir.Event{{Type: "action", Kind: "image", Name: "busybox:1.36", Reason: statusdir.EventActionPull}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := diffPass(7, now, tt.before, tt.after)
			for i := range tt.want {
				tt.want[i].Time, tt.want[i].Generation = now, 7
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}
