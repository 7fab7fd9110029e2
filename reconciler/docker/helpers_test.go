//go:build linux

package docker

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/fsnotify/fsnotify"

	"github.com/rddproject/rdd/reconciler"
	"github.com/rddproject/rdd/schema"
	"github.com/rddproject/rdd/statusdir"
)

// waitTimeout bounds every wait of these tests; waits end on a pass of the
// engine or a file event, never on a sleep.
const waitTimeout = 30 * time.Second

// unavailable skips a test that needs something this machine lacks, but
// fails it under CI=true: CI must run the engine tests, not skip them.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true: engine tests must run)", msg)
	}
	t.Skip(msg)
}

// sharedSocket is the socket of the machine's dockerd.
func sharedSocket() string {
	if dh := os.Getenv("DOCKER_HOST"); strings.HasPrefix(dh, "unix://") {
		return strings.TrimPrefix(dh, "unix://")
	}
	return "/var/run/docker.sock"
}

// dockerClient returns a client for the dockerd at socket, or skips (fails
// under CI) when it does not answer.
func dockerClient(t testing.TB, socket string) *client.Client {
	t.Helper()
	cli, err := client.NewClientWithOpts(client.WithHost("unix://"+socket), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx); err != nil {
		cli.Close()
		unavailable(t, "no dockerd at %s: %v", socket, err)
	}
	cli.NegotiateAPIVersion(ctx)
	t.Cleanup(func() { cli.Close() })
	return cli
}

// uniq returns a name prefix no other test (or test run) uses.
func uniq(prefix string) string {
	b := make([]byte, 4)
	rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// testProgram is the one process the test containers run: it waits for
// SIGTERM and exits 0; with "exit N" it exits N at once; with "crash N" it
// exits 1 on its first N runs in the same container (counted in a file of
// the container's own file system), then waits for SIGTERM.
const testProgram = `package main

import (
	"os"
	"os/signal"
	"strconv"
	"syscall"
)

func main() {
	if len(os.Args) > 2 && os.Args[1] == "exit" {
		n, _ := strconv.Atoi(os.Args[2])
		os.Exit(n)
	}
	if len(os.Args) > 2 && os.Args[1] == "crash" {
		n, _ := strconv.Atoi(os.Args[2])
		b, _ := os.ReadFile("/runs")
		runs, _ := strconv.Atoi(string(b))
		os.WriteFile("/runs", []byte(strconv.Itoa(runs+1)), 0o644)
		if runs < n {
			os.Exit(1)
		}
	}
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM, syscall.SIGINT)
	<-c
}
`

// rootfs is a tar holding the static test program as /rddtest: the whole
// file system of the test image. It is built once per test process.
var rootfs = sync.OnceValues(func() ([]byte, error) {
	dir, err := os.MkdirTemp("", "rdd-image-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	for name, data := range map[string]string{"main.go": testProgram, "go.mod": "module rddtest\n\ngo 1.22\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			return nil, err
		}
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("build the test program: %w", err)
	}
	cmd := exec.Command(gobin, "build", "-trimpath", "-ldflags=-s -w", "-o", "rddtest", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOFLAGS=", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build the test program: %v\n%s", err, out)
	}
	bin, err := os.ReadFile(filepath.Join(dir, "rddtest"))
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "rddtest", Mode: 0o755, Size: int64(len(bin)), Typeflag: tar.TypeReg}); err != nil {
		return nil, err
	}
	tw.Write(bin)
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
})

// importImage imports the test file system as ref with the given CMD and
// returns the image ID; changing cmd gives another image.
func importImage(ctx context.Context, cli *client.Client, ref string, cmd ...string) (string, error) {
	fs, err := rootfs()
	if err != nil {
		return "", err
	}
	if len(cmd) == 0 {
		cmd = []string{"/rddtest"}
	}
	change := `CMD ["` + strings.Join(cmd, `", "`) + `"]`
	rc, err := cli.ImageImport(ctx, image.ImportSource{Source: bytes.NewReader(fs), SourceName: "-"}, ref, image.ImportOptions{Changes: []string{change}})
	if err != nil {
		return "", fmt.Errorf("import %s: %w", ref, err)
	}
	out, _ := io.ReadAll(rc)
	rc.Close()
	res, err := cli.ImageInspect(ctx, ref)
	if err != nil {
		return "", fmt.Errorf("import %s: %v: %s", ref, err, out)
	}
	return res.ID, nil
}

// baseImages caches one imported test image per dockerd socket, removed
// when the test process ends (TestMain).
var baseImages = struct {
	sync.Mutex
	refs map[string]string // socket -> ref
}{refs: map[string]string{}}

// baseImage returns a ref of the test image on the dockerd of cli.
func baseImage(t testing.TB, cli *client.Client, socket string) string {
	t.Helper()
	baseImages.Lock()
	defer baseImages.Unlock()
	if ref, ok := baseImages.refs[socket]; ok {
		return ref
	}
	ref := uniq("rddtest-base") + ":latest"
	if _, err := importImage(context.Background(), cli, ref); err != nil {
		t.Fatal(err)
	}
	baseImages.refs[socket] = ref
	return ref
}

func TestMain(m *testing.M) {
	code := m.Run()
	baseImages.Lock()
	for socket, ref := range baseImages.refs {
		if cli, err := client.NewClientWithOpts(client.WithHost("unix://"+socket), client.WithAPIVersionNegotiation()); err == nil {
			cli.ImageRemove(context.Background(), ref, image.RemoveOptions{Force: true, PruneChildren: true})
			cli.Close()
		}
	}
	baseImages.Unlock()
	stopWorld()
	os.Exit(code)
}

// fixture creates objects for one test and removes exactly those at its end.
type fixture struct {
	t      testing.TB
	cli    *client.Client
	socket string
	base   string
}

func newFixture(t testing.TB, socket string) *fixture {
	cli := dockerClient(t, socket)
	return &fixture{t: t, cli: cli, socket: socket, base: baseImage(t, cli, socket)}
}

func (f *fixture) ctx() context.Context { return context.Background() }

// create creates a container (not started) running args, or the default
// program, with the given name; extra settings via mod.
func (f *fixture) create(name string, mod func(*container.Config, *container.HostConfig), args ...string) string {
	f.t.Helper()
	cfg := &container.Config{Image: f.base, Labels: map[string]string{"rdd.test": name}}
	if len(args) > 0 {
		cfg.Cmd = args
	}
	hc := &container.HostConfig{NetworkMode: "none"}
	if mod != nil {
		mod(cfg, hc)
	}
	res, err := f.cli.ContainerCreate(f.ctx(), cfg, hc, nil, nil, name)
	if err != nil {
		f.t.Fatalf("create container %s: %v", name, err)
	}
	f.t.Cleanup(func() {
		f.cli.ContainerRemove(context.Background(), res.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
	})
	return res.ID
}

func (f *fixture) check(what string, err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatalf("%s: %v", what, err)
	}
}

// tag tags the image src as ref, and removes that tag at the end.
func (f *fixture) tag(src, ref string) {
	f.t.Helper()
	f.check("tag "+ref, f.cli.ImageTag(f.ctx(), src, ref))
	f.t.Cleanup(func() { f.cli.ImageRemove(context.Background(), ref, image.RemoveOptions{}) })
}

// harness drives an Engine the way the loop does: a pass on every wake-up
// and every requeue, writing the mirrors with statusdir.SyncDirDelta. Tests wait
// on its passes, never on sleeps.
type harness struct {
	t    testing.TB
	e    *Engine
	dir  *statusdir.Dir
	kick chan struct{}

	mu      sync.Mutex
	desired schema.Desired
	socket  string
	last    reconciler.EngineResult
	passes  int
	gen     int // bumped by set; lastGen is the one the last pass used
	lastGen int
	written int           // files written or removed by all passes
	passed  chan struct{} // closed at the end of each pass
	// Time spent in Reconcile and in SyncMirror by each pass.
	reconcileTimes, writeTimes []time.Duration
}

func newHarness(t testing.TB, socket string, opts ...Option) *harness {
	t.Helper()
	dir, err := statusdir.Open(filepath.Join(t.TempDir(), "status"))
	if err != nil {
		t.Fatal(err)
	}
	opts = append([]Option{WithLogger(testLogger(t))}, opts...)
	h := &harness{
		t:       t,
		e:       New(opts...),
		dir:     dir,
		kick:    make(chan struct{}, 1),
		desired: schema.Desired{Running: true, ContainerEngine: schema.ContainerEngine{Name: "moby"}},
		socket:  socket,
		passed:  make(chan struct{}),
	}
	return h
}

// start runs the passes until the test ends.
func (h *harness) start() *harness {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go h.run(ctx, done)
	// As the daemon does: a file removed by hand wakes a pass, and makes
	// the next sync of its directory a full one (statusdir.SyncDirDelta).
	watching := make(chan error, 1)
	go func() { watching <- h.dir.WatchRemovals(ctx, h.wake) }()
	h.t.Cleanup(func() {
		cancel()
		<-done
		if err := <-watching; err != nil {
			h.t.Errorf("watch removals: %v", err)
		}
		h.e.Close()
	})
	return h
}

func (h *harness) run(ctx context.Context, done chan struct{}) {
	defer close(done)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.e.Changes():
		case <-h.kick:
		case <-timer.C:
		}
		h.mu.Lock()
		d, socket, gen := h.desired, h.socket, h.gen
		h.mu.Unlock()
		t0 := time.Now()
		res := h.e.Reconcile(ctx, &d, socket)
		if ctx.Err() != nil {
			return
		}
		t1 := time.Now()
		n := 0
		for _, m := range res.Mirrors {
			c, err := h.dir.SyncMirror(m)
			n += c
			if err != nil {
				h.t.Errorf("sync %s: %v", m.Dir, err)
			}
		}
		h.mu.Lock()
		h.reconcileTimes = append(h.reconcileTimes, t1.Sub(t0))
		h.writeTimes = append(h.writeTimes, time.Since(t1))
		h.last, h.written, h.lastGen = res, h.written+n, gen
		h.passes++
		close(h.passed)
		h.passed = make(chan struct{})
		h.mu.Unlock()
		next := res.Requeue
		if next <= 0 {
			next = time.Minute
		}
		timer.Reset(next)
	}
}

// wake asks for a pass, as the daemon's watch of status/ does after a
// file is removed by hand.
func (h *harness) wake() {
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

// set changes the desired state and the socket, and asks for a pass.
func (h *harness) set(socket string, mod func(*schema.Desired)) {
	h.mu.Lock()
	h.socket = socket
	if mod != nil {
		mod(&h.desired)
	}
	h.gen++
	h.mu.Unlock()
	h.wake()
}

func (h *harness) result() (reconciler.EngineResult, int, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.last, h.passes, h.written
}

// wakeAndWait wakes the engine and waits for a pass that ends after the
// wake. The pass channel is taken before the wake: taken after it, a pass
// that ran in between would be missed and the wait would hang.
func (h *harness) wakeAndWait() {
	h.t.Helper()
	h.mu.Lock()
	ch := h.passed
	h.mu.Unlock()
	h.wake()
	select {
	case <-ch:
	case <-time.After(waitTimeout):
		h.t.Fatalf("no engine pass in %s", waitTimeout)
	}
}

// waitPasses waits for n more passes.
func (h *harness) waitPasses(n int) {
	h.t.Helper()
	for range n {
		h.mu.Lock()
		ch := h.passed
		h.mu.Unlock()
		select {
		case <-ch:
		case <-time.After(waitTimeout):
			h.t.Fatalf("no engine pass in %s", waitTimeout)
		}
	}
}

// waitFor waits until cond holds after a pass.
func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.After(waitTimeout)
	for {
		h.mu.Lock()
		ch := h.passed
		h.mu.Unlock()
		if cond() {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			res, passes, _ := h.result()
			h.t.Fatalf("timed out after %s waiting for %s; %d passes, last: %s: %s", waitTimeout, what, passes, res.Reason, res.Message)
		}
	}
}

func (h *harness) waitReason(reason string) reconciler.EngineResult {
	h.t.Helper()
	var res reconciler.EngineResult
	h.waitFor("ContainerEngineReady reason "+reason, func() bool {
		res, _, _ = h.result()
		return res.Reason == reason
	})
	return res
}

func (h *harness) path(sub, name string) string {
	return filepath.Join(h.dir.Root(), sub, statusdir.ObjectFile(name))
}

// file returns the object file sub/name, or nil when it does not exist.
func (h *harness) file(sub, name string) []byte {
	data, err := os.ReadFile(h.path(sub, name))
	if err != nil {
		return nil
	}
	return data
}

// waitFile waits until sub/name exists and contains every line of want
// ("key: value" lines of the YAML file).
func (h *harness) waitFile(sub, name string, want ...string) []byte {
	h.t.Helper()
	var data []byte
	h.waitFor(fmt.Sprintf("%s/%s with %q", sub, name, want), func() bool {
		data = h.file(sub, name)
		return data != nil && hasLines(data, want...)
	})
	return data
}

func (h *harness) waitGone(sub, name string) {
	h.t.Helper()
	h.waitFor(fmt.Sprintf("%s/%s to be removed", sub, name), func() bool { return h.file(sub, name) == nil })
}

func hasLines(data []byte, want ...string) bool {
	lines := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		lines[strings.TrimSpace(sc.Text())] = true
	}
	for _, w := range want {
		if !lines[w] {
			return false
		}
	}
	return true
}

// fileStamp identifies one version of a file on disk: a rewrite, even with
// the same bytes, changes the inode (rename over) or the time.
type fileStamp struct {
	ino   uint64
	mtime time.Time
	data  string
}

func stamps(t testing.TB, root string) map[string]fileStamp {
	t.Helper()
	out := map[string]fileStamp{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out[rel] = fileStamp{ino: fi.Sys().(*syscall.Stat_t).Ino, mtime: fi.ModTime(), data: string(data)}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sameStamps fails when a file of want was removed or rewritten in got.
// Only the files of want are compared: a shared dockerd has other users.
func sameStamps(t testing.TB, when string, want, got map[string]fileStamp) {
	t.Helper()
	for rel, w := range want {
		g, ok := got[rel]
		switch {
		case !ok:
			t.Errorf("%s: %s was removed", when, rel)
		case g.data != w.data:
			t.Errorf("%s: %s changed:\n%s\nwas:\n%s", when, rel, g.data, w.data)
		case g != w:
			t.Errorf("%s: %s was rewritten with the same bytes", when, rel)
		}
	}
}

// only keeps the stamps of the given files (sub/name.yaml paths).
func only(all map[string]fileStamp, files ...string) map[string]fileStamp {
	out := map[string]fileStamp{}
	for _, f := range files {
		if s, ok := all[f]; ok {
			out[f] = s
		}
	}
	return out
}

func rel(sub, name string) string { return filepath.Join(sub, statusdir.ObjectFile(name)) }

type testWriter struct {
	mu sync.Mutex
	t  testing.TB
	on bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.on {
		w.t.Logf("%s", bytes.TrimRight(p, "\n"))
	}
	return len(p), nil
}

// testLogger logs into the test's output until the test ends.
func testLogger(t testing.TB) *slog.Logger {
	w := &testWriter{t: t, on: true}
	t.Cleanup(func() {
		w.mu.Lock()
		w.on = false
		w.mu.Unlock()
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// dockerd is a private dockerd of one test: its own data root, exec root
// and socket, no bridge and no iptables, so that killing and restarting it
// touches nothing else.
type dockerd struct {
	bin    string
	dir    string
	socket string
	cmd    *exec.Cmd
	exited chan struct{}
}

// startDockerd starts a private dockerd for the test, stopped and removed
// at its end, or skips (fails under CI=true) when this machine cannot run
// one.
func startDockerd(t testing.TB) *dockerd {
	t.Helper()
	d := launchDockerd(t)
	t.Cleanup(d.cleanup)
	return d
}

// launchDockerd starts a private dockerd; the caller calls cleanup.
func launchDockerd(t testing.TB) *dockerd {
	t.Helper()
	bin, err := exec.LookPath("dockerd")
	if err != nil {
		unavailable(t, "no dockerd binary for a private engine: %v", err)
	}
	if os.Geteuid() != 0 {
		unavailable(t, "a private dockerd needs root")
	}
	dir, err := os.MkdirTemp("", "rdd-dockerd-")
	if err != nil {
		t.Fatal(err)
	}
	d := &dockerd{bin: bin, dir: dir, socket: filepath.Join(dir, "d.sock")}
	if err := os.WriteFile(filepath.Join(dir, "daemon.json"), []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d.start(t)
	return d
}

// start starts dockerd in a network namespace of its own: with --bridge=none
// dockerd deletes any docker0 interface it sees, and the machine's dockerd
// needs its own.
func (d *dockerd) start(t testing.TB) {
	t.Helper()
	log, err := os.OpenFile(filepath.Join(d.dir, "dockerd.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	os.Remove(d.socket)
	cmd := exec.Command(d.bin,
		"--config-file", filepath.Join(d.dir, "daemon.json"),
		"--data-root", filepath.Join(d.dir, "data"),
		"--exec-root", filepath.Join(d.dir, "exec"),
		"--pidfile", filepath.Join(d.dir, "dockerd.pid"),
		"--host", "unix://"+d.socket,
		"--bridge=none", "--iptables=false", "--ip6tables=false",
	)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Add(d.dir); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start dockerd: %v", err)
	}
	d.cmd, d.exited = cmd, make(chan struct{})
	go func(exited chan struct{}) { cmd.Wait(); close(exited) }(d.exited)
	// The socket appears when dockerd listens; requests made before it
	// serves wait in the listen queue.
	deadline := time.After(waitTimeout)
	for {
		if _, err := os.Stat(d.socket); err == nil {
			break
		}
		select {
		case <-w.Events:
		case <-d.exited:
			out, _ := os.ReadFile(filepath.Join(d.dir, "dockerd.log"))
			t.Fatalf("dockerd exited at start:\n%s", tail(out, 2000))
		case <-deadline:
			t.Fatalf("dockerd did not create %s in %s", d.socket, waitTimeout)
		}
	}
	cli, err := client.NewClientWithOpts(client.WithHost("unix://"+d.socket), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	// dockerd may replace its socket while it starts: a refused
	// connection is retried on a short tick until the deadline.
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		_, err := cli.Info(ctx)
		if err == nil {
			break
		}
		select {
		case <-tick.C:
			continue
		case <-d.exited:
		case <-ctx.Done():
		}
		out, _ := os.ReadFile(filepath.Join(d.dir, "dockerd.log"))
		t.Fatalf("private dockerd does not answer: %v\n%s", err, tail(out, 3000))
	}
}

// kill kills dockerd at once, as a crash would. Its containerd dies with
// it; the pid file it leaves could name a zombie that the next dockerd
// would wait for, so it goes too.
func (d *dockerd) kill() {
	d.cmd.Process.Kill()
	<-d.exited
	os.Remove(filepath.Join(d.dir, "exec", "containerd", "containerd.pid"))
}

// stop stops dockerd cleanly.
func (d *dockerd) stop() {
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(20 * time.Second):
		d.kill()
	}
}

func (d *dockerd) cleanup() {
	if d.cmd != nil {
		d.stop()
	}
	// dockerd mounts below its roots; a killed one leaves them behind.
	for range 10 {
		mounts := mountsBelow(d.dir)
		if len(mounts) == 0 {
			break
		}
		for _, m := range mounts {
			syscall.Unmount(m, syscall.MNT_DETACH)
		}
	}
	if err := os.RemoveAll(d.dir); err != nil {
		fmt.Fprintf(os.Stderr, "remove private dockerd directory: %v\n", err)
	}
}

// mountsBelow lists mount points below dir, deepest first.
func mountsBelow(dir string) []string {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			out = append(out, f[4])
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// proxy is a fault-injecting HTTP proxy on a unix socket in front of a
// dockerd: it can fail chosen container inspects with a 500, hold event
// streams until released, and cut the event streams it carries.
type proxy struct {
	socket string
	srv    *http.Server

	mu         sync.Mutex
	failList   bool            // container lists fail
	listFailed int             // failed container lists
	fail       map[string]bool // container IDs whose inspect fails
	inspects   map[string]int  // inspect calls by container ID
	failed     map[string]int  // failed inspect calls by container ID
	deletes    map[string]int  // DELETE requests by path (API version stripped)
	loseDelete int             // this many DELETEs are carried out, but answered with a 500
	hold       chan struct{}   // while non-nil, /events waits until it is closed
	arrived    chan struct{}   // receives when an /events request arrives
	streams    map[int]context.CancelFunc
	nextID     int
}

var (
	versionPrefix = regexp.MustCompile(`^/v[0-9.]+`)
	inspectPath   = regexp.MustCompile(`^(?:/v[0-9.]+)?/containers/([^/]+)/json$`)
	listPath      = regexp.MustCompile(`^(?:/v[0-9.]+)?/containers/json$`)
)

func startProxy(t testing.TB, target string) *proxy {
	t.Helper()
	dir, err := os.MkdirTemp("", "rdd-proxy-")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{
		socket:   filepath.Join(dir, "p.sock"),
		fail:     map[string]bool{},
		inspects: map[string]int{},
		failed:   map[string]int{},
		deletes:  map[string]int{},
		arrived:  make(chan struct{}, 16),
		streams:  map[int]context.CancelFunc{},
	}
	l, err := net.Listen("unix", p.socket)
	if err != nil {
		t.Fatal(err)
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL.Scheme, r.Out.URL.Host = "http", "docker"
		},
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", target)
		}},
		FlushInterval: -1,
		ErrorLog:      nil,
	}
	p.srv = &http.Server{Handler: p.handler(rp)}
	go p.srv.Serve(l)
	t.Cleanup(func() {
		p.release()
		p.srv.Close()
		os.RemoveAll(dir)
	})
	return p
}

func (p *proxy) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodDelete {
			p.mu.Lock()
			p.deletes[versionPrefix.ReplaceAllString(r.URL.Path, "")]++
			lose := p.loseDelete > 0
			if lose {
				p.loseDelete--
			}
			p.mu.Unlock()
			if lose {
				// The engine deletes; its answer is lost on the way.
				next.ServeHTTP(httptest.NewRecorder(), r)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusInternalServerError)
				io.WriteString(w, `{"message":"injected lost response"}`)
				return
			}
		}
		if listPath.MatchString(r.URL.Path) {
			p.mu.Lock()
			fail := p.failList
			if fail {
				p.listFailed++
			}
			p.mu.Unlock()
			if fail {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusInternalServerError)
				io.WriteString(w, `{"message":"injected list fault"}`)
				return
			}
		} else if m := inspectPath.FindStringSubmatch(r.URL.Path); m != nil {
			id := m[1]
			p.mu.Lock()
			p.inspects[id]++
			fail := p.fail[id]
			if fail {
				p.failed[id]++
			}
			p.mu.Unlock()
			if fail {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusInternalServerError)
				io.WriteString(w, `{"message":"injected fault"}`)
				return
			}
		}
		if strings.HasSuffix(r.URL.Path, "/events") {
			select {
			case p.arrived <- struct{}{}:
			default:
			}
			p.mu.Lock()
			hold := p.hold
			p.mu.Unlock()
			if hold != nil {
				select {
				case <-hold:
				case <-r.Context().Done():
					return
				}
			}
			ctx, cancel := context.WithCancel(r.Context())
			p.mu.Lock()
			id := p.nextID
			p.nextID++
			p.streams[id] = cancel
			p.mu.Unlock()
			defer func() {
				p.mu.Lock()
				delete(p.streams, id)
				p.mu.Unlock()
				cancel()
			}()
			r = r.WithContext(ctx)
		}
		next.ServeHTTP(w, r)
	})
}

// failInspect makes every inspect of the container id fail (or succeed
// again).
func (p *proxy) failInspect(id string, fail bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fail[id] = fail
}

// failLists makes every container list fail (or succeed again), and
// returns how many failed so far.
func (p *proxy) failLists(fail bool) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failList = fail
	return p.listFailed
}

func (p *proxy) listFailures() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.listFailed
}

func (p *proxy) counts(id string) (inspects, failed int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inspects[id], p.failed[id]
}

// deleteCount is the number of DELETE requests for path (such as
// /volumes/NAME), and loseDeletes makes the next n deletes happen but
// answer a 500, as a connection lost after the request would.
func (p *proxy) deleteCount(path string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.deletes[path]
}

func (p *proxy) loseDeletes(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.loseDelete = n
}

// holdEvents makes new event streams wait until release.
func (p *proxy) holdEvents() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hold == nil {
		p.hold = make(chan struct{})
	}
}

func (p *proxy) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hold != nil {
		close(p.hold)
		p.hold = nil
	}
}

// cutStreams ends every event stream the proxy carries, as a dockerd that
// goes away would.
func (p *proxy) cutStreams() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.streams)
	for _, cancel := range p.streams {
		cancel()
	}
	return n
}

// waitArrived waits for an /events request to reach the proxy.
func (p *proxy) waitArrived(t testing.TB) {
	t.Helper()
	select {
	case <-p.arrived:
	case <-time.After(waitTimeout):
		t.Fatalf("no event stream reached the proxy in %s", waitTimeout)
	}
}
