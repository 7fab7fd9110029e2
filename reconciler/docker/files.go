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

// ContainerFile is the content of status/containers/<name>.yaml: what
// `docker inspect` shows of a container that a user cares about.
type ContainerFile struct {
	ID      string `yaml:"id" json:"id"`
	Name    string `yaml:"name" json:"name"`
	Image   string `yaml:"image" json:"image"`     // the reference the container was created from
	ImageID string `yaml:"imageID" json:"imageID"` // the image it runs
	// State is one of created, running, paused, restarting, removing,
	// exited, dead. Any other value is copied as it is and explained in
	// Problem (S9).
	State    string            `yaml:"state" json:"state"`
	ExitCode int               `yaml:"exitCode" json:"exitCode"`
	Error    string            `yaml:"error,omitempty" json:"error,omitempty"`   // the engine's error starting or running it
	Health   string            `yaml:"health,omitempty" json:"health,omitempty"` // starting, healthy or unhealthy, with a healthcheck
	Ports    []Port            `yaml:"ports,omitempty" json:"ports,omitempty"`   // sorted by port number, then protocol
	Labels   map[string]string `yaml:"labels,omitempty" json:"labels,omitempty"`
	Created  time.Time         `yaml:"created" json:"created"`
	Started  time.Time         `yaml:"started,omitempty" json:"started,omitempty"`
	Finished time.Time         `yaml:"finished,omitempty" json:"finished,omitempty"`
	Problem  string            `yaml:"problem,omitempty" json:"problem,omitempty"` // set when something observed is not understood
	// Truncated names the fields whose values were cut short to keep the
	// file below statusdir.MaxFileSize (labels, error, ports).
	Truncated []string `yaml:"truncated,omitempty" json:"truncated,omitempty"`
	// Declaration is set for a container that desired.yaml declares.
	Declaration `yaml:",inline"`
}

// Port is one container port: exposed, configured for publishing, or
// published. Bindings are the host addresses it is published on right now
// (only while the container runs), sorted by host IP, then host port.
type Port struct {
	Name     string    `yaml:"name" json:"name"` // port/protocol, such as 80/tcp
	Bindings []Binding `yaml:"bindings,omitempty" json:"bindings,omitempty"`
}

// Binding is one host address a container port is published on.
type Binding struct {
	HostIP   string `yaml:"hostIP" json:"hostIP"`
	HostPort string `yaml:"hostPort" json:"hostPort"`
}

// ImageFile is the content of status/images/<name>.yaml: one file per tag,
// and one per image without a tag, named by its short ID.
type ImageFile struct {
	ID          string            `yaml:"id" json:"id"`
	Tag         string            `yaml:"tag,omitempty" json:"tag,omitempty"` // empty for an image without tags
	RepoDigests []string          `yaml:"repoDigests,omitempty" json:"repoDigests,omitempty"`
	Size        int64             `yaml:"size" json:"size"`
	Created     time.Time         `yaml:"created" json:"created"`
	Labels      map[string]string `yaml:"labels,omitempty" json:"labels,omitempty"`
	Truncated   []string          `yaml:"truncated,omitempty" json:"truncated,omitempty"` // fields cut short, as in ContainerFile
	// Declaration is set for a tag that desired.yaml declares.
	Declaration `yaml:",inline"`
}

// VolumeFile is the content of status/volumes/<name>.yaml.
type VolumeFile struct {
	Name       string            `yaml:"name" json:"name"`
	Driver     string            `yaml:"driver" json:"driver"`
	Scope      string            `yaml:"scope,omitempty" json:"scope,omitempty"`
	Mountpoint string            `yaml:"mountpoint" json:"mountpoint"`
	Labels     map[string]string `yaml:"labels,omitempty" json:"labels,omitempty"`
	Created    time.Time         `yaml:"created,omitempty" json:"created,omitempty"`
	Truncated  []string          `yaml:"truncated,omitempty" json:"truncated,omitempty"` // fields cut short, as in ContainerFile
	// Declaration is set for a volume that desired.yaml declares.
	Declaration `yaml:",inline"`
}

// NamespaceFile is the content of status/namespaces/moby.yaml: dockerd has
// one namespace, and this file says how much it holds.
type NamespaceFile struct {
	Name       string `yaml:"name" json:"name"`
	Containers int    `yaml:"containers" json:"containers"`
	Images     int    `yaml:"images" json:"images"` // distinct images, tagged or not
	Volumes    int    `yaml:"volumes" json:"volumes"`
}

// containerStates are the states the engine API documents.
var containerStates = map[string]bool{
	"created": true, "running": true, "paused": true, "restarting": true,
	"removing": true, "exited": true, "dead": true,
}

// objectFiles builds the files of one status subdirectory, and it is the
// only place that decides which files exist: the names come from items, an
// engine list response, and from nothing else (review I5). names gives the
// object names of one listed item (an image has one per tag). render gives
// the bytes of one name: nil when the content is not known right now (an
// inspect failed), which keeps an existing file and creates none; ok false
// when the object turned out to be gone since the list, which leaves it out.
//
// A name claimed by two items (two untagged images whose IDs share 12
// digits) cannot have one file: its value is nil, which keeps whatever file
// there is, and it is reported in dups (S9).
func objectFiles[T any](items []T, names func(T) []string, render func(item T, name string) (data []byte, ok bool)) (files map[string][]byte, dups []string) {
	count := make(map[string]int, len(items))
	for _, it := range items {
		for _, name := range names(it) {
			count[name]++
		}
	}
	files = make(map[string][]byte, len(count))
	for _, it := range items {
		for _, name := range names(it) {
			switch {
			case name == "":
			case count[name] > 1:
				if !slices.Contains(dups, name) {
					dups = append(dups, name)
					files[name] = nil
				}
			default:
				if data, ok := render(it, name); ok {
					files[name] = data
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

// renderContainer turns an inspect response into the container's file. It
// returns the name the engine gave the container, so that a caller can see
// that a list and an inspect disagree (a rename in between), and the
// problem, if any, that the file reports.
func renderContainer(c container.InspectResponse) (name string, data []byte, problem string, err error) {
	f, err := containerFile(c)
	if err != nil {
		return "", nil, "", err
	}
	data, err = statusdir.Marshal(f)
	return f.Name, data, f.Problem, err
}

// containerFile is the content of a container's file, from its inspect.
func containerFile(c container.InspectResponse) (ContainerFile, error) {
	if c.ContainerJSONBase == nil {
		return ContainerFile{}, fmt.Errorf("inspect container: empty response")
	}
	f := ContainerFile{
		ID:      c.ID,
		Name:    strings.TrimPrefix(c.Name, "/"),
		ImageID: c.Image,
		Created: parseTime(c.Created),
	}
	if c.Config != nil {
		f.Image = c.Config.Image
		f.Labels = f.boundLabels(c.Config.Labels)
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
func ports(c container.InspectResponse) []Port {
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
	out := make([]Port, 0, len(all))
	for p, bs := range all {
		port := Port{Name: string(p)}
		for _, b := range bs {
			port.Bindings = append(port.Bindings, Binding{HostIP: b.HostIP, HostPort: b.HostPort})
		}
		slices.SortFunc(port.Bindings, func(a, b Binding) int {
			return cmp.Or(cmp.Compare(a.HostIP, b.HostIP), compareNumeric(a.HostPort, b.HostPort))
		})
		out = append(out, port)
	}
	slices.SortFunc(out, func(a, b Port) int {
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

func imageFile(s image.Summary, name string) ImageFile {
	f := ImageFile{
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

func volumeFile(v *volume.Volume) VolumeFile {
	f := VolumeFile{
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

// boundLabels is boundedLabels for a container's file, noting a cut.
func (f *ContainerFile) boundLabels(labels map[string]string) map[string]string {
	out, cut := boundedLabels(labels)
	if cut {
		f.Truncated = append(f.Truncated, "labels")
	}
	return out
}
