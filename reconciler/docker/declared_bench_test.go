//go:build linux

package docker

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/rddproject/rdd/schema"
	"github.com/rddproject/rdd/statusdir"
)

// buildRdd builds cmd/rdd into dir.
func buildRdd(dir string) (string, error) {
	bin := filepath.Join(dir, "rdd")
	out, err := exec.Command("go", "build", "-o", bin, "../../cmd/rdd").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("build rdd: %v\n%s", err, out)
	}
	return bin, nil
}

// BenchmarkDeclaredStop: the time from saving desired.yaml with a
// container declared stopped (it was declared running) to the ready marker
// of that digest, through the real daemon (fsnotify, validation, a pass
// that stops it, status writes), against a bare stop of the same container
// in the same run: the Engine API call alone (api-stop) and the docker CLI
// (cli-stop, when a docker binary is on PATH). The target is rdd/api-stop
// within 1.2. The daemon runs with RDD_BENCH_DEBOUNCE (default 1ms, as
// bench/'s EditToReady, so that the figure is rdd's own cost; the default
// 50ms debounce adds that much by design). It uses the benchmarks' private
// dockerd:
//
//	go test ./reconciler/docker -run '^$' -bench DeclaredStop -benchtime 20x
func BenchmarkDeclaredStop(b *testing.B) {
	w := benchEngine(b)
	bin, err := buildRdd(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	debounce := os.Getenv("RDD_BENCH_DEBOUNCE")
	if debounce == "" {
		debounce = "1ms"
	}
	ctx := context.Background()
	base := baseImage(b, w.cli, w.d.socket)
	const name = "bench-declared-stop"
	res, err := w.cli.ContainerCreate(ctx, &container.Config{Image: base}, &container.HostConfig{NetworkMode: "none"}, nil, nil, name)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { w.cli.ContainerRemove(context.Background(), res.ID, container.RemoveOptions{Force: true}) })

	home := b.TempDir()
	desired := filepath.Join(home, "desired.yaml")
	n := 0
	save := func(state string) string {
		n++
		data := fmt.Sprintf("# %d\nrunning: true\nvm: {driver: host}\ncontainerEngine: {socket: %s}\n", n, w.d.socket)
		if state != "" {
			data += fmt.Sprintf("containers:\n  %s: {state: %s}\n", name, state)
		}
		tmp := desired + ".tmp"
		if err := os.WriteFile(tmp, []byte(data), 0o644); err != nil {
			b.Fatal(err)
		}
		if err := os.Rename(tmp, desired); err != nil {
			b.Fatal(err)
		}
		return schema.Digest([]byte(data))
	}
	ready := func(digest string) {
		wctx, cancel := context.WithTimeout(ctx, waitTimeout)
		defer cancel()
		err := statusdir.Watch(wctx, filepath.Join(home, "status"), func(s statusdir.Snapshot) (bool, error) {
			if s.Failed != nil && s.Failed.Digest == digest {
				return true, fmt.Errorf("failed: %s", s.Failed.Message)
			}
			return s.Ready != nil && s.Ready.Digest == digest, nil
		})
		if err != nil {
			b.Fatalf("wait for ready of %s: %v", digest, err)
		}
	}
	first := save("")
	daemon := exec.Command(bin, "--home", home, "daemon", "--log-level", "warn", "--debounce", debounce)
	daemon.Stderr = os.Stderr
	if err := daemon.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		daemon.Process.Signal(os.Interrupt)
		daemon.Wait()
	})
	ready(first)
	docker, _ := exec.LookPath("docker")

	start := func() {
		if err := w.cli.ContainerStart(ctx, res.ID, container.StartOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	var rdd, api, cli []time.Duration
	for b.Loop() {
		// Undeclared, so that the daemon leaves it alone: the bare stops.
		start()
		t0 := time.Now()
		if err := w.cli.ContainerStop(ctx, res.ID, container.StopOptions{}); err != nil {
			b.Fatal(err)
		}
		api = append(api, time.Since(t0))
		if docker != "" {
			start()
			cmd := exec.Command(docker, "stop", name)
			cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+w.d.socket)
			t0 = time.Now()
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("docker stop: %v\n%s", err, out)
			}
			cli = append(cli, time.Since(t0))
		}
		// Declared running (rdd starts it), then stopped: timed.
		ready(save(wantRunning))
		t0 = time.Now()
		ready(save(wantStopped))
		rdd = append(rdd, time.Since(t0))
		ready(save(""))
	}
	ms := func(ds []time.Duration) float64 {
		ds = slices.Sorted(slices.Values(ds))
		return float64(ds[len(ds)/2]) / float64(time.Millisecond)
	}
	b.ReportMetric(ms(rdd), "rdd-p50-ms")
	b.ReportMetric(ms(api), "api-stop-p50-ms")
	b.ReportMetric(ms(rdd)/ms(api), "rdd/api-stop")
	b.ReportMetric(ms(rdd)/ms(api), "declared-stop-x") // the target figure (bench/report)
	if len(cli) > 0 {
		b.ReportMetric(ms(cli), "cli-stop-p50-ms")
		b.ReportMetric(ms(rdd)/ms(cli), "rdd/cli-stop")
	}
}
