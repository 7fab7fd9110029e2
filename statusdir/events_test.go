package statusdir

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func testEvent(i int) Event {
	return Event{Time: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), Generation: int64(i), Type: EventCondition,
		Name: "Running", From: "False", To: "True", Reason: "Running", Message: fmt.Sprintf("event %d <&>\nsecond line", i)}
}

// readAll returns every line ReadEvents gives, parsed.
func readAll(t *testing.T, root string) []Event {
	t.Helper()
	var got []Event
	err := ReadEvents(root, func(line []byte) error {
		e, err := ParseEvent(line)
		if err != nil {
			return fmt.Errorf("line %q: %w", line, err)
		}
		got = append(got, e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestAppendEvents(t *testing.T) {
	d, err := Open(filepath.Join(t.TempDir(), "status"))
	if err != nil {
		t.Fatal(err)
	}
	l := NewEventLog(d, 0)
	if err := l.Append(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(d.Root(), EventsFile)); !os.IsNotExist(err) {
		t.Fatalf("no events created %s: %v", EventsFile, err)
	}
	if err := l.Append([]Event{testEvent(1), testEvent(2)}); err != nil {
		t.Fatal(err)
	}
	if err := l.Append([]Event{testEvent(3)}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(d.Root(), EventsFile))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d lines, want 3:\n%s", len(lines), data)
	}
	want := `{"time":"2025-01-02T03:04:05Z","generation":1,"type":"condition","name":"Running","from":"False","to":"True","reason":"Running","message":"event 1 <&>\nsecond line"}`
	if lines[0] != want {
		t.Errorf("line 1:\n got %s\nwant %s", lines[0], want)
	}
	got := readAll(t, d.Root())
	if len(got) != 3 || got[2].Generation != 3 || got[0].Message != testEvent(1).Message {
		t.Errorf("read back %+v", got)
	}
	if fi, err := os.Stat(filepath.Join(d.Root(), EventsFile)); err != nil || fi.Mode().Perm() != fileMode {
		t.Errorf("mode: %v %v", fi.Mode(), err)
	}
}

func TestAppendEventsRotates(t *testing.T) {
	d, err := Open(filepath.Join(t.TempDir(), "status"))
	if err != nil {
		t.Fatal(err)
	}
	l := NewEventLog(d, 600) // about three lines
	for i := 1; i <= 10; i++ {
		if err := l.Append([]Event{testEvent(i)}); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{EventsFile, EventsOldFile} {
			if fi, err := os.Stat(filepath.Join(d.Root(), name)); err == nil && fi.Size() > 600 {
				t.Fatalf("after %d: %s has %d bytes, more than the rotation size", i, name, fi.Size())
			}
		}
	}
	if _, err := os.Stat(filepath.Join(d.Root(), EventsOldFile)); err != nil {
		t.Fatalf("no rotated file: %v", err)
	}
	got := readAll(t, d.Root())
	// One old file is kept: the lines read are the newest, in order, ending
	// with the last one.
	if len(got) < 3 || got[len(got)-1].Generation != 10 {
		t.Fatalf("read %d events, last %+v", len(got), got[len(got)-1])
	}
	for i := 1; i < len(got); i++ {
		if got[i].Generation != got[i-1].Generation+1 {
			t.Fatalf("events out of order or lost: %d after %d", got[i].Generation, got[i-1].Generation)
		}
	}
	// A batch larger than the rotation size still goes out whole.
	big := make([]Event, 10)
	for i := range big {
		big[i] = testEvent(100 + i)
	}
	if err := l.Append(big); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, d.Root()); got[len(got)-1].Generation != 109 {
		t.Errorf("last after a big batch: %+v", got[len(got)-1])
	}
}

// The writer never writes through what someone planted at events.jsonl,
// and cuts a partial line that a crash left.
func TestAppendEventsPlanted(t *testing.T) {
	d, err := Open(filepath.Join(t.TempDir(), "status"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.WriteFile(AppFile, []byte("summary: Current\n")); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "outside")
	if err := os.WriteFile(outside, []byte("keep\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l := NewEventLog(d, 0)
	for _, target := range []string{AppFile, outside} {
		p := filepath.Join(d.Root(), EventsFile)
		os.Remove(p)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
		if err := l.Append([]Event{testEvent(1)}); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Lstat(p); err != nil || !fi.Mode().IsRegular() {
			t.Fatalf("link to %s not replaced: %v %v", target, fi.Mode(), err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(d.Root(), AppFile)); string(b) != "summary: Current\n" {
		t.Errorf("app.yaml written through a link: %q", b)
	}
	if b, _ := os.ReadFile(outside); string(b) != "keep\n" {
		t.Errorf("a file outside written through a link: %q", b)
	}

	p := filepath.Join(d.Root(), EventsFile)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"time":"2025-01-02T03:04:05Z","generation":7,"ty`)
	f.Close()
	if got := readAll(t, d.Root()); len(got) != 1 {
		t.Fatalf("a reader took the partial line: %+v", got)
	}
	if err := l.Append([]Event{testEvent(2)}); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, d.Root())
	if len(got) != 2 || got[1].Generation != 2 {
		t.Errorf("after the partial line was cut: %+v", got)
	}
}

// follow collects the lines of FollowEvents for the test. Lines appended
// before the follower's watch exists are read by its first pass: no
// synchronisation with its start is needed.
func follow(t *testing.T, root string) (<-chan Event, context.CancelFunc, <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	lines := make(chan Event, 1000)
	done := make(chan error, 1)
	go func() {
		done <- FollowEvents(ctx, root, func(line []byte) error {
			e, err := ParseEvent(line)
			if err != nil {
				return fmt.Errorf("line %q: %w", line, err)
			}
			lines <- e
			return nil
		})
	}()
	return lines, cancel, done
}

func next(t *testing.T, lines <-chan Event) Event {
	t.Helper()
	select {
	case e := <-lines:
		return e
	case <-time.After(20 * time.Second):
		t.Fatal("no event within 20s")
	}
	return Event{}
}

func TestFollowEventsAcrossRotation(t *testing.T) {
	d, err := Open(filepath.Join(t.TempDir(), "status"))
	if err != nil {
		t.Fatal(err)
	}
	l := NewEventLog(d, 600)
	if err := l.Append([]Event{testEvent(1)}); err != nil {
		t.Fatal(err)
	}
	lines, cancel, done := follow(t, d.Root())
	if e := next(t, lines); e.Generation != 1 {
		t.Fatalf("first: %+v", e)
	}
	for i := 2; i <= 20; i++ {
		if err := l.Append([]Event{testEvent(i)}); err != nil {
			t.Fatal(err)
		}
		if e := next(t, lines); e.Generation != int64(i) {
			t.Fatalf("got %d, want %d", e.Generation, i)
		}
	}
	// A deleted file starts again; the follower picks up the new one.
	if err := os.Remove(filepath.Join(d.Root(), EventsFile)); err != nil {
		t.Fatal(err)
	}
	if err := l.Append([]Event{testEvent(21)}); err != nil {
		t.Fatal(err)
	}
	if e := next(t, lines); e.Generation != 21 {
		t.Fatalf("after a delete: %+v", e)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-lines:
		t.Fatalf("a line more than written: %+v", e)
	default:
	}
}

// A reader that follows while 200 batches are appended, with many
// rotations: every line parses, and each arrives once, in order. The
// writer runs at most two batches ahead of what the test has taken from the
// follower, less than the rotation size: FollowEvents promises nothing to
// a follower that sleeps through two rotations.
func TestFollowEventsNeverTorn(t *testing.T) {
	d, err := Open(filepath.Join(t.TempDir(), "status"))
	if err != nil {
		t.Fatal(err)
	}
	l := NewEventLog(d, 8<<10)
	if err := l.Append([]Event{testEvent(1)}); err != nil {
		t.Fatal(err)
	}
	lines, cancel, done := follow(t, d.Root())
	if e := next(t, lines); e.Generation != 1 { // the follower runs
		t.Fatalf("first: %+v", e)
	}
	ahead := make(chan struct{}, 2)
	const n = 200
	go func() {
		for i := 1; i <= n; i++ {
			select {
			case ahead <- struct{}{}:
			case <-t.Context().Done():
				return
			}
			batch := []Event{testEvent(2 * i), testEvent(2*i + 1)}
			batch[0].Message = strings.Repeat("x", i*7) // lines of every length
			if err := l.Append(batch); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for want := int64(2); want <= 2*n+1; want++ {
		if e := next(t, lines); e.Generation != want {
			t.Fatalf("got generation %d, want %d: a line lost or repeated", e.Generation, want)
		}
		if want%2 == 1 {
			<-ahead // a whole batch arrived
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(d.Root(), EventsOldFile)); err != nil {
		t.Fatalf("the test never rotated: %v", err)
	}
}
