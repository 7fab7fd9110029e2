package docker

import (
	"slices"
	"testing"

	"github.com/rddproject/rdd/effect"
	"github.com/rddproject/rdd/schema"
	"github.com/rddproject/rdd/statusdir"
)

func TestPlanObjects(t *testing.T) {
	cs := func(kv ...string) map[string]schema.Container {
		m := map[string]schema.Container{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = schema.Container{State: kv[i+1]}
		}
		return m
	}
	observed := observedObjects{
		Containers: map[string]string{"web": "running", "db": "exited", "cache": "paused", "job": "created", "old": "dead", "boot": "restarting"},
		Volumes:    map[string]observedVolume{"data": {Driver: "local"}, "logs": {Driver: "local", Labels: map[string]string{"team": "a"}}},
		Images:     map[string]struct{}{"busybox:latest": {}, "alpine:3.20": {}},
	}
	for _, tc := range []struct {
		name string
		d    schema.Desired
		o    observedObjects
		want []effect.Change
	}{
		{"in state: no change", schema.Desired{Containers: cs("web", "running", "db", "stopped", "cache", "paused", "job", "stopped")}, observed, nil},
		{"start", schema.Desired{Containers: cs("db", "running")}, observed, []effect.Change{
			{Key: "containers.db.state", From: "exited", To: "running", Effect: effect.Live, Action: "start", Why: "the engine starts it"}}},
		{"stop", schema.Desired{Containers: cs("web", "stopped")}, observed, []effect.Change{
			{Key: "containers.web.state", From: "running", To: "stopped", Effect: effect.Live, Action: "stop", Why: "the engine stops it"}}},
		{"pause", schema.Desired{Containers: cs("web", "paused")}, observed, []effect.Change{
			{Key: "containers.web.state", From: "running", To: "paused", Effect: effect.Live, Action: "pause", Why: "the engine pauses it"}}},
		{"unpause", schema.Desired{Containers: cs("cache", "running")}, observed, []effect.Change{
			{Key: "containers.cache.state", From: "paused", To: "running", Effect: effect.Live, Action: "unpause", Why: "the engine unpauses it"}}},
		{"paused to absent: three steps", schema.Desired{Containers: cs("cache", "absent")}, observed, []effect.Change{
			{Key: "containers.cache.state", From: "paused", To: "absent", Effect: effect.Live, Action: "unpause", Why: "the engine unpauses it, then stops it, then removes it"}}},
		{"remove", schema.Desired{Containers: cs("job", "absent")}, observed, []effect.Change{
			{Key: "containers.job.state", From: "created", To: "absent", Effect: effect.Live, Action: "remove", Why: "the engine removes it"}}},
		{"missing: no action", schema.Desired{Containers: cs("nope", "running", "gone", "absent")}, observed, []effect.Change{
			{Key: "containers.nope.state", From: "missing", To: "running", Effect: effect.Live, Why: "it does not exist; rdd does not create containers: create it, and rdd brings it to running"}}},
		{"dead", schema.Desired{Containers: cs("old", "running")}, observed, []effect.Change{
			{Key: "containers.old.state", From: "dead", To: "running", Effect: effect.Live, Why: "rdd cannot bring a container from dead to running"}}},
		{"restarting: wait", schema.Desired{Containers: cs("boot", "paused")}, observed, []effect.Change{
			{Key: "containers.boot.state", From: "restarting", To: "paused", Effect: effect.Live, Why: "dockerd is moving it; rdd acts once it settles"}}},
		{"volumes", schema.Desired{Volumes: map[string]schema.Volume{
			"data": {State: "absent"}, "new": {State: "present"}, "logs": {State: "present", Labels: map[string]string{"team": "b"}},
			"fine": {State: "absent"}}}, observed, []effect.Change{
			{Key: "volumes.data.state", From: "present", To: "absent", Effect: effect.Live, Action: "remove", Why: "the engine removes it (once no container holds it)"},
			{Key: "volumes.logs.state", From: "present", To: "present", Effect: effect.Live, Why: `exists with label team="a" (declared "b"); rdd does not recreate a volume (its data would be lost)`},
			{Key: "volumes.new.state", From: "missing", To: "present", Effect: effect.Live, Action: "create", Why: "the engine creates it"}}},
		{"images, normalized", schema.Desired{Images: map[string]schema.Image{
			"busybox": {State: "absent"}, "alpine:3.20": {State: "present"}, "nginx:1": {State: "present"}}}, observed, []effect.Change{
			{Key: "images.busybox.state", From: "present", To: "absent", Effect: effect.Live, Action: "remove", Why: "the engine removes the tag (once no container uses it)"},
			{Key: `images."nginx:1".state`, From: "missing", To: "present", Effect: effect.Live, Action: "pull", Why: "the engine pulls it"}}},
		{"nothing known", schema.Desired{Containers: cs("web", "running"), Images: map[string]schema.Image{"busybox": {State: "present"}}}, observedObjects{}, []effect.Change{
			{Key: "containers.web.state", From: "unknown", To: "running", Effect: effect.Live, Why: "the engine's containers are not known yet"},
			{Key: "images.busybox.state", From: "unknown", To: "present", Effect: effect.Live, Why: "the engine's images are not known yet"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := planObjects(&tc.d, tc.o)
			if !slices.Equal(got, tc.want) {
				t.Errorf("planObjects =\n%+v\nwant\n%+v", got, tc.want)
			}
			for _, c := range got {
				if !c.Effect.Valid() {
					t.Errorf("%s: effect %q", c.Key, c.Effect)
				}
			}
		})
	}
}

// The plan from status/ files, without a daemon: the same as from the
// mirror for the same objects. A declared container's MissingFile is not
// a container.
func TestObservedFromStatus(t *testing.T) {
	obj := func(name string, v any) statusdir.Object {
		data, err := statusdir.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return statusdir.Object{File: statusdir.ObjectFile(name), Name: name, Data: data}
	}
	containers := []statusdir.Object{
		obj("web", statusdir.ContainerFile{ID: "1", Name: "web", State: "exited"}),
		obj("ghost", statusdir.MissingFile{Name: "ghost", Declaration: statusdir.Declaration{Declared: true, Desired: "running"}}),
	}
	volumes := []statusdir.Object{obj("data", statusdir.VolumeFile{Name: "data", Driver: "local"})}
	images := []statusdir.Object{obj("busybox:latest", statusdir.ImageFile{ID: "sha256:1", Tag: "busybox:latest"})}
	o, err := observedFromStatus(containers, volumes, images)
	if err != nil {
		t.Fatal(err)
	}
	d := schema.Desired{
		Containers: map[string]schema.Container{"web": {State: "running"}, "ghost": {State: "running"}},
		Volumes:    map[string]schema.Volume{"data": {State: "absent"}},
		Images:     map[string]schema.Image{"busybox": {State: "present"}},
	}
	var keys, actions []string
	for _, c := range planObjects(&d, o) {
		keys, actions = append(keys, c.Key+" "+c.From), append(actions, c.Action)
	}
	if want := []string{"containers.ghost.state missing", "containers.web.state exited", "volumes.data.state present"}; !slices.Equal(keys, want) {
		t.Errorf("keys = %q, want %q", keys, want)
	}
	if want := []string{"", "start", "remove"}; !slices.Equal(actions, want) {
		t.Errorf("actions = %q, want %q", actions, want)
	}
	// A bad file is an error naming it.
	bad := []statusdir.Object{{File: "x.yaml", Data: []byte("id: [")}}
	if _, err := observedFromStatus(bad, nil, nil); err == nil {
		t.Error("a bad file gave no error")
	}
}
