package docker

import (
	"bytes"
	"fmt"
	"maps"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/go-connections/nat"
	"go.yaml.in/yaml/v3"

	"github.com/rddproject/rdd/statusdir"
)

func inspectOf(state string, mod func(*container.InspectResponse)) container.InspectResponse {
	c := container.InspectResponse{
		ContainerJSONBase: &container.ContainerJSONBase{
			ID:      "0123456789abcdef",
			Name:    "/web",
			Image:   "sha256:feed",
			Created: "2026-01-02T03:04:05.123456789Z",
			State: &container.State{
				Status:     container.ContainerState(state),
				StartedAt:  "0001-01-01T00:00:00Z",
				FinishedAt: "0001-01-01T00:00:00Z",
			},
			HostConfig: &container.HostConfig{},
		},
		Config:          &container.Config{Image: "busybox:1.36"},
		NetworkSettings: &container.NetworkSettings{},
	}
	if mod != nil {
		mod(&c)
	}
	return c
}

func decodeContainer(t *testing.T, data []byte) statusdir.ContainerFile {
	t.Helper()
	var f statusdir.ContainerFile
	if err := yaml.Unmarshal(data, &f); err != nil {
		t.Fatalf("parse %s: %v", data, err)
	}
	return f
}

// The container state matrix: every state the API documents is copied as
// it is; anything else is copied too and explained in problem (S9).
func TestRenderContainerStates(t *testing.T) {
	for _, tc := range []struct {
		state   string
		problem bool
	}{
		{"created", false},
		{"running", false},
		{"paused", false},
		{"restarting", false},
		{"removing", false},
		{"exited", false},
		{"dead", false},
		{"", true},
		{"hibernating", true},
	} {
		t.Run(tc.state, func(t *testing.T) {
			rendered, data, err := renderContainer(inspectOf(tc.state, nil))
			if err != nil {
				t.Fatal(err)
			}
			name, problem := rendered.Name, rendered.Problem
			f := decodeContainer(t, data)
			if name != "web" || f.Name != "web" {
				t.Errorf("name = %q, file name = %q; want web", name, f.Name)
			}
			if f.State != tc.state {
				t.Errorf("state = %q, want %q", f.State, tc.state)
			}
			if (problem != "") != tc.problem || f.Problem != problem {
				t.Errorf("problem = %q (file %q), want problem: %v", problem, f.Problem, tc.problem)
			}
			if tc.problem && !strings.Contains(problem, "unexpected container state") {
				t.Errorf("problem = %q does not name the state", problem)
			}
		})
	}
}

func TestRenderContainerFields(t *testing.T) {
	_, data, err := renderContainer(inspectOf("exited", func(c *container.InspectResponse) {
		c.State.ExitCode = 3
		c.State.StartedAt = "2026-01-02T03:04:06Z"
		c.State.FinishedAt = "2026-01-02T04:04:06.5+01:00"
		c.Config.Labels = map[string]string{"z": "1", "a": "2"}
		c.State.Health = &container.Health{Status: "healthy"}
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := `id: 0123456789abcdef
name: web
image: busybox:1.36
imageID: sha256:feed
state: exited
exitCode: 3
health: healthy
labels:
  a: "2"
  z: "1"
created: 2026-01-02T03:04:05.123456789Z
started: 2026-01-02T03:04:06Z
finished: 2026-01-02T03:04:06.5Z
`
	if string(data) != want {
		t.Errorf("file:\n%s\nwant:\n%s", data, want)
	}
	// Never started: no started or finished field.
	_, data, _ = renderContainer(inspectOf("created", nil))
	if bytes.Contains(data, []byte("started")) || bytes.Contains(data, []byte("finished")) {
		t.Errorf("a created container shows times it never had:\n%s", data)
	}
}

// Ports are sorted by number then protocol, bindings by host IP then host
// port, whatever order the engine used (S2, S3).
func TestRenderContainerPorts(t *testing.T) {
	mod := func(order int) func(*container.InspectResponse) {
		return func(c *container.InspectResponse) {
			c.Config.ExposedPorts = nat.PortSet{"443/tcp": {}, "80/tcp": {}, "53/udp": {}, "8080/tcp": {}}
			c.HostConfig.PortBindings = nat.PortMap{"80/tcp": {{HostPort: "8080"}}}
			bs := []nat.PortBinding{{HostIP: "::", HostPort: "8080"}, {HostIP: "0.0.0.0", HostPort: "9000"}, {HostIP: "0.0.0.0", HostPort: "8080"}}
			if order == 1 {
				bs = []nat.PortBinding{bs[2], bs[0], bs[1]}
			}
			c.NetworkSettings.Ports = nat.PortMap{"80/tcp": bs, "443/tcp": nil, "53/tcp": nil}
		}
	}
	_, a, _ := renderContainer(inspectOf("running", mod(0)))
	_, b, _ := renderContainer(inspectOf("running", mod(1)))
	if !bytes.Equal(a, b) {
		t.Fatalf("the order of bindings changes the file:\n%s\n%s", a, b)
	}
	f := decodeContainer(t, a)
	var names []string
	for _, p := range f.Ports {
		names = append(names, p.Name)
	}
	if got := strings.Join(names, " "); got != "53/tcp 53/udp 80/tcp 443/tcp 8080/tcp" {
		t.Errorf("ports = %s", got)
	}
	want := []statusdir.Binding{{HostIP: "0.0.0.0", HostPort: "8080"}, {HostIP: "0.0.0.0", HostPort: "9000"}, {HostIP: "::", HostPort: "8080"}}
	got := f.Ports[2].Bindings
	if len(got) != len(want) {
		t.Fatalf("bindings of 80/tcp = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("bindings of 80/tcp = %v, want %v", got, want)
			break
		}
	}
	if len(f.Ports[0].Bindings) != 0 {
		t.Errorf("an exposed port without a binding has bindings: %v", f.Ports[0])
	}
}

func TestCompareNumeric(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"80", "443", -1}, {"8080", "443", 1}, {"80", "80", 0}, {"80", "80-81", -1}, {"80-81", "80-82", -1}, {"x", "80", 1},
	} {
		if got := compareNumeric(tc.a, tc.b); got != tc.want {
			t.Errorf("compareNumeric(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestContainerName(t *testing.T) {
	for _, tc := range []struct {
		names []string
		want  string
	}{
		{[]string{"/web"}, "web"},
		{[]string{"/app/db", "/db"}, "db"}, // a link name first
		{[]string{"/My_Container.1"}, "My_Container.1"},
		{nil, "0123456789ab"},
		{[]string{"/a/b"}, "0123456789ab"},
	} {
		if got := containerName(container.Summary{ID: "0123456789abcdef", Names: tc.names}); got != tc.want {
			t.Errorf("containerName(%q) = %q, want %q", tc.names, got, tc.want)
		}
	}
}

func TestImageNames(t *testing.T) {
	const id = "sha256:abcdef0123456789abcdef"
	for _, tc := range []struct {
		tags []string
		want string
	}{
		{[]string{"busybox:1.36", "busybox:latest"}, "busybox:1.36 busybox:latest"},
		{nil, "abcdef012345"},
		{[]string{"<none>:<none>"}, "abcdef012345"}, // API 1.41's form of no tag
		{[]string{}, "abcdef012345"},
	} {
		if got := strings.Join(imageNames(image.Summary{ID: id, RepoTags: tc.tags}), " "); got != tc.want {
			t.Errorf("imageNames(%q) = %q, want %q", tc.tags, got, tc.want)
		}
	}
}

func TestRenderImage(t *testing.T) {
	s := image.Summary{
		ID:          "sha256:abc",
		RepoTags:    []string{"a:1", "a:2"},
		RepoDigests: []string{"a@sha256:2", "<none>@<none>", "a@sha256:1"},
		Size:        42,
		Created:     1700000000,
		Labels:      map[string]string{"k": "v"},
	}
	data, err := renderImage(s, "a:2")
	if err != nil {
		t.Fatal(err)
	}
	want := `id: sha256:abc
tag: a:2
repoDigests:
  - a@sha256:1
  - a@sha256:2
size: 42
created: 2023-11-14T22:13:20Z
labels:
  k: v
`
	if string(data) != want {
		t.Errorf("file:\n%s\nwant:\n%s", data, want)
	}
	data, _ = renderImage(image.Summary{ID: "sha256:abc", RepoTags: []string{"<none>:<none>"}}, "abc")
	if bytes.Contains(data, []byte("tag:")) {
		t.Errorf("an untagged image has a tag:\n%s", data)
	}
}

func TestRenderVolume(t *testing.T) {
	data, err := renderVolume(&volume.Volume{Name: "My_Vol_Ume", Driver: "local", Scope: "local",
		Mountpoint: "/var/lib/docker/volumes/My_Vol_Ume/_data", CreatedAt: "2026-01-02T03:04:05Z"})
	if err != nil {
		t.Fatal(err)
	}
	want := `name: My_Vol_Ume
driver: local
scope: local
mountpoint: /var/lib/docker/volumes/My_Vol_Ume/_data
created: 2026-01-02T03:04:05Z
`
	if string(data) != want {
		t.Errorf("file:\n%s\nwant:\n%s", data, want)
	}
}

// objectFiles is the one place names come from: the list. An item whose
// content is unknown gets statusdir.KeepFile (its file is kept), an item that vanished is
// left out, and a name claimed twice is kept as it is and reported.
func TestObjectFiles(t *testing.T) {
	type item struct {
		names   []string
		content string // "" unknown, "-" gone
	}
	items := []item{
		{[]string{"a"}, "A"},
		{[]string{"b", "c"}, "BC"},
		{[]string{"unknown"}, ""},
		{[]string{"gone"}, "-"},
		{[]string{"dup"}, "D1"},
		{[]string{"dup"}, "D2"},
	}
	files, dups := objectFiles(items, func(it item) []string { return it.names }, func(it item, name string) (statusdir.Entry, bool) {
		switch it.content {
		case "":
			return statusdir.KeepFile, true
		case "-":
			return statusdir.Entry{}, false
		}
		return statusdir.FileEntry([]byte(it.content + ":" + name)), true
	})
	want := map[string]string{"a": "A:a", "b": "BC:b", "c": "BC:c"}
	for name, content := range want {
		if e := files[name]; e.Keep || string(e.Data) != content {
			t.Errorf("files[%q] = %+v, want %q", name, e, content)
		}
	}
	for _, name := range []string{"unknown", "dup"} {
		if e, ok := files[name]; !ok || !e.Keep {
			t.Errorf("files[%q] = %+v, %v; want KeepFile", name, e, ok)
		}
	}
	if _, ok := files["gone"]; ok {
		t.Errorf("a vanished object has an entry")
	}
	if len(files) != 5 {
		t.Errorf("files has %d entries, want 5: %v", len(files), files)
	}
	if len(dups) != 1 || dups[0] != "dup" {
		t.Errorf("dups = %q, want [dup]", dups)
	}
}

// Events only mark things dirty; noise marks nothing.
func TestClassify(t *testing.T) {
	msg := func(typ events.Type, action string) events.Message {
		return events.Message{Type: typ, Action: events.Action(action), Actor: events.Actor{ID: "c1"}}
	}
	for _, tc := range []struct {
		m                 events.Message
		id                string
		images, volumeChg bool
	}{
		{msg(events.ContainerEventType, "create"), "c1", false, false},
		{msg(events.ContainerEventType, "rename"), "c1", false, false},
		{msg(events.ContainerEventType, "destroy"), "c1", false, false},
		{msg(events.ContainerEventType, "health_status: healthy"), "c1", false, false},
		{msg(events.ContainerEventType, "some-future-action"), "c1", false, false},
		{msg(events.ContainerEventType, "commit"), "c1", true, false},
		{msg(events.ContainerEventType, "exec_start: sh"), "", false, false},
		{msg(events.ContainerEventType, "attach"), "", false, false},
		{msg(events.ContainerEventType, "resize"), "", false, false},
		{msg(events.ImageEventType, "untag"), "", true, false},
		{msg(events.ImageEventType, "pull"), "", true, false},
		{msg(events.VolumeEventType, "create"), "", false, true},
		{msg(events.VolumeEventType, "destroy"), "", false, true},
		{msg(events.VolumeEventType, "mount"), "", false, false},
		{msg(events.NetworkEventType, "connect"), "", false, false},
	} {
		id, images, volumes := classify(tc.m)
		if id != tc.id || images != tc.images || volumes != tc.volumeChg {
			t.Errorf("classify(%s %s) = %q, %v, %v; want %q, %v, %v", tc.m.Type, tc.m.Action, id, images, volumes, tc.id, tc.images, tc.volumeChg)
		}
	}
}

func TestDirtyTake(t *testing.T) {
	var d dirty
	d.add("a", false, false)
	d.add("b", true, false)
	d.add("", false, true)
	ids, images, volumes := d.take()
	if len(ids) != 2 || !images || !volumes {
		t.Errorf("take = %v, %v, %v", ids, images, volumes)
	}
	ids, images, volumes = d.take()
	if len(ids) != 0 || images || volumes || ids == nil {
		t.Errorf("second take = %v, %v, %v; want empty", ids, images, volumes)
	}
}

func TestBoundedLabels(t *testing.T) {
	small := map[string]string{"a": "1", "b": "2"}
	if got, cut := boundedLabels(small); cut || !maps.Equal(got, small) {
		t.Errorf("small labels: %v %v", got, cut)
	}
	if got, cut := boundedLabels(nil); got != nil || cut {
		t.Errorf("no labels: %v %v", got, cut)
	}
	// Many labels, each within the value bound: the first ones in key
	// order, up to maxLabelsLen in all.
	many := map[string]string{}
	for i := range 200 {
		many[fmt.Sprintf("k%03d", i)] = strings.Repeat("x", maxValueLen-4)
	}
	got, cut := boundedLabels(many)
	if !cut || len(got) != maxLabelsLen/maxValueLen || got["k000"] != many["k000"] {
		t.Errorf("many labels: %d kept, cut %v", len(got), cut)
	}
	// A value cut on a character boundary.
	v, cut := boundValue(strings.Repeat("é", maxValueLen))
	if !cut || !utf8.ValidString(v) {
		t.Errorf("cut value is not valid UTF-8: %v", cut)
	}
}
