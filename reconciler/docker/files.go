package docker

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/go-connections/nat"

	"github.com/rddproject/rdd/statusdir"
)

// containerStates are the states the engine API documents.
var containerStates = map[string]bool{
	"created": true, "running": true, "paused": true, "restarting": true,
	"removing": true, "exited": true, "dead": true,
}

// objectFiles builds the files of one status subdirectory, and it is the
// only place that decides which files exist: the names come from items, an
// engine list response, and from nothing else (review I5). names gives the
// object names of one listed item (an image has one per tag). render gives
// the entry of one name: statusdir.KeepFile when the content is not known
// right now (an inspect failed), which keeps an existing file and creates
// none; ok false when the object turned out to be gone since the list,
// which leaves it out.
//
// A name claimed by two items (two untagged images whose IDs share 12
// digits) cannot have one file: it is statusdir.KeepFile, which keeps
// whatever file there is, and it is reported in dups (S9).
func objectFiles[T any](items []T, names func(T) []string, render func(item T, name string) (entry statusdir.Entry, ok bool)) (files map[string]statusdir.Entry, dups []string) {
	count := make(map[string]int, len(items))
	for _, it := range items {
		for _, name := range names(it) {
			count[name]++
		}
	}
	files = make(map[string]statusdir.Entry, len(count))
	for _, it := range items {
		for _, name := range names(it) {
			switch {
			case name == "":
			case count[name] > 1:
				if !slices.Contains(dups, name) {
					dups = append(dups, name)
					files[name] = statusdir.KeepFile
				}
			default:
				if e, ok := render(it, name); ok {
					files[name] = e
				}
			}
		}
	}
	slices.Sort(dups)
	return files, dups
}

// containerNames is the name a container's file has: its name without the
// leading "/". Docker lists links as extra names ("/other/alias"); the
// container's own name is the one without another "/". A container without
// one (never seen) is named by its short ID.
func containerNames(s container.Summary) []string {
	return []string{containerName(s)}
}

func containerName(s container.Summary) string {
	for _, n := range s.Names {
		n = strings.TrimPrefix(n, "/")
		if n != "" && !strings.Contains(n, "/") {
			return n
		}
	}
	return shortID(s.ID)
}

// imageNames are the names of an image's files: one per tag, or its short
// ID when it has none. API 1.41 reports an untagged image with the tag
// "<none>:<none>"; that is no tag.
func imageNames(s image.Summary) []string {
	tags := realTags(s.RepoTags)
	if len(tags) == 0 {
		return []string{shortID(s.ID)}
	}
	return tags
}

func realTags(tags []string) []string {
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		if t != "" && t != "<none>:<none>" {
			out = append(out, t)
		}
	}
	return out
}

func volumeNames(v *volume.Volume) []string { return []string{v.Name} }

// shortID is the 12 hex digits by which docker shows an ID.
func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		id = id[:12]
	}
	return id
}

// renderContainer turns an inspect response into the container's file:
// its content, which says the name the engine gave the container (so that
// a caller can see that a list and an inspect disagree, a rename in
// between) and the problem, if any, that the file reports; and its bytes.
// It is the one renderer of container files.
func renderContainer(c container.InspectResponse) (statusdir.ContainerFile, []byte, error) {
	f, err := containerFile(c)
	if err != nil {
		return statusdir.ContainerFile{}, nil, err
	}
	data, err := statusdir.Marshal(f)
	return f, data, err
}

// containerFile is the content of a container's file, from its inspect.
func containerFile(c container.InspectResponse) (statusdir.ContainerFile, error) {
	if c.ContainerJSONBase == nil {
		return statusdir.ContainerFile{}, fmt.Errorf("inspect container: empty response")
	}
	f := statusdir.ContainerFile{
		ID:      c.ID,
		Name:    strings.TrimPrefix(c.Name, "/"),
		ImageID: c.Image,
		Created: parseTime(c.Created),
	}
	if c.Config != nil {
		f.Image = c.Config.Image
		f.Labels = boundLabels(&f, c.Config.Labels)
	}
	if s := c.State; s != nil {
		f.State = string(s.Status)
		f.ExitCode = s.ExitCode
		var cut bool
		if f.Error, cut = boundValue(s.Error); cut {
			f.Truncated = append(f.Truncated, "error")
		}
		f.Started = parseTime(s.StartedAt)
		f.Finished = parseTime(s.FinishedAt)
		if s.Health != nil {
			f.Health = string(s.Health.Status)
		}
	}
	if !containerStates[f.State] {
		f.Problem = fmt.Sprintf("unexpected container state %q (known: created, running, paused, restarting, removing, exited, dead)", f.State)
	}
	f.Ports = ports(c)
	if len(f.Ports) > maxPorts {
		// Ranges of every port of several protocols: the first ones are
		// kept, in order.
		f.Ports = f.Ports[:maxPorts]
		f.Truncated = append(f.Truncated, "ports")
	}
	return f, nil
}

// ports merges the ports a container exposes, is configured to publish,
// and publishes now, with the bindings in effect now.
func ports(c container.InspectResponse) []statusdir.Port {
	all := map[nat.Port][]nat.PortBinding{}
	if c.Config != nil {
		for p := range c.Config.ExposedPorts {
			all[p] = nil
		}
	}
	if c.HostConfig != nil {
		for p := range c.HostConfig.PortBindings {
			all[p] = nil
		}
	}
	if c.NetworkSettings != nil {
		for p, b := range c.NetworkSettings.Ports {
			all[p] = b
		}
	}
	if len(all) == 0 {
		return nil
	}
	out := make([]statusdir.Port, 0, len(all))
	for p, bs := range all {
		port := statusdir.Port{Name: string(p)}
		for _, b := range bs {
			port.Bindings = append(port.Bindings, statusdir.Binding{HostIP: b.HostIP, HostPort: b.HostPort})
		}
		slices.SortFunc(port.Bindings, func(a, b statusdir.Binding) int {
			return cmp.Or(cmp.Compare(a.HostIP, b.HostIP), compareNumeric(a.HostPort, b.HostPort))
		})
		out = append(out, port)
	}
	slices.SortFunc(out, func(a, b statusdir.Port) int {
		an, aproto, _ := strings.Cut(a.Name, "/")
		bn, bproto, _ := strings.Cut(b.Name, "/")
		return cmp.Or(compareNumeric(an, bn), cmp.Compare(aproto, bproto))
	})
	return out
}

// compareNumeric orders decimal strings by value, and anything else after
// them as text, so "8080" follows "443" and a range such as "80-81" still
// has a place.
func compareNumeric(a, b string) int {
	ai, aerr := strconv.Atoi(a)
	bi, berr := strconv.Atoi(b)
	switch {
	case aerr == nil && berr == nil:
		return cmp.Compare(ai, bi)
	case aerr == nil:
		return -1
	case berr == nil:
		return 1
	}
	return cmp.Compare(a, b)
}

// renderImage is the file of one name of an image: a tag, or its short ID.
func renderImage(s image.Summary, name string) ([]byte, error) {
	return statusdir.Marshal(imageFile(s, name))
}

func imageFile(s image.Summary, name string) statusdir.ImageFile {
	f := statusdir.ImageFile{
		ID:      s.ID,
		Size:    s.Size,
		Created: time.Unix(s.Created, 0).UTC(),
	}
	var cut bool
	if f.Labels, cut = boundedLabels(s.Labels); cut {
		f.Truncated = []string{"labels"}
	}
	if slices.Contains(s.RepoTags, name) {
		f.Tag = name
	}
	for _, d := range s.RepoDigests {
		if d != "" && d != "<none>@<none>" {
			f.RepoDigests = append(f.RepoDigests, d)
		}
	}
	slices.Sort(f.RepoDigests)
	f.RepoDigests = slices.Compact(f.RepoDigests)
	return f
}

func renderVolume(v *volume.Volume) ([]byte, error) {
	return statusdir.Marshal(volumeFile(v))
}

func volumeFile(v *volume.Volume) statusdir.VolumeFile {
	f := statusdir.VolumeFile{
		Name:       v.Name,
		Driver:     v.Driver,
		Scope:      v.Scope,
		Mountpoint: v.Mountpoint,
		Created:    parseTime(v.CreatedAt),
	}
	var cut bool
	if f.Labels, cut = boundedLabels(v.Labels); cut {
		f.Truncated = []string{"labels"}
	}
	return f
}

// parseTime reads a timestamp of the engine API. The zero time, which the
// API uses for "never", and anything unparsable give the zero time, which
// the files leave out.
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() <= 1 {
		return time.Time{}
	}
	return t.UTC()
}

// An object file stays far below statusdir.MaxFileSize, whatever an
// object holds (dockerd accepts labels of any size: 80 labels of 60 KB
// make a 4.8 MB inspect): one value is cut at maxValueLen bytes, the labels
// of one object at maxLabelsLen bytes in all (in key order), and a
// container's ports at maxPorts. What was cut is named in the file's
// truncated field, and a cut value ends with a note saying how long it was.
const (
	maxValueLen  = 4 << 10
	maxLabelsLen = 256 << 10
	maxPorts     = 4096
)

// boundValue cuts s to maxValueLen bytes (on a character boundary) with a
// note of its length, and reports whether it did.
func boundValue(s string) (string, bool) {
	if len(s) <= maxValueLen {
		return s, false
	}
	cut := maxValueLen
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s... [truncated by rdd: %d bytes in all]", s[:cut], len(s)), true
}

// boundedLabels copies labels (nil when there are none) with each value
// bounded, keeping them in key order while they fit in maxLabelsLen; it
// reports whether anything was cut or left out.
func boundedLabels(labels map[string]string) (map[string]string, bool) {
	if len(labels) == 0 {
		return nil, false
	}
	out := make(map[string]string, len(labels))
	size, cut := 0, false
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		v, c := boundValue(labels[k])
		key, ck := boundValue(k)
		if size += len(key) + len(v); size > maxLabelsLen {
			return out, true
		}
		out[key] = v
		cut = cut || c || ck
	}
	return out, cut
}

// boundLabels is boundedLabels for a container's file f, noting a cut.
func boundLabels(f *statusdir.ContainerFile, labels map[string]string) map[string]string {
	out, cut := boundedLabels(labels)
	if cut {
		f.Truncated = append(f.Truncated, "labels")
	}
	return out
}
