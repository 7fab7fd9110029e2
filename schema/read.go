package schema

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
	"unicode/utf8"
)

// MaxFileSize is the largest desired file accepted. A desired state is a few
// hundred bytes; anything near this limit is a mistake (a log or a binary
// saved over the file), and refusing it keeps the daemon's memory bounded.
const MaxFileSize = 1 << 20

// ErrChanged is wrapped by the error of [Read] when the file changed while
// it was being read: a save in progress. The caller reads again later; the
// writer's own events say when.
var ErrChanged = errors.New("changed while being read")

// File is a desired file as [Read] read it: its bytes, and what fstat said of
// the open file they came from. The bytes are what gets validated and
// digested; there is no second read with other checks.
type File struct {
	Data []byte
	Info fs.FileInfo
}

// afterStat, when set by a test, runs between the first fstat and the read,
// so a test can change the file in that window.
var afterStat func()

// Read reads the desired file at path in one pass over one open file. It
// opens first, without blocking (a FIFO swapped in for the file must never
// hang the daemon, which would then also ignore SIGTERM), and follows
// symlinks (dotfile managers use them). It then requires, of the open file:
// a regular file, at most MaxFileSize bytes, as many bytes read as fstat
// gives as its size (a /proc file says 0 and reads more), and the same size
// and modification time after the read as before it. The last one failing
// is an error wrapping [ErrChanged]; each other one is a clear refusal.
//
// The error, if any, is an *Error positioned at line 1, column 1 of path.
func Read(path string) (*File, error) {
	// O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
	// writer. On a regular file it changes nothing.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, wrapFileError(path, statMessage(path, err), err)
	}
	defer f.Close()
	before, err := f.Stat()
	if err != nil {
		return nil, wrapFileError(path, fmt.Sprintf("cannot be read: %v", unwrapPathError(err)), err)
	}
	switch mode := before.Mode(); {
	case mode.IsDir():
		return nil, fileError(path, "is a directory, not a YAML file (move it away and create a file with `rdd init`)")
	case mode&fs.ModeNamedPipe != 0:
		return nil, fileError(path, "is a named pipe (FIFO), not a regular file; replace it with a YAML file")
	case mode&fs.ModeSocket != 0:
		return nil, fileError(path, "is a socket, not a regular file; replace it with a YAML file")
	case mode&fs.ModeDevice != 0:
		return nil, fileError(path, "is a device, not a regular file; replace it with a YAML file")
	case !mode.IsRegular():
		return nil, fileError(path, fmt.Sprintf("is not a regular file (mode %s); replace it with a YAML file", mode))
	case before.Size() > MaxFileSize:
		return nil, fileError(path, fmt.Sprintf("is %d bytes; the limit is %d bytes (1 MiB): is this the right file?", before.Size(), MaxFileSize))
	}
	if afterStat != nil {
		afterStat()
	}
	// Read one byte past the limit: the file may have grown since fstat.
	data := make([]byte, 0, before.Size()+1)
	for len(data) <= MaxFileSize {
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
		n, err := f.Read(data[len(data):min(cap(data), MaxFileSize+1)])
		data = data[:len(data)+n]
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, wrapFileError(path, fmt.Sprintf("cannot be read: %v", unwrapPathError(err)), err)
		}
	}
	if len(data) > MaxFileSize {
		return nil, fileError(path, fmt.Sprintf("is over %d bytes (1 MiB), the limit: is this the right file?", MaxFileSize))
	}
	after, err := f.Stat()
	if err != nil {
		return nil, wrapFileError(path, fmt.Sprintf("cannot be read: %v", unwrapPathError(err)), err)
	}
	if after.Size() != before.Size() || !after.ModTime().Equal(before.ModTime()) {
		return nil, wrapFileError(path, "changed while being read; it is read again once the writer is done", ErrChanged)
	}
	if int64(len(data)) != after.Size() {
		return nil, fileError(path, fmt.Sprintf(
			"is not a regular file of stable size (its size is %d bytes, reading it gave %d); replace it with a YAML file",
			after.Size(), len(data)))
	}
	return &File{Data: data, Info: after}, nil
}

// ReadFile is [Read] for callers that need only the bytes.
func ReadFile(path string) ([]byte, error) {
	f, err := Read(path)
	if err != nil {
		return nil, err
	}
	return f.Data, nil
}

func statMessage(path string, err error) string {
	switch {
	case errors.Is(err, syscall.ELOOP):
		return "is a symlink loop; point the link at a real file"
	case errors.Is(err, fs.ErrNotExist):
		if target, lerr := os.Readlink(path); lerr == nil {
			return fmt.Sprintf("is a symlink to %q, which does not exist; fix the link or create its target", target)
		}
		return "does not exist; create it with `rdd init`"
	case errors.Is(err, syscall.ENXIO):
		// Opening a Unix socket fails this way.
		if fi, serr := os.Stat(path); serr == nil && fi.Mode()&fs.ModeSocket != 0 {
			return "is a socket, not a regular file; replace it with a YAML file"
		}
	case errors.Is(err, fs.ErrPermission):
		return "cannot be read: permission denied; check its owner and mode (`ls -l`)"
	}
	return fmt.Sprintf("cannot be read: %v", unwrapPathError(err))
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func fileError(path, msg string) *Error {
	return &Error{File: path, Line: 1, Column: 1, Msg: msg}
}

// wrapFileError is fileError keeping the cause for errors.Is
// (fs.ErrNotExist, ErrChanged).
func wrapFileError(path, msg string, cause error) *Error {
	return &Error{File: path, Line: 1, Column: 1, Msg: msg, Err: cause}
}

// checkEncoding rejects bytes that are not UTF-8 text, pointing at the first
// bad byte. YAML parsers guess encodings; a guess that turns a UTF-16 file
// into garbage field names would produce confusing errors downstream.
func checkEncoding(file string, data []byte) ([]byte, error) {
	switch {
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}), bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		return nil, &Error{File: file, Line: 1, Column: 1,
			Msg: "file is UTF-16 encoded; save it as UTF-8 (for example `iconv -f UTF-16 -t UTF-8`)"}
	case bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}):
		data = data[3:]
	}
	line, col := 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return nil, &Error{File: file, Line: line, Column: col,
				Msg: fmt.Sprintf("invalid UTF-8 (byte 0x%02X); save the file as UTF-8", data[i])}
		case r == 0:
			return nil, &Error{File: file, Line: line, Column: col,
				Msg: "NUL byte in file; desired.yaml must be UTF-8 text"}
		case r == '\n':
			line, col = line+1, 1
		default:
			col++
		}
		i += size
	}
	return data, nil
}
