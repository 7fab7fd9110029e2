package docker

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/image"

	"github.com/rddproject/rdd/reconciler"
	"github.com/rddproject/rdd/schema"
	"github.com/rddproject/rdd/statusdir"
)

// imageHolders are the containers, by name, created from the image.
func imageHolders(m *mirror, id string) []string {
	var out []string
	for _, s := range m.containers {
		if s.ImageID == id {
			out = append(out, containerName(s))
		}
	}
	slices.Sort(out)
	return out
}

func (e *Engine) enforceImages(ctx context.Context, c *conn, want map[string]schema.Image, now time.Time) ([]objectStatus, error) {
	// Declared references are normalized as dockerd names its tags
	// (busybox -> busybox:latest), which is also their file's name.
	keys := map[string][]string{} // normalized -> as declared
	bad := map[string]error{}
	for ref := range want {
		key, err := imageKey(ref)
		if err != nil {
			bad[ref] = err
			continue
		}
		keys[key] = append(keys[key], ref)
	}
	c.pulls.forget(func(key string) bool { _, ok := keys[key]; return ok })
	forgetRetries(e.decl, kindImages, keys)
	if len(want) == 0 {
		return nil, nil
	}
	m := c.mirror
	var out []objectStatus
	for _, ref := range slices.Sorted(maps.Keys(bad)) {
		st := objectStatus{kind: kindImages, name: ref, desired: want[ref].State}
		st.set(reconciler.OutcomeFailed, statusdir.ReasonUnexpected, "is not an image reference dockerd accepts: %v", bad[ref])
		out = append(out, st)
	}
	acted := false
	for _, key := range slices.Sorted(maps.Keys(keys)) {
		refs := keys[key]
		slices.Sort(refs)
		desired := want[refs[0]].State
		st := objectStatus{kind: kindImages, name: key, desired: desired}
		if len(refs) > 1 && slices.ContainsFunc(refs, func(r string) bool { return want[r].State != desired }) {
			st.set(reconciler.OutcomeFailed, statusdir.ReasonConflict, "is declared both present and absent (as %s)", strings.Join(refs, ", "))
			out = append(out, st)
			continue
		}
		if m.images == nil {
			st.set(reconciler.OutcomePending, statusdir.ReasonNotObserved, "the engine's images are not listed yet")
			out = append(out, st)
			continue
		}
		img := findImage(m.images, key)
		st.exists, st.img = img != nil, img
		switch desired {
		case "present":
			if img != nil {
				c.pulls.forget(func(k string) bool { return k != key })
				st.set(reconciler.OutcomeDone, statusdir.ReasonInState, "")
				break
			}
			running, at, err := c.pulls.status(key)
			switch {
			case running:
				st.set(reconciler.OutcomePending, statusdir.ReasonPulling, "pulling (progress in the daemon log)")
			case err != nil && now.Before(at):
				st.requeue = at
				st.set(reconciler.OutcomeFailed, statusdir.ReasonPullFailed, "%v; rdd pulls again at %s", err, stamp(at))
			default:
				c.pulls.start(c.cli, key)
				st.set(reconciler.OutcomePending, statusdir.ReasonPulling, "pulling (progress in the daemon log)")
			}
		case "absent":
			if img == nil {
				delete(e.decl.retries, kindImages+"/"+key)
				st.set(reconciler.OutcomeDone, statusdir.ReasonInState, "")
				break
			}
			var holders []string
			if len(realTags(img.RepoTags)) <= 1 {
				// Removing the last tag removes the image, which dockerd
				// refuses while a container uses it.
				holders = imageHolders(m, img.ID)
			}
			if e.removeDeclared(ctx, c, &st, removal{kind: kindImages, name: key, id: img.ID}, holders, now) {
				acted = true
			}
		default:
			st.set(reconciler.OutcomeFailed, statusdir.ReasonUnexpected, "declared state %q is not present or absent", desired)
		}
		out = append(out, st)
	}
	if acted {
		if err := e.syncImages(ctx, c, now); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// imageKey normalizes a declared reference the way dockerd names its
// tags: familiar (no docker.io/library/), with :latest when there is no
// tag; a reference by digest is repository@digest.
func imageKey(ref string) (string, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return "", err
	}
	if dg, ok := named.(reference.Digested); ok {
		canon, err := reference.WithDigest(reference.TrimNamed(named), dg.Digest())
		if err != nil {
			return "", err
		}
		return reference.FamiliarString(canon), nil
	}
	return reference.FamiliarString(reference.TagNameOnly(named)), nil
}

// findImage finds the image a normalized reference names: by tag, or by
// repository digest.
func findImage(images []image.Summary, key string) *image.Summary {
	digest := strings.Contains(key, "@")
	for i := range images {
		refs := images[i].RepoTags
		if digest {
			refs = images[i].RepoDigests
		}
		if slices.Contains(refs, key) {
			return &images[i]
		}
	}
	return nil
}
