package reconciler

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/rddproject/rdd/history"
	"github.com/rddproject/rdd/statusdir"
)

// Events are derived, never reported by drivers: the loop compares what it
// recorded after the last pass (conditions, verdict, the engine's object
// files) with what this pass wrote, and appends one line per difference to
// status/events.jsonl. A pass that changes nothing appends nothing. Only
// the loop's goroutine touches eventState.

// eventState is what the loop last recorded.
type eventState struct {
	pending []statusdir.Event // not appended yet: a new digest, or a batch whose append failed
	// The history writes of this pass, made once its marker is written: a
	// new entry, and a verdict.
	historyAdd     *history.Entry
	historyData    []byte
	historyVerdict *history.Entry // only Generation, Verdict, Reason, Message
	conds          []statusdir.Condition
	marker         string           // ReadyMarker, FailedMarker, or "" before the first verdict
	verdict        statusdir.Marker // the verdict last recorded
	// objects is what the engine's object files said, by status
	// subdirectory and name; nil while the engine was not connected, so
	// that connecting reports no object as new.
	objects map[string]map[string]objectSeen
}

// maxPending bounds the events kept for a later append when appends fail.
const maxPending = 1000

// objectSeen is what events need of one object file.
type objectSeen struct {
	data        []byte // the file's bytes, to skip parsing an unchanged one
	exists      bool   // false for the file of a declared object that does not exist
	id          string
	state       string // containers: created, running, exited...
	started     string // containers: when it last started
	desired     string // the declared state, for declared objects
	reason      string // the declared object's condition reason
	corrections int
}

// objectFields are the fields of object files that events look at: every
// kind of file (containers, images, volumes, and the files of declared
// objects that do not exist) decodes into it.
type objectFields struct {
	ID          string `yaml:"id"`
	State       string `yaml:"state"`
	Started     string `yaml:"started"`
	Driver      string `yaml:"driver"` // volumes have no id
	Desired     string `yaml:"desired"`
	Corrections int    `yaml:"corrections"`
	Condition   *struct {
		Reason string `yaml:"reason"`
	} `yaml:"condition"`
}

func parseObject(data []byte) objectSeen {
	var f objectFields
	_ = yaml.Unmarshal(data, &f) // a file that does not parse shows as an object without fields
	o := objectSeen{data: data, exists: f.ID != "" || f.Driver != "", id: f.ID, state: f.State,
		started: f.Started, desired: f.Desired, corrections: f.Corrections}
	if f.Condition != nil {
		o.reason = f.Condition.Reason
	}
	return o
}

// objectKinds names the kind of the objects in each status subdirectory
// that events report.
var objectKinds = map[string]string{
	statusdir.ContainersDir: "container",
	statusdir.ImagesDir:     "image",
	statusdir.VolumesDir:    "volume",
}

// desiredEvent queues the event of a new digest, prev being the one
// before; it goes out with the rest of the pass.
func (l *Loop) desiredEvent(prev string) {
	if l.cfg.Events == nil {
		return
	}
	// No time yet: it takes the time of the pass, like the events after it.
	l.ev.pending = append(l.ev.pending, statusdir.Event{Generation: l.generation,
		Type: statusdir.EventDesired, From: prev, To: l.digest})
}

// saveHistory stores data, the valid content just applied, as the history
// entry of its generation, once the pass's marker is written
// (flushHistory): its synced writes cost more than the rest of a pass, and
// would delay the verdict.
func (l *Loop) saveHistory(data []byte) {
	if l.cfg.History == nil {
		return
	}
	l.ev.historyAdd = &history.Entry{Generation: l.applied.Generation, Digest: l.applied.Digest, Time: l.cfg.Now()}
	l.ev.historyData = data
}

// flushHistory queues the history writes of the pass, after its marker,
// to the history writer's own goroutine (the loop never waits for their
// synced writes). A verdict reached in the pass that applied the content
// goes into the new entry: one write, not two. A failure is logged by the
// writer: history is for people, and the loop goes on without it.
func (l *Loop) flushHistory() {
	add, data, v := l.ev.historyAdd, l.ev.historyData, l.ev.historyVerdict
	l.ev.historyAdd, l.ev.historyData, l.ev.historyVerdict = nil, nil, nil
	if add != nil {
		if v != nil && v.Generation == add.Generation {
			add.Verdict, add.Reason, add.Message = v.Verdict, v.Reason, firstLine(v.Message)
			v = nil
		}
		l.cfg.History.Add(*add, map[string][]byte{history.DesiredPath: data})
	}
	if v != nil {
		l.cfg.History.SetVerdict(v.Generation, v.Verdict, v.Reason, v.Message)
	}
}

// recordPass appends the events of the pass just written, and records its
// verdict in history.
func (l *Loop) recordPass(now time.Time, vm VMResult, eng EngineResult, v Verdict) error {
	after := observed{conds: l.conds, vmMessage: vm.Message,
		objects: mirrorObjects(l.ev.objects, eng)}
	if v.Marker != "" {
		after.marker = v.Marker
		after.verdict = statusdir.Marker{Digest: l.digest, Generation: l.generation, Reason: v.Reason, Message: v.Message}
	} else {
		after.marker, after.verdict = l.ev.marker, l.ev.verdict
	}
	before := observed{conds: l.ev.conds, marker: l.ev.marker, verdict: l.ev.verdict, objects: l.ev.objects}
	evs := diffPass(l.generation, now, before, after)
	l.ev.conds, l.ev.marker, l.ev.verdict, l.ev.objects = after.conds, after.marker, after.verdict, after.objects

	if l.cfg.History != nil && v.Marker != "" && (v.Marker != before.marker || !sameMarker(after.verdict, before.verdict)) {
		l.ev.historyVerdict = &history.Entry{Generation: l.generation, Verdict: v.Marker, Reason: v.Reason, Message: v.Message}
	}
	if l.cfg.Events == nil {
		return nil
	}
	for i := range l.ev.pending {
		if l.ev.pending[i].Time.IsZero() {
			l.ev.pending[i].Time = now
		}
	}
	batch := append(l.ev.pending, evs...)
	l.ev.pending = nil
	if err := l.cfg.Events.Append(batch); err != nil {
		l.ev.pending = batch[max(len(batch)-maxPending, 0):]
		return err
	}
	return nil
}

func sameMarker(a, b statusdir.Marker) bool {
	return a.Digest == b.Digest && a.Generation == b.Generation && a.Reason == b.Reason && a.Message == b.Message
}

// observed is what events compare between two passes.
type observed struct {
	conds     []statusdir.Condition
	marker    string
	verdict   statusdir.Marker
	objects   map[string]map[string]objectSeen
	vmMessage string // the VM driver's message, which tells a restart from a recreate
}

// mirrorObjects is what the engine's object files say after a pass, given
// what they said before: a subdirectory the engine left out, and a file
// whose content it does not know (nil), keep what was seen. While the
// engine is not connected there is nothing to compare (nil).
func mirrorObjects(prev map[string]map[string]objectSeen, eng EngineResult) map[string]map[string]objectSeen {
	if eng.Reason != statusdir.EngineConnected {
		return nil
	}
	mirrors := map[string]statusdir.Mirror{}
	for _, m := range eng.Mirrors {
		mirrors[m.Dir] = m
	}
	out := make(map[string]map[string]objectSeen, len(objectKinds))
	for sub := range objectKinds {
		mir, ok := mirrors[sub]
		if !ok || mir.Leave {
			out[sub] = prev[sub]
			continue
		}
		was := prev[sub]
		m := make(map[string]objectSeen, len(mir.Files))
		for name, e := range mir.Files {
			data := e.Data
			old, had := was[name]
			switch {
			case e.Keep && had:
				m[name] = old
			case e.Keep:
			case had && bytes.Equal(old.data, data):
				m[name] = old
			default:
				m[name] = parseObject(data)
			}
		}
		out[sub] = m
	}
	return out
}

// diffPass is the list of events between two passes, in the order a
// reader wants them: VM actions, conditions, objects, corrections and
// pulls, and the verdict last. It is a pure function of its arguments.
func diffPass(gen int64, now time.Time, before, after observed) []statusdir.Event {
	var evs []statusdir.Event
	add := func(e statusdir.Event) {
		e.Time, e.Generation = now, gen
		evs = append(evs, e)
	}

	// VM actions, from the Running condition's reason.
	oldRun, _ := statusdir.FindCondition(before.conds, statusdir.CondRunning)
	if run, ok := statusdir.FindCondition(after.conds, statusdir.CondRunning); ok && run.Reason != oldRun.Reason {
		if act := vmAction(run.Reason, after.vmMessage); act != "" {
			add(statusdir.Event{Type: statusdir.EventAction, Kind: "vm", Reason: act, Message: run.Message})
		}
	}

	// Conditions that changed status or reason, or went away.
	for _, c := range after.conds {
		old, ok := statusdir.FindCondition(before.conds, c.Type)
		if ok && old.Status == c.Status && old.Reason == c.Reason {
			continue
		}
		add(statusdir.Event{Type: statusdir.EventCondition, Name: c.Type, From: old.Status, To: c.Status, Reason: c.Reason, Message: c.Message})
	}
	for _, old := range before.conds {
		if _, ok := statusdir.FindCondition(after.conds, old.Type); !ok {
			add(statusdir.Event{Type: statusdir.EventCondition, Name: old.Type, From: old.Status, Reason: statusdir.EventRemoved,
				Message: "the condition no longer applies"})
		}
	}

	// Objects: only between two passes that both saw the engine.
	if before.objects != nil && after.objects != nil {
		for _, sub := range slices.Sorted(maps.Keys(objectKinds)) {
			kind := objectKinds[sub]
			was, now := before.objects[sub], after.objects[sub]
			names := slices.Sorted(maps.Keys(was))
			for name := range now {
				if _, ok := was[name]; !ok {
					names = append(names, name)
				}
			}
			slices.Sort(names)
			for _, name := range names {
				for _, e := range objectEvents(kind, name, was[name], now[name]) {
					add(e)
				}
			}
		}
	}

	// The verdict, when it is new.
	if after.marker != "" && (after.marker != before.marker || !sameMarker(after.verdict, before.verdict)) {
		add(statusdir.Event{Type: statusdir.EventVerdict, From: before.marker, To: after.marker,
			Reason: after.verdict.Reason, Message: after.verdict.Message})
	}
	return evs
}

// vmAction is the action that a Running condition reason starts; "" for a
// reason that is an outcome, not an action.
func vmAction(reason, message string) string {
	switch reason {
	case statusdir.VMStarting:
		return statusdir.EventActionStart
	case statusdir.VMStopping:
		return statusdir.EventActionStop
	case statusdir.VMRestarting:
		if strings.HasPrefix(message, "recreating ") {
			return statusdir.EventActionRecreate
		}
		return statusdir.EventActionRestart
	}
	return ""
}

// objectEvents compares one object file before and after a pass (zero
// values: no file).
func objectEvents(kind, name string, was, now objectSeen) []statusdir.Event {
	var evs []statusdir.Event
	obj := func(reason, from, to, msg string) {
		evs = append(evs, statusdir.Event{Type: statusdir.EventObject, Kind: kind, Name: name, From: from, To: to, Reason: reason, Message: msg})
	}
	switch {
	case !was.exists && now.exists:
		obj(statusdir.EventAppeared, "", now.state, "")
	case was.exists && !now.exists:
		obj(statusdir.EventVanished, was.state, "", "")
	case was.exists && was.id != now.id:
		obj(statusdir.EventReplaced, was.state, now.state, fmt.Sprintf("%s is another %s now (id %s)", name, kind, shortID(now.id)))
	case was.exists && was.state != now.state:
		obj(statusdir.EventStateChanged, was.state, now.state, "")
	case was.exists && was.started != now.started && now.started != "":
		obj(statusdir.EventRestarted, was.state, now.state, fmt.Sprintf("started again at %s", now.started))
	}
	if now.corrections > was.corrections {
		evs = append(evs, statusdir.Event{Type: statusdir.EventCorrection, Kind: kind, Name: name, To: now.desired, Reason: now.reason,
			Message: fmt.Sprintf("brought back to its declared state %s (%d corrections since the daemon started)", now.desired, now.corrections)})
	}
	if kind == "image" && now.reason == statusdir.ReasonPulling && was.reason != statusdir.ReasonPulling {
		evs = append(evs, statusdir.Event{Type: statusdir.EventAction, Kind: kind, Name: name, Reason: statusdir.EventActionPull})
	}
	return evs
}

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	return id[:min(len(id), 12)]
}
