package docker

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/volume"

	"github.com/rddproject/rdd/reconciler"
	"github.com/rddproject/rdd/statusdir"
)

// removal names one engine object to delete: its kind, its name, and what
// tells this object from a later one of the same name (a container's ID, a
// volume's creation time, the ID of the image a tag points to).
type removal struct {
	kind, name, id string
}

// remove is the one code path that deletes an engine object, of any kind
// (review I2). A delete that succeeded is remembered until the engine's
// list no longer shows the object, so that a retry, or a pass that still
// sees it in a list taken before the delete, never deletes it again; and a
// delete answered "not found" is one that already happened. It never
// forces: a container is stopped first, and a volume or image in use is
// reported, not taken away from its containers.
func (e *Engine) remove(ctx context.Context, c *conn, r removal) error {
	e.decl.mu.Lock()
	_, done := e.decl.removed[r]
	e.decl.mu.Unlock()
	if done {
		return nil
	}
	var err error
	switch r.kind {
	case kindContainers:
		err = c.cli.ContainerRemove(ctx, r.id, container.RemoveOptions{})
	case kindVolumes:
		err = c.cli.VolumeRemove(ctx, r.name, false)
	case kindImages:
		_, err = c.cli.ImageRemove(ctx, r.name, image.RemoveOptions{PruneChildren: true})
	default:
		err = fmt.Errorf("remove: unknown kind %q", r.kind)
	}
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove: %w", err)
	}
	e.decl.mu.Lock()
	e.decl.removed[r] = struct{}{}
	e.decl.mu.Unlock()
	e.log.Info("removed declared-absent object", "kind", r.kind, "name", r.name)
	return nil
}

// removeDeclared takes a declared-absent volume or image that exists away,
// and puts in st where that leaves it: in use while holders (containers,
// by name) still use it, waiting for the retry of a delete that failed, or
// gone. It reports whether it deleted the object: the list of its kind is
// then out of date.
func (e *Engine) removeDeclared(ctx context.Context, c *conn, st *objectStatus, r removal, holders []string, now time.Time) bool {
	if len(holders) > 0 {
		st.set(reconciler.OutcomeFailed, statusdir.ReasonInUse, "is in use by container(s) %s; rdd removes it once they are gone",
			strings.Join(holders, ", "))
		return false
	}
	key := r.kind + "/" + r.name
	if rt := e.decl.retries[key]; rt != nil && now.Before(rt.at) {
		st.requeue = rt.at
		st.set(reconciler.OutcomeFailed, reasonOf(rt.err), "%v; rdd tries again at %s", rt.err, stamp(rt.at))
		return false
	}
	rctx, cancel := context.WithTimeout(ctx, actionTimeout)
	err := e.remove(rctx, c, r)
	cancel()
	if err != nil {
		failed(e.decl.retries, key, err, now)
		rt := e.decl.retries[key]
		st.requeue = rt.at
		st.set(reconciler.OutcomeFailed, reasonOf(err), "%v; rdd tries again at %s", err, stamp(rt.at))
		return false
	}
	delete(e.decl.retries, key)
	st.exists, st.vol, st.img = false, nil, nil
	st.set(reconciler.OutcomeDone, statusdir.ReasonInState, "")
	return true
}

// reasonOf is the condition reason of a failed removal: InUse when dockerd
// says something still uses the object.
func reasonOf(err error) string {
	if cerrdefs.IsConflict(err) {
		return statusdir.ReasonInUse
	}
	return statusdir.ReasonActionFailed
}

// prune forgets the deletes whose objects the engine's lists no longer
// show: from then on, an object of that name is another one.
func (d *declared) prune(m *mirror) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for r := range d.removed {
		switch r.kind {
		case kindContainers:
			if m.containers == nil {
				continue
			}
			if _, ok := m.containers[r.id]; !ok {
				delete(d.removed, r)
			}
		case kindVolumes:
			if m.volumes == nil {
				continue
			}
			if !slices.ContainsFunc(m.volumes, func(v *volume.Volume) bool { return v.Name == r.name && v.CreatedAt == r.id }) {
				delete(d.removed, r)
			}
		case kindImages:
			if m.images == nil {
				continue
			}
			if img := findImage(m.images, r.name); img == nil || img.ID != r.id {
				delete(d.removed, r)
			}
		}
	}
}
