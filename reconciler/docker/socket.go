package docker

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// socketProblem says what is wrong with the engine socket path when it is
// there but cannot be a socket: a regular file, a directory, a FIFO. That
// is a mistake in the configuration (containerEngine.socket, DOCKER_HOST),
// reported at once, not after a grace period of "Cannot connect". A path
// that does not exist is no problem here: a VM may be about to create it,
// and the connection attempts report it. A link is followed: a link to a
// socket is a socket.
func socketProblem(path string) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return nil // not ours to judge (a permission problem): connecting says it
	case fi.Mode().Type() == fs.ModeSocket:
		return nil
	}
	return fmt.Errorf("the engine socket %s is %s, not a socket: set containerEngine.socket (or DOCKER_HOST) to dockerd's socket", path, describeType(fi.Mode()))
}

func describeType(m fs.FileMode) string {
	switch m.Type() {
	case 0:
		return "a regular file"
	case fs.ModeDir:
		return "a directory"
	case fs.ModeNamedPipe:
		return "a named pipe"
	case fs.ModeDevice, fs.ModeDevice | fs.ModeCharDevice:
		return "a device"
	}
	return fmt.Sprintf("a file of type %s", m.Type())
}
