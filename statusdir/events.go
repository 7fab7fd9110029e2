package statusdir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"time"
)

// Values of Event.Type.
const (
	EventDesired    = "desired"    // a new digest of the desired file: From the old digest, To the new
	EventVerdict    = "verdict"    // a new verdict: To ready or failed, with the marker's reason and message
	EventCondition  = "condition"  // a condition of app.yaml changed status or reason: Name its type, From/To statuses
	EventAction     = "action"     // rdd acted: Kind vm, container or image, Reason Start, Stop, Restart, Pull...
	EventObject     = "object"     // an engine object appeared, changed state or vanished (Reason says which)
	EventCorrection = "correction" // a declared container was brought back to its declared state
)

// Event is one line of events.jsonl: something that happened, at the
// generation then current. Only the fields that a type uses are set; the
// others are left out of the line.
type Event struct {
	Time       time.Time `json:"time"`
	Generation int64     `json:"generation"`
	Type       string    `json:"type"`           // one of the Event* types
	Kind       string    `json:"kind,omitempty"` // vm, container, image or volume
	Name       string    `json:"name,omitempty"` // the object's name, or the condition's type
	From       string    `json:"from,omitempty"`
	To         string    `json:"to,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	Message    string    `json:"message,omitempty"`
}

// DefaultEventRotation is the size past which events.jsonl is rotated.
const DefaultEventRotation = 1 << 20

// maxEventLine bounds a line a reader accepts, so that bytes appended by
// someone else without a newline cannot grow a follower's buffer forever.
const maxEventLine = 1 << 20

// EventLog appends events to events.jsonl in a status directory. It shares
// the Dir's lock, so appends and the Dir's other writes are serialised.
type EventLog struct {
	dir      *Dir
	rotateAt int64
}

// NewEventLog returns the event log of d, rotated when a batch would take
// it past rotateAt bytes (0 or less: DefaultEventRotation). Only tests set
// another size.
func NewEventLog(d *Dir, rotateAt int64) *EventLog {
	if rotateAt <= 0 {
		rotateAt = DefaultEventRotation
	}
	return &EventLog{dir: d, rotateAt: rotateAt}
}

// Append writes evs as complete JSON lines at the end of events.jsonl, in
// one write(2) with O_APPEND, so that a reader never sees a part of a
// batch without the part before it. A file that a crash left ending in a
// partial line is cut back to its last complete line first. No events
// write nothing.
//
// Like every write of Dir, Append never writes through a symbolic link or
// into anything but a regular file planted at events.jsonl: such an entry
// is removed and the file started anew. The lines are not synced: a crash
// may lose the last ones, never leave a torn one in the middle.
func (l *EventLog) Append(evs []Event) error {
	if len(evs) == 0 {
		return nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, e := range evs {
		e.Time = e.Time.UTC()
		if err := enc.Encode(e); err != nil { // Encode ends each with '\n'
			return fmt.Errorf("append to %q: %w", l.dir.path(EventsFile), err)
		}
	}
	d := l.dir
	d.mu.Lock()
	defer d.mu.Unlock()
	r, err := d.openRoot(true)
	if err != nil {
		return err
	}
	defer r.Close()
	f, size, err := openEvents(r)
	if err != nil {
		return fmt.Errorf("append to %q: %w", d.path(EventsFile), err)
	}
	if size > 0 && size+int64(buf.Len()) > l.rotateAt {
		f.Close()
		if err := rotateEvents(r); err != nil {
			return fmt.Errorf("rotate %q: %w", d.path(EventsFile), err)
		}
		if f, _, err = openEvents(r); err != nil {
			return fmt.Errorf("append to %q: %w", d.path(EventsFile), err)
		}
	}
	_, err = f.Write(buf.Bytes())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("append to %q: %w", d.path(EventsFile), err)
	}
	return nil
}

// openEvents opens events.jsonl in r for appending, creating it, and
// returns it with its size. Anything but a regular file at that name is
// removed first, and the file opened is checked to be the regular file at
// the name (os.Root follows a link that stays inside the root).
func openEvents(r *os.Root) (*os.File, int64, error) {
	for range 10 {
		if fi, err := r.Lstat(EventsFile); err == nil && !fi.Mode().IsRegular() {
			if err := r.RemoveAll(EventsFile); err != nil {
				return nil, 0, err
			}
		}
		f, err := r.OpenFile(EventsFile, os.O_RDWR|os.O_APPEND|os.O_CREATE, fileMode)
		if err != nil {
			return nil, 0, err
		}
		ffi, ferr := f.Stat()
		lfi, lerr := r.Lstat(EventsFile)
		if ferr != nil || lerr != nil || !ffi.Mode().IsRegular() || !lfi.Mode().IsRegular() || !os.SameFile(ffi, lfi) {
			f.Close()
			continue // replaced meanwhile: look again
		}
		if runtime.GOOS != "windows" && ffi.Mode().Perm() != fileMode {
			if err := f.Chmod(fileMode); err != nil {
				f.Close()
				return nil, 0, err
			}
		}
		size, err := cutPartialLine(f, ffi.Size())
		if err != nil {
			f.Close()
			return nil, 0, err
		}
		return f, size, nil
	}
	return nil, 0, errors.New("keeps being replaced while opening it")
}

// cutPartialLine truncates f, of the given size, after its last newline
// when it does not end with one (a crash in the middle of a write), and
// returns the new size.
func cutPartialLine(f *os.File, size int64) (int64, error) {
	if size == 0 {
		return 0, nil
	}
	var last [1]byte
	if _, err := f.ReadAt(last[:], size-1); err != nil {
		return 0, err
	}
	if last[0] == '\n' {
		return size, nil
	}
	buf := make([]byte, 4096)
	end := size
	for end > 0 {
		start := max(end-int64(len(buf)), 0)
		chunk := buf[:end-start]
		if _, err := f.ReadAt(chunk, start); err != nil && err != io.EOF {
			return 0, err
		}
		if i := bytes.LastIndexByte(chunk, '\n'); i >= 0 {
			end = start + int64(i) + 1
			break
		}
		end = start
	}
	if err := f.Truncate(end); err != nil {
		return 0, err
	}
	return end, nil
}

// rotateEvents renames events.jsonl over events.jsonl.1. rename(2) never
// follows a link at either name; a directory in the way is removed.
func rotateEvents(r *os.Root) error {
	err := r.Rename(EventsFile, EventsOldFile)
	if err == nil {
		return nil
	}
	if fi, lerr := r.Lstat(EventsOldFile); lerr == nil && fi.IsDir() {
		if err := r.RemoveAll(EventsOldFile); err != nil {
			return err
		}
		return r.Rename(EventsFile, EventsOldFile)
	}
	return err
}

// ParseEvent decodes one line of events.jsonl.
func ParseEvent(line []byte) (Event, error) {
	var e Event
	if err := json.Unmarshal(line, &e); err != nil {
		return Event{}, err
	}
	if e.Type == "" {
		return Event{}, errors.New("no type")
	}
	return e, nil
}

// ReadEvents calls fn with every complete line of the event files of the
// status directory root, oldest first: events.jsonl.1, then events.jsonl.
// line holds no newline and is only valid during the call. Missing files
// hold no lines. A partial last line (being written) is left out.
func ReadEvents(root string, fn func(line []byte) error) error {
	r := &eventReader{root: root, fn: fn}
	defer r.close()
	if err := r.start(); err != nil {
		return err
	}
	return r.advance()
}

// eventReader reads the lines of the event files in order, across
// rotations.
type eventReader struct {
	root    string
	fn      func([]byte) error
	cur     *os.File // events.jsonl as opened: the file being followed
	pending []byte   // the start of a line whose end is not written yet
}

func (r *eventReader) close() {
	if r.cur != nil {
		r.cur.Close()
		r.cur = nil
	}
}

func (r *eventReader) path(name string) string { return r.root + string(os.PathSeparator) + name }

// start opens events.jsonl and reads events.jsonl.1 whole. events.jsonl is
// opened first: if it is rotated in between, the old file opened is that
// same file, read once as the current one.
func (r *eventReader) start() error {
	cur, err := openRegular(r.path(EventsFile))
	if err != nil {
		return err
	}
	r.cur = cur
	old, err := openRegular(r.path(EventsOldFile))
	if err != nil || old == nil {
		return err
	}
	defer old.Close()
	if cur != nil && sameOpenFile(cur, old) {
		return nil
	}
	if err := r.drain(old, r.path(EventsOldFile)); err != nil {
		return err
	}
	r.pending = nil // a rotated file is complete: a partial line there never ends
	return nil
}

// advance reads every complete line written since the last call. When
// events.jsonl is no longer the file being read (it was rotated or
// removed), that file is read to its end first (the writer renames it only
// after its last write) and then the new one from its start, so no line is
// lost or read twice.
func (r *eventReader) advance() error {
	name := r.path(EventsFile)
	for {
		if r.cur != nil {
			if err := r.drain(r.cur, name); err != nil {
				return err
			}
			fi, err := os.Lstat(name)
			cfi, cerr := r.cur.Stat()
			if cerr != nil {
				return fmt.Errorf("read events file %q: %w", name, cerr)
			}
			if err == nil && os.SameFile(fi, cfi) {
				return nil
			}
			if err := r.drain(r.cur, name); err != nil {
				return err
			}
			r.pending = nil
			r.close()
		}
		cur, err := openRegular(name)
		if err != nil || cur == nil {
			return err
		}
		r.cur = cur
	}
}

// drain reads f to its current end and hands each complete line to fn.
func (r *eventReader) drain(f *os.File, name string) error {
	buf := make([]byte, 64<<10)
	for {
		n, err := f.Read(buf)
		if n > 0 {
			data := buf[:n]
			if len(r.pending) > 0 {
				data = append(r.pending, data...)
				r.pending = nil
			}
			for {
				i := bytes.IndexByte(data, '\n')
				if i < 0 {
					break
				}
				if line := data[:i]; len(bytes.TrimSpace(line)) > 0 {
					if err := r.fn(line); err != nil {
						return err
					}
				}
				data = data[i+1:]
			}
			if len(data) > maxEventLine {
				return fmt.Errorf("read events file %q: a line longer than %d bytes", name, maxEventLine)
			}
			r.pending = append(r.pending[:0:0], data...)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read events file %q: %w", name, err)
		}
	}
}

// openRegular opens the regular file p for reading; nil when it does not
// exist or is not a regular file (the daemon replaces such an entry). It
// never opens a FIFO.
func openRegular(p string) (*os.File, error) {
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) || err == nil && !fi.Mode().IsRegular() {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read events file %q: %w", p, err)
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read events file %q: %w", p, err)
	}
	if ffi, err := f.Stat(); err != nil || !ffi.Mode().IsRegular() {
		f.Close()
		return nil, nil
	}
	return f, nil
}

func sameOpenFile(a, b *os.File) bool {
	afi, aerr := a.Stat()
	bfi, berr := b.Stat()
	return aerr == nil && berr == nil && os.SameFile(afi, bfi)
}
