package docker

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"

	"github.com/rddproject/rdd/reconciler"
	"github.com/rddproject/rdd/schema"
	"github.com/rddproject/rdd/statusdir"
)

func (e *Engine) enforceVolumes(ctx context.Context, c *conn, want map[string]schema.Volume, now time.Time) ([]objectStatus, error) {
	forgetRetries(e.decl, kindVolumes, want)
	if len(want) == 0 {
		return nil, nil
	}
	m := c.mirror
	byName := make(map[string]*volume.Volume, len(m.volumes))
	for _, v := range m.volumes {
		byName[v.Name] = v
	}
	names := slices.Sorted(maps.Keys(want))
	out := make([]objectStatus, len(names))
	acted := false
	for i, name := range names {
		w := want[name]
		st := &out[i]
		*st = objectStatus{kind: kindVolumes, name: name, desired: w.State}
		if m.volumes == nil {
			st.set(reconciler.OutcomePending, statusdir.ReasonNotObserved, "the engine's volumes are not listed yet")
			continue
		}
		v := byName[name]
		st.exists, st.vol = v != nil, v
		key := kindVolumes + "/" + name
		r := e.decl.retries[key]
		switch w.State {
		case "present":
			if v != nil {
				delete(e.decl.retries, key)
				if msg := volumeMismatch(v, w); msg != "" {
					st.set(reconciler.OutcomeFailed, statusdir.ReasonConflict, "%s; rdd does not recreate a volume (its data would be lost): remove it, and rdd creates it as declared", msg)
				} else {
					st.set(reconciler.OutcomeDone, statusdir.ReasonInState, "")
				}
				continue
			}
			if r != nil && now.Before(r.at) {
				st.requeue = r.at
				st.set(reconciler.OutcomeFailed, statusdir.ReasonActionFailed, "%v; rdd tries again at %s", r.err, stamp(r.at))
				continue
			}
			cctx, cancel := context.WithTimeout(ctx, actionTimeout)
			created, err := c.cli.VolumeCreate(cctx, volume.CreateOptions{Name: name, Driver: w.Driver, Labels: w.Labels})
			cancel()
			if err != nil {
				failed(e.decl.retries, key, fmt.Errorf("create: %w", err), now)
				r = e.decl.retries[key]
				st.requeue = r.at
				st.set(reconciler.OutcomeFailed, statusdir.ReasonActionFailed, "%v; rdd tries again at %s", r.err, stamp(r.at))
				continue
			}
			delete(e.decl.retries, key)
			e.log.Info("created declared volume", "name", name, "driver", created.Driver)
			acted = true
			st.exists, st.vol = true, &created
			st.set(reconciler.OutcomeDone, statusdir.ReasonInState, "")
		case "absent":
			if v == nil {
				delete(e.decl.retries, key)
				st.set(reconciler.OutcomeDone, statusdir.ReasonInState, "")
				continue
			}
			if e.removeDeclared(ctx, c, st, removal{kind: kindVolumes, name: name, id: v.CreatedAt}, volumeHolders(m, name), now) {
				acted = true
			}
		default:
			st.set(reconciler.OutcomeFailed, statusdir.ReasonUnexpected, "declared state %q is not present or absent", w.State)
		}
	}
	if acted {
		if err := e.syncVolumes(ctx, c, now); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// volumeMismatch says how an existing volume differs from its declaration:
// another driver, or a declared label missing or different. Labels the
// volume has beyond the declared ones are its own business.
func volumeMismatch(v *volume.Volume, w schema.Volume) string {
	var diffs []string
	if w.Driver != "" && w.Driver != v.Driver {
		diffs = append(diffs, fmt.Sprintf("driver %q (declared %q)", v.Driver, w.Driver))
	}
	for _, k := range slices.Sorted(maps.Keys(w.Labels)) {
		if got, ok := v.Labels[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("no label %s (declared %q)", k, w.Labels[k]))
		} else if got != w.Labels[k] {
			diffs = append(diffs, fmt.Sprintf("label %s=%q (declared %q)", k, got, w.Labels[k]))
		}
	}
	if len(diffs) == 0 {
		return ""
	}
	return "exists with " + strings.Join(diffs, ", ")
}

// volumeHolders are the containers, by name, that mount the volume: while
// there is one, dockerd refuses to remove it.
func volumeHolders(m *mirror, name string) []string {
	var out []string
	for _, s := range m.containers {
		for _, mp := range s.Mounts {
			if mp.Type == mount.TypeVolume && mp.Name == name {
				out = append(out, containerName(s))
				break
			}
		}
	}
	slices.Sort(out)
	return out
}
