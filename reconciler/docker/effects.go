package docker

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/docker/docker/api/types/volume"
	"go.yaml.in/yaml/v3"

	"github.com/rddproject/rdd/effect"
	"github.com/rddproject/rdd/schema"
	"github.com/rddproject/rdd/statusdir"
)

// observedObjects is what is known of the engine's objects that
// desired.yaml can declare, as a plan compares them: from the running
// engine's mirror (Engine.Plan) or from the object files of status/
// without a daemon (observedFromStatus). A kind whose map is nil is not
// known (never listed); its declared objects are planned from "unknown".
type observedObjects struct {
	Containers map[string]string         // state by name
	Volumes    map[string]observedVolume // by name
	Images     map[string]struct{}       // by normalized reference (busybox:latest), tags and repo digests
}

// observedVolume is what a plan compares of a volume.
type observedVolume struct {
	Driver string
	Labels map[string]string
}

// Plan lists the live changes that the declared containers, volumes and
// images of d need, compared with this engine's mirror as of its last
// pass; nil while it is not connected (nothing is known to compare with).
// It must be called from the goroutine that calls Reconcile.
func (e *Engine) Plan(d *schema.Desired) []effect.Change {
	c := e.current()
	if c == nil {
		return planObjects(d, observedObjects{})
	}
	m := c.mirror
	var o observedObjects
	if m.containers != nil {
		o.Containers = make(map[string]string, len(m.containers))
		for _, s := range m.containers {
			o.Containers[containerName(s)] = observedState(m, s)
		}
	}
	if m.volumes != nil {
		o.Volumes = make(map[string]observedVolume, len(m.volumes))
		for _, v := range m.volumes {
			o.Volumes[v.Name] = observedVolume{Driver: v.Driver, Labels: v.Labels}
		}
	}
	if m.images != nil {
		o.Images = map[string]struct{}{}
		for _, img := range m.images {
			for _, ref := range slices.Concat(img.RepoTags, img.RepoDigests) {
				o.Images[ref] = struct{}{}
			}
		}
	}
	return planObjects(d, o)
}

// StatusPlanner plans declared objects without a daemon, from the object
// files in the status directory Root (reconciler.Planner, for `rdd plan`).
// What it compares with is as old as those files.
type StatusPlanner struct {
	Root string
}

// Plan is planObjects over the object files of status/. A file that cannot
// be read leaves its kind unknown, rather than planning from a part of it.
func (p StatusPlanner) Plan(d *schema.Desired) []effect.Change {
	read := func(dir string) []statusdir.Object {
		objs, err := statusdir.ReadObjects(p.Root, dir)
		if err != nil {
			return nil
		}
		if objs == nil {
			objs = []statusdir.Object{} // listed, and empty
		}
		return objs
	}
	var o observedObjects
	if x, err := observedFromStatus(read(statusdir.ContainersDir), nil, nil); err == nil {
		o.Containers = x.Containers
	}
	if x, err := observedFromStatus(nil, read(statusdir.VolumesDir), nil); err == nil {
		o.Volumes = x.Volumes
	}
	if x, err := observedFromStatus(nil, nil, read(statusdir.ImagesDir)); err == nil {
		o.Images = x.Images
	}
	return planObjects(d, o)
}

// observedFromStatus reads observedObjects from the object files of
// status/, as statusdir.ReadObjects returns them (nil for a directory that
// is not there: that kind is not known). Files of declared objects that do not
// exist (a MissingFile: no id) are not objects. A file that cannot be read
// or decoded is an error naming it.
func observedFromStatus(containers, volumes, images []statusdir.Object) (observedObjects, error) {
	var o observedObjects
	if containers != nil {
		o.Containers = map[string]string{}
		for _, obj := range containers {
			var f statusdir.ContainerFile
			if err := decodeObject(statusdir.ContainersDir, obj, &f); err != nil {
				return observedObjects{}, err
			}
			if f.ID != "" {
				o.Containers[f.Name] = f.State
			}
		}
	}
	if volumes != nil {
		o.Volumes = map[string]observedVolume{}
		for _, obj := range volumes {
			var f statusdir.VolumeFile
			if err := decodeObject(statusdir.VolumesDir, obj, &f); err != nil {
				return observedObjects{}, err
			}
			if f.Driver != "" {
				o.Volumes[f.Name] = observedVolume{Driver: f.Driver, Labels: f.Labels}
			}
		}
	}
	if images != nil {
		o.Images = map[string]struct{}{}
		for _, obj := range images {
			var f statusdir.ImageFile
			if err := decodeObject(statusdir.ImagesDir, obj, &f); err != nil {
				return observedObjects{}, err
			}
			if f.ID == "" {
				continue
			}
			if f.Tag != "" {
				o.Images[f.Tag] = struct{}{}
			}
			for _, d := range f.RepoDigests {
				o.Images[d] = struct{}{}
			}
		}
	}
	return o, nil
}

func decodeObject(sub string, obj statusdir.Object, v any) error {
	if obj.Err != nil {
		return obj.Err
	}
	if err := yaml.Unmarshal(obj.Data, v); err != nil {
		return fmt.Errorf("read status file %s/%s: %w", sub, obj.File, err)
	}
	return nil
}

// stateUnknown is the From of an object whose kind was never listed.
const stateUnknown = "unknown"

// planObjects is the pure plan of declared objects: for each declared
// container, volume and image of d whose observed state differs from the
// declared one, a live change keyed containers.NAME.state (volumes.,
// images.), From the observed state ("missing" when it does not exist,
// "unknown" when its kind is not known), To the declared one, and the
// action the engine takes first: for containers the state table's
// (start, stop, pause, unpause, remove); create for a missing volume,
// pull for a missing image, remove for either declared absent. A change
// the engine cannot make (a container that does not exist: rdd does not
// create containers; a dead one; a volume that exists otherwise than
// declared) has no action, and its Reason says why. Sorted by key.
func planObjects(d *schema.Desired, o observedObjects) []effect.Change {
	var out []effect.Change
	for _, name := range slices.Sorted(maps.Keys(d.Containers)) {
		if c, ok := planContainer(name, d.Containers[name].State, o.Containers); ok {
			out = append(out, c)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(d.Volumes)) {
		if c, ok := planVolume(name, d.Volumes[name], o.Volumes); ok {
			out = append(out, c)
		}
	}
	for _, ref := range slices.Sorted(maps.Keys(d.Images)) {
		if c, ok := planImage(ref, d.Images[ref].State, o.Images); ok {
			out = append(out, c)
		}
	}
	return out
}

func objectChange(kind, name, from, to, action, reason string) effect.Change {
	return effect.Change{Key: schema.FormatPath([]string{kind, name, "state"}), From: from, To: to,
		Effect: effect.Live, Action: action, Why: reason}
}

func planContainer(name, desired string, observed map[string]string) (effect.Change, bool) {
	if observed == nil {
		return objectChange(kindContainers, name, stateUnknown, desired, "", "the engine's containers are not known yet"), true
	}
	state, exists := observed[name]
	from := state
	if !exists {
		state, from = stateMissing, "missing"
	}
	a := nextAction(desired, state)
	switch a {
	case actNone:
		return effect.Change{}, false
	case actWait:
		return objectChange(kindContainers, name, from, desired, "", "dockerd is moving it; rdd acts once it settles"), true
	case actNotFound:
		return objectChange(kindContainers, name, from, desired, "", "it does not exist; rdd does not create containers: create it, and rdd brings it to "+desired), true
	case actFail:
		return objectChange(kindContainers, name, from, desired, "", fmt.Sprintf("rdd cannot bring a container from %s to %s", describeState(state), desired)), true
	}
	steps := containerSteps(desired, state)
	reason := "the engine " + strings.Join(steps, "s it, then ") + "s it"
	return objectChange(kindContainers, name, from, desired, a.String(), reason), true
}

// containerSteps are the actions of the state table from observed to
// desired, each followed by the state it leads to.
func containerSteps(desired, state string) []string {
	var steps []string
	for range maxSteps {
		a := nextAction(desired, state)
		if !a.engineCall() {
			break
		}
		steps = append(steps, a.String())
		switch a {
		case actStart, actUnpause:
			state = stateRunning
		case actStop:
			state = stateExited
		case actPause:
			state = statePaused
		case actRemove:
			state = stateMissing
		}
	}
	return steps
}

func planVolume(name string, w schema.Volume, observed map[string]observedVolume) (effect.Change, bool) {
	if observed == nil {
		return objectChange(kindVolumes, name, stateUnknown, w.State, "", "the engine's volumes are not known yet"), true
	}
	v, exists := observed[name]
	switch {
	case w.State == "present" && !exists:
		return objectChange(kindVolumes, name, "missing", w.State, "create", "the engine creates it"), true
	case w.State == "absent" && exists:
		return objectChange(kindVolumes, name, "present", w.State, "remove", "the engine removes it (once no container holds it)"), true
	case w.State == "present":
		if msg := volumeMismatch(&volume.Volume{Driver: v.Driver, Labels: v.Labels}, w); msg != "" {
			return objectChange(kindVolumes, name, "present", w.State, "", msg+"; rdd does not recreate a volume (its data would be lost)"), true
		}
	}
	return effect.Change{}, false
}

func planImage(ref, desired string, observed map[string]struct{}) (effect.Change, bool) {
	if observed == nil {
		return objectChange(kindImages, ref, stateUnknown, desired, "", "the engine's images are not known yet"), true
	}
	key, err := imageKey(ref)
	if err != nil {
		return objectChange(kindImages, ref, stateUnknown, desired, "", fmt.Sprintf("not an image reference dockerd accepts: %v", err)), true
	}
	_, exists := observed[key]
	switch {
	case desired == "present" && !exists:
		return objectChange(kindImages, ref, "missing", desired, "pull", "the engine pulls it"), true
	case desired == "absent" && exists:
		return objectChange(kindImages, ref, "present", desired, "remove", "the engine removes the tag (once no container uses it)"), true
	}
	return effect.Change{}, false
}
