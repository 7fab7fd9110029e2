package docker

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"

	"github.com/rddproject/rdd/backoff"
	"github.com/rddproject/rdd/statusdir"
)

// The three kinds of objects the engine lists.
const (
	kindContainers = "containers"
	kindImages     = "images"
	kindVolumes    = "volumes"
)

// errConnLost marks an error that means the engine no longer answers: the
// connection is dropped and the mirrors are kept as they are.
var errConnLost = errors.New("connection to the engine lost")

// mirror is what one connection knows of the engine. It is owned by the
// goroutine that calls Reconcile. A new connection starts a new mirror: the
// object files keep their names, since names come from the engine's objects
// and never from a connection.
type mirror struct {
	// The last successful list of each kind; nil until there is one. The
	// names of the object files come from these lists only. Containers are
	// by ID: a pass that follows events lists only the dirty ones (a list
	// filtered by ID) and merges that into the last full list.
	containers map[string]container.Summary
	images     []image.Summary
	volumes    []*volume.Volume

	// inspected holds the rendered file of each container by ID, as of its
	// last successful inspect.
	inspected map[string]inspected
	// retries holds containers whose last inspect failed, and lists that
	// failed, by kind: each is tried again after its backoff (review I6).
	retries     map[string]*retry
	listRetries map[string]*retry
	// pending holds dirty containers not handled yet because the list
	// failed; they wait for the list's retry.
	pending map[string]struct{}

	// imageFiles and volumeFiles are rendered when their list changes.
	imageFiles, volumeFiles map[string]statusdir.Entry
	dups                    map[string][]string // names that two objects claim, by kind

	nextFull       time.Time // when the next full sync is due; zero: at once
	fullContainers bool      // a full sync of containers is due (their list failed when one was)
}

type inspected struct {
	name    string // the name inspect saw
	data    []byte
	problem string                  // something in the file that is not understood (S9)
	file    statusdir.ContainerFile // what data renders, for declared containers' files
	sum     [sha256.Size]byte       // of the inspect response data was rendered from; zero: not from a plain inspect
}

type retry struct {
	attempts int
	at       time.Time // not before
	err      error
}

func newMirror() *mirror {
	return &mirror{
		inspected:   map[string]inspected{},
		retries:     map[string]*retry{},
		listRetries: map[string]*retry{},
		pending:     map[string]struct{}{},
		dups:        map[string][]string{},
	}
}

// failed records a failure of key and schedules its next try.
func failed(m map[string]*retry, key string, err error, now time.Time) {
	r := m[key]
	if r == nil {
		r = &retry{}
		m[key] = r
	}
	r.attempts++
	r.err = err
	r.at = now.Add(backoff.Delay(r.attempts, minRetry, maxRetry))
}

// due reports whether the retry of key is due at now.
func due(m map[string]*retry, key string, now time.Time) bool {
	r := m[key]
	return r != nil && !now.Before(r.at)
}

// refresh brings the mirror up to date: a full sync when one is due (on a
// new connection, then every fullEvery), else only what events marked dirty
// and retries that are due. It reports whether it was a full sync, and
// returns an error wrapping errConnLost when the engine stopped answering.
func (e *Engine) refresh(ctx context.Context, c *conn, now time.Time) (full bool, err error) {
	m := c.mirror
	ids, images, volumes := c.watcher.dirty.take()
	full = !now.Before(m.nextFull)
	if full {
		m.nextFull = now.Add(e.fullEvery)
		m.fullContainers = true // until a container list succeeds
	}
	for id := range m.retries {
		if due(m.retries, id, now) {
			ids[id] = struct{}{}
		}
	}
	maps.Copy(ids, m.pending)
	clear(m.pending)
	if m.listDue(kindContainers, m.containers == nil, len(ids) > 0, m.fullContainers, now) {
		if err := e.syncContainers(ctx, c, ids, m.fullContainers, now); err != nil {
			return full, err
		}
	} else {
		maps.Copy(m.pending, ids)
	}
	if m.listDue(kindImages, m.images == nil, images, full, now) {
		if err := e.syncImages(ctx, c, now); err != nil {
			return full, err
		}
	}
	if m.listDue(kindVolumes, m.volumes == nil, volumes, full, now) {
		return full, e.syncVolumes(ctx, c, now)
	}
	return full, nil
}

// listDue decides whether a kind is listed in this pass: on a full sync,
// while it has never been listed, and when it is dirty or its retry is due.
// A kind whose list failed waits for its backoff even when events make it
// dirty again, so a failing engine is not hammered.
func (m *mirror) listDue(kind string, never, dirty, full bool, now time.Time) bool {
	if r := m.listRetries[kind]; r != nil {
		return !now.Before(r.at)
	}
	return full || never || dirty
}

// listFailed handles a failed list: when the engine no longer answers at
// all, the connection is lost; otherwise the list is retried with backoff
// and the last good list stays in force.
func (e *Engine) listFailed(ctx context.Context, c *conn, kind string, err error, now time.Time) error {
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if _, perr := c.cli.Ping(pctx); perr != nil {
		return fmt.Errorf("%w: list %s: %v", errConnLost, kind, err)
	}
	failed(c.mirror.listRetries, kind, fmt.Errorf("list %s: %w", kind, err), now)
	return nil
}

// syncContainers lists the containers and inspects those that are new,
// dirty, renamed, due for a retry, or all of them on a full sync.
//
// The engine's list is a snapshot that may lag behind an inspect by a
// moment: a container renamed just now can be listed under its old name
// and inspected under the new one. Such a container is listed again at once
// (up to relistRounds times) before it is left to a retry.
func (e *Engine) syncContainers(ctx context.Context, c *conn, dirty map[string]struct{}, full bool, now time.Time) error {
	for round := 1; ; round++ {
		renamed, err := e.syncContainersOnce(ctx, c, dirty, full, now, round == relistRounds)
		if err != nil || len(renamed) == 0 || round == relistRounds {
			return err
		}
		dirty, full = renamed, false
	}
}

// relistRounds bounds the lists of one pass (see syncContainers).
const relistRounds = 3

// syncContainersOnce is one list and the inspects it calls for. It returns
// the containers that a list and an inspect named differently; on the last
// round they are retried later instead.
//
// Following events, only the dirty containers are listed (a list filtered
// by their IDs costs what they cost, not what all containers cost), and
// the result replaces what the last list said of them: a dirty container
// missing from it is gone. A full sync, or many dirty containers, lists
// everything.
func (e *Engine) syncContainersOnce(ctx context.Context, c *conn, dirty map[string]struct{}, full bool, now time.Time, last bool) (renamed map[string]struct{}, err error) {
	m := c.mirror
	opts := container.ListOptions{All: true}
	partial := !full && m.containers != nil && len(dirty) > 0 && len(dirty) <= max(maxFiltered, len(m.containers)/4)
	if partial {
		opts.Filters = filters.NewArgs()
		for id := range dirty {
			opts.Filters.Add("id", id)
		}
	}
	lctx, cancel := context.WithTimeout(ctx, callTimeout)
	list, err := c.cli.ContainerList(lctx, opts)
	cancel()
	if err != nil {
		maps.Copy(m.pending, dirty) // handled when the list's retry succeeds
		return nil, e.listFailed(ctx, c, kindContainers, err, now)
	}
	delete(m.listRetries, kindContainers)
	if partial {
		for id := range dirty {
			delete(m.containers, id)
		}
	} else {
		m.fullContainers = false
		m.containers = make(map[string]container.Summary, len(list))
	}
	for _, s := range list {
		if _, ok := dirty[s.ID]; ok || !partial {
			m.containers[s.ID] = slim(s)
		}
	}
	for id := range m.retries {
		if _, ok := m.containers[id]; !ok {
			delete(m.retries, id)
		}
	}
	for id := range m.inspected {
		if _, ok := m.containers[id]; !ok {
			delete(m.inspected, id)
		}
	}

	var todo []string
	for id, s := range m.containers {
		ent, known := m.inspected[id]
		_, isDirty := dirty[id]
		_, retrying := m.retries[id]
		switch {
		case full, isDirty:
		case !known && !retrying:
		case known && ent.name != containerName(s):
			// Renamed, and its event is still on the way.
		default:
			continue
		}
		todo = append(todo, id)
	}

	renamed = map[string]struct{}{}
	for _, r := range e.inspectAll(ctx, c.cli, todo, m.inspected) {
		listed := containerName(m.containers[r.id])
		switch {
		case r.err == nil && r.name == listed:
			m.inspected[r.id] = inspected{name: r.name, data: r.data, problem: r.problem, file: r.file, sum: r.sum}
			delete(m.retries, r.id)
		case r.err == nil:
			// The list and the inspect disagree on the name: the content
			// is not known under the listed name (its file is kept).
			delete(m.inspected, r.id)
			renamed[r.id] = struct{}{}
			if last {
				failed(m.retries, r.id, fmt.Errorf("container %s is listed as %q but inspected as %q", shortID(r.id), listed, r.name), now)
			}
		case cerrdefs.IsNotFound(r.err):
			// Removed since the list: no file, and not an error.
			delete(m.containers, r.id)
			delete(m.inspected, r.id)
			delete(m.retries, r.id)
		default:
			// Unknown content: the file stays as it is (review I5), and
			// the inspect is tried again after a backoff (review I6).
			delete(m.inspected, r.id)
			failed(m.retries, r.id, fmt.Errorf("inspect container %q: %w", listed, r.err), now)
		}
	}
	return renamed, nil
}

// maxFiltered is the number of dirty containers up to which a pass lists
// only them (or a quarter of all containers, if more).
const maxFiltered = 64

type inspectResult struct {
	id, name, problem string
	data              []byte
	file              statusdir.ContainerFile
	sum               [sha256.Size]byte // of the inspect response
	err               error
}

// inspectAll inspects containers with up to e.workers calls at once. A
// container whose inspect response is byte for byte the one that last
// rendered its entry in known is not rendered again: a full sync of an
// engine where little changed spends its time waiting for dockerd, not
// rendering YAML. known is only read while the inspects run.
func (e *Engine) inspectAll(ctx context.Context, cli *client.Client, ids []string, known map[string]inspected) []inspectResult {
	out := make([]inspectResult, len(ids))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(e.workers, len(ids)) {
		wg.Go(func() {
			for i := range next {
				prev, ok := known[ids[i]]
				out[i] = inspectOne(ctx, cli, ids[i], prev, ok)
			}
		})
	}
	for i := range ids {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// inspectOne inspects one container and renders its file, or reuses prev
// (when known) if the response is the one prev was rendered from.
func inspectOne(ctx context.Context, cli *client.Client, id string, prev inspected, known bool) inspectResult {
	ictx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	res, raw, err := cli.ContainerInspectWithRaw(ictx, id, false)
	if err != nil {
		return inspectResult{id: id, err: err}
	}
	sum := sha256.Sum256(raw)
	if known && prev.sum == sum && prev.data != nil {
		return inspectResult{id: id, name: prev.name, data: prev.data, problem: prev.problem, file: prev.file, sum: sum}
	}
	f, data, err := renderContainer(res)
	if err != nil {
		return inspectResult{id: id, err: err}
	}
	return inspectResult{id: id, name: f.Name, data: data, problem: f.Problem, file: f, sum: sum}
}

func (e *Engine) syncImages(ctx context.Context, c *conn, now time.Time) error {
	m := c.mirror
	lctx, cancel := context.WithTimeout(ctx, callTimeout)
	list, err := c.cli.ImageList(lctx, image.ListOptions{})
	cancel()
	if err != nil {
		return e.listFailed(ctx, c, kindImages, err, now)
	}
	if list == nil {
		list = []image.Summary{}
	}
	files, dups := objectFiles(list, imageNames, func(s image.Summary, name string) (statusdir.Entry, bool) {
		data, err := renderImage(s, name)
		return statusdir.FileEntry(data), err == nil // cannot fail for these plain values
	})
	delete(m.listRetries, kindImages)
	m.images, m.imageFiles, m.dups[kindImages] = list, files, dups
	return nil
}

func (e *Engine) syncVolumes(ctx context.Context, c *conn, now time.Time) error {
	m := c.mirror
	lctx, cancel := context.WithTimeout(ctx, callTimeout)
	res, err := c.cli.VolumeList(lctx, volume.ListOptions{})
	cancel()
	if err != nil {
		return e.listFailed(ctx, c, kindVolumes, err, now)
	}
	if len(res.Warnings) > 0 {
		// A volume driver did not answer: the list may be missing its
		// volumes, so it cannot decide which files go (review I5).
		failed(m.listRetries, kindVolumes, fmt.Errorf("list volumes: %s", strings.Join(res.Warnings, "; ")), now)
		return nil
	}
	list := res.Volumes
	if list == nil {
		list = []*volume.Volume{}
	}
	files, dups := objectFiles(list, volumeNames, func(v *volume.Volume, _ string) (statusdir.Entry, bool) {
		data, err := renderVolume(v)
		return statusdir.FileEntry(data), err == nil
	})
	delete(m.listRetries, kindVolumes)
	m.volumes, m.volumeFiles, m.dups[kindVolumes] = list, files, dups
	return nil
}

// files returns the mirror of every object directory: the files of those
// whose list is known, and statusdir.LeaveDir for one that has never been
// listed on this connection, which keeps its files as they are.
func (m *mirror) files() map[string]statusdir.Mirror {
	out := map[string]statusdir.Mirror{}
	for _, dir := range statusdir.ObjectDirs() {
		out[dir] = statusdir.LeaveDir(dir)
	}
	if m.containers != nil {
		list := slices.Collect(maps.Values(m.containers))
		files, dups := objectFiles(list, containerNames, func(s container.Summary, name string) (statusdir.Entry, bool) {
			ent, ok := m.inspected[s.ID]
			if !ok || ent.name != name {
				return statusdir.KeepFile, true // not known right now: keep the file
			}
			return statusdir.FileEntry(ent.data), true
		})
		m.dups[kindContainers] = dups
		out[statusdir.ContainersDir] = statusdir.Mirror{Dir: statusdir.ContainersDir, Files: files}
	}
	if m.images != nil {
		out[statusdir.ImagesDir] = statusdir.Mirror{Dir: statusdir.ImagesDir, Files: m.imageFiles}
	}
	if m.volumes != nil {
		out[statusdir.VolumesDir] = statusdir.Mirror{Dir: statusdir.VolumesDir, Files: m.volumeFiles}
	}
	ns := map[string]statusdir.Entry{statusdir.MobyNamespace: statusdir.KeepFile}
	if m.containers != nil && m.images != nil && m.volumes != nil {
		data, err := statusdir.Marshal(statusdir.NamespaceFile{
			Name:       statusdir.MobyNamespace,
			Containers: len(m.containers),
			Images:     len(m.images),
			Volumes:    len(m.volumes),
		})
		if err == nil {
			ns[statusdir.MobyNamespace] = statusdir.FileEntry(data)
		}
	}
	out[statusdir.NamespacesDir] = statusdir.Mirror{Dir: statusdir.NamespacesDir, Files: ns}
	return out
}

// problems describes, in a stable order, what the mirror could not read or
// did not understand (S9). The message of a settled engine is stable, so a
// no-op pass writes nothing.
func (m *mirror) problems() []string {
	var out []string
	for _, kind := range slices.Sorted(maps.Keys(m.listRetries)) {
		out = append(out, m.listRetries[kind].err.Error()+" (retrying; the last list stays in force)")
	}
	if n := len(m.retries); n > 0 {
		ids := slices.Sorted(maps.Keys(m.retries))
		msg := fmt.Sprintf("%d container(s) could not be read (retrying; their files are kept): %v", n, m.retries[ids[0]].err)
		out = append(out, msg)
	}
	var odd []string
	for _, ent := range m.inspected {
		if ent.problem != "" {
			odd = append(odd, fmt.Sprintf("container %q: %s", ent.name, ent.problem))
		}
	}
	slices.Sort(odd)
	out = append(out, odd...)
	for _, kind := range slices.Sorted(maps.Keys(m.dups)) {
		if d := m.dups[kind]; len(d) > 0 {
			out = append(out, fmt.Sprintf("%s: several objects are named %q; their files are kept as they are", kind, d))
		}
	}
	return out
}

// requeue is when the mirror next needs a pass by itself: the next full
// sync or the first retry that is due. A container's retry waits for the
// retry of the container list, when that failed too.
func (m *mirror) requeue(now time.Time) time.Duration {
	next := m.nextFull
	for _, r := range m.listRetries {
		next = minTime(next, r.at)
	}
	var floor time.Time
	if r := m.listRetries[kindContainers]; r != nil {
		floor = r.at
	}
	for _, r := range m.retries {
		next = minTime(next, maxTime(r.at, floor))
	}
	return max(next.Sub(now), time.Millisecond)
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// slim keeps of a listed container what the engine uses (its ID, names,
// state, image and volume mounts) and drops the rest, its labels above
// all: the mirror of 5,000 containers holds their list between passes.
func slim(s container.Summary) container.Summary {
	out := container.Summary{ID: s.ID, Names: s.Names, State: s.State, ImageID: s.ImageID}
	for _, mp := range s.Mounts {
		if mp.Type == mount.TypeVolume {
			out.Mounts = append(out.Mounts, container.MountPoint{Type: mp.Type, Name: mp.Name})
		}
	}
	return out
}
