//go:build linux

package docker

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/rddproject/rdd/statusdir"
)

// createMany creates n containers named prefix-00000... in the engine of
// cli, 8 at a time, and returns their names.
func createMany(t testing.TB, cli *client.Client, base, prefix string, n int) []string {
	t.Helper()
	names := make([]string, n)
	next := make(chan int)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range next {
				_, err := cli.ContainerCreate(context.Background(), &container.Config{Image: base, Labels: map[string]string{"i": strconv.Itoa(i)}},
					&container.HostConfig{NetworkMode: "none"}, nil, nil, names[i])
				if err != nil {
					select {
					case errs <- fmt.Errorf("create %s: %w", names[i], err):
					default:
					}
				}
			}
		})
	}
	for i := range n {
		names[i] = fmt.Sprintf("%s-%05d", prefix, i)
		next <- i
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	return names
}

// countFiles is the number of object files in sub.
func (h *harness) countFiles(sub string) int {
	entries, err := os.ReadDir(filepath.Join(h.dir.Root(), sub))
	if err != nil {
		return -1
	}
	n := 0
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), statusdir.ObjectExt) {
			n++
		}
	}
	return n
}

// With RDD_TEST_CONTAINERS (default 1,000) containers mirrored, a pass
// that follows one event (a rename) writes the new name's file, removes
// the old one, and touches no other file: every other file keeps its
// inode, modification time and bytes. The pass is incremental: its Delta
// follows the last sync and names only the two files.
func TestEventPassTouchesOnlyItsFiles(t *testing.T) {
	d := startDockerd(t)
	cli := dockerClient(t, d.socket)
	n := envInt("RDD_TEST_CONTAINERS", 1000)
	names := createMany(t, cli, baseImage(t, cli, d.socket), "many", n)
	h := newHarness(t, d.socket).start()
	h.waitReason(statusdir.EngineConnected)
	h.waitFor(fmt.Sprintf("%d container files", n), func() bool { return h.countFiles(containersDir) == n })
	h.wakeAndWait() // settled: nothing left in flight
	before := stamps(t, h.dir.Root())

	target, renamed := names[n/2], names[n/2]+"-renamed"
	if err := cli.ContainerRename(context.Background(), target, renamed); err != nil {
		t.Fatal(err)
	}
	h.waitFile(containersDir, renamed, "name: "+renamed)
	h.waitGone(containersDir, target)
	h.mu.Lock()
	res := h.last
	h.mu.Unlock()
	if m, _ := mirrorOf(res, containersDir); m.Delta.Base == 0 || len(m.Delta.Names) > 2 {
		t.Errorf("the event pass was not incremental: Delta %+v", m.Delta)
	}
	after := stamps(t, h.dir.Root())
	delete(before, rel(containersDir, target))
	if _, ok := after[rel(containersDir, renamed)]; !ok {
		t.Fatalf("no file for %s", renamed)
	}
	delete(after, rel(containersDir, renamed))
	sameStamps(t, "the event pass", before, after)
	if len(after) != len(before) {
		t.Errorf("%d files after the event pass, want %d", len(after), len(before))
	}
}

// rssMB is this process's resident set size in MB, from /proc.
func rssMB(t testing.TB) float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				t.Fatal(err)
			}
			return float64(kb) / 1024
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// The scale case of DESIGN section 8, run when RDD_SCALE_CONTAINERS is set
// (5000 for the target): that many containers mirrored, the process's RSS
// and Go heap are logged against the 60 MB target; then a flood of 500
// create/remove pairs, after which containers/ holds exactly the files of
// `docker ps -a`, and the time from the last call to that is logged.
func TestScaleMirror(t *testing.T) {
	n := envInt("RDD_SCALE_CONTAINERS", 0)
	if n == 0 {
		t.Skip("RDD_SCALE_CONTAINERS is not set (5000 for the DESIGN section 8 target)")
	}
	d := startDockerd(t)
	cli := dockerClient(t, d.socket)
	base := baseImage(t, cli, d.socket)
	t0 := time.Now()
	names := createMany(t, cli, base, "scale", n)
	t.Logf("created %d containers in %s", n, time.Since(t0).Round(time.Millisecond))
	h := newHarness(t, d.socket).start()
	h.waitReason(statusdir.EngineConnected)
	h.waitFor(fmt.Sprintf("%d container files", n), func() bool { return h.countFiles(containersDir) == n })
	h.wakeAndWait()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss := rssMB(t)
	t.Logf("%d containers mirrored: RSS %.1f MB (target 60), Go heap in use %.1f MB, Go runtime total %.1f MB",
		n, rss, float64(ms.HeapInuse)/(1<<20), float64(ms.Sys)/(1<<20))
	if rss > 60 {
		t.Errorf("RSS %.1f MB with %d containers mirrored, want at most 60", rss, n)
	}

	// The flood: 500 create/remove pairs, 8 in flight, each creating a
	// container and removing one of the mirrored ones, so that the end
	// state has as many containers as the start, under other names.
	const pairs = 500
	next := make(chan int)
	var wg sync.WaitGroup
	ctx := context.Background()
	for range 8 {
		wg.Go(func() {
			for i := range next {
				_, err := cli.ContainerCreate(ctx, &container.Config{Image: base}, &container.HostConfig{NetworkMode: "none"}, nil, nil, fmt.Sprintf("flood-%05d", i))
				if err != nil {
					t.Error(err)
				}
				if err := cli.ContainerRemove(ctx, names[i], container.RemoveOptions{}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	for i := range min(pairs, n) {
		next <- i
	}
	close(next)
	wg.Wait()
	last := time.Now()
	list, err := cli.ContainerList(ctx, container.ListOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, s := range list {
		listed[statusdir.ObjectFile(containerName(s))] = true
	}
	matches := func() bool {
		entries, err := os.ReadDir(filepath.Join(h.dir.Root(), containersDir))
		if err != nil || len(entries) != len(listed) {
			return false
		}
		for _, e := range entries {
			if !listed[e.Name()] {
				return false
			}
		}
		return true
	}
	h.waitFor("containers/ to match docker ps -a", matches)
	t.Logf("flood of %d create/remove pairs: containers/ matches docker ps -a (%d containers) %s after the last call",
		pairs, len(list), time.Since(last).Round(time.Millisecond))
}
