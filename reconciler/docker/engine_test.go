//go:build linux

package docker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
	"github.com/docker/go-connections/nat"
	"go.yaml.in/yaml/v3"

	"github.com/rddproject/rdd/effect"
	"github.com/rddproject/rdd/reconciler"
	"github.com/rddproject/rdd/schema"
	"github.com/rddproject/rdd/statusdir"
)

const (
	containersDir = statusdir.ContainersDir
	imagesDir     = statusdir.ImagesDir
	volumesDir    = statusdir.VolumesDir
	namespacesDir = statusdir.NamespacesDir
)

func moby(running bool) *schema.Desired {
	return &schema.Desired{Running: running, ContainerEngine: schema.ContainerEngine{Name: "moby"}}
}

// The engine's answer when it is not meant to talk to dockerd: files are
// cleared only when the engine is meant to be off.
func TestReconcileWithoutEngine(t *testing.T) {
	for _, tc := range []struct {
		name    string
		d       *schema.Desired
		socket  string
		reason  string
		cleared bool // every subdirectory emptied; otherwise every one left as it is (files kept)
	}{
		{"running false", moby(false), "", statusdir.EngineStopped, true},
		{"VM not up yet", moby(true), "", statusdir.EngineStopped, false},
		{"containerd", &schema.Desired{Running: true, ContainerEngine: schema.ContainerEngine{Name: "containerd"}}, "/nowhere.sock", statusdir.EngineNotApplicable, true},
		{"unknown engine", &schema.Desired{Running: true, ContainerEngine: schema.ContainerEngine{Name: "podman"}}, "/nowhere.sock", statusdir.EngineConnectFailed, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := New().Reconcile(t.Context(), tc.d, tc.socket)
			if res.Reason != tc.reason {
				t.Errorf("reason = %s (%s), want %s", res.Reason, res.Message, tc.reason)
			}
			if res.Message == "" {
				t.Errorf("no message")
			}
			if !tc.cleared {
				if !leavesAll(res) {
					t.Errorf("mirrors = %v, want every directory left (keep the files)", res.Mirrors)
				}
				return
			}
			for _, sub := range []string{containersDir, imagesDir, volumesDir, namespacesDir} {
				if m, ok := mirrorOf(res, sub); !ok || m.Leave || len(m.Files) != 0 {
					t.Errorf("mirror of %s = %v, %v; want it cleared", sub, m, ok)
				}
			}
		})
	}
}

// An engine that does not answer is Connecting, keeps every file (no
// directory left as it is), and tries again with a backoff that is capped.
func TestConnectBackoff(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "none.sock")
	e := New()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e.now = func() time.Time { return now }
	var got []time.Duration
	for range 7 {
		res := e.Reconcile(t.Context(), moby(true), socket)
		if res.Reason != statusdir.EngineConnecting || !leavesAll(res) {
			t.Fatalf("reason %s, mirrors %v; want Connecting and every directory left", res.Reason, res.Mirrors)
		}
		if !strings.Contains(res.Message, socket) {
			t.Errorf("message %q does not name the socket", res.Message)
		}
		// A pass before the backoff ends makes no new attempt.
		early := e.Reconcile(t.Context(), moby(true), socket)
		if early.Reason != statusdir.EngineConnecting || early.Requeue != res.Requeue {
			t.Errorf("early pass: %s, requeue %s; want Connecting, %s", early.Reason, early.Requeue, res.Requeue)
		}
		got = append(got, res.Requeue)
		now = now.Add(res.Requeue)
	}
	want := []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("backoff = %v, want %v", got, want)
		}
	}
}

// A socket path that is there but is not a socket (a regular file, a
// directory) is ConnectFailed at once, saying what the path is; a missing
// one stays Connecting (a VM may be about to create it).
func TestSocketNotASocket(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file.sock")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, reason, says string
	}{
		{file, statusdir.EngineConnectFailed, file + " is a regular file, not a socket"},
		{dir, statusdir.EngineConnectFailed, dir + " is a directory, not a socket"},
		{filepath.Join(dir, "missing.sock"), statusdir.EngineConnecting, "missing.sock"},
	} {
		res := New().Reconcile(t.Context(), moby(true), tc.path)
		if res.Reason != tc.reason || !strings.Contains(res.Message, tc.says) || !leavesAll(res) {
			t.Errorf("%s: %s: %q (mirrors %v); want %s saying %q and every directory left", tc.path, res.Reason, res.Message, res.Mirrors, tc.reason, tc.says)
		}
		if res.Requeue <= 0 {
			t.Errorf("%s: no requeue", tc.path)
		}
	}
}

// Switching from a socket that failed many times to one that works
// connects at once: the old socket's backoff and error do not carry over.
func TestSocketChangeResetsBackoff(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "none.sock")
	e := New(WithLogger(testLogger(t)))
	defer e.Close()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e.now = func() time.Time { return now }
	for range 6 {
		if res := e.Reconcile(t.Context(), moby(true), bad); res.Reason != statusdir.EngineConnecting {
			t.Fatalf("bad socket: %s: %s", res.Reason, res.Message)
		}
		now = now.Add(time.Second) // within the backoff of the last attempts
	}
	good := sharedSocket()
	res := e.Reconcile(t.Context(), moby(true), good)
	if res.Reason != statusdir.EngineConnected {
		t.Fatalf("good socket after a bad one: %s: %s; want Connected at once", res.Reason, res.Message)
	}
	if strings.Contains(res.Message, "none.sock") {
		t.Errorf("the old socket's error shows under the new one: %q", res.Message)
	}
	// And back: the bad socket's first attempt is made at once, with its
	// own error only.
	res = e.Reconcile(t.Context(), moby(true), bad)
	if res.Reason != statusdir.EngineConnecting || res.Requeue != minRetry || strings.Contains(res.Message, good) {
		t.Errorf("bad socket after a good one: %s, requeue %s: %q", res.Reason, res.Requeue, res.Message)
	}
}

func decodeFile[T any](t testing.TB, data []byte) T {
	t.Helper()
	var v T
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatalf("parse %s: %v", data, err)
	}
	return v
}

// Containers through their life: create, start, pause, stop, exit codes,
// ports with and without host bindings, rename (review I4), removal; and
// the moby namespace, restored after it is deleted by hand (review I1).
func TestContainers(t *testing.T) {
	t.Parallel()
	f := newFixture(t, sharedSocket())
	h := newHarness(t, sharedSocket()).start()
	res := h.waitReason(statusdir.EngineConnected)
	if res.Status.Version == "" || res.Status.APIVersion == "" || !strings.Contains(res.Message, res.Status.APIVersion) {
		t.Errorf("status %+v, message %q: want the engine and API versions", res.Status, res.Message)
	}
	h.waitFile(namespacesDir, statusdir.MobyNamespace, "name: moby")

	web := uniq("rdd-web")
	id := f.create(web, func(c *container.Config, hc *container.HostConfig) {
		c.ExposedPorts = nat.PortSet{"443/tcp": {}, "80/tcp": {}}
		hc.NetworkMode = ""
		hc.PortBindings = nat.PortMap{"80/tcp": {{HostIP: "127.0.0.1"}}}
	})
	data := h.waitFile(containersDir, web, "state: created", "name: "+web, "id: "+id, "image: "+f.base, "rdd.test: "+web)
	cf := decodeFile[statusdir.ContainerFile](t, data)
	if len(cf.Ports) != 2 || cf.Ports[0].Name != "80/tcp" || cf.Ports[1].Name != "443/tcp" || len(cf.Ports[0].Bindings) != 0 {
		t.Errorf("ports of a created container = %+v; want 80/tcp, 443/tcp without bindings", cf.Ports)
	}

	f.check("start", f.cli.ContainerStart(f.ctx(), id, container.StartOptions{}))
	data = h.waitFile(containersDir, web, "state: running")
	cf = decodeFile[statusdir.ContainerFile](t, data)
	if len(cf.Ports) != 2 || len(cf.Ports[0].Bindings) == 0 || cf.Ports[0].Bindings[0].HostIP != "127.0.0.1" || cf.Ports[0].Bindings[0].HostPort == "" || len(cf.Ports[1].Bindings) != 0 {
		t.Errorf("ports of a running container = %+v; want 80/tcp bound on 127.0.0.1 and 443/tcp unbound", cf.Ports)
	}
	if cf.Started.IsZero() {
		t.Errorf("a running container has no start time:\n%s", data)
	}

	f.check("pause", f.cli.ContainerPause(f.ctx(), id))
	h.waitFile(containersDir, web, "state: paused")
	f.check("unpause", f.cli.ContainerUnpause(f.ctx(), id))
	h.waitFile(containersDir, web, "state: running")
	f.check("stop", f.cli.ContainerStop(f.ctx(), id, container.StopOptions{}))
	data = h.waitFile(containersDir, web, "state: exited", "exitCode: 0")
	if cf = decodeFile[statusdir.ContainerFile](t, data); cf.Finished.IsZero() || len(cf.Ports[0].Bindings) != 0 {
		t.Errorf("a stopped container has no finish time, or still has bindings:\n%s", data)
	}

	failing := uniq("rdd-exit")
	fid := f.create(failing, nil, "/rddtest", "exit", "3")
	f.check("start", f.cli.ContainerStart(f.ctx(), fid, container.StartOptions{}))
	h.waitFile(containersDir, failing, "state: exited", "exitCode: 3")

	renamed := uniq("rdd-renamed")
	f.check("rename", f.cli.ContainerRename(f.ctx(), id, renamed))
	h.waitFile(containersDir, renamed, "name: "+renamed, "id: "+id)
	if h.file(containersDir, web) != nil {
		t.Errorf("the file of the old name is still there after the rename")
	}

	f.check("remove", f.cli.ContainerRemove(f.ctx(), id, container.RemoveOptions{}))
	h.waitGone(containersDir, renamed)
	h.waitFile(containersDir, failing, "state: exited")

	ns := h.path(namespacesDir, statusdir.MobyNamespace)
	if err := os.Remove(ns); err != nil {
		t.Fatal(err)
	}
	// The harness's watch of status/, as the daemon's, wakes a pass,
	// which compares the whole directory again.
	h.waitFile(namespacesDir, statusdir.MobyNamespace, "name: moby")
}

// Images: one file per tag; an untag removes that tag's file only; an image
// that loses its last tag is filed by its short ID, and tagging it again
// files it by the tag.
func TestImages(t *testing.T) {
	t.Parallel()
	f := newFixture(t, sharedSocket())
	h := newHarness(t, sharedSocket()).start()
	h.waitReason(statusdir.EngineConnected)

	repo := uniq("rddtest-img")
	baseID := func() string {
		res, err := f.cli.ImageInspect(f.ctx(), f.base)
		f.check("inspect base", err)
		return res.ID
	}()
	one, two := repo+":one", repo+":two"
	f.tag(f.base, one)
	f.tag(f.base, two)
	h.waitFile(imagesDir, one, "tag: "+one, "id: "+baseID)
	h.waitFile(imagesDir, two, "tag: "+two, "id: "+baseID)
	if _, err := f.cli.ImageRemove(f.ctx(), one, image.RemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	h.waitGone(imagesDir, one)
	h.waitFile(imagesDir, two, "tag: "+two)

	// Importing another image under the same tag leaves the first one
	// without a tag: a dangling image, filed by its short ID.
	ref := repo + ":moving"
	first, err := importImage(f.ctx(), f.cli, ref, "/rddtest", "exit", "1")
	f.check("import", err)
	t.Cleanup(func() { f.cli.ImageRemove(context.Background(), first, image.RemoveOptions{Force: true}) })
	h.waitFile(imagesDir, ref, "id: "+first)
	second, err := importImage(f.ctx(), f.cli, ref, "/rddtest", "exit", "2")
	f.check("import", err)
	t.Cleanup(func() { f.cli.ImageRemove(context.Background(), second, image.RemoveOptions{Force: true}) })
	h.waitFile(imagesDir, ref, "id: "+second)
	data := h.waitFile(imagesDir, shortID(first), "id: "+first)
	if strings.Contains(string(data), "tag:") {
		t.Errorf("a dangling image has a tag:\n%s", data)
	}

	again := repo + ":again"
	f.tag(first, again)
	h.waitFile(imagesDir, again, "tag: "+again, "id: "+first)
	h.waitGone(imagesDir, shortID(first))
}

// Volumes, including a name with capitals and underscores, whose file name
// is reversible and safe on a case-insensitive file system.
func TestVolumes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, sharedSocket())
	h := newHarness(t, sharedSocket()).start()
	h.waitReason(statusdir.EngineConnected)

	name := "My_Vol_Ume_" + strings.TrimPrefix(uniq("x"), "x-")
	_, err := f.cli.VolumeCreate(f.ctx(), volume.CreateOptions{Name: name, Labels: map[string]string{"rdd.test": name}})
	f.check("create volume", err)
	t.Cleanup(func() { f.cli.VolumeRemove(context.Background(), name, true) })
	h.waitFile(volumesDir, name, "name: "+name, "driver: local", "rdd.test: "+name)
	file := filepath.Join(h.dir.Root(), volumesDir, "^my_^vol_^ume_"+strings.TrimPrefix(name, "My_Vol_Ume_")+".yaml")
	if _, err := os.Stat(file); err != nil {
		t.Errorf("volume %s is not filed as %s: %v", name, filepath.Base(file), err)
	}
	f.check("remove volume", f.cli.VolumeRemove(f.ctx(), name, false))
	h.waitGone(volumesDir, name)
}

// running: false clears every mirror; running: true again brings back the
// same files with the same bytes. A VM that is not up yet keeps them, and
// containerd clears them (NotApplicable).
func TestEngineOffAndOn(t *testing.T) {
	t.Parallel()
	socket := sharedSocket()
	f := newFixture(t, socket)
	h := newHarness(t, socket).start()
	h.waitReason(statusdir.EngineConnected)
	name := uniq("rdd-onoff")
	f.create(name, nil)
	vol := uniq("rdd-onoff")
	_, err := f.cli.VolumeCreate(f.ctx(), volume.CreateOptions{Name: vol})
	f.check("create volume", err)
	t.Cleanup(func() { f.cli.VolumeRemove(context.Background(), vol, true) })
	c0 := h.waitFile(containersDir, name, "state: created")
	v0 := h.waitFile(volumesDir, vol, "name: "+vol)

	empty := func() bool {
		for _, sub := range []string{containersDir, imagesDir, volumesDir, namespacesDir} {
			ents, err := os.ReadDir(filepath.Join(h.dir.Root(), sub))
			if err != nil || len(ents) != 0 {
				return false
			}
		}
		return true
	}
	restored := func() {
		t.Helper()
		h.waitReason(statusdir.EngineConnected)
		if c := h.waitFile(containersDir, name); string(c) != string(c0) {
			t.Errorf("container file came back different:\n%s\nwas:\n%s", c, c0)
		}
		if v := h.waitFile(volumesDir, vol); string(v) != string(v0) {
			t.Errorf("volume file came back different:\n%s\nwas:\n%s", v, v0)
		}
		h.waitFile(namespacesDir, statusdir.MobyNamespace, "name: moby")
	}

	h.set("", func(d *schema.Desired) { d.Running = true })
	h.waitReason(statusdir.EngineStopped)
	if h.file(containersDir, name) == nil {
		t.Errorf("a VM that is not up yet cleared the mirrors")
	}

	h.set("", func(d *schema.Desired) { d.Running = false })
	h.waitFor("every mirror cleared", empty)
	if res, _, _ := h.result(); res.Reason != statusdir.EngineStopped {
		t.Errorf("reason = %s, want Stopped", res.Reason)
	}
	h.set(socket, func(d *schema.Desired) { d.Running = true })
	restored()

	h.set(socket, func(d *schema.Desired) { d.ContainerEngine.Name = "containerd" })
	h.waitReason(statusdir.EngineNotApplicable)
	h.waitFor("every mirror cleared", empty)
	h.set(socket, func(d *schema.Desired) { d.ContainerEngine.Name = "moby" })
	restored()
}

// A failed inspect never removes a file (review I5), and a failed handling
// of an event is retried with backoff until it succeeds (review I6), with
// no other event and no full sync to help.
func TestInspectFaults(t *testing.T) {
	t.Parallel()
	f := newFixture(t, sharedSocket())
	p := startProxy(t, sharedSocket())
	x, y := uniq("rdd-x"), uniq("rdd-y")
	xid := f.create(x, nil)
	f.create(y, nil)
	h := newHarness(t, p.socket, WithFullSync(time.Hour)).start()
	h.waitReason(statusdir.EngineConnected)
	h.waitFile(containersDir, x, "state: created")
	h.waitFile(containersDir, y, "state: created")
	if inspects, _ := p.counts(xid); inspects != 1 {
		t.Errorf("a new connection inspected x %d times, want once (one full sync)", inspects)
	}
	if res, _, _ := h.result(); res.Requeue < time.Minute {
		t.Errorf("requeue %s after the first full sync, want the next one in an hour", res.Requeue)
	}
	before := only(stamps(t, h.dir.Root()), rel(containersDir, x), rel(containersDir, y))

	// I5: the event stream breaks; the reconnect's full sync cannot
	// inspect x. Its file stays as it was, and the message says so.
	p.failInspect(xid, true)
	connects := h.e.connects.Load()
	if p.cutStreams() == 0 {
		t.Fatal("no event stream to cut")
	}
	h.waitFor("a full sync after the reconnect that fails to inspect x", func() bool {
		_, failed := p.counts(xid)
		res, _, _ := h.result()
		return h.e.connects.Load() > connects && failed > 0 && res.Reason == statusdir.EngineConnected
	})
	sameStamps(t, "after a failed inspect in a full sync", before, only(stamps(t, h.dir.Root()), rel(containersDir, x), rel(containersDir, y)))
	if res, _, _ := h.result(); !strings.Contains(res.Message, "could not be read") || !strings.Contains(res.Message, "injected fault") {
		t.Errorf("message %q does not report the failed inspect", res.Message)
	}
	// Other objects are still mirrored meanwhile.
	z := uniq("rdd-z")
	f.create(z, nil)
	h.waitFile(containersDir, z, "state: created")

	// I6: x starts; the inspect its event asks for fails, again and again,
	// and its file keeps the last known state.
	_, failedBefore := p.counts(xid)
	f.check("start x", f.cli.ContainerStart(f.ctx(), xid, container.StartOptions{}))
	h.waitFor("two more failed inspects of x (retried with backoff)", func() bool {
		_, failed := p.counts(xid)
		return failed >= failedBefore+2
	})
	if !hasLines(h.file(containersDir, x), "state: created") {
		t.Errorf("x's file changed while x could not be inspected:\n%s", h.file(containersDir, x))
	}
	// The engine recovers: the retry, not an event or a full sync, brings
	// the file up to date.
	p.failInspect(xid, false)
	h.waitFile(containersDir, x, "state: running")
	if res, _, _ := h.result(); strings.Contains(res.Message, "could not be read") {
		t.Errorf("message %q still reports a failure", res.Message)
	}
}

// A failed list keeps the last list in force (no file removed) and is
// retried with backoff; what changed meanwhile is reflected once a list
// succeeds, with no further event.
func TestListFaults(t *testing.T) {
	t.Parallel()
	f := newFixture(t, sharedSocket())
	p := startProxy(t, sharedSocket())
	x, y := uniq("rdd-lx"), uniq("rdd-ly")
	f.create(x, nil)
	h := newHarness(t, p.socket, WithFullSync(time.Hour)).start()
	h.waitFile(containersDir, x, "state: created")
	before := only(stamps(t, h.dir.Root()), rel(containersDir, x))

	p.failLists(true)
	f.create(y, nil)
	h.waitFor("two failed container lists", func() bool { return p.listFailures() >= 2 })
	res, _, _ := h.result()
	if res.Reason != statusdir.EngineConnected || !strings.Contains(res.Message, "list containers") {
		t.Errorf("%s: %q; want Connected, reporting the failed list", res.Reason, res.Message)
	}
	if res.Requeue < 100*time.Millisecond {
		t.Errorf("requeue %s while the list fails: want a backoff", res.Requeue)
	}
	sameStamps(t, "while lists fail", before, only(stamps(t, h.dir.Root()), rel(containersDir, x)))
	if h.file(containersDir, y) != nil {
		t.Errorf("y has a file although no list showed it")
	}

	p.failLists(false)
	h.waitFile(containersDir, y, "state: created")
	sameStamps(t, "after the lists recover", before, only(stamps(t, h.dir.Root()), rel(containersDir, x)))
}

// Objects created and removed while the event watcher starts are all
// reflected: the stream is anchored on the engine's clock before the full
// sync, and replays what happened in between.
func TestEventsDuringStartup(t *testing.T) {
	t.Parallel()
	f := newFixture(t, sharedSocket())
	p := startProxy(t, sharedSocket())
	p.holdEvents()
	a, b, c := uniq("rdd-a"), uniq("rdd-b"), uniq("rdd-c")
	bid := f.create(b, nil)
	h := newHarness(t, p.socket, WithFullSync(time.Hour)).start()
	p.waitArrived(t)
	h.waitFile(containersDir, b, "state: created") // the full sync ran

	f.create(a, nil)
	f.check("remove b", f.cli.ContainerRemove(f.ctx(), bid, container.RemoveOptions{}))
	cid := f.create(c, nil)
	f.check("remove c", f.cli.ContainerRemove(f.ctx(), cid, container.RemoveOptions{}))
	vol := uniq("rdd-startup")
	_, err := f.cli.VolumeCreate(f.ctx(), volume.CreateOptions{Name: vol})
	f.check("create volume", err)
	t.Cleanup(func() { f.cli.VolumeRemove(context.Background(), vol, true) })

	p.release()
	h.waitFile(containersDir, a, "state: created")
	h.waitGone(containersDir, b)
	h.waitFile(volumesDir, vol, "name: "+vol)
	if h.file(containersDir, c) != nil {
		t.Errorf("a container created and removed during start-up has a file")
	}
}

// A watcher that panics wakes the loop, which reconnects and syncs
// everything again without rewriting a file that did not change.
func TestWatcherPanic(t *testing.T) {
	t.Parallel()
	f := newFixture(t, sharedSocket())
	keep, boom := uniq("rdd-keep"), uniq("rdd-boom")
	h := newHarness(t, sharedSocket(), WithFullSync(time.Hour))
	var once sync.Once
	h.e.onEvent = func(m events.Message) {
		if m.Actor.Attributes["name"] == boom {
			once.Do(func() { panic("injected panic") })
		}
	}
	f.create(keep, nil)
	h.start()
	h.waitFile(containersDir, keep, "state: created")
	before := only(stamps(t, h.dir.Root()), rel(containersDir, keep))
	connects := h.e.connects.Load()

	bid := f.create(boom, nil)
	h.waitFile(containersDir, boom, "state: created")
	h.waitFor("a reconnect", func() bool { return h.e.connects.Load() > connects })
	sameStamps(t, "after the reconnect", before, only(stamps(t, h.dir.Root()), rel(containersDir, keep)))

	// Events flow again on the new connection.
	renamed := uniq("rdd-boom2")
	f.check("rename", f.cli.ContainerRename(f.ctx(), bid, renamed))
	h.waitFile(containersDir, renamed, "name: "+renamed)
	h.waitGone(containersDir, boom)
}

// A private dockerd, so that every file of the status directory is this
// test's: a no-op resync writes nothing, and a dockerd killed and started
// again re-converges with nothing lost and no file rewritten.
func TestPrivateDockerd(t *testing.T) {
	t.Parallel()
	d := startDockerd(t)
	f := newFixture(t, d.socket)
	name := uniq("rdd-private")
	f.create(name, nil)
	vol := "My_Vol_Ume"
	_, err := f.cli.VolumeCreate(f.ctx(), volume.CreateOptions{Name: vol, Labels: map[string]string{"a": "1"}})
	f.check("create volume", err)
	f.tag(f.base, "rddtest/private:1")

	settle := func(h *harness) {
		t.Helper()
		h.waitReason(statusdir.EngineConnected)
		h.waitFile(containersDir, name, "state: created")
		h.waitFile(volumesDir, vol, "name: "+vol)
		h.waitFile(imagesDir, "rddtest/private:1", "tag: rddtest/private:1")
		h.waitFile(namespacesDir, statusdir.MobyNamespace, "name: moby", "containers: 1", "volumes: 1")
	}

	t.Run("no-op resync writes nothing", func(t *testing.T) {
		h := newHarness(t, d.socket, WithFullSync(20*time.Millisecond)).start()
		settle(h)
		h.waitPasses(1)
		before := stamps(t, h.dir.Root())
		_, passes, written := h.result()
		h.waitPasses(10) // each one a full sync
		res, after, writtenAfter := h.result()
		if writtenAfter != written {
			t.Errorf("%d full resyncs wrote %d files", after-passes, writtenAfter-written)
		}
		sameStamps(t, "after full resyncs", before, stamps(t, h.dir.Root()))
		if res.Reason != statusdir.EngineConnected {
			t.Errorf("reason = %s: %s", res.Reason, res.Message)
		}
	})

	t.Run("dockerd killed and restarted", func(t *testing.T) {
		h := newHarness(t, d.socket).start()
		settle(h)
		before := stamps(t, h.dir.Root())

		d.kill()
		res := h.waitReason(statusdir.EngineConnecting)
		if !leavesAll(res) || !strings.Contains(res.Message, d.socket) {
			t.Errorf("while dockerd is down: mirrors %v, message %q; want every directory left, naming the socket", res.Mirrors, res.Message)
		}
		h.waitPasses(2) // reconnect attempts
		sameStamps(t, "while dockerd is down", before, stamps(t, h.dir.Root()))

		d.start(t)
		h.waitReason(statusdir.EngineConnected) // a pass that synced everything
		sameStamps(t, "after dockerd came back", before, stamps(t, h.dir.Root()))
		if got := len(stamps(t, h.dir.Root())); got != len(before) {
			t.Errorf("%d files after the restart, want %d", got, len(before))
		}

		// Events flow on the new connection.
		_, err := f.cli.VolumeCreate(f.ctx(), volume.CreateOptions{Name: "after-restart"})
		f.check("create volume", err)
		h.waitFile(volumesDir, "after-restart", "name: after-restart")
	})
}

// A watcher that ends soon after its connection was made counts as a flap:
// the reconnect backs off, so a watcher that dies on every start does not
// spin. One that ends after a long life reconnects at once.
func TestWatcherEndBackoff(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "none.sock")
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ended := func(lived time.Duration) *conn {
		cli, err := client.NewClientWithOpts(client.WithHost("unix://" + socket))
		if err != nil {
			t.Fatal(err)
		}
		w := &watcher{cancel: func() {}, done: make(chan struct{}), err: errors.New("event stream: EOF")}
		close(w.done)
		return &conn{socket: socket, cli: cli, watcher: w, mirror: newMirror(), since: now.Add(-lived)}
	}
	for _, tc := range []struct {
		lived   time.Duration
		requeue time.Duration // of the pass that finds the watcher ended
		message string
	}{
		{time.Second, minRetry, "event stream: EOF"},                 // a flap: wait before reconnecting
		{time.Hour, minRetry, "Cannot connect to the Docker daemon"}, // reconnect at once (it fails here)
	} {
		e := New(WithLogger(testLogger(t)))
		e.now = func() time.Time { return now }
		e.keep(ended(tc.lived))
		res := e.Reconcile(t.Context(), moby(true), socket)
		if res.Reason != statusdir.EngineConnecting || res.Requeue != tc.requeue || !strings.Contains(res.Message, tc.message) {
			t.Errorf("lived %s: %s, requeue %s, %q; want Connecting, %s, %q", tc.lived, res.Reason, res.Requeue, res.Message, tc.requeue, tc.message)
		}
		if e.current() != nil {
			t.Errorf("lived %s: the ended connection is still kept", tc.lived)
		}
	}
}

// mirrorOf is the mirror of dir in res.
func mirrorOf(res reconciler.EngineResult, dir string) (statusdir.Mirror, bool) {
	for _, m := range res.Mirrors {
		if m.Dir == dir {
			return m, true
		}
	}
	return statusdir.Mirror{}, false
}

// leavesAll reports whether res names every object directory and leaves
// each as it is.
func leavesAll(res reconciler.EngineResult) bool {
	for _, dir := range statusdir.ObjectDirs() {
		if m, ok := mirrorOf(res, dir); !ok || !m.Leave {
			return false
		}
	}
	return len(res.Mirrors) == len(statusdir.ObjectDirs())
}

// A container with 80 labels of 60 KB (dockerd accepts them: a 4.8 MB
// inspect) gets a file that the readers accept: its labels cut to the
// bounds, and the file says so. Every value kept is a prefix of the real
// one with a note of its length.
func TestHostileLabelsBounded(t *testing.T) {
	t.Parallel()
	f := newFixture(t, sharedSocket())
	h := newHarness(t, sharedSocket()).start()
	h.waitReason(statusdir.EngineConnected)
	name := uniq("rdd-labels")
	big := strings.Repeat("v", 60<<10)
	f.create(name, func(cfg *container.Config, _ *container.HostConfig) {
		for i := range 80 {
			cfg.Labels[fmt.Sprintf("big.%02d", i)] = big
		}
	})
	data := h.waitFile(containersDir, name, "name: "+name)
	if len(data) >= statusdir.MaxFileSize/8 {
		t.Errorf("the file has %d bytes; the bounds allow far less", len(data))
	}
	objs, err := statusdir.ReadObjects(h.dir.Root(), containersDir)
	if err != nil {
		t.Fatal(err)
	}
	var got statusdir.ContainerFile
	for _, o := range objs {
		if o.Name == name {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			if err := yaml.Unmarshal(o.Data, &got); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !slices.Equal(got.Truncated, []string{"labels"}) {
		t.Errorf("truncated = %q, want [labels]", got.Truncated)
	}
	if len(got.Labels) < 2 || len(got.Labels) > 81 {
		t.Errorf("%d labels kept", len(got.Labels))
	}
	for k, v := range got.Labels {
		if k == "rdd.test" {
			continue
		}
		if !strings.HasPrefix(v, big[:maxValueLen]) || !strings.HasSuffix(v, fmt.Sprintf("[truncated by rdd: %d bytes in all]", len(big))) {
			t.Errorf("label %s = %.40q...%q", k, v, v[max(0, len(v)-60):])
		}
	}
}

// Engine.Plan compares with the mirror of the last pass: a created
// container declared running is a start, and nothing is planned for what
// is already in its state.
func TestEnginePlan(t *testing.T) {
	t.Parallel()
	f := newFixture(t, sharedSocket())
	name := uniq("rdd-plan")
	f.create(name, nil)
	e := New(WithLogger(testLogger(t)))
	defer e.Close()
	if got := e.Plan(&schema.Desired{Containers: map[string]schema.Container{name: {State: "running"}}}); len(got) != 1 || got[0].From != "unknown" {
		t.Errorf("plan before any pass = %+v, want one change from unknown", got)
	}
	if res := e.Reconcile(t.Context(), moby(true), sharedSocket()); res.Reason != statusdir.EngineConnected {
		t.Fatalf("%s: %s", res.Reason, res.Message)
	}
	got := e.Plan(&schema.Desired{Containers: map[string]schema.Container{name: {State: "running"}, f.base + "-none": {State: "absent"}}})
	want := []effect.Change{{Key: schema.FormatPath([]string{"containers", name, "state"}), From: "created", To: "running",
		Effect: effect.Live, Action: "start", Why: "the engine starts it"}}
	if !slices.Equal(got, want) {
		t.Errorf("plan = %+v, want %+v", got, want)
	}
}
