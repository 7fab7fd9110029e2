package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/rddproject/rdd/desired"
	"github.com/rddproject/rdd/schema"
	"github.com/rddproject/rdd/statusdir"
)

var rddBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rdd-bench-")
	if err != nil {
		panic(err)
	}
	rddBin = filepath.Join(dir, "rdd")
	build := exec.Command("go", "build", "-o", rddBin, "../cmd/rdd")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// daemon starts `rdd daemon` in a fresh home with the given desired bytes
// and returns the home once the first verdict is ready.
func daemon(tb testing.TB, desired string, args ...string) (home string, cmd *exec.Cmd) {
	tb.Helper()
	home = tb.TempDir()
	if err := os.WriteFile(filepath.Join(home, "desired.yaml"), []byte(desired), 0o644); err != nil {
		tb.Fatal(err)
	}
	cmd = exec.Command(rddBin, append([]string{"--home", home, "daemon", "--log-level", "warn"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	waitReady(tb, home, schema.Digest([]byte(desired)))
	return home, cmd
}

// waitReady waits, on fsnotify, for the ready marker of digest.
func waitReady(tb testing.TB, home, digest string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := statusdir.Watch(ctx, filepath.Join(home, "status"), func(s statusdir.Snapshot) (bool, error) {
		if s.Failed != nil && s.Failed.Digest == digest {
			return true, fmt.Errorf("failed: %s", s.Failed.Message)
		}
		return s.Ready != nil && s.Ready.Digest == digest, nil
	})
	if err != nil {
		tb.Fatalf("wait for ready of %s: %v", digest, err)
	}
}

func content(i int) string {
	return fmt.Sprintf("# edit %d\nrunning: true\nvm: {driver: host}\n", i)
}

// writeAtomic saves like an editor that renames a temp file over the name.
func writeAtomic(tb testing.TB, path, data string) {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(data), 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkEditToReady: save desired.yaml with a change that needs no
// action (C1), then wait for the ready marker carrying its digest. The
// daemon runs with --debounce 1ms so the figure is rdd's own cost; the
// default debounce (50ms) adds that much by design. Each iteration also
// runs the bare path of BenchmarkBaselineNotifyValidate, interleaved, so
// that both see the same machine: the target figures are
// edit-to-ready-x (p50 over the bare p50) and edit-to-ready-p99-ms.
func BenchmarkEditToReady(b *testing.B) {
	home, _ := daemon(b, content(0), "--debounce", "1ms")
	path := filepath.Join(home, "desired.yaml")
	bare := newBare(b)
	var lat, bareLat []time.Duration
	i := 0
	for b.Loop() {
		i++
		bareLat = append(bareLat, bare.edit(b, i))
		c := content(i)
		start := time.Now()
		writeAtomic(b, path, c)
		waitReady(b, home, schema.Digest([]byte(c)))
		lat = append(lat, time.Since(start))
	}
	p50, p99 := percentiles(lat)
	bare50, _ := percentiles(bareLat)
	b.ReportMetric(p50, "p50-ms")
	b.ReportMetric(p99, "p99-ms")
	b.ReportMetric(bare50, "bare-p50-ms")
	b.ReportMetric(p50/bare50, "edit-to-ready-x")
	b.ReportMetric(p99, "edit-to-ready-p99-ms")
}

// BenchmarkEditToReadyFragments is BenchmarkEditToReady with ten
// fragments in desired.d/ (DESIGN section 14): every pass reads, digests
// and validates eleven files and the merged result.
func BenchmarkEditToReadyFragments(b *testing.B) {
	home, _ := daemon(b, content(0), "--debounce", "1ms")
	src := desired.Source{Desired: filepath.Join(home, "desired.yaml"), Fragments: filepath.Join(home, "desired.d")}
	if err := os.Mkdir(src.Fragments, 0o755); err != nil {
		b.Fatal(err)
	}
	for i := range 10 {
		frag := fmt.Sprintf("# fragment %d\ncontainers:\n  c%d: {state: absent}\nvm: {cpus: %d}\n", i, i, i+1)
		writeAtomic(b, filepath.Join(src.Fragments, fmt.Sprintf("%02d.yaml", i)), frag)
	}
	waitReady(b, home, desired.Digest(src))
	var lat []time.Duration
	i := 0
	for b.Loop() {
		i++
		c := content(i)
		start := time.Now()
		writeAtomic(b, src.Desired, c)
		waitReady(b, home, desired.Digest(src))
		lat = append(lat, time.Since(start))
	}
	p50, p99 := percentiles(lat)
	b.ReportMetric(p50, "p50-ms")
	b.ReportMetric(p99, "p99-ms")
}

// BenchmarkBaselineNotifyValidate is the bare cost rdd cannot avoid: the
// same save, the fsnotify event on the directory, a read and a schema
// validation, in one process.
func BenchmarkBaselineNotifyValidate(b *testing.B) {
	bare := newBare(b)
	var lat []time.Duration
	i := 0
	for b.Loop() {
		i++
		lat = append(lat, bare.edit(b, i))
	}
	p50, p99 := percentiles(lat)
	b.ReportMetric(p50, "p50-ms")
	b.ReportMetric(p99, "p99-ms")
}

// bareEdit is the baseline of an edit: a watched directory and the schema.
type bareEdit struct {
	path string
	w    *fsnotify.Watcher
	s    *schema.Schema
}

func newBare(b *testing.B) *bareEdit {
	dir := b.TempDir()
	w, err := fsnotify.NewWatcher()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { w.Close() })
	if err := w.Add(dir); err != nil {
		b.Fatal(err)
	}
	return &bareEdit{path: filepath.Join(dir, "desired.yaml"), w: w, s: schema.Default()}
}

// edit saves content(i), waits for its event, reads and validates it, and
// returns how long that took.
func (e *bareEdit) edit(b *testing.B, i int) time.Duration {
	start := time.Now()
	writeAtomic(b, e.path, content(i))
	for ev := range e.w.Events {
		if ev.Name == e.path && ev.Has(fsnotify.Create) {
			break
		}
	}
	data, err := os.ReadFile(e.path)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := e.s.Parse(e.path, data); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// percentiles returns the p50 and p99 of lat in milliseconds.
func percentiles(lat []time.Duration) (p50, p99 float64) {
	slices.Sort(lat)
	p := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) / 1000 }
	return p(0.5), p(0.99)
}

// BenchmarkIdle measures the daemon's CPU time while nothing changes, over
// RDD_BENCH_IDLE (the target is stated over 60s), with the default
// 5-minute resync. It runs only when RDD_BENCH_IDLE is set (make bench
// SCALE=1 sets 60s), because CPU time is counted in 10ms ticks: a shorter
// wait cannot tell 0.1% from nothing. Reported: cpu-ms/min and the target
// figure idle-cpu-% (CPU time over wall time, in percent of one CPU).
func BenchmarkIdle(b *testing.B) {
	v := os.Getenv("RDD_BENCH_IDLE")
	if v == "" {
		b.Skip("set RDD_BENCH_IDLE=60s to measure the idle CPU (make bench SCALE=1)")
	}
	idle, err := time.ParseDuration(v)
	if err != nil {
		b.Fatal(err)
	}
	_, cmd := daemon(b, content(0))
	for b.Loop() {
		before := cpuTime(b, cmd.Process.Pid)
		time.Sleep(idle) // the measurement is of time passing with nothing to do
		after := cpuTime(b, cmd.Process.Pid)
		b.ReportMetric(float64((after-before).Microseconds())/1000/idle.Minutes(), "cpu-ms/min")
		b.ReportMetric(100*float64(after-before)/float64(idle), "idle-cpu-%")
	}
}

// cpuTime is utime+stime of pid from /proc, in clock ticks of 10ms.
func cpuTime(tb testing.TB, pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		tb.Skipf("no /proc: %v", err)
	}
	// Fields after the command name (which may hold spaces) start at ')'.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}
