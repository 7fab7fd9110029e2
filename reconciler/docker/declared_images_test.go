//go:build linux

package docker

import (
	"bytes"
	"context"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/volume"
	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/rddproject/rdd/reconciler"
	"github.com/rddproject/rdd/schema"
	"github.com/rddproject/rdd/statusdir"
)

// loopbackRegistry serves the registry API from memory on 127.0.0.1 for
// the test; dockerd takes registries on 127.0.0.0/8 as insecure (plain
// HTTP) without configuration. It returns host:port.
func loopbackRegistry(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: registry.New(registry.Logger(log.New(io.Discard, "", 0)))}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}

// push tags the image src as ref on the fixture's dockerd, pushes it, and
// removes the tag again: the image is then in the registry only (its
// layers stay, under the source's own tags).
func (f *fixture) push(src, ref string) {
	f.t.Helper()
	f.check("tag "+ref, f.cli.ImageTag(f.ctx(), src, ref))
	rc, err := f.cli.ImagePush(f.ctx(), ref, image.PushOptions{RegistryAuth: "e30="}) // {} in base64
	f.check("push "+ref, err)
	out, _ := io.ReadAll(rc)
	rc.Close()
	if bytes.Contains(out, []byte(`"error"`)) {
		f.t.Fatalf("push %s: %s", ref, out)
	}
	_, err = f.cli.ImageRemove(f.ctx(), ref, image.RemoveOptions{})
	f.check("untag "+ref, err)
	f.t.Cleanup(func() { f.cli.ImageRemove(context.Background(), ref, image.RemoveOptions{}) })
}

// logBuffer collects a logger's output for the test to read.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Images: present pulls from a registry running in the test on loopback,
// with its progress in the log; a reference the registry does not have is
// PullFailed; absent removes that tag only; an image in use is reported
// with its containers, and removed once they are gone.
func TestDeclaredImages(t *testing.T) {
	t.Parallel()
	f := newFixture(t, sharedSocket())
	var logs logBuffer
	h := newHarness(t, sharedSocket(), WithLogger(slog.New(slog.NewTextHandler(&logs, nil)))).start()
	h.waitReason(statusdir.EngineConnected)

	reg := loopbackRegistry(t)
	repo := reg + "/" + uniq("rddtest-pull")
	ref := repo + ":1"
	f.push(f.base, ref)
	missing := repo + ":nope"
	h.set(h.socket, func(d *schema.Desired) {
		d.Images = map[string]schema.Image{ref: {State: "present"}, missing: {State: "present"}}
	})
	out := h.waitDeclared(reconciler.OutcomeFailed, statusdir.ReasonPullFailed)
	if !strings.Contains(out.Message, `image "`+missing+`"`) {
		t.Errorf("failed message %q does not name %s", out.Message, missing)
	}
	h.waitFile(imagesDir, ref, "tag: "+ref, "declared: true", "desired: present", "reason: InState")
	h.waitFile(imagesDir, missing, "tag: "+missing, "desired: present", "reason: PullFailed")
	if _, err := f.cli.ImageInspect(f.ctx(), ref); err != nil {
		t.Errorf("declared present, not pulled: %v", err)
	}
	// The pull logs its end before it wakes the loop (the tag can be
	// listed before that).
	h.waitFor("the end of the pull in the log", func() bool { return strings.Contains(logs.String(), `msg="pulled image" ref=`+ref) })
	for _, want := range []string{`msg="pulling image" ref=` + ref, `msg="pull progress" ref=` + ref} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log does not say %s:\n%s", want, logs.String())
		}
	}

	// Absent: that tag goes; the image keeps its other tags.
	h.set(h.socket, func(d *schema.Desired) { d.Images = map[string]schema.Image{ref: {State: "absent"}} })
	h.waitDeclared(reconciler.OutcomeDone, "")
	h.waitGone(imagesDir, ref)
	if _, err := f.cli.ImageInspect(f.ctx(), f.base); err != nil {
		t.Errorf("the other tag of the image went too: %v", err)
	}

	// An image with one tag, used by a container: InUse, naming it; removed
	// once the container is gone.
	only := uniq("rddtest-only") + ":1"
	if _, err := importImage(f.ctx(), f.cli, only, "/rddtest", "only"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.cli.ImageRemove(context.Background(), only, image.RemoveOptions{Force: true}) })
	user := uniq("rdd-user")
	res, err := f.cli.ContainerCreate(f.ctx(), &container.Config{Image: only}, &container.HostConfig{NetworkMode: "none"}, nil, nil, user)
	f.check("create", err)
	t.Cleanup(func() { f.cli.ContainerRemove(context.Background(), res.ID, container.RemoveOptions{Force: true}) })
	// (Once the mirror knows the container, the message names it; before,
	// dockerd's refusal, naming its ID, is the message until the retry.)
	h.waitFile(containersDir, user, "name: "+user)
	h.set(h.socket, func(d *schema.Desired) { d.Images = map[string]schema.Image{only: {State: "absent"}} })
	out = h.waitDeclared(reconciler.OutcomeFailed, statusdir.ReasonInUse)
	if !strings.Contains(out.Message, `image "`+only+`": is in use by container(s) `+user) {
		t.Errorf("message %q does not name the container", out.Message)
	}
	h.waitFile(imagesDir, only, "reason: InUse", "desired: absent")
	f.check("remove user", f.cli.ContainerRemove(f.ctx(), res.ID, container.RemoveOptions{}))
	h.waitDeclared(reconciler.OutcomeDone, "")
	h.waitGone(imagesDir, only)
	if _, err := f.cli.ImageInspect(f.ctx(), only); err == nil {
		t.Errorf("image %s declared absent still exists", only)
	}
}

// One code path removes objects (review I2), and a delete that happened is
// never sent again: not when its answer was lost (the engine's list no
// longer shows the object: nothing to retry), not when the removal is asked
// for again before the list drops the object; and a delete answered "not
// found" counts as done.
func TestDeclaredRemoveOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, sharedSocket())
	p := startProxy(t, sharedSocket())
	h := newHarness(t, p.socket)
	h.e.policy.minRetry = 100 * time.Millisecond
	h.start()
	h.waitReason(statusdir.EngineConnected)
	vol := uniq("rdd-gone")
	t.Cleanup(func() { f.cli.VolumeRemove(context.Background(), vol, true) })
	_, err := f.cli.VolumeCreate(f.ctx(), volume.CreateOptions{Name: vol})
	f.check("create volume", err)
	h.waitFile(volumesDir, vol, "name: "+vol)

	p.loseDeletes(1)
	h.set(h.socket, func(d *schema.Desired) { d.Volumes = map[string]schema.Volume{vol: {State: "absent"}} })
	h.waitDeclared(reconciler.OutcomeDone, "")
	h.waitGone(volumesDir, vol)
	if n := p.deleteCount("/volumes/" + vol); n != 1 {
		t.Errorf("%d deletes, want 1: the one whose answer was lost, and no retry", n)
	}

	c := h.e.current()
	name := uniq("rdd-once")
	id := f.create(name, nil)
	r := removal{kind: kindContainers, name: name, id: id}
	before := p.deleteCount("/containers/" + id)
	for range 2 {
		if err := h.e.remove(f.ctx(), c, r); err != nil {
			t.Fatal(err)
		}
	}
	if n := p.deleteCount("/containers/"+id) - before; n != 1 {
		t.Errorf("%d deletes for two removals of the same container, want 1", n)
	}

	gone := uniq("rdd-never")
	if err := h.e.remove(f.ctx(), c, removal{kind: kindVolumes, name: gone}); err != nil {
		t.Errorf("removing a volume that is not there: %v, want done", err)
	}
	if n := p.deleteCount("/volumes/" + gone); n != 1 {
		t.Errorf("%d deletes of a volume that is not there, want 1", n)
	}
}

// With containerd as the engine, declared objects are reported as not
// supported, never silently ignored (S9).
func TestDeclaredContainerd(t *testing.T) {
	d := &schema.Desired{Running: true, ContainerEngine: schema.ContainerEngine{Name: "containerd"},
		Containers: map[string]schema.Container{"web": {State: "running"}}}
	res := New().Reconcile(t.Context(), d, "/nowhere.sock")
	if res.Declared.State != reconciler.OutcomeFailed || res.Declared.Reason != statusdir.ReasonNotSupported {
		t.Errorf("declared = %+v, want Failed NotSupported", res.Declared)
	}
	d.Containers = nil
	if res := New().Reconcile(t.Context(), d, "/nowhere.sock"); res.Declared.State != reconciler.OutcomeDone {
		t.Errorf("nothing declared: %+v, want Done", res.Declared)
	}
}
