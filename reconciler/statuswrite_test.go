package reconciler

import (
	"bytes"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/rddproject/rdd/statusdir"
)

// limitFileSize makes every write past n bytes in a file fail with EFBIG
// for this process, as a full disk fails them, until the returned function
// restores the limit. SIGXFSZ is ignored so that the write fails instead of
// the process ending.
func limitFileSize(t *testing.T, n uint64) (restore func()) {
	t.Helper()
	signal.Ignore(syscall.SIGXFSZ)
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	lim := old
	lim.Cur = n
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Fatal(err)
	}
	done := false
	restore = func() {
		if !done {
			done = true
			if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Cleanup(restore)
	return restore
}

// A status write that fails makes the verdict not ready, says so in
// app.yaml with a count and the first error, logs one bounded line, and is
// retried within a second until it succeeds.
func TestLoopStatusWriteFailure(t *testing.T) {
	h := newHarness(t, runningYAML)
	h.pass()
	h.wantMarker(statusdir.ReadyMarker, 1, statusdir.ReasonSettled)

	// 300 containers of 8 KiB each, with files limited to 4 KiB: every
	// object file fails, app.yaml and the markers still fit.
	big := bytes.Repeat([]byte("x"), 8<<10)
	files := map[string]statusdir.Entry{}
	for i := range 300 {
		files["c"+strconv.Itoa(i)] = statusdir.FileEntry(append([]byte("name: x\n#"), big...))
	}
	mirror := statusdir.Mirror{Dir: statusdir.ContainersDir, Files: files}
	n := len(files)
	res := EngineResult{Status: statusdir.EngineStatus{Socket: "fake.sock"}, Reason: statusdir.EngineConnected, Mirrors: []statusdir.Mirror{mirror}}
	h.eng.Script(res, res, res)
	restore := limitFileSize(t, 4<<10)
	logBefore := len(h.log.String())
	h.loop.retrySoon = false
	h.pass()
	m := h.wantMarker(statusdir.FailedMarker, 1, statusdir.ReasonWriteFailed)
	wantCount := strconv.Itoa(n) + " object file(s) under "
	if !strings.Contains(m.Message, wantCount) || !strings.HasSuffix(m.Message, `c0.yaml": file too large`) {
		t.Errorf("failed marker = %q, want the count %d and the first error", m.Message, n)
	}
	c := h.cond(statusdir.CondStatusWritten)
	if c.Status != statusdir.False || c.Reason != statusdir.ReasonWriteFailed || !strings.Contains(c.Message, wantCount) {
		t.Errorf("StatusWritten = %+v", c)
	}
	if !h.loop.retrySoon {
		t.Error("a failed write does not ask for a retry within a second")
	}
	logged := h.log.String()[logBefore:]
	if len(logged) > 2048 || strings.Count(logged, `msg="write status"`) != 1 {
		t.Errorf("log of one failing pass is %d bytes:\n%s", len(logged), logged)
	}
	// Still failing: the same line is not logged again.
	logBefore = len(h.log.String())
	h.pass()
	if logged := h.log.String()[logBefore:]; strings.Contains(logged, `msg="write status"`) || strings.Contains(logged, "msg=verdict") {
		t.Errorf("the same failure is logged again:\n%s", logged)
	}

	// Space freed: the retry writes everything; ready, condition gone.
	restore()
	h.loop.retrySoon = false
	h.pass()
	h.wantMarker(statusdir.ReadyMarker, 1, statusdir.ReasonSettled)
	if _, ok := statusdir.FindCondition(h.app().Conditions, statusdir.CondStatusWritten); ok {
		t.Error("StatusWritten stays after the writes succeed")
	}
	objs, err := statusdir.ReadObjects(h.status.Root(), statusdir.ContainersDir)
	if err != nil || len(objs) != n {
		t.Errorf("%d object files after recovery (%v), want %d", len(objs), err, n)
	}
}
