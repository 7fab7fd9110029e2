package watch

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
	"time"
)

// ErrUnstable is wrapped by the error [ReadStable] returns when the file
// kept changing for longer than it was allowed to wait. The caller need not
// retry: the writes that kept it changing also wake the watcher.
var ErrUnstable = errors.New("file kept changing")

// ReadStable reads the file at path, following symlinks, and returns its
// content once two consecutive reads agree: each read must see the same file
// (the name was not renamed over meanwhile), with the same size and
// modification time before and after it, and as many bytes as that size, and
// the two reads must return the same bytes. Between reads that disagree it
// waits a little, a few milliseconds at first, for at most maxWait in all
// (maxWait <= 0 means two reads and no waiting); past that it returns an
// error wrapping [ErrUnstable].
//
// ReadStable never blocks on a FIFO and refuses anything that is not a
// regular file. A missing file is an error wrapping [fs.ErrNotExist].
//
// A stable read is not the final word: an editor may write again right after
// it. That write sends its own event and so a later wake-up, and the loop
// reads again. The same holds for an empty file that a naive editor has
// truncated but not yet written: if two reads agree on it, it is returned,
// and the write that follows wakes the loop once more.
func ReadStable(path string, maxWait time.Duration) ([]byte, error) {
	return readStable(path, maxWait, nil)
}

// readStable is ReadStable; tests pass duringRead to change the file in the
// middle of a read (it gets the read's number, from 1).
func readStable(path string, maxWait time.Duration, duringRead func(read int)) ([]byte, error) {
	deadline := time.Now().Add(maxWait)
	delay := time.Millisecond
	var prev []byte
	var havePrev bool
	for reads := 1; ; reads++ {
		data, consistent, err := readOnce(path, reads, duringRead)
		if err != nil {
			return nil, err
		}
		if consistent && havePrev && bytes.Equal(prev, data) {
			return data, nil
		}
		prev, havePrev = data, consistent
		if reads == 1 && consistent {
			continue // confirm at once
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, fmt.Errorf("read %q: %w after %d reads in %v", path, ErrUnstable, reads, maxWait)
		}
		time.Sleep(min(delay, left))
		delay = min(2*delay, 50*time.Millisecond)
	}
}

// readOnce reads path once and reports whether nothing visibly changed
// while it read.
func readOnce(path string, read int, duringRead func(int)) (data []byte, consistent bool, err error) {
	// O_NONBLOCK: a FIFO put in the file's place must not hang the open.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	opened, err := f.Stat()
	if err != nil {
		return nil, false, err
	}
	if !opened.Mode().IsRegular() {
		return nil, false, fmt.Errorf("read %q: %s, not a regular file", path, kind(opened.Mode()))
	}
	data = make([]byte, 0, opened.Size()+512)
	buf := bytes.NewBuffer(data)
	if _, err := io.Copy(buf, f); err != nil {
		return nil, false, err
	}
	data = buf.Bytes()
	if duringRead != nil {
		duringRead(read)
	}
	after, err := f.Stat()
	if err != nil {
		return nil, false, err
	}
	now, err := os.Stat(path)
	if err != nil {
		return nil, false, err
	}
	consistent = os.SameFile(opened, now) &&
		sameStat(opened, after) && sameStat(after, now) &&
		int64(len(data)) == after.Size()
	return data, consistent, nil
}

func sameStat(a, b fs.FileInfo) bool {
	return a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// kind names a non-regular file type for an error message.
func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "is a directory"
	case m&fs.ModeNamedPipe != 0:
		return "is a named pipe"
	case m&fs.ModeSocket != 0:
		return "is a socket"
	case m&fs.ModeDevice != 0:
		return "is a device"
	default:
		return "is a " + m.Type().String() + " file"
	}
}
