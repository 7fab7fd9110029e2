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

// ReadFile reads a desired file, refusing anything that is not a regular
// file of at most MaxFileSize bytes. Symlinks are followed (dotfile managers
// use them); a dangling or looping link is a clear error. A FIFO is never
// opened, because opening it would block until a writer appears.
//
// The error, if any, is an *Error positioned at line 1, column 1 of path.
func ReadFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fileError(path, statMessage(path, err))
	}
	switch mode := fi.Mode(); {
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
	case fi.Size() > MaxFileSize:
		return nil, fileError(path, fmt.Sprintf("is %d bytes; the limit is %d bytes (1 MiB): is this the right file?", fi.Size(), MaxFileSize))
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fileError(path, statMessage(path, err))
	}
	defer f.Close()
	// Read one byte past the limit: the file may have grown since Stat.
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fileError(path, fmt.Sprintf("cannot be read: %v", unwrapPathError(err)))
	}
	if len(data) > MaxFileSize {
		return nil, fileError(path, fmt.Sprintf("is over %d bytes (1 MiB), the limit: is this the right file?", MaxFileSize))
	}
	return data, nil
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
