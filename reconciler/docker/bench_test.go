//go:build linux

package docker

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
	"github.com/fsnotify/fsnotify"

	"github.com/rddproject/rdd/reconciler"
	"github.com/rddproject/rdd/statusdir"
)

// The benchmarks run against one private dockerd per test process, filled
// with RDD_BENCH_CONTAINERS containers (default 50), RDD_BENCH_VOLUMES
// volumes (default 15) and RDD_BENCH_TAGS image tags (default 5). The
// issue's figure is 1,000 / 300 / 100:
//
//	RDD_BENCH_CONTAINERS=1000 RDD_BENCH_VOLUMES=300 RDD_BENCH_TAGS=100 \
//	  go test ./reconciler/docker -run '^$' -bench . -benchtime 20x
//
// Every figure is reported next to a baseline measured in the same run.

type benchWorld struct {
	d                         *dockerd
	cli                       *client.Client
	containers, volumes, tags int
	names                     []string // container names
	once                      sync.Once
	err                       error
}

var world benchWorld

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v >= 0 {
		return v
	}
	return def
}

// benchEngine returns the populated private dockerd, started by the first
// benchmark that needs it and stopped when the test process ends.
func benchEngine(b *testing.B) *benchWorld {
	b.Helper()
	world.once.Do(func() {
		w := &world
		w.d = launchDockerd(b)
		stopWorld = w.d.cleanup
		cli, err := client.NewClientWithOpts(client.WithHost("unix://"+w.d.socket), client.WithAPIVersionNegotiation())
		if err != nil {
			w.err = err
			return
		}
		w.cli = cli
		w.containers = envInt("RDD_BENCH_CONTAINERS", 50)
		w.volumes = envInt("RDD_BENCH_VOLUMES", 15)
		w.tags = envInt("RDD_BENCH_TAGS", 5)
		base := baseImage(b, w.cli, w.d.socket)
		ctx := context.Background()
		w.names = make([]string, w.containers)
		jobs := make(chan func() error)
		errs := make(chan error, 8)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for job := range jobs {
					if err := job(); err != nil {
						select {
						case errs <- err:
						default:
						}
					}
				}
			})
		}
		for i := range w.containers {
			w.names[i] = fmt.Sprintf("bench-%05d", i)
			jobs <- func() error {
				_, err := w.cli.ContainerCreate(ctx, &container.Config{Image: base, Labels: map[string]string{"i": strconv.Itoa(i)}},
					&container.HostConfig{NetworkMode: "none"}, nil, nil, w.names[i])
				return err
			}
		}
		for i := range w.volumes {
			jobs <- func() error {
				_, err := w.cli.VolumeCreate(ctx, volume.CreateOptions{Name: fmt.Sprintf("Bench_Vol_%05d", i)})
				return err
			}
		}
		for i := range w.tags {
			jobs <- func() error { return w.cli.ImageTag(ctx, base, fmt.Sprintf("rddbench/img:%d", i)) }
		}
		close(jobs)
		wg.Wait()
		select {
		case w.err = <-errs:
		default:
		}
	})
	if world.err != nil {
		b.Fatal(world.err)
	}
	return &world
}

// stopWorld stops the benchmarks' dockerd; TestMain calls it.
var stopWorld = func() {}

func quietEngine(opts ...Option) *Engine {
	return New(append([]Option{WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))}, opts...)...)
}

// writeAll writes a pass's mirrors the way the loop does; it returns the
// files written or removed.
func writeAll(b *testing.B, dir *statusdir.Dir, res reconciler.EngineResult) int {
	n := 0
	for _, m := range res.Mirrors {
		c, err := dir.SyncMirror(m)
		if err != nil {
			b.Fatal(err)
		}
		n += c
	}
	return n
}

// BenchmarkFullSync: one full sync (list and inspect everything, render,
// and compare with the files on disk) against the bare cost of the same
// calls (the same inspect call, which also returns the raw response) with
// the same client and the same number of inspects in flight, interleaved
// in the same run, in alternating order. Reported: sync-ms/op and
// bare-ms/op (engine only), sync+write-ms/op (with the file comparison),
// and their ratios.
func BenchmarkFullSync(b *testing.B) {
	w := benchEngine(b)
	e := quietEngine()
	defer e.Close()
	dir, err := statusdir.Open(filepath.Join(b.TempDir(), "status"))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	res := e.Reconcile(ctx, moby(true), w.d.socket)
	if res.Reason != statusdir.EngineConnected {
		b.Fatalf("%s: %s", res.Reason, res.Message)
	}
	writeAll(b, dir, res)
	cli := e.current().cli

	bare := func() {
		list, err := cli.ContainerList(ctx, container.ListOptions{All: true})
		if err != nil {
			b.Fatal(err)
		}
		ids := make([]string, len(list))
		for i, s := range list {
			ids[i] = s.ID
		}
		next := make(chan string)
		var wg sync.WaitGroup
		for range min(e.workers, len(ids)) {
			wg.Go(func() {
				for id := range next {
					if _, _, err := cli.ContainerInspectWithRaw(ctx, id, false); err != nil {
						b.Error(err)
					}
				}
			})
		}
		for _, id := range ids {
			next <- id
		}
		close(next)
		wg.Wait()
		if _, err := cli.ImageList(ctx, image.ListOptions{}); err != nil {
			b.Fatal(err)
		}
		if _, err := cli.VolumeList(ctx, volume.ListOptions{}); err != nil {
			b.Fatal(err)
		}
	}

	var tBare, tSync, tWrite time.Duration
	written := 0
	b.ResetTimer()
	sync := func() {
		e.current().mirror.nextFull = time.Time{} // a full sync is due
		t0 := time.Now()
		res := e.Reconcile(ctx, moby(true), w.d.socket)
		tSync += time.Since(t0)
		if cm, _ := mirrorOf(res, statusdir.ContainersDir); res.Reason != statusdir.EngineConnected || len(cm.Files) != w.containers {
			b.Fatalf("%s: %s (%d containers)", res.Reason, res.Message, len(cm.Files))
		}
		t0 = time.Now()
		written += writeAll(b, dir, res)
		tWrite += time.Since(t0)
	}
	// Which one runs first alternates: each pays for what dockerd still
	// does after the other in turn.
	i := 0
	for b.Loop() {
		if i%2 == 1 {
			sync()
		}
		t0 := time.Now()
		bare()
		tBare += time.Since(t0)
		if i%2 == 0 {
			sync()
		}
		i++
	}
	n := float64(b.N)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / n }
	b.ReportMetric(ms(tBare), "bare-ms/op")
	b.ReportMetric(ms(tSync), "sync-ms/op")
	b.ReportMetric(ms(tSync+tWrite), "sync+write-ms/op")
	b.ReportMetric(float64(tSync)/float64(tBare), "sync/bare")
	b.ReportMetric(float64(tSync+tWrite)/float64(tBare), "sync+write/bare")
	b.ReportMetric(float64(tSync+tWrite)/float64(tBare), "full-sync-x") // the target figure (bench/report)
	b.ReportMetric(float64(written)/n, "files-written/op")
	b.ReportMetric(float64(w.containers), "containers")
}

// BenchmarkNoopResync: a full resync of an engine in which nothing changed
// writes no file (S2, S3). Reported as files-written/op, which must be 0.
func BenchmarkNoopResync(b *testing.B) {
	w := benchEngine(b)
	e := quietEngine()
	defer e.Close()
	dir, err := statusdir.Open(filepath.Join(b.TempDir(), "status"))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	writeAll(b, dir, e.Reconcile(ctx, moby(true), w.d.socket))
	written := 0
	for b.Loop() {
		e.current().mirror.nextFull = time.Time{}
		written += writeAll(b, dir, e.Reconcile(ctx, moby(true), w.d.socket))
	}
	b.ReportMetric(float64(written)/float64(b.N), "files-written/op")
	b.ReportMetric(float64(written)/float64(b.N), "full-sync-writes") // the target figure (bench/report)
	b.ReportMetric(float64(w.containers), "containers")
	if written != 0 {
		b.Errorf("%d no-op full resyncs wrote %d files", b.N, written)
	}
}

// BenchmarkEventLatency: from a docker call (a rename, which changes one
// file name) returning to the new status file being on disk, through the
// event stream, a wake-up, a pass and SyncMirror. Reported: p50-ms and p99-ms,
// next to the docker call itself (api-ms/op).
func BenchmarkEventLatency(b *testing.B) {
	w := benchEngine(b)
	h := newHarness(b, w.d.socket)
	h.e.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	arrived := make(chan time.Time, 1)
	h.e.onEvent = func(m events.Message) {
		if m.Action == events.ActionRename {
			select {
			case arrived <- time.Now():
			default:
			}
		}
	}
	h.start()
	h.waitReason(statusdir.EngineConnected)
	target := w.names[0]
	h.waitFile(statusdir.ContainersDir, target)
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		b.Fatal(err)
	}
	defer fw.Close()
	if err := fw.Add(filepath.Join(h.dir.Root(), statusdir.ContainersDir)); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	names := [2]string{target, target + "-renamed"}
	var lat, ev []time.Duration
	var api time.Duration
	i := 0
	for b.Loop() {
		from, to := names[i%2], names[(i+1)%2]
		i++
		want := h.path(statusdir.ContainersDir, to)
		t0 := time.Now()
		if err := w.cli.ContainerRename(ctx, from, to); err != nil {
			b.Fatal(err)
		}
		api += time.Since(t0)
		for done := false; !done; {
			select {
			case ev := <-fw.Events:
				done = ev.Name == want && ev.Op.Has(fsnotify.Create)
			case err := <-fw.Errors:
				b.Fatal(err)
			case <-time.After(waitTimeout):
				b.Fatalf("no file %s after %s", want, waitTimeout)
			}
		}
		lat = append(lat, time.Since(t0))
		select {
		case at := <-arrived:
			ev = append(ev, at.Sub(t0))
		default:
		}
	}
	if i%2 == 1 { // leave the container under its own name
		w.cli.ContainerRename(ctx, names[1], names[0])
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	pct := func(ds []time.Duration, p int) float64 {
		ds = slices.Sorted(slices.Values(ds))
		return ms(ds[min(len(ds)-1, len(ds)*p/100)])
	}
	b.ReportMetric(pct(lat, 50), "p50-ms")
	b.ReportMetric(pct(lat, 99), "p99-ms")
	b.ReportMetric(pct(lat, 99), "event-to-file-p99-ms") // the target figures (bench/report)
	b.ReportMetric(float64(w.containers), "containers")
	b.ReportMetric(ms(api)/float64(len(lat)), "api-ms/op")
	if len(ev) > 0 {
		// From the docker call to its event reaching the watcher.
		b.ReportMetric(pct(ev, 50), "event-p50-ms")
		b.ReportMetric(pct(ev, 99), "event-p99-ms")
		b.ReportMetric(pct(lat, 50)/(pct(ev, 50)+bareInspectP50(b, w.cli, target)), "event-to-file-x")
	}
	// Where a pass spends its time: the engine, and the atomic, fsynced
	// writes of statusdir.
	h.mu.Lock()
	rt, wt := h.reconcileTimes[1:], h.writeTimes[1:] // without the first, full, sync
	h.mu.Unlock()
	b.ReportMetric(pct(rt, 50), "pass-engine-p50-ms")
	b.ReportMetric(pct(rt, 99), "pass-engine-p99-ms")
	b.ReportMetric(pct(wt, 50), "pass-write-p50-ms")
	b.ReportMetric(pct(wt, 99), "pass-write-p99-ms")
}
