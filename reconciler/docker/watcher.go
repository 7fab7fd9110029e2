package docker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
)

// dirty is what events said has changed since the loop last looked: the
// containers by ID, and whether images or volumes changed at all (they are
// listed again as a whole, which is one cheap call). The watcher goroutine
// adds to it; Reconcile takes it. The mutex is never held across anything
// that blocks.
type dirty struct {
	mu         sync.Mutex
	containers map[string]struct{}
	images     bool
	volumes    bool
}

func (d *dirty) add(containerID string, images, volumes bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if containerID != "" {
		if d.containers == nil {
			d.containers = map[string]struct{}{}
		}
		d.containers[containerID] = struct{}{}
	}
	d.images = d.images || images
	d.volumes = d.volumes || volumes
}

// take returns what is dirty and empties the set.
func (d *dirty) take() (containers map[string]struct{}, images, volumes bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	containers, images, volumes = d.containers, d.images, d.volumes
	d.containers, d.images, d.volumes = nil, false, false
	if containers == nil {
		containers = map[string]struct{}{}
	}
	return containers, images, volumes
}

// containerNoise are container actions that change nothing a container
// file shows. Every other container action, including ones this code does
// not know, marks the container dirty: an unknown action costs one inspect,
// while ignoring it could lose a state change.
var containerNoise = []string{
	string(events.ActionAttach), string(events.ActionDetach), string(events.ActionResize),
	string(events.ActionTop), string(events.ActionCopy), string(events.ActionArchivePath),
	string(events.ActionExtractToDir), string(events.ActionExport), string(events.ActionCheckpoint),
	"exec_", // exec_create, exec_start, exec_die, exec_detach
}

// classify says what an event makes dirty. It never decides what to do
// about it: the loop's next pass reads the objects again (level-triggered).
func classify(m events.Message) (containerID string, images, volumes bool) {
	action := string(m.Action)
	switch m.Type {
	case events.ContainerEventType:
		for _, n := range containerNoise {
			if action == n || strings.HasSuffix(n, "_") && strings.HasPrefix(action, n) {
				return "", false, false
			}
		}
		// A commit makes an image without an image event.
		return m.Actor.ID, action == string(events.ActionCommit), false
	case events.ImageEventType:
		return "", true, false
	case events.VolumeEventType:
		// Mounts come with every container start and stop; they change
		// nothing a volume file shows.
		return "", false, action != string(events.ActionMount) && action != string(events.ActionUnmount)
	}
	return "", false, false
}

// watcher follows dockerd's event stream in its own goroutine and records
// what changed in its dirty set. It never touches status files: it only
// wakes the loop. When the stream ends, fails or the goroutine panics, it
// records why and wakes the loop, which reconnects and syncs everything.
type watcher struct {
	dirty  dirty
	cancel context.CancelFunc
	done   chan struct{}

	mu  sync.Mutex
	err error // why the watcher ended; nil while it runs
}

// startWatcher starts following events from since (the daemon's clock, in
// the API's seconds.nanoseconds form). wake is called, without blocking,
// whenever something became dirty and when the watcher ends. onEvent, when
// set, sees every message first (tests use it to inject a panic).
func startWatcher(cli *client.Client, since string, wake func(), onEvent func(events.Message)) *watcher {
	ctx, cancel := context.WithCancel(context.Background())
	w := &watcher{cancel: cancel, done: make(chan struct{})}
	go w.run(ctx, cli, since, wake, onEvent)
	return w
}

func (w *watcher) run(ctx context.Context, cli *client.Client, since string, wake func(), onEvent func(events.Message)) {
	defer close(w.done)
	defer wake()
	defer func() {
		if r := recover(); r != nil {
			w.end(fmt.Errorf("event watcher panicked: %v", r))
		}
	}()
	f := filters.NewArgs(
		filters.Arg("type", string(events.ContainerEventType)),
		filters.Arg("type", string(events.ImageEventType)),
		filters.Arg("type", string(events.VolumeEventType)),
	)
	msgs, errs := cli.Events(ctx, events.ListOptions{Since: since, Filters: f})
	for {
		select {
		case m := <-msgs:
			if onEvent != nil {
				onEvent(m)
			}
			id, images, volumes := classify(m)
			if id != "" || images || volumes {
				w.dirty.add(id, images, volumes)
				wake()
			}
		case err, ok := <-errs:
			if !ok || err == nil {
				err = errors.New("event stream closed")
			}
			w.end(fmt.Errorf("event stream: %w", err))
			return
		case <-ctx.Done():
			w.end(ctx.Err())
			return
		}
	}
}

// end records the first reason the watcher ended.
func (w *watcher) end(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = err
	}
}

// ended returns why the watcher ended, or nil while it runs.
func (w *watcher) ended() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// stop ends the watcher and waits for its goroutine. The caller holds no
// lock (S1).
func (w *watcher) stop() {
	w.cancel()
	<-w.done
}
